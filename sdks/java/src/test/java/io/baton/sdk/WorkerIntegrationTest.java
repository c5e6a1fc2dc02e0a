package io.baton.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.baton.sdk.worker.InputParam;
import io.baton.sdk.worker.Task;
import io.baton.sdk.worker.TaskOptions;
import io.baton.sdk.worker.TaskResult;
import io.baton.sdk.worker.TerminalException;
import io.baton.sdk.worker.Worker;
import io.baton.sdk.worker.WorkerListener;
import io.baton.sdk.worker.WorkerMetrics;
import io.baton.sdk.worker.WorkerTask;
import io.baton.v1.TaskStatus;
import io.baton.v1.WorkflowStatus;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The worker runner against a real {@code baton server}. */
class WorkerIntegrationTest extends ServerTest {
  private static final Duration WAIT = Duration.ofSeconds(30);

  private Worker.Builder worker() {
    return Worker.builder()
        .target(server.target())
        .workerId("java-test-worker")
        .environment(Map.of());
  }

  private void define(String workflow, String task, int retryCount, int responseTimeout) {
    client.registerTaskDef(Defs.taskDef(task, retryCount, 0, responseTimeout));
    client.registerWorkflowDef(Defs.oneTask(workflow, task));
  }

  record Text(String text) {}

  record Shout(String upper, int length) {}

  @Test
  void completesWithTypedInputAndMappedOutput() {
    define("j_complete", "j_upper", 0, 30);
    try (Worker w =
        worker()
            .task("j_upper", Text.class, (in, task) -> new Shout(in.text().toUpperCase(), in.text().length()))
            .build()
            .start()) {
      WorkflowExecution wf =
          client.executeWorkflow(StartWorkflow.of("j_complete", Map.of("text", "hello")), WAIT);
      assertEquals(WorkflowStatus.WORKFLOW_STATUS_COMPLETED, wf.status(), wf.reasonForIncompletion());
      assertEquals(Map.of("upper", "HELLO", "length", 5L), wf.output().get("result"));
      TaskInstance t = wf.task("t").orElseThrow();
      assertEquals(TaskStatus.TASK_STATUS_COMPLETED, t.status());
      assertEquals("java-test-worker", t.workerId());
      // A worker task's type is its task's name, as Conductor reports it.
      assertEquals("j_upper", t.taskType());
    }
  }

  /** Handlers declared with annotations. */
  public static class LetterTasks {
    final AtomicInteger calls = new AtomicInteger();

    @WorkerTask(value = "j_count", concurrency = 2)
    public Map<String, Object> count(@InputParam("text") String text, Task task) {
      calls.incrementAndGet();
      task.log("counting " + text.length() + " letters");
      return Map.of("count", text.length());
    }
  }

  @Test
  void annotatedHandlerAndTaskLogs() {
    define("j_annotated", "j_count", 0, 30);
    LetterTasks bean = new LetterTasks();
    try (Worker w = worker().bean(bean).build().start()) {
      assertEquals(2, w.concurrency("j_count"));
      WorkflowExecution wf =
          client.executeWorkflow(StartWorkflow.of("j_annotated", Map.of("text", "baton")), WAIT);
      assertEquals(WorkflowStatus.WORKFLOW_STATUS_COMPLETED, wf.status(), wf.reasonForIncompletion());
      assertEquals(Map.of("count", 5L), wf.output().get("result"));
      assertEquals(1, bean.calls.get());
      List<TaskLogLine> logs = client.getTaskLogs(wf.task("t").orElseThrow().taskId());
      assertEquals(List.of("counting 5 letters"), logs.stream().map(TaskLogLine::message).toList());
      assertTrue(logs.get(0).time() != null);
    }
  }

