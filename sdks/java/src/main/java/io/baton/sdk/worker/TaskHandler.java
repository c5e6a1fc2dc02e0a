package io.baton.sdk.worker;

/**
 * Runs tasks of one type.
 *
 * <p>The return value decides the result:
 *
 * <ul>
 *   <li>a {@link TaskResult}: sent as it is (use it for IN_PROGRESS, or to fail without an
 *       exception);
 *   <li>{@code null}: COMPLETED with an empty output;
 *   <li>a {@link java.util.Map} or a bean/record: COMPLETED with that object as the output;
 *   <li>anything else (a string, a number, a list): COMPLETED with output {@code {"result": value}};
 *   <li>a {@link java.util.concurrent.CompletionStage}: the task is finished when the stage
 *       completes, from its value as above, or failed from its exception as below. The handler's
 *       thread is free meanwhile; the task keeps its concurrency slot and its lease is extended.
 * </ul>
 *
 * <p>A thrown {@link TerminalException} ends the task FAILED_WITH_TERMINAL_ERROR; any other
 * exception ends it FAILED (retried per its task definition), with the message as
 * reasonForIncompletion and the stack trace in the task's logs.
 */
@FunctionalInterface
public interface TaskHandler {
  /**
   * Runs one task.
   *
   * @param task the task, with its input and a log
   * @return the result or the output
   * @throws Exception to fail the task
   */
  Object handle(Task task) throws Exception;
}
