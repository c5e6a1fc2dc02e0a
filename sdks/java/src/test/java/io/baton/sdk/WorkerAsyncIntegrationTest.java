package io.baton.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.baton.sdk.worker.TerminalException;
import io.baton.sdk.worker.Worker;
import io.baton.v1.TaskStatus;
import io.baton.v1.WorkflowStatus;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Handlers that return a {@link java.util.concurrent.CompletionStage}, and handlers run on an
 * executor given to the worker, against a real {@code baton server}.
 */
class WorkerAsyncIntegrationTest extends ServerTest {
  private static final Duration WAIT = Duration.ofSeconds(30);

  private Worker.Builder worker() {
    return Worker.builder().target(server.target()).workerId("java-async-worker").environment(Map.of());
  }

  private void define(String workflow, String task) {
    client.registerTaskDef(Defs.taskDef(task, 0, 0, 30));
    client.registerWorkflowDef(Defs.oneTask(workflow, task));
  }

  @Test
  void aTaskFinishesWhenItsStageCompletes() throws Exception {
    define("a_stage", "a_stage_task");
    BlockingQueue<CompletableFuture<Object>> handedOut = new LinkedBlockingQueue<>();
    try (Worker w =
        worker()
            .task(
                "a_stage_task",
                task -> {
                  CompletableFuture<Object> f = new CompletableFuture<>();
                  handedOut.add(f);
                  return f;
                })
            .build()
            .start()) {
      String id = client.startWorkflow("a_stage", Map.of("text", "later"));
      CompletableFuture<Object> pending = handedOut.poll(30, TimeUnit.SECONDS);
      assertNotNull(pending, "the handler was not called");
      // The handler has returned; the task stays IN_PROGRESS until the stage completes.
      assertEquals(TaskStatus.TASK_STATUS_IN_PROGRESS, client.getWorkflow(id).task("t").get().status());
      pending.complete(Map.of("done", "later"));
      WorkflowExecution wf = client.awaitWorkflow(id, WAIT);
      assertEquals(WorkflowStatus.WORKFLOW_STATUS_COMPLETED, wf.status(), wf.reasonForIncompletion());
      assertEquals(Map.of("done", "later"), wf.output().get("result"));

      // A stage failing with a TerminalException fails the task for good; any other error fails
      // it with the message as the reason.
      String terminal = client.startWorkflow("a_stage", Map.of());
      handedOut.poll(30, TimeUnit.SECONDS).completeExceptionally(new TerminalException("no way"));
      WorkflowExecution t = client.awaitWorkflow(terminal, WAIT);
      assertEquals(WorkflowStatus.WORKFLOW_STATUS_FAILED, t.status());
      assertEquals(TaskStatus.TASK_STATUS_FAILED_WITH_TERMINAL_ERROR, t.task("t").get().status());
      assertEquals("no way", t.task("t").get().reasonForIncompletion());

      String failed = client.startWorkflow("a_stage", Map.of());
      handedOut.poll(30, TimeUnit.SECONDS).completeExceptionally(new IllegalStateException("broken"));
      WorkflowExecution f = client.awaitWorkflow(failed, WAIT);
      assertEquals(TaskStatus.TASK_STATUS_FAILED, f.task("t").get().status());
      assertTrue(
          f.task("t").get().reasonForIncompletion().contains("broken"),
          f.task("t").get().reasonForIncompletion());
    }
  }

  @Test
  void manyStagesRunAtOnceOnFewThreads() {
    define("a_many", "a_many_task");
    java.util.concurrent.ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    try (Worker w =
        worker()
            .concurrency(20)
            .task(
                "a_many_task",
                task -> {
                  // Finished later by a timer; no worker thread waits for it.
                  CompletableFuture<Object> f = new CompletableFuture<>();
                  timer.schedule(
                      () -> f.complete(Map.of("echo", task.input("text"))), 100, TimeUnit.MILLISECONDS);
                  return f;
                })
            .build()
            .start()) {
      List<CompletableFuture<WorkflowExecution>> runs =
          java.util.stream.IntStream.range(0, 10)
              .mapToObj(i -> client.executeWorkflowAsync("a_many", Map.of("text", "n" + i), WAIT))
              .toList();
      for (int i = 0; i < runs.size(); i++) {
        WorkflowExecution wf = runs.get(i).join();
        assertTrue(wf.isCompleted(), wf.reasonForIncompletion());
        assertEquals(Map.of("echo", "n" + i), wf.output().get("result"));
      }
    } finally {
      timer.shutdownNow();
    }
  }