  @Test
  void failedTaskIsRetriedThenCompletes() {
    define("j_retry", "j_flaky", 2, 30);
    AtomicInteger calls = new AtomicInteger();
    try (Worker w =
        worker()
            .task(
                "j_flaky",
                task -> {
                  calls.incrementAndGet();
                  if (task.retryCount() < 2) {
                    throw new IllegalStateException("flaky attempt " + task.retryCount());
                  }
                  return Map.of("attempt", task.retryCount());
                })
            .build()
            .start()) {
      WorkflowExecution wf = client.executeWorkflow(StartWorkflow.of("j_retry", Map.of()), WAIT);
      assertEquals(WorkflowStatus.WORKFLOW_STATUS_COMPLETED, wf.status(), wf.reasonForIncompletion());
      List<TaskInstance> attempts = wf.tasks();
      assertEquals(3, attempts.size());
      assertEquals(TaskStatus.TASK_STATUS_FAILED, attempts.get(0).status());
      assertEquals("IllegalStateException: flaky attempt 0", attempts.get(0).reasonForIncompletion());
      assertEquals(TaskStatus.TASK_STATUS_FAILED, attempts.get(1).status());
      assertEquals(TaskStatus.TASK_STATUS_COMPLETED, attempts.get(2).status());
      assertEquals(Map.of("attempt", 2L), attempts.get(2).output());
      assertEquals(3, calls.get());
      String stack =
          client.getTaskLogs(attempts.get(0).taskId()).stream()
              .map(TaskLogLine::message)
              .reduce("", String::concat);
      assertTrue(stack.contains("java.lang.IllegalStateException: flaky attempt 0"), stack);
      assertTrue(stack.contains("WorkerIntegrationTest"), "stack trace names the handler: " + stack);
    }
  }

  @Test
  void terminalErrorIsNotRetried() {
    define("j_terminal", "j_refuse", 3, 30);
    AtomicInteger calls = new AtomicInteger();
    try (Worker w =
        worker()
            .task(
                "j_refuse",
                task -> {
                  calls.incrementAndGet();
                  throw new TerminalException("order 7 does not exist");
                })
            .build()
            .start()) {
      WorkflowExecution wf = client.executeWorkflow(StartWorkflow.of("j_terminal", Map.of()), WAIT);
      assertEquals(WorkflowStatus.WORKFLOW_STATUS_FAILED, wf.status());
      assertEquals(1, wf.tasks().size());
      TaskInstance t = wf.tasks().get(0);
      assertEquals(TaskStatus.TASK_STATUS_FAILED_WITH_TERMINAL_ERROR, t.status());
      assertEquals("order 7 does not exist", t.reasonForIncompletion());
      assertEquals(1, calls.get());
    }
  }

