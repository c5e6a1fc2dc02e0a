package baton

import (
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	batonv1 "github.com/baton-run/baton/sdks/go/gen/baton/v1"
)

// Task is one task handed to a handler: its identity, its input, and a place to write log
// lines that are kept with the task on the server.
//
// A Task is valid for the duration of the handler call. Log and Logf may be called from
// any goroutine the handler starts, as long as it does so before the handler returns.
type Task struct {
	// ID is the id of the task instance (a retry is a new instance with a new id).
	ID string
	// TaskType is the task definition name, the one the handler was registered for.
	TaskType string
	// ReferenceName is the task's reference name in the workflow definition.
	ReferenceName string
	// WorkflowID is the id of the workflow execution the task belongs to.
	WorkflowID string
	// WorkflowType is the name of that execution's workflow definition.
	WorkflowType string
	// CorrelationID is the correlation id of the execution, if any.
	CorrelationID string
	// Domain is the domain the task was queued under; empty for the default queue.
	Domain string
	// RetryCount is how many retries preceded this instance (0 for the first attempt).
	RetryCount int
	// PollCount is how many times this instance has been handed out, this time included.
	PollCount int
	// Iteration is the loop iteration for tasks inside a DO_WHILE, otherwise 0.
	Iteration int
	// ResponseTimeout is the lease length: the worker reports or extends within it. The
	// worker extends it automatically unless lease extension is switched off.
	ResponseTimeout time.Duration
	// Input is the task input as plain JSON values.
	Input map[string]any

	assignment *batonv1.TaskAssignment

	mu   sync.Mutex
	logs []*batonv1.TaskLog
}

func newTask(a *batonv1.TaskAssignment) *Task {
	return &Task{
		ID:              a.GetTaskId(),
		TaskType:        a.GetTaskDefName(),
		ReferenceName:   a.GetReferenceTaskName(),
		WorkflowID:      a.GetWorkflowId(),
		WorkflowType:    a.GetWorkflowType(),
		CorrelationID:   a.GetCorrelationId(),
		Domain:          a.GetDomain(),
		RetryCount:      int(a.GetRetryCount()),
		PollCount:       int(a.GetPollCount()),
		Iteration:       int(a.GetIteration()),
		ResponseTimeout: time.Duration(a.GetResponseTimeoutSeconds()) * time.Second,
		Input:           ToMap(a.GetInput()),
		assignment:      a,
	}
}

// Assignment returns the assignment as the server sent it (including the attempt token).
func (t *Task) Assignment() *batonv1.TaskAssignment { return t.assignment }

// DecodeInput decodes the task input into v (a pointer) through encoding/json.
func (t *Task) DecodeInput(v any) error { return DecodeStruct(t.assignment.GetInput(), v) }

// Log records a log line (formatted like fmt.Sprint) that is sent with the task's result
// and kept with the task on the server. On a nil *Task (as [TaskFromContext] returns outside
// a worker, for instance in a unit test of a handler) it does nothing.
func (t *Task) Log(args ...any) {
	if t != nil {
		t.addLog(fmt.Sprint(args...))
	}
}

// Logf records a log line formatted like fmt.Sprintf; see [Task.Log].
func (t *Task) Logf(format string, args ...any) {
	if t != nil {
		t.addLog(fmt.Sprintf(format, args...))
	}
}

func (t *Task) addLog(msg string) {
	line := &batonv1.TaskLog{Message: msg, Time: timestamppb.Now()}
	t.mu.Lock()
	t.logs = append(t.logs, line)
	t.mu.Unlock()
}

// takeLogs returns the lines written so far and forgets them.
func (t *Task) takeLogs() []*batonv1.TaskLog {
	t.mu.Lock()
	defer t.mu.Unlock()
	logs := t.logs
	t.logs = nil
	return logs
}

type taskContextKey struct{}

// TaskFromContext returns the task a handler's context belongs to, or nil outside a
// handler. Handlers made with [Typed] use it to write log lines.
func TaskFromContext(ctx context.Context) *Task {
	t, _ := ctx.Value(taskContextKey{}).(*Task)
	return t
}

// Handler runs tasks of one type. Execute returns the task output, or an error to fail the
// task.
//
// The output may be nil, a map[string]any, a *structpb.Struct, any value encoding/json
// encodes as an object (a struct, a map), or any other JSON-encodable value (reported as
// {"result": value}). Returning an [*InProgressResult] (see [InProgress]) reports the task
// as still running instead of finished.
//
// An error made with [TerminalError] fails the task for good (FAILED_WITH_TERMINAL_ERROR);
// any other error fails it with status FAILED, and the server retries it as its task
// definition says. An output returned together with an error is reported too. A panic is
// recovered and reported as FAILED with the panic value as the reason and the stack as a
// task log line. A result too large for the server to read in one message (output, reason
// and log lines together; the server names its limit when the worker connects) is not
// sent: the task is reported FAILED instead, without output or log lines, with a reason
// naming the size and the limit.
//
// The context is cancelled when the worker gives up the task: the lease was lost or
// expired, or the worker's shutdown grace period ran out. [context.Cause] tells which.
type Handler interface {
	Execute(ctx context.Context, t *Task) (any, error)
}

// HandlerFunc adapts a function to the [Handler] interface.
type HandlerFunc func(ctx context.Context, t *Task) (any, error)

// Execute calls f(ctx, t).
func (f HandlerFunc) Execute(ctx context.Context, t *Task) (any, error) { return f(ctx, t) }

// Typed makes a [Handler] from a function with typed input and output. The task input is
// decoded into In through encoding/json (an input that does not decode fails the task with
// a terminal error); the returned Out is reported as the output as described on [Handler].
// Use [TaskFromContext] to reach the [Task], for instance to write log lines.
func Typed[In, Out any](fn func(ctx context.Context, in In) (Out, error)) HandlerFunc {
	return func(ctx context.Context, t *Task) (any, error) {
		var in In
		if err := t.DecodeInput(&in); err != nil {
			return nil, TerminalError(fmt.Errorf("task %s: cannot decode input: %w", t.TaskType, err))
		}
		out, err := fn(ctx, in)
		return out, err
	}
}

// InProgressResult is a handler output that reports the task as still running. See
// [InProgress].
type InProgressResult struct {
	// After is how long the server hides the task before handing it out again (rounded up
	// to whole seconds, at least one).
	After time.Duration
	// Output is merged into the task's output so far; it follows the same rules as a
	// handler's output.
	Output any
}

// InProgress returns a handler output that reports the task as IN_PROGRESS: the server
// keeps the task, hides it for after (callbackAfterSeconds, rounded up to whole seconds, at
// least one) and then hands it out again, to this worker or another. The merged output is kept with the
// task on the server (see [Client.GetTask]). Handlers use it to wait for something slow
// without holding a slot.
func InProgress(after time.Duration, output any) *InProgressResult {
	return &InProgressResult{After: after, Output: output}
}
