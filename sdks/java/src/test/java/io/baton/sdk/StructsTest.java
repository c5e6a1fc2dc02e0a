package io.baton.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Struct;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StructsTest {
  record Point(int x, int y, String label) {}

  @Test
  void jsonTreesKeepTheirKeys() throws Exception {
    var tree = io.baton.sdk.internal.Json.mapper().readTree("{\"a\": {\"b\": [1, 2.5]}, \"c\": null}");
    Map<String, Object> out = Structs.toMap(Structs.toStructFromObject(tree));
    assertEquals(Map.of("b", List.of(1L, 2.5)), out.get("a"));
    assertTrue(out.containsKey("c"));
    assertNull(out.get("c"));
  }

  @Test
  void roundTripsNestedValues() {
    Map<String, Object> in = new LinkedHashMap<>();
    in.put("s", "text");
    in.put("i", 42);
    in.put("d", 2.5);
    in.put("b", true);
    in.put("n", null);
    in.put("list", List.of(1, "two", Map.of("three", 3)));
    in.put("map", Map.of("k", List.of()));
    Struct s = Structs.toStruct(in);
    Map<String, Object> out = Structs.toMap(s);
    assertEquals("text", out.get("s"));
    assertEquals(42L, out.get("i"));
    assertEquals(2.5, out.get("d"));
    assertEquals(true, out.get("b"));
    assertTrue(out.containsKey("n"));
    assertNull(out.get("n"));
    assertEquals(List.of(1L, "two", Map.of("three", 3L)), out.get("list"));
    assertEquals(Map.of("k", List.of()), out.get("map"));
  }

  @Test
  void wholeNumbersBecomeLongOthersDouble() {
    assertEquals(7L, Structs.toJava(Structs.toValue(7.0)));
    assertEquals(-3L, Structs.toJava(Structs.toValue(-3)));
    assertEquals(0.1, Structs.toJava(Structs.toValue(0.1)));
    assertEquals(1e300, Structs.toJava(Structs.toValue(1e300)));
  }

  @Test
  void beansArraysAndEnumsAreWritten() {
    Map<String, Object> out =
        Structs.toMap(
            Structs.toStruct(
                Map.of(
                    "p", new Point(1, 2, "a"),
                    "arr", new int[] {1, 2},
                    "e", Thread.State.NEW)));
    assertEquals(Map.of("x", 1L, "y", 2L, "label", "a"), out.get("p"));
    assertEquals(Arrays.asList(1L, 2L), out.get("arr"));
    assertEquals("NEW", out.get("e"));
  }

  @Test
  void beanAsStruct() {
    Struct s = Structs.toStructFromObject(new Point(3, 4, "b"));
    assertEquals(3.0, s.getFieldsOrThrow("x").getNumberValue());
    assertThrows(IllegalArgumentException.class, () -> Structs.toStructFromObject("scalar"));
  }

  @Test
  void startWorkflowBuilderFillsRequest() {
    StartWorkflow sw =
        StartWorkflow.builder("wf")
            .version(3)
            .input(Map.of("a", 1))
            .correlationId("c-1")
            .idempotencyKey("k", StartWorkflow.Idempotency.RETURN_EXISTING)
            .priority(7)
            .taskToDomain("t", "blue")
            .build();
    var p = sw.toProto();
    assertEquals("wf", p.getName());
    assertEquals(3, p.getVersion());
    assertEquals(1.0, p.getInput().getFieldsOrThrow("a").getNumberValue());
    assertEquals("c-1", p.getCorrelationId());
    assertEquals("k", p.getIdempotencyKey());
    assertEquals(
        io.baton.v1.IdempotencyStrategy.IDEMPOTENCY_STRATEGY_RETURN_EXISTING,
        p.getIdempotencyStrategy());
    assertEquals(7, p.getPriority());
    assertEquals(Map.of("t", "blue"), p.getTaskToDomainMap());
    assertTrue(!StartWorkflow.of("wf", null).toProto().hasVersion());
  }
}
