package io.baton.sdk.worker;

import io.baton.sdk.Structs;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What a handler reports for a task, when returning a plain output is not enough: IN_PROGRESS
 * with a callback delay, or a failure without an exception.
 *
 * <pre>{@code
 * if (!ready) {
 *   return TaskResult.inProgress(Duration.ofSeconds(30)).output("checked", true);
 * }
 * return TaskResult.completed(Map.of("done", true));
 * }</pre>
 */
public final class TaskResult {
  /** The status a handler can report. */
  public enum Status {
    /** The task finished successfully. */
    COMPLETED,
    /** The task failed; it is retried per its task definition. */
    FAILED,
    /** The task failed in a way that must not be retried. */
    FAILED_WITH_TERMINAL_ERROR,
    /** The task is not done: hand it out again after the callback delay. */
    IN_PROGRESS
  }

  private final Status status;
  private final Map<String, Object> output = new LinkedHashMap<>();
  private final List<String> logs = new ArrayList<>();
  private String reason = "";
  private long callbackAfterSeconds;

  private TaskResult(Status status) {
    this.status = status;
  }

  /** @return a COMPLETED result with an empty output */
  public static TaskResult completed() {
    return new TaskResult(Status.COMPLETED);
  }

  /**
   * A COMPLETED result.
   *
   * @param output a map or a bean/record whose JSON form is an object; null for none
   * @return the result
   */
  public static TaskResult completed(Object output) {
    return new TaskResult(Status.COMPLETED).outputObject(output);
  }

  /**
   * A FAILED result, retried per the task definition.
   *
   * @param reason why it failed
   * @return the result
   */
  public static TaskResult failed(String reason) {
    return new TaskResult(Status.FAILED).reason(reason);
  }

  /**
   * A FAILED_WITH_TERMINAL_ERROR result, never retried.
   *
   * @param reason why it failed
   * @return the result
   */
  public static TaskResult failedWithTerminalError(String reason) {
    return new TaskResult(Status.FAILED_WITH_TERMINAL_ERROR).reason(reason);
  }

  /**
   * An IN_PROGRESS result: the server hides the task for the given time and then hands it out
   * again (with a higher {@link Task#pollCount()}). Output reported now is merged into the task's
   * output.
   *
   * @param callbackAfter how long to wait before handing the task out again
   * @return the result
   */
  public static TaskResult inProgress(Duration callbackAfter) {
    TaskResult r = new TaskResult(Status.IN_PROGRESS);
    r.callbackAfterSeconds = Math.max(0, callbackAfter.toSeconds());
    return r;
  }

  /**
   * Adds one output value.
   *
   * @param key the key
   * @param value the value (plain value, map, list or bean)
   * @return this result
   */
  public TaskResult output(String key, Object value) {
    output.put(Objects.requireNonNull(key), value);
    return this;
  }

  /**
   * Adds all entries of a map or all properties of a bean to the output.
   *
   * @param value a map or a bean/record; null adds nothing
   * @return this result
   */
  public TaskResult outputObject(Object value) {
    output.putAll(toOutputMap(value));
    return this;
  }

  /**
   * Sets the reason for a failure.
   *
   * @param reason the reason
   * @return this result
   */
  public TaskResult reason(String reason) {
    this.reason = reason == null ? "" : reason;
    return this;
  }

  /**
   * Adds a log line (in addition to those written with {@link Task#log(String)}).
   *
   * @param line the line
   * @return this result
   */
  public TaskResult log(String line) {
    logs.add(line);
    return this;
  }

  /** @return the status */
  public Status status() {
    return status;
  }

  /** @return the output so far */
  public Map<String, Object> output() {
    return Collections.unmodifiableMap(output);
  }

  /** @return the reason for a failure, or empty */
  public String reason() {
    return reason;
  }

  /** @return the callback delay of an IN_PROGRESS result, in seconds */
  public long callbackAfterSeconds() {
    return callbackAfterSeconds;
  }

  /** @return the extra log lines */
  public List<String> logs() {
    return Collections.unmodifiableList(logs);
  }

  /**
   * Turns a handler's return value into a result (see {@link TaskHandler}).
   *
   * @param value the return value
   * @return the result
   */
  static TaskResult fromReturnValue(Object value) {
    if (value instanceof TaskResult r) {
      return r;
    }
    return completed(value);
  }

  static Map<String, Object> toOutputMap(Object value) {
    if (value == null) {
      return Map.of();
    }
    if (value instanceof Map<?, ?> m) {
      Map<String, Object> out = new LinkedHashMap<>();
      m.forEach((k, v) -> out.put(String.valueOf(k), v));
      return out;
    }
    if (value instanceof CharSequence
        || value instanceof Number
        || value instanceof Boolean
        || value instanceof Character
        || value instanceof Enum<?>
        || value instanceof Iterable<?>
        || value.getClass().isArray()) {
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("result", value);
      return out;
    }
    com.google.protobuf.Value v = Structs.toValue(value);
    if (v.hasStructValue()) {
      return Structs.toMap(v.getStructValue());
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("result", Structs.toJava(v));
    return out;
  }
}
