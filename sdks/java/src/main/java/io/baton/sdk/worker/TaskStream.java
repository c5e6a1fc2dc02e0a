package io.baton.sdk.worker;

import io.baton.sdk.Structs;
import io.baton.sdk.internal.ApiKeyCredentials;
import io.baton.sdk.internal.Channels;
import io.baton.v1.Ack;
import io.baton.v1.GrantCredits;
import io.baton.v1.LeaseExtension;
import io.baton.v1.ResultBatch;
import io.baton.v1.Subscribe;
import io.baton.v1.TaskAssignment;
import io.baton.v1.TaskLog;
import io.baton.v1.TaskStatus;
import io.baton.v1.WorkRequest;
import io.baton.v1.WorkResponse;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One task type of a worker: its thread pool and its stream to the server.
 *
 * <p>Bookkeeping (all under {@code lock}): the server may push as many tasks as the credit it
 * holds ({@code outstanding}); the worker keeps {@code outstanding + running == concurrency}
 * while it runs normally, granting one credit back per finished task. Results stay in {@code
 * pending} until the server acknowledges them, and are sent again on every new stream.
 */
final class TaskStream {
  private static final Logger LOG = LoggerFactory.getLogger(Worker.class);
  /**
   * Codes of a refused result that is stale: the task was handed to someone else or timed out
   * ({@code FAILED_PRECONDITION}), or is unknown ({@code NOT_FOUND}). Such a result is dropped.
   */
  private static final Set<String> STALE_CODES = Set.of("FAILED_PRECONDITION", "NOT_FOUND");

  /**
   * Codes of a result the server will never take as it is (its output over the payload limit,
   * for example). Such a result is sent again once as FAILED, so that the task does not wait
   * for its response timeout; a FAILED result refused so is dropped.
   */
  private static final Set<String> REFUSED_CODES = Set.of("INVALID_ARGUMENT", "OUT_OF_RANGE");

  /** How many times a result refused with another code is sent again before it is dropped. */
  static final int MAX_RESULT_RETRIES = 10;

  /** The most results one ResultBatch may carry (the server's limit). */
  static final int MAX_RESULT_BATCH = 1000;

  /**
   * The most bytes one ResultBatch may take, well under the server's message limit (its
   * payload limit, 4 MiB by default, plus 1 MiB), so that results finishing together never
   * make a message the server cannot read. A result larger than this goes alone (and was
   * checked against the server's message limit before, see {@code withinLimit}).
   */
  static final int MAX_RESULT_BATCH_BYTES = 1 << 20;

  /**
   * The messages carrying {@code results}: with batching, ResultBatch messages of at most
   * {@link #MAX_RESULT_BATCH} results and {@link #MAX_RESULT_BATCH_BYTES} bytes (a batch of
   * one as a single result message); without, one message per result. Order is kept.
   */
  static List<WorkRequest> resultMessages(List<io.baton.v1.TaskResult> results, boolean batch) {
    List<WorkRequest> out = new ArrayList<>();
    int i = 0;
    while (i < results.size()) {
      int n = 0;
      long size = 0;
      while (i + n < results.size() && n < MAX_RESULT_BATCH && (batch || n == 0)) {
        int s = results.get(i + n).getSerializedSize();
        if (n > 0 && size + s > MAX_RESULT_BATCH_BYTES) {
          break;
        }
        size += s;
        n++;
      }
      if (n == 1) {
        out.add(WorkRequest.newBuilder().setResult(results.get(i)).build());
      } else {
        out.add(
            WorkRequest.newBuilder()
                .setResults(ResultBatch.newBuilder().addAllResults(results.subList(i, i + n)))
                .build());
      }
      i += n;
    }
    return out;
  }

  /**
   * Response header of the worker stream naming the largest message (in bytes) the server
   * reads; the server sends it once it has read the subscription, before any task.
   */
  static final Metadata.Key<String> MAX_MESSAGE_HEADER =
      Metadata.Key.of("baton-max-message-bytes", Metadata.ASCII_STRING_MARSHALLER);

  /** The message limit assumed when the server names none (an older server): gRPC's default. */
  static final long DEFAULT_MAX_MESSAGE_BYTES = 4L * 1024 * 1024;

  /**
   * The largest message the server reads, from the Work stream's response headers: {@link
   * #DEFAULT_MAX_MESSAGE_BYTES} when the header is absent or not a positive number.
   */
  static long maxMessageBytes(Metadata headers) {
    String text = headers == null ? null : headers.get(MAX_MESSAGE_HEADER);
    if (text == null) {
      return DEFAULT_MAX_MESSAGE_BYTES;
    }
    try {
      long n = Long.parseLong(text.trim());
      if (n > 0) {
        return n;
      }
    } catch (NumberFormatException e) {
      // falls through
    }
    LOG.atWarn()
        .addKeyValue("header", MAX_MESSAGE_HEADER.name())
        .addKeyValue("value", text)
        .addKeyValue("limit_bytes", DEFAULT_MAX_MESSAGE_BYTES)
        .log("the server's message limit is not a positive number; assuming the default");
    return DEFAULT_MAX_MESSAGE_BYTES;
  }

