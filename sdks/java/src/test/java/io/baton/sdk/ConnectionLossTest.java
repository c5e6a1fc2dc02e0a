package io.baton.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.baton.sdk.worker.TaskOptions;
import io.baton.sdk.worker.Worker;
import io.baton.sdk.worker.WorkerListener;
import io.baton.v1.WorkflowStatus;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The worker's connection breaks while the server stays up. The server hands the worker's
 * unfinished task out again at once, here to the same worker after it reconnects: the worker
 * must not run it a second time, and must still get its one outcome accepted.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConnectionLossTest {
  private TestServer server;
  private BatonClient client;

  @BeforeAll
  void startServer() throws Exception {
    server = TestServer.start();
    client = BatonClient.connect(server.target());
    client.registerTaskDef(Defs.taskDef("l_slow", 0, 0, 30));
    client.registerWorkflowDef(Defs.oneTask("l_loss", "l_slow"));
  }

  @AfterAll
  void stopServer() throws Exception {
    if (client != null) {
      client.close();
    }
    if (server != null) {
      server.close();
    }
  }

  /**
   * @param downMillis how long new connections are refused after the cut: short, so the task is
   *     handed out again while its handler still runs; long, so the handler finishes while the
   *     worker is disconnected and its result waits to be re-sent
   */
  private int breakConnectionDuringTask(long downMillis) throws Exception {
    Map<String, AtomicInteger> runs = new ConcurrentHashMap<>();
    CountDownLatch started = new CountDownLatch(1);
    AtomicInteger connects = new AtomicInteger();
    try (TcpProxy proxy = new TcpProxy(server.port());
        Worker worker =
            Worker.builder()
                .target(proxy.target())
                .environment(Map.of())
                .reconnectBackoff(Duration.ofMillis(50), Duration.ofMillis(300))
                .listener(
                    new WorkerListener() {
                      @Override
                      public void onConnected(String taskType) {
                        connects.incrementAndGet();
                      }
                    })
                .task(
                    "l_slow",
                    task -> {
                      runs.computeIfAbsent(task.taskId(), k -> new AtomicInteger()).incrementAndGet();
                      started.countDown();
                      Thread.sleep(1500);
                      return Map.of("ran", true);
                    },
                    TaskOptions.builder().concurrency(2).build())
                .build()
                .start()) {
      String id = client.startWorkflow("l_loss", Map.of());
      assertTrue(started.await(20, TimeUnit.SECONDS));
      proxy.refuse(true);
      proxy.cut();
      Thread.sleep(downMillis);
      proxy.refuse(false);

      WorkflowExecution wf = client.awaitWorkflow(id, Duration.ofSeconds(30));
      assertEquals(WorkflowStatus.WORKFLOW_STATUS_COMPLETED, wf.status(), wf.reasonForIncompletion());
      assertEquals(1, wf.tasks().size());
      assertEquals(Map.of("ran", true), wf.tasks().get(0).output());
      assertEquals(1, runs.size());
      assertEquals(1, runs.values().iterator().next().get(), "the handler ran once");
      assertTrue(connects.get() >= 2, "the worker reconnected");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (worker.unacknowledgedResults() > 0 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertEquals(0, worker.unacknowledgedResults());
      return wf.tasks().get(0).pollCount();
    }
  }

  @Test
  void taskHandedOutAgainWhileRunningRunsOnce() throws Exception {
    int handedOut = breakConnectionDuringTask(100);
    assertEquals(2, handedOut, "the server handed the task out again after the break");
  }

  @Test
  void resultFinishedWhileDisconnectedIsDelivered() throws Exception {
    int handedOut = breakConnectionDuringTask(2500);
    assertTrue(handedOut >= 1);
  }
}
