package io.baton.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.baton.sdk.worker.Worker;
import io.baton.v1.BulkOperation;
import io.baton.v1.BulkResult;
import io.baton.v1.EventHandlerInfo;
import io.baton.v1.GetOverviewResponse;
import io.baton.v1.GetRetentionResponse;
import io.baton.v1.SearchTasksRequest;
import io.baton.v1.SearchWorkflowsRequest;
import io.baton.v1.TaskAssignment;
import io.baton.v1.TaskStatus;
import io.baton.v1.WorkflowStatus;
import io.grpc.Status;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * The client calls for definitions, event handlers, steering, search, polling and monitoring,
 * each in its blocking and its async form, against a real {@code baton server}.
 */
class ClientCallsIntegrationTest extends ServerTest {
  private static final Duration WAIT = Duration.ofSeconds(30);

  /** A WAIT task: it stays IN_PROGRESS until someone sets its status by reference name. */
  private static Map<String, Object> waitTask(String ref) {
    Map<String, Object> t = new LinkedHashMap<>();
    t.put("name", ref);
    t.put("taskReferenceName", ref);
    t.put("type", "WAIT");
    return t;
  }

  /** A workflow of WAIT tasks in sequence, registered once. */
  private void waitWorkflow(String name, String... refs) {
    List<Map<String, Object>> tasks = java.util.Arrays.stream(refs).map(r -> waitTask(r)).toList();
    client.registerWorkflowDef(Defs.workflow(name, tasks, Map.of()));
  }

