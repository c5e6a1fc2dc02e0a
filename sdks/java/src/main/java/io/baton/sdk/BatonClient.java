package io.baton.sdk;

import io.baton.sdk.internal.Channels;
import io.baton.v1.DeleteTaskDefRequest;
import io.baton.v1.DeleteWorkflowDefRequest;
import io.baton.v1.ExecuteWorkflowRequest;
import io.baton.v1.GetTaskDefRequest;
import io.baton.v1.GetTaskLogsRequest;
import io.baton.v1.GetTaskRequest;
import io.baton.v1.GetWorkflowDefRequest;
import io.baton.v1.GetWorkflowRequest;
import io.baton.v1.GetWorkflowsByCorrelationIdRequest;
import io.baton.v1.ListTaskDefsRequest;
import io.baton.v1.ListWorkflowDefsRequest;
import io.baton.v1.MetadataServiceGrpc;
import io.baton.v1.PauseWorkflowRequest;
import io.baton.v1.RegisterTaskDefsRequest;
import io.baton.v1.RegisterWorkflowDefRequest;
import io.baton.v1.RemoveWorkflowRequest;
import io.baton.v1.RestartWorkflowRequest;
import io.baton.v1.ResumeWorkflowRequest;
import io.baton.v1.RetryWorkflowRequest;
import io.baton.v1.TaskServiceGrpc;
import io.baton.v1.TerminateWorkflowRequest;
import io.baton.v1.UpdateWorkflowDefRequest;
import io.baton.v1.ValidateWorkflowDefRequest;
import io.baton.v1.WorkflowServiceGrpc;
import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
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
 * Client for Baton's metadata and workflow services: registers definitions, starts and steers
 * workflow executions, reads their state.
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

  private BatonClient(Channel channel, ManagedChannel owned, Duration callTimeout) {
    this.channel = channel;
    this.owned = owned;
    this.callTimeout = callTimeout;
    this.metadata = MetadataServiceGrpc.newStub(channel);
    this.workflows = WorkflowServiceGrpc.newStub(channel);
    this.tasks = TaskServiceGrpc.newStub(channel);
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

  // --------------------------------------------------------------------------------- plumbing

  private MetadataServiceGrpc.MetadataServiceStub metadata() {
    return metadata.withDeadlineAfter(callTimeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  private WorkflowServiceGrpc.WorkflowServiceStub workflows() {
    return workflows.withDeadlineAfter(callTimeout.toMillis(), TimeUnit.MILLISECONDS);
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
