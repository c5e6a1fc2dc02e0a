package io.baton.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.baton.sdk.worker.TerminalException;
import io.baton.sdk.worker.Worker;
import io.baton.v1.TaskStatus;
import io.baton.v1.WorkflowStatus;
import io.grpc.Status;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

/** The client's operations against a real {@code baton server}. */
class ClientIntegrationTest extends ServerTest {
  private static final Duration WAIT = Duration.ofSeconds(30);

  @Test
  void definitionsCanBeRegisteredReadAndListed() {
    StoredDefinition td =
        client.registerTaskDefs(
                "[{\"name\":\"c_json_task\",\"retryCount\":1,\"retryDelaySeconds\":0,"
                    + "\"responseTimeoutSeconds\":10,\"description\":\"from text\"}]")
            .get(0);
    assertEquals("c_json_task", td.name());
    assertEquals(1L, td.definition().get("retryCount"));
    assertEquals("from text", client.getTaskDef("c_json_task").description());
    assertTrue(client.listTaskDefs().stream().anyMatch(d -> d.name().equals("c_json_task")));

    Map<String, Object> wf = Defs.oneTask("c_defs", "c_json_task");
    StoredDefinition stored = client.registerWorkflowDef(wf);
    assertEquals("c_defs", stored.name());
    assertEquals(1, stored.version());
    BatonException dup = assertThrows(BatonException.class, () -> client.registerWorkflowDef(wf));
    assertEquals(Status.Code.ALREADY_EXISTS, dup.code());

    // Version 2 as JSON text.
    Map<String, Object> wf2 = new java.util.LinkedHashMap<>(wf);
    wf2.put("version", 2);
    wf2.put("description", "second");
    client.registerWorkflowDef(io.baton.sdk.internal.Json.write(wf2));
    assertEquals(2, client.getWorkflowDef("c_defs").version());
    assertEquals("second", client.getWorkflowDef("c_defs", 2).description());
    assertEquals(1, client.getWorkflowDef("c_defs", 1).version());
    assertTrue(
        client.listWorkflowDefs(true).stream()
                .filter(d -> d.name().equals("c_defs"))
                .count()
            >= 2);

    BatonException missing = assertThrows(BatonException.class, () -> client.getWorkflowDef("c_nope"));
    assertEquals(Status.Code.NOT_FOUND, missing.code());
    assertTrue(missing.isNotFound());

    List<ValidationProblem> problems =
        client.validateWorkflowDef(Map.of("name", "c_bad", "version", 1, "tasks", List.of(Map.of("type", "SIMPLE"))));
    assertFalse(problems.isEmpty());
    assertTrue(client.validateWorkflowDef(wf).isEmpty());
  }

  @Test
  void startOptionsAndIdempotency() {
    client.registerTaskDef(Defs.taskDef("c_gate", 0, 0, 30)); // no worker: tasks stay scheduled
    client.registerWorkflowDef(Defs.oneTask("c_start", "c_gate"));
    String id =
        client.startWorkflow(
            StartWorkflow.builder("c_start")
                .input(Map.of("text", "x"))
                .correlationId("corr-1")
                .priority(42)
                .idempotencyKey("key-1", StartWorkflow.Idempotency.RETURN_EXISTING)
                .build());
    WorkflowExecution wf = client.getWorkflow(id);
    assertEquals(WorkflowStatus.WORKFLOW_STATUS_RUNNING, wf.status());
    assertEquals("corr-1", wf.correlationId());
    assertEquals(42, wf.priority());
    assertEquals(Map.of("text", "x"), wf.input());
    assertEquals("key-1", wf.proto().getIdempotencyKey());
    assertEquals(TaskStatus.TASK_STATUS_SCHEDULED, wf.task("t").orElseThrow().status());

    String again =
        client.startWorkflow(
            StartWorkflow.builder("c_start")
                .idempotencyKey("key-1", StartWorkflow.Idempotency.RETURN_EXISTING)
                .build());
    assertEquals(id, again);
    BatonException refused =
        assertThrows(
            BatonException.class,
            () ->
                client.startWorkflow(
                    StartWorkflow.builder("c_start")
                        .idempotencyKey("key-1", StartWorkflow.Idempotency.FAIL)
                        .build()));
    assertEquals(Status.Code.ALREADY_EXISTS, refused.code());

    List<WorkflowExecution> byCorr = client.getWorkflowsByCorrelationId("c_start", "corr-1", true, false);
    assertEquals(List.of(id), byCorr.stream().map(WorkflowExecution::workflowId).toList());

    BatonException unknown = assertThrows(BatonException.class, () -> client.getWorkflow("no-such-id"));
    assertEquals(Status.Code.NOT_FOUND, unknown.code());
    client.terminateWorkflow(id, "cleanup");
  }

