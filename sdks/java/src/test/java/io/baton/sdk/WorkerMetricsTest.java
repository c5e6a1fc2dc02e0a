package io.baton.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.baton.sdk.worker.TerminalException;
import io.baton.sdk.worker.Worker;
import io.baton.sdk.worker.WorkerMetrics;
import io.baton.v1.WorkflowStatus;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The worker's Prometheus metrics, scraped over HTTP from a worker running against a real {@code
 * baton server}; the names and labels are those of the other SDKs.
 */
class WorkerMetricsTest extends ServerTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final Pattern SAMPLE =
      Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)\\})?\\s+(\\S+)$");
  private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

  /** A scrape: samples by name and labels (sorted, as {@code a="1",b="2"}). */
  record Scrape(Map<String, Double> samples, String text) {
    double get(String name, String... labels) {
      Map<String, String> want = new TreeMap<>();
      for (int i = 0; i < labels.length; i += 2) {
        want.put(labels[i], labels[i + 1]);
      }
      Double v = samples.get(key(name, want));
      if (v == null) {
        throw new AssertionError("no sample " + key(name, want) + " in:\n" + text);
      }
      return v;
    }
  }

  private static String key(String name, Map<String, String> labels) {
    StringBuilder sb = new StringBuilder(name).append('{');
    labels.forEach((k, v) -> sb.append(k).append("=\"").append(v).append("\","));
    return sb.append('}').toString();
  }

  private static Scrape scrape(int port) throws IOException, InterruptedException {
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode());
    Map<String, Double> samples = new HashMap<>();
    for (String line : r.body().split("\n")) {
      if (line.startsWith("#") || line.isBlank()) {
        continue;
      }
      Matcher m = SAMPLE.matcher(line.trim());
      assertTrue(m.matches(), "not a sample line: " + line);
      Map<String, String> labels = new TreeMap<>();
      if (m.group(2) != null) {
        Matcher l = LABEL.matcher(m.group(2));
        while (l.find()) {
          labels.put(l.group(1), l.group(2));
        }
      }
      samples.put(key(m.group(1), labels), Double.parseDouble(m.group(3)));
    }
    return new Scrape(samples, r.body());
  }

  @Test
  void servedMetricsCountCompletedAndFailedTasks() throws Exception {
    client.registerTaskDef(Defs.taskDef("m_task", 0, 0, 30));
    client.registerWorkflowDef(Defs.oneTask("m_wf", "m_task"));
    PrometheusRegistry registry = new PrometheusRegistry();
    CountDownLatch holding = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    int port;
    try (TcpProxy proxy = new TcpProxy(server.port());
        Worker w =
            Worker.builder()
                .target(proxy.target())
                .environment(Map.of())
                .reconnectBackoff(Duration.ofMillis(50), Duration.ofMillis(200))
                .metrics(WorkerMetrics.forRegistry(registry))
                .metricsPort(0)
                .metricsAddress("127.0.0.1")
                .task(
                    "m_task",
                    task -> {
                      String text = task.input("text", String.class);
                      switch (text) {
                        case "fail" -> throw new IllegalStateException("no");
                        case "terminal" -> throw new TerminalException("never");
                        case "hold" -> {
                          holding.countDown();
                          assertTrue(release.await(20, TimeUnit.SECONDS));
                        }
                        default -> {}
                      }
                      return Map.of("echo", text);
                    })
                .build()
                .start()) {
      port = w.metricsPort();
      assertTrue(port > 0);
      for (String text : new String[] {"a", "b", "c"}) {
        assertTrue(client.executeWorkflow(StartWorkflow.of("m_wf", Map.of("text", text)), WAIT).isCompleted());
      }
      for (String text : new String[] {"fail", "terminal"}) {
        WorkflowExecution wf = client.executeWorkflow(StartWorkflow.of("m_wf", Map.of("text", text)), WAIT);
        assertEquals(WorkflowStatus.WORKFLOW_STATUS_FAILED, wf.status());
      }
      String held = client.startWorkflow("m_wf", Map.of("text", "hold"));
      assertTrue(holding.await(20, TimeUnit.SECONDS));
      Scrape during = scrape(port);
      assertEquals(1.0, during.get("baton_worker_tasks_in_flight", "task_type", "m_task"));
      release.countDown();
      assertTrue(client.awaitWorkflow(held, WAIT).isCompleted());

      Scrape s = scrape(port);
      String t = "m_task";
      assertEquals(6.0, s.get("baton_worker_tasks_received_total", "task_type", t));
      assertEquals(4.0, s.get("baton_worker_tasks_finished_total", "task_type", t, "status", "COMPLETED"));
      assertEquals(1.0, s.get("baton_worker_tasks_finished_total", "task_type", t, "status", "FAILED"));
      assertEquals(
          1.0,
          s.get("baton_worker_tasks_finished_total", "task_type", t, "status", "FAILED_WITH_TERMINAL_ERROR"));
      assertEquals(2.0, s.get("baton_worker_task_failures_total", "task_type", t));
      assertEquals(0.0, s.get("baton_worker_results_dropped_total", "task_type", t));
      assertEquals(0.0, s.get("baton_worker_tasks_in_flight", "task_type", t));
      assertEquals(6.0, s.get("baton_worker_task_execution_seconds_count", "task_type", t));
      assertEquals(6.0, s.get("baton_worker_task_execution_seconds_bucket", "task_type", t, "le", "+Inf"));
      assertTrue(s.get("baton_worker_task_execution_seconds_sum", "task_type", t) > 0);
      assertEquals(6.0, s.get("baton_worker_task_result_size_bytes_count", "task_type", t));
      // The failed runs have no output: two results of 0 bytes.
      assertEquals(2.0, s.get("baton_worker_task_result_size_bytes_bucket", "task_type", t, "le", "0.0"));
      assertTrue(s.get("baton_worker_task_result_size_bytes_sum", "task_type", t) > 0);
      assertEquals(0.0, s.get("baton_worker_stream_reconnects_total", "task_type", t));
      assertFalse(s.text().contains("_total_total"), s.text());

      // A broken stream: the worker reconnects and counts it.
      proxy.cut();
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (!s.samples().containsKey(key("baton_worker_stream_reconnects_total", Map.of("task_type", t)))
          || s.get("baton_worker_stream_reconnects_total", "task_type", t) < 1) {
        assertTrue(System.nanoTime() < deadline, "no reconnect counted");
        Thread.sleep(20);
        s = scrape(port);
      }
      assertTrue(client.executeWorkflow(StartWorkflow.of("m_wf", Map.of("text", "d")), WAIT).isCompleted());
    }
    // The server the worker started stops with it.
    final int closedPort = port;
    assertThrows(IOException.class, () -> scrape(closedPort));
  }

  @Test
  void environmentTurnsMetricsOnInTheDefaultRegistry() throws Exception {
    client.registerTaskDef(Defs.taskDef("m_env", 0, 0, 30));
    client.registerWorkflowDef(Defs.oneTask("m_env_wf", "m_env"));
    try (Worker w =
        Worker.builder()
            .target(server.target())
            .environment(
                Map.of(Worker.METRICS_PORT_ENV, "0", Worker.METRICS_ADDR_ENV, "127.0.0.1"))
            .task("m_env", task -> Map.of("ok", true))
            .build()
            .start()) {
      assertTrue(w.metricsPort() > 0);
      assertTrue(client.executeWorkflow(StartWorkflow.of("m_env_wf", Map.of()), WAIT).isCompleted());
      Scrape s = scrape(w.metricsPort());
      assertEquals(1.0, s.get("baton_worker_tasks_received_total", "task_type", "m_env"));
      assertEquals(1.0, s.get("baton_worker_tasks_finished_total", "task_type", "m_env", "status", "COMPLETED"));
    }
    try (Worker off =
        Worker.builder().target(server.target()).environment(Map.of()).task("m_env", task -> null).build()) {
      assertEquals(-1, off.metricsPort());
    }
  }
}
