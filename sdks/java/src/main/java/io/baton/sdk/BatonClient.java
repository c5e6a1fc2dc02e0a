package io.baton.sdk;

import io.baton.sdk.internal.Channels;
import io.baton.sdk.internal.Json;
import io.baton.v1.BackfillScheduleRequest;
import io.baton.v1.BulkPauseSchedulesRequest;
import io.baton.v1.DeleteScheduleRequest;
import io.baton.v1.DeleteTaskDefRequest;
import io.baton.v1.DeleteWorkflowDefRequest;
import io.baton.v1.ExecuteWorkflowRequest;
import io.baton.v1.GetScheduleHistoryRequest;
import io.baton.v1.GetScheduleRequest;
import io.baton.v1.GetTaskDefRequest;
import io.baton.v1.GetTaskLogsRequest;
import io.baton.v1.GetTaskRequest;
import io.baton.v1.GetWorkflowDefRequest;
import io.baton.v1.GetWorkflowRequest;
import io.baton.v1.GetWorkflowsByCorrelationIdRequest;
import io.baton.v1.ListSchedulesRequest;
import io.baton.v1.ListTaskDefsRequest;
import io.baton.v1.ListWorkflowDefsRequest;
import io.baton.v1.MetadataServiceGrpc;
import io.baton.v1.PauseScheduleRequest;
import io.baton.v1.PauseWorkflowRequest;
import io.baton.v1.RegisterTaskDefsRequest;
import io.baton.v1.RegisterWorkflowDefRequest;
import io.baton.v1.RemoveWorkflowRequest;
import io.baton.v1.RestartWorkflowRequest;
import io.baton.v1.ResumeScheduleRequest;
import io.baton.v1.ResumeWorkflowRequest;
import io.baton.v1.RetryWorkflowRequest;
import io.baton.v1.SaveScheduleRequest;
import io.baton.v1.ScheduleServiceGrpc;
import io.baton.v1.TaskServiceGrpc;
import io.baton.v1.TerminateWorkflowRequest;
import io.baton.v1.TriggerScheduleRequest;
import io.baton.v1.UpdateWorkflowDefRequest;
import io.baton.v1.ValidateWorkflowDefRequest;
import io.baton.v1.WorkflowServiceGrpc;
import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * Client for Baton's metadata, workflow and schedule services: registers definitions, starts and
 * steers workflow executions, reads their state, saves and steers schedules.
 *
 * <p>Every operation has a blocking form and an {@code ...Async} form returning a {@link
 * CompletableFuture}. Failures surface as {@link BatonException} (thrown, or completing the
 * future exceptionally) carrying the gRPC status code.
 *
 * <pre>{@code
 * try (BatonClient client = BatonClient.connect("127.0.0.1:7070")) {
 *   client.registerTaskDef(Map.of("name", "count_letters", "retryCount", 2));
 *   String id = client.startWorkflow(StartWorkflow.of("letters", Map.of("text", "hello")));
 *   WorkflowExecution wf = client.getWorkflow(id);
 * }
 * }</pre>
 *
 * <p>A client is thread-safe; share one per process.
 */
public final class BatonClient implements AutoCloseable {
  private final Channel channel;
  private final ManagedChannel owned;
  private final Duration callTimeout;
  private final MetadataServiceGrpc.MetadataServiceStub metadata;
  private final WorkflowServiceGrpc.WorkflowServiceStub workflows;
  private final TaskServiceGrpc.TaskServiceStub tasks;
  private final ScheduleServiceGrpc.ScheduleServiceStub schedules;

  private BatonClient(Channel channel, ManagedChannel owned, Duration callTimeout) {
    this.channel = channel;
    this.owned = owned;
    this.callTimeout = callTimeout;
    this.metadata = MetadataServiceGrpc.newStub(channel);
    this.workflows = WorkflowServiceGrpc.newStub(channel);
    this.tasks = TaskServiceGrpc.newStub(channel);
    this.schedules = ScheduleServiceGrpc.newStub(channel);
  }

  /**
   * Connects to the server named by {@code BATON_SERVER} (default {@code 127.0.0.1:7070}).
   *
   * @return the client
   */
  public static BatonClient connect() {
    return builder().build();
  }

  /**
   * Connects to a server.
   *
   * @param target {@code host:port}
   * @return the client
   */
  public static BatonClient connect(String target) {
    return builder().target(target).build();
  }

  /** @return a builder for a client with non-default settings */
  public static Builder builder() {
    return new Builder();
  }

  /** Builder of {@link BatonClient}. */
  public static final class Builder {
    private String target;
    private Channel channel;
    private Duration callTimeout = Duration.ofSeconds(30);

    private Builder() {}

    /**
     * Sets the server address; the client opens and owns its channel.
     *
     * @param target {@code host:port}
     * @return this builder
     */
    public Builder target(String target) {
      this.target = target;
      return this;
    }

    /**
     * Uses an existing channel, which the client does not close.
     *
     * @param channel the channel
     * @return this builder
     */
    public Builder channel(Channel channel) {
      this.channel = channel;
      return this;
    }

