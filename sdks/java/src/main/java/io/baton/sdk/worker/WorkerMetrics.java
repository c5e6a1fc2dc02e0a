package io.baton.sdk.worker;

import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.datapoints.GaugeDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.util.Map;
import java.util.Objects;
import java.util.WeakHashMap;

/**
 * Prometheus metrics of workers, registered once per {@link PrometheusRegistry}, with the same
 * names and labels as the other Baton SDKs so one dashboard serves workers of every language.
 * Every metric has a {@code task_type} label:
 *
 * <ul>
 *   <li>{@code baton_worker_tasks_received_total} (counter): tasks the server pushed and the
 *       worker started;
 *   <li>{@code baton_worker_tasks_finished_total} (counter, also labelled {@code status}):
 *       handler runs by outcome, {@code COMPLETED}, {@code FAILED}, {@code
 *       FAILED_WITH_TERMINAL_ERROR} or {@code IN_PROGRESS} (a result too large for the server
 *       to read counts as {@code FAILED});
 *   <li>{@code baton_worker_task_failures_total} (counter): handler runs that ended {@code FAILED}
 *       or {@code FAILED_WITH_TERMINAL_ERROR};
 *   <li>{@code baton_worker_results_dropped_total} (counter): results the server refused for good;
 *   <li>{@code baton_worker_task_execution_seconds} (histogram): how long handlers ran;
 *   <li>{@code baton_worker_task_result_size_bytes} (histogram): size of each run's serialized
 *       output;
 *   <li>{@code baton_worker_tasks_in_flight} (gauge): handler runs going on now;
 *   <li>{@code baton_worker_stream_reconnects_total} (counter): worker streams opened again after
 *       the first.
 * </ul>
 *
 * <p>The Prometheus Java client (1.x) appends {@code _total} to counter names itself, so the
 * counters are registered without it. This class needs {@code io.prometheus:prometheus-metrics-core}
 * and, to serve them, {@code prometheus-metrics-exporter-httpserver}: optional dependencies of
 * the SDK, which an application that turns metrics on adds itself.
 */
