package io.baton.sdk.worker;

import io.baton.sdk.BatonClient;
import io.baton.sdk.internal.ApiKeyCredentials;
import io.baton.sdk.internal.Channels;
import io.baton.v1.TaskServiceGrpc;
import io.grpc.CallCredentials;
import io.grpc.Channel;
import io.grpc.ManagedChannel;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs task handlers for one or more task types, taking tasks from Baton's worker stream.
 *
 * <pre>{@code
 * Worker worker = Worker.builder()
 *     .target("127.0.0.1:7070")
 *     .task("count_letters", task -> Map.of("count", task.input("text", String.class).length()))
 *     .build()
 *     .start();
 * ...
 * worker.shutdown(Duration.ofSeconds(30));
 * }</pre>
 *
 * <p>Each task type gets its own stream and its own pool of {@code concurrency} threads (or, with
 * {@link Builder#executor}, runs its handlers on the executor given); the stream's credit always
 * equals the free slots, so the server never pushes more tasks than can run. A handler may return
 * a {@link java.util.concurrent.CompletionStage}: the task keeps its slot, and its lease is
 * extended, until the stage completes, and no thread waits for it meanwhile. When the stream breaks the worker reconnects with exponential backoff; results the
 * server has not acknowledged yet are sent again (with their attempt token) on the new stream.
 * A result larger than the server reads in one message (it names that size in the stream's
 * {@code baton-max-message-bytes} response header) is not sent: the task is reported FAILED, with
 * a reason naming both sizes, instead. Long tasks get their lease extended automatically at about 80% of their response timeout.
 *
 * <p>Settings come from code and, overriding code, from environment variables: {@code
 * BATON_SERVER} (host:port), {@code BATON_WORKER_ID}, {@code BATON_WORKER_DOMAIN}, {@code
 * BATON_WORKER_CONCURRENCY}, {@code BATON_WORKER_BATCH} (see {@link Builder#batching}), and per task type {@code BATON_WORKER_<TYPE>_CONCURRENCY}, {@code
 * _DOMAIN} and {@code _LEASE_EXTENSION} (see {@link TaskOptions}).
 *
 * <p>TLS: an {@code https://} address, or a CA file or client certificate set with {@link
 * Builder#caFile} and {@link Builder#clientCertificate} or, when the code sets none, with {@code
 * BATON_CA_FILE}, {@code BATON_CLIENT_CERT} and {@code BATON_CLIENT_KEY} (see {@link
 * Builder#target}).
 *
 * <p>A server started with {@code --auth} needs an API key with the worker role (or admin): set
 * with {@link Builder#apiKey} or, when the code sets none, {@code BATON_API_KEY} (or, for a
 * worker built with {@link Builder#client}, the client's key), and sent on every stream,
 * reconnects included. A stream refused for its key ({@code UNAUTHENTICATED}, a
 * revoked key say, or {@code PERMISSION_DENIED}) takes no task; the worker logs the refusal and
 * keeps trying with backoff.
 */
public final class Worker implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Worker.class);
  /** Environment variable: serve worker metrics over HTTP on this port (when code sets none). */
  public static final String METRICS_PORT_ENV = "BATON_WORKER_METRICS_PORT";

  /** Environment variable: the address the metrics HTTP server listens on (default all). */
  public static final String METRICS_ADDR_ENV = "BATON_WORKER_METRICS_ADDR";

  /** Concurrency of a task type when neither code nor environment sets one. */
  public static final int DEFAULT_CONCURRENCY = 8;

  private enum State {
    NEW,
    RUNNING,
    STOPPING,
    STOPPED
  }

  private final ManagedChannel ownedChannel;
  private final ManagedChannel managedChannel;
  private final TaskServiceGrpc.TaskServiceStub stub;
  private final boolean sendsApiKey;
  private final String workerId;
  private final List<TaskStream> streams;
  private final ScheduledExecutorService scheduler;
  private final WorkerListener listener;
  private final Duration initialBackoff;
  private final Duration maxBackoff;
  private final Duration drainTimeout;
  /** The worker metrics; null when off. */
  private final WorkerMetrics metrics;
  /** The port to serve metrics on (0: any free one); -1 for none. */
  private final int metricsPortWanted;
  private final String metricsAddress;
  /** The metrics HTTP server this worker started; closed with the worker. */
  private java.io.Closeable metricsServer;
  private int metricsPort = -1;
  private final CountDownLatch stopped = new CountDownLatch(1);
  private State state = State.NEW;

  private Worker(Builder b) {
    Map<String, String> env = b.env != null ? b.env : System.getenv();
    Channel ch;
    if (b.channel != null) {
      if (b.caFile != null || b.certificateChain != null) {
        throw new IllegalArgumentException(
            "caFile and clientCertificate apply to a channel the worker opens, not to one given"
                + " with channel(...) or client(...)");
      }
      ch = b.channel;
      ownedChannel = null;
      managedChannel = b.channel instanceof ManagedChannel mc ? mc : null;
    } else {
      String target = b.target != null ? b.target : Channels.targetFromEnv(env);
      ownedChannel =
          Channels.open(
              target,
              Channels.TlsFiles.resolve(b.caFile, b.certificateChain, b.privateKey, env));
      managedChannel = ownedChannel;
      ch = ownedChannel;
    }
    CallCredentials credentials;
    if (b.apiKey == null && b.client != null) {
      credentials = b.client.callCredentials();
    } else {
      credentials = ApiKeyCredentials.resolve(b.apiKey, env);
    }
    this.stub = TaskServiceGrpc.newStub(ch).withCallCredentials(credentials);
    this.sendsApiKey = credentials != null;
    this.workerId = firstNonBlank(env.get("BATON_WORKER_ID"), b.workerId, defaultWorkerId());
    this.listener = b.listener != null ? b.listener : new WorkerListener() {};
    this.initialBackoff = b.initialBackoff;
    this.maxBackoff = b.maxBackoff;
    this.drainTimeout = b.drainTimeout;
    ScheduledThreadPoolExecutor sched =
        new ScheduledThreadPoolExecutor(
            1,
            r -> {
              Thread t = new Thread(r, "baton-worker-timer");
              t.setDaemon(true);
              return t;
            });
    sched.setRemoveOnCancelPolicy(true);
    this.scheduler = Executors.unconfigurableScheduledExecutorService(sched);

    String globalDomain = firstNonBlank(env.get("BATON_WORKER_DOMAIN"), null, null);
    Integer globalConcurrency = parseInt(env.get("BATON_WORKER_CONCURRENCY"), "BATON_WORKER_CONCURRENCY");
    boolean batching = firstNonNull(parseBool(env.get("BATON_WORKER_BATCH")), b.batching);
    Integer port = b.metricsPort;
    if (port == null) {
      String text = env.get(METRICS_PORT_ENV);
      if (text != null && !text.isBlank()) {
        try {
          port = Integer.parseInt(text.trim());
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException(METRICS_PORT_ENV + "=" + text + " is not a port number");
        }
      }
    }
    this.metricsPortWanted = port == null ? -1 : port;
    this.metricsAddress =
        firstNonBlank(b.metricsAddress, env.get(METRICS_ADDR_ENV), "0.0.0.0");
    WorkerMetrics metrics = null;
    if (b.metrics != null) {
      metrics = b.metrics;
    } else if (port != null) {
      requirePrometheus();
      metrics = WorkerMetrics.forDefaultRegistry();
    }
    this.metrics = metrics;
    List<TaskStream> list = new ArrayList<>();
    for (Map.Entry<String, Registration> e : b.tasks.entrySet()) {
      String type = e.getKey();
      TaskOptions o = e.getValue().options;
      String prefix = "BATON_WORKER_" + envName(type) + "_";
      Integer concurrency =
          firstNonNull(
              parseInt(env.get(prefix + "CONCURRENCY"), prefix + "CONCURRENCY"),
              globalConcurrency,
              o.concurrency,
              b.concurrency);
      String domain =
          firstNonNull(
              env.get(prefix + "DOMAIN"), globalDomain, o.domain, b.domain == null ? "" : b.domain);
      Boolean lease =
          firstNonNull(parseBool(env.get(prefix + "LEASE_EXTENSION")), o.leaseExtension, Boolean.TRUE);
      list.add(
          new TaskStream(
              this,
              type,
              domain.trim(),
              Math.max(1, concurrency),
              lease,
              e.getValue().handler,
              b.executor,
              batching,
              metrics == null ? null : metrics.forType(type)));
    }
    this.streams = Collections.unmodifiableList(list);
  }

  /** @return a builder */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Opens the streams and starts taking tasks. Returns at once.
   *
   * @return this worker
   */
  public synchronized Worker start() {
    if (state != State.NEW) {
      throw new IllegalStateException("worker already started");
    }
    if (metricsPortWanted >= 0) {
      requirePrometheus();
      WorkerMetrics.Served served = metrics.serve(metricsAddress, metricsPortWanted);
      metricsServer = served.server();
      metricsPort = served.port();
      LOG.atInfo()
          .addKeyValue("worker_id", workerId)
          .addKeyValue("address", metricsAddress)
          .addKeyValue("port", metricsPort)
          .log("worker metrics served");
    }
    state = State.RUNNING;
    for (TaskStream s : streams) {
      s.start();
      if (s.leaseExtension) {
        scheduler.scheduleWithFixedDelay(
            s::sweepLeases, TaskStream.LEASE_SWEEP_MS, TaskStream.LEASE_SWEEP_MS, TimeUnit.MILLISECONDS);
      }
    }
    LOG.atInfo()
        .addKeyValue("worker_id", workerId)
        .addKeyValue("task_types", taskTypes())
        .log("worker started");
    return this;
  }

  /**
   * Stops taking new tasks. Tasks already running finish and their results are delivered; then
   * the streams close until {@link #resume()}.
   */
  public void pause() {
    for (TaskStream s : streams) {
      s.pause();
    }
  }

  /** Takes tasks again after {@link #pause()}. */
  public void resume() {
    synchronized (this) {
      if (state != State.RUNNING) {
        return;
      }
    }
    for (TaskStream s : streams) {
      s.resume();
    }
  }

  /** @return true while paused */
  public boolean isPaused() {
    return !streams.isEmpty() && streams.get(0).isPaused();
  }

  /**
   * Stops the worker: takes no new tasks, lets running tasks finish and delivers their results
   * within the grace period, then closes the streams and interrupts handlers still running (the
   * server hands their tasks out again).
   *
   * @param grace how long to wait for running tasks
   * @return true when every running task finished and its result was acknowledged in time
   */
  public boolean shutdown(Duration grace) {
    boolean wasStarted;
    synchronized (this) {
      if (state == State.STOPPED || state == State.STOPPING) {
        return awaitStoppedQuietly();
      }
      wasStarted = state == State.RUNNING;
      state = State.STOPPING;
    }
    long started = System.nanoTime();
    long deadline = started + grace.toNanos();
    boolean clean = true;
    for (TaskStream s : streams) {
      s.beginStop();
    }
    if (wasStarted) {
      LOG.atInfo()
          .addKeyValue("worker_id", workerId)
          .addKeyValue("running", runningTasks())
          .addKeyValue("unacknowledged", unacknowledgedResults())
          .addKeyValue("timeout_ms", grace.toMillis())
          .log("worker drain started");
    }
    try {
      for (TaskStream s : streams) {
        clean &= s.awaitDrained(deadline);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      clean = false;
    }
    if (wasStarted) {
      LOG.atInfo()
          .addKeyValue("worker_id", workerId)
          .addKeyValue("drained", clean)
          .addKeyValue("running", runningTasks())
          .addKeyValue("unacknowledged", unacknowledgedResults())
          .addKeyValue("took_ms", (System.nanoTime() - started) / 1_000_000)
          .log("worker drain finished");
    }
    for (TaskStream s : streams) {
      s.forceClose();
    }
    scheduler.shutdownNow();
    if (ownedChannel != null) {
      Channels.close(ownedChannel);
    }
    java.io.Closeable server;
    synchronized (this) {
      server = metricsServer;
      metricsServer = null;
    }
    if (server != null) {
      try {
        server.close();
      } catch (java.io.IOException | RuntimeException e) {
        LOG.atWarn().addKeyValue("worker_id", workerId).setCause(e).log("closing the metrics server failed");
      }
    }
    synchronized (this) {
      state = State.STOPPED;
    }
    stopped.countDown();
    if (wasStarted) {
      LOG.atInfo()
          .addKeyValue("worker_id", workerId)
          .addKeyValue("clean", clean)
          .log("worker stopped");
    }
    return clean;
  }

  private boolean awaitStoppedQuietly() {
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return true;
  }

  /**
   * Same as {@code shutdown(drainTimeout)}, with the drain timeout of {@link
   * Builder#drainTimeout} (default 30 s).
   */
  @Override
  public void close() {
    shutdown(drainTimeout);
  }

  /**
   * Blocks until the worker has been shut down (for a main thread that only runs a worker).
   *
   * @throws InterruptedException when interrupted
   */
  public void awaitTermination() throws InterruptedException {
    stopped.await();
  }

  /** @return whether the worker batches on its streams (see {@link Builder#batching}) */
  public boolean batching() {
    return !streams.isEmpty() && streams.get(0).batching;
  }

  /**
   * The port the worker's metrics are served on.
   *
   * @return the port of the metrics HTTP server this worker started, or -1 when it serves none
   */
  public synchronized int metricsPort() {
    return metricsPort;
  }

  /** @return the id this worker reports to the server */
  public String workerId() {
    return workerId;
  }

  /** @return the task types this worker runs */
  public Set<String> taskTypes() {
    Set<String> s = new LinkedHashSet<>();
    streams.forEach(t -> s.add(t.taskType));
    return s;
  }

  /**
   * The effective concurrency of a task type (after environment overrides).
   *
   * @param taskType the task type
   * @return its concurrency
   */
  public int concurrency(String taskType) {
    return stream(taskType).concurrency;
  }

  /**
   * The effective domain of a task type (after environment overrides).
   *
   * @param taskType the task type
   * @return its domain; empty for the default queue
   */
  public String domain(String taskType) {
    return stream(taskType).domain;
  }

  /** @return how many handlers are running now, over all task types */
  public int runningTasks() {
    return streams.stream().mapToInt(TaskStream::runningCount).sum();
  }

  /** @return how many results wait for the server's acknowledgement */
  public int unacknowledgedResults() {
    return streams.stream().mapToInt(TaskStream::pendingCount).sum();
  }

  private TaskStream stream(String taskType) {
    for (TaskStream s : streams) {
      if (s.taskType.equals(taskType)) {
        return s;
      }
    }
    throw new IllegalArgumentException("no handler for " + taskType);
  }

  // ------------------------------------------------------------------ used by TaskStream

  TaskServiceGrpc.TaskServiceStub stub() {
    return stub;
  }

  boolean sendsApiKey() {
    return sendsApiKey;
  }

  ScheduledExecutorService scheduler() {
    return scheduler;
  }

  WorkerListener listener() {
    return listener;
  }

  Duration initialBackoff() {
    return initialBackoff;
  }

  Duration maxBackoff() {
    return maxBackoff;
  }

  void resetConnectBackoff() {
    if (managedChannel != null) {
      managedChannel.resetConnectBackoff();
    }
  }

  // ------------------------------------------------------------------------------ helpers

  /**
   * The environment-variable form of a task type: upper case, every character other than a
   * letter or digit replaced by '_'.
   *
   * @param taskType the task type
   * @return the name part used in {@code BATON_WORKER_<TYPE>_...}
   */
  public static String envName(String taskType) {
    StringBuilder sb = new StringBuilder(taskType.length());
    for (char c : taskType.toUpperCase(Locale.ROOT).toCharArray()) {
      sb.append((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ? c : '_');
    }
    return sb.toString();
  }

  private static String defaultWorkerId() {
    String host = System.getenv("HOSTNAME");
    if (host == null || host.isBlank()) {
      try {
        host = InetAddress.getLocalHost().getHostName();
      } catch (Exception e) {
        host = "worker";
      }
    }
    return host + "-" + ProcessHandle.current().pid();
  }

  private static Integer parseInt(String s, String name) {
    if (s == null || s.isBlank()) {
      return null;
    }
    try {
      return Integer.parseInt(s.trim());
    } catch (NumberFormatException e) {
      LOG.atWarn().addKeyValue("variable", name).addKeyValue("value", s).log("ignoring a setting that is not a number");
      return null;
    }
  }

  private static Boolean parseBool(String s) {
    if (s == null || s.isBlank()) {
      return null;
    }
    String v = s.trim().toLowerCase(Locale.ROOT);
    return v.equals("1") || v.equals("true") || v.equals("yes") || v.equals("on");
  }

  private static String firstNonBlank(String a, String b, String c) {
    if (a != null && !a.isBlank()) {
      return a.trim();
    }
    if (b != null && !b.isBlank()) {
      return b.trim();
    }
    return c;
  }

  @SafeVarargs
  private static <T> T firstNonNull(T... values) {
    for (T v : values) {
      if (v != null) {
        return v;
      }
    }
    return null;
  }

  private record Registration(TaskHandler handler, TaskOptions options) {}

  private static void requirePrometheus() {
    for (String c :
        new String[] {
          "io.prometheus.metrics.core.metrics.Counter",
          "io.prometheus.metrics.exporter.httpserver.HTTPServer"
        }) {
      try {
        Class.forName(c, false, Worker.class.getClassLoader());
      } catch (ClassNotFoundException e) {
        throw new IllegalStateException(
            "worker metrics need the Prometheus Java client 1.x on the class path: add"
                + " io.prometheus:prometheus-metrics-core and"
                + " io.prometheus:prometheus-metrics-exporter-httpserver (missing "
                + c
                + ")",
            e);
      }
    }
  }

  /** Builder of {@link Worker}. */
  public static final class Builder {
    private String target;
    private Channel channel;
    private String workerId;
    private String domain;
    private int concurrency = DEFAULT_CONCURRENCY;
    private WorkerListener listener;
    private Map<String, String> env;
    private Path caFile;
    private Path certificateChain;
    private Path privateKey;
    private String apiKey;
    private BatonClient client;
    private Duration initialBackoff = Duration.ofMillis(100);
    private Duration maxBackoff = Duration.ofSeconds(10);
    private final Map<String, Registration> tasks = new LinkedHashMap<>();
    private java.util.concurrent.Executor executor;
    private boolean batching = true;
    private Duration drainTimeout = Duration.ofSeconds(30);
    private WorkerMetrics metrics;
    private Integer metricsPort;
    private String metricsAddress;

    private Builder() {}

    /**
     * Records the worker metrics in the registry they were made for, typically {@code
     * WorkerMetrics.forRegistry(registry)} with a Prometheus registry of yours. Needs the
     * optional dependency {@code io.prometheus:prometheus-metrics-core} 1.x.
     *
     * @param metrics the metrics; workers given the same share them
     * @return this builder
     */
    public Builder metrics(WorkerMetrics metrics) {
      this.metrics = Objects.requireNonNull(metrics, "metrics");
      return this;
    }

    /**
     * Serves the worker metrics over HTTP ({@code /metrics}) on this port while the worker runs;
     * the server starts with {@link Worker#start()} and stops with the worker. The metrics go in
     * the registry given to {@link #metrics}, else the Prometheus default registry. Without this
     * call, {@code BATON_WORKER_METRICS_PORT} does the same. Needs the optional dependencies
     * {@code io.prometheus:prometheus-metrics-core} and {@code
     * prometheus-metrics-exporter-httpserver} 1.x.
     *
     * @param port the port; 0 takes any free one (see {@link Worker#metricsPort()})
     * @return this builder
     */
    public Builder metricsPort(int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("not a port: " + port);
      }
      this.metricsPort = port;
      return this;
    }

    /**
     * Sets the address the metrics HTTP server listens on (default {@code
     * BATON_WORKER_METRICS_ADDR}, else all interfaces).
     *
     * @param address a host name or IP address
     * @return this builder
     */
    public Builder metricsAddress(String address) {
      this.metricsAddress = address;
      return this;
    }

    /**
     * Sets how long {@link Worker#close()} waits for running tasks to finish and their results to
     * be acknowledged before it closes the streams anyway (default 30 s). {@link
     * Worker#shutdown(Duration)} takes its own timeout.
     *
     * @param timeout the longest drain
     * @return this builder
     */
    public Builder drainTimeout(Duration timeout) {
      if (timeout.isNegative()) {
        throw new IllegalArgumentException("drain timeout must not be negative");
      }
      this.drainTimeout = timeout;
      return this;
    }

    /**
     * Turns batching on the worker stream on or off (default on; {@code BATON_WORKER_BATCH=0} or
     * {@code =1} overrides). With batching the server may push several tasks and several result
     * acknowledgements in one message, and results that finish at the same moment go out in one
     * message; no result waits for others to batch with.
     *
     * @param batching whether to batch
     * @return this builder
     */
    public Builder batching(boolean batching) {
      this.batching = batching;
      return this;
    }

    /**
     * Runs the handlers of every task type on this executor instead of a pool of threads per
     * task type. Concurrency still bounds how many tasks of a type run at once (the server never
     * hands out more). The worker does not shut the executor down; at a forced shutdown it
     * interrupts the handlers still running on it.
     *
     * <p>On Java 21 and later, {@code Executors.newVirtualThreadPerTaskExecutor()} runs each task
     * on a virtual thread.
     *
     * @param executor the executor
     * @return this builder
     */
    public Builder executor(java.util.concurrent.Executor executor) {
      this.executor = java.util.Objects.requireNonNull(executor, "executor");
      return this;
    }

    /**
     * Sets the server address; the worker opens and owns its channel. Default: {@code
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
     * (default: {@code BATON_CA_FILE}, if set; this setting wins over it). Setting one makes a
     * bare {@code host:port} address TLS; with an {@code http://} address {@link #build()} fails.
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
     * BATON_CLIENT_CERT} and {@code BATON_CLIENT_KEY}, if set; this setting wins over them).
     * Setting one makes a bare {@code host:port} address TLS; with an {@code http://} address
     * {@link #build()} fails.
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
     * Sends this API key on every stream, as {@code authorization: Bearer <key>}: what a server
     * started with {@code --auth} requires, with the worker role (or admin). Default: for a
     * worker built with {@link #client}, that client's key (or none when it sends none);
     * otherwise {@code BATON_API_KEY}, if set. A key set here wins over both, and an empty one
     * sends none. The key is never logged.
     *
     * @param apiKey the key, {@code bk_<id>_<secret>}; empty for none; null leaves it to the
     *     client or {@code BATON_API_KEY}
     * @return this builder
     */
    public Builder apiKey(String apiKey) {
      this.apiKey = apiKey;
      return this;
    }

    /**
     * Uses an existing channel, which the worker does not close.
     *
     * @param channel the channel
     * @return this builder
     */
    public Builder channel(Channel channel) {
      this.channel = channel;
      this.client = null;
      return this;
    }

    /**
     * Uses the channel of a client (not closed by the worker), and its API key unless {@link
     * #apiKey} sets one.
     *
     * @param client the client
     * @return this builder
     */
    public Builder client(BatonClient client) {
      this.channel = client.channel();
      this.client = client;
      return this;
    }

    /**
     * Sets the worker id reported with tasks (default: host name and process id; {@code
     * BATON_WORKER_ID} overrides).
     *
     * @param workerId the id
     * @return this builder
     */
    public Builder workerId(String workerId) {
      this.workerId = workerId;
      return this;
    }

    /**
     * Sets the domain of every task type that does not set its own.
     *
     * @param domain the domain; empty for the default queue
     * @return this builder
     */
    public Builder domain(String domain) {
      this.domain = domain;
      return this;
    }

    /**
     * Sets the concurrency of every task type that does not set its own (default {@value
     * Worker#DEFAULT_CONCURRENCY}).
     *
     * @param concurrency at least 1
     * @return this builder
     */
    public Builder concurrency(int concurrency) {
      if (concurrency < 1) {
        throw new IllegalArgumentException("concurrency must be at least 1");
      }
      this.concurrency = concurrency;
      return this;
    }

    /**
     * Registers a handler for a task type.
     *
     * @param taskType the task type (task definition name)
     * @param handler the handler
     * @return this builder
     */
    public Builder task(String taskType, TaskHandler handler) {
      return task(taskType, handler, TaskOptions.defaults());
    }

    /**
     * Registers a handler for a task type with its own settings.
     *
     * @param taskType the task type
     * @param handler the handler
     * @param options concurrency, domain, lease extension
     * @return this builder
     */
    public Builder task(String taskType, TaskHandler handler, TaskOptions options) {
      Objects.requireNonNull(taskType, "taskType");
      Objects.requireNonNull(handler, "handler");
      if (tasks.putIfAbsent(taskType, new Registration(handler, options)) != null) {
        throw new IllegalArgumentException("two handlers for task type " + taskType);
      }
      return this;
    }

    /**
     * Registers a handler that takes its input as a typed object.
     *
     * @param taskType the task type
     * @param inputType the input class (a record, a bean, or Map)
     * @param handler the handler
     * @param <I> the input type
     * @return this builder
     */
    public <I> Builder task(String taskType, Class<I> inputType, TypedTaskHandler<I> handler) {
      return task(taskType, AnnotatedHandlers.typed(inputType, handler), TaskOptions.defaults());
    }

    /**
     * Registers a typed handler with its own settings.
     *
     * @param taskType the task type
     * @param inputType the input class
     * @param handler the handler
     * @param options concurrency, domain, lease extension
     * @param <I> the input type
     * @return this builder
     */
    public <I> Builder task(
        String taskType, Class<I> inputType, TypedTaskHandler<I> handler, TaskOptions options) {
      return task(taskType, AnnotatedHandlers.typed(inputType, handler), options);
    }

    /**
     * Registers every {@link WorkerTask}-annotated method of a bean.
     *
     * @param bean the object holding the handlers
     * @return this builder
     */
    public Builder bean(Object bean) {
      for (AnnotatedHandlers.Found f : AnnotatedHandlers.scan(bean)) {
        task(f.taskType(), f.handler(), f.options());
      }
      return this;
    }

    /**
     * Sets a listener for connection and task events.
     *
     * @param listener the listener
     * @return this builder
     */
    public Builder listener(WorkerListener listener) {
      this.listener = listener;
      return this;
    }

    /**
     * Sets the reconnect backoff: the first delay, doubled per failed attempt up to the maximum
     * (with ±20% jitter). Default 100 ms to 10 s.
     *
     * @param initial the first delay
     * @param max the longest delay
     * @return this builder
     */
    public Builder reconnectBackoff(Duration initial, Duration max) {
      this.initialBackoff = Objects.requireNonNull(initial);
      this.maxBackoff = Objects.requireNonNull(max);
      return this;
    }

    /**
     * Reads settings ({@code BATON_SERVER}, {@code BATON_WORKER_...}, the TLS files, {@code
     * BATON_API_KEY}) from this map instead of the process environment (for tests and
     * embedding).
     *
     * @param env variable name to value
     * @return this builder
     */
    public Builder environment(Map<String, String> env) {
      this.env = Map.copyOf(env);
      return this;
    }

    /**
     * Builds the worker, opening its channel unless one was given. The TLS files are read now.
     *
     * @return the worker, not started yet
     * @throws IllegalArgumentException when the TLS settings do not fit together (an {@code
     *     http://} address with a CA file or a client certificate; {@code BATON_CLIENT_CERT}
     *     without {@code BATON_CLIENT_KEY} or the reverse; TLS files with {@link #channel} or
     *     {@link #client}), when a TLS file cannot be read or used, or when the API key holds
     *     characters a header cannot carry; the message names the problem (never the key)
     */
    public Worker build() {
      if (tasks.isEmpty()) {
        throw new IllegalStateException("no task handler registered");
      }
      return new Worker(this);
    }
  }
}