    /**
     * Sets the deadline of each call (ExecuteWorkflow adds its wait on top). Default 30 s.
     *
     * @param timeout the deadline
     * @return this builder
     */
    public Builder callTimeout(Duration timeout) {
      this.callTimeout = Objects.requireNonNull(timeout);
      return this;
    }

    /** @return the client */
    public BatonClient build() {
      if (channel != null) {
        return new BatonClient(channel, null, callTimeout);
      }
      String t = target != null ? target : Channels.targetFromEnv(System.getenv());
      ManagedChannel ch = Channels.open(t);
      return new BatonClient(ch, ch, callTimeout);
    }
  }

  /** @return the channel the client talks over */
  public Channel channel() {
    return channel;
  }

  /** Closes the channel if the client opened it. */
  @Override
  public void close() {
    if (owned != null) {
      Channels.close(owned);
    }
  }

  // ----------------------------------------------------------------------------- definitions

  /**
   * Registers a new workflow definition version.
   *
   * @param definition the definition as a map (Conductor JSON DSL)
   * @return the stored definition
   * @throws BatonException ALREADY_EXISTS when that name and version exist; INVALID_ARGUMENT
   *     when the definition is invalid
   */
  public StoredDefinition registerWorkflowDef(Map<String, ?> definition) {
    return await(registerWorkflowDefAsync(definition));
  }

  /**
   * Registers a new workflow definition version given as JSON text.
   *
   * @param json the definition as JSON text
   * @return the stored definition
   */
  public StoredDefinition registerWorkflowDef(String json) {
    return await(registerWorkflowDefAsync(json));
  }

  /**
   * Async form of {@link #registerWorkflowDef(Map)}.
   *
   * @param definition the definition
   * @return the stored definition, eventually
   */
  public CompletableFuture<StoredDefinition> registerWorkflowDefAsync(Map<String, ?> definition) {
    return registerWorkflowDef(Defs.of(definition));
  }

  /**
   * Async form of {@link #registerWorkflowDef(String)}.
   *
   * @param json the definition as JSON text
   * @return the stored definition, eventually
   */
  public CompletableFuture<StoredDefinition> registerWorkflowDefAsync(String json) {
    return registerWorkflowDef(Defs.of(json));
  }

  private CompletableFuture<StoredDefinition> registerWorkflowDef(io.baton.v1.Definition d) {
    return call(
        metadata()::registerWorkflowDef,
        RegisterWorkflowDefRequest.newBuilder().setDefinition(d).build(),
        r -> StoredDefinition.from(r.getWorkflowDef()));
  }

  /**
   * Creates or replaces workflow definitions.
   *
   * @param definitions the definitions as maps
   * @return the stored definitions, in order
   */
  public List<StoredDefinition> updateWorkflowDefs(List<? extends Map<String, ?>> definitions) {
    return await(updateWorkflowDefsAsync(definitions));
  }

  /**
   * Creates or replaces workflow definitions given as JSON text (one object or an array).
   *
   * @param json the definitions
   * @return the stored definitions, in order
   */
  public List<StoredDefinition> updateWorkflowDefs(String json) {
    return await(updateWorkflowDefsAsync(json));
  }

  /**
   * Async form of {@link #updateWorkflowDefs(List)}.
   *
   * @param definitions the definitions
   * @return the stored definitions, eventually
   */
  public CompletableFuture<List<StoredDefinition>> updateWorkflowDefsAsync(
      List<? extends Map<String, ?>> definitions) {
    UpdateWorkflowDefRequest.Builder b = UpdateWorkflowDefRequest.newBuilder();
    definitions.forEach(d -> b.addDefinitions(Defs.of(d)));
    return updateWorkflowDefs(b.build());
  }

  /**
   * Async form of {@link #updateWorkflowDefs(String)}.
   *
   * @param json the definitions
   * @return the stored definitions, eventually
   */
  public CompletableFuture<List<StoredDefinition>> updateWorkflowDefsAsync(String json) {
    return updateWorkflowDefs(UpdateWorkflowDefRequest.newBuilder().addDefinitions(Defs.of(json)).build());
  }

  private CompletableFuture<List<StoredDefinition>> updateWorkflowDefs(UpdateWorkflowDefRequest req) {
    return call(
        metadata()::updateWorkflowDef,
        req,
        r -> r.getWorkflowDefsList().stream().map(StoredDefinition::from).toList());
  }

  /**
   * Reads the latest version of a workflow definition.
   *
   * @param name the name
   * @return the definition
   * @throws BatonException NOT_FOUND when there is none
   */
  public StoredDefinition getWorkflowDef(String name) {
    return await(getWorkflowDefAsync(name, 0));
  }

  /**
   * Reads one version of a workflow definition.
   *
   * @param name the name
   * @param version the version; 0 for the latest
   * @return the definition
   */
  public StoredDefinition getWorkflowDef(String name, int version) {
    return await(getWorkflowDefAsync(name, version));
  }

  /**
   * Async form of {@link #getWorkflowDef(String, int)}.
   *
   * @param name the name
   * @param version the version; 0 for the latest
   * @return the definition, eventually
   */
  public CompletableFuture<StoredDefinition> getWorkflowDefAsync(String name, int version) {
    GetWorkflowDefRequest.Builder b = GetWorkflowDefRequest.newBuilder().setName(name);
    if (version > 0) {
      b.setVersion(version);
    }
    return call(metadata()::getWorkflowDef, b.build(), r -> StoredDefinition.from(r.getWorkflowDef()));
  }

