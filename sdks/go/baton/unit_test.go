package baton

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	batonv1 "github.com/baton-run/baton/sdks/go/gen/baton/v1"
)

func TestToStruct(t *testing.T) {
	type out struct {
		Text  string `json:"text"`
		Count int    `json:"count"`
	}
	cases := []struct {
		name string
		in   any
		want map[string]any
	}{
		{"nil", nil, nil},
		{"plain map", map[string]any{"a": 1.0, "b": "x"}, map[string]any{"a": 1.0, "b": "x"}},
		{"typed map", map[string]any{"list": []string{"x", "y"}}, map[string]any{"list": []any{"x", "y"}}},
		{"struct", out{Text: "hi", Count: 2}, map[string]any{"text": "hi", "count": 2.0}},
		{"pointer to struct", &out{Text: "hi"}, map[string]any{"text": "hi", "count": 0.0}},
		{"string", "hello", map[string]any{"result": "hello"}},
		{"number", 42, map[string]any{"result": 42.0}},
		{"slice", []int{1, 2}, map[string]any{"result": []any{1.0, 2.0}}},
		{"map of ints", map[string]int{"n": 3}, map[string]any{"n": 3.0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := ToStruct(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if c.want == nil {
				if s != nil {
					t.Fatalf("want nil, got %v", s)
				}
				return
			}
			if got := fmt.Sprint(s.AsMap()); got != fmt.Sprint(c.want) {
				t.Fatalf("got %s, want %s", got, fmt.Sprint(c.want))
			}
		})
	}
	if _, err := ToStruct(make(chan int)); err == nil {
		t.Fatal("a channel must not encode")
	}
}

func TestDecodeStructAndTyped(t *testing.T) {
	type in struct {
		Text  string   `json:"text"`
		Tags  []string `json:"tags"`
		Count int      `json:"count"`
	}
	s, _ := structpb.NewStruct(map[string]any{"text": "hi", "tags": []any{"a", "b"}, "count": 3})
	var got in
	if err := DecodeStruct(s, &got); err != nil {
		t.Fatal(err)
	}
	if got.Text != "hi" || len(got.Tags) != 2 || got.Count != 3 {
		t.Fatalf("decoded %+v", got)
	}

	h := Typed(func(ctx context.Context, v in) (string, error) { return strings.ToUpper(v.Text), nil })
	task := newTask(&batonv1.TaskAssignment{TaskId: "t1", Input: s})
	out, err := h.Execute(context.Background(), task)
	if err != nil || out != "HI" {
		t.Fatalf("typed handler: %v, %v", out, err)
	}
	bad, _ := structpb.NewStruct(map[string]any{"count": "not a number"})
	_, err = h.Execute(context.Background(), newTask(&batonv1.TaskAssignment{TaskId: "t2", Input: bad}))
	if !IsTerminalError(err) {
		t.Fatalf("an undecodable input must be a terminal error, got %v", err)
	}
}

func TestTerminalErrorWrapping(t *testing.T) {
	base := errors.New("bad input")
	err := fmt.Errorf("step: %w", TerminalError(base))
	if !IsTerminalError(err) || !errors.Is(err, base) {
		t.Fatalf("wrapping lost the mark or the cause: %v", err)
	}
	if IsTerminalError(base) || TerminalError(nil) != nil {
		t.Fatal("plain errors are not terminal; TerminalError(nil) is nil")
	}
}

func TestStatusHelpers(t *testing.T) {
	err := fmt.Errorf("context: %w", status.Error(codes.NotFound, "no such workflow"))
	if !IsNotFound(err) || IsAlreadyExists(err) || Code(err) != codes.NotFound {
		t.Fatalf("status helpers did not see NOT_FOUND through wrapping: %v", Code(err))
	}
	if IsNotFound(nil) || Code(nil) != codes.OK {
		t.Fatal("nil is no error")
	}
}

func TestSettingsResolution(t *testing.T) {
	env := map[string]string{
		"BATON_WORKER_ID":                     "from-env",
		"BATON_WORKER_CONCURRENCY":            "7",
		"BATON_WORKER_MY_TASK_V2_CONCURRENCY": "3",
		"BATON_WORKER_MY_TASK_V2_DOMAIN":      "blue",
		"BATON_WORKER_OTHER_LEASE_EXTENSION":  "false",
		"BATON_WORKER_OTHER_PAUSED":           "true",
		"BATON_WORKER_BROKEN_CONCURRENCY":     "lots",
		"BATON_WORKER_OTHER_BATCH":            "false",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	w := NewWorker(nil, WithEnv(lookup), WithWorkerID("from-code"), Concurrency(2), Domain("red"))
	if w.ID() != "from-env" {
		t.Fatalf("BATON_WORKER_ID must win over code, got %q", w.ID())
	}
	noop := HandlerFunc(func(context.Context, *Task) (any, error) { return nil, nil })
	w.Handle("my-task.v2", noop, Concurrency(5))
	w.Handle("other", noop, Domain("green"))
	w.Handle("broken", noop, Concurrency(4))

	check := func(taskType string, conc int, domain string, lease, paused bool) {
		t.Helper()
		s := w.runners[taskType].settings
		if s.concurrency != conc || s.domain != domain || s.leaseExtension != lease || s.paused != paused {
			t.Fatalf("%s: got %+v", taskType, s)
		}
	}
	check("my-task.v2", 3, "blue", true, false)
	check("other", 7, "green", false, true)
	check("broken", 7, "red", true, false)
	if !w.runners["my-task.v2"].settings.batch || w.runners["other"].settings.batch {
		t.Fatal("batching: on by default, off for other through BATON_WORKER_OTHER_BATCH")
	}
	if !w.Paused("other") || w.Paused("my-task.v2") {
		t.Fatal("paused flags do not follow the settings")
	}

	plain := NewWorker(nil, WithEnv(nil), Concurrency(2))
	plain.Handle("x", noop)
	plain.Handle("y", noop, Batching(false))
	if s := plain.runners["y"].settings; s.batch {
		t.Fatalf("Batching(false) not applied: %+v", s)
	}
	if s := plain.runners["x"].settings; s.concurrency != 2 || s.domain != "" || !s.leaseExtension || !s.batch {
		t.Fatalf("worker-level option not applied: %+v", s)
	}
	if plain.ID() == "" {
		t.Fatal("a worker id is always set")
	}
}

func TestHandleMisuse(t *testing.T) {
	w := NewWorker(nil, WithEnv(nil))
	noop := HandlerFunc(func(context.Context, *Task) (any, error) { return nil, nil })
	w.Handle("a", noop)
	for name, f := range map[string]func(){
		"duplicate": func() { w.Handle("a", noop) },
		"empty":     func() { w.Handle("", noop) },
		"nil":       func() { w.Handle("b", nil) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: expected a panic", name)
				}
			}()
			f()
		}()
	}
	if err := NewWorker(nil, WithEnv(nil)).Run(context.Background()); err == nil {
		t.Fatal("Run without handlers must fail")
	}
}

