package io.baton.sdk;

import io.baton.v1.Task;
import io.baton.v1.TaskStatus;
import java.time.Instant;
import java.util.Map;

/**
 * One task instance of a workflow execution, as clients see it.
 *
 * @param taskId unique id of the instance
 * @param taskDefName task definition name (the queue for worker tasks)
 * @param taskType the task definition name for a worker task, or an operator name
 * @param referenceTaskName reference name from the workflow definition
 * @param status current status
 * @param input input computed when the task was scheduled
 * @param output output reported by the worker or the operator
 * @param retryCount retries that preceded this instance
 * @param pollCount times this instance was handed to a worker
 * @param workerId the worker that holds or last held the task
 * @param reasonForIncompletion why the task did not complete, if it did not
 * @param callbackAfterSeconds seconds the task stays hidden after an IN_PROGRESS report
 * @param domain the domain whose queue holds the task
 * @param scheduledTime when the task was scheduled
 * @param startTime when a worker first took it, or null
 * @param endTime when it reached a terminal status, or null
 * @param proto the task as received
 */
public record TaskInstance(
    String taskId,
    String taskDefName,
    String taskType,
    String referenceTaskName,
    TaskStatus status,
    Map<String, Object> input,
    Map<String, Object> output,
    int retryCount,
    int pollCount,
    String workerId,
    String reasonForIncompletion,
    long callbackAfterSeconds,
    String domain,
    Instant scheduledTime,
    Instant startTime,
    Instant endTime,
    Task proto) {

  /**
   * Converts a task received from the server.
   *
   * @param t the task
   * @return its view
   */
  public static TaskInstance from(Task t) {
    return new TaskInstance(
        t.getTaskId(),
        t.getTaskDefName(),
        t.getTaskType(),
        t.getReferenceTaskName(),
        t.getStatus(),
        Structs.toMap(t.getInput()),
        Structs.toMap(t.getOutput()),
        t.getRetryCount(),
        t.getPollCount(),
        t.getWorkerId(),
        t.getReasonForIncompletion(),
        t.getCallbackAfterSeconds(),
        t.getDomain(),
        Structs.toInstant(t.getScheduledTime()),
        Structs.toInstant(t.getStartTime()),
        Structs.toInstant(t.getEndTime()),
        t);
  }
}
