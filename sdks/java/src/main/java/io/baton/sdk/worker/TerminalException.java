package io.baton.sdk.worker;

/**
 * Thrown by a handler for a failure that retrying cannot fix (bad input, a refused business
 * rule). The task ends FAILED_WITH_TERMINAL_ERROR and is not retried, whatever its task
 * definition's retryCount. Any other exception ends the task FAILED, which is retried.
 */
public class TerminalException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param message why the task cannot succeed; becomes the task's reasonForIncompletion
   */
  public TerminalException(String message) {
    super(message);
  }

  /**
   * Creates the exception with a cause.
   *
   * @param message why the task cannot succeed
   * @param cause the underlying failure
   */
  public TerminalException(String message, Throwable cause) {
    super(message, cause);
  }
}