func TestBuildResult(t *testing.T) {
	w := NewWorker(nil, WithEnv(nil), WithWorkerID("w1"))
	r := &runner{w: w}
	task := newTask(&batonv1.TaskAssignment{TaskId: "t", WorkflowId: "wf"})

	res := r.buildResult(task, handlerOutcome{out: map[string]any{"x": 1.0}})
	if res.Status != batonv1.TaskStatus_TASK_STATUS_COMPLETED || res.Output.AsMap()["x"] != 1.0 ||
		res.WorkerId != "w1" || res.WorkflowId != "wf" {
		t.Fatalf("completed: %v", res)
	}

	task.Log("one", " line")
	task.Logf("n=%d", 2)
	res = r.buildResult(task, handlerOutcome{out: InProgress(1500*time.Millisecond, map[string]any{"stage": "a"})})
	if res.Status != batonv1.TaskStatus_TASK_STATUS_IN_PROGRESS || res.CallbackAfterSeconds != 2 ||
		res.Output.AsMap()["stage"] != "a" {
		t.Fatalf("in progress: %v", res)
	}
	if len(res.Logs) != 2 || res.Logs[0].Message != "one line" || res.Logs[1].Message != "n=2" {
		t.Fatalf("logs: %v", res.Logs)
	}

	res = r.buildResult(task, handlerOutcome{err: errors.New("boom"), out: map[string]any{"partial": true}})
	if res.Status != batonv1.TaskStatus_TASK_STATUS_FAILED || res.ReasonForIncompletion != "boom" ||
		res.Output.AsMap()["partial"] != true {
		t.Fatalf("failed: %v", res)
	}

	res = r.buildResult(task, handlerOutcome{err: TerminalError(errors.New("never"))})
	if res.Status != batonv1.TaskStatus_TASK_STATUS_FAILED_WITH_TERMINAL_ERROR {
		t.Fatalf("terminal: %v", res)
	}

	res = r.buildResult(task, handlerOutcome{out: make(chan int)})
	if res.Status != batonv1.TaskStatus_TASK_STATUS_FAILED || !strings.Contains(res.ReasonForIncompletion, "encode") {
		t.Fatalf("unencodable output: %v", res)
	}

	o := callHandler(context.Background(), HandlerFunc(func(context.Context, *Task) (any, error) {
		panic("kaboom")
	}), task)
	res = r.buildResult(task, o)
	if res.Status != batonv1.TaskStatus_TASK_STATUS_FAILED || res.ReasonForIncompletion != "panic: kaboom" ||
		len(res.Logs) != 1 || !strings.Contains(res.Logs[0].Message, "goroutine") {
		t.Fatalf("panic: %v", res)
	}
}

