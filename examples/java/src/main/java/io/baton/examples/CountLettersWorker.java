package io.baton.examples;

import io.baton.sdk.BatonClient;
import io.baton.sdk.StartWorkflow;
import io.baton.sdk.WorkflowExecution;
import io.baton.sdk.worker.Task;
import io.baton.sdk.worker.TerminalException;
import io.baton.sdk.worker.Worker;
import java.time.Duration;
import java.util.Map;

/**
 * An example Baton worker written with the Java SDK.
 *
 * <p>It registers the task definition {@code count_letters} and the workflow {@code
 * count_letters_workflow} (one {@code count_letters} task whose count becomes the workflow
 * output), then serves {@code count_letters} tasks: it returns the length of the input text. It
 * runs until interrupted, then finishes the tasks it holds.
 *
 * <pre>
 * mvn -q -f examples/java compile exec:java                              # serve until Ctrl-C
 * mvn -q -f examples/java compile exec:java -Dexec.args="--text hello"   # also run one workflow
 * </pre>
 *
 * <p>The server address comes from {@code BATON_SERVER}, else {@code 127.0.0.1:7070}.
 */
public final class CountLettersWorker {
  /** Input of a count_letters task. */
  public record Input(String text) {}

  /** Output of a count_letters task. */
  public record Output(int count) {}

  static final String WORKFLOW =
      """
      {
        "name": "count_letters_workflow",
        "description": "Counts the characters of workflow.input.text with a Java worker",
        "version": 1,
        "schemaVersion": 2,
        "tasks": [
          {
            "name": "count_letters",
            "taskReferenceName": "count_ref",
            "type": "SIMPLE",
            "inputParameters": {"text": "${workflow.input.text}"}
          }
        ],
        "outputParameters": {"count": "${count_ref.output.count}"}
      }
      """;

  private CountLettersWorker() {}

  /** The handler: the length of the text, or a terminal error when there is no text. */
  static Output count(Input in, Task task) {
    if (in.text() == null) {
      throw new TerminalException("nothing to count: input text is missing");
    }
    task.log("counting " + in.text().length() + " characters");
    return new Output(in.text().length());
  }

  /**
   * Runs the worker.
   *
   * @param args {@code --text TEXT} to also run one workflow and print its output
   * @throws Exception when the server cannot be reached
   */
  public static void main(String[] args) throws Exception {
    String say = null;
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--text") && i + 1 < args.length) {
        say = args[++i];
      }
    }
    try (BatonClient client = BatonClient.connect()) {
      client.registerTaskDef(
          Map.of(
              "name", "count_letters",
              "retryCount", 2,
              "retryDelaySeconds", 1,
              "responseTimeoutSeconds", 30));
      client.updateWorkflowDefs(WORKFLOW);

      Worker worker =
          Worker.builder()
              .client(client)
              .task("count_letters", Input.class, CountLettersWorker::count)
              .build()
              .start();
      if (say != null) {
        try {
          WorkflowExecution wf =
              client.executeWorkflow(
                  StartWorkflow.of("count_letters_workflow", Map.of("text", say)),
                  Duration.ofSeconds(30));
          System.out.println(wf.workflowId() + " " + wf.status() + " " + wf.output());
        } finally {
          worker.shutdown(Duration.ofSeconds(10));
        }
        return;
      }
      // Ctrl-C or SIGTERM: stop taking tasks, let running ones finish (10 s at most).
      Runtime.getRuntime()
          .addShutdownHook(
              new Thread(
                  () -> {
                    boolean clean = worker.shutdown(Duration.ofSeconds(10));
                    System.out.println(
                        "count_letters worker stopped"
                            + (clean ? "" : " (tasks still running were handed back)"));
                  }));
      System.out.println("count_letters worker " + worker.workerId() + " running; Ctrl-C to stop");
      worker.awaitTermination();
    }
  }
}