  /**
   * Lists workflow definitions.
   *
   * @param allVersions every version instead of the latest of each name
   * @return the definitions, by name then version
   */
  public List<StoredDefinition> listWorkflowDefs(boolean allVersions) {
    return await(
        call(
            metadata()::listWorkflowDefs,
            ListWorkflowDefsRequest.newBuilder().setAllVersions(allVersions).build(),
            r -> r.getWorkflowDefsList().stream().map(StoredDefinition::from).toList()));
  }

  /**
   * Deletes one version of a workflow definition.
   *
   * @param name the name
   * @param version the version
   */
  public void deleteWorkflowDef(String name, int version) {
    await(
        call(
            metadata()::deleteWorkflowDef,
            DeleteWorkflowDefRequest.newBuilder().setName(name).setVersion(version).build(),
            r -> null));
  }

  /**
   * Checks a workflow definition without storing it.
   *
   * @param definition the definition
   * @return every problem found; empty when valid
   */
  public List<ValidationProblem> validateWorkflowDef(Map<String, ?> definition) {
    return await(
        call(
            metadata()::validateWorkflowDef,
            ValidateWorkflowDefRequest.newBuilder().setDefinition(Defs.of(definition)).build(),
            r ->
                r.getErrorsList().stream()
                    .map(e -> new ValidationProblem(e.getPath(), e.getMessage()))
                    .toList()));
  }

  /**
   * Creates or replaces one task definition.
   *
   * @param definition the task definition as a map
   * @return the stored definition
   */
  public StoredDefinition registerTaskDef(Map<String, ?> definition) {
    return registerTaskDefs(List.of(definition)).get(0);
  }

  /**
   * Creates or replaces task definitions.
   *
   * @param definitions the definitions as maps
   * @return the stored definitions, in order
   */
  public List<StoredDefinition> registerTaskDefs(List<? extends Map<String, ?>> definitions) {
    return await(registerTaskDefsAsync(definitions));
  }

  /**
   * Creates or replaces task definitions given as JSON text (one object or an array).
   *
   * @param json the definitions
   * @return the stored definitions, in order
   */
  public List<StoredDefinition> registerTaskDefs(String json) {
    return await(registerTaskDefsAsync(json));
  }

  /**
   * Async form of {@link #registerTaskDefs(List)}.
   *
   * @param definitions the definitions
   * @return the stored definitions, eventually
   */
  public CompletableFuture<List<StoredDefinition>> registerTaskDefsAsync(
      List<? extends Map<String, ?>> definitions) {
    RegisterTaskDefsRequest.Builder b = RegisterTaskDefsRequest.newBuilder();
    definitions.forEach(d -> b.addDefinitions(Defs.of(d)));
    return registerTaskDefs(b.build());
  }

  /**
   * Async form of {@link #registerTaskDefs(String)}.
   *
   * @param json the definitions
   * @return the stored definitions, eventually
   */
  public CompletableFuture<List<StoredDefinition>> registerTaskDefsAsync(String json) {
    return registerTaskDefs(RegisterTaskDefsRequest.newBuilder().addDefinitions(Defs.of(json)).build());
  }

  private CompletableFuture<List<StoredDefinition>> registerTaskDefs(RegisterTaskDefsRequest req) {
    return call(
        metadata()::registerTaskDefs,
        req,
        r -> r.getTaskDefsList().stream().map(StoredDefinition::from).toList());
  }

  /**
   * Reads a task definition.
   *
   * @param name the name
   * @return the definition
   */
  public StoredDefinition getTaskDef(String name) {
    return await(
        call(
            metadata()::getTaskDef,
            GetTaskDefRequest.newBuilder().setName(name).build(),
            r -> StoredDefinition.from(r.getTaskDef())));
  }

  /** @return every task definition, by name */
  public List<StoredDefinition> listTaskDefs() {
    return await(
        call(
            metadata()::listTaskDefs,
            ListTaskDefsRequest.getDefaultInstance(),
            r -> r.getTaskDefsList().stream().map(StoredDefinition::from).toList()));
  }

  /**
   * Deletes a task definition.
   *
   * @param name the name
   */
  public void deleteTaskDef(String name) {
    await(call(metadata()::deleteTaskDef, DeleteTaskDefRequest.newBuilder().setName(name).build(), r -> null));
  }

  // ------------------------------------------------------------------------------- workflows

  /**
   * Starts a workflow execution and returns its id once the start is durable.
   *
   * @param start how to start it
   * @return the workflow id
   */
  public String startWorkflow(StartWorkflow start) {
    return await(startWorkflowAsync(start));
  }

  /**
   * Starts the latest version of a workflow with an input.
   *
   * @param name the workflow definition name
   * @param input the input (a map or a bean)
   * @return the workflow id
   */
  public String startWorkflow(String name, Object input) {
    return startWorkflow(StartWorkflow.of(name, input));
  }