func TestToDefinition(t *testing.T) {
	d, err := ToDefinition(`{"name":"x"}`)
	if err != nil || d.GetJsonText() != `{"name":"x"}` {
		t.Fatalf("text: %v %v", d, err)
	}
	d, err = ToDefinition(map[string]any{"name": "x", "retryCount": 1})
	if err != nil || d.GetJson().AsMap()["name"] != "x" {
		t.Fatalf("map: %v %v", d, err)
	}
	type def struct {
		Name string `json:"name"`
	}
	d, err = ToDefinition(def{Name: "y"})
	if err != nil || d.GetJsonText() != `{"name":"y"}` {
		t.Fatalf("struct: %v %v", d, err)
	}
	if _, err := ToDefinition(nil); err == nil {
		t.Fatal("nil definition must fail")
	}
}

func TestMaxMessageBytesHeader(t *testing.T) {
	for _, c := range []struct {
		name    string
		md      metadata.MD
		want    int
		wantErr bool
	}{
		{"absent (an older server)", metadata.MD{}, 4194304, false},
		{"no headers at all", nil, 4194304, false},
		{"given", metadata.Pairs("baton-max-message-bytes", "5242880"), 5242880, false},
		{"spaces", metadata.Pairs("baton-max-message-bytes", " 2097152 "), 2097152, false},
		{"not a number", metadata.Pairs("baton-max-message-bytes", "5 MiB"), 4194304, true},
		{"zero", metadata.Pairs("baton-max-message-bytes", "0"), 4194304, true},
		{"negative", metadata.Pairs("baton-max-message-bytes", "-1"), 4194304, true},
		{"other headers only", metadata.Pairs("content-type", "application/grpc"), 4194304, false},
	} {
		got, err := maxMessageBytes(c.md)
		if got != c.want || (err != nil) != c.wantErr {
			t.Errorf("%s: got %d, %v; want %d, error %v", c.name, got, err, c.want, c.wantErr)
		}
	}
}

