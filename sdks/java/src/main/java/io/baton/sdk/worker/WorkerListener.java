package io.baton.sdk.worker;

/**
 * Observes a worker: hook metrics or tests in here. Callbacks run on the worker's threads and must
 * return quickly; every method has an empty default.
 */
public interface WorkerListener {
  /**
   * A stream for a task type was opened and the subscription sent.
   *
   * @param taskType the task type
   */
  default void onConnected(String taskType) {}

  /**
   * The stream for a task type broke; the worker reconnects with backoff.
   *
   * @param taskType the task type
   * @param cause why, or null when the server ended the stream cleanly
   */
  default void onDisconnected(String taskType, Throwable cause) {}

  /**
   * A handler is about to run a task.
   *
   * @param task the task
   */
  default void onTaskStarted(Task task) {}

  /**
   * A handler finished a task; its result is about to be sent.
   *
   * @param task the task
   * @param status the reported status
   * @param durationNanos how long the handler ran
   */
  default void onTaskFinished(Task task, TaskResult.Status status, long durationNanos) {}

  /**
   * The server answered a result.
   *
   * @param taskType the task type
   * @param taskId the task id
   * @param ok whether the server took the result (also true for a duplicate of one taken)
   * @param code the gRPC status code name when not ok
   * @param message why it was refused, when not ok
   */
  default void onResultAcknowledged(
      String taskType, String taskId, boolean ok, String code, String message) {}
}