  /**
   * Async form of {@link #startWorkflow(StartWorkflow)}.
   *
   * @param start how to start it
   * @return the workflow id, eventually
   */
  public CompletableFuture<String> startWorkflowAsync(StartWorkflow start) {
    return call(workflows()::startWorkflow, start.toProto(), r -> r.getWorkflowId());
  }

  /**
   * Starts a workflow and waits until it reaches a terminal status or the wait runs out.
   *
   * @param start how to start it
   * @param wait how long to wait (the server caps it at 300 s)
   * @return the execution as it stood when the call returned, with its tasks; check {@link
   *     WorkflowExecution#isTerminal()}
   */
  public WorkflowExecution executeWorkflow(StartWorkflow start, Duration wait) {
    return await(executeWorkflowAsync(start, wait));
  }

  /**
   * Async form of {@link #executeWorkflow(StartWorkflow, Duration)}.
   *
   * @param start how to start it
   * @param wait how long to wait
   * @return the execution, eventually
   */
  public CompletableFuture<WorkflowExecution> executeWorkflowAsync(StartWorkflow start, Duration wait) {
    int seconds = (int) Math.max(1, Math.min(300, wait.toSeconds()));
    ExecuteWorkflowRequest req =
        ExecuteWorkflowRequest.newBuilder().setStart(start.toProto()).setWaitSeconds(seconds).build();
    WorkflowServiceGrpc.WorkflowServiceStub stub =
        workflows.withDeadlineAfter(callTimeout.toMillis() + seconds * 1000L, TimeUnit.MILLISECONDS);
    return call(stub::executeWorkflow, req, r -> WorkflowExecution.from(r.getWorkflow()));
  }

  /**
   * Reads an execution with its tasks.
   *
   * @param workflowId the id
   * @return the execution
   * @throws BatonException NOT_FOUND for an unknown id
   */
  public WorkflowExecution getWorkflow(String workflowId) {
    return getWorkflow(workflowId, true);
  }

  /**
   * Reads an execution.
   *
   * @param workflowId the id
   * @param includeTasks whether to include its task instances
   * @return the execution
   */
  public WorkflowExecution getWorkflow(String workflowId, boolean includeTasks) {
    return await(getWorkflowAsync(workflowId, includeTasks));
  }

  /**
   * Async form of {@link #getWorkflow(String, boolean)}.
   *
   * @param workflowId the id
   * @param includeTasks whether to include its task instances
   * @return the execution, eventually
   */
  public CompletableFuture<WorkflowExecution> getWorkflowAsync(String workflowId, boolean includeTasks) {
    return call(
        workflows()::getWorkflow,
        GetWorkflowRequest.newBuilder().setWorkflowId(workflowId).setIncludeTasks(includeTasks).build(),
        r -> WorkflowExecution.from(r.getWorkflow()));
  }

  /**
   * Polls an execution until it reaches a terminal status.
   *
   * @param workflowId the id
   * @param timeout how long to wait at most
   * @return the terminal execution, with its tasks
   * @throws BatonException DEADLINE_EXCEEDED when it is still running after the timeout
   */
  public WorkflowExecution awaitWorkflow(String workflowId, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    long sleep = 20;
    while (true) {
      WorkflowExecution wf = getWorkflow(workflowId, true);
      if (wf.isTerminal()) {
        return wf;
      }
      if (System.nanoTime() > deadline) {
        throw new BatonException(
            Status.Code.DEADLINE_EXCEEDED,
            "workflow " + workflowId + " still " + wf.status() + " after " + timeout,
            null);
      }
      try {
        Thread.sleep(sleep);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new BatonException(Status.Code.CANCELLED, "interrupted", e);
      }
      sleep = Math.min(500, sleep * 2);
    }
  }

  /**
   * Lists the executions of a workflow that carry a correlation id.
   *
   * @param name the workflow definition name
   * @param correlationId the correlation id
   * @param includeClosed also list terminal executions
   * @param includeTasks include task instances
   * @return the executions, oldest first
   */
  public List<WorkflowExecution> getWorkflowsByCorrelationId(
      String name, String correlationId, boolean includeClosed, boolean includeTasks) {
    return await(
        call(
            workflows()::getWorkflowsByCorrelationId,
            GetWorkflowsByCorrelationIdRequest.newBuilder()
                .setName(name)
                .setCorrelationId(correlationId)
                .setIncludeClosed(includeClosed)
                .setIncludeTasks(includeTasks)
                .build(),
            r -> r.getWorkflowsList().stream().map(WorkflowExecution::from).toList()));
  }

  /**
   * Pauses a running execution: nothing new is scheduled until it is resumed.
   *
   * @param workflowId the id
   */
  public void pauseWorkflow(String workflowId) {
    await(pauseWorkflowAsync(workflowId));
  }

  /**
   * Async form of {@link #pauseWorkflow(String)}.
   *
   * @param workflowId the id
   * @return completes when done
   */
  public CompletableFuture<Void> pauseWorkflowAsync(String workflowId) {
    return call(
        workflows()::pauseWorkflow,
        PauseWorkflowRequest.newBuilder().setWorkflowId(workflowId).build(),
        r -> null);
  }

  /**
   * Resumes a paused execution.
   *
   * @param workflowId the id
   */
  public void resumeWorkflow(String workflowId) {
    await(resumeWorkflowAsync(workflowId));
  }

