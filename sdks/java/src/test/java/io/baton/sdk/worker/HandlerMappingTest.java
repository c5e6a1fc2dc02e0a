package io.baton.sdk.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.baton.sdk.Structs;
import io.baton.v1.TaskAssignment;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** How handler parameters are bound and how return values and exceptions become results. */
class HandlerMappingTest {
  record Order(String id, int quantity, List<String> tags) {}

  record Summary(String id, int total) {}

  static Task task(Map<String, Object> input) {
    return new Task(
        TaskAssignment.newBuilder()
            .setTaskId("t1")
            .setTaskDefName("x")
            .setInput(Structs.toStruct(input))
            .build());
  }

  public static class Bean {
    @WorkerTask(value = "whole", concurrency = 3, domain = "green", leaseExtension = false)
    public Summary whole(Order order) {
      return new Summary(order.id(), order.quantity() * 2);
    }

    @WorkerTask("params")
    public Map<String, Object> params(
        @InputParam("id") String id, @InputParam("quantity") int q, @InputParam("missing") int m, Task t) {
      t.log("seen " + id);
      return Map.of("id", id, "q", q, "m", m);
    }

    @WorkerTask("scalar")
    public String scalar(Map<String, Object> input) {
      return "v=" + input.get("v");
    }

    @WorkerTask("nothing")
    void nothing() {}

    @WorkerTask("terminal")
    public Object terminal() {
      throw new TerminalException("bad input");
    }
  }

  static Map<String, TaskHandler> handlers(Object bean) {
    Map<String, TaskHandler> m = new java.util.HashMap<>();
    for (AnnotatedHandlers.Found f : AnnotatedHandlers.scan(bean)) {
      m.put(f.taskType(), f.handler());
    }
    return m;
  }

  @Test
  void wholeInputBindsToRecordAndRecordOutputMaps() throws Exception {
    var h = handlers(new Bean());
    Object out = h.get("whole").handle(task(Map.of("id", "o1", "quantity", 4, "tags", List.of("a"))));
    TaskResult r = TaskResult.fromReturnValue(out);
    assertEquals(TaskResult.Status.COMPLETED, r.status());
    assertEquals(Map.of("id", "o1", "total", 8L), r.output());
  }

  @Test
  void annotationOptionsAreRead() {
    AnnotatedHandlers.Found f =
        AnnotatedHandlers.scan(new Bean()).stream()
            .filter(x -> x.taskType().equals("whole"))
            .findFirst()
            .orElseThrow();
    assertEquals(3, f.options().concurrency);
    assertEquals("green", f.options().domain);
    assertEquals(false, f.options().leaseExtension);
  }

  @Test
  void inputParamsBindAndMissingPrimitivesDefault() throws Exception {
    var h = handlers(new Bean());
    Task t = task(Map.of("id", "o2", "quantity", 5));
    Object out = h.get("params").handle(t);
    assertEquals(Map.of("id", "o2", "q", 5, "m", 0), out);
    assertEquals(List.of("seen o2"), t.logs());
  }

  @Test
  void scalarAndVoidReturns() throws Exception {
    var h = handlers(new Bean());
    assertEquals(
        Map.of("result", "v=1"),
        TaskResult.fromReturnValue(h.get("scalar").handle(task(Map.of("v", 1)))).output());
    assertTrue(TaskResult.fromReturnValue(h.get("nothing").handle(task(Map.of()))).output().isEmpty());
  }

  @Test
  void exceptionsMapToFailedOrTerminal() {
    var h = handlers(new Bean());
    TerminalException te =
        assertThrows(TerminalException.class, () -> h.get("terminal").handle(task(Map.of())));
    TaskResult r = TaskStream.failure(te);
    assertEquals(TaskResult.Status.FAILED_WITH_TERMINAL_ERROR, r.status());
    assertEquals("bad input", r.reason());

    TaskResult wrapped = TaskStream.failure(new RuntimeException("outer", new TerminalException("inner")));
    assertEquals(TaskResult.Status.FAILED_WITH_TERMINAL_ERROR, wrapped.status());

    TaskResult plain = TaskStream.failure(new IllegalStateException("boom"));
    assertEquals(TaskResult.Status.FAILED, plain.status());
    assertEquals("IllegalStateException: boom", plain.reason());
    assertTrue(plain.logs().get(0).contains("java.lang.IllegalStateException: boom"));
    assertTrue(plain.logs().get(0).contains("\tat "), "stack trace is logged");
  }

  @Test
  void badInputForTypedHandlerIsTerminal() {
    TaskHandler h = AnnotatedHandlers.typed(Order.class, (o, t) -> o.id());
    assertThrows(TerminalException.class, () -> h.handle(task(Map.of("quantity", "many"))));
  }

  @Test
  void taskResultBuilders() {
    TaskResult r = TaskResult.inProgress(java.time.Duration.ofSeconds(5)).output("k", 1);
    assertEquals(TaskResult.Status.IN_PROGRESS, r.status());
    assertEquals(5, r.callbackAfterSeconds());
    assertEquals(Map.of("k", 1), r.output());
    TaskResult given = TaskResult.failed("nope");
    assertSame(given, TaskResult.fromReturnValue(given));
    assertEquals(Map.of("result", List.of(1, 2)), TaskResult.completed(List.of(1, 2)).output());
  }

  @Test
  void twoWholeInputParametersAreRefused() {
    Object bean =
        new Object() {
          @WorkerTask("two")
          public void two(Map<String, Object> a, Order b) {}
        };
    assertThrows(IllegalArgumentException.class, () -> AnnotatedHandlers.scan(bean));
  }
}