  /** The size in bytes of the WorkRequest carrying {@code result} alone. */
  static long resultMessageSize(io.baton.v1.TaskResult result) {
    return WorkRequest.newBuilder().setResult(result).build().getSerializedSize();
  }

  /**
   * What goes out in place of a result whose message is {@code size} bytes, more than the
   * {@code limit} the server reads: the same task, attempt, workflow and worker, FAILED, with no
   * output and no logs, and a reason naming both sizes.
   */
  static io.baton.v1.TaskResult tooLarge(io.baton.v1.TaskResult result, long size, long limit) {
    return io.baton.v1.TaskResult.newBuilder()
        .setTaskId(result.getTaskId())
        .setToken(result.getToken())
        .setWorkflowId(result.getWorkflowId())
        .setWorkerId(result.getWorkerId())
        .setStatus(TaskStatus.TASK_STATUS_FAILED)
        .setReasonForIncompletion(
            "the task result is "
                + size
                + " bytes, more than the "
                + limit
                + " bytes the server reads in one message")
        .build();
  }

  /**
   * What goes out in place of a result the server refused with {@code code} ({@code
   * INVALID_ARGUMENT} or {@code OUT_OF_RANGE}, for an output over its payload limit for
   * example): the same task, attempt, workflow, worker and logs, FAILED, with no output and a
   * reason quoting the server.
   */
  static io.baton.v1.TaskResult refused(io.baton.v1.TaskResult result, String code, String message) {
    return result.toBuilder()
        .setStatus(TaskStatus.TASK_STATUS_FAILED)
        .clearOutput()
        .setCallbackAfterSeconds(0)
        .setReasonForIncompletion("the server refused the task result: " + code + ": " + message)
        .build();
  }

  /** Call option carrying what to do with the Work stream's response headers. */
  private static final CallOptions.Key<Consumer<Metadata>> ON_HEADERS =
      CallOptions.Key.create("baton-work-on-headers");