  /**
   * Async form of {@link #resumeWorkflow(String)}.
   *
   * @param workflowId the id
   * @return completes when done
   */
  public CompletableFuture<Void> resumeWorkflowAsync(String workflowId) {
    return call(
        workflows()::resumeWorkflow,
        ResumeWorkflowRequest.newBuilder().setWorkflowId(workflowId).build(),
        r -> null);
  }

  /**
   * Terminates a running or paused execution and cancels its unfinished tasks.
   *
   * @param workflowId the id
   * @param reason why; kept as its reasonForIncompletion
   */
  public void terminateWorkflow(String workflowId, String reason) {
    await(terminateWorkflowAsync(workflowId, reason));
  }

  /**
   * Async form of {@link #terminateWorkflow(String, String)}.
   *
   * @param workflowId the id
   * @param reason why
   * @return completes when done
   */
  public CompletableFuture<Void> terminateWorkflowAsync(String workflowId, String reason) {
    return call(
        workflows()::terminateWorkflow,
        TerminateWorkflowRequest.newBuilder()
            .setWorkflowId(workflowId)
            .setReason(reason == null ? "" : reason)
            .build(),
        r -> null);
  }

  /**
   * Runs a terminal execution again from the beginning, under the same id.
   *
   * @param workflowId the id
   * @param useLatestDefinitions run the latest definition version instead of the one it ran
   */
  public void restartWorkflow(String workflowId, boolean useLatestDefinitions) {
    await(restartWorkflowAsync(workflowId, useLatestDefinitions));
  }

  /**
   * Async form of {@link #restartWorkflow(String, boolean)}.
   *
   * @param workflowId the id
   * @param useLatestDefinitions run the latest definition version
   * @return completes when done
   */
  public CompletableFuture<Void> restartWorkflowAsync(String workflowId, boolean useLatestDefinitions) {
    return call(
        workflows()::restartWorkflow,
        RestartWorkflowRequest.newBuilder()
            .setWorkflowId(workflowId)
            .setUseLatestDefinitions(useLatestDefinitions)
            .build(),
        r -> null);
  }

  /**
   * Resumes a failed, timed-out or terminated execution from its failed task.
   *
   * @param workflowId the id
   */
  public void retryWorkflow(String workflowId) {
    await(retryWorkflowAsync(workflowId, false));
  }

  /**
   * Async form of {@link #retryWorkflow(String)}.
   *
   * @param workflowId the id
   * @param resumeSubworkflowTasks also retry failed sub-workflows instead of starting them anew
   * @return completes when done
   */
  public CompletableFuture<Void> retryWorkflowAsync(String workflowId, boolean resumeSubworkflowTasks) {
    return call(
        workflows()::retryWorkflow,
        RetryWorkflowRequest.newBuilder()
            .setWorkflowId(workflowId)
            .setResumeSubworkflowTasks(resumeSubworkflowTasks)
            .build(),
        r -> null);
  }

  /**
   * Deletes an execution and its tasks.
   *
   * @param workflowId the id
   */
  public void removeWorkflow(String workflowId) {
    await(
        call(
            workflows()::removeWorkflow,
            RemoveWorkflowRequest.newBuilder().setWorkflowId(workflowId).build(),
            r -> null));
  }

  // ----------------------------------------------------------------------------------- tasks

  /**
   * Reads one task instance.
   *
   * @param taskId the id
   * @return the task
   */
  public TaskInstance getTask(String taskId) {
    return await(
        call(
            tasks()::getTask,
            GetTaskRequest.newBuilder().setTaskId(taskId).build(),
            r -> TaskInstance.from(r.getTask())));
  }

  /**
   * Reads the log lines workers wrote for a task.
   *
   * @param taskId the id
   * @return the lines, oldest first
   */
  public List<TaskLogLine> getTaskLogs(String taskId) {
    return await(
        call(
            tasks()::getTaskLogs,
            GetTaskLogsRequest.newBuilder().setTaskId(taskId).build(),
            r -> {
              List<TaskLogLine> out = new ArrayList<>(r.getLogsCount());
              r.getLogsList()
                  .forEach(l -> out.add(new TaskLogLine(l.getMessage(), Structs.toInstant(l.getTime()))));
              return out;
            }));
  }

  // ------------------------------------------------------------------------------- schedules

  /**
   * Creates a schedule, or replaces the definition of an existing one keeping its state and
   * history.
   *
   * @param definition the definition as a map, in Conductor's schedule JSON with Baton's
   *     extensions ({@code name}, {@code cronExpression}, {@code zoneId}, {@code
   *     startWorkflowRequest}, {@code misfirePolicy}, {@code overlapPolicy}, ...)
   * @return the schedule as saved
   * @throws BatonException INVALID_ARGUMENT when the definition is invalid; NOT_FOUND when the
   *     workflow it starts is not defined
   */
  public Schedule saveSchedule(Map<String, ?> definition) {
    return await(saveScheduleAsync(definition));
  }

  /**
   * Creates or replaces a schedule given as JSON text.
   *
   * @param json the definition as JSON text
   * @return the schedule as saved
   * @throws BatonException INVALID_ARGUMENT when the definition is invalid; NOT_FOUND when the
   *     workflow it starts is not defined
   */
  public Schedule saveSchedule(String json) {
    return await(saveScheduleAsync(json));
  }

