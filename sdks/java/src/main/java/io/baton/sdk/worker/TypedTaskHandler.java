package io.baton.sdk.worker;

/**
 * A handler that takes its input as a typed object (converted from the task input through its
 * JSON form) and returns its output as an object. See {@link TaskHandler} for how the return value
 * and exceptions map to the result.
 *
 * @param <I> the input type
 */
@FunctionalInterface
public interface TypedTaskHandler<I> {
  /**
   * Runs one task.
   *
   * @param input the task input as an {@code I}
   * @param task the task itself (ids, log)
   * @return the result or the output
   * @throws Exception to fail the task
   */
  Object handle(I input, Task task) throws Exception;
}
