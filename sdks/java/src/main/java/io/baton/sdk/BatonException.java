package io.baton.sdk;

import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * A call to the Baton server failed. Carries the gRPC status code the server (or the transport)
 * answered with, for example {@link Status.Code#NOT_FOUND} for an unknown workflow id or
 * {@link Status.Code#ALREADY_EXISTS} for a definition version that is already stored, or, on a
 * server started with {@code --auth}, {@link Status.Code#UNAUTHENTICATED} (no valid API key) and
 * {@link Status.Code#PERMISSION_DENIED} (a role that does not allow the call).
 */
public class BatonException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final Status.Code code;

  /**
   * Creates an exception with a status code and a message.
   *
   * @param code the gRPC status code
   * @param message what went wrong
   * @param cause the underlying exception, or null
   */
  public BatonException(Status.Code code, String message, Throwable cause) {
    super(code + (message == null || message.isEmpty() ? "" : ": " + message), cause);
    this.code = code;
  }

  /** @return the gRPC status code of the failed call */
  public Status.Code code() {
    return code;
  }

  /** @return true when the server said the thing asked for does not exist */
  public boolean isNotFound() {
    return code == Status.Code.NOT_FOUND;
  }

  /** @return true when the server said the thing to create exists already */
  public boolean isAlreadyExists() {
    return code == Status.Code.ALREADY_EXISTS;
  }

  /** @return true when the server refused the request as invalid (a malformed definition, say) */
  public boolean isInvalidArgument() {
    return code == Status.Code.INVALID_ARGUMENT;
  }

  /**
   * @return true when the server refused the call for its credentials: no API key on a server
   *     started with {@code --auth}, or a key that is unknown, malformed or revoked
   */
  public boolean isUnauthenticated() {
    return code == Status.Code.UNAUTHENTICATED;
  }

  /**
   * @return true when the server refused the call because the role of its API key does not
   *     allow it (a viewer starting a workflow, say); the message names the role
   */
  public boolean isPermissionDenied() {
    return code == Status.Code.PERMISSION_DENIED;
  }

  /**
   * Turns any failure of a call (a gRPC status exception, possibly wrapped by a future) into a
   * {@code BatonException}.
   *
   * @param t the failure
   * @return the failure as a {@code BatonException}
   */
  public static BatonException from(Throwable t) {
    Throwable cur = t;
    while ((cur instanceof CompletionException || cur instanceof ExecutionException)
        && cur.getCause() != null) {
      cur = cur.getCause();
    }
    if (cur instanceof BatonException be) {
      return be;
    }
    if (cur instanceof StatusRuntimeException sre) {
      return new BatonException(sre.getStatus().getCode(), sre.getStatus().getDescription(), sre);
    }
    if (cur instanceof StatusException se) {
      return new BatonException(se.getStatus().getCode(), se.getStatus().getDescription(), se);
    }
    if (cur instanceof CancellationException) {
      return new BatonException(Status.Code.CANCELLED, "call cancelled", cur);
    }
    Status s = Status.fromThrowable(cur);
    return new BatonException(s.getCode(), s.getDescription() != null ? s.getDescription() : String.valueOf(cur), cur);
  }
}
