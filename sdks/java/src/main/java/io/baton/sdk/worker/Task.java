package io.baton.sdk.worker;

import com.google.protobuf.Timestamp;
import com.google.protobuf.Value;
import io.baton.sdk.Structs;
import io.baton.sdk.internal.Json;
import io.baton.v1.TaskAssignment;
import io.baton.v1.TaskLog;
import java.lang.reflect.Type;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * A task handed to this worker: its ids, its input, and a log whose lines are sent with the
 * result and kept by the server with the task.
 */
public final class Task {
  private final TaskAssignment assignment;
  private final List<TaskLog> logs = Collections.synchronizedList(new ArrayList<>());
  private volatile Map<String, Object> input;

  Task(TaskAssignment assignment) {
    this.assignment = assignment;
  }

  /** @return id of the task instance */
  public String taskId() {
    return assignment.getTaskId();
  }

  /** @return the task type (task definition name) */
  public String taskType() {
    return assignment.getTaskDefName();
  }

  /** @return the reference name from the workflow definition */
  public String referenceTaskName() {
    return assignment.getReferenceTaskName();
  }

  /** @return id of the workflow execution */
  public String workflowId() {
    return assignment.getWorkflowId();
  }

  /** @return name of the workflow definition */
  public String workflowType() {
    return assignment.getWorkflowType();
  }

  /** @return correlation id of the workflow execution */
  public String correlationId() {
    return assignment.getCorrelationId();
  }

  /** @return how many retries preceded this instance (0 for the first attempt) */
  public int retryCount() {
    return assignment.getRetryCount();
  }

  /**
   * @return how many times this instance has been handed out, this time included (grows after
   *     each IN_PROGRESS report)
   */
  public int pollCount() {
    return assignment.getPollCount();
  }

  /** @return lease length in seconds */
  public long responseTimeoutSeconds() {
    return assignment.getResponseTimeoutSeconds();
  }

  /** @return when the lease given with the assignment runs out (before any extension) */
  public Instant leaseDeadline() {
    return Structs.toInstant(assignment.getLeaseDeadline());
  }

  /** @return the domain the task was queued under; empty for the default queue */
  public String domain() {
    return assignment.getDomain();
  }

  /** @return loop iteration inside a DO_WHILE, otherwise 0 */
  public int iteration() {
    return assignment.getIteration();
  }

  /** @return the attempt token of the assignment as first received */
  public String token() {
    return assignment.getToken();
  }

  /** @return the assignment as received */
  public TaskAssignment assignment() {
    return assignment;
  }

  /** @return the input as a map (numbers are Long when whole, otherwise Double) */
  public Map<String, Object> input() {
    Map<String, Object> m = input;
    if (m == null) {
      m = Collections.unmodifiableMap(Structs.toMap(assignment.getInput()));
      input = m;
    }
    return m;
  }

  /**
   * Converts the whole input into a typed object through its JSON form.
   *
   * @param type the target type
   * @param <T> the target type
   * @return the input as that type
   */
  public <T> T inputAs(Class<T> type) {
    return Json.convert(input(), type);
  }

  /**
   * Converts the whole input into a (possibly generic) type.
   *
   * @param type the target type
   * @param <T> the target type
   * @return the input as that type
   */
  public <T> T inputAs(Type type) {
    return Json.convert(input(), type);
  }

  /**
   * Reads one input value.
   *
   * @param key the input key
   * @return the value, or null when absent
   */
  public Object input(String key) {
    Value v = assignment.getInput().getFieldsMap().get(key);
    return v == null ? null : Structs.toJava(v);
  }

  /**
   * Reads one input value converted to a type.
   *
   * @param key the input key
   * @param type the target type
   * @param <T> the target type
   * @return the value, or null when absent
   */
  public <T> T input(String key, Class<T> type) {
    Object v = input(key);
    return v == null ? null : Json.convert(v, type);
  }

  /**
   * Adds a line to the task's log. The lines travel with the result and can be read back with
   * the client's {@code getTaskLogs}.
   *
   * @param message the line
   */
  public void log(String message) {
    logs.add(line(message));
  }

  /**
   * Adds a formatted line to the task's log.
   *
   * @param format a {@link String#format} pattern
   * @param args its arguments
   */
  public void logf(String format, Object... args) {
    logs.add(line(String.format(format, args)));
  }

  /** @return the lines logged so far */
  public List<String> logs() {
    synchronized (logs) {
      return logs.stream().map(TaskLog::getMessage).toList();
    }
  }

  List<TaskLog> logEntries() {
    synchronized (logs) {
      return List.copyOf(logs);
    }
  }

  static TaskLog line(String message) {
    Instant now = Instant.now();
    return TaskLog.newBuilder()
        .setMessage(message == null ? "null" : message)
        .setTime(Timestamp.newBuilder().setSeconds(now.getEpochSecond()).setNanos(now.getNano()))
        .build();
  }

  @Override
  public String toString() {
    return "Task{" + taskType() + " " + taskId() + " of " + workflowId() + "}";
  }
}
