package io.baton.sdk;

import io.baton.sdk.internal.ApiKeyCredentials;
import io.baton.sdk.internal.Channels;
import io.baton.sdk.internal.Json;
import io.baton.v1.AddEventHandlerRequest;
import io.baton.v1.AddEventHandlerResponse;
import io.baton.v1.AddTaskLogsRequest;
import io.baton.v1.AdminServiceGrpc;
import io.baton.v1.BackfillScheduleRequest;
import io.baton.v1.BatchPollRequest;
import io.baton.v1.BulkOperation;
import io.baton.v1.BulkPauseSchedulesRequest;
import io.baton.v1.BulkResult;
import io.baton.v1.CreateApiKeyRequest;
import io.baton.v1.DecideWorkflowRequest;
import io.baton.v1.DeleteEventHandlerRequest;
import io.baton.v1.DeleteScheduleRequest;
import io.baton.v1.DeleteTaskDefRequest;
import io.baton.v1.DeleteWorkflowDefRequest;
import io.baton.v1.EventHandlerInfo;
import io.baton.v1.ExecuteWorkflowRequest;
import io.baton.v1.ExtendLeaseRequest;
import io.baton.v1.GetEventHandlerRequest;
import io.baton.v1.GetEventHandlerResponse;
import io.baton.v1.GetMetricsHistoryRequest;
import io.baton.v1.GetOverviewRequest;
import io.baton.v1.GetOverviewResponse;
import io.baton.v1.GetRetentionRequest;
import io.baton.v1.GetRetentionResponse;
import io.baton.v1.GetRunningWorkflowsRequest;
import io.baton.v1.GetScheduleHistoryRequest;
import io.baton.v1.GetScheduleRequest;
import io.baton.v1.GetTaskDefRequest;
import io.baton.v1.GetTaskLogsRequest;
import io.baton.v1.GetTaskRequest;
import io.baton.v1.GetWorkflowDefRequest;
import io.baton.v1.GetWorkflowRequest;
import io.baton.v1.GetWorkflowsByCorrelationIdRequest;
import io.baton.v1.GetWorkflowsByCorrelationIdsRequest;
import io.baton.v1.ImportWorkflowsRequest;
import io.baton.v1.ImportWorkflowsResponse;
import io.baton.v1.ListApiKeysRequest;
import io.baton.v1.ListEventHandlersRequest;
import io.baton.v1.ListQueuesRequest;
import io.baton.v1.ListSchedulesRequest;
import io.baton.v1.ListTaskDefsRequest;
import io.baton.v1.ListWorkersRequest;
import io.baton.v1.ListWorkflowDefsRequest;
import io.baton.v1.ListWorkflowTasksRequest;
import io.baton.v1.MetadataServiceGrpc;
import io.baton.v1.MonitorServiceGrpc;
import io.baton.v1.PauseScheduleRequest;
import io.baton.v1.PauseWorkflowRequest;
import io.baton.v1.PollRequest;
import io.baton.v1.QueueInfo;
import io.baton.v1.RegisterTaskDefsRequest;
import io.baton.v1.RegisterWorkflowDefRequest;
import io.baton.v1.RemoveWorkflowRequest;
import io.baton.v1.RerunWorkflowRequest;
import io.baton.v1.ResetCallbacksRequest;
import io.baton.v1.RestartWorkflowRequest;
import io.baton.v1.ResumeScheduleRequest;
import io.baton.v1.ResumeWorkflowRequest;
import io.baton.v1.RevokeApiKeyRequest;
import io.baton.v1.RetryWorkflowRequest;
import io.baton.v1.RunBulkOperationRequest;
import io.baton.v1.SaveScheduleRequest;
import io.baton.v1.ScheduleServiceGrpc;
import io.baton.v1.SearchTasksRequest;
import io.baton.v1.SearchTasksResponse;
import io.baton.v1.SearchWorkflowsRequest;
import io.baton.v1.SearchWorkflowsResponse;
import io.baton.v1.SkipTaskRequest;
import io.baton.v1.SkipTaskResponse;
import io.baton.v1.TaskAssignment;
import io.baton.v1.TaskLog;
import io.baton.v1.TaskServiceGrpc;
import io.baton.v1.TaskStatus;
import io.baton.v1.TerminateWorkflowRequest;
import io.baton.v1.TriggerScheduleRequest;
import io.baton.v1.UpdateEventHandlerRequest;
import io.baton.v1.UpdateEventHandlerResponse;
import io.baton.v1.UpdateTaskByRefRequest;
import io.baton.v1.UpdateTaskByRefResponse;
import io.baton.v1.UpdateTaskRequest;
import io.baton.v1.UpdateWorkflowDefRequest;
import io.baton.v1.ValidateWorkflowDefRequest;
import io.baton.v1.WorkerInfo;
import io.baton.v1.WorkflowServiceGrpc;
import com.google.protobuf.ByteString;
import io.grpc.CallCredentials;
import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * Client for every Baton service: registers definitions and event handlers, starts, waits for and
 * steers workflow executions, reads and searches their state, signals WAIT and HUMAN tasks by
 * reference name, polls and completes tasks by hand, saves and steers schedules, and reads the
 * server's overview and metrics history, and manages API keys and reads the audit log. Calls
 * whose result has no SDK type of its own return the generated {@code io.baton.v1} message.
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
 * <p>Over TLS, trusting the certificate authorities of a PEM file, and presenting a client
 * certificate to a server that requires mutual TLS:
 *
 * <pre>{@code
 * BatonClient client = BatonClient.builder()
 *     .target("https://baton.example:7070")
 *     .caFile(Path.of("ca.pem"))
 *     .clientCertificate(Path.of("client.pem"), Path.of("client-key.pem"))
 *     .build();
 * }</pre>
 *
 * <p>{@code BATON_CA_FILE}, {@code BATON_CLIENT_CERT} and {@code BATON_CLIENT_KEY} set the same
 * when the code does not (see {@link Builder#target}).
 *
 * <p>A server started with {@code --auth} takes calls only with an API key, sent with every call
 * (see {@link Builder#apiKey}; {@code BATON_API_KEY} when the code sets none). A call without a
 * valid key fails with {@link BatonException#isUnauthenticated()}, one the key's role does not
 * allow with {@link BatonException#isPermissionDenied()}.
 *
 * <p>A client is thread-safe; share one per process.
 */
public final class BatonClient implements AutoCloseable {
  private final Channel channel;
  private final ManagedChannel owned;
  private final CallCredentials credentials;
  private final Duration callTimeout;
  private final MetadataServiceGrpc.MetadataServiceStub metadata;
  private final WorkflowServiceGrpc.WorkflowServiceStub workflows;
  private final TaskServiceGrpc.TaskServiceStub tasks;
  private final ScheduleServiceGrpc.ScheduleServiceStub schedules;
  private final MonitorServiceGrpc.MonitorServiceStub monitor;
  private final AdminServiceGrpc.AdminServiceStub admin;

  private BatonClient(
      Channel channel, ManagedChannel owned, CallCredentials credentials, Duration callTimeout) {
    this.channel = channel;
    this.owned = owned;
    this.credentials = credentials;
    this.callTimeout = callTimeout;
    this.metadata = MetadataServiceGrpc.newStub(channel).withCallCredentials(credentials);
    this.workflows = WorkflowServiceGrpc.newStub(channel).withCallCredentials(credentials);
    this.tasks = TaskServiceGrpc.newStub(channel).withCallCredentials(credentials);
    this.schedules = ScheduleServiceGrpc.newStub(channel).withCallCredentials(credentials);
    this.monitor = MonitorServiceGrpc.newStub(channel).withCallCredentials(credentials);
    this.admin = AdminServiceGrpc.newStub(channel).withCallCredentials(credentials);
  }

  /**
   * Connects to the server named by {@code BATON_SERVER} (default {@code 127.0.0.1:7070}), over
   * TLS when the address is {@code https://} or {@code BATON_CA_FILE} or {@code
   * BATON_CLIENT_CERT} is set (see {@link Builder#target}), sending the API key of {@code
   * BATON_API_KEY} when it is set.
   *
   * @return the client
   */
  public static BatonClient connect() {
    return builder().build();
  }

  /**
   * Connects to a server (TLS files and the API key from the environment, see {@link
   * Builder#target} and {@link Builder#apiKey}).
   *
   * @param target {@code host:port}, {@code http://host:port} or {@code https://host:port}
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
    private Path caFile;
    private Path certificateChain;
    private Path privateKey;
    private String apiKey;
    private Map<String, String> env;

    private Builder() {}

    /**
     * Sets the server address; the client opens and owns its channel. Default: {@code
     * BATON_SERVER}, else {@code 127.0.0.1:7070}.
     *
     * <p>{@code https://host:port} connects over TLS; {@code http://host:port} in plain text;
     * a bare {@code host:port} in plain text unless a CA file or a client certificate is
     * configured ({@link #caFile}, {@link #clientCertificate} or their environment variables),
     * then over TLS. The server's certificate is checked against the host of the address.
     *
     * @param target {@code host:port}, {@code http://host:port} or {@code https://host:port}
     * @return this builder
     */
    public Builder target(String target) {
      this.target = target;
      return this;
    }

    /**
     * Trusts the certificate authorities in this PEM file for TLS, instead of the system's roots
     * (default: {@code BATON_CA_FILE}, if set). Setting one makes a bare {@code host:port}
     * address TLS; with an {@code http://} address {@link #build()} fails.
     *
     * @param caFile the PEM file of one or more CA certificates
     * @return this builder
     */
    public Builder caFile(Path caFile) {
      this.caFile = Objects.requireNonNull(caFile, "caFile");
      return this;
    }

    /**
     * Presents this client certificate to a server that requires mutual TLS (default: {@code
     * BATON_CLIENT_CERT} and {@code BATON_CLIENT_KEY}, if set). Setting one makes a bare {@code
     * host:port} address TLS; with an {@code http://} address {@link #build()} fails.
     *
     * @param certificateChain the PEM file of the client certificate (and any intermediates)
     * @param privateKey the PEM file of its private key (PKCS#8)
     * @return this builder
     */
    public Builder clientCertificate(Path certificateChain, Path privateKey) {
      this.certificateChain = Objects.requireNonNull(certificateChain, "certificateChain");
      this.privateKey = Objects.requireNonNull(privateKey, "privateKey");
      return this;
    }

    /**
     * Sends this API key with every call, as {@code authorization: Bearer <key>}: what a server
     * started with {@code --auth} requires. Default: {@code BATON_API_KEY}, if set; a key set
     * here wins over it, and an empty one sends none. The key goes with every call the client
     * makes, over a channel it opens or one given with {@link #channel}; it is never logged, nor
     * part of an error message.
     *
     * @param apiKey the key, {@code bk_<id>_<secret>}; empty for none; null leaves it to {@code
     *     BATON_API_KEY}
     * @return this builder
     */
    public Builder apiKey(String apiKey) {
      this.apiKey = apiKey;
      return this;
    }

    /**
     * Reads {@code BATON_SERVER}, {@code BATON_CA_FILE}, {@code BATON_CLIENT_CERT}, {@code
     * BATON_CLIENT_KEY} and {@code BATON_API_KEY} from this map instead of the process
     * environment (for tests and embedding). Settings made in code win over the map.
     *
     * @param env variable name to value
     * @return this builder
     */
    public Builder environment(Map<String, String> env) {
      this.env = Map.copyOf(env);
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

    /**
     * Builds the client, opening its channel unless one was given. The TLS files are read now.
     *
     * @return the client
     * @throws IllegalArgumentException when the TLS settings do not fit together (an {@code
     *     http://} address with a CA file or a client certificate; {@code BATON_CLIENT_CERT}
     *     without {@code BATON_CLIENT_KEY} or the reverse; TLS files with {@link #channel}),
     *     when a TLS file cannot be read or used, or when the API key holds characters a header
     *     cannot carry; the message names the problem (never the key)
     */
    public BatonClient build() {
      Map<String, String> e = env != null ? env : System.getenv();
      CallCredentials credentials = ApiKeyCredentials.resolve(apiKey, e);
      if (channel != null) {
        if (caFile != null || certificateChain != null) {
          throw new IllegalArgumentException(
              "caFile and clientCertificate apply to a channel the client opens, not to one given"
                  + " with channel(...)");
        }
        return new BatonClient(channel, null, credentials, callTimeout);
      }
      String t = target != null ? target : Channels.targetFromEnv(e);
      ManagedChannel ch =
          Channels.open(t, Channels.TlsFiles.resolve(caFile, certificateChain, privateKey, e));
      return new BatonClient(ch, ch, credentials, callTimeout);
    }
  }

  /**
   * The channel the client talks over. The API key is not part of it: a stub of your own on
   * this channel sends it with {@code .withCallCredentials(client.callCredentials())}.
   *
   * @return the channel
   */
  public Channel channel() {
    return channel;
  }

  /**
   * The credentials the client sends with every call: its API key as {@code authorization:
   * Bearer <key>}. A {@link io.baton.sdk.worker.Worker} built with this client sends them too.
   *
   * @return the credentials, or null when the client sends no API key
   */
  public CallCredentials callCredentials() {
    return credentials;
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
    return await(listWorkflowDefsAsync(allVersions));
  }

  /**
   * Async form of {@link #listWorkflowDefs(boolean)}.
   *
   * @param allVersions every version instead of the latest of each name
   * @return the definitions, eventually
   */
  public CompletableFuture<List<StoredDefinition>> listWorkflowDefsAsync(boolean allVersions) {
    return call(
        metadata()::listWorkflowDefs,
        ListWorkflowDefsRequest.newBuilder().setAllVersions(allVersions).build(),
        r -> r.getWorkflowDefsList().stream().map(StoredDefinition::from).toList());
  }

  /**
   * Deletes one version of a workflow definition.
   *
   * @param name the name
   * @param version the version
   */
  public void deleteWorkflowDef(String name, int version) {
    await(deleteWorkflowDefAsync(name, version));
  }

  /**
   * Async form of {@link #deleteWorkflowDef(String, int)}.
   *
   * @param name the name
   * @param version the version
   * @return completes when done
   */
  public CompletableFuture<Void> deleteWorkflowDefAsync(String name, int version) {
    return call(
        metadata()::deleteWorkflowDef,
        DeleteWorkflowDefRequest.newBuilder().setName(name).setVersion(version).build(),
        r -> null);
  }

  /**
   * Checks a workflow definition without storing it.
   *
   * @param definition the definition
   * @return every problem found; empty when valid
   */
  public List<ValidationProblem> validateWorkflowDef(Map<String, ?> definition) {
    return await(validateWorkflowDefAsync(definition));
  }

  /**
   * Async form of {@link #validateWorkflowDef(Map)}.
   *
   * @param definition the definition
   * @return every problem found, eventually; empty when valid
   */
  public CompletableFuture<List<ValidationProblem>> validateWorkflowDefAsync(
      Map<String, ?> definition) {
    return call(
        metadata()::validateWorkflowDef,
        ValidateWorkflowDefRequest.newBuilder().setDefinition(Defs.of(definition)).build(),
        r ->
            r.getErrorsList().stream()
                .map(e -> new ValidationProblem(e.getPath(), e.getMessage()))
                .toList());
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
    return await(getTaskDefAsync(name));
  }

  /**
   * Async form of {@link #getTaskDef(String)}.
   *
   * @param name the name
   * @return the definition, eventually
   */
  public CompletableFuture<StoredDefinition> getTaskDefAsync(String name) {
    return call(
        metadata()::getTaskDef,
        GetTaskDefRequest.newBuilder().setName(name).build(),
        r -> StoredDefinition.from(r.getTaskDef()));
  }

  /** @return every task definition, by name */
  public List<StoredDefinition> listTaskDefs() {
    return await(listTaskDefsAsync());
  }

  /**
   * Async form of {@link #listTaskDefs()}.
   *
   * @return every task definition, eventually
   */
  public CompletableFuture<List<StoredDefinition>> listTaskDefsAsync() {
    return call(
        metadata()::listTaskDefs,
        ListTaskDefsRequest.getDefaultInstance(),
        r -> r.getTaskDefsList().stream().map(StoredDefinition::from).toList());
  }

  /**
   * Deletes a task definition.
   *
   * @param name the name
   */
  public void deleteTaskDef(String name) {
    await(deleteTaskDefAsync(name));
  }

  /**
   * Async form of {@link #deleteTaskDef(String)}.
   *
   * @param name the name
   * @return completes when done
   */
  public CompletableFuture<Void> deleteTaskDefAsync(String name) {
    return call(metadata()::deleteTaskDef, DeleteTaskDefRequest.newBuilder().setName(name).build(), r -> null);
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
   * Waits on the server for an execution that already exists (started elsewhere) to reach a
   * terminal status, without starting anything. Returns when it finished or the wait ran out;
   * check {@link WorkflowWait#finished()}.
   *
   * @param workflowId the id
   * @param wait how long to wait; waits longer than the server's 300 s limit are made of several
   *     calls, one after the other, until this deadline; a negative wait is refused by the server
   *     (INVALID_ARGUMENT)
   * @return the execution when the wait ended, with its tasks, and whether it finished
   * @throws BatonException NOT_FOUND for an unknown id
   */
  public WorkflowWait waitWorkflow(String workflowId, Duration wait) {
    return await(waitWorkflowAsync(workflowId, wait, ""));
  }

  /**
   * Waits on the server until the task with reference name {@code untilTaskRef} has finished
   * (its latest instance is in a terminal status) or the execution ended, whichever comes first.
   *
   * @param workflowId the id
   * @param wait how long to wait (several server calls when longer than 300 s)
   * @param untilTaskRef a task reference name of the execution's definition; empty or null waits
   *     for the whole execution
   * @return the execution when the wait ended, with its tasks, whether it finished and whether
   *     the referenced task finished
   * @throws BatonException NOT_FOUND for an unknown id or a reference the definition lacks;
   *     INVALID_ARGUMENT when the server refuses the wait
   */
  public WorkflowWait waitWorkflow(String workflowId, Duration wait, String untilTaskRef) {
    return await(waitWorkflowAsync(workflowId, wait, untilTaskRef));
  }

  /**
   * Async form of {@link #waitWorkflow(String, Duration)}.
   *
   * @param workflowId the id
   * @param wait how long to wait
   * @return what the wait saw, eventually
   */
  public CompletableFuture<WorkflowWait> waitWorkflowAsync(String workflowId, Duration wait) {
    return waitWorkflowAsync(workflowId, wait, "");
  }

  /**
   * Async form of {@link #waitWorkflow(String, Duration, String)}. No thread is held while
   * waiting: the wait happens on the server, and a wait longer than 300 s calls again from the
   * previous call's callback.
   *
   * @param workflowId the id
   * @param wait how long to wait
   * @param untilTaskRef a task reference name, or empty/null for the whole execution
   * @return what the wait saw, eventually
   */
  public CompletableFuture<WorkflowWait> waitWorkflowAsync(
      String workflowId, Duration wait, String untilTaskRef) {
    Objects.requireNonNull(workflowId, "workflowId");
    String ref = untilTaskRef == null ? "" : untilTaskRef;
    CompletableFuture<WorkflowWait> result = new CompletableFuture<>();
    if (wait.isNegative()) {
      // Sent as it is: the server refuses it with INVALID_ARGUMENT and says why.
      int seconds = (int) Math.max(Integer.MIN_VALUE, Math.min(-1, wait.toSeconds()));
      waitCall(workflowId, ref, seconds).whenComplete((w, err) -> complete(result, w, err));
      return result;
    }
    waitStep(workflowId, ref, System.nanoTime() + wait.toNanos(), result);
    return result;
  }

  /** The longest wait the server takes in one WaitWorkflow call. */
  private static final int MAX_WAIT_SECONDS = 300;

  /** One WaitWorkflow call of a wait; the next one is made from its callback when needed. */
  private void waitStep(
      String workflowId, String ref, long deadline, CompletableFuture<WorkflowWait> result) {
    if (result.isDone()) {
      return;
    }
    long leftNanos = deadline - System.nanoTime();
    // Whole seconds, rounded up so one call covers a short wait; 0 would mean the server default.
    int seconds =
        (int) Math.max(1, Math.min(MAX_WAIT_SECONDS, (leftNanos + 999_999_999L) / 1_000_000_000L));
    waitCall(workflowId, ref, seconds)
        .whenComplete(
            (w, err) -> {
              if (err != null) {
                result.completeExceptionally(BatonException.from(err));
              } else if (w.reached(ref) || deadline - System.nanoTime() <= 0) {
                result.complete(w);
              } else {
                waitStep(workflowId, ref, deadline, result);
              }
            });
  }

  private CompletableFuture<WorkflowWait> waitCall(String workflowId, String ref, int seconds) {
    WorkflowServiceGrpc.WorkflowServiceStub stub =
        workflows.withDeadlineAfter(
            callTimeout.toMillis() + Math.max(0, seconds) * 1000L, TimeUnit.MILLISECONDS);
    return call(
        stub::waitWorkflow,
        io.baton.v1.WaitWorkflowRequest.newBuilder()
            .setWorkflowId(workflowId)
            .setWaitSeconds(seconds)
            .setWaitUntilTaskRef(ref)
            .build(),
        r -> new WorkflowWait(WorkflowExecution.from(r.getWorkflow()), r.getFinished(), r.getTaskRefFinished()));
  }

  private static <T> void complete(CompletableFuture<T> target, T value, Throwable err) {
    if (err != null) {
      target.completeExceptionally(BatonException.from(err));
    } else {
      target.complete(value);
    }
  }

  /**
   * Waits until an execution started elsewhere reaches a terminal status, and fails when it does
   * not in time. The wait happens on the server ({@link #waitWorkflow(String, Duration)}); to
   * start a workflow and wait for it, use {@link #executeWorkflow(StartWorkflow, Duration)}.
   *
   * @param workflowId the id
   * @param timeout how long to wait at most
   * @return the terminal execution, with its tasks
   * @throws BatonException DEADLINE_EXCEEDED when it is still running after the timeout;
   *     NOT_FOUND for an unknown id
   */
  public WorkflowExecution awaitWorkflow(String workflowId, Duration timeout) {
    return await(awaitWorkflowAsync(workflowId, timeout));
  }

  /**
   * Async form of {@link #awaitWorkflow(String, Duration)}. No thread is held while waiting.
   *
   * @param workflowId the id
   * @param timeout how long to wait at most
   * @return the terminal execution, eventually; DEADLINE_EXCEEDED after the timeout
   */
  public CompletableFuture<WorkflowExecution> awaitWorkflowAsync(String workflowId, Duration timeout) {
    return waitWorkflowAsync(workflowId, timeout, "")
        .thenApply(
            w -> {
              if (!w.finished()) {
                throw new BatonException(
                    Status.Code.DEADLINE_EXCEEDED,
                    "workflow " + workflowId + " still " + w.workflow().status() + " after " + timeout,
                    null);
              }
              return w.workflow();
            });
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
    return await(getWorkflowsByCorrelationIdAsync(name, correlationId, includeClosed, includeTasks));
  }

  /**
   * Async form of {@link #getWorkflowsByCorrelationId(String, String, boolean, boolean)}.
   *
   * @param name the workflow definition name
   * @param correlationId the correlation id
   * @param includeClosed also list terminal executions
   * @param includeTasks include task instances
   * @return the executions, eventually
   */
  public CompletableFuture<List<WorkflowExecution>> getWorkflowsByCorrelationIdAsync(
      String name, String correlationId, boolean includeClosed, boolean includeTasks) {
    return call(
        workflows()::getWorkflowsByCorrelationId,
        GetWorkflowsByCorrelationIdRequest.newBuilder()
            .setName(name)
            .setCorrelationId(correlationId)
            .setIncludeClosed(includeClosed)
            .setIncludeTasks(includeTasks)
            .build(),
        r -> r.getWorkflowsList().stream().map(WorkflowExecution::from).toList());
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
    await(removeWorkflowAsync(workflowId));
  }

  /**
   * Async form of {@link #removeWorkflow(String)}.
   *
   * @param workflowId the id
   * @return completes when done
   */
  public CompletableFuture<Void> removeWorkflowAsync(String workflowId) {
    return call(
        workflows()::removeWorkflow,
        RemoveWorkflowRequest.newBuilder().setWorkflowId(workflowId).build(),
        r -> null);
  }

  // ----------------------------------------------------------------------------------- tasks

  /**
   * Reads one task instance.
   *
   * @param taskId the id
   * @return the task
   */
  public TaskInstance getTask(String taskId) {
    return await(getTaskAsync(taskId));
  }

  /**
   * Async form of {@link #getTask(String)}.
   *
   * @param taskId the id
   * @return the task, eventually
   */
  public CompletableFuture<TaskInstance> getTaskAsync(String taskId) {
    return call(
        tasks()::getTask,
        GetTaskRequest.newBuilder().setTaskId(taskId).build(),
        r -> TaskInstance.from(r.getTask()));
  }

  /**
   * Reads the log lines workers wrote for a task.
   *
   * @param taskId the id
   * @return the lines, oldest first
   */
  public List<TaskLogLine> getTaskLogs(String taskId) {
    return await(getTaskLogsAsync(taskId));
  }

  /**
   * Async form of {@link #getTaskLogs(String)}.
   *
   * @param taskId the id
   * @return the lines, eventually
   */
  public CompletableFuture<List<TaskLogLine>> getTaskLogsAsync(String taskId) {
    return call(
        tasks()::getTaskLogs,
        GetTaskLogsRequest.newBuilder().setTaskId(taskId).build(),
        r -> {
          List<TaskLogLine> out = new ArrayList<>(r.getLogsCount());
          r.getLogsList()
              .forEach(l -> out.add(new TaskLogLine(l.getMessage(), Structs.toInstant(l.getTime()))));
          return out;
        });
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

  // -------------------------------------------------------------------------- event handlers

  /**
   * Adds an event handler: actions run when an event arrives.
   *
   * @param handler the handler as a map, in Conductor's event handler JSON ({@code name},
   *     {@code event}, {@code condition}, {@code actions}, {@code active})
   * @return the handler as stored
   * @throws BatonException ALREADY_EXISTS when a handler by that name exists; INVALID_ARGUMENT
   *     when it is invalid
   */
  public EventHandlerInfo addEventHandler(Map<String, ?> handler) {
    return await(addEventHandlerAsync(handler));
  }

  /**
   * Adds an event handler given as JSON text.
   *
   * @param json the handler as JSON text
   * @return the handler as stored
   */
  public EventHandlerInfo addEventHandler(String json) {
    return await(addEventHandlerAsync(json));
  }

  /**
   * Async form of {@link #addEventHandler(Map)}.
   *
   * @param handler the handler as a map
   * @return the handler as stored, eventually
   */
  public CompletableFuture<EventHandlerInfo> addEventHandlerAsync(Map<String, ?> handler) {
    return addEventHandler(Defs.of(handler));
  }

  /**
   * Async form of {@link #addEventHandler(String)}.
   *
   * @param json the handler as JSON text
   * @return the handler as stored, eventually
   */
  public CompletableFuture<EventHandlerInfo> addEventHandlerAsync(String json) {
    return addEventHandler(Defs.of(json));
  }

  private CompletableFuture<EventHandlerInfo> addEventHandler(io.baton.v1.Definition d) {
    return call(
        metadata()::addEventHandler,
        AddEventHandlerRequest.newBuilder().setHandler(d).build(),
        AddEventHandlerResponse::getHandler);
  }

  /**
   * Replaces an existing event handler, found by its name.
   *
   * @param handler the handler as a map
   * @return the handler as stored
   * @throws BatonException NOT_FOUND when there is no handler by that name
   */
  public EventHandlerInfo updateEventHandler(Map<String, ?> handler) {
    return await(updateEventHandlerAsync(handler));
  }

  /**
   * Replaces an existing event handler given as JSON text.
   *
   * @param json the handler as JSON text
   * @return the handler as stored
   */
  public EventHandlerInfo updateEventHandler(String json) {
    return await(updateEventHandlerAsync(json));
  }

  /**
   * Async form of {@link #updateEventHandler(Map)}.
   *
   * @param handler the handler as a map
   * @return the handler as stored, eventually
   */
  public CompletableFuture<EventHandlerInfo> updateEventHandlerAsync(Map<String, ?> handler) {
    return updateEventHandler(Defs.of(handler));
  }

  /**
   * Async form of {@link #updateEventHandler(String)}.
   *
   * @param json the handler as JSON text
   * @return the handler as stored, eventually
   */
  public CompletableFuture<EventHandlerInfo> updateEventHandlerAsync(String json) {
    return updateEventHandler(Defs.of(json));
  }

  private CompletableFuture<EventHandlerInfo> updateEventHandler(io.baton.v1.Definition d) {
    return call(
        metadata()::updateEventHandler,
        UpdateEventHandlerRequest.newBuilder().setHandler(d).build(),
        UpdateEventHandlerResponse::getHandler);
  }

  /**
   * Deletes an event handler.
   *
   * @param name the handler's name
   * @throws BatonException NOT_FOUND when there is none by that name
   */
  public void deleteEventHandler(String name) {
    await(deleteEventHandlerAsync(name));
  }

  /**
   * Async form of {@link #deleteEventHandler(String)}.
   *
   * @param name the handler's name
   * @return completes when done
   */
  public CompletableFuture<Void> deleteEventHandlerAsync(String name) {
    return call(
        metadata()::deleteEventHandler,
        DeleteEventHandlerRequest.newBuilder().setName(name).build(),
        r -> null);
  }

  /**
   * Reads one event handler.
   *
   * @param name the handler's name
   * @return the handler
   * @throws BatonException NOT_FOUND when there is none by that name
   */
  public EventHandlerInfo getEventHandler(String name) {
    return await(getEventHandlerAsync(name));
  }

  /**
   * Async form of {@link #getEventHandler(String)}.
   *
   * @param name the handler's name
   * @return the handler, eventually
   */
  public CompletableFuture<EventHandlerInfo> getEventHandlerAsync(String name) {
    return call(
        metadata()::getEventHandler,
        GetEventHandlerRequest.newBuilder().setName(name).build(),
        GetEventHandlerResponse::getHandler);
  }

  /** @return every event handler */
  public List<EventHandlerInfo> listEventHandlers() {
    return await(listEventHandlersAsync(null, false));
  }

  /**
   * Lists the event handlers of one event.
   *
   * @param event the event (for example {@code conductor:order:created}); null or empty lists
   *     every handler
   * @param activeOnly only the active handlers
   * @return the handlers
   */
  public List<EventHandlerInfo> listEventHandlers(String event, boolean activeOnly) {
    return await(listEventHandlersAsync(event, activeOnly));
  }

  /**
   * Async form of {@link #listEventHandlers(String, boolean)}.
   *
   * @param event the event; null or empty lists every handler
   * @param activeOnly only the active handlers
   * @return the handlers, eventually
   */
  public CompletableFuture<List<EventHandlerInfo>> listEventHandlersAsync(
      String event, boolean activeOnly) {
    return call(
        metadata()::listEventHandlers,
        ListEventHandlersRequest.newBuilder()
            .setEvent(event == null ? "" : event)
            .setActiveOnly(activeOnly)
            .build(),
        r -> List.copyOf(r.getHandlersList()));
  }

  // ----------------------------------------------------------------- steering executions

  /**
   * Starts the latest version of a workflow by name and waits, on the server, until it ends or
   * the wait runs out.
   *
   * @param name the workflow definition name
   * @param input the input (a map or a bean)
   * @param wait how long to wait (the server caps it at 300 s)
   * @return the execution as it stood when the call returned, with its tasks
   */
  public WorkflowExecution executeWorkflow(String name, Object input, Duration wait) {
    return await(executeWorkflowAsync(name, input, wait));
  }

  /**
   * Async form of {@link #executeWorkflow(String, Object, Duration)}.
   *
   * @param name the workflow definition name
   * @param input the input (a map or a bean)
   * @param wait how long to wait
   * @return the execution, eventually
   */
  public CompletableFuture<WorkflowExecution> executeWorkflowAsync(
      String name, Object input, Duration wait) {
    return executeWorkflowAsync(StartWorkflow.of(name, input), wait);
  }

  /**
   * Starts a workflow and waits, on the server, until the task with a given reference name has
   * finished (or the execution ends, or the wait runs out); the execution may go on after.
   *
   * @param start how to start it
   * @param wait how long to wait (the server caps it at 300 s)
   * @param waitUntilTaskRef reference name of the task to wait for; null or empty waits for the
   *     execution to end
   * @return the execution as it stood when the call returned, with its tasks
   */
  public WorkflowExecution executeWorkflow(StartWorkflow start, Duration wait, String waitUntilTaskRef) {
    return await(executeWorkflowAsync(start, wait, waitUntilTaskRef));
  }

  /**
   * Async form of {@link #executeWorkflow(StartWorkflow, Duration, String)}.
   *
   * @param start how to start it
   * @param wait how long to wait
   * @param waitUntilTaskRef reference name of the task to wait for; null or empty for none
   * @return the execution, eventually
   */
  public CompletableFuture<WorkflowExecution> executeWorkflowAsync(
      StartWorkflow start, Duration wait, String waitUntilTaskRef) {
    int seconds = (int) Math.max(1, Math.min(300, wait.toSeconds()));
    ExecuteWorkflowRequest req =
        ExecuteWorkflowRequest.newBuilder()
            .setStart(start.toProto())
            .setWaitSeconds(seconds)
            .setWaitUntilTaskRef(waitUntilTaskRef == null ? "" : waitUntilTaskRef)
            .build();
    WorkflowServiceGrpc.WorkflowServiceStub stub =
        workflows.withDeadlineAfter(callTimeout.toMillis() + seconds * 1000L, TimeUnit.MILLISECONDS);
    return call(stub::executeWorkflow, req, r -> WorkflowExecution.from(r.getWorkflow()));
  }

  /**
   * Runs an execution again from one of its task instances: that instance and every task after
   * it are removed and the task is scheduled anew. Works on terminal and running executions.
   *
   * @param workflowId the execution's id
   * @param taskId the id of the task instance to run again from
   */
  public void rerunWorkflow(String workflowId, String taskId) {
    await(rerunWorkflowAsync(workflowId, taskId, null, null));
  }

  /**
   * Runs an execution again from one of its task instances, with new inputs.
   *
   * @param workflowId the execution's id
   * @param taskId the id of the task instance to run again from
   * @param taskInput input of the task run again (worker tasks only); null computes it from the
   *     definition
   * @param workflowInput new workflow input; null keeps the execution's
   */
  public void rerunWorkflow(String workflowId, String taskId, Object taskInput, Object workflowInput) {
    await(rerunWorkflowAsync(workflowId, taskId, taskInput, workflowInput));
  }

  /**
   * Async form of {@link #rerunWorkflow(String, String, Object, Object)}.
   *
   * @param workflowId the execution's id
   * @param taskId the id of the task instance to run again from
   * @param taskInput input of the task run again; null computes it
   * @param workflowInput new workflow input; null keeps it
   * @return completes when done
   */
  public CompletableFuture<Void> rerunWorkflowAsync(
      String workflowId, String taskId, Object taskInput, Object workflowInput) {
    RerunWorkflowRequest.Builder b =
        RerunWorkflowRequest.newBuilder().setWorkflowId(workflowId).setTaskId(taskId);
    if (taskInput != null) {
      b.setTaskInput(Structs.toStructFromObject(taskInput));
    }
    if (workflowInput != null) {
      b.setWorkflowInput(Structs.toStructFromObject(workflowInput));
    }
    return call(workflows()::rerunWorkflow, b.build(), r -> null);
  }

  /**
   * Skips a task of a running execution by reference name; the flow goes on past it.
   *
   * @param workflowId the execution's id
   * @param taskRefName the task's reference name
   * @return true when it was skipped at once; false when it will be skipped once the flow
   *     reaches it
   * @throws BatonException FAILED_PRECONDITION when the task has finished already
   */
  public boolean skipTask(String workflowId, String taskRefName) {
    return await(skipTaskAsync(workflowId, taskRefName, null, null));
  }

  /**
   * Skips a task of a running execution, recording an input and an output on it.
   *
   * @param workflowId the execution's id
   * @param taskRefName the task's reference name
   * @param taskInput input recorded on the skipped task; null keeps or computes it
   * @param taskOutput output of the skipped task, seen by the tasks after it; null for none
   * @return true when it was skipped at once
   */
  public boolean skipTask(String workflowId, String taskRefName, Object taskInput, Object taskOutput) {
    return await(skipTaskAsync(workflowId, taskRefName, taskInput, taskOutput));
  }

  /**
   * Async form of {@link #skipTask(String, String, Object, Object)}.
   *
   * @param workflowId the execution's id
   * @param taskRefName the task's reference name
   * @param taskInput input recorded on the skipped task; null keeps or computes it
   * @param taskOutput output of the skipped task; null for none
   * @return whether it was skipped at once, eventually
   */
  public CompletableFuture<Boolean> skipTaskAsync(
      String workflowId, String taskRefName, Object taskInput, Object taskOutput) {
    SkipTaskRequest.Builder b =
        SkipTaskRequest.newBuilder().setWorkflowId(workflowId).setTaskRefName(taskRefName);
    if (taskInput != null) {
      b.setTaskInput(Structs.toStructFromObject(taskInput));
    }
    if (taskOutput != null) {
      b.setTaskOutput(Structs.toStructFromObject(taskOutput));
    }
    return call(workflows()::skipTask, b.build(), SkipTaskResponse::getSkippedNow);
  }

  /**
   * Makes the tasks of an execution that wait out a {@code callbackAfterSeconds} ready now.
   *
   * @param workflowId the execution's id
   */
  public void resetCallbacks(String workflowId) {
    await(resetCallbacksAsync(workflowId));
  }

  /**
   * Async form of {@link #resetCallbacks(String)}.
   *
   * @param workflowId the execution's id
   * @return completes when done
   */
  public CompletableFuture<Void> resetCallbacksAsync(String workflowId) {
    return call(
        workflows()::resetCallbacks,
        ResetCallbacksRequest.newBuilder().setWorkflowId(workflowId).build(),
        r -> null);
  }

  /**
   * Re-evaluates an execution now, scheduling whatever is due; harmless when nothing is.
   *
   * @param workflowId the execution's id
   */
  public void decideWorkflow(String workflowId) {
    await(decideWorkflowAsync(workflowId));
  }

  /**
   * Async form of {@link #decideWorkflow(String)}.
   *
   * @param workflowId the execution's id
   * @return completes when done
   */
  public CompletableFuture<Void> decideWorkflowAsync(String workflowId) {
    return call(
        workflows()::decideWorkflow,
        DecideWorkflowRequest.newBuilder().setWorkflowId(workflowId).build(),
        r -> null);
  }

  /**
   * Lists the task instances of an execution a page at a time.
   *
   * @param workflowId the execution's id
   * @param statuses only tasks in one of these statuses; null or empty lists every task
   * @param offset how many matching tasks to pass over (0 for the first page)
   * @param limit the most tasks in the page; 0 returns 100 (at most 1000)
   * @return the page
   */
  public TaskPage listWorkflowTasks(
      String workflowId, List<TaskStatus> statuses, int offset, int limit) {
    return await(listWorkflowTasksAsync(workflowId, statuses, offset, limit));
  }

  /**
   * Async form of {@link #listWorkflowTasks(String, List, int, int)}.
   *
   * @param workflowId the execution's id
   * @param statuses only tasks in one of these statuses; null or empty lists every task
   * @param offset how many matching tasks to pass over
   * @param limit the most tasks in the page; 0 returns 100
   * @return the page, eventually
   */
  public CompletableFuture<TaskPage> listWorkflowTasksAsync(
      String workflowId, List<TaskStatus> statuses, int offset, int limit) {
    ListWorkflowTasksRequest.Builder b =
        ListWorkflowTasksRequest.newBuilder().setWorkflowId(workflowId).setOffset(offset).setLimit(limit);
    if (statuses != null) {
      b.addAllStatuses(statuses);
    }
    return call(
        workflows()::listWorkflowTasks,
        b.build(),
        r ->
            new TaskPage(
                r.getTasksList().stream().map(TaskInstance::from).toList(),
                r.getTotal(),
                r.getNextOffset()));
  }

  /**
   * Lists the ids of the running and paused executions of a workflow, every version.
   *
   * @param name the workflow definition name
   * @return the ids, oldest first
   */
  public List<String> getRunningWorkflows(String name) {
    return await(getRunningWorkflowsAsync(name, 0, null, null));
  }

  /**
   * Lists the ids of the running and paused executions of a workflow.
   *
   * @param name the workflow definition name
   * @param version only this version; 0 for every version
   * @param createdAfter only executions created at or after this time; null for no bound
   * @param createdBefore only executions created at or before this time; null for no bound
   * @return the ids, oldest first
   */
  public List<String> getRunningWorkflows(
      String name, int version, Instant createdAfter, Instant createdBefore) {
    return await(getRunningWorkflowsAsync(name, version, createdAfter, createdBefore));
  }

  /**
   * Async form of {@link #getRunningWorkflows(String, int, Instant, Instant)}.
   *
   * @param name the workflow definition name
   * @param version only this version; 0 for every version
   * @param createdAfter lower bound of the creation time; null for none
   * @param createdBefore upper bound of the creation time; null for none
   * @return the ids, eventually
   */
  public CompletableFuture<List<String>> getRunningWorkflowsAsync(
      String name, int version, Instant createdAfter, Instant createdBefore) {
    GetRunningWorkflowsRequest.Builder b = GetRunningWorkflowsRequest.newBuilder().setName(name);
    if (version > 0) {
      b.setVersion(version);
    }
    if (createdAfter != null) {
      b.setCreatedAfter(Structs.toTimestamp(createdAfter));
    }
    if (createdBefore != null) {
      b.setCreatedBefore(Structs.toTimestamp(createdBefore));
    }
    return call(workflows()::getRunningWorkflows, b.build(), r -> List.copyOf(r.getWorkflowIdsList()));
  }

  /**
   * Lists the executions of one workflow for several correlation ids.
   *
   * @param name the workflow definition name
   * @param correlationIds the correlation ids (at most 1000)
   * @param includeClosed also list terminal executions
   * @param includeTasks include task instances
   * @return per distinct correlation id, in the order given, its executions (oldest first)
   */
  public Map<String, List<WorkflowExecution>> getWorkflowsByCorrelationIds(
      String name, List<String> correlationIds, boolean includeClosed, boolean includeTasks) {
    return await(getWorkflowsByCorrelationIdsAsync(name, correlationIds, includeClosed, includeTasks));
  }

  /**
   * Async form of {@link #getWorkflowsByCorrelationIds(String, List, boolean, boolean)}.
   *
   * @param name the workflow definition name
   * @param correlationIds the correlation ids
   * @param includeClosed also list terminal executions
   * @param includeTasks include task instances
   * @return the executions per correlation id, eventually
   */
  public CompletableFuture<Map<String, List<WorkflowExecution>>> getWorkflowsByCorrelationIdsAsync(
      String name, List<String> correlationIds, boolean includeClosed, boolean includeTasks) {
    return call(
        workflows()::getWorkflowsByCorrelationIds,
        GetWorkflowsByCorrelationIdsRequest.newBuilder()
            .setName(name)
            .addAllCorrelationIds(correlationIds)
            .setIncludeClosed(includeClosed)
            .setIncludeTasks(includeTasks)
            .build(),
        r -> {
          Map<String, List<WorkflowExecution>> out = new LinkedHashMap<>();
          r.getResultsList()
              .forEach(
                  c ->
                      out.put(
                          c.getCorrelationId(),
                          c.getWorkflowsList().stream().map(WorkflowExecution::from).toList()));
          return out;
        });
  }

  /**
   * Applies one operation to many executions (1 to 1000); one failing does not stop the others.
   *
   * @param operation the operation
   * @param workflowIds the executions' ids
   * @return one result per id, in the order given
   */
  public List<BulkResult> runBulkOperation(BulkOperation operation, List<String> workflowIds) {
    return await(runBulkOperationAsync(operation, workflowIds, null, false));
  }

  /**
   * Applies one operation to many executions, with the options of terminate and restart.
   *
   * @param operation the operation
   * @param workflowIds the executions' ids (1 to 1000)
   * @param reason for TERMINATE: why; null for none
   * @param useLatestDefinitions for RESTART: run the latest version of each definition
   * @return one result per id, in the order given
   */
  public List<BulkResult> runBulkOperation(
      BulkOperation operation, List<String> workflowIds, String reason, boolean useLatestDefinitions) {
    return await(runBulkOperationAsync(operation, workflowIds, reason, useLatestDefinitions));
  }

  /**
   * Async form of {@link #runBulkOperation(BulkOperation, List, String, boolean)}.
   *
   * @param operation the operation
   * @param workflowIds the executions' ids
   * @param reason for TERMINATE: why; null for none
   * @param useLatestDefinitions for RESTART: run the latest definitions
   * @return one result per id, eventually
   */
  public CompletableFuture<List<BulkResult>> runBulkOperationAsync(
      BulkOperation operation, List<String> workflowIds, String reason, boolean useLatestDefinitions) {
    return call(
        workflows()::runBulkOperation,
        RunBulkOperationRequest.newBuilder()
            .setOperation(operation)
            .addAllWorkflowIds(workflowIds)
            .setReason(reason == null ? "" : reason)
            .setUseLatestDefinitions(useLatestDefinitions)
            .build(),
        r -> List.copyOf(r.getResultsList()));
  }

  /**
   * Searches executions with a query (Conductor's query language, for example {@code
   * workflowType = 'order' AND status IN (FAILED)}).
   *
   * @param query the query; empty matches every execution
   * @param start results to skip
   * @param size results to return (0 only counts)
   * @return the total number of hits and the page
   */
  public SearchWorkflowsResponse searchWorkflows(String query, int start, int size) {
    return searchWorkflows(
        SearchWorkflowsRequest.newBuilder()
            .setQuery(query == null ? "" : query)
            .setStart(start)
            .setSize(size)
            .build());
  }

  /**
   * Searches executions with every option of the request (free text, sort, search by tasks).
   *
   * @param request the search
   * @return the total number of hits and the page
   */
  public SearchWorkflowsResponse searchWorkflows(SearchWorkflowsRequest request) {
    return await(searchWorkflowsAsync(request));
  }

  /**
   * Async form of {@link #searchWorkflows(SearchWorkflowsRequest)}.
   *
   * @param request the search
   * @return the hits, eventually
   */
  public CompletableFuture<SearchWorkflowsResponse> searchWorkflowsAsync(SearchWorkflowsRequest request) {
    return call(workflows()::searchWorkflows, request, r -> r);
  }

  /**
   * Loads archived executions back, from lines of the archive files retention writes.
   *
   * @param lines archive lines, one execution each (JSON); at most 1000
   * @return how many were written and how many were stored already
   */
  public ImportWorkflowsResponse importWorkflows(List<String> lines) {
    return await(importWorkflowsAsync(lines));
  }

  /**
   * Async form of {@link #importWorkflows(List)}.
   *
   * @param lines archive lines
   * @return the counts, eventually
   */
  public CompletableFuture<ImportWorkflowsResponse> importWorkflowsAsync(List<String> lines) {
    ImportWorkflowsRequest.Builder b = ImportWorkflowsRequest.newBuilder();
    lines.forEach(l -> b.addLines(ByteString.copyFromUtf8(l)));
    return call(workflows()::importWorkflows, b.build(), r -> r);
  }

  /** @return what retention keeps by default, where it archives and what it has done */
  public GetRetentionResponse getRetention() {
    return await(getRetentionAsync());
  }

  /**
   * Async form of {@link #getRetention()}.
   *
   * @return the retention settings and counters, eventually
   */
  public CompletableFuture<GetRetentionResponse> getRetentionAsync() {
    return call(workflows()::getRetention, GetRetentionRequest.getDefaultInstance(), r -> r);
  }

  // ------------------------------------------------------------------------ tasks (steering)

  /**
   * Sets the status of a workflow's task by reference name: how WAIT and HUMAN tasks (or any
   * task whose worker is not at hand) are completed or failed.
   *
   * @param workflowId the execution's id
   * @param taskRefName the task's reference name
   * @param status the new status (COMPLETED, FAILED, FAILED_WITH_TERMINAL_ERROR, IN_PROGRESS)
   * @param output the task's output (a map or a bean); null for none
   * @return the id of the task instance updated
   */
  public String updateTaskByRef(String workflowId, String taskRefName, TaskStatus status, Object output) {
    return await(updateTaskByRefAsync(workflowId, taskRefName, status, output, null));
  }

  /**
   * Sets the status of a workflow's task by reference name, with a reason.
   *
   * @param workflowId the execution's id
   * @param taskRefName the task's reference name
   * @param status the new status
   * @param output the task's output; null for none
   * @param reason why it failed; null for none
   * @return the id of the task instance updated
   */
  public String updateTaskByRef(
      String workflowId, String taskRefName, TaskStatus status, Object output, String reason) {
    return await(updateTaskByRefAsync(workflowId, taskRefName, status, output, reason));
  }

  /**
   * Async form of {@link #updateTaskByRef(String, String, TaskStatus, Object, String)}.
   *
   * @param workflowId the execution's id
   * @param taskRefName the task's reference name
   * @param status the new status
   * @param output the task's output; null for none
   * @param reason why it failed; null for none
   * @return the id of the task instance updated, eventually
   */
  public CompletableFuture<String> updateTaskByRefAsync(
      String workflowId, String taskRefName, TaskStatus status, Object output, String reason) {
    UpdateTaskByRefRequest.Builder b =
        UpdateTaskByRefRequest.newBuilder()
            .setWorkflowId(workflowId)
            .setTaskRefName(taskRefName)
            .setStatus(status)
            .setReasonForIncompletion(reason == null ? "" : reason);
    if (output != null) {
      b.setOutput(Structs.toStructFromObject(output));
    }
    return call(tasks()::updateTaskByRef, b.build(), UpdateTaskByRefResponse::getTaskId);
  }

  /**
   * Appends log lines to a task, stamped now.
   *
   * @param taskId the task's id
   * @param messages the lines
   */
  public void addTaskLogs(String taskId, List<String> messages) {
    await(addTaskLogsAsync(taskId, messages));
  }

  /**
   * Async form of {@link #addTaskLogs(String, List)}.
   *
   * @param taskId the task's id
   * @param messages the lines
   * @return completes when done
   */
  public CompletableFuture<Void> addTaskLogsAsync(String taskId, List<String> messages) {
    AddTaskLogsRequest.Builder b = AddTaskLogsRequest.newBuilder().setTaskId(taskId);
    com.google.protobuf.Timestamp now = Structs.toTimestamp(Instant.now());
    messages.forEach(m -> b.addLogs(TaskLog.newBuilder().setMessage(m).setTime(now)));
    return call(tasks()::addTaskLogs, b.build(), r -> null);
  }

  /**
   * Lists task queues with their depth and subscribers.
   *
   * @param taskType only this task type; null or empty lists every queue
   * @return the queues
   */
  public List<QueueInfo> listQueues(String taskType) {
    return await(listQueuesAsync(taskType));
  }

  /**
   * Async form of {@link #listQueues(String)}.
   *
   * @param taskType only this task type; null or empty lists every queue
   * @return the queues, eventually
   */
  public CompletableFuture<List<QueueInfo>> listQueuesAsync(String taskType) {
    return call(
        tasks()::listQueues,
        ListQueuesRequest.newBuilder().setTaskType(taskType == null ? "" : taskType).build(),
        r -> List.copyOf(r.getQueuesList()));
  }

  /**
   * Lists the workers connected now (streaming) or polling lately.
   *
   * @param taskType only workers of this task type; null or empty lists every worker
   * @return the workers
   */
  public List<WorkerInfo> listWorkers(String taskType) {
    return await(listWorkersAsync(taskType));
  }

  /**
   * Async form of {@link #listWorkers(String)}.
   *
   * @param taskType only workers of this task type; null or empty lists every worker
   * @return the workers, eventually
   */
  public CompletableFuture<List<WorkerInfo>> listWorkersAsync(String taskType) {
    return call(
        tasks()::listWorkers,
        ListWorkersRequest.newBuilder().setTaskType(taskType == null ? "" : taskType).build(),
        r -> List.copyOf(r.getWorkersList()));
  }

  /**
   * Searches task instances with a query (the query language of {@link #searchWorkflows(String,
   * int, int)}, over task fields).
   *
   * @param query the query; empty matches every task
   * @param start results to skip
   * @param size results to return (0 only counts)
   * @return the total number of hits and the page
   */
  public SearchTasksResponse searchTasks(String query, int start, int size) {
    return searchTasks(
        SearchTasksRequest.newBuilder()
            .setQuery(query == null ? "" : query)
            .setStart(start)
            .setSize(size)
            .build());
  }

  /**
   * Searches task instances with every option of the request.
   *
   * @param request the search
   * @return the total number of hits and the page
   */
  public SearchTasksResponse searchTasks(SearchTasksRequest request) {
    return await(searchTasksAsync(request));
  }

  /**
   * Async form of {@link #searchTasks(SearchTasksRequest)}.
   *
   * @param request the search
   * @return the hits, eventually
   */
  public CompletableFuture<SearchTasksResponse> searchTasksAsync(SearchTasksRequest request) {
    return call(tasks()::searchTasks, request, r -> r);
  }

  // --------------------------------------------------------------- tasks (polling workers)

  /**
   * Takes one task of a type off its queue, waiting for one up to a timeout. The {@link
   * io.baton.sdk.worker.Worker} streams tasks instead; this is for callers running their own
   * loop.
   *
   * @param taskType the task type
   * @param workerId who takes it (kept on the task); null or empty for none
   * @param timeout how long to wait for a task
   * @return the task, or empty when none came in time
   */
  public Optional<TaskAssignment> pollTask(String taskType, String workerId, Duration timeout) {
    return await(pollTaskAsync(taskType, null, workerId, timeout));
  }

  /**
   * Async form of {@link #pollTask(String, String, Duration)}, from one domain.
   *
   * @param taskType the task type
   * @param domain the domain; null or empty for none
   * @param workerId who takes it; null or empty for none
   * @param timeout how long to wait for a task
   * @return the task or empty, eventually
   */
  public CompletableFuture<Optional<TaskAssignment>> pollTaskAsync(
      String taskType, String domain, String workerId, Duration timeout) {
    int ms = (int) Math.max(0, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
    PollRequest req =
        PollRequest.newBuilder()
            .setTaskType(taskType)
            .setDomain(domain == null ? "" : domain)
            .setWorkerId(workerId == null ? "" : workerId)
            .setTimeoutMs(ms)
            .build();
    TaskServiceGrpc.TaskServiceStub stub =
        tasks.withDeadlineAfter(callTimeout.toMillis() + ms, TimeUnit.MILLISECONDS);
    return call(
        stub::poll, req, r -> r.hasTask() ? Optional.of(r.getTask()) : Optional.<TaskAssignment>empty());
  }

  /**
   * Takes up to {@code count} tasks of a type off its queue, waiting up to a timeout for the
   * first.
   *
   * @param taskType the task type
   * @param workerId who takes them; null or empty for none
   * @param count the most tasks
   * @param timeout how long to wait for a task
   * @return the tasks; empty when none came in time
   */
  public List<TaskAssignment> batchPollTasks(
      String taskType, String workerId, int count, Duration timeout) {
    return await(batchPollTasksAsync(taskType, null, workerId, count, timeout));
  }

  /**
   * Async form of {@link #batchPollTasks(String, String, int, Duration)}, from one domain.
   *
   * @param taskType the task type
   * @param domain the domain; null or empty for none
   * @param workerId who takes them; null or empty for none
   * @param count the most tasks
   * @param timeout how long to wait for a task
   * @return the tasks, eventually
   */
  public CompletableFuture<List<TaskAssignment>> batchPollTasksAsync(
      String taskType, String domain, String workerId, int count, Duration timeout) {
    int ms = (int) Math.max(0, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
    BatchPollRequest req =
        BatchPollRequest.newBuilder()
            .setTaskType(taskType)
            .setDomain(domain == null ? "" : domain)
            .setWorkerId(workerId == null ? "" : workerId)
            .setCount(count)
            .setTimeoutMs(ms)
            .build();
    TaskServiceGrpc.TaskServiceStub stub =
        tasks.withDeadlineAfter(callTimeout.toMillis() + ms, TimeUnit.MILLISECONDS);
    return call(stub::batchPoll, req, r -> List.copyOf(r.getTasksList()));
  }

  /**
   * Reports the result of a polled task.
   *
   * @param result the result (task id, token, status, output, ...)
   * @throws BatonException FAILED_PRECONDITION when the lease was lost
   */
  public void updateTask(io.baton.v1.TaskResult result) {
    await(updateTaskAsync(result));
  }

  /**
   * Completes a polled task with an output.
   *
   * @param task the task as polled
   * @param output its output (a map or a bean); null for none
   */
  public void completeTask(TaskAssignment task, Object output) {
    io.baton.v1.TaskResult.Builder b =
        io.baton.v1.TaskResult.newBuilder()
            .setTaskId(task.getTaskId())
            .setToken(task.getToken())
            .setWorkflowId(task.getWorkflowId())
            .setStatus(TaskStatus.TASK_STATUS_COMPLETED);
    if (output != null) {
      b.setOutput(Structs.toStructFromObject(output));
    }
    updateTask(b.build());
  }

  /**
   * Async form of {@link #updateTask(io.baton.v1.TaskResult)}.
   *
   * @param result the result
   * @return completes when done
   */
  public CompletableFuture<Void> updateTaskAsync(io.baton.v1.TaskResult result) {
    return call(tasks()::updateTask, UpdateTaskRequest.newBuilder().setResult(result).build(), r -> null);
  }

  /**
   * Extends the lease of a polled task by its response timeout.
   *
   * @param task the task as polled
   * @return the new lease deadline
   */
  public Instant extendLease(TaskAssignment task) {
    return await(extendLeaseAsync(task.getTaskId(), task.getToken(), task.getWorkflowId()));
  }

  /**
   * Async form of {@link #extendLease(TaskAssignment)}.
   *
   * @param taskId the task's id
   * @param token the lease token the poll returned
   * @param workflowId the execution's id
   * @return the new lease deadline, eventually
   */
  public CompletableFuture<Instant> extendLeaseAsync(String taskId, String token, String workflowId) {
    return call(
        tasks()::extendLease,
        ExtendLeaseRequest.newBuilder()
            .setTaskId(taskId)
            .setToken(token)
            .setWorkflowId(workflowId == null ? "" : workflowId)
            .build(),
        r -> Structs.toInstant(r.getLeaseDeadline()));
  }

  // ------------------------------------------------------------------------------ monitoring

  /**
   * Reads the server's overview: counts since start, latencies, queues, workers and the latest
   * failures.
   *
   * @param recentFailures how many recent failed executions to list, at most 100; 0 lists 10
   * @return the overview
   */
  public GetOverviewResponse getOverview(int recentFailures) {
    return await(getOverviewAsync(recentFailures));
  }

  /**
   * Async form of {@link #getOverview(int)}.
   *
   * @param recentFailures how many recent failed executions to list; 0 lists 10
   * @return the overview, eventually
   */
  public CompletableFuture<GetOverviewResponse> getOverviewAsync(int recentFailures) {
    return call(
        monitor()::getOverview,
        GetOverviewRequest.newBuilder().setRecentFailures(recentFailures).build(),
        r -> r);
  }

  /**
   * Reads the server's metrics history: one {@link MetricsSample} every ten seconds (workflows
   * started and ended, tasks ended, queue wait and run time quantiles, queue depth, workers),
   * oldest first. The server keeps the last hour in memory; the first sample comes ten seconds
   * after it started.
   *
   * @param minutes how many of the last minutes to read, at most 60; 0 reads the whole hour
   *     kept. A negative number or more than 60 fails with {@code INVALID_ARGUMENT}.
   * @return the history
   */
  public MetricsHistory getMetricsHistory(int minutes) {
    return await(getMetricsHistoryAsync(minutes));
  }

  /**
   * Async form of {@link #getMetricsHistory(int)}.
   *
   * @param minutes how many of the last minutes to read, at most 60; 0 reads the whole hour kept
   * @return the history, eventually
   */
  public CompletableFuture<MetricsHistory> getMetricsHistoryAsync(int minutes) {
    return call(
        monitor()::getMetricsHistory,
        GetMetricsHistoryRequest.newBuilder().setMinutes(minutes).build(),
        MetricsHistory::from);
  }

  // --------------------------------------------------------------------------------- admin

  /**
   * Makes an API key. Its text is in the answer only: the server keeps a digest of the secret.
   * Needs the admin role on a server with {@code --auth}.
   *
   * <pre>{@code
   * CreatedApiKey made = admin.createApiKey("billing-workers", Role.WORKER);
   * Worker.builder().apiKey(made.keyText()) ...
   * }</pre>
   *
   * @param name a name for people: who or what uses the key; at most 200 characters
   * @param role what the key may do
   * @return the stored key with its text and secret
   * @throws BatonException INVALID_ARGUMENT for an empty or too long name; PERMISSION_DENIED
   *     for a caller that is not an admin
   */
  public CreatedApiKey createApiKey(String name, Role role) {
    return await(createApiKeyAsync(name, role));
  }

  /**
   * Async form of {@link #createApiKey(String, Role)}.
   *
   * @param name a name for people
   * @param role what the key may do
   * @return the stored key with its text and secret, eventually
   */
  public CompletableFuture<CreatedApiKey> createApiKeyAsync(String name, Role role) {
    Objects.requireNonNull(role, "role");
    return call(
        admin()::createApiKey,
        CreateApiKeyRequest.newBuilder()
            .setName(name == null ? "" : name)
            .setRole(role.toProto())
            .build(),
        CreatedApiKey::from);
  }

  /**
   * Lists every API key, revoked ones too, oldest first, without their secrets. Needs the admin
   * role on a server with {@code --auth}.
   *
   * @return the keys
   */
  public List<ApiKey> listApiKeys() {
    return await(listApiKeysAsync());
  }

  /**
   * Async form of {@link #listApiKeys()}.
   *
   * @return the keys, eventually
   */
  public CompletableFuture<List<ApiKey>> listApiKeysAsync() {
    return call(
        admin()::listApiKeys,
        ListApiKeysRequest.getDefaultInstance(),
        r -> r.getKeysList().stream().map(ApiKey::from).toList());
  }

  /**
   * Revokes an API key: it, and every token made from it, is refused from then on (a call with
   * it fails with {@link BatonException#isUnauthenticated()}). Revoking a revoked key changes
   * nothing. Needs the admin role on a server with {@code --auth}.
   *
   * @param id the key's id ({@link ApiKey#id()}, the {@code <id>} of {@code bk_<id>_<secret>})
   * @return the key, now revoked
   * @throws BatonException NOT_FOUND for an unknown id
   */
  public ApiKey revokeApiKey(String id) {
    return await(revokeApiKeyAsync(id));
  }

  /**
   * Async form of {@link #revokeApiKey(String)}.
   *
   * @param id the key's id
   * @return the key, now revoked, eventually
   */
  public CompletableFuture<ApiKey> revokeApiKeyAsync(String id) {
    return call(
        admin()::revokeApiKey,
        RevokeApiKeyRequest.newBuilder().setId(id == null ? "" : id).build(),
        r -> ApiKey.from(r.getKey()));
  }

  /**
   * Reads the newest 100 entries of the audit log, newest first. Needs the admin role on a
   * server with {@code --auth}.
   *
   * @return the entries, newest first
   */
  public List<AuditEvent> listAuditEvents() {
    return listAuditEvents(new AuditQuery());
  }

  /**
   * Reads entries of the audit log, newest first: every request that changed something (a
   * start, a steer, a definition, an admin call) and every refused one. The server writes an
   * entry a moment after it answers the request, so an entry may show up a few milliseconds
   * after its call returned. Needs the admin role on a server with {@code --auth}.
   *
   * @param query which entries (caller, action, outcome, time range, page, limit)
   * @return the entries, newest first
   * @throws BatonException INVALID_ARGUMENT for a limit over 1000
   */
  public List<AuditEvent> listAuditEvents(AuditQuery query) {
    return await(listAuditEventsAsync(query));
  }

  /**
   * Async form of {@link #listAuditEvents(AuditQuery)}.
   *
   * @param query which entries
   * @return the entries, newest first, eventually
   */
  public CompletableFuture<List<AuditEvent>> listAuditEventsAsync(AuditQuery query) {
    return call(
        admin()::listAuditEvents,
        query.toProto(),
        r -> r.getEventsList().stream().map(AuditEvent::from).toList());
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

  private MonitorServiceGrpc.MonitorServiceStub monitor() {
    return monitor.withDeadlineAfter(callTimeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  private TaskServiceGrpc.TaskServiceStub tasks() {
    return tasks.withDeadlineAfter(callTimeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  private AdminServiceGrpc.AdminServiceStub admin() {
    return admin.withDeadlineAfter(callTimeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  private <Q, P, R> CompletableFuture<R> call(
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
            future.completeExceptionally(failure(t));
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

  /**
   * The SDK's exception for a failed call. A server that cannot be reached (nothing listening,
   * connection refused, name not resolved, a failed TLS handshake) is named by its address in
   * the message; a failed handshake also by its reason (for example an untrusted certificate).
   * A call refused for want of credentials by a client that sends no API key says how to set
   * one.
   */
  private BatonException failure(Throwable t) {
    BatonException e = BatonException.from(t);
    if (e.code() == Status.Code.UNAUTHENTICATED && credentials == null) {
      String why = Status.fromThrowable(t).getDescription();
      return new BatonException(
          Status.Code.UNAUTHENTICATED,
          (why == null || why.isEmpty() ? "" : why + " ")
              + "(this client sends no API key: set one with apiKey(...) or "
              + ApiKeyCredentials.API_KEY_ENV
              + ")",
          t);
    }
    if (e.code() == Status.Code.UNAVAILABLE) {
      Status s = Status.fromThrowable(t);
      String why = s.getDescription() == null ? "" : s.getDescription();
      String handshake = Channels.handshakeFailure(s.getCause());
      if (handshake != null) {
        why = "TLS handshake failed: " + handshake;
      } else if (s.getCause() != null && s.getCause().getMessage() != null) {
        why = why.isEmpty() ? s.getCause().getMessage() : why + " (" + s.getCause().getMessage() + ")";
      }
      return new BatonException(
          Status.Code.UNAVAILABLE,
          "cannot reach the Baton server at " + channel.authority() + (why.isEmpty() ? "" : ": " + why),
          t);
    }
    return e;
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
