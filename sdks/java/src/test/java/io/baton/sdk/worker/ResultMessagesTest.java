package io.baton.sdk.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.baton.v1.TaskResult;
import io.baton.v1.WorkRequest;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ResultMessagesTest {
  private static TaskResult result(String id, int bytes) {
    return TaskResult.newBuilder().setTaskId(id).setReasonForIncompletion("x".repeat(bytes)).build();
  }

  private static List<String> kinds(List<WorkRequest> msgs) {
    List<String> out = new ArrayList<>();
    for (WorkRequest m : msgs) {
      if (m.hasResults()) {
        assertTrue(
            m.getResults().getSerializedSize() <= TaskStream.MAX_RESULT_BATCH_BYTES,
            "a batch of " + m.getResults().getSerializedSize() + " bytes");
        out.add("batch:" + m.getResults().getResultsCount());
      } else {
        out.add("single:" + m.getResult().getTaskId());
      }
    }
    return out;
  }

  @Test
  void batchesAreCutByCountAndBySize() {
    List<TaskResult> many = new ArrayList<>();
    for (int i = 0; i < 2500; i++) {
      many.add(result(Integer.toString(i), 1));
    }
    assertEquals(List.of("batch:1000", "batch:1000", "batch:500"), kinds(TaskStream.resultMessages(many, true)));

    // Eight results of 300 KB finishing together: three fit under 1 MiB, four do not.
    List<TaskResult> large = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      large.add(result(Integer.toString(i), 300_000));
    }
    assertEquals(List.of("batch:3", "batch:3", "batch:2"), kinds(TaskStream.resultMessages(large, true)));

    // A result over the limit goes alone, after the small ones before it; order is kept.
    List<TaskResult> mixed =
        List.of(result("a", 10), result("b", 10), result("c", 2_000_000), result("d", 10));
    assertEquals(List.of("batch:2", "single:c", "single:d"), kinds(TaskStream.resultMessages(mixed, true)));
  }

  @Test
  void withoutBatchingEachResultGoesAlone() {
    List<TaskResult> three = List.of(result("a", 1), result("b", 1), result("c", 1));
    assertEquals(List.of("single:a", "single:b", "single:c"), kinds(TaskStream.resultMessages(three, false)));
    assertEquals(List.of(), kinds(TaskStream.resultMessages(List.of(), true)));
  }
}
