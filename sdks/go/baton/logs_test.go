package baton

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// logRecord is one record captured by recordingHandler, with every attribute (those added
// by Logger.With included) by key.
type logRecord struct {
	level slog.Level
	msg   string
	attrs map[string]slog.Value
}

func (r logRecord) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q", r.level, r.msg)
	for k, v := range r.attrs {
		fmt.Fprintf(&b, " %s=%v", k, v)
	}
	return b.String()
}

// recordingHandler is a slog.Handler that keeps every record, and forwards it to next so
// that the test's log shows it too.
type recordingHandler struct {
	mu      *sync.Mutex
	records *[]logRecord
	attrs   []slog.Attr
	next    slog.Handler
}

func newRecorder(next slog.Handler) *recordingHandler {
	return &recordingHandler{mu: &sync.Mutex{}, records: &[]logRecord{}, next: next}
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *recordingHandler) Handle(ctx context.Context, r slog.Record) error {
	rec := logRecord{level: r.Level, msg: r.Message, attrs: map[string]slog.Value{}}
	for _, a := range h.attrs {
		rec.attrs[a.Key] = a.Value.Resolve()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.Resolve()
		return true
	})
	h.mu.Lock()
	*h.records = append(*h.records, rec)
	h.mu.Unlock()
	return h.next.Handle(ctx, r)
}

func (h *recordingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	c.next = h.next.WithAttrs(as)
	return &c
}

func (h *recordingHandler) WithGroup(string) slog.Handler { return h }

// find returns the records with the message.
func (h *recordingHandler) find(msg string) []logRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []logRecord
	for _, r := range *h.records {
		if r.msg == msg {
			out = append(out, r)
		}
	}
	return out
}

func (h *recordingHandler) all() []logRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]logRecord(nil), *h.records...)
}

// expectRecord waits for a record with the message and checks that it has the attributes
// (a nil want value only asks for presence); it returns the first such record.
func expectRecord(t *testing.T, h *recordingHandler, msg string, want map[string]any) logRecord {
	t.Helper()
	eventually(t, 20*time.Second, "log record "+msg, func() bool { return len(h.find(msg)) > 0 })
	rec := h.find(msg)[0]
	for k, v := range want {
		got, ok := rec.attrs[k]
		if !ok {
			t.Fatalf("record %s lacks %s", rec, k)
		}
		if v != nil && fmt.Sprint(got.Any()) != fmt.Sprint(v) {
			t.Fatalf("record %s: %s = %v, want %v", rec, k, got, v)
		}
	}
	return rec
}

// TestStructuredLogs follows a worker through connecting, a failing handler, a server
// restart (stream lost, reconnect with backoff) and a drain, checking the fields of each
// record, and that no record carries a task's input or output.
func TestStructuredLogs(t *testing.T) {
	e := newEnv(t)
	e.registerTaskDef(map[string]any{"name": "logged", "retryCount": 0})
	e.registerWorkflow("logged_wf", nil, simpleTask("logged", "l", map[string]any{
		"secret": "${workflow.input.secret}", "fail": "${workflow.input.fail}",
	}))
	rec := newRecorder(e.logger.Handler())
	w := e.newWorker(WithLogger(slog.New(rec)), WithWorkerID("logging-worker"))
	w.HandleFunc("logged", func(ctx context.Context, t *Task) (any, error) {
		if t.Input["fail"] == true {
			return nil, errors.New("refusing to work")
		}
		return map[string]any{"echo": t.Input["secret"]}, nil
	})
	stop := e.run(w)
	expectRecord(t, rec, "baton: stream connected", map[string]any{
		"worker_id": "logging-worker", "task_type": "logged", "session": 1, "batch": true, "credits": nil,
	})

	okID := e.start("logged_wf", map[string]any{"secret": "hunter2-in", "fail": false})
	failID := e.start("logged_wf", map[string]any{"secret": "hunter2-in", "fail": true})
	e.expectStatus(e.wait(okID, 30*time.Second), wfCompleted)
	e.expectStatus(e.wait(failID, 30*time.Second), wfFailed)
	failed := expectRecord(t, rec, "baton: handler failed", map[string]any{
		"worker_id": "logging-worker", "task_type": "logged", "workflow_id": failID,
		"attempt": 0, "error": "refusing to work", "status": "TASK_STATUS_FAILED", "task_id": nil,
	})
	if failed.level != slog.LevelWarn {
		t.Fatalf("handler failure logged at %v", failed.level)
	}

	// The stream breaks and the worker reconnects with backoff.
	e.srv.Kill()
	lost := expectRecord(t, rec, "baton: stream lost; reconnecting", map[string]any{
		"worker_id": "logging-worker", "task_type": "logged", "attempt": 1, "backoff": nil, "error": nil,
	})
	if b := lost.attrs["backoff"].Duration(); b <= 0 || b > time.Second {
		t.Fatalf("backoff %v outside the configured 50-500 ms (with jitter)", b)
	}
	if err := e.srv.Restart(e.ctx(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "a second session", func() bool {
		for _, r := range rec.find("baton: stream connected") {
			if r.attrs["session"].Int64() >= 2 {
				return true
			}
		}
		return false
	})

	if err := stop(); err != nil {
		t.Fatal(err)
	}
	expectRecord(t, rec, "baton: worker draining", map[string]any{"worker_id": "logging-worker", "running": 0, "grace_period": nil})
	expectRecord(t, rec, "baton: worker stopped", map[string]any{"worker_id": "logging-worker", "drained_in": nil})

	for _, r := range rec.all() {
		if strings.Contains(r.String(), "hunter2") {
			t.Fatalf("a log record carries task data: %s", r)
		}
	}
}

// TestRefusedResultIsLoggedAndCounted lets a handler overrun its response timeout without
// lease extension: the server times the task out, and the late result is refused, logged
// with its fields and counted as dropped.
func TestRefusedResultIsLoggedAndCounted(t *testing.T) {
	e := newEnv(t)
	e.registerTaskDef(map[string]any{
		"name": "late", "retryCount": 1, "retryDelaySeconds": 0, "responseTimeoutSeconds": 1,
	})
	e.registerWorkflow("late_wf", nil, simpleTask("late", "s", map[string]any{}))
	rec := newRecorder(e.logger.Handler())
	reg := prometheus.NewRegistry()
	w := e.newWorker(WithLogger(slog.New(rec)), WithMetrics(reg))
	w.HandleFunc("late", func(ctx context.Context, t *Task) (any, error) {
		if t.RetryCount == 0 {
			// Stall past the response timeout, ignoring the cancellation.
			time.Sleep(2500 * time.Millisecond)
		}
		return map[string]any{}, nil
	}, LeaseExtension(false))
	e.run(w)
	id := e.start("late_wf", nil)
	e.expectStatus(e.wait(id, 30*time.Second), wfCompleted)
	expectRecord(t, rec, "baton: result refused; dropping it", map[string]any{
		"worker_id": "test-worker", "task_type": "late", "workflow_id": id, "code": "FAILED_PRECONDITION",
		"task_id": nil, "error": nil,
	})
	m, err := newWorkerMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(m.dropped.WithLabelValues("late")); got != 1 {
		t.Fatalf("results dropped %v, want 1", got)
	}
}