  @Test
  void handlersRunOnTheGivenExecutor() {
    define("a_exec", "a_exec_task");
    AtomicInteger submitted = new AtomicInteger();
    ExecutorService pool =
        Executors.newFixedThreadPool(
            2,
            r -> {
              Thread t = new Thread(r, "app-pool-" + submitted.get());
              t.setDaemon(true);
              return t;
            });
    Executor counting =
        command -> {
          submitted.incrementAndGet();
          pool.execute(command);
        };
    try (Worker w =
        worker()
            .executor(counting)
            .task("a_exec_task", task -> Map.of("thread", Thread.currentThread().getName()))
            .build()
            .start()) {
      WorkflowExecution wf = client.executeWorkflow("a_exec", Map.of(), WAIT);
      assertTrue(wf.isCompleted(), wf.reasonForIncompletion());
      @SuppressWarnings("unchecked")
      Map<String, Object> result = (Map<String, Object>) wf.output().get("result");
      assertTrue(String.valueOf(result.get("thread")).startsWith("app-pool-"), result.toString());
      assertTrue(submitted.get() >= 1);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void handlersRunOnVirtualThreadsWhereTheJdkHasThem() throws Exception {
    define("a_virtual", "a_virtual_task");
    ExecutorService executor;
    boolean virtual;
    try {
      // Java 21+: one virtual thread per task. Looked up by reflection since the build targets 17.
      executor = (ExecutorService) Executors.class.getMethod("newVirtualThreadPerTaskExecutor").invoke(null);
      virtual = true;
    } catch (NoSuchMethodException e) {
      executor = Executors.newCachedThreadPool();
      virtual = false;
    }
    try (Worker w =
        worker()
            .executor(executor)
            .task(
                "a_virtual_task",
                task -> {
                  boolean isVirtual;
                  try {
                    isVirtual = (Boolean) Thread.class.getMethod("isVirtual").invoke(Thread.currentThread());
                  } catch (NoSuchMethodException e) {
                    isVirtual = false;
                  }
                  return Map.of("virtual", isVirtual);
                })
            .build()
            .start()) {
      WorkflowExecution wf = client.executeWorkflow("a_virtual", Map.of(), WAIT);
      assertTrue(wf.isCompleted(), wf.reasonForIncompletion());
      assertEquals(Map.of("virtual", virtual), wf.output().get("result"));
    } finally {
      executor.shutdownNow();
    }
  }

  @Test
  void theExecutorIsNotShutDownByTheWorker() {
    define("a_owned", "a_owned_task");
    ExecutorService executor = Executors.newFixedThreadPool(1);
    try {
      try (Worker w = worker().executor(executor).task("a_owned_task", task -> Map.of("ok", true)).build().start()) {
        assertTrue(client.executeWorkflow("a_owned", Map.of(), WAIT).isCompleted());
      }
      assertTrue(!executor.isShutdown(), "the worker shut the caller's executor down");
    } finally {
      executor.shutdownNow();
    }
  }

  @Test
  void aStageOutlastingTheResponseTimeoutKeepsItsLease() {
    // Response timeout 2 s; the stage completes after 5 s. The lease is extended meanwhile, so
    // the task is neither timed out nor handed out again.
    client.registerTaskDef(Defs.taskDef("a_long_task", 0, 0, 2));
    client.registerWorkflowDef(Defs.oneTask("a_long", "a_long_task"));
    java.util.concurrent.ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    AtomicInteger calls = new AtomicInteger();
    try (Worker w =
        worker()
            .task(
                "a_long_task",
                task -> {
                  calls.incrementAndGet();
                  CompletableFuture<Object> f = new CompletableFuture<>();
                  timer.schedule(() -> f.complete(Map.of("waited", true)), 5, TimeUnit.SECONDS);
                  return f;
                })
            .build()
            .start()) {
      WorkflowExecution wf = client.executeWorkflow("a_long", Map.of(), WAIT);
      assertEquals(WorkflowStatus.WORKFLOW_STATUS_COMPLETED, wf.status(), wf.reasonForIncompletion());
      assertEquals(1, wf.tasks().size());
      assertEquals(Map.of("waited", true), wf.tasks().get(0).output());
      assertEquals(1, calls.get());
    } finally {
      timer.shutdownNow();
    }
  }

  @Test
  void aPendingStageHoldsItsConcurrencySlot() throws Exception {
    define("a_slots", "a_slots_task");
    BlockingQueue<CompletableFuture<Object>> handedOut = new LinkedBlockingQueue<>();
    try (Worker w =
        worker()
            .concurrency(2)
            .task(
                "a_slots_task",
                task -> {
                  CompletableFuture<Object> f = new CompletableFuture<>();
                  handedOut.add(f);
                  return f;
                })
            .build()
            .start()) {
      List<String> ids =
          java.util.stream.IntStream.range(0, 4).mapToObj(i -> client.startWorkflow("a_slots", Map.of())).toList();
      // Two stages pending fill both slots: the other two tasks wait in the queue.
      List<io.baton.v1.QueueInfo> q =
          eventually(
              () -> client.listQueues("a_slots_task"),
              l -> handedOut.size() == 2 && !l.isEmpty() && l.get(0).getDepth() == 2);
      assertEquals(2, q.get(0).getDepth());
      List<io.baton.v1.WorkerInfo> workers =
          eventually(
              () -> client.listWorkers("a_slots_task"),
              l -> l.stream().anyMatch(x -> x.getInFlight() == 2 && x.getCredits() == 0));
      assertTrue(workers.stream().anyMatch(x -> x.getWorkerId().equals("java-async-worker")));
      // Completing them frees the slots for the other two.
      for (int i = 0; i < 4; i++) {
        CompletableFuture<Object> f = handedOut.poll(30, TimeUnit.SECONDS);
        assertNotNull(f, "task " + i + " was not handed out");
        f.complete(Map.of("i", i));
      }
      for (String id : ids) {
        assertTrue(client.awaitWorkflow(id, WAIT).isCompleted());
      }
    }
  }

  @Test
  void aForcedShutdownInterruptsHandlersOnTheGivenExecutor() throws Exception {
    define("a_stuck", "a_stuck_task");
    ExecutorService executor = Executors.newCachedThreadPool();
    java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch interrupted = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch never = new java.util.concurrent.CountDownLatch(1);
    try {
      Worker w =
          worker()
              .executor(executor)
              .task(
                  "a_stuck_task",
                  task -> {
                    started.countDown();
                    try {
                      never.await();
                    } catch (InterruptedException e) {
                      interrupted.countDown();
                      throw e;
                    }
                    return null;
                  })
              .build()
              .start();
      client.startWorkflow("a_stuck", Map.of());
      assertTrue(started.await(30, TimeUnit.SECONDS), "the handler did not start");
      assertEquals(false, w.shutdown(Duration.ofMillis(200)));
      assertTrue(interrupted.await(30, TimeUnit.SECONDS), "the handler was not interrupted");
      assertTrue(!executor.isShutdown());
    } finally {
      executor.shutdownNow();
    }
  }

  /** Polls a condition until it holds or the deadline passes. */
  private static <T> T eventually(java.util.function.Supplier<T> read, java.util.function.Predicate<T> done) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    T last = read.get();
    while (!done.test(last)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not met in time; last value: " + last);
      }
      java.util.concurrent.locks.LockSupport.parkNanos(50_000_000L);
      last = read.get();
    }
    return last;
  }
}