  /**
   * Async form of {@link #saveSchedule(Map)}.
   *
   * @param definition the definition as a map
   * @return the schedule as saved, eventually
   */
  public CompletableFuture<Schedule> saveScheduleAsync(Map<String, ?> definition) {
    Objects.requireNonNull(definition, "definition");
    return saveScheduleAsync(Json.write(definition));
  }

  /**
   * Async form of {@link #saveSchedule(String)}.
   *
   * @param json the definition as JSON text
   * @return the schedule as saved, eventually
   */
  public CompletableFuture<Schedule> saveScheduleAsync(String json) {
    Objects.requireNonNull(json, "json");
    return call(
        schedules()::saveSchedule,
        SaveScheduleRequest.newBuilder().setDefinitionJson(json).build(),
        r -> Schedule.from(r.getSchedule()));
  }

  /**
   * Reads one schedule.
   *
   * @param name the schedule's name
   * @return the schedule
   * @throws BatonException NOT_FOUND when there is none by that name
   */
  public Schedule getSchedule(String name) {
    return await(getScheduleAsync(name));
  }

  /**
   * Async form of {@link #getSchedule(String)}.
   *
   * @param name the schedule's name
   * @return the schedule, eventually
   */
  public CompletableFuture<Schedule> getScheduleAsync(String name) {
    return call(
        schedules()::getSchedule,
        GetScheduleRequest.newBuilder().setName(name).build(),
        r -> Schedule.from(r.getSchedule()));
  }

  /** @return every schedule, in name order */
  public List<Schedule> listSchedules() {
    return await(listSchedulesAsync(null));
  }

  /**
   * Lists the schedules starting one workflow.
   *
   * @param workflowName the workflow's name; null or empty lists every schedule
   * @return the schedules, in name order
   */
  public List<Schedule> listSchedules(String workflowName) {
    return await(listSchedulesAsync(workflowName));
  }

  /**
   * Async form of {@link #listSchedules(String)}.
   *
   * @param workflowName the workflow's name; null or empty lists every schedule
   * @return the schedules, eventually
   */
  public CompletableFuture<List<Schedule>> listSchedulesAsync(String workflowName) {
    return call(
        schedules()::listSchedules,
        ListSchedulesRequest.newBuilder()
            .setWorkflowName(workflowName == null ? "" : workflowName)
            .build(),
        r -> r.getSchedulesList().stream().map(Schedule::from).toList());
  }

  /**
   * Deletes a schedule and its history; its open runs go on.
   *
   * @param name the schedule's name
   * @throws BatonException NOT_FOUND when there is none by that name
   */
  public void deleteSchedule(String name) {
    await(deleteScheduleAsync(name));
  }

  /**
   * Async form of {@link #deleteSchedule(String)}.
   *
   * @param name the schedule's name
   * @return completes when done
   */
  public CompletableFuture<Void> deleteScheduleAsync(String name) {
    return call(
        schedules()::deleteSchedule, DeleteScheduleRequest.newBuilder().setName(name).build(), r -> null);
  }

  /**
   * Pauses a schedule; slots already due are handled first.
   *
   * @param name the schedule's name
   * @return the schedule after the pause
   */
  public Schedule pauseSchedule(String name) {
    return await(pauseScheduleAsync(name, null));
  }

  /**
   * Pauses a schedule with a note saying why.
   *
   * @param name the schedule's name
   * @param note why; null or empty for none
   * @return the schedule after the pause
   */
  public Schedule pauseSchedule(String name, String note) {
    return await(pauseScheduleAsync(name, note));
  }

  /**
   * Async form of {@link #pauseSchedule(String, String)}.
   *
   * @param name the schedule's name
   * @param note why; null or empty for none
   * @return the schedule after the pause, eventually
   */
  public CompletableFuture<Schedule> pauseScheduleAsync(String name, String note) {
    return call(
        schedules()::pauseSchedule,
        PauseScheduleRequest.newBuilder().setName(name).setNote(note == null ? "" : note).build(),
        r -> Schedule.from(r.getSchedule()));
  }

  /**
   * Resumes a paused schedule; slots that came during the pause follow its misfire policy.
   *
   * @param name the schedule's name
   * @return the schedule after the resume
   */
  public Schedule resumeSchedule(String name) {
    return await(resumeScheduleAsync(name, null));
  }

  /**
   * Resumes a paused schedule with a note saying why.
   *
   * @param name the schedule's name
   * @param note why; null or empty for none
   * @return the schedule after the resume
   */
  public Schedule resumeSchedule(String name, String note) {
    return await(resumeScheduleAsync(name, note));
  }

  /**
   * Async form of {@link #resumeSchedule(String, String)}.
   *
   * @param name the schedule's name
   * @param note why; null or empty for none
   * @return the schedule after the resume, eventually
   */
  public CompletableFuture<Schedule> resumeScheduleAsync(String name, String note) {
    return call(
        schedules()::resumeSchedule,
        ResumeScheduleRequest.newBuilder().setName(name).setNote(note == null ? "" : note).build(),
        r -> Schedule.from(r.getSchedule()));
  }

