package io.baton.sdk.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.baton.v1.TaskLog;
import io.baton.v1.TaskResult;
import io.baton.v1.TaskStatus;
import io.baton.v1.WorkRequest;
import io.grpc.Metadata;
import org.junit.jupiter.api.Test;

/** The server's message limit, read from the worker stream's response headers, and results over it. */
class MessageLimitTest {
  private static Metadata header(String value) {
    Metadata m = new Metadata();
    m.put(TaskStream.MAX_MESSAGE_HEADER, value);
    return m;
  }

  @Test
  void headerNamesTheLimit() {
    assertEquals("baton-max-message-bytes", TaskStream.MAX_MESSAGE_HEADER.name());
    assertEquals(5242880L, TaskStream.maxMessageBytes(header("5242880")));
    assertEquals(2097152L, TaskStream.maxMessageBytes(header(" 2097152 ")));
    assertEquals(8L << 30, TaskStream.maxMessageBytes(header(String.valueOf(8L << 30))));
  }

  @Test
  void withoutTheHeaderTheLimitIsGrpcsDefault() {
    assertEquals(4194304L, TaskStream.DEFAULT_MAX_MESSAGE_BYTES);
    assertEquals(4194304L, TaskStream.maxMessageBytes(new Metadata()));
    assertEquals(4194304L, TaskStream.maxMessageBytes(null));
  }

  @Test
  void aHeaderThatIsNoPositiveNumberCountsAsAbsent() {
    for (String bad : new String[] {"", "abc", "0", "-5", "5.5", "99999999999999999999"}) {
      assertEquals(4194304L, TaskStream.maxMessageBytes(header(bad)), bad);
    }
  }

  @Test
  void replacementIsASmallFailedResultOfTheSameAttempt() {
    TaskResult big =
        TaskResult.newBuilder()
            .setTaskId("task-1")
            .setToken("token-1")
            .setWorkflowId("wf-1")
            .setWorkerId("worker-1")
            .setStatus(TaskStatus.TASK_STATUS_COMPLETED)
            .setOutput(
                Struct.newBuilder()
                    .putFields("blob", Value.newBuilder().setStringValue("x".repeat(70_000)).build()))
            .addLogs(TaskLog.newBuilder().setMessage("y".repeat(10_000)))
            .build();
    long size = TaskStream.resultMessageSize(big);
    assertEquals(WorkRequest.newBuilder().setResult(big).build().toByteArray().length, size);
    assertTrue(size > 80_000, "output and logs both count: " + size);

    TaskResult r = TaskStream.tooLarge(big, size, 65536);
    assertEquals("task-1", r.getTaskId());
    assertEquals("token-1", r.getToken());
    assertEquals("wf-1", r.getWorkflowId());
    assertEquals("worker-1", r.getWorkerId());
    assertEquals(TaskStatus.TASK_STATUS_FAILED, r.getStatus());
    assertFalse(r.hasOutput());
    assertEquals(0, r.getLogsCount());
    assertEquals(
        "the task result is " + size + " bytes, more than the 65536 bytes the server reads in one message",
        r.getReasonForIncompletion());
    assertTrue(TaskStream.resultMessageSize(r) < 1024);
  }

  @Test
  void aRefusedResultBecomesAFailedOneQuotingTheServer() {
    TaskResult done =
        TaskResult.newBuilder()
            .setTaskId("task-1")
            .setToken("token-1")
            .setWorkflowId("wf-1")
            .setWorkerId("worker-1")
            .setStatus(TaskStatus.TASK_STATUS_IN_PROGRESS)
            .setCallbackAfterSeconds(30)
            .setOutput(
                Struct.newBuilder().putFields("blob", Value.newBuilder().setStringValue("x").build()))
            .addLogs(TaskLog.newBuilder().setMessage("working"))
            .build();
    TaskResult r = TaskStream.refused(done, "OUT_OF_RANGE", "too big");
    assertEquals("task-1", r.getTaskId());
    assertEquals("token-1", r.getToken());
    assertEquals("wf-1", r.getWorkflowId());
    assertEquals("worker-1", r.getWorkerId());
    assertEquals(TaskStatus.TASK_STATUS_FAILED, r.getStatus());
    assertFalse(r.hasOutput());
    assertEquals(0, r.getCallbackAfterSeconds());
    assertEquals(1, r.getLogsCount());
    assertEquals("the server refused the task result: OUT_OF_RANGE: too big", r.getReasonForIncompletion());
  }
}