  /** Hands a call's response headers to its {@link #ON_HEADERS} option, when set. */
  private static final ClientInterceptor HEADERS =
      new ClientInterceptor() {
        @Override
        public <Q, A> ClientCall<Q, A> interceptCall(
            MethodDescriptor<Q, A> method, CallOptions options, Channel next) {
          Consumer<Metadata> onHeaders = options.getOption(ON_HEADERS);
          ClientCall<Q, A> call = next.newCall(method, options);
          if (onHeaders == null) {
            return call;
          }
          return new ForwardingClientCall.SimpleForwardingClientCall<>(call) {
            @Override
            public void start(Listener<A> listener, Metadata headers) {
              super.start(
                  new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
                    @Override
                    public void onHeaders(Metadata h) {
                      onHeaders.accept(h);
                      super.onHeaders(h);
                    }
                  },
                  headers);
            }
          };
        }
      };

  /** How often running tasks are checked for a due lease extension. */
  static final long LEASE_SWEEP_MS = 100;

  final String taskType;
  final String domain;
  final int concurrency;
  final boolean leaseExtension;
  private final TaskHandler handler;
  private final Worker worker;
  /** The pool the stream owns; null when handlers run on the worker's executor. */
  private final ThreadPoolExecutor pool;
  /** Where handlers run: {@link #pool}, or the executor given to the worker. */
  private final Executor executor;

  private final Object lock = new Object();
  // Everything below is guarded by lock.
  private Connection conn;
  private final Set<Connection> closing = new HashSet<>();
  private int outstanding;
  private final Map<String, Running> running = new HashMap<>();
  private final Map<String, Pending> pending = new LinkedHashMap<>();
  private boolean paused;
  private boolean stopping;
  private boolean closed;
  private int failures;
  /** Streams opened so far; every one after the first counts as a reconnect. */
  private int sessions;
  /** This task type's Prometheus metrics; null when metrics are off. */
  private final WorkerMetrics.ForType metrics;
  private ScheduledFuture<?> reconnect;
  private boolean creditFlushQueued;
  private final int creditBatch;
  /** Results finished since the sender last ran, to go out on {@code conn}; guarded by lock. */
  private List<io.baton.v1.TaskResult> outbox = new ArrayList<>();
  /** Credit granted (counted in {@code outstanding}) but not sent yet; guarded by lock. */
  private int creditsToSend;
  /** Whether a thread is sending the outbox now; guarded by lock. */
  private boolean sending;
  /** Subscribe with batch (tasks and acks in batches) and send results in batches. */
  final boolean batching;
  /**
   * The largest message the server reads, as the latest stream's response headers said ({@link
   * #DEFAULT_MAX_MESSAGE_BYTES} until one did); no result message larger than this is sent.
   */
  private volatile long maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES;

  TaskStream(
      Worker worker,
      String taskType,
      String domain,
      int concurrency,
      boolean leaseExtension,
      TaskHandler handler,
      Executor userExecutor,
      boolean batching,
      WorkerMetrics.ForType metrics) {
    this.metrics = metrics;
    this.worker = worker;
    this.batching = batching;
    this.taskType = taskType;
    this.domain = domain;
    this.concurrency = concurrency;
    this.leaseExtension = leaseExtension;
    this.handler = handler;
    this.creditBatch = Math.max(1, concurrency / 8);
    if (userExecutor != null) {
      this.pool = null;
      this.executor = userExecutor;
      return;
    }
    AtomicInteger n = new AtomicInteger();
    this.pool =
        new ThreadPoolExecutor(
            concurrency,
            concurrency,
            60,
            TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(),
            r -> {
              Thread t = new Thread(r, "baton-" + taskType + "-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    this.pool.allowCoreThreadTimeOut(true);
    this.executor = pool;
  }

  // ------------------------------------------------------------------------------ lifecycle

  void start() {
    boolean connected;
    synchronized (lock) {
      connected = connectLocked();
    }
    if (connected) {
      announceConnected();
    }
  }

  /** Logs a new stream and tells the listener. */
  private void announceConnected() {
    LOG.atInfo()
        .addKeyValue("task_type", taskType)
        .addKeyValue("worker_id", worker.workerId())
        .addKeyValue("domain", domain)
        .addKeyValue("concurrency", concurrency)
        .addKeyValue("batch", batching)
        .log("worker stream connected");
    worker.listener().onConnected(taskType);
  }

  void pause() {
    synchronized (lock) {
      paused = true;
      maybeCloseLocked();
    }
  }

  void resume() {
    boolean connected = false;
    synchronized (lock) {
      paused = false;
      if (conn == null) {
        failures = 0;
        connected = connectLocked();
      } else {
        topUpLocked();
      }
    }
    if (connected) {
      announceConnected();
    }
  }

  /** Stops taking tasks; in-flight ones go on and their results are still delivered. */
  void beginStop() {
    synchronized (lock) {
      stopping = true;
      maybeCloseLocked();
      lock.notifyAll();
    }
  }

  /**
   * Waits until every running task finished and its result was acknowledged.
   *
   * @return true when drained before the deadline
   */
  boolean awaitDrained(long deadlineNanos) throws InterruptedException {
    synchronized (lock) {
      while (!(running.isEmpty() && pending.isEmpty())) {
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        TimeUnit.NANOSECONDS.timedWait(lock, left);
      }
      return true;
    }
  }

  /** Ends the stream at once and interrupts handlers still running. */
  void forceClose() {
    synchronized (lock) {
      closed = true;
      if (reconnect != null) {
        reconnect.cancel(false);
        reconnect = null;
      }
      if (conn != null) {
        conn.cancel("worker shut down");
        conn = null;
      }
      for (Connection c : closing) {
        c.cancel("worker shut down");
      }
      closing.clear();
      if (metrics != null) {
        metrics.inFlight(0);
      }
      if (!running.isEmpty() || !pending.isEmpty()) {
        LOG.atWarn()
            .addKeyValue("task_type", taskType)
            .addKeyValue("worker_id", worker.workerId())
            .addKeyValue("running", running.size())
            .addKeyValue("unacknowledged", pending.size())
            .log("worker closed with tasks still running or results not acknowledged; the server hands them out again");
      }
      if (pool == null) {
        // The executor is the caller's to shut down; interrupt the handlers still on it.
        for (Running r : running.values()) {
          Thread t = r.thread;
          if (t != null) {
            t.interrupt();
          }
        }
      }
      lock.notifyAll();
    }
    if (pool != null) {
      pool.shutdownNow();
    }
  }

  boolean isPaused() {
    synchronized (lock) {
      return paused;
    }
  }

  int runningCount() {
    synchronized (lock) {
      return running.size();
    }
  }

  int pendingCount() {
    synchronized (lock) {
      return pending.size();
    }
  }

  // ---------------------------------------------------------------------------- connection

  private boolean wantStreamLocked() {
    return !closed && ((!paused && !stopping) || !running.isEmpty() || !pending.isEmpty());
  }

  /**
   * Opens a stream and subscribes; unacknowledged results are sent again once the server's
   * response headers (and with them its message limit) arrive, see {@code onHeaders}.
   */
  private boolean connectLocked() {
    if (closed || conn != null || !wantStreamLocked()) {
      return false;
    }
    if (reconnect != null) {
      reconnect.cancel(false);
      reconnect = null;
    }
    Connection c = new Connection();
    conn = c;
    outstanding = 0;
    sessions++;
    if (sessions > 1 && metrics != null) {
      metrics.reconnected();
    }
    // Everything in the outbox is pending too, and pending is re-sent once the stream is
    // ready; the credit goes with the subscription.
    outbox = new ArrayList<>();
    creditsToSend = 0;
    try {
      Consumer<Metadata> onHeaders = h -> onHeaders(c, h);
      worker.stub().withInterceptors(HEADERS).withOption(ON_HEADERS, onHeaders).work(c);
    } catch (RuntimeException e) {
      conn = null;
      failures++;
      scheduleReconnectLocked();
      return false;
    }
    int credits = desiredCreditsLocked();
    c.send(
        WorkRequest.newBuilder()
            .setSubscribe(
                Subscribe.newBuilder()
                    .addTaskTypes(taskType)
                    .setDomain(domain)
                    .setWorkerId(worker.workerId())
                    .setCredits(credits)
                    .setBatch(batching))
            .build());
    outstanding = credits;
    return true;
  }

  /**
   * The stream's response headers: keeps the server's message limit, marks the stream ready for
   * results and sends the unacknowledged ones again (any too large for the limit replaced).
   */
  private void onHeaders(Connection c, Metadata headers) {
    long limit = maxMessageBytes(headers);
    synchronized (lock) {
      if (c != conn) {
        return;
      }
      maxMessageBytes = limit;
      c.ready = true;
      // Whatever finished since the stream opened is pending and goes out here.
      outbox = new ArrayList<>();
      if (pending.isEmpty()) {
        return;
      }
      List<io.baton.v1.TaskResult> again = new ArrayList<>(pending.size());
      for (Pending p : pending.values()) {
        fitLocked(p);
        again.add(p.result);
      }
      c.sendResults(again, batching);
      LOG.atDebug()
          .addKeyValue("task_type", taskType)
          .addKeyValue("worker_id", worker.workerId())
          .addKeyValue("results", again.size())
          .log("unacknowledged results sent again");
    }
  }

  /**
   * @return {@code result}, or its FAILED replacement (logged) when the message carrying it is
   *     larger than the server's message limit
   */
  private io.baton.v1.TaskResult withinLimit(io.baton.v1.TaskResult result) {
    long limit = maxMessageBytes;
    long size = resultMessageSize(result);
    if (size <= limit) {
      return result;
    }
    LOG.atError()
        .addKeyValue("task_type", taskType)
        .addKeyValue("task_id", result.getTaskId())
        .addKeyValue("workflow_id", result.getWorkflowId())
        .addKeyValue("worker_id", worker.workerId())
        .addKeyValue("size_bytes", size)
        .addKeyValue("limit_bytes", limit)
        .log("task result larger than the server reads in one message; reported FAILED instead");
    return tooLarge(result, size, limit);
  }

  /** Replaces a pending result too large to send by its FAILED replacement. */
  private void fitLocked(Pending p) {
    io.baton.v1.TaskResult r = withinLimit(p.result);
    if (r != p.result) {
      p.result = r;
      p.terminal = true;
    }
  }

  private int desiredCreditsLocked() {
    if (paused || stopping || closed) {
      return 0;
    }
    return Math.max(0, concurrency - running.size());
  }

  private void topUpLocked() {
    if (conn == null) {
      return;
    }
    int grant = desiredCreditsLocked() - outstanding;
    if (grant > 0) {
      conn.send(
          WorkRequest.newBuilder().setCredits(GrantCredits.newBuilder().setCredits(grant)).build());
      outstanding += grant;
    }
  }

  /**
   * Returns credit for finished tasks. With many slots, credit goes back in batches of an eighth
   * of the slots (fewer messages under load); a remainder smaller than that follows within a
   * couple of milliseconds.
   */
  private void creditsAfterFinishLocked() {
    int grant = desiredCreditsLocked() - outstanding;
    if (grant <= 0 || conn == null) {
      return;
    }
    if (grant >= creditBatch) {
      // Sent by the thread that sends the outbox, outside the lock.
      outstanding += grant;
      creditsToSend += grant;
      return;
    }
    if (!creditFlushQueued) {
      creditFlushQueued = true;
      try {
        worker.scheduler().schedule(this::flushCredits, 2, TimeUnit.MILLISECONDS);
      } catch (RejectedExecutionException e) {
        creditFlushQueued = false;
        topUpLocked();
      }
    }
  }

  private void flushCredits() {
    synchronized (lock) {
      creditFlushQueued = false;
      topUpLocked();
    }
  }

  /** Ends the stream when paused or stopping and nothing is left to deliver. */
  private void maybeCloseLocked() {
    if ((paused || stopping) && running.isEmpty() && pending.isEmpty()) {
      if (conn != null) {
        Connection c = conn;
        conn = null;
        outstanding = 0;
        closing.add(c);
        c.halfClose();
        // The server normally ends the call at once; make sure it does not linger.
        worker.scheduler().schedule(() -> c.cancel("closed by worker"), 5, TimeUnit.SECONDS);
      }
      lock.notifyAll();
    }
  }

  /** @return the delay before the next attempt in milliseconds; -1 when none is scheduled */
  private long scheduleReconnectLocked() {
    if (closed || reconnect != null) {
      return -1;
    }
    Duration initial = worker.initialBackoff();
    Duration max = worker.maxBackoff();
    int exp = Math.min(20, Math.max(0, failures - 1));
    double base = Math.min((double) max.toMillis(), initial.toMillis() * Math.pow(2, exp));
    long delay = (long) (base * (0.8 + 0.4 * ThreadLocalRandom.current().nextDouble()));
    reconnect =
        worker
            .scheduler()
            .schedule(
                () -> {
                  worker.resetConnectBackoff();
                  boolean connected;
                  synchronized (lock) {
                    reconnect = null;
                    connected = connectLocked();
                  }
                  if (connected) {
                    announceConnected();
                  }
                },
                delay,
                TimeUnit.MILLISECONDS);
    return delay;
  }

  // ------------------------------------------------------------------------- from the server

  private void onMessage(Connection c, WorkResponse r) {
    switch (r.getKindCase()) {
      case TASK -> onTask(c, r.getTask());
      case RESULT_ACK -> onResultAck(c, r.getResultAck());
      case TASKS -> {
        for (TaskAssignment a : r.getTasks().getTasksList()) {
          onTask(c, a);
        }
      }
      case RESULT_ACKS -> {
        for (Ack ack : r.getResultAcks().getAcksList()) {
          onResultAck(c, ack);
        }
      }
      case LEASE_ACK -> onLeaseAck(r.getLeaseAck());
      default -> LOG.atDebug().addKeyValue("kind", r.getKindCase()).log("ignored a message of unknown kind");
    }
  }

  private void onTask(Connection c, TaskAssignment a) {
    Running run;
    synchronized (lock) {
      if (c != conn) {
        // A task pushed on a stream that is being closed: the server takes it back when the
        // stream ends.
        return;
      }
      c.gotMessage = true;
      failures = 0;
      outstanding--;
      String id = a.getTaskId();
      Running already = running.get(id);
      if (already != null) {
        // Handed out again while still running here (the stream broke and the server requeued
        // it): keep the one run, report it under the new token.
        already.token = a.getToken();
        topUpLocked();
        return;
      }
      Pending done = pending.get(id);
      if (done != null) {
        if (done.terminal) {
          // Finished here but not yet acknowledged when it was requeued: report that outcome
          // under the new token instead of running the task again.
          done.result = done.result.toBuilder().setToken(a.getToken()).build();
          fitLocked(done);
          c.send(WorkRequest.newBuilder().setResult(done.result).build());
          topUpLocked();
          return;
        }
        pending.remove(id);
      }
      if (stopping || closed) {
        // Not started; the server gets it back when the stream ends.
        maybeCloseLocked();
        return;
      }
      run = new Running(a, leaseExtension);
      running.put(id, run);
      if (metrics != null) {
        metrics.received(running.size());
      }
    }
    try {
      executor.execute(() -> execute(run));
    } catch (RejectedExecutionException e) {
      synchronized (lock) {
        running.remove(a.getTaskId());
        inFlightChangedLocked();
        lock.notifyAll();
      }
    }
  }

  private void onResultAck(Connection c, Ack ack) {
    Pending p;
    synchronized (lock) {
      if (c == conn) {
        c.gotMessage = true;
        failures = 0;
      }
      p = pending.get(ack.getTaskId());
      if (p == null || !p.result.getToken().equals(ack.getToken())) {
        return;
      }
      String code = ack.getCode();
      if (ack.getOk()) {
        pending.remove(ack.getTaskId());
      } else if (STALE_CODES.contains(code)) {
        pending.remove(ack.getTaskId());
        if (metrics != null) {
          metrics.dropped();
        }
        LOG.atWarn()
            .addKeyValue("task_type", taskType)
            .addKeyValue("task_id", ack.getTaskId())
            .addKeyValue("workflow_id", p.result.getWorkflowId())
            .addKeyValue("worker_id", worker.workerId())
            .addKeyValue("code", code)
            .addKeyValue("error", ack.getMessage())
            .log("result refused; dropped");
      } else if (REFUSED_CODES.contains(code) && p.result.getStatus() != TaskStatus.TASK_STATUS_FAILED) {
        LOG.atError()
            .addKeyValue("task_type", taskType)
            .addKeyValue("task_id", ack.getTaskId())
            .addKeyValue("workflow_id", p.result.getWorkflowId())
            .addKeyValue("worker_id", worker.workerId())
            .addKeyValue("code", code)
            .addKeyValue("error", ack.getMessage())
            .log("result refused; reported FAILED instead");
        p.result = refused(p.result, code, ack.getMessage());
        p.terminal = true;
        p.retries = 0;
        if (conn != null && conn.ready) {
          conn.send(WorkRequest.newBuilder().setResult(p.result).build());
        }
      } else if (REFUSED_CODES.contains(code) || p.retries >= MAX_RESULT_RETRIES) {
        pending.remove(ack.getTaskId());
        if (metrics != null) {
          metrics.dropped();
        }
        LOG.atError()
            .addKeyValue("task_type", taskType)
            .addKeyValue("task_id", ack.getTaskId())
            .addKeyValue("workflow_id", p.result.getWorkflowId())
            .addKeyValue("worker_id", worker.workerId())
            .addKeyValue("code", code)
            .addKeyValue("attempt", p.retries + 1)
            .addKeyValue("error", ack.getMessage())
            .log("result refused for good; dropped");
      } else {
        p.retries++;
        long delay = Math.min(30_000L, 200L << Math.min(8, p.retries));
        Pending retry = p;
        worker
            .scheduler()
            .schedule(
                () -> {
                  synchronized (lock) {
                    if (pending.get(ack.getTaskId()) == retry && conn != null && conn.ready) {
                      fitLocked(retry);
                      conn.send(WorkRequest.newBuilder().setResult(retry.result).build());
                    }
                  }
                },
                delay,
                TimeUnit.MILLISECONDS);
        LOG.atDebug()
            .addKeyValue("task_type", taskType)
            .addKeyValue("task_id", ack.getTaskId())
            .addKeyValue("workflow_id", p.result.getWorkflowId())
            .addKeyValue("worker_id", worker.workerId())
            .addKeyValue("code", code)
            .addKeyValue("attempt", p.retries)
            .addKeyValue("backoff_ms", delay)
            .addKeyValue("error", ack.getMessage())
            .log("result refused for now; sending it again");
      }
      maybeCloseLocked();
      lock.notifyAll();
    }
    worker
        .listener()
        .onResultAcknowledged(taskType, ack.getTaskId(), ack.getOk(), ack.getCode(), ack.getMessage());
  }

  private void onLeaseAck(Ack ack) {
    if (ack.getOk()) {
      return;
    }
    synchronized (lock) {
      Running r = running.get(ack.getTaskId());
      if (r != null && r.token.equals(ack.getToken())) {
        r.leaseRefused = true;
      }
    }
    LOG.atWarn()
        .addKeyValue("task_type", taskType)
        .addKeyValue("task_id", ack.getTaskId())
        .addKeyValue("worker_id", worker.workerId())
        .addKeyValue("code", ack.getCode())
        .addKeyValue("error", ack.getMessage())
        .log("lease extension refused");
  }

  private void onClosed(Connection c, Throwable error) {
    int failureCount;
    long backoff = -1;
    synchronized (lock) {
      closing.remove(c);
      if (c != conn) {
        return;
      }
      conn = null;
      outstanding = 0;
      if (closed) {
        return;
      }
      if (c.gotMessage || System.nanoTime() - c.openedAt > TimeUnit.SECONDS.toNanos(10)) {
        failures = 0;
      }
      failures++;
      failureCount = failures;
      if (wantStreamLocked()) {
        backoff = scheduleReconnectLocked();
      }
      lock.notifyAll();
    }
    if (backoff < 0) {
      // Not reconnecting (paused or stopping with nothing left to deliver).
      worker.listener().onDisconnected(taskType, error);
      return;
    }
    if (failureCount == 1 || failureCount % 20 == 0) {
      LOG.atWarn()
          .addKeyValue("task_type", taskType)
          .addKeyValue("worker_id", worker.workerId())
          .addKeyValue("server", worker.stub().getChannel().authority())
          .addKeyValue("attempt", failureCount)
          .addKeyValue("backoff_ms", backoff)
          .addKeyValue("error", error == null ? "closed by the server" : describeStreamError(error))
          .log("worker stream ended; reconnecting");
    }
    worker.listener().onDisconnected(taskType, error);
  }

  // ------------------------------------------------------------------------------ execution

  private void execute(Running run) {
    Task task = new Task(run.assignment);
    WorkerListener listener = worker.listener();
    listener.onTaskStarted(task);
    long started = System.nanoTime();
    Object value;
    synchronized (lock) {
      run.thread = Thread.currentThread();
    }
    try {
      value = handler.handle(task);
    } catch (Throwable t) {
      if (closedNow() && isInterruption(t)) {
        synchronized (lock) {
          running.remove(run.assignment.getTaskId());
          inFlightChangedLocked();
          lock.notifyAll();
        }
        return;
      }
      logHandlerRaised(run, t);
      finish(run, task, started, failure(t));
      return;
    } finally {
      synchronized (lock) {
        run.thread = null;
      }
      // A handler interrupted at shutdown must not leave the flag on a thread it does not own.
      if (pool == null) {
        Thread.interrupted();
      }
    }
    if (value instanceof CompletionStage<?> stage) {
      // The task stays running (its slot taken, its lease extended) until the stage completes;
      // no thread waits for it. A stage already complete finishes here, on this thread.
      stage.whenComplete((v, err) -> completeFromStage(run, task, started, v, err));
      return;
    }
    finish(run, task, started, TaskResult.fromReturnValue(value));
  }

  private void completeFromStage(Running run, Task task, long started, Object value, Throwable err) {
    TaskResult result;
    if (err != null) {
      Throwable cause = err;
      while ((cause instanceof CompletionException || cause instanceof ExecutionException)
          && cause.getCause() != null) {
        cause = cause.getCause();
      }
      logHandlerRaised(run, cause);
      result = failure(cause);
    } else if (value instanceof CompletionStage<?>) {
      result = TaskResult.failed("the handler's CompletionStage completed with another CompletionStage");
    } else {
      result = TaskResult.fromReturnValue(value);
    }
    finish(run, task, started, result);
  }

  /** Logs a handler that raised (its input and output are never logged). */
  private void logHandlerRaised(Running run, Throwable t) {
    TaskAssignment a = run.assignment;
    LOG.atWarn()
        .setCause(t)
        .addKeyValue("task_type", taskType)
        .addKeyValue("task_id", a.getTaskId())
        .addKeyValue("workflow_id", a.getWorkflowId())
        .addKeyValue("worker_id", worker.workerId())
        .addKeyValue("attempt", a.getRetryCount())
        .addKeyValue("error", describe(t))
        .log("task handler raised");
  }

  private void finish(Running run, Task task, long started, TaskResult result) {
    WorkerListener listener = worker.listener();
    boolean becomeSender = false;
    io.baton.v1.TaskResult.Builder proto;
    try {
      proto = toProto(run.assignment, task, result);
    } catch (RuntimeException e) {
      result = TaskResult.failed("output cannot be sent: " + describe(e)).log(stackTrace(e));
      proto = toProto(run.assignment, task, result);
    }
    String token;
    synchronized (lock) {
      token = run.token;
    }
    // The size check runs outside the lock: sizing a large output takes a while.
    io.baton.v1.TaskResult built = proto.setToken(token).build();
    io.baton.v1.TaskResult msg = withinLimit(built);
    if (msg != built) {
      // Reported (and counted) as the FAILED result the server gets.
      result = TaskResult.failed(msg.getReasonForIncompletion());
    }
    long took = System.nanoTime() - started;
    listener.onTaskFinished(task, result.status(), took);
    if (metrics != null) {
      metrics.finished(result.status(), took, proto.hasOutput() ? proto.getOutput().getSerializedSize() : 0);
    }
    synchronized (lock) {
      running.remove(run.assignment.getTaskId());
      inFlightChangedLocked();
      if (closed) {
        lock.notifyAll();
        return;
      }
      Pending p = new Pending(msg, result.status() != TaskResult.Status.IN_PROGRESS);
      if (!run.token.equals(token)) {
        // Handed out again while the handler ran: reported under the new token.
        p.result = msg.toBuilder().setToken(run.token).build();
        fitLocked(p);
      }
      pending.put(p.result.getTaskId(), p);
      if (conn != null && conn.ready) {
        outbox.add(p.result);
      }
      creditsAfterFinishLocked();
      if (conn != null && !sending && (!outbox.isEmpty() || creditsToSend > 0)) {
        becomeSender = true;
        sending = true;
      }
      lock.notifyAll();
    }
    if (becomeSender) {
      sendOutbox();
    }
  }

  /**
   * Sends the credit and results of finished tasks, then whatever finished while it was sending, until the
   * outbox is empty. One thread at a time does this; the others only add to the outbox, so
   * results that finish together leave in one batch and none waits for more to come. The
   * messages are serialized outside the stream's lock.
   */
  private void sendOutbox() {
    while (true) {
      List<io.baton.v1.TaskResult> batch;
      int credits;
      Connection c;
      synchronized (lock) {
        if ((outbox.isEmpty() && creditsToSend == 0) || conn == null) {
          outbox = outbox.isEmpty() ? outbox : new ArrayList<>();
          creditsToSend = 0;
          sending = false;
          return;
        }
        batch = outbox;
        outbox = new ArrayList<>();
        credits = creditsToSend;
        creditsToSend = 0;
        c = conn;
      }
      boolean sent = false;
      try {
        if (credits > 0) {
          // Credit first: the server can push the next tasks while the results are on their way.
          c.send(WorkRequest.newBuilder().setCredits(GrantCredits.newBuilder().setCredits(credits)).build());
        }
        c.sendResults(batch, batching);
        sent = true;
      } finally {
        if (!sent) {
          // Let the next finished task send (its results stay pending and are re-sent anyway).
          synchronized (lock) {
            sending = false;
          }
        }
      }
    }
  }

  private void inFlightChangedLocked() {
    if (metrics != null) {
      metrics.inFlight(running.size());
    }
  }

  private boolean closedNow() {
    synchronized (lock) {
      return closed;
    }
  }

  /**
   * Extends the lease of every running task that has used about 80% of it. Runs every {@link
   * #LEASE_SWEEP_MS} while the worker runs (only for task types with lease extension on).
   */
  void sweepLeases() {
    long now = System.nanoTime();
    synchronized (lock) {
      if (conn == null || running.isEmpty()) {
        return;
      }
      for (Running run : running.values()) {
        if (run.leaseRefused || run.extendEveryNanos <= 0 || now < run.nextExtendAt) {
          continue;
        }
        run.nextExtendAt = now + run.extendEveryNanos;
        conn.send(
            WorkRequest.newBuilder()
                .setExtendLease(
                    LeaseExtension.newBuilder()
                        .setTaskId(run.assignment.getTaskId())
                        .setToken(run.token)
                        .setWorkflowId(run.assignment.getWorkflowId()))
                .build());
      }
    }
  }

  private io.baton.v1.TaskResult.Builder toProto(TaskAssignment a, Task task, TaskResult result) {
    io.baton.v1.TaskResult.Builder b =
        io.baton.v1.TaskResult.newBuilder()
            .setTaskId(a.getTaskId())
            .setWorkflowId(a.getWorkflowId())
            .setWorkerId(worker.workerId())
            .setStatus(
                switch (result.status()) {
                  case COMPLETED -> TaskStatus.TASK_STATUS_COMPLETED;
                  case FAILED -> TaskStatus.TASK_STATUS_FAILED;
                  case FAILED_WITH_TERMINAL_ERROR -> TaskStatus.TASK_STATUS_FAILED_WITH_TERMINAL_ERROR;
                  case IN_PROGRESS -> TaskStatus.TASK_STATUS_IN_PROGRESS;
                })
            .setReasonForIncompletion(result.reason())
            .setCallbackAfterSeconds(result.callbackAfterSeconds());
    if (!result.output().isEmpty()) {
      b.setOutput(Structs.toStruct(result.output()));
    }
    List<TaskLog> logs = task.logEntries();
    if (!logs.isEmpty() || !result.logs().isEmpty()) {
      List<TaskLog> all = new ArrayList<>(logs);
      for (String line : result.logs()) {
        all.add(Task.line(line));
      }
      b.addAllLogs(all);
    }
    return b;
  }

  static TaskResult failure(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof TerminalException te) {
        return TaskResult.failedWithTerminalError(
                te.getMessage() == null ? te.getClass().getName() : te.getMessage())
            .log(stackTrace(t));
      }
      if (c.getCause() == c) {
        break;
      }
    }
    return TaskResult.failed(describe(t)).log(stackTrace(t));
  }

  private static boolean isInterruption(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof InterruptedException) {
        return true;
      }
      if (c.getCause() == c) {
        break;
      }
    }
    return Thread.currentThread().isInterrupted();
  }

  static String describe(Throwable t) {
    String m = t.getMessage();
    return m == null || m.isEmpty() ? t.getClass().getName() : t.getClass().getSimpleName() + ": " + m;
  }

  /**
   * Describes why a stream ended; a failed TLS handshake with its reason, a refusal for want of
   * credentials by a worker that sends no API key with how to set one.
   */
  private String describeStreamError(Throwable t) {
    String handshake = Channels.handshakeFailure(t);
    if (handshake != null) {
      return describe(t) + " (TLS handshake failed: " + handshake + ")";
    }
    if (!worker.sendsApiKey() && Status.fromThrowable(t).getCode() == Status.Code.UNAUTHENTICATED) {
      return describe(t)
          + " (this worker sends no API key: set one with apiKey(...) or "
          + ApiKeyCredentials.API_KEY_ENV
          + ")";
    }
    return describe(t);
  }

  static String stackTrace(Throwable t) {
    StringWriter sw = new StringWriter();
    t.printStackTrace(new PrintWriter(sw));
    return sw.toString();
  }

  // --------------------------------------------------------------------------------- state

  /** A task whose handler is running. */
  private static final class Running {
    final TaskAssignment assignment;
    /** The latest token: a task handed out again while running keeps running under it. */
    String token;

    boolean leaseRefused;
    /** The thread running the handler while it runs; guarded by the stream's lock. */
    Thread thread;
    /** Time between lease extensions (80% of the response timeout); 0 for none. */
    final long extendEveryNanos;
    /** When the next lease extension is due (System.nanoTime()). */
    long nextExtendAt;

    Running(TaskAssignment a, boolean extend) {
      this.assignment = a;
      this.token = a.getToken();
      long rts = a.getResponseTimeoutSeconds();
      this.extendEveryNanos = extend && rts > 0 ? rts * 800_000_000L : 0;
      this.nextExtendAt = System.nanoTime() + extendEveryNanos;
    }
  }

  /** A result sent (or to be sent) and not yet acknowledged. */
  private static final class Pending {
    io.baton.v1.TaskResult result;
    boolean terminal;
    int retries;

    Pending(io.baton.v1.TaskResult result, boolean terminal) {
      this.result = result;
      this.terminal = terminal;
    }
  }

  /** One worker stream. */
  private final class Connection implements ClientResponseObserver<WorkRequest, WorkResponse> {
    final long openedAt = System.nanoTime();
    volatile boolean gotMessage;
    /**
     * Whether the server's response headers arrived (with its message limit): results go out
     * on the stream only then; guarded by the stream's lock.
     */
    boolean ready;
    private ClientCallStreamObserver<WorkRequest> out;
    private volatile boolean ended;

    @Override
    public void beforeStart(ClientCallStreamObserver<WorkRequest> requestStream) {
      this.out = requestStream;
    }

    /**
     * Sends one message. Sends are serialized on the connection (the gRPC stream takes one
     * caller at a time); the stream's lock may be held or not, but is never taken while sending.
     */
    synchronized void send(WorkRequest m) {
      if (ended || out == null) {
        return;
      }
      try {
        out.onNext(m);
      } catch (RuntimeException e) {
        // The call is already over; onError/onCompleted reports it.
        LOG.debug("send on a finished stream", e);
      }
    }

    /** Sends results, batched as {@link TaskStream#resultMessages} says. */
    void sendResults(List<io.baton.v1.TaskResult> results, boolean batch) {
      for (WorkRequest m : resultMessages(results, batch)) {
        send(m);
      }
    }

    synchronized void halfClose() {
      if (ended || out == null) {
        return;
      }
      ended = true;
      try {
        out.onCompleted();
      } catch (RuntimeException e) {
        LOG.debug("half-close on a finished stream", e);
      }
    }

    void cancel(String why) {
      ClientCallStreamObserver<WorkRequest> o = out;
      if (o != null) {
        ended = true;
        try {
          o.cancel(why, null);
        } catch (RuntimeException e) {
          LOG.debug("cancel on a finished stream", e);
        }
      }
    }

    @Override
    public void onNext(WorkResponse value) {
      onMessage(this, value);
    }

    @Override
    public void onError(Throwable t) {
      onClosed(this, t);
    }

    @Override
    public void onCompleted() {
      onClosed(this, null);
    }
  }
}