  /**
   * Pauses several schedules. A name that cannot be paused (unknown, say) does not stop the
   * others; its outcome says why.
   *
   * @param names the schedules' names (at least one)
   * @param note why; null or empty for none
   * @return one outcome per name, in the order given
   */
  public List<BulkScheduleOutcome> pauseSchedules(List<String> names, String note) {
    return await(bulkPauseSchedulesAsync(names, false, note));
  }

  /**
   * Resumes several schedules, reporting the outcome of each.
   *
   * @param names the schedules' names (at least one)
   * @param note why; null or empty for none
   * @return one outcome per name, in the order given
   */
  public List<BulkScheduleOutcome> resumeSchedules(List<String> names, String note) {
    return await(bulkPauseSchedulesAsync(names, true, note));
  }

  /**
   * Async form of {@link #pauseSchedules(List, String)} and {@link #resumeSchedules(List,
   * String)}.
   *
   * @param names the schedules' names (at least one)
   * @param resume true resumes them instead of pausing them
   * @param note why; null or empty for none
   * @return one outcome per name, eventually
   */
  public CompletableFuture<List<BulkScheduleOutcome>> bulkPauseSchedulesAsync(
      List<String> names, boolean resume, String note) {
    return call(
        schedules()::bulkPauseSchedules,
        BulkPauseSchedulesRequest.newBuilder()
            .addAllNames(names)
            .setResume(resume)
            .setNote(note == null ? "" : note)
            .build(),
        r -> r.getOutcomesList().stream().map(BulkScheduleOutcome::from).toList());
  }

  /**
   * Runs a schedule's workflow now, paused or not, with its input and overlap policy as
   * defined.
   *
   * @param name the schedule's name
   * @return ids of the workflows started; empty when the overlap policy skipped or buffered the
   *     run
   */
  public List<String> triggerSchedule(String name) {
    return await(triggerScheduleAsync(name, null, null));
  }

  /**
   * Runs a schedule's workflow now, paused or not.
   *
   * @param name the schedule's name
   * @param input merged into the schedule's workflow input for this run (a map or a bean); null
   *     keeps it as defined
   * @param overlap overlap policy for this run; null uses the schedule's own
   * @return ids of the workflows started; empty when the overlap policy skipped or buffered the
   *     run
   */
  public List<String> triggerSchedule(String name, Object input, OverlapPolicy overlap) {
    return await(triggerScheduleAsync(name, input, overlap));
  }

  /**
   * Async form of {@link #triggerSchedule(String, Object, OverlapPolicy)}.
   *
   * @param name the schedule's name
   * @param input merged into the workflow input for this run; null keeps it as defined
   * @param overlap overlap policy for this run; null uses the schedule's own
   * @return ids of the workflows started, eventually
   */
  public CompletableFuture<List<String>> triggerScheduleAsync(
      String name, Object input, OverlapPolicy overlap) {
    TriggerScheduleRequest.Builder b = TriggerScheduleRequest.newBuilder().setName(name);
    if (input != null) {
      b.setInput(Structs.toStructFromObject(input));
    }
    if (overlap != null) {
      b.setOverlap(overlap.name());
    }
    return call(schedules()::triggerSchedule, b.build(), r -> List.copyOf(r.getWorkflowIdsList()));
  }

  /**
   * Runs every slot of a past range that has not run yet, whatever the misfire policy says, with
   * the schedule's own overlap policy.
   *
   * @param name the schedule's name
   * @param from start of the range (inclusive)
   * @param until end of the range (inclusive); null for now. Slots after now are left to the
   *     schedule
   * @return the schedule after the backfill was taken in (large ranges go on in the background)
   */
  public Schedule backfillSchedule(String name, Instant from, Instant until) {
    return await(backfillScheduleAsync(name, from, until, null));
  }

  /**
   * Runs every slot of a past range that has not run yet.
   *
   * @param name the schedule's name
   * @param from start of the range (inclusive)
   * @param until end of the range (inclusive); null for now
   * @param overlap overlap policy for these runs; null uses the schedule's own
   * @return the schedule after the backfill was taken in (large ranges go on in the background)
   */
  public Schedule backfillSchedule(String name, Instant from, Instant until, OverlapPolicy overlap) {
    return await(backfillScheduleAsync(name, from, until, overlap));
  }

  /**
   * Async form of {@link #backfillSchedule(String, Instant, Instant, OverlapPolicy)}.
   *
   * @param name the schedule's name
   * @param from start of the range (inclusive)
   * @param until end of the range (inclusive); null for now
   * @param overlap overlap policy for these runs; null uses the schedule's own
   * @return the schedule after the backfill was taken in, eventually
   */
  public CompletableFuture<Schedule> backfillScheduleAsync(
      String name, Instant from, Instant until, OverlapPolicy overlap) {
    Objects.requireNonNull(from, "from");
    BackfillScheduleRequest.Builder b =
        BackfillScheduleRequest.newBuilder().setName(name).setFromTime(Structs.toTimestamp(from));
    if (until != null) {
      b.setUntilTime(Structs.toTimestamp(until));
    }
    if (overlap != null) {
      b.setOverlap(overlap.name());
    }
    return call(schedules()::backfillSchedule, b.build(), r -> Schedule.from(r.getSchedule()));
  }

