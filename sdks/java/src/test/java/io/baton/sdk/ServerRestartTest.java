package io.baton.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.baton.sdk.worker.Task;
import io.baton.sdk.worker.TaskOptions;
import io.baton.sdk.worker.TaskResult;
import io.baton.sdk.worker.Worker;
import io.baton.sdk.worker.WorkerListener;
import io.baton.v1.WorkflowStatus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The server is killed (as in a crash) and started again on the same data directory and port
 * while a worker is busy: the worker reconnects, every workflow completes, and no task runs again
 * after the server acknowledged its result.
 */
class ServerRestartTest {
  private static final int WORKFLOWS = 60;

  @Test
  void workerSurvivesServerRestart() throws Exception {
    try (TestServer server = TestServer.start();
        BatonClient client = BatonClient.connect(server.target())) {
      client.registerTaskDef(Defs.taskDef("r_double", 3, 0, 20));
      client.registerWorkflowDef(Defs.oneTask("r_restart", "r_double"));

      Set<String> acknowledged = ConcurrentHashMap.newKeySet();
      List<String> violations = new CopyOnWriteArrayList<>();
      Map<String, AtomicInteger> runs = new ConcurrentHashMap<>();
      AtomicInteger connects = new AtomicInteger();
      AtomicInteger disconnects = new AtomicInteger();
      AtomicInteger refused = new AtomicInteger();
      WorkerListener listener =
          new WorkerListener() {
            @Override
            public void onConnected(String taskType) {
              connects.incrementAndGet();
            }

            @Override
            public void onDisconnected(String taskType, Throwable cause) {
              disconnects.incrementAndGet();
            }

            @Override
            public void onTaskStarted(Task task) {
              if (acknowledged.contains(task.taskId())) {
                violations.add(task.taskId());
              }
            }

            @Override
            public void onResultAcknowledged(
                String taskType, String taskId, boolean ok, String code, String message) {
              if (ok) {
                acknowledged.add(taskId);
              } else {
                refused.incrementAndGet();
              }
            }
          };

      try (Worker worker =
          Worker.builder()
              .target(server.target())
              .environment(Map.of())
              .listener(listener)
              .reconnectBackoff(Duration.ofMillis(50), Duration.ofSeconds(1))
              .task(
                  "r_double",
                  task -> {
                    runs.computeIfAbsent(task.taskId(), k -> new AtomicInteger()).incrementAndGet();
                    Thread.sleep(ThreadLocalRandom.current().nextInt(20, 120));
                    long n = ((Number) task.input("payload", Map.class).get("n")).longValue();
                    return TaskResult.completed(Map.of("doubled", n * 2));
                  },
                  TaskOptions.builder().concurrency(6).build())
              .build()
              .start()) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < WORKFLOWS; i++) {
          ids.add(client.startWorkflow("r_restart", Map.of("n", i)));
        }
        // Let part of the work finish, then crash the server mid-flight.
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (acknowledged.size() < WORKFLOWS / 4 && System.nanoTime() < deadline) {
          Thread.sleep(10);
        }
        assertTrue(acknowledged.size() < WORKFLOWS, "server killed before all tasks were done");
        server.kill();
        Thread.sleep(700);
        // Handlers kept running while the server was down: their results wait to be re-sent.
        int heldResults = worker.unacknowledgedResults();
        server.restart();

        for (int i = 0; i < WORKFLOWS; i++) {
          WorkflowExecution wf = client.awaitWorkflow(ids.get(i), Duration.ofSeconds(60));
          assertEquals(WorkflowStatus.WORKFLOW_STATUS_COMPLETED, wf.status(), wf.reasonForIncompletion());
          assertEquals(Map.of("doubled", 2L * i), wf.output().get("result"));
        }
        assertTrue(disconnects.get() >= 1, "the worker saw the stream break");
        assertTrue(connects.get() >= 2, "the worker reconnected");
        assertEquals(List.of(), violations, "tasks ran again after their result was acknowledged");
        long deadlineAcks = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (worker.unacknowledgedResults() > 0 && System.nanoTime() < deadlineAcks) {
          Thread.sleep(20);
        }
        assertEquals(0, worker.unacknowledgedResults());
        assertTrue(heldResults > 0, "some results were finished while the server was down");
        System.out.printf(
            "restart test: %d task runs for %d workflows, %d results re-sent after the restart,"
                + " %d reconnect attempts, %d refused results%n",
            runs.values().stream().mapToInt(AtomicInteger::get).sum(),
            WORKFLOWS,
            heldResults,
            connects.get() - 1,
            refused.get());
      }
    }
  }
}
