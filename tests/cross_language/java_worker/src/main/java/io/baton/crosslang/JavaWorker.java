package io.baton.crosslang;

import io.baton.sdk.BatonClient;
import io.baton.sdk.worker.Worker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Serves the Java steps of the cross-language workflow until the process is stopped. */
public final class JavaWorker {
  private JavaWorker() {}

  /**
   * Runs the worker.
   *
   * @param args unused
   * @throws Exception when the server cannot be reached
   */
  public static void main(String[] args) throws Exception {
    try (BatonClient client = BatonClient.connect()) {
      Worker worker =
          Worker.builder()
              .client(client)
              .workerId("cross-java")
              .task(
                  "xl_java_count",
                  task -> {
                    String text = (String) task.input().get("text");
                    @SuppressWarnings("unchecked")
                    List<Object> trail = new ArrayList<>((List<Object>) task.input().get("trail"));
                    trail.add("java");
                    return Map.of("text", text, "length", text.length(), "trail", trail);
                  })
              .task(
                  "xl_java_tag",
                  task -> Map.of("lang", "java", "seen", task.input().get("length")))
              .build()
              .start();
      Runtime.getRuntime()
          .addShutdownHook(new Thread(() -> worker.shutdown(Duration.ofSeconds(5))));
      System.out.println("java worker ready");
      worker.awaitTermination();
    }
  }
}