func TestTooLargeResultIsReplaced(t *testing.T) {
	out, err := structpb.NewStruct(map[string]any{"blob": strings.Repeat("x", 10000)})
	if err != nil {
		t.Fatal(err)
	}
	res := &batonv1.TaskResult{
		TaskId: "t1", Token: "tok", Status: batonv1.TaskStatus_TASK_STATUS_IN_PROGRESS, Output: out,
		ReasonForIncompletion: "", CallbackAfterSeconds: 5, WorkerId: "w1", WorkflowId: "wf1",
		Logs: []*batonv1.TaskLog{{Message: "a"}, {Message: "b"}},
	}
	size := proto.Size(&batonv1.WorkRequest{Kind: &batonv1.WorkRequest_Result{Result: res}})
	if b := tooLarge(res, size); b != nil {
		t.Fatalf("a message of exactly the limit must go out: %+v", b)
	}
	b := tooLarge(res, size-1)
	if b == nil {
		t.Fatal("a message one byte over the limit must not go out")
	}
	want := &batonv1.TaskResult{
		TaskId: "t1", Token: "tok", Status: batonv1.TaskStatus_TASK_STATUS_FAILED, WorkerId: "w1", WorkflowId: "wf1",
		ReasonForIncompletion: fmt.Sprintf("the task result is %d bytes, more than the %d bytes the server reads in one message", size, size-1),
	}
	if !proto.Equal(b.replacement, want) {
		t.Fatalf("replacement %v, want %v", b.replacement, want)
	}
	if b.size != size || b.limit != size-1 || b.logs != 2 || b.status != batonv1.TaskStatus_TASK_STATUS_IN_PROGRESS {
		t.Fatalf("details %+v", b)
	}
	if tooLarge(b.replacement, 1024) != nil {
		t.Fatal("the replacement must be small")
	}
}

// TestOutgoingChecksEveryResultSent queues results under a limit and lowers the limit, as a
// reconnect to another server may: a result already built is checked again when it is
// sent, batched or not, and replaced by a FAILED result that stays pending under its token.
func TestOutgoingChecksEveryResultSent(t *testing.T) {
	out, err := structpb.NewStruct(map[string]any{"blob": strings.Repeat("x", 3000)})
	if err != nil {
		t.Fatal(err)
	}
	for _, batch := range []bool{true, false} {
		w := NewWorker(nil, WithEnv(nil), WithWorkerID("w1"), WithLogger(slog.New(slog.DiscardHandler)))
		w.Handle("t", HandlerFunc(func(context.Context, *Task) (any, error) { return nil, nil }), Batching(batch))
		r := w.runners["t"]
		r.connected = true
		r.maxMessage = 2000
		for i, o := range []*structpb.Struct{out, nil, out} {
			r.addPendingLocked(&batonv1.TaskResult{
				TaskId: fmt.Sprint("t", i), Token: "tok", WorkflowId: "wf", WorkerId: "w1",
				Status: batonv1.TaskStatus_TASK_STATUS_COMPLETED, Output: o,
			}, false)
		}
		msgs, finished := r.outgoing()
		if finished {
			t.Fatal("finished")
		}
		var sent []*batonv1.TaskResult
		for _, m := range msgs {
			if m.GetResult() != nil {
				sent = append(sent, m.GetResult())
			}
			sent = append(sent, m.GetResults().GetResults()...)
			if n := proto.Size(m); n > 2000 {
				t.Fatalf("batch %v: a message of %d bytes went out", batch, n)
			}
		}
		if len(sent) != 3 {
			t.Fatalf("batch %v: %d results sent, want 3", batch, len(sent))
		}
		for i, s := range sent {
			big := i != 1
			if big != (s.Status == batonv1.TaskStatus_TASK_STATUS_FAILED) || s.Token != "tok" ||
				big != strings.Contains(s.ReasonForIncompletion, "more than the 2000 bytes") {
				t.Fatalf("batch %v: result %d sent as %v", batch, i, s)
			}
			if p := r.pending[s.TaskId]; p == nil || p.result.Status != s.Status {
				t.Fatalf("batch %v: result %d is not pending as sent", batch, i)
			}
		}
		if n := w.Stats().TooLarge; n != 2 {
			t.Fatalf("batch %v: %d results counted as too large, want 2", batch, n)
		}
	}
}