  /** Polls a condition until it holds or the deadline passes. */
  private static <T> T eventually(Supplier<T> read, java.util.function.Predicate<T> done) {
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

  private static BatonException failure(Runnable call) {
    return assertThrows(BatonException.class, call::run);
  }

  private static BatonException asyncFailure(java.util.concurrent.CompletableFuture<?> f) {
    CompletionException e = assertThrows(CompletionException.class, f::join);
    assertTrue(e.getCause() instanceof BatonException, String.valueOf(e.getCause()));
    return (BatonException) e.getCause();
  }

  @Test
  void definitionCallsHaveAsyncForms() {
    client.registerTaskDefsAsync(List.of(Defs.taskDef("k_def_task", 0, 0, 30))).join();
    assertEquals("k_def_task", client.getTaskDefAsync("k_def_task").join().name());
    assertTrue(client.listTaskDefsAsync().join().stream().anyMatch(d -> d.name().equals("k_def_task")));
    client.registerWorkflowDef(Defs.oneTask("k_defs", "k_def_task"));
    assertTrue(
        client.listWorkflowDefsAsync(false).join().stream().anyMatch(d -> d.name().equals("k_defs")));
    assertEquals(List.of(), client.validateWorkflowDefAsync(Defs.oneTask("k_x", "k_def_task")).join());
    Map<String, Object> bad = new LinkedHashMap<>(Defs.oneTask("k_bad", "k_def_task"));
    bad.put("tasks", List.of());
    assertFalse(client.validateWorkflowDefAsync(bad).join().isEmpty());

    client.deleteWorkflowDefAsync("k_defs", 1).join();
    assertEquals(Status.Code.NOT_FOUND, failure(() -> client.getWorkflowDef("k_defs")).code());
    client.deleteTaskDefAsync("k_def_task").join();
    assertEquals(Status.Code.NOT_FOUND, asyncFailure(client.getTaskDefAsync("k_def_task")).code());

    // The blocking forms of the same calls.
    client.registerTaskDef(Defs.taskDef("k_def_task2", 0, 0, 30));
    client.registerWorkflowDef(Defs.oneTask("k_defs2", "k_def_task2"));
    assertEquals(List.of(), client.validateWorkflowDef(Defs.oneTask("k_y", "k_def_task2")));
    client.deleteWorkflowDef("k_defs2", 1);
    client.deleteTaskDef("k_def_task2");
    assertEquals(Status.Code.NOT_FOUND, failure(() -> client.getTaskDef("k_def_task2")).code());
    assertTrue(client.listWorkflowDefs(true).stream().noneMatch(d -> d.name().equals("k_defs2")));
  }

  private static Map<String, Object> handler(String name, String event, boolean active) {
    Map<String, Object> h = new LinkedHashMap<>();
    h.put("name", name);
    h.put("event", event);
    h.put("active", active);
    h.put(
        "actions",
        List.of(
            Map.of(
                "action", "complete_task",
                "complete_task",
                    Map.of("workflowId", "${workflowId}", "taskRefName", "wait", "output", Map.of()))));
    return h;
  }

  @Test
  void eventHandlersCanBeAddedReadListedUpdatedAndDeleted() {
    EventHandlerInfo added = client.addEventHandler(handler("k_on_a", "conductor:k:a", true));
    assertEquals("k_on_a", added.getName());
    assertEquals("conductor:k:a", added.getEvent());
    assertTrue(added.getActive());
    client.addEventHandlerAsync(io.baton.sdk.internal.Json.write(handler("k_on_b", "conductor:k:b", false))).join();
    client.addEventHandler(io.baton.sdk.internal.Json.write(handler("k_on_a2", "conductor:k:a", false)));
    assertEquals("k_on_c", client.addEventHandlerAsync(handler("k_on_c", "conductor:k:c", true)).join().getName());
    assertEquals(
        Status.Code.ALREADY_EXISTS,
        failure(() -> client.addEventHandler(handler("k_on_a", "conductor:k:z", true))).code());

    assertEquals("conductor:k:b", client.getEventHandler("k_on_b").getEvent());
    assertFalse(client.getEventHandlerAsync("k_on_b").join().getActive());
    assertEquals(
        List.of("k_on_a", "k_on_a2"),
        client.listEventHandlers("conductor:k:a", false).stream().map(EventHandlerInfo::getName).sorted().toList());
    assertEquals(
        List.of("k_on_a"),
        client.listEventHandlersAsync("conductor:k:a", true).join().stream().map(EventHandlerInfo::getName).toList());
    assertTrue(client.listEventHandlers().size() >= 4);

    assertTrue(client.updateEventHandler(handler("k_on_b", "conductor:k:b", true)).getActive());
    EventHandlerInfo moved =
        client.updateEventHandlerAsync(handler("k_on_a2", "conductor:k:c", true)).join();
    assertEquals("conductor:k:c", moved.getEvent());
    client.updateEventHandler(io.baton.sdk.internal.Json.write(handler("k_on_a2", "conductor:k:c", false)));
    client.updateEventHandlerAsync(io.baton.sdk.internal.Json.write(handler("k_on_a2", "conductor:k:d", false))).join();
    assertEquals("conductor:k:d", client.getEventHandler("k_on_a2").getEvent());
    assertEquals(
        Status.Code.NOT_FOUND,
        asyncFailure(client.updateEventHandlerAsync(handler("k_ghost", "conductor:k:x", true))).code());

    client.deleteEventHandler("k_on_a");
    client.deleteEventHandlerAsync("k_on_b").join();
    client.deleteEventHandler("k_on_c");
    assertEquals(Status.Code.NOT_FOUND, failure(() -> client.getEventHandler("k_on_a")).code());
    assertEquals(Status.Code.NOT_FOUND, asyncFailure(client.getEventHandlerAsync("k_on_b")).code());
    assertEquals(Status.Code.NOT_FOUND, failure(() -> client.deleteEventHandler("k_on_b")).code());
  }

  @Test
  void waitWorkflowWaitsForATaskReferenceOfARunStartedElsewhere() {
    waitWorkflow("k_waitwf", "first", "second");
    String id = client.startWorkflow("k_waitwf", Map.of());
    eventually(() -> client.getWorkflow(id), wf -> wf.task("first").isPresent());
    java.util.concurrent.CompletableFuture<WorkflowWait> untilFirst =
        client.waitWorkflowAsync(id, WAIT, "first");
    java.util.concurrent.CompletableFuture<WorkflowWait> untilEnd = client.waitWorkflowAsync(id, WAIT);
    // Nothing has finished yet: neither wait may have returned.
    assertFalse(client.getWorkflow(id).isTerminal());
    assertFalse(untilFirst.isDone());
    assertFalse(untilEnd.isDone());

    client.updateTaskByRef(id, "first", TaskStatus.TASK_STATUS_COMPLETED, Map.of("n", 1));
    WorkflowWait first = untilFirst.join();
    assertTrue(first.taskRefFinished());
    assertFalse(first.finished());
    assertTrue(first.reached("first"));
    assertEquals(WorkflowStatus.WORKFLOW_STATUS_RUNNING, first.workflow().status());
    assertEquals(TaskStatus.TASK_STATUS_COMPLETED, first.workflow().task("first").get().status());
    assertFalse(untilEnd.isDone(), "the wait for the whole run returned while it still runs");

    client.updateTaskByRef(id, "second", TaskStatus.TASK_STATUS_COMPLETED, null);
    WorkflowWait end = untilEnd.join();
    assertTrue(end.finished());
    assertFalse(end.taskRefFinished());
    assertTrue(end.workflow().isCompleted());

    // Blocking form on a finished run returns at once.
    WorkflowWait again = client.waitWorkflow(id, WAIT, "second");
    assertTrue(again.finished());
    assertTrue(again.taskRefFinished());
  }

  @Test
  void waitWorkflowRunsOutAndSaysSo() {
    waitWorkflow("k_waitwf_out", "w");
    String id = client.startWorkflow("k_waitwf_out", Map.of());
    long t0 = System.nanoTime();
    WorkflowWait w = client.waitWorkflow(id, Duration.ofSeconds(1), "w");
    long tookMillis = (System.nanoTime() - t0) / 1_000_000;
    assertFalse(w.finished());
    assertFalse(w.taskRefFinished());
    assertFalse(w.reached("w"));
    assertEquals(WorkflowStatus.WORKFLOW_STATUS_RUNNING, w.workflow().status());
    assertTrue(tookMillis >= 900, "returned after " + tookMillis + " ms");
    BatonException late =
        asyncFailure(client.awaitWorkflowAsync(id, Duration.ofSeconds(1)));
    assertEquals(Status.Code.DEADLINE_EXCEEDED, late.code());
    client.terminateWorkflow(id, "done");
  }

  @Test
  void waitWorkflowErrors() {
    waitWorkflow("k_waitwf_err", "w");
    String id = client.startWorkflow("k_waitwf_err", Map.of());
    BatonException unknownId = failure(() -> client.waitWorkflow("no-such-run", Duration.ofSeconds(1)));
    assertEquals(Status.Code.NOT_FOUND, unknownId.code());
    assertTrue(unknownId.isNotFound());
    BatonException unknownRef =
        asyncFailure(client.waitWorkflowAsync(id, Duration.ofSeconds(1), "no_such_ref"));
    assertEquals(Status.Code.NOT_FOUND, unknownRef.code());
    assertTrue(unknownRef.getMessage().contains("no_such_ref"), unknownRef.getMessage());
    BatonException negative = failure(() -> client.waitWorkflow(id, Duration.ofSeconds(-5)));
    assertEquals(Status.Code.INVALID_ARGUMENT, negative.code());
    assertTrue(negative.isInvalidArgument());
    // The server's own message travels in the exception.
    assertTrue(negative.getMessage().contains("wait_seconds"), negative.getMessage());
    client.terminateWorkflow(id, "done");
  }

  @Test
  void waitTasksAreCompletedByReferenceName() {
    waitWorkflow("k_wait", "w");
    String id = client.startWorkflow("k_wait", Map.of());
    WorkflowExecution running =
        eventually(() -> client.getWorkflow(id), wf -> wf.task("w").isPresent());
    String taskId = client.updateTaskByRef(id, "w", TaskStatus.TASK_STATUS_COMPLETED, Map.of("answer", 42));
    assertEquals(running.task("w").get().taskId(), taskId);
    WorkflowExecution done = client.awaitWorkflow(id, WAIT);
    assertEquals(WorkflowStatus.WORKFLOW_STATUS_COMPLETED, done.status(), done.reasonForIncompletion());
    assertEquals(42L, done.task("w").get().output().get("answer"));

    // Async, failing the task with a reason.
    String id2 = client.startWorkflowAsync(StartWorkflow.of("k_wait", Map.of())).join();
    eventually(() -> client.getWorkflow(id2), wf -> wf.task("w").isPresent());
    client
        .updateTaskByRefAsync(id2, "w", TaskStatus.TASK_STATUS_FAILED_WITH_TERMINAL_ERROR, null, "no")
        .join();
    WorkflowExecution failed = client.awaitWorkflowAsync(id2, WAIT).join();
    assertEquals(WorkflowStatus.WORKFLOW_STATUS_FAILED, failed.status());
    assertEquals(
        Status.Code.NOT_FOUND,
        failure(() -> client.updateTaskByRef("missing", "w", TaskStatus.TASK_STATUS_COMPLETED, null)).code());
  }

  @Test
  void humanTasksAreCompletedByReferenceName() {
    Map<String, Object> human = new LinkedHashMap<>();
    human.put("name", "approve");
    human.put("taskReferenceName", "approve");
    human.put("type", "HUMAN");
    client.registerWorkflowDef(Defs.workflow("k_human", List.of(human), Map.of("ok", "${approve.output.ok}")));
    String id = client.startWorkflow("k_human", Map.of());
    eventually(() -> client.getWorkflow(id), wf -> wf.task("approve").isPresent());
    client.updateTaskByRef(id, "approve", TaskStatus.TASK_STATUS_COMPLETED, Map.of("ok", true), null);
    WorkflowExecution done = client.awaitWorkflow(id, WAIT);
    assertEquals(WorkflowStatus.WORKFLOW_STATUS_COMPLETED, done.status(), done.reasonForIncompletion());
    assertEquals(true, done.output().get("ok"));
  }

  @Test
  void tasksCanBeSkippedAndWorkflowsRerun() {
    waitWorkflow("k_skip", "a", "b", "c");
    String id = client.startWorkflow("k_skip", Map.of());
    eventually(() -> client.getWorkflow(id), wf -> wf.task("a").isPresent());
    assertFalse(client.skipTask(id, "c"), "c is not scheduled yet");
    assertTrue(client.skipTask(id, "a", null, Map.of("skipped", "yes")));
    assertTrue(client.skipTaskAsync(id, "b", null, null).join());
    WorkflowExecution done = client.awaitWorkflow(id, WAIT);
    assertEquals(WorkflowStatus.WORKFLOW_STATUS_COMPLETED, done.status(), done.reasonForIncompletion());
    assertEquals(TaskStatus.TASK_STATUS_SKIPPED, done.task("a").get().status());
    assertEquals(TaskStatus.TASK_STATUS_SKIPPED, done.task("c").get().status());
    assertEquals("yes", done.task("a").get().output().get("skipped"));
    assertEquals(
        Status.Code.FAILED_PRECONDITION,
        asyncFailure(client.skipTaskAsync(id, "a", null, null)).code());

    // Rerun from b: b and c are scheduled anew, the execution runs again.
    String bId = done.task("b").get().taskId();
    client.rerunWorkflow(id, bId);
    WorkflowExecution again =
        eventually(
            () -> client.getWorkflow(id),
            wf -> wf.status() == WorkflowStatus.WORKFLOW_STATUS_RUNNING && wf.task("b").isPresent());
    assertNotEquals(bId, again.task("b").get().taskId());
    assertEquals(TaskStatus.TASK_STATUS_IN_PROGRESS, again.task("b").get().status());
    client.updateTaskByRef(id, "b", TaskStatus.TASK_STATUS_COMPLETED, null);
    eventually(() -> client.getWorkflow(id), wf -> wf.task("c").isPresent());
    client.updateTaskByRef(id, "c", TaskStatus.TASK_STATUS_COMPLETED, null);
    assertTrue(client.awaitWorkflow(id, WAIT).isCompleted());

    // Async rerun with a new workflow input.
    String cId = client.getWorkflow(id).task("c").get().taskId();
    client.rerunWorkflowAsync(id, cId, null, Map.of("round", 2)).join();
    WorkflowExecution third =
        eventually(
            () -> client.getWorkflow(id), wf -> wf.status() == WorkflowStatus.WORKFLOW_STATUS_RUNNING);
    assertEquals(2L, third.input().get("round"));
    client.terminateWorkflow(id, "done");
  }

  @Test
  void callbacksAndDecisionsAreHarmlessOnARunningWorkflow() {
    waitWorkflow("k_decide", "w");
    String id = client.startWorkflow("k_decide", Map.of());
    client.resetCallbacks(id);
    client.resetCallbacksAsync(id).join();
    client.decideWorkflow(id);
    client.decideWorkflowAsync(id).join();
    assertEquals(WorkflowStatus.WORKFLOW_STATUS_RUNNING, client.getWorkflow(id).status());
    assertEquals(Status.Code.NOT_FOUND, failure(() -> client.decideWorkflow("missing")).code());
    assertEquals(Status.Code.NOT_FOUND, asyncFailure(client.resetCallbacksAsync("missing")).code());
    client.terminateWorkflow(id, "done");
  }

  @Test
  void workflowTasksAreListedInPages() {
    waitWorkflow("k_pages", "a", "b", "c");
    String id = client.startWorkflow("k_pages", Map.of());
    eventually(() -> client.getWorkflow(id), wf -> wf.task("a").isPresent());
    client.updateTaskByRef(id, "a", TaskStatus.TASK_STATUS_COMPLETED, null);
    eventually(() -> client.getWorkflow(id), wf -> wf.task("b").isPresent());
    TaskPage first = client.listWorkflowTasks(id, null, 0, 1);
    assertEquals(2, first.total());
    assertEquals(1, first.tasks().size());
    assertEquals("a", first.tasks().get(0).referenceTaskName());
    assertTrue(first.hasMore());
    TaskPage second = client.listWorkflowTasksAsync(id, List.of(), first.nextOffset(), 1).join();
    assertEquals("b", second.tasks().get(0).referenceTaskName());
    assertFalse(second.hasMore());
    TaskPage inProgress =
        client.listWorkflowTasksAsync(id, List.of(TaskStatus.TASK_STATUS_IN_PROGRESS), 0, 0).join();
    assertEquals(List.of("b"), inProgress.tasks().stream().map(TaskInstance::referenceTaskName).toList());
    client.terminateWorkflow(id, "done");
  }

  @Test
  void runningWorkflowsAndCorrelationsAreListed() {
    waitWorkflow("k_running", "w");
    Instant before = Instant.now().minusSeconds(5);
    String a = client.startWorkflow(StartWorkflow.builder("k_running").input(Map.of()).correlationId("k_c1").build());
    String b = client.startWorkflow(StartWorkflow.builder("k_running").input(Map.of()).correlationId("k_c2").build());
    assertEquals(List.of(a, b), client.getRunningWorkflows("k_running"));
    assertEquals(
        List.of(a, b),
        client.getRunningWorkflowsAsync("k_running", 1, before, Instant.now().plusSeconds(5)).join());
    assertEquals(
        Status.Code.NOT_FOUND, failure(() -> client.getRunningWorkflows("k_running", 2, null, null)).code());

    Map<String, List<WorkflowExecution>> byId =
        client.getWorkflowsByCorrelationIds("k_running", List.of("k_c2", "k_c1", "k_none"), false, false);
    assertEquals(List.of("k_c2", "k_c1", "k_none"), List.copyOf(byId.keySet()));
    assertEquals(b, byId.get("k_c2").get(0).workflowId());
    assertTrue(byId.get("k_none").isEmpty());
    assertEquals(
        a,
        client.getWorkflowsByCorrelationIdsAsync("k_running", List.of("k_c1"), true, true)
            .join()
            .get("k_c1")
            .get(0)
            .workflowId());
    assertEquals(
        a, client.getWorkflowsByCorrelationIdAsync("k_running", "k_c1", false, false).join().get(0).workflowId());

    client.terminateWorkflow(a, "done");
    client.removeWorkflowAsync(a).join();
    assertEquals(Status.Code.NOT_FOUND, failure(() -> client.getWorkflow(a)).code());
    assertEquals(List.of(b), client.getRunningWorkflows("k_running"));
    client.terminateWorkflow(b, "done");
  }

  @Test
  void bulkOperationsReportEachExecution() {
    waitWorkflow("k_bulk", "w");
    String a = client.startWorkflow("k_bulk", Map.of());
    String b = client.startWorkflow("k_bulk", Map.of());
    List<BulkResult> paused = client.runBulkOperation(BulkOperation.BULK_OPERATION_PAUSE, List.of(a, b, "missing"));
    assertEquals(List.of(a, b, "missing"), paused.stream().map(BulkResult::getWorkflowId).toList());
    assertTrue(paused.get(0).getOk() && paused.get(1).getOk());
    assertFalse(paused.get(2).getOk());
    assertEquals("NOT_FOUND", paused.get(2).getCode());
    assertEquals(WorkflowStatus.WORKFLOW_STATUS_PAUSED, client.getWorkflow(a).status());

    List<BulkResult> resumed =
        client.runBulkOperationAsync(BulkOperation.BULK_OPERATION_RESUME, List.of(a, b), null, false).join();
    assertTrue(resumed.stream().allMatch(BulkResult::getOk));
    assertEquals(WorkflowStatus.WORKFLOW_STATUS_RUNNING, client.getWorkflow(b).status());

    List<BulkResult> terminated =
        client.runBulkOperation(BulkOperation.BULK_OPERATION_TERMINATE, List.of(a, b), "bulk stop", false);
    assertTrue(terminated.stream().allMatch(BulkResult::getOk));
    WorkflowExecution t = client.getWorkflow(a, false);
    assertEquals(WorkflowStatus.WORKFLOW_STATUS_TERMINATED, t.status());
    assertEquals("bulk stop", t.reasonForIncompletion());

    List<BulkResult> removed =
        client.runBulkOperationAsync(BulkOperation.BULK_OPERATION_REMOVE, List.of(a, b), null, false).join();
    assertTrue(removed.stream().allMatch(BulkResult::getOk));
    assertEquals(Status.Code.NOT_FOUND, failure(() -> client.getWorkflow(b)).code());
    assertEquals(
        Status.Code.INVALID_ARGUMENT,
        failure(() -> client.runBulkOperation(BulkOperation.BULK_OPERATION_PAUSE, List.of())).code());
  }

  @Test
  void workflowsAndTasksCanBeSearched() {
    waitWorkflow("k_search", "sw");
    String a = client.startWorkflow("k_search", Map.of("colour", "teal"));
    String b = client.startWorkflow("k_search", Map.of("colour", "ochre"));
    String query = "workflowType = 'k_search'";
    assertEquals(
        2L, eventually(() -> client.searchWorkflows(query, 0, 10), r -> r.getTotalHits() == 2).getTotalHits());
    var teal =
        client
            .searchWorkflowsAsync(
                SearchWorkflowsRequest.newBuilder().setQuery(query).setFreeText("teal").build())
            .join();
    assertEquals(List.of(a), teal.getResultsList().stream().map(s -> s.getWorkflowId()).toList());
    var sorted =
        client.searchWorkflows(
            SearchWorkflowsRequest.newBuilder().setQuery(query).addSort("startTime:DESC").setSize(1).build());
    assertEquals(2L, sorted.getTotalHits());
    assertEquals(1, sorted.getResultsCount());

    String taskQuery = "workflowType = 'k_search' AND status = IN_PROGRESS";
    var tasks = eventually(() -> client.searchTasks(taskQuery, 0, 10), r -> r.getTotalHits() == 2);
    assertTrue(tasks.getResultsList().stream().allMatch(t -> t.getTaskDefName().equals("sw")
        || t.getTaskType().equals("WAIT")));
    var counted =
        client.searchTasksAsync(SearchTasksRequest.newBuilder().setQuery(taskQuery).setSize(0).build()).join();
    assertEquals(2L, counted.getTotalHits());
    assertEquals(0, counted.getResultsCount());
    assertEquals(
        Status.Code.INVALID_ARGUMENT, failure(() -> client.searchWorkflows("status ==== x", 0, 1)).code());
    client.runBulkOperation(BulkOperation.BULK_OPERATION_TERMINATE, List.of(a, b), "done", false);
  }

  @Test
  void retentionAndImportAreReachable() {
    GetRetentionResponse r = client.getRetention();
    assertTrue(r.getMaxRemovalsPerSec() > 0, r.toString());
    assertEquals(r.getMaxAgeSeconds(), client.getRetentionAsync().join().getMaxAgeSeconds());

    assertEquals(0L, client.importWorkflows(List.of()).getImported());
    BatonException bad = asyncFailure(client.importWorkflowsAsync(List.of("{\"not\": \"an archive line\"}")));
    assertEquals(Status.Code.INVALID_ARGUMENT, bad.code());
    assertTrue(bad.getMessage().contains("line 1"), bad.getMessage());
  }

  @Test
  void tasksCanBePolledLeasedLoggedAndCompletedByHand() {
    client.registerTaskDef(Defs.taskDef("k_polled", 0, 0, 30));
    client.registerWorkflowDef(Defs.oneTask("k_poll", "k_polled"));
    assertEquals(Optional.empty(), client.pollTask("k_polled", "poller", Duration.ofMillis(50)));

    String id = client.startWorkflow("k_poll", Map.of("text", "one"));
    List<io.baton.v1.QueueInfo> queues =
        eventually(() -> client.listQueues("k_polled"), q -> !q.isEmpty() && q.get(0).getDepth() == 1);
    assertEquals("k_polled", queues.get(0).getTaskType());
    assertTrue(client.listQueuesAsync(null).join().stream().anyMatch(q -> q.getTaskType().equals("k_polled")));

    TaskAssignment task = client.pollTask("k_polled", "poller", WAIT).orElseThrow();
    assertEquals(id, task.getWorkflowId());
    assertEquals("one", task.getInput().getFieldsOrThrow("text").getStringValue());
    Instant lease = client.extendLease(task);
    assertTrue(lease.isAfter(Instant.now()), lease.toString());
    assertTrue(
        client.extendLeaseAsync(task.getTaskId(), task.getToken(), task.getWorkflowId()).join().isAfter(Instant.now()));
    client.addTaskLogs(task.getTaskId(), List.of("first"));
    client.addTaskLogsAsync(task.getTaskId(), List.of("second")).join();
    assertEquals(
        List.of("first", "second"),
        client.getTaskLogsAsync(task.getTaskId()).join().stream().map(TaskLogLine::message).toList());
    assertEquals(TaskStatus.TASK_STATUS_IN_PROGRESS, client.getTaskAsync(task.getTaskId()).join().status());
    assertTrue(
        eventually(() -> client.listWorkers("k_polled"), w -> !w.isEmpty()).stream()
            .anyMatch(w -> w.getWorkerId().equals("poller")));
    assertTrue(
        client.listWorkersAsync(null).join().stream().anyMatch(w -> w.getWorkerId().equals("poller")));
    client.completeTask(task, Map.of("n", 1));
    WorkflowExecution done = client.awaitWorkflow(id, WAIT);
    assertTrue(done.isCompleted(), done.reasonForIncompletion());
    assertEquals(Map.of("n", 1L), done.output().get("result"));

    // Async: batch poll two tasks, complete them with updateTaskAsync.
    String x = client.startWorkflow("k_poll", Map.of("text", "x"));
    String y = client.startWorkflow("k_poll", Map.of("text", "y"));
    eventually(() -> client.listQueues("k_polled"), q -> !q.isEmpty() && q.get(0).getDepth() == 2);
    List<TaskAssignment> batch = client.batchPollTasksAsync("k_polled", null, "poller", 5, WAIT).join();
    assertEquals(2, batch.size());
    for (TaskAssignment t : batch) {
      client
          .updateTaskAsync(
              io.baton.v1.TaskResult.newBuilder()
                  .setTaskId(t.getTaskId())
                  .setToken(t.getToken())
                  .setWorkflowId(t.getWorkflowId())
                  .setStatus(TaskStatus.TASK_STATUS_COMPLETED)
                  .build())
          .join();
    }
    assertTrue(client.awaitWorkflow(x, WAIT).isCompleted());
    assertTrue(client.awaitWorkflow(y, WAIT).isCompleted());
    assertEquals(Optional.empty(), client.pollTaskAsync("k_polled", null, "poller", Duration.ZERO).join());
    assertEquals(List.of(), client.batchPollTasks("k_polled", "poller", 2, Duration.ofMillis(20)));
  }

  @Test
  void workflowsRunByNameAndUntilATask() {
    client.registerTaskDef(Defs.taskDef("k_exec", 0, 0, 30));
    client.registerWorkflowDef(Defs.oneTask("k_exec_wf", "k_exec"));
    Map<String, Object> two =
        Defs.workflow(
            "k_exec_then_wait",
            List.of(Defs.simple("k_exec", "first", Map.of("text", "${workflow.input.text}")), waitTask("hold")),
            Map.of());
    client.registerWorkflowDef(two);
    try (Worker w =
        Worker.builder()
            .target(server.target())
            .environment(Map.of())
            .task("k_exec", task -> Map.of("echo", task.input("text")))
            .build()
            .start()) {
      WorkflowExecution done = client.executeWorkflow("k_exec_wf", Map.of("text", "hi"), WAIT);
      assertTrue(done.isCompleted(), done.reasonForIncompletion());
      assertEquals(Map.of("echo", "hi"), done.output().get("result"));
      WorkflowExecution viaAsync = client.executeWorkflowAsync("k_exec_wf", Map.of("text", "yo"), WAIT).join();
      assertEquals(Map.of("echo", "yo"), viaAsync.output().get("result"));

      WorkflowExecution untilFirst =
          client.executeWorkflow(StartWorkflow.of("k_exec_then_wait", Map.of("text", "a")), WAIT, "first");
      assertEquals(WorkflowStatus.WORKFLOW_STATUS_RUNNING, untilFirst.status());
      assertEquals(TaskStatus.TASK_STATUS_COMPLETED, untilFirst.task("first").get().status());
      WorkflowExecution untilFirstAsync =
          client
              .executeWorkflowAsync(StartWorkflow.of("k_exec_then_wait", Map.of("text", "b")), WAIT, "first")
              .join();
      assertEquals(WorkflowStatus.WORKFLOW_STATUS_RUNNING, untilFirstAsync.status());
      client.runBulkOperation(
          BulkOperation.BULK_OPERATION_TERMINATE,
          List.of(untilFirst.workflowId(), untilFirstAsync.workflowId()),
          "done",
          false);
    }
  }

  @Test
  void anExecutionWithAnIdempotencyKeyIsWaitedOnByTheServer() {
    waitWorkflow("k_attach", "w");
    StartWorkflow start =
        StartWorkflow.builder("k_attach")
            .input(Map.of())
            .idempotencyKey("k-attach-1", StartWorkflow.Idempotency.RETURN_EXISTING)
            .build();
    String id = client.startWorkflow(start);
    // The same start with RETURN_EXISTING names the running execution: the server waits on it.
    java.util.concurrent.CompletableFuture<WorkflowExecution> waiting = client.executeWorkflowAsync(start, WAIT);
    eventually(() -> client.getWorkflow(id), wf -> wf.task("w").isPresent());
    client.updateTaskByRef(id, "w", TaskStatus.TASK_STATUS_COMPLETED, null);
    WorkflowExecution done = waiting.join();
    assertEquals(id, done.workflowId());
    assertEquals(WorkflowStatus.WORKFLOW_STATUS_COMPLETED, done.status());
  }

  @Test
  void awaitWorkflowTimesOutWithDeadlineExceeded() {
    waitWorkflow("k_await", "w");
    String id = client.startWorkflow("k_await", Map.of());
    BatonException e = asyncFailure(client.awaitWorkflowAsync(id, Duration.ofMillis(200)));
    assertEquals(Status.Code.DEADLINE_EXCEEDED, e.code());
    assertEquals(
        Status.Code.DEADLINE_EXCEEDED, failure(() -> client.awaitWorkflow(id, Duration.ofMillis(100))).code());
    assertEquals(Status.Code.NOT_FOUND, asyncFailure(client.awaitWorkflowAsync("missing", WAIT)).code());
    client.terminateWorkflow(id, "done");
  }

  @Test
  void theOverviewCountsWhatTheServerDid() {
    waitWorkflow("k_overview", "w");
    String id = client.startWorkflow("k_overview", Map.of());
    client.terminateWorkflow(id, "to count");
    GetOverviewResponse o = client.getOverview(5);
    assertTrue(o.getWorkflowsStarted() >= 1, o.toString());
    assertTrue(o.hasServerTime());
    GetOverviewResponse async = client.getOverviewAsync(0).join();
    assertTrue(async.getWorkflowsStarted() >= o.getWorkflowsStarted());
  }

  /**
   * The metrics history of a server of its own (so its counts are exactly what the test ran):
   * two workflows completed by a worker show up in the samples once the sampler has taken them,
   * ten seconds after the server started at the earliest.
   */
  @Test
  void theMetricsHistoryCountsWhatTheServerDid() throws Exception {
    try (TestServer own = TestServer.start();
        BatonClient c = BatonClient.connect(own.target())) {
      c.registerTaskDef(Defs.taskDef("k_hist_task", 0, 0, 30));
      c.registerWorkflowDef(Defs.oneTask("k_hist", "k_hist_task"));
      try (Worker w =
          Worker.builder()
              .target(own.target())
              .workerId("java-test-worker-history")
              .environment(Map.of())
              .task("k_hist_task", task -> Map.of("ok", true))
              .build()
              .start()) {
        for (int i = 0; i < 2; i++) {
          WorkflowExecution wf = c.executeWorkflow(StartWorkflow.of("k_hist", Map.of()), WAIT);
          assertEquals(WorkflowStatus.WORKFLOW_STATUS_COMPLETED, wf.status(), wf.reasonForIncompletion());
        }
        // The first sample comes ten seconds after the server started; the workflows may fall
        // in the one after.
        long deadline = System.nanoTime() + Duration.ofSeconds(45).toNanos();
        MetricsHistory h = c.getMetricsHistory(0);
        while (h.samples().stream().mapToLong(MetricsSample::workflowsCompleted).sum() < 2) {
          if (System.nanoTime() > deadline) {
            throw new AssertionError("the completed workflows never showed in the history: " + h);
          }
          java.util.concurrent.locks.LockSupport.parkNanos(200_000_000L);
          h = c.getMetricsHistory(0);
        }

        assertEquals(Duration.ofSeconds(10), h.sampleEvery());
        assertTrue(h.serverTime() instanceof Instant);
        List<MetricsSample> samples = h.samples();
        assertEquals(2, samples.stream().mapToLong(MetricsSample::workflowsStarted).sum(), h.toString());
        assertEquals(2, samples.stream().mapToLong(MetricsSample::workflowsCompleted).sum(), h.toString());
        assertEquals(0, samples.stream().mapToLong(MetricsSample::workflowsFailed).sum(), h.toString());
        assertEquals(0, samples.stream().mapToLong(MetricsSample::workflowsTerminated).sum(), h.toString());
        assertEquals(2, samples.stream().mapToLong(MetricsSample::tasksCompleted).sum(), h.toString());
        assertEquals(0, samples.stream().mapToLong(MetricsSample::tasksFailed).sum(), h.toString());
        // Both worker tasks waited in their queue and ran.
        assertEquals(2, samples.stream().mapToLong(s -> s.queueWait().count()).sum(), h.toString());
        assertEquals(2, samples.stream().mapToLong(s -> s.runTime().count()).sum(), h.toString());
        Instant previous = null;
        for (MetricsSample s : samples) {
          assertTrue(s.at() instanceof Instant);
          assertTrue(!s.at().isAfter(h.serverTime()), s.toString());
          if (previous != null) {
            assertTrue(s.at().isAfter(previous), "oldest first: " + h);
          }
          previous = s.at();
          assertTrue(s.interval().compareTo(Duration.ZERO) > 0, s.toString());
          assertTrue(s.interval().compareTo(h.sampleEvery().multipliedBy(2)) < 0, s.toString());
          for (LatencyQuantiles q : List.of(s.queueWait(), s.runTime())) {
            assertTrue(q.count() >= 0 && q.p50Ms() >= 0, s.toString());
            assertTrue(q.p50Ms() <= q.p99Ms() && q.p99Ms() <= q.maxMs(), s.toString());
          }
          assertTrue(s.queueDepth() >= 0 && s.workers() >= 0, s.toString());
        }
        // The latest sample was taken after both tasks ran, with the worker subscribed.
        MetricsSample last = samples.get(samples.size() - 1);
        assertEquals(0, last.queueDepth(), h.toString());
        assertEquals(1, last.workers(), h.toString());

        // The last minute only, in the async form.
        MetricsHistory minute = c.getMetricsHistoryAsync(1).join();
        assertFalse(minute.samples().isEmpty());
        for (MetricsSample s : minute.samples()) {
          assertTrue(!s.at().isBefore(minute.serverTime().minusSeconds(60)), s.toString());
        }
      }

      for (int minutes : new int[] {-1, 61}) {
        BatonException e = failure(() -> c.getMetricsHistory(minutes));
        assertTrue(e.isInvalidArgument(), e.toString());
        assertTrue(e.getMessage().contains("minutes"), e.getMessage());
        BatonException async = asyncFailure(c.getMetricsHistoryAsync(minutes));
        assertEquals(Status.Code.INVALID_ARGUMENT, async.code());
        assertTrue(async.getMessage().contains("minutes"), async.getMessage());
      }
    }
  }
}
