package io.baton.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.baton.sdk.testlog.CapturedLogs;
import io.baton.sdk.testlog.CapturedLogs.Event;
import io.baton.sdk.worker.TaskOptions;
import io.baton.sdk.worker.Worker;
import io.baton.v1.WorkflowStatus;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

/**
 * The worker's structured log records (SLF4J key-value pairs), captured by the tests' SLF4J
 * backend, against a real {@code baton server}.
 */
class WorkerLoggingTest extends ServerTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  /** Goes into task input and output; must never show up in a log record. */
  private static final String SECRET = "payload-secret-4c1d";

  /** Waits for the records of one worker with this message. */
  private static List<Event> await(String workerId, String message, Predicate<Event> match)
      throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (true) {
      List<Event> found =
          CapturedLogs.find(message, e -> workerId.equals(e.get("worker_id")) && match.test(e));
      if (!found.isEmpty()) {
        return found;
      }
      assertTrue(System.nanoTime() < deadline, "no '" + message + "' record for " + workerId);
      Thread.sleep(10);
    }
  }

  private static void assertNoPayload(String workerId) {
    for (Event e : CapturedLogs.all()) {
      if (workerId.equals(e.get("worker_id"))) {
        assertFalse(e.toString().contains(SECRET), "payload logged: " + e);
      }
    }
  }

  @Test
  void lifecycleAndHandlerFailuresCarryTheirFields() throws Exception {
    client.registerTaskDef(Defs.taskDef("lg_task", 0, 0, 30));
    client.registerWorkflowDef(Defs.oneTask("lg_wf", "lg_task"));
    String workerId = "log-worker-1";
    Worker w =
        Worker.builder()
            .target(server.target())
            .workerId(workerId)
            .environment(Map.of())
            .task(
                "lg_task",
                task -> {
                  if ("boom".equals(task.input("text", String.class))) {
                    throw new IllegalStateException("handler gave up");
                  }
                  return Map.of("echo", SECRET);
                })
            .build()
            .start();
    try {
      Event started = await(workerId, "worker started", e -> true).get(0);
      assertEquals(Level.INFO, started.level());
      assertEquals(java.util.Set.of("lg_task"), started.get("task_types"));
      Event connected = await(workerId, "worker stream connected", e -> true).get(0);
      assertEquals("lg_task", connected.get("task_type"));
      assertEquals(Level.INFO, connected.level());

      WorkflowExecution ok =
          client.executeWorkflow(StartWorkflow.of("lg_wf", Map.of("text", SECRET)), WAIT);
      assertTrue(ok.isCompleted(), ok.reasonForIncompletion());
      WorkflowExecution failed =
          client.executeWorkflow(StartWorkflow.of("lg_wf", Map.of("text", "boom", "extra", SECRET)), WAIT);
      assertEquals(WorkflowStatus.WORKFLOW_STATUS_FAILED, failed.status());

      Event raised =
          await(workerId, "task handler raised", e -> failed.workflowId().equals(e.get("workflow_id"))).get(0);
      assertEquals(Level.WARN, raised.level());
      assertEquals("lg_task", raised.get("task_type"));
      assertEquals(failed.tasks().get(0).taskId(), raised.get("task_id"));
      assertEquals(0, raised.get("attempt"));
      assertEquals("IllegalStateException: handler gave up", raised.get("error"));
      assertTrue(raised.cause() instanceof IllegalStateException);
    } finally {
      assertTrue(w.shutdown(Duration.ofSeconds(10)));
    }
    Event drain = await(workerId, "worker drain started", e -> true).get(0);
    assertEquals(10_000L, drain.get("timeout_ms"));
    assertEquals(0, drain.get("running"));
    Event drained = await(workerId, "worker drain finished", e -> true).get(0);
    assertEquals(true, drained.get("drained"));
    assertEquals(0, drained.get("unacknowledged"));
    await(workerId, "worker stopped", e -> Boolean.TRUE.equals(e.get("clean")));
    assertNoPayload(workerId);
  }

  @Test
  void brokenStreamLogsItsReconnectWithBackoff() throws Exception {
    client.registerTaskDef(Defs.taskDef("lg_net", 0, 0, 30));
    client.registerWorkflowDef(Defs.oneTask("lg_net_wf", "lg_net"));
    String workerId = "log-worker-2";
    try (TcpProxy proxy = new TcpProxy(server.port());
        Worker w =
            Worker.builder()
                .target(proxy.target())
                .workerId(workerId)
                .environment(Map.of())
                .reconnectBackoff(Duration.ofMillis(50), Duration.ofMillis(200))
                .task("lg_net", task -> Map.of("ok", true))
                .build()
                .start()) {
      await(workerId, "worker stream connected", e -> true);
      // The stream is through the relay once the server lists the worker; cut it then.
      long listed = System.nanoTime() + WAIT.toNanos();
      while (client.listWorkers("lg_net").stream().noneMatch(x -> workerId.equals(x.getWorkerId()))) {
        assertTrue(System.nanoTime() < listed, "worker never subscribed");
        Thread.sleep(10);
      }
      proxy.cut();
      Event ended = await(workerId, "worker stream ended; reconnecting", e -> true).get(0);
      assertEquals(Level.WARN, ended.level());
      assertEquals("lg_net", ended.get("task_type"));
      assertEquals(1, ended.get("attempt"));
      long backoff = (Long) ended.get("backoff_ms");
      assertTrue(backoff >= 40 && backoff <= 60, "backoff " + backoff);
      assertNotNull(ended.get("error"));
      assertEquals(proxy.target(), ended.get("server"));
      // Connected again, and still working.
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (CapturedLogs.find("worker stream connected", e -> workerId.equals(e.get("worker_id"))).size() < 2) {
        assertTrue(System.nanoTime() < deadline, "did not reconnect");
        Thread.sleep(10);
      }
      assertTrue(client.executeWorkflow(StartWorkflow.of("lg_net_wf", Map.of()), WAIT).isCompleted());
    }
  }

  @Test
  void workerWithNoServerLogsTheAddressAndKeepsTrying() throws Exception {
    String workerId = "log-worker-4";
    try (Worker w =
        Worker.builder()
            .target("127.0.0.1:1")
            .workerId(workerId)
            .environment(Map.of())
            .reconnectBackoff(Duration.ofMillis(20), Duration.ofMillis(40))
            .drainTimeout(Duration.ZERO)
            .task("lg_nowhere", task -> null)
            .build()
            .start()) {
      Event ended = await(workerId, "worker stream ended; reconnecting", e -> true).get(0);
      assertEquals("127.0.0.1:1", ended.get("server"));
      assertTrue(String.valueOf(ended.get("error")).contains("UNAVAILABLE"), ended.toString());
      // Logged at the first failure and every 20th, while it keeps trying with backoff.
      await(workerId, "worker stream ended; reconnecting", e -> Integer.valueOf(20).equals(e.get("attempt")));
    }
  }

  @Test
  void refusedResultIsLoggedWithItsCode() throws Exception {
    // Response timeout 1 s and no lease extension: the handler's late result is refused.
    client.registerTaskDef(Defs.taskDef("lg_stall", 0, 0, 1));
    client.registerWorkflowDef(Defs.oneTask("lg_stall_wf", "lg_stall"));
    String workerId = "log-worker-3";
    CountDownLatch started = new CountDownLatch(1);
    try (Worker w =
        Worker.builder()
            .target(server.target())
            .workerId(workerId)
            .environment(Map.of())
            .task(
                "lg_stall",
                task -> {
                  started.countDown();
                  Thread.sleep(2500);
                  return Map.of("late", SECRET);
                },
                TaskOptions.builder().leaseExtension(false).build())
            .build()
            .start()) {
      String id = client.startWorkflow("lg_stall_wf", Map.of());
      assertTrue(started.await(20, TimeUnit.SECONDS));
      Event refused = await(workerId, "result refused; dropped", e -> id.equals(e.get("workflow_id"))).get(0);
      assertEquals(Level.WARN, refused.level());
      assertEquals("lg_stall", refused.get("task_type"));
      assertEquals("FAILED_PRECONDITION", refused.get("code"));
      assertNotNull(refused.get("task_id"));
      assertTrue(String.valueOf(refused.get("error")).contains("stale"), refused.toString());
    }
    assertNoPayload(workerId);
  }
}