// TestRefusedResultRules answers results with refusals of each kind and checks what the
// runner does with them: stale ones are dropped, invalid ones become a FAILED result sent
// once under the same token (unless the result already was FAILED, or hands a task back
// unrun), and any other refusal is sent again later.
func TestRefusedResultRules(t *testing.T) {
	out, err := structpb.NewStruct(map[string]any{"blob": "x"})
	if err != nil {
		t.Fatal(err)
	}
	const (
		completed  = batonv1.TaskStatus_TASK_STATUS_COMPLETED
		inProgress = batonv1.TaskStatus_TASK_STATUS_IN_PROGRESS
		failed     = batonv1.TaskStatus_TASK_STATUS_FAILED
		terminal   = batonv1.TaskStatus_TASK_STATUS_FAILED_WITH_TERMINAL_ERROR
	)
	type want int
	const (
		dropped want = iota
		failedInstead
		retried
	)
	cases := []struct {
		code     string
		status   batonv1.TaskStatus
		giveBack bool
		want     want
	}{
		{"FAILED_PRECONDITION", completed, false, dropped},
		{"NOT_FOUND", completed, false, dropped},
		{"FAILED_PRECONDITION", failed, false, dropped},
		{"INVALID_ARGUMENT", completed, false, failedInstead},
		{"OUT_OF_RANGE", completed, false, failedInstead},
		{"INVALID_ARGUMENT", inProgress, false, failedInstead},
		{"INVALID_ARGUMENT", terminal, false, failedInstead},
		{"INVALID_ARGUMENT", failed, false, dropped},
		{"OUT_OF_RANGE", failed, false, dropped},
		{"INVALID_ARGUMENT", inProgress, true, dropped},
		{"UNAVAILABLE", completed, false, retried},
		{"PERMISSION_DENIED", completed, false, retried},
		{"", failed, false, retried},
	}
	for _, c := range cases {
		name := fmt.Sprintf("%s on %v (give back %v)", c.code, c.status, c.giveBack)
		w := NewWorker(nil, WithEnv(nil), WithWorkerID("w1"), WithLogger(slog.New(slog.DiscardHandler)),
			WithReconnectBackoff(time.Hour, time.Hour))
		w.Handle("t", HandlerFunc(func(context.Context, *Task) (any, error) { return nil, nil }))
		r := w.runners["t"]
		r.connected = true
		logs := []*batonv1.TaskLog{{Message: "line"}}
		sent := &batonv1.TaskResult{
			TaskId: "t1", Token: "tok", WorkflowId: "wf", WorkerId: "w1", Status: c.status, Output: out,
			ReasonForIncompletion: "handler's reason", CallbackAfterSeconds: 5, Logs: logs,
		}
		r.addPendingLocked(sent, c.giveBack)
		if msgs, _ := r.outgoing(); len(msgs) != 1 {
			t.Fatalf("%s: %d messages sent first", name, len(msgs))
		}
		r.onResultAck(&batonv1.Ack{TaskId: "t1", Token: "tok", Code: c.code, Message: "too big"})
		msgs, _ := r.outgoing()
		p := r.pending["t1"]
		switch c.want {
		case dropped:
			if p != nil || len(msgs) != 0 {
				t.Fatalf("%s: not dropped (pending %v, %d messages)", name, p, len(msgs))
			}
			if n := w.Stats().Refused; n != 1 && !c.giveBack {
				t.Fatalf("%s: %d results counted as refused, want 1", name, n)
			}
		case retried:
			// The backoff is an hour: the result waits, pending as it was.
			if p == nil || p.result != sent || p.retries != 1 || len(msgs) != 0 {
				t.Fatalf("%s: not waiting for a retry (pending %v, %d messages)", name, p, len(msgs))
			}
		case failedInstead:
			want := &batonv1.TaskResult{
				TaskId: "t1", Token: "tok", WorkflowId: "wf", WorkerId: "w1", Status: failed, Logs: logs,
				ReasonForIncompletion: "the server refused the task result: " + c.code + ": too big",
			}
			if len(msgs) != 1 || !proto.Equal(msgs[0].GetResult(), want) {
				t.Fatalf("%s: sent %v, want %v", name, msgs, want)
			}
			if p == nil || !proto.Equal(p.result, want) {
				t.Fatalf("%s: pending %v", name, p)
			}
			// Refused again: dropped, not replaced a second time.
			r.onResultAck(&batonv1.Ack{TaskId: "t1", Token: "tok", Code: c.code, Message: "still refused"})
			if msgs, _ := r.outgoing(); r.pending["t1"] != nil || len(msgs) != 0 {
				t.Fatalf("%s: the FAILED result refused in turn was not dropped (%d messages)", name, len(msgs))
			}
			if n := w.Stats().Refused; n != 1 {
				t.Fatalf("%s: %d results counted as refused, want 1", name, n)
			}
		}
	}
}