  @Test
  void pauseResumeTerminateRestart() {
    client.registerTaskDef(Defs.taskDef("c_hold", 0, 0, 30));
    client.registerWorkflowDef(Defs.oneTask("c_steer", "c_hold"));
    String id = client.startWorkflow("c_steer", Map.of());

    client.pauseWorkflow(id);
    assertEquals(WorkflowStatus.WORKFLOW_STATUS_PAUSED, client.getWorkflow(id, false).status());
    client.resumeWorkflow(id);
    assertEquals(WorkflowStatus.WORKFLOW_STATUS_RUNNING, client.getWorkflow(id, false).status());

    client.terminateWorkflow(id, "operator said so");
    WorkflowExecution terminated = client.getWorkflow(id);
    assertEquals(WorkflowStatus.WORKFLOW_STATUS_TERMINATED, terminated.status());
    assertEquals("operator said so", terminated.reasonForIncompletion());
    assertTrue(terminated.isTerminal());
    assertEquals(TaskStatus.TASK_STATUS_CANCELED, terminated.tasks().get(0).status());

    // Restart runs it again from the start, under the same id; a worker completes it.
    client.restartWorkflow(id, false);
    assertEquals(WorkflowStatus.WORKFLOW_STATUS_RUNNING, client.getWorkflow(id, false).status());
    try (Worker w =
        Worker.builder()
            .target(server.target())
            .environment(Map.of())
            .task("c_hold", task -> Map.of("ok", true))
            .build()
            .start()) {
      WorkflowExecution done = client.awaitWorkflow(id, WAIT);
      assertEquals(WorkflowStatus.WORKFLOW_STATUS_COMPLETED, done.status(), done.reasonForIncompletion());
      assertEquals(Map.of("ok", true), done.output().get("result"));
    }
  }

  @Test
  void retryResumesAFailedWorkflow() {
    client.registerTaskDef(Defs.taskDef("c_once", 0, 0, 30));
    client.registerWorkflowDef(Defs.oneTask("c_retry", "c_once"));
    Set<String> failedOnce = ConcurrentHashMap.newKeySet();
    try (Worker w =
        Worker.builder()
            .target(server.target())
            .environment(Map.of())
            .task(
                "c_once",
                task -> {
                  if (failedOnce.add(task.workflowId())) {
                    throw new TerminalException("first time fails");
                  }
                  return Map.of("second", true);
                })
            .build()
            .start()) {
      WorkflowExecution failed = client.executeWorkflow(StartWorkflow.of("c_retry", Map.of()), WAIT);
      assertEquals(WorkflowStatus.WORKFLOW_STATUS_FAILED, failed.status());
      assertEquals("t", failed.failedReferenceTaskName());
      client.retryWorkflow(failed.workflowId());
      WorkflowExecution done = client.awaitWorkflow(failed.workflowId(), WAIT);
      assertEquals(WorkflowStatus.WORKFLOW_STATUS_COMPLETED, done.status(), done.reasonForIncompletion());
      assertEquals(2, done.tasks().size());
      assertNotEquals(done.tasks().get(0).taskId(), done.tasks().get(1).taskId());
    }
  }

  @Test
  void asyncVariantsAndErrors() {
    client.registerTaskDef(Defs.taskDef("c_async", 0, 0, 30));
    client.registerWorkflowDefAsync(Defs.oneTask("c_async_wf", "c_async")).join();
    try (Worker w =
        Worker.builder()
            .target(server.target())
            .environment(Map.of())
            .task("c_async", task -> Map.of("echo", task.input("text")))
            .build()
            .start()) {
      List<CompletableFuture<WorkflowExecution>> runs =
          java.util.stream.IntStream.range(0, 5)
              .mapToObj(
                  i ->
                      client.executeWorkflowAsync(
                          StartWorkflow.of("c_async_wf", Map.of("text", "m" + i)), WAIT))
              .toList();
      for (int i = 0; i < runs.size(); i++) {
        WorkflowExecution wf = runs.get(i).join();
        assertTrue(wf.isCompleted(), wf.reasonForIncompletion());
        assertEquals(Map.of("echo", "m" + i), wf.output().get("result"));
      }
      String id = client.startWorkflowAsync(StartWorkflow.of("c_async_wf", Map.of("text", "z"))).join();
      assertEquals(id, client.awaitWorkflow(id, WAIT).workflowId());
    }
    CompletionException e =
        assertThrows(
            CompletionException.class, () -> client.getWorkflowAsync("missing", false).join());
    assertTrue(e.getCause() instanceof BatonException);
    assertEquals(Status.Code.NOT_FOUND, ((BatonException) e.getCause()).code());
    BatonException noServer;
    try (BatonClient dead = BatonClient.builder().target("127.0.0.1:1").callTimeout(Duration.ofSeconds(2)).build()) {
      noServer = assertThrows(BatonException.class, () -> dead.getWorkflow("x"));
    }
    assertEquals(Status.Code.UNAVAILABLE, noServer.code());
    assertTrue(noServer.getMessage().contains("127.0.0.1:1"), noServer.getMessage());
    System.err.println("refused connection: " + noServer.getMessage());
  }
}