  @Test
  void stalledTaskTimesOutAndIsRetried() {
    define("j_timeout", "j_stall", 1, 1);
    List<String> refused = new CopyOnWriteArrayList<>();
    AtomicInteger calls = new AtomicInteger();
    try (Worker w =
        worker()
            .listener(
                new WorkerListener() {
                  @Override
                  public void onResultAcknowledged(
                      String type, String taskId, boolean ok, String code, String message) {
                    if (!ok) {
                      refused.add(taskId + " " + code);
                    }
                  }
                })
            .task(
                "j_stall",
                task -> {
                  calls.incrementAndGet();
                  if (task.retryCount() == 0) {
                    Thread.sleep(3500); // longer than the 1 s response timeout, lease not extended
                    return Map.of("late", true);
                  }
                  return Map.of("onTime", true);
                },
                TaskOptions.builder().concurrency(2).leaseExtension(false).build())
            .build()
            .start()) {
      String id = client.startWorkflow("j_timeout", Map.of());
      WorkflowExecution wf = client.awaitWorkflow(id, WAIT);
      assertEquals(WorkflowStatus.WORKFLOW_STATUS_COMPLETED, wf.status(), wf.reasonForIncompletion());
      assertEquals(2, wf.tasks().size());
      assertEquals(TaskStatus.TASK_STATUS_TIMED_OUT, wf.tasks().get(0).status());
      assertEquals(TaskStatus.TASK_STATUS_COMPLETED, wf.tasks().get(1).status());
      assertEquals(Map.of("onTime", true), wf.tasks().get(1).output());
      // The stalled handler's late result is refused (its lease ran out) and dropped.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (refused.isEmpty() && System.nanoTime() < deadline) {
        sleep(50);
      }
      assertEquals(1, refused.size(), refused.toString());
      assertTrue(refused.get(0).startsWith(wf.tasks().get(0).taskId()), refused.toString());
      awaitAcknowledged(w);
      assertEquals(
          TaskStatus.TASK_STATUS_TIMED_OUT, client.getTask(wf.tasks().get(0).taskId()).status());
    }
  }

  @Test
  void leaseIsExtendedForLongTasks() {
    define("j_long", "j_slow", 0, 2);
    try (Worker w =
        worker()
            .task(
                "j_slow",
                task -> {
                  Thread.sleep(5000); // 2.5 response timeouts
                  return Map.of("slept", true);
                })
            .build()
            .start()) {
      WorkflowExecution wf = client.executeWorkflow(StartWorkflow.of("j_long", Map.of()), WAIT);
      assertEquals(WorkflowStatus.WORKFLOW_STATUS_COMPLETED, wf.status(), wf.reasonForIncompletion());
      assertEquals(1, wf.tasks().size());
      assertEquals(Map.of("slept", true), wf.tasks().get(0).output());
    }
  }

  @Test
  void inProgressWithCallbackIsHandedOutAgain() {
    define("j_progress", "j_poller", 0, 30);
    List<Integer> polls = new CopyOnWriteArrayList<>();
    try (Worker w =
        worker()
            .task(
                "j_poller",
                task -> {
                  polls.add(task.pollCount());
                  if (polls.size() == 1) {
                    task.log("not ready yet");
                    return TaskResult.inProgress(Duration.ofSeconds(1)).output("checked", 1);
                  }
                  task.log("ready");
                  return TaskResult.completed(Map.of("done", true));
                })
            .build()
            .start()) {
      WorkflowExecution wf = client.executeWorkflow(StartWorkflow.of("j_progress", Map.of()), WAIT);
      assertEquals(WorkflowStatus.WORKFLOW_STATUS_COMPLETED, wf.status(), wf.reasonForIncompletion());
      assertEquals(1, wf.tasks().size(), "IN_PROGRESS keeps the same task instance");
      TaskInstance t = wf.tasks().get(0);
      assertEquals(2, polls.size());
      assertTrue(polls.get(1) > polls.get(0), "poll count grows: " + polls);
      assertEquals(true, t.output().get("done"));
      assertEquals(
          List.of("not ready yet", "ready"),
          client.getTaskLogs(t.taskId()).stream().map(TaskLogLine::message).toList());
    }
  }

  @Test
  void domainRoutesTasksToTheDomainWorker() {
    define("j_domain", "j_colored", 0, 30);
    try (Worker w =
        worker()
            .task("j_colored", task -> Map.of("domain", task.domain()),
                TaskOptions.builder().domain("blue").build())
            .build()
            .start()) {
      String id =
          client.startWorkflow(
              StartWorkflow.builder("j_domain").taskToDomain("j_colored", "blue").build());
      WorkflowExecution wf = client.awaitWorkflow(id, WAIT);
      assertEquals(WorkflowStatus.WORKFLOW_STATUS_COMPLETED, wf.status(), wf.reasonForIncompletion());
      assertEquals("blue", wf.tasks().get(0).domain());
      assertEquals(Map.of("domain", "blue"), wf.tasks().get(0).output());
    }
  }

  @Test
  void pausedWorkerTakesNothingUntilResumed() {
    define("j_pause", "j_pausable", 0, 30);
    AtomicInteger calls = new AtomicInteger();
    try (Worker w = worker().task("j_pausable", task -> Map.of("n", calls.incrementAndGet())).build().start()) {
      w.pause();
      assertTrue(w.isPaused());
      String id = client.startWorkflow("j_pause", Map.of());
      sleep(1500);
      assertEquals(0, calls.get());
      assertEquals(WorkflowStatus.WORKFLOW_STATUS_RUNNING, client.getWorkflow(id).status());
      assertEquals(TaskStatus.TASK_STATUS_SCHEDULED, client.getWorkflow(id).tasks().get(0).status());
      w.resume();
      WorkflowExecution wf = client.awaitWorkflow(id, WAIT);
      assertEquals(WorkflowStatus.WORKFLOW_STATUS_COMPLETED, wf.status(), wf.reasonForIncompletion());
      assertEquals(1, calls.get());
    }
  }

  @Test
  void shutdownDrainsRunningTasksAndTakesNoNewOnes() throws Exception {
    define("j_graceful", "j_finishing", 0, 30);
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger calls = new AtomicInteger();
    Worker w =
        worker()
            .workerId("java-test-worker-drain")
            .task(
                "j_finishing",
                task -> {
                  calls.incrementAndGet();
                  started.countDown();
                  assertTrue(release.await(20, TimeUnit.SECONDS));
                  return Map.of("finished", true);
                },
                TaskOptions.builder().concurrency(4).build())
            .build()
            .start();
    String id = client.startWorkflow("j_graceful", Map.of());
    assertTrue(started.await(20, TimeUnit.SECONDS));
    java.util.concurrent.CompletableFuture<Boolean> stop =
        java.util.concurrent.CompletableFuture.supplyAsync(() -> w.shutdown(Duration.ofSeconds(20)));
    // Wait until the drain has begun (the worker logs it), then start another workflow: the
    // worker must not run it although three of its four slots are free. The server may still
    // push it on the open stream; it goes back to the queue when the stream closes.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (io.baton.sdk.testlog.CapturedLogs.find(
            "worker drain started", e -> e.get("worker_id").equals("java-test-worker-drain"))
        .isEmpty()) {
      assertTrue(System.nanoTime() < deadline, "no drain logged");
      sleep(10);
    }
    String later = client.startWorkflow("j_graceful", Map.of());
    assertFalse(stop.isDone(), "stop waits for the running handler");
    release.countDown();
    assertTrue(stop.get(30, TimeUnit.SECONDS), "in-flight task finished and was acknowledged in time");
    WorkflowExecution wf = client.awaitWorkflow(id, WAIT);
    assertEquals(WorkflowStatus.WORKFLOW_STATUS_COMPLETED, wf.status(), wf.reasonForIncompletion());
    assertEquals(Map.of("finished", true), wf.tasks().get(0).output());
    assertEquals(1, calls.get(), "no task was taken after stop");
    // Pushed to the draining worker or not, the later task is back in the queue, not run.
    long back = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    WorkflowExecution waiting = client.getWorkflow(later);
    while (waiting.tasks().isEmpty()
        || waiting.tasks().get(0).status() != TaskStatus.TASK_STATUS_SCHEDULED) {
      assertTrue(System.nanoTime() < back, "later task not back in the queue: " + waiting.tasks());
      sleep(20);
      waiting = client.getWorkflow(later);
    }
    assertEquals(WorkflowStatus.WORKFLOW_STATUS_RUNNING, waiting.status());
    assertEquals(1, calls.get(), "no task was taken after stop");
    client.terminateWorkflow(later, "test over");
  }

  @Test
  void manyTasksRunConcurrentlyWithinCredit() {
    define("j_many", "j_parallel", 0, 30);
    AtomicInteger inFlight = new AtomicInteger();
    AtomicInteger maxInFlight = new AtomicInteger();
    Map<String, Integer> runs = new ConcurrentHashMap<>();
    try (Worker w =
        worker()
            .task(
                "j_parallel",
                task -> {
                  runs.merge(task.taskId(), 1, Integer::sum);
                  int now = inFlight.incrementAndGet();
                  maxInFlight.accumulateAndGet(now, Math::max);
                  Thread.sleep(50);
                  inFlight.decrementAndGet();
                  return Map.of("n", task.input("payload", Map.class).get("n"));
                },
                TaskOptions.builder().concurrency(4).build())
            .build()
            .start()) {
      List<String> ids =
          java.util.stream.IntStream.range(0, 40)
              .mapToObj(i -> client.startWorkflowAsync(StartWorkflow.of("j_many", Map.of("n", i))))
              .map(java.util.concurrent.CompletableFuture::join)
              .toList();
      for (int i = 0; i < ids.size(); i++) {
        WorkflowExecution wf = client.awaitWorkflow(ids.get(i), WAIT);
        assertEquals(WorkflowStatus.WORKFLOW_STATUS_COMPLETED, wf.status(), wf.reasonForIncompletion());
        assertEquals(Map.of("n", (long) i), wf.output().get("result"));
      }
      assertTrue(maxInFlight.get() <= 4, "never more tasks than slots: " + maxInFlight.get());
      assertTrue(maxInFlight.get() > 1, "tasks ran in parallel");
      assertEquals(40, runs.size());
      assertFalse(runs.values().stream().anyMatch(n -> n != 1), "each task ran once: " + runs);
      assertNotEquals(0, w.concurrency("j_parallel"));
    }
  }

  /** The value of a worker counter of one task type, from a registry the test owns. */
  private static double counter(PrometheusRegistry registry, String name, String taskType) {
    for (MetricSnapshot m : registry.scrape()) {
      if (m.getMetadata().getName().equals(name) && m instanceof CounterSnapshot c) {
        for (CounterSnapshot.CounterDataPointSnapshot p : c.getDataPoints()) {
          if (taskType.equals(p.getLabels().get("task_type"))) {
            return p.getValue();
          }
        }
      }
    }
    throw new AssertionError("no " + name + " for " + taskType);
  }

  /**
   * A result whose message is larger than the server reads (its payload limit plus 1 MiB, named
   * in the stream's response headers) is not sent: the task fails with a reason naming both
   * sizes, the worker's stream stays up and later tasks on it complete. With and without
   * batching (a result over 1 MiB always leaves as a message of its own).
   */
  @Test
  void resultLargerThanTheServerReadsFailsTheTask() throws Exception {
    try (TestServer small = TestServer.start("--max-payload-bytes", "1048576");
        BatonClient c = BatonClient.connect(small.target())) {
      long limit = 1048576 + 1024 * 1024;
      c.registerTaskDef(Defs.taskDef("j_huge", 0, 0, 120));
      c.registerWorkflowDef(Defs.oneTask("j_huge_wf", "j_huge"));
      for (boolean batching : List.of(true, false)) {
        String workerId = "java-test-worker-huge-" + batching;
        PrometheusRegistry registry = new PrometheusRegistry();
        AtomicInteger connects = new AtomicInteger();
        AtomicInteger disconnects = new AtomicInteger();
        List<TaskResult.Status> finished = new CopyOnWriteArrayList<>();
        try (Worker w =
            Worker.builder()
                .target(small.target())
                .workerId(workerId)
                .environment(Map.of())
                .batching(batching)
                .metrics(WorkerMetrics.forRegistry(registry))
                .listener(
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
                      public void onTaskFinished(Task task, TaskResult.Status status, long nanos) {
                        finished.add(status);
                      }
                    })
                .task(
                    "j_huge",
                    task -> {
                      Map<?, ?> in = task.input("payload", Map.class);
                      int bytes = ((Number) in.get("bytes")).intValue();
                      task.log("writing " + bytes + " bytes");
                      return Map.of("blob", "x".repeat(bytes));
                    })
                .build()
                .start()) {
          WorkflowExecution wf =
              c.executeWorkflow(StartWorkflow.of("j_huge_wf", Map.of("bytes", 3_000_000)), WAIT);
          assertEquals(WorkflowStatus.WORKFLOW_STATUS_FAILED, wf.status(), "batching " + batching);
          TaskInstance t = wf.tasks().get(0);
          assertEquals(TaskStatus.TASK_STATUS_FAILED, t.status());
          assertEquals(Map.of(), t.output());
          String reason = t.reasonForIncompletion();
          java.util.regex.Matcher m =
              java.util.regex.Pattern.compile(
                      "the task result is (\\d+) bytes, more than the (\\d+) bytes the server reads in one message")
                  .matcher(reason);
          assertTrue(m.matches(), reason);
          long size = Long.parseLong(m.group(1));
          assertTrue(size > 3_000_000 && size < 3_001_000, reason);
          assertEquals(limit, Long.parseLong(m.group(2)), reason);
          // The handler's logs went with the output.
          assertEquals(List.of(), c.getTaskLogs(t.taskId()));
          List<io.baton.sdk.testlog.CapturedLogs.Event> logged =
              io.baton.sdk.testlog.CapturedLogs.find(
                  "task result larger than the server reads in one message; reported FAILED instead",
                  e -> workerId.equals(e.get("worker_id")));
          assertEquals(1, logged.size(), logged.toString());
          assertEquals(org.slf4j.event.Level.ERROR, logged.get(0).level());
          assertEquals(t.taskId(), logged.get(0).get("task_id"));
          assertEquals(wf.workflowId(), logged.get(0).get("workflow_id"));
          assertEquals(size, ((Number) logged.get(0).get("size_bytes")).longValue());
          assertEquals(limit, ((Number) logged.get(0).get("limit_bytes")).longValue());

          // The same stream serves the next task.
          WorkflowExecution next =
              c.executeWorkflow(StartWorkflow.of("j_huge_wf", Map.of("bytes", 1000)), WAIT);
          assertEquals(WorkflowStatus.WORKFLOW_STATUS_COMPLETED, next.status(), next.reasonForIncompletion());
          assertEquals(1000, ((String) next.tasks().get(0).output().get("blob")).length());
          assertEquals(List.of(TaskResult.Status.FAILED, TaskResult.Status.COMPLETED), finished);
          awaitAcknowledged(w);
          assertEquals(1, connects.get());
          assertEquals(0, disconnects.get());
          assertEquals(0.0, counter(registry, "baton_worker_stream_reconnects", "j_huge"));
          assertEquals(1.0, counter(registry, "baton_worker_task_failures", "j_huge"));
        }
      }
    }
  }

  /**
   * A result the server reads but refuses (its output over the payload limit: INVALID_ARGUMENT)
   * is sent again once as FAILED, quoting the server, so the task fails at once instead of
   * waiting for its response timeout. The stream stays up and serves the next task. With and
   * without batching (acks then come in batches).
   */
  @Test
  void resultTheServerRefusesFailsTheTask() throws Exception {
    try (TestServer small = TestServer.start("--max-payload-bytes", "1048576");
        BatonClient c = BatonClient.connect(small.target())) {
      // Far longer than the test waits: a task left to its response timeout fails the test.
      c.registerTaskDef(Defs.taskDef("j_refused", 0, 0, 600));
      c.registerWorkflowDef(Defs.oneTask("j_refused_wf", "j_refused"));
      for (boolean batching : List.of(true, false)) {
        String workerId = "java-test-worker-refused-" + batching;
        PrometheusRegistry registry = new PrometheusRegistry();
        AtomicInteger connects = new AtomicInteger();
        AtomicInteger disconnects = new AtomicInteger();
        List<String> refusals = new CopyOnWriteArrayList<>();
        try (Worker w =
            Worker.builder()
                .target(small.target())
                .workerId(workerId)
                .environment(Map.of())
                .batching(batching)
                .metrics(WorkerMetrics.forRegistry(registry))
                .listener(
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
                      public void onResultAcknowledged(
                          String taskType, String taskId, boolean ok, String code, String message) {
                        if (!ok) {
                          refusals.add(code);
                        }
                      }
                    })
                .task(
                    "j_refused",
                    task -> {
                      Map<?, ?> in = task.input("payload", Map.class);
                      int bytes = ((Number) in.get("bytes")).intValue();
                      task.log("writing " + bytes + " bytes");
                      return Map.of("blob", "x".repeat(bytes));
                    })
                .build()
                .start()) {
          // Over the 1 MiB payload limit, under the 2 MiB the server reads in one message.
          WorkflowExecution wf =
              c.executeWorkflow(StartWorkflow.of("j_refused_wf", Map.of("bytes", 1_500_000)), WAIT);
          assertEquals(WorkflowStatus.WORKFLOW_STATUS_FAILED, wf.status(), "batching " + batching);
          TaskInstance t = wf.tasks().get(0);
          assertEquals(TaskStatus.TASK_STATUS_FAILED, t.status());
          assertEquals(Map.of(), t.output());
          String reason = t.reasonForIncompletion();
          assertTrue(reason.startsWith("the server refused the task result: INVALID_ARGUMENT: "), reason);
          // The server's own words about the size.
          assertTrue(reason.contains("the limit is 1048576 bytes"), reason);
          List<io.baton.sdk.testlog.CapturedLogs.Event> logged =
              io.baton.sdk.testlog.CapturedLogs.find(
                  "result refused; reported FAILED instead", e -> workerId.equals(e.get("worker_id")));
          assertEquals(1, logged.size(), logged.toString());
          assertEquals(org.slf4j.event.Level.ERROR, logged.get(0).level());
          assertEquals(t.taskId(), logged.get(0).get("task_id"));
          assertEquals(wf.workflowId(), logged.get(0).get("workflow_id"));
          assertEquals("INVALID_ARGUMENT", logged.get(0).get("code"));
          assertTrue(reason.endsWith((String) logged.get(0).get("error")), reason);

          // The same stream serves the next task.
          WorkflowExecution next =
              c.executeWorkflow(StartWorkflow.of("j_refused_wf", Map.of("bytes", 1000)), WAIT);
          assertEquals(WorkflowStatus.WORKFLOW_STATUS_COMPLETED, next.status(), next.reasonForIncompletion());
          assertEquals(1000, ((String) next.tasks().get(0).output().get("blob")).length());
          assertEquals(List.of("INVALID_ARGUMENT"), refusals);
          awaitAcknowledged(w);
          assertEquals(1, connects.get());
          assertEquals(0, disconnects.get());
          assertEquals(0.0, counter(registry, "baton_worker_stream_reconnects", "j_refused"));
          assertEquals(0.0, counter(registry, "baton_worker_results_dropped", "j_refused"));
        }
      }
    }
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RuntimeException(e);
    }
  }

  /**
   * Waits until the worker holds no unacknowledged result: the run can end on the server before
   * the acknowledgement of its last result has reached the worker.
   */
  private static void awaitAcknowledged(Worker w) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (w.unacknowledgedResults() != 0 && System.nanoTime() < deadline) {
      sleep(20);
    }
    assertEquals(0, w.unacknowledgedResults());
  }
}
