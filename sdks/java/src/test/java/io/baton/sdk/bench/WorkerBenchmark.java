package io.baton.sdk.bench;

import io.baton.sdk.BatonClient;
import io.baton.sdk.Defs;
import io.baton.sdk.StartWorkflow;
import io.baton.sdk.TestServer;
import io.baton.sdk.worker.TaskOptions;
import io.baton.sdk.worker.Worker;
import io.baton.sdk.worker.WorkerListener;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Measures how many trivial tasks one worker process completes per second against a real {@code
 * baton server}.
 *
 * <p>Mode {@code preload} (default) starts all workflows (one SIMPLE task each) before the worker
 * starts, so the worker's rate is measured alone. Mode {@code live} starts the worker first and
 * the workflows while it runs (client and worker share the process).
 *
 * <p>Arguments: {@code [tasks] [concurrency] [mode]}; defaults 20000, 64, preload. Uses the server
 * at {@code BATON_SERVER} if set, otherwise starts {@code BATON_BIN} on a temporary directory.
 */
public final class WorkerBenchmark {
  private WorkerBenchmark() {}

  /** CPU used by this process and the server since construction. */
  private static final class Cpu {
    private final TestServer server;
    private final long jvm0;
    private final long server0;
    private final Map<String, Long> threads0;

    Cpu(TestServer server) {
      this.server = server;
      this.jvm0 = cpuNanos(ProcessHandle.current().pid());
      this.server0 = server != null ? cpuNanos(server.pid()) : 0;
      this.threads0 = threadCpu();
    }

    void report(int tasks) {
      long jvm = cpuNanos(ProcessHandle.current().pid()) - jvm0;
      long srv = server != null ? cpuNanos(server.pid()) - server0 : 0;
      System.out.printf(
          "cpu while measured: worker process %.2f s (%.0f us/task), server %.2f s (%.0f us/task)%n",
          jvm / 1e9, jvm / 1e3 / tasks, srv / 1e9, srv / 1e3 / tasks);
      if (System.getenv("BENCH_THREADS") != null) {
        Map<String, Long> byGroup = new java.util.TreeMap<>();
        threadCpu()
            .forEach(
                (k, v) ->
                    byGroup.merge(
                        k.replaceAll("[0-9]+", "N"), v - threads0.getOrDefault(k, 0L), Long::sum));
        long javaThreads = byGroup.values().stream().mapToLong(Long::longValue).sum();
        byGroup.forEach((k, v) -> System.out.printf("  %-50s %.2f s%n", k, v / 1e9));
        System.out.printf(
            "  java threads %.2f s; the rest (JIT, GC) %.2f s%n",
            javaThreads / 1e9, (jvm - javaThreads) / 1e9);
      }
    }
  }

  private static Map<String, Long> threadCpu() {
    java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
    Map<String, Long> out = new java.util.HashMap<>();
    for (java.lang.management.ThreadInfo ti : mx.getThreadInfo(mx.getAllThreadIds())) {
      if (ti != null) {
        long c = mx.getThreadCpuTime(ti.getThreadId());
        if (c > 0) {
          out.put(ti.getThreadName() + "#" + ti.getThreadId(), c);
        }
      }
    }
    return out;
  }

  /** CPU time (user + system) of a process, from /proc on Linux; 0 when unknown. */
  private static long cpuNanos(long pid) {
    try {
      String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/" + pid + "/stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]);
      return ticks * 10_000_000L; // USER_HZ = 100
    } catch (Exception e) {
      return 0;
    }
  }

  /**
   * Runs the benchmark.
   *
   * @param args [tasks] [concurrency] [preload|live]
   * @throws Exception when the server cannot be started or reached
   */
  public static void main(String[] args) throws Exception {
    int tasks = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
    int concurrency = args.length > 1 ? Integer.parseInt(args[1]) : 64;
    String mode = args.length > 2 ? args[2] : "preload";
    String external = System.getenv("BATON_SERVER");
    TestServer server = external == null || external.isBlank() ? TestServer.start() : null;
    String target = server != null ? server.target() : external;
    try (BatonClient client = BatonClient.connect(target)) {
      String suffix = Long.toString(System.nanoTime(), 36);
      String taskType = "bench_noop_" + suffix;
      String workflow = "bench_one_" + suffix;
      client.registerTaskDef(Defs.taskDef(taskType, 0, 0, 60));
      client.registerWorkflowDef(
          Defs.workflow(
              workflow,
              List.of(Defs.simple(taskType, "t", Map.of("i", "${workflow.input.i}"))),
              Map.of("i", "${t.output.i}")));

      CountDownLatch done = new CountDownLatch(tasks);
      AtomicInteger refused = new AtomicInteger();
      WorkerListener listener =
          new WorkerListener() {
            @Override
            public void onResultAcknowledged(
                String type, String taskId, boolean ok, String code, String message) {
              if (ok) {
                done.countDown();
              } else {
                refused.incrementAndGet();
              }
            }
          };
      Worker worker =
          Worker.builder()
              .target(target)
              .listener(listener)
              .task(
                  taskType,
                  task -> Map.of("i", task.input("i")),
                  TaskOptions.builder().concurrency(concurrency).build())
              .build();
      boolean live = mode.equals("live");

      // In live mode everything from the first start on is measured.
      Cpu cpu = new Cpu(server);
      if (live) {
        worker.start();
      }
      long s0 = System.nanoTime();
      Semaphore window = new Semaphore(256);
      for (int i = 0; i < tasks; i++) {
        window.acquire();
        client
            .startWorkflowAsync(StartWorkflow.of(workflow, Map.of("i", i)))
            .whenComplete(
                (id, err) -> {
                  window.release();
                  if (err != null) {
                    System.err.println("start failed: " + err);
                  }
                });
      }
      window.acquire(256);
      window.release(256);
      double startSecs = (System.nanoTime() - s0) / 1e9;
      System.out.printf(
          "started %d workflows in %.2f s (%.0f starts/s)%n", tasks, startSecs, tasks / startSecs);

      // In preload mode only the worker's run is measured.
      long w0 = System.nanoTime();
      if (!live) {
        cpu = new Cpu(server);
        worker.start();
      }
      if (!done.await(10, TimeUnit.MINUTES)) {
        System.out.println("timed out with " + done.getCount() + " tasks left");
      }
      long end = System.nanoTime();
      long completed = tasks - done.getCount();
      double secs = (end - (live ? s0 : w0)) / 1e9;
      System.out.printf(
          "mode=%s tasks=%d concurrency=%d: %d tasks completed in %.2f s = %.0f tasks/s"
              + " (refused results: %d)%n",
          mode, tasks, concurrency, completed, secs, completed / secs, refused.get());
      cpu.report(tasks);
      worker.shutdown(Duration.ofSeconds(5));
    } finally {
      if (server != null) {
        server.close();
      }
    }
  }
}