public final class WorkerMetrics {
  /** Buckets of {@code baton_worker_task_execution_seconds}. */
  static final double[] EXECUTION_BUCKETS = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0
  };

  /** Buckets of {@code baton_worker_task_result_size_bytes}. */
  static final double[] SIZE_BUCKETS = {
    0, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304
  };

  private static final Map<PrometheusRegistry, WorkerMetrics> BY_REGISTRY = new WeakHashMap<>();

  private final PrometheusRegistry registry;
  private final Counter received;
  private final Counter finished;
  private final Counter failures;
  private final Counter dropped;
  private final Histogram execution;
  private final Histogram resultSize;
  private final Gauge inFlight;
  private final Counter reconnects;

  private WorkerMetrics(PrometheusRegistry registry) {
    this.registry = registry;
    received =
        Counter.builder()
            .name("baton_worker_tasks_received")
            .help("Tasks the server pushed to this worker and the worker started.")
            .labelNames("task_type")
            .withoutExemplars()
            .register(registry);
    finished =
        Counter.builder()
            .name("baton_worker_tasks_finished")
            .help("Handler runs by the status they ended with.")
            .labelNames("task_type", "status")
            .withoutExemplars()
            .register(registry);
    failures =
        Counter.builder()
            .name("baton_worker_task_failures")
            .help("Handler runs that ended FAILED or FAILED_WITH_TERMINAL_ERROR.")
            .labelNames("task_type")
            .withoutExemplars()
            .register(registry);
    dropped =
        Counter.builder()
            .name("baton_worker_results_dropped")
            .help("Results the server refused for good.")
            .labelNames("task_type")
            .withoutExemplars()
            .register(registry);
    execution =
        Histogram.builder()
            .name("baton_worker_task_execution_seconds")
            .help("How long task handlers ran, in seconds.")
            .labelNames("task_type")
            .classicOnly()
            .classicUpperBounds(EXECUTION_BUCKETS)
            .withoutExemplars()
            .register(registry);
    resultSize =
        Histogram.builder()
            .name("baton_worker_task_result_size_bytes")
            .help("Size of the serialized output of each handler run, in bytes.")
            .labelNames("task_type")
            .classicOnly()
            .classicUpperBounds(SIZE_BUCKETS)
            .withoutExemplars()
            .register(registry);
    inFlight =
        Gauge.builder()
            .name("baton_worker_tasks_in_flight")
            .help("Handler runs going on now.")
            .labelNames("task_type")
            .withoutExemplars()
            .register(registry);
    reconnects =
        Counter.builder()
            .name("baton_worker_stream_reconnects")
            .help("Worker streams opened again after the first.")
            .labelNames("task_type")
            .withoutExemplars()
            .register(registry);
  }

  /**
   * The worker metrics registered in a registry, registering them on first use. Every worker of
   * a process that shares a registry shares these metrics.
   *
   * @param registry the registry
   * @return the metrics
   */
  public static WorkerMetrics forRegistry(PrometheusRegistry registry) {
    Objects.requireNonNull(registry, "registry");
    synchronized (BY_REGISTRY) {
      return BY_REGISTRY.computeIfAbsent(registry, WorkerMetrics::new);
    }
  }

  /**
   * The worker metrics in {@link PrometheusRegistry#defaultRegistry}.
   *
   * @return the metrics
   */
  public static WorkerMetrics forDefaultRegistry() {
    return forRegistry(PrometheusRegistry.defaultRegistry);
  }

  /** @return the registry the metrics are registered in */
  public PrometheusRegistry registry() {
    return registry;
  }

  /** A metrics HTTP server and the port it listens on. */
  record Served(java.io.Closeable server, int port) {}

  /** Serves the registry over HTTP ({@code /metrics}); the caller closes the server. */
  Served serve(String address, int port) {
    try {
      HTTPServer server =
          HTTPServer.builder()
              .inetAddress(InetAddress.getByName(address))
              .port(port)
              .registry(registry)
              .buildAndStart();
      return new Served(server, server.getPort());
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot serve worker metrics on " + address + ":" + port + ": " + e.getMessage(), e);
    }
  }

  /** One task type's data points, bound once so the worker looks up no labels per task. */
  ForType forType(String taskType) {
    return new ForType(this, taskType);
  }

  /** The metrics of one task type. */
  static final class ForType {
    private final CounterDataPoint received;
    private final CounterDataPoint failures;
    private final CounterDataPoint dropped;
    private final DistributionDataPoint execution;
    private final DistributionDataPoint resultSize;
    private final GaugeDataPoint inFlight;
    private final CounterDataPoint reconnects;
    private final CounterDataPoint[] finished = new CounterDataPoint[TaskResult.Status.values().length];

    ForType(WorkerMetrics m, String taskType) {
      received = m.received.labelValues(taskType);
      failures = m.failures.labelValues(taskType);
      dropped = m.dropped.labelValues(taskType);
      execution = m.execution.labelValues(taskType);
      resultSize = m.resultSize.labelValues(taskType);
      inFlight = m.inFlight.labelValues(taskType);
      reconnects = m.reconnects.labelValues(taskType);
      for (TaskResult.Status s : TaskResult.Status.values()) {
        finished[s.ordinal()] = m.finished.labelValues(taskType, s.name());
      }
    }

    void received(int running) {
      received.inc();
      inFlight.set(running);
    }

    void inFlight(int running) {
      inFlight.set(running);
    }

    void finished(TaskResult.Status status, long nanos, int resultBytes) {
      finished[status.ordinal()].inc();
      if (status == TaskResult.Status.FAILED || status == TaskResult.Status.FAILED_WITH_TERMINAL_ERROR) {
        failures.inc();
      }
      execution.observe(nanos / 1e9);
      resultSize.observe(resultBytes);
    }

    void dropped() {
      dropped.inc();
    }

    void reconnected() {
      reconnects.inc();
    }
  }
}
