package baton

import (
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// terminalError marks an error that must not be retried.
type terminalError struct{ err error }

func (e *terminalError) Error() string { return e.err.Error() }
func (e *terminalError) Unwrap() error { return e.err }

// TerminalError wraps err so that a handler returning it fails the task with status
// FAILED_WITH_TERMINAL_ERROR: the server does not retry the task, whatever its retry
// count. It returns nil when err is nil. The mark survives further wrapping with %w.
func TerminalError(err error) error {
	if err == nil {
		return nil
	}
	return &terminalError{err: err}
}

// IsTerminalError reports whether err, or an error it wraps, was made by [TerminalError].
func IsTerminalError(err error) bool {
	var t *terminalError
	return errors.As(err, &t)
}

// Code returns the gRPC status code carried by err (also through wrapping): codes.OK for
// nil, codes.Unknown for errors that carry none.
func Code(err error) codes.Code { return status.Code(err) }

// IsNotFound reports whether err carries gRPC status NOT_FOUND (an unknown workflow, task
// or definition).
func IsNotFound(err error) bool { return err != nil && Code(err) == codes.NotFound }

// IsAlreadyExists reports whether err carries gRPC status ALREADY_EXISTS (for example a
// workflow definition version registered twice, or an idempotency key used before).
func IsAlreadyExists(err error) bool { return err != nil && Code(err) == codes.AlreadyExists }

// IsInvalidArgument reports whether err carries gRPC status INVALID_ARGUMENT (for example an
// invalid definition or input).
func IsInvalidArgument(err error) bool { return err != nil && Code(err) == codes.InvalidArgument }

// IsFailedPrecondition reports whether err carries gRPC status FAILED_PRECONDITION (an
// operation that does not fit the current state, such as resuming a running workflow).
func IsFailedPrecondition(err error) bool {
	return err != nil && Code(err) == codes.FailedPrecondition
}

// IsUnavailable reports whether err carries gRPC status UNAVAILABLE (the server cannot be
// reached right now; the call may be tried again).
func IsUnavailable(err error) bool { return err != nil && Code(err) == codes.Unavailable }

// IsUnauthenticated reports whether err carries gRPC status UNAUTHENTICATED: the server
// requires credentials and the call had none, or had an API key that is unknown, malformed
// or revoked (the message says which). See [WithAPIKey].
func IsUnauthenticated(err error) bool { return err != nil && Code(err) == codes.Unauthenticated }

// IsPermissionDenied reports whether err carries gRPC status PERMISSION_DENIED: the caller's
// API key is valid but its role does not allow the call (the message names the role), such
// as a viewer starting a workflow or an operator registering a definition.
func IsPermissionDenied(err error) bool {
	return err != nil && Code(err) == codes.PermissionDenied
}
