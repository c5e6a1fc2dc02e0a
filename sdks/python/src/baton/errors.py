"""Errors raised by the Baton client and worker.

Every error a call to the server can produce is a :class:`BatonError` carrying the gRPC
status code; the common codes have their own subclasses so callers can write
``except baton.NotFoundError``.
"""

from __future__ import annotations

from typing import Any

import grpc


class BatonError(Exception):
    """An error returned by the Baton server (or raised while talking to it).

    Attributes:
        code: the gRPC status code.
        message: the server's description of the problem.
    """

    code: grpc.StatusCode

    def __init__(self, message: str, code: grpc.StatusCode = grpc.StatusCode.UNKNOWN) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return f"{self.code.name}: {self.message}"


class NotFoundError(BatonError):
    """The named workflow, task or definition does not exist."""


class AlreadyExistsError(BatonError):
    """The thing to create exists already (a definition version, a used idempotency key)."""


class InvalidArgumentError(BatonError):
    """The request was malformed (for example an invalid definition)."""


class FailedPreconditionError(BatonError):
    """The operation does not fit the current state (for example pausing a finished workflow)."""


class UnavailableError(BatonError):
    """The server could not be reached."""


class DeadlineExceededError(BatonError):
    """The call did not finish in time."""


class ResourceExhaustedError(BatonError):
    """The server refused the call for lack of some resource (size or rate limits)."""


class UnauthenticatedError(BatonError):
    """The server requires credentials and the call had none, or a key it does not accept
    (unknown, with a wrong secret, or revoked). The message says which."""


class PermissionDeniedError(BatonError):
    """The caller may not do this: with authentication on, the role of its API key does not
    allow the call (the message names the role and the one needed)."""


class AbortedError(BatonError):
    """The operation was aborted because of a concurrent change; it may be retried."""


class InternalError(BatonError):
    """The server failed while handling the call."""


_BY_CODE: dict[grpc.StatusCode, type[BatonError]] = {
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhaustedError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.ABORTED: AbortedError,
    grpc.StatusCode.INTERNAL: InternalError,
}


def error_for_code(code: grpc.StatusCode, message: str) -> BatonError:
    """Builds the :class:`BatonError` subclass that matches a gRPC status code."""
    return _BY_CODE.get(code, BatonError)(message, code)


def from_rpc_error(error: Any, address: str | None = None) -> BatonError:
    """Converts a ``grpc.RpcError`` (sync or asyncio) into a :class:`BatonError`.

    With ``address`` (the server dialled), an UNAVAILABLE error's message names it, so that a
    refused connection says where the client tried to connect.
    """
    code = error.code() if callable(getattr(error, "code", None)) else None
    details = error.details() if callable(getattr(error, "details", None)) else None
    if not isinstance(code, grpc.StatusCode):
        code = grpc.StatusCode.UNKNOWN
    message = details or str(error)
    if code is grpc.StatusCode.UNAVAILABLE and address:
        message = f"the Baton server at {address} is unavailable: {message}"
    return error_for_code(code, message)


class TerminalError(Exception):
    """Raised by a task handler to fail the task without retries.

    The task ends FAILED_WITH_TERMINAL_ERROR with the exception's message as its reason;
    ``output`` (optional) becomes the task's output.
    """

    def __init__(self, message: str, output: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.output = output
