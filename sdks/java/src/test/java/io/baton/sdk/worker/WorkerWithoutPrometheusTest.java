package io.baton.sdk.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The Prometheus client is an optional dependency: a worker loads and runs without it, and
 * turning metrics on without it fails with a message naming what to add. Runs the SDK in a class
 * loader whose class path lacks the Prometheus jars (no server involved).
 */
class WorkerWithoutPrometheusTest {
  private static URLClassLoader withoutPrometheus() {
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    URL[] urls =
        Arrays.stream(cp.split(File.pathSeparator))
            .filter(p -> !p.isBlank() && !p.contains("prometheus"))
            .map(
                p -> {
                  try {
                    return Path.of(p).toUri().toURL();
                  } catch (Exception e) {
                    throw new IllegalStateException(e);
                  }
                })
            .toArray(URL[]::new);
    return new URLClassLoader(urls, ClassLoader.getPlatformClassLoader());
  }

  private static Object builder(ClassLoader loader, Map<String, String> env) throws Exception {
    Class<?> worker = loader.loadClass(Worker.class.getName());
    Class<?> handler = loader.loadClass(TaskHandler.class.getName());
    Object b = worker.getMethod("builder").invoke(null);
    b.getClass().getMethod("target", String.class).invoke(b, "127.0.0.1:1");
    b.getClass().getMethod("environment", Map.class).invoke(b, env);
    Object h = Proxy.newProxyInstance(loader, new Class<?>[] {handler}, (proxy, m, args) -> null);
    b.getClass().getMethod("task", String.class, handler).invoke(b, "no_metrics", h);
    return b;
  }

  @Test
  void workerRunsWithoutPrometheusAndSaysWhatMetricsNeed() throws Exception {
    try (URLClassLoader loader = withoutPrometheus()) {
      assertThrows(
          ClassNotFoundException.class,
          () -> loader.loadClass("io.prometheus.metrics.core.metrics.Counter"),
          "the class path still has the Prometheus client");
      Object b = builder(loader, Map.of());
      Object w = b.getClass().getMethod("build").invoke(b);
      assertEquals(loader, w.getClass().getClassLoader());
      w.getClass().getMethod("start").invoke(w);
      assertEquals(-1, w.getClass().getMethod("metricsPort").invoke(w));
      w.getClass().getMethod("shutdown", Duration.class).invoke(w, Duration.ZERO);

      Object withMetrics = builder(loader, Map.of(Worker.METRICS_PORT_ENV, "0"));
      InvocationTargetException e =
          assertThrows(
              InvocationTargetException.class,
              () -> withMetrics.getClass().getMethod("build").invoke(withMetrics));
      assertTrue(e.getCause() instanceof IllegalStateException, String.valueOf(e.getCause()));
      String message = e.getCause().getMessage();
      assertTrue(message.contains("io.prometheus:prometheus-metrics-core"), message);
      assertTrue(message.contains("prometheus-metrics-exporter-httpserver"), message);
      assertFalse(e.getCause() instanceof NoClassDefFoundError);
    }
  }
}