  /**
   * Lists the next slots of a saved schedule, from now.
   *
   * @param name the schedule's name
   * @param limit the most slots; 0 returns 10
   * @return the slots
   */
  public SchedulePreview previewSchedule(String name, int limit) {
    return previewSchedule(PreviewSchedule.ofSaved(name).limit(limit));
  }

  /**
   * Lists the slots a saved schedule, an unsaved definition or a cron expression fires in a
   * range.
   *
   * @param preview what to preview, over which range
   * @return the slots
   * @throws BatonException INVALID_ARGUMENT for an invalid definition or cron expression;
   *     NOT_FOUND for an unknown schedule
   */
  public SchedulePreview previewSchedule(PreviewSchedule preview) {
    return await(previewScheduleAsync(preview));
  }

  /**
   * Async form of {@link #previewSchedule(PreviewSchedule)}.
   *
   * @param preview what to preview, over which range
   * @return the slots, eventually
   */
  public CompletableFuture<SchedulePreview> previewScheduleAsync(PreviewSchedule preview) {
    return call(schedules()::previewSchedule, preview.toProto(), SchedulePreview::from);
  }

  /**
   * Reads the latest 100 entries of a schedule's history.
   *
   * @param name the schedule's name
   * @return the entries, newest first
   */
  public List<ScheduleHistoryEntry> getScheduleHistory(String name) {
    return await(getScheduleHistoryAsync(name, null, null, 0));
  }

  /**
   * Reads a schedule's history over a range of slots.
   *
   * @param name the schedule's name
   * @param from start of the range of slots (inclusive); null for the beginning
   * @param until end of the range of slots (inclusive); null for no end
   * @param limit the most entries; 0 returns 100
   * @return the entries, newest first
   */
  public List<ScheduleHistoryEntry> getScheduleHistory(
      String name, Instant from, Instant until, int limit) {
    return await(getScheduleHistoryAsync(name, from, until, limit));
  }

  /**
   * Async form of {@link #getScheduleHistory(String, Instant, Instant, int)}.
   *
   * @param name the schedule's name
   * @param from start of the range of slots (inclusive); null for the beginning
   * @param until end of the range of slots (inclusive); null for no end
   * @param limit the most entries; 0 returns 100
   * @return the entries, eventually
   */
  public CompletableFuture<List<ScheduleHistoryEntry>> getScheduleHistoryAsync(
      String name, Instant from, Instant until, int limit) {
    if (limit < 0) {
      throw new IllegalArgumentException("limit must not be negative: " + limit);
    }
    GetScheduleHistoryRequest.Builder b =
        GetScheduleHistoryRequest.newBuilder().setName(name).setLimit(limit);
    if (from != null) {
      b.setFromTime(Structs.toTimestamp(from));
    }
    if (until != null) {
      b.setUntilTime(Structs.toTimestamp(until));
    }
    return call(
        schedules()::getScheduleHistory,
        b.build(),
        r -> r.getEntriesList().stream().map(ScheduleHistoryEntry::from).toList());
  }

  // --------------------------------------------------------------------------------- plumbing

  private MetadataServiceGrpc.MetadataServiceStub metadata() {
    return metadata.withDeadlineAfter(callTimeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  private WorkflowServiceGrpc.WorkflowServiceStub workflows() {
    return workflows.withDeadlineAfter(callTimeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  private ScheduleServiceGrpc.ScheduleServiceStub schedules() {
    return schedules.withDeadlineAfter(callTimeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  private TaskServiceGrpc.TaskServiceStub tasks() {
    return tasks.withDeadlineAfter(callTimeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  private static <Q, P, R> CompletableFuture<R> call(
      BiConsumer<Q, StreamObserver<P>> method, Q request, Function<P, R> map) {
    CompletableFuture<R> future = new CompletableFuture<>();
    method.accept(
        request,
        new StreamObserver<P>() {
          @Override
          public void onNext(P value) {
            try {
              future.complete(map.apply(value));
            } catch (RuntimeException e) {
              future.completeExceptionally(e);
            }
          }

          @Override
          public void onError(Throwable t) {
            future.completeExceptionally(BatonException.from(t));
          }

          @Override
          public void onCompleted() {
            if (!future.isDone()) {
              future.completeExceptionally(
                  new BatonException(Status.Code.INTERNAL, "server sent no response", null));
            }
          }
        });
    return future;
  }

  private static <T> T await(CompletableFuture<T> future) {
    try {
      return future.get();
    } catch (InterruptedException e) {
      future.cancel(true);
      Thread.currentThread().interrupt();
      throw new BatonException(Status.Code.CANCELLED, "interrupted while waiting", e);
    } catch (ExecutionException e) {
      throw BatonException.from(e.getCause());
    }
  }

  /** Builds the Definition message from a map or from JSON text. */
  private static final class Defs {
    static io.baton.v1.Definition of(Map<String, ?> map) {
      return io.baton.v1.Definition.newBuilder().setJson(Structs.toStruct(map)).build();
    }

    static io.baton.v1.Definition of(String json) {
      return io.baton.v1.Definition.newBuilder().setJsonText(json).build();
    }
  }
}
