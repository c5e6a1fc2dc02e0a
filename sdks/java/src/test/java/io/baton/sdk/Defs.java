package io.baton.sdk;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Definitions used by the tests, in Conductor's JSON DSL. */
public final class Defs {
  private Defs() {}

  /** A task definition. */
  public static Map<String, Object> taskDef(
      String name, int retryCount, int retryDelaySeconds, int responseTimeoutSeconds) {
    Map<String, Object> d = new LinkedHashMap<>();
    d.put("name", name);
    d.put("retryCount", retryCount);
    d.put("retryLogic", "FIXED");
    d.put("retryDelaySeconds", retryDelaySeconds);
    d.put("responseTimeoutSeconds", responseTimeoutSeconds);
    d.put("timeoutSeconds", 0);
    d.put("timeoutPolicy", "RETRY");
    return d;
  }

  /** A SIMPLE task of a workflow. */
  public static Map<String, Object> simple(String name, String ref, Map<String, Object> input) {
    Map<String, Object> t = new LinkedHashMap<>();
    t.put("name", name);
    t.put("taskReferenceName", ref);
    t.put("type", "SIMPLE");
    t.put("inputParameters", input);
    return t;
  }

  /** A workflow definition running the given tasks in sequence. */
  public static Map<String, Object> workflow(
      String name, List<Map<String, Object>> tasks, Map<String, Object> output) {
    Map<String, Object> w = new LinkedHashMap<>();
    w.put("name", name);
    w.put("version", 1);
    w.put("schemaVersion", 2);
    w.put("tasks", tasks);
    w.put("outputParameters", output);
    w.put("timeoutSeconds", 0);
    return w;
  }

  /** A workflow of one SIMPLE task that gets the whole workflow input and exposes its output. */
  public static Map<String, Object> oneTask(String workflowName, String taskName) {
    return workflow(
        workflowName,
        List.of(simple(taskName, "t", Map.of("payload", "${workflow.input}", "text", "${workflow.input.text}"))),
        Map.of("result", "${t.output}"));
  }
}
