package baton

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

const (
	wfCompleted  = WorkflowCompleted
	wfFailed     = WorkflowFailed
	wfRunning    = WorkflowRunning
	wfPaused     = WorkflowPaused
	wfTerminated = WorkflowTerminated
	tsCompleted  = TaskCompleted
	tsFailed     = TaskFailed
	tsTerminal   = TaskFailedWithTerminalError
	tsTimedOut   = TaskTimedOut
	tsScheduled  = TaskScheduled
)

type shoutIn struct {
	Text string `json:"text"`
}

type shoutOut struct {
	Text   string `json:"text"`
	Length int    `json:"length"`
}

func shout(ctx context.Context, in shoutIn) (shoutOut, error) {
	if t := TaskFromContext(ctx); t != nil {
		t.Logf("shouting %d characters", len(in.Text))
	}
	return shoutOut{Text: strings.ToUpper(in.Text), Length: len(in.Text)}, nil
}

func TestCompleteWithMappedOutputAndLogs(t *testing.T) {
	e := newEnv(t)
	e.registerTaskDef(map[string]any{"name": "shout", "retryCount": 0})
	e.registerWorkflow("shout_twice",
		map[string]any{"loud": "${second.output.text}", "length": "${first.output.length}"},
		simpleTask("shout", "first", map[string]any{"text": "${workflow.input.text}"}),
		simpleTask("shout", "second", map[string]any{"text": "${first.output.text}!"}),
	)
	w := e.newWorker()
	w.Handle("shout", Typed(shout), Concurrency(2))
	e.run(w)

	id := e.start("shout_twice", map[string]any{"text": "hello"}, WithCorrelationID("c-1"))
	wf := e.wait(id, 20*time.Second)
	e.expectStatus(wf, wfCompleted)
	out := wf.Output
	if out["loud"] != "HELLO!" || out["length"] != 5.0 {
		t.Fatalf("workflow output %v", out)
	}
	if len(wf.Tasks) != 2 {
		t.Fatalf("tasks: %v", taskSummary(wf))
	}
	first := wf.Tasks[0]
	if first.WorkerID != "test-worker" || first.Status != tsCompleted {
		t.Fatalf("first task: worker %q status %v", first.WorkerID, first.Status)
	}
	logs, err := e.client.GetTaskLogs(e.ctx(5*time.Second), first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 1 || logs[0].Message != "shouting 5 characters" {
		t.Fatalf("task logs: %v", logs)
	}

	// ExecuteWorkflow waits for the end.
	done, finished, err := e.client.ExecuteWorkflow(e.ctx(20*time.Second), "shout_twice",
		map[string]any{"text": "abc"}, 15*time.Second)
	if err != nil || !finished {
		t.Fatalf("execute: finished=%v err=%v", finished, err)
	}
	e.expectStatus(done, wfCompleted)
	if got := done.Output["loud"]; got != "ABC!" {
		t.Fatalf("execute output %v", got)
	}
	// The last acknowledgement may reach the worker just after the workflow finished.
	eventually(t, 5*time.Second, "four acknowledged results", func() bool { return w.Stats().Completed == 4 })
	if s := w.Stats(); s.Started != 4 || s.Refused != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestFailedTaskIsRetried(t *testing.T) {
	e := newEnv(t)
	e.registerTaskDef(map[string]any{"name": "flaky", "retryCount": 2, "retryDelaySeconds": 0})
	e.registerWorkflow("flaky_wf", map[string]any{"attempt": "${f.output.attempt}"},
		simpleTask("flaky", "f", map[string]any{}))
	w := e.newWorker()
	w.HandleFunc("flaky", func(ctx context.Context, t *Task) (any, error) {
		if t.RetryCount < 2 {
			return map[string]any{"tried": t.RetryCount}, fmt.Errorf("attempt %d failed", t.RetryCount)
		}
		return map[string]any{"attempt": t.RetryCount}, nil
	})
	e.run(w)

	wf := e.wait(e.start("flaky_wf", nil), 20*time.Second)
	e.expectStatus(wf, wfCompleted)
	if got := wf.Output["attempt"]; got != 2.0 {
		t.Fatalf("output %v", wf.Output)
	}
	tasks := wf.Tasks
	if len(tasks) != 3 {
		t.Fatalf("want 3 attempts, got %v", taskSummary(wf))
	}
	for i, task := range tasks[:2] {
		if task.Status != tsFailed || task.ReasonForIncompletion != fmt.Sprintf("attempt %d failed", i) {
			t.Fatalf("attempt %d: %v %q", i, task.Status, task.ReasonForIncompletion)
		}
		if task.Output["tried"] != float64(i) {
			t.Fatalf("attempt %d: output given with the error was not kept: %v", i, task.Output)
		}
	}
	if tasks[2].Status != tsCompleted || tasks[2].RetryCount != 2 {
		t.Fatalf("last attempt: %v retry %d", tasks[2].Status, tasks[2].RetryCount)
	}
}

func TestTerminalErrorAndPanic(t *testing.T) {
	e := newEnv(t)
	e.registerTaskDef(map[string]any{"name": "doomed", "retryCount": 3, "retryDelaySeconds": 0})
	e.registerTaskDef(map[string]any{"name": "panicky", "retryCount": 0})
	e.registerWorkflow("doomed_wf", nil, simpleTask("doomed", "d", map[string]any{}))
	e.registerWorkflow("panicky_wf", nil, simpleTask("panicky", "p", map[string]any{}))
	var calls atomic.Int32
	w := e.newWorker()
	w.HandleFunc("doomed", func(ctx context.Context, t *Task) (any, error) {
		calls.Add(1)
		return nil, TerminalError(errors.New("input can never work"))
	})
	w.HandleFunc("panicky", func(ctx context.Context, t *Task) (any, error) {
		var m map[string]int
		m["boom"]++ // nil map write panics
		return nil, nil
	})
	e.run(w)

	wf := e.wait(e.start("doomed_wf", nil), 20*time.Second)
	e.expectStatus(wf, wfFailed)
	if len(wf.Tasks) != 1 || wf.Tasks[0].Status != tsTerminal ||
		wf.Tasks[0].ReasonForIncompletion != "input can never work" {
		t.Fatalf("terminal failure: %v", taskSummary(wf))
	}
	if calls.Load() != 1 {
		t.Fatalf("a terminal error must not be retried; handler ran %d times", calls.Load())
	}

	wf = e.wait(e.start("panicky_wf", nil), 20*time.Second)
	e.expectStatus(wf, wfFailed)
	task := wf.Tasks[0]
	if task.Status != tsFailed || !strings.HasPrefix(task.ReasonForIncompletion, "panic: ") {
		t.Fatalf("panic: %v %q", task.Status, task.ReasonForIncompletion)
	}
	logs, err := e.client.GetTaskLogs(e.ctx(5*time.Second), task.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 1 || !strings.Contains(logs[0].Message, "goroutine") {
		t.Fatalf("the panic stack was not logged with the task: %v", logs)
	}
}

func TestTimedOutTaskIsRetried(t *testing.T) {
	e := newEnv(t)
	e.registerTaskDef(map[string]any{
		"name": "sleepy", "retryCount": 1, "retryDelaySeconds": 0, "responseTimeoutSeconds": 1,
	})
	e.registerWorkflow("sleepy_wf", map[string]any{"attempt": "${s.output.attempt}"},
		simpleTask("sleepy", "s", map[string]any{}))
	causes := make(chan error, 1)
	w := e.newWorker()
	w.HandleFunc("sleepy", func(ctx context.Context, t *Task) (any, error) {
		if t.RetryCount == 0 {
			// Stall past the response timeout, ignoring the cancellation for a while.
			time.Sleep(2500 * time.Millisecond)
			causes <- context.Cause(ctx)
			return map[string]any{"attempt": 0}, nil
		}
		return map[string]any{"attempt": t.RetryCount}, nil
	}, LeaseExtension(false), Concurrency(2))
	e.run(w)

	wf := e.wait(e.start("sleepy_wf", nil), 30*time.Second)
	e.expectStatus(wf, wfCompleted)
	if got := wf.Output["attempt"]; got != 1.0 {
		t.Fatalf("the late result of the first attempt must not count; output %v", wf.Output)
	}
	tasks := wf.Tasks
	if len(tasks) != 2 || tasks[0].Status != tsTimedOut || tasks[1].Status != tsCompleted {
		t.Fatalf("want TIMED_OUT then COMPLETED, got %v", taskSummary(wf))
	}
	select {
	case cause := <-causes:
		if !errors.Is(cause, ErrLeaseExpired) {
			t.Fatalf("the stalled handler's context cause is %v, want ErrLeaseExpired", cause)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stalled handler never finished")
	}
}

func TestLeaseExtensionKeepsLongTask(t *testing.T) {
	e := newEnv(t)
	e.registerTaskDef(map[string]any{"name": "long", "retryCount": 0, "responseTimeoutSeconds": 1})
	e.registerWorkflow("long_wf", map[string]any{"ok": "${l.output.ok}"}, simpleTask("long", "l", map[string]any{}))
	w := e.newWorker()
	w.HandleFunc("long", func(ctx context.Context, t *Task) (any, error) {
		select {
		case <-time.After(3 * time.Second):
			return map[string]any{"ok": true}, nil
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	})
	e.run(w)

	wf := e.wait(e.start("long_wf", nil), 30*time.Second)
	e.expectStatus(wf, wfCompleted)
	if len(wf.Tasks) != 1 {
		t.Fatalf("the task must have run once: %v", taskSummary(wf))
	}
	if n := w.Stats().LeaseExtensions; n < 2 {
		t.Fatalf("expected lease extensions during a 3 s task with a 1 s lease, got %d", n)
	}
}

func TestInProgressWithCallback(t *testing.T) {
	e := newEnv(t)
	e.registerTaskDef(map[string]any{"name": "waiter", "retryCount": 0})
	e.registerWorkflow("waiter_wf", map[string]any{"stage": "${w.output.stage}", "kept": "${w.output.kept}"},
		simpleTask("waiter", "w", map[string]any{}))
	var mu sync.Mutex
	seen := map[string]int{}
	w := e.newWorker()
	w.HandleFunc("waiter", func(ctx context.Context, t *Task) (any, error) {
		mu.Lock()
		seen[t.ID]++
		n := seen[t.ID]
		mu.Unlock()
		if n == 1 {
			t.Log("not ready yet")
			return InProgress(time.Second, map[string]any{"stage": 1, "first": true}), nil
		}
		// The output reported with IN_PROGRESS is kept with the task meanwhile.
		task, err := e.client.GetTask(ctx, t.ID)
		if err != nil {
			return nil, err
		}
		return map[string]any{"stage": 2, "kept": task.Output["first"]}, nil
	})
	e.run(w)

	wf := e.wait(e.start("waiter_wf", nil), 20*time.Second)
	e.expectStatus(wf, wfCompleted)
	if len(wf.Tasks) != 1 {
		t.Fatalf("IN_PROGRESS must not make a new task instance: %v", taskSummary(wf))
	}
	task := wf.Tasks[0]
	if task.PollCount < 2 {
		t.Fatalf("poll count %d, want at least 2", task.PollCount)
	}
	out := wf.Output
	if out["stage"] != 2.0 || out["kept"] != true {
		t.Fatalf("output %v: want stage 2 and the IN_PROGRESS output kept in between", out)
	}
	logs, err := e.client.GetTaskLogs(e.ctx(5*time.Second), task.ID)
	if err != nil || len(logs) != 1 || logs[0].Message != "not ready yet" {
		t.Fatalf("logs %v %v", logs, err)
	}
}

func TestPauseAndResume(t *testing.T) {
	e := newEnv(t)
	e.registerTaskDef(map[string]any{"name": "pausable", "retryCount": 0})
	e.registerWorkflow("pausable_wf", nil, simpleTask("pausable", "p", map[string]any{}))
	var calls atomic.Int32
	w := e.newWorker()
	w.HandleFunc("pausable", func(ctx context.Context, t *Task) (any, error) {
		calls.Add(1)
		return nil, nil
	}, Concurrency(3))
	e.run(w)

	// Let the worker subscribe with its full credit, then pause it.
	first := e.wait(e.start("pausable_wf", nil), 20*time.Second)
	e.expectStatus(first, wfCompleted)
	w.Pause()
	if !w.Paused("pausable") {
		t.Fatal("not paused")
	}
	ids := []string{e.start("pausable_wf", nil), e.start("pausable_wf", nil)}
	time.Sleep(1500 * time.Millisecond)
	if n := calls.Load(); n != 1 {
		t.Fatalf("a paused worker ran %d tasks", n-1)
	}
	for _, id := range ids {
		wf, err := e.client.GetWorkflow(e.ctx(5*time.Second), id, true)
		if err != nil {
			t.Fatal(err)
		}
		e.expectStatus(wf, wfRunning)
	}
	w.Resume()
	for _, id := range ids {
		e.expectStatus(e.wait(id, 20*time.Second), wfCompleted)
	}
	if n := calls.Load(); n != 3 {
		t.Fatalf("handler ran %d times, want 3", n)
	}
}

// TestGracefulShutdown stops a worker while a handler runs: the worker takes no task after
// the stop (one started during the drain is left to other workers), lets the running
// handler finish and its result be acknowledged, and only then returns.
func TestGracefulShutdown(t *testing.T) {
	e := newEnv(t)
	e.registerTaskDef(map[string]any{"name": "slow", "retryCount": 0})
	e.registerWorkflow("slow_wf", nil, simpleTask("slow", "s", map[string]any{}))
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	var calls atomic.Int64
	rec := newRecorder(e.logger.Handler())
	w := e.newWorker(WithLogger(slog.New(rec)))
	w.HandleFunc("slow", func(ctx context.Context, t *Task) (any, error) {
		calls.Add(1)
		started <- struct{}{}
		select {
		case <-release:
			return map[string]any{"done": true}, nil
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	})
	stop := e.run(w)
	id := e.start("slow_wf", nil)
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("task never started")
	}
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	expectRecord(t, rec, "baton: worker draining", map[string]any{"running": 1})

	// Started during the drain: the worker must not run it.
	later := e.start("slow_wf", nil)
	eventually(t, 10*time.Second, "the later task scheduled", func() bool {
		wf, err := e.client.GetWorkflow(e.ctx(5*time.Second), later, true)
		return err == nil && len(wf.Tasks) == 1
	})
	select {
	case err := <-stopped:
		t.Fatalf("Run returned (%v) while a handler was still running", err)
	default:
	}
	close(release)
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("Run after draining: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the worker did not stop")
	}
	// The result was reported before Run returned.
	wf, err := e.client.GetWorkflow(e.ctx(5*time.Second), id, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(wf.Tasks) == 0 || wf.Tasks[0].Status != tsCompleted {
		t.Fatalf("in-flight task not finished by the drain: %v", taskSummary(wf))
	}
	e.expectStatus(e.wait(id, 10*time.Second), wfCompleted)
	if n := calls.Load(); n != 1 || w.Stats().Started != 1 {
		t.Fatalf("%d handler calls (stats %+v), want only the one running at the stop", n, w.Stats())
	}

	// The task left behind is not lost: another worker runs it.
	other := e.newWorker(WithWorkerID("second-worker"))
	other.HandleFunc("slow", func(ctx context.Context, t *Task) (any, error) { return map[string]any{"done": true}, nil })
	e.run(other)
	e.expectStatus(e.wait(later, 30*time.Second), wfCompleted)
}

func TestGracePeriodExpires(t *testing.T) {
	e := newEnv(t)
	e.registerTaskDef(map[string]any{"name": "stuck", "retryCount": 0})
	e.registerWorkflow("stuck_wf", nil, simpleTask("stuck", "s", map[string]any{}))
	started := make(chan struct{}, 1)
	causes := make(chan error, 1)
	w := e.newWorker(WithGracePeriod(300 * time.Millisecond))
	w.HandleFunc("stuck", func(ctx context.Context, t *Task) (any, error) {
		started <- struct{}{}
		<-ctx.Done()
		causes <- context.Cause(ctx)
		return nil, context.Cause(ctx)
	})
	stop := e.run(w)
	e.start("stuck_wf", nil)
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("task never started")
	}
	if err := stop(); !errors.Is(err, ErrGracePeriodExpired) {
		t.Fatalf("Run returned %v, want ErrGracePeriodExpired", err)
	}
	select {
	case c := <-causes:
		if !errors.Is(c, ErrGracePeriodExpired) {
			t.Fatalf("handler context cause %v", c)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the handler's context was not cancelled")
	}
}

func TestTaskToDomain(t *testing.T) {
	e := newEnv(t)
	e.registerTaskDef(map[string]any{"name": "colored", "retryCount": 0})
	e.registerWorkflow("colored_wf", map[string]any{"by": "${c.output.by}"}, simpleTask("colored", "c", map[string]any{}))
	plain := e.newWorker(WithWorkerID("plain"))
	plain.HandleFunc("colored", func(ctx context.Context, t *Task) (any, error) {
		return map[string]any{"by": "plain"}, nil
	})
	blue := e.newWorker(WithWorkerID("blue"))
	blue.HandleFunc("colored", func(ctx context.Context, t *Task) (any, error) {
		return map[string]any{"by": "blue:" + t.Domain}, nil
	}, Domain("blue"))
	e.run(plain)
	e.run(blue)

	wf := e.wait(e.start("colored_wf", nil, WithTaskToDomain(map[string]string{"colored": "blue"})), 20*time.Second)
	e.expectStatus(wf, wfCompleted)
	if got := wf.Output["by"]; got != "blue:blue" {
		t.Fatalf("task ran on %v", got)
	}
	if d := wf.Tasks[0].Domain; d != "blue" {
		t.Fatalf("task domain %q", d)
	}
	wf = e.wait(e.start("colored_wf", nil), 20*time.Second)
	if got := wf.Output["by"]; got != "plain" {
		t.Fatalf("task without a domain ran on %v", got)
	}
}

// TestServerRestart kills the server (SIGKILL) while a worker runs tasks, restarts it on
// the same data directory and port, and checks that every workflow completes and that no
// task is run again after its result was acknowledged.
func TestServerRestart(t *testing.T) {
	e := newEnv(t)
	e.registerTaskDef(map[string]any{
		"name": "step", "retryCount": 2, "retryDelaySeconds": 0, "responseTimeoutSeconds": 5,
	})
	e.registerWorkflow("steps_wf", map[string]any{"n": "${c.output.n}"},
		simpleTask("step", "a", map[string]any{"n": "${workflow.input.n}"}),
		simpleTask("step", "b", map[string]any{"n": "${a.output.n}"}),
		simpleTask("step", "c", map[string]any{"n": "${b.output.n}"}),
	)

	var mu sync.Mutex
	acked := map[string]bool{} // task ids whose result was acknowledged as taken
	starts := map[string]int{} // handler calls per task id
	var violations []string
	reg := prometheus.NewRegistry()
	w := e.newWorker(WithMetrics(reg))
	w.hookStart = func(taskID, token string) {
		mu.Lock()
		defer mu.Unlock()
		starts[taskID]++
		if acked[taskID] {
			violations = append(violations, taskID)
		}
	}
	w.hookAck = func(taskID, token string, ok bool, code string) {
		if ok {
			mu.Lock()
			acked[taskID] = true
			mu.Unlock()
		}
	}
	w.HandleFunc("step", func(ctx context.Context, t *Task) (any, error) {
		time.Sleep(time.Duration(50+rand.IntN(150)) * time.Millisecond)
		n, _ := t.Input["n"].(float64)
		return map[string]any{"n": n + 1}, nil
	}, Concurrency(8))
	e.run(w)

	const workflows = 40
	ids := make([]string, workflows)
	for i := range ids {
		ids[i] = e.start("steps_wf", map[string]any{"n": i})
	}
	eventually(t, 30*time.Second, "some results acknowledged", func() bool { return w.Stats().Completed >= 20 })
	e.srv.Kill()
	// Longer than any handler call: the calls running at the kill finish while the server is
	// away, so their results can only be taken after the restart.
	time.Sleep(500 * time.Millisecond)
	if err := e.srv.Restart(e.ctx(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		wf := e.wait(id, 60*time.Second)
		e.expectStatus(wf, wfCompleted)
		if got := wf.Output["n"]; got != float64(i+3) {
			t.Fatalf("workflow %d output %v", i, got)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(violations) > 0 {
		t.Fatalf("tasks run again after their result was acknowledged: %v", violations)
	}
	// Stricter: with a single worker, a task handed out again after the restart is answered
	// with the result already computed (or the call still running), so no task instance
	// runs twice at all.
	if len(starts) != workflows*3 {
		t.Fatalf("%d task instances ran, want %d", len(starts), workflows*3)
	}
	for id, n := range starts {
		if n != 1 {
			t.Fatalf("task %s ran %d times", id, n)
		}
	}
	if s := w.Stats(); s.Reconnects < 1 || s.Resent < 1 {
		t.Fatalf("the worker should have reconnected and sent results again: %+v", s)
	}
	m, err := newWorkerMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(m.reconnects.WithLabelValues("step")); got != float64(w.Stats().Reconnects) || got < 1 {
		t.Fatalf("reconnects metric %v, stats %d", got, w.Stats().Reconnects)
	}
	if got := testutil.ToFloat64(m.received.WithLabelValues("step")); got != workflows*3 {
		t.Fatalf("received metric %v, want %d", got, workflows*3)
	}
	t.Logf("stats after restart: %+v", w.Stats())
	if os.Getenv("BATON_TEST_DUMP") != "" {
		t.Log(e.logs.tail(200000))
	}
}

// TestLeaseLostCancelsHandler terminates a workflow while its task runs: the next lease
// extension is refused and the handler's context is cancelled with ErrLeaseLost.
func TestLeaseLostCancelsHandler(t *testing.T) {
	e := newEnv(t)
	e.registerTaskDef(map[string]any{"name": "doomed_long", "retryCount": 0, "responseTimeoutSeconds": 1})
	e.registerWorkflow("doomed_long_wf", nil, simpleTask("doomed_long", "d", map[string]any{}))
	started := make(chan struct{}, 1)
	causes := make(chan error, 1)
	w := e.newWorker()
	w.HandleFunc("doomed_long", func(ctx context.Context, t *Task) (any, error) {
		started <- struct{}{}
		select {
		case <-ctx.Done():
			causes <- context.Cause(ctx)
		case <-time.After(20 * time.Second):
			causes <- nil
		}
		return nil, nil
	})
	e.run(w)
	id := e.start("doomed_long_wf", nil)
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("task never started")
	}
	if err := e.client.TerminateWorkflow(e.ctx(5*time.Second), id, "no longer needed"); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-causes:
		if !errors.Is(c, ErrLeaseLost) {
			t.Fatalf("handler context cause %v, want ErrLeaseLost", c)
		}
	case <-time.After(25 * time.Second):
		t.Fatal("handler never returned")
	}
	wf := e.wait(id, 5*time.Second)
	e.expectStatus(wf, wfTerminated)
	if s := wf.Tasks[0].Status; s != TaskCanceled {
		t.Fatalf("task status %v, want CANCELED", s)
	}
}

// TestResultTooLargeForOneMessage runs a server whose payload limit is 1 MiB, so that it
// reads messages of at most 2 MiB, and a handler whose output is about 3 MiB. The worker
// must not send that result (the server could not read it and would end the stream, again
// at every reconnect): it reports the task FAILED with a reason naming the size and the
// limit, on the same stream, and goes on serving. Both ways of sending results are
// covered: batching (where a result over 1 MiB goes alone) and one message per result.
func TestResultTooLargeForOneMessage(t *testing.T) {
	e := newEnvArgs(t, "--max-payload-bytes", "1048576")
	const limit = 2 << 20
	rec := newRecorder(e.logger.Handler())
	reg := prometheus.NewRegistry()
	w := e.newWorker(WithLogger(slog.New(rec)), WithMetrics(reg))
	huge := func(ctx context.Context, t *Task) (any, error) {
		if t.Input["huge"] != true {
			return map[string]any{"ok": true}, nil
		}
		t.Log("about to return a very large output")
		return map[string]any{"blob": strings.Repeat("x", 3<<20)}, nil
	}
	types := map[string]bool{"huge_batched": true, "huge_plain": false}
	for name, batch := range types {
		e.registerTaskDef(map[string]any{"name": name, "retryCount": 0})
		e.registerWorkflow(name+"_wf", map[string]any{"ok": "${h.output.ok}"},
			simpleTask(name, "h", map[string]any{"huge": "${workflow.input.huge}"}))
		w.HandleFunc(name, huge, Batching(batch))
	}
	e.run(w)
	// recordOf waits for the record with the message about one task type.
	recordOf := func(msg, taskType string) logRecord {
		t.Helper()
		var found logRecord
		eventually(t, 20*time.Second, msg+" for "+taskType, func() bool {
			for _, r := range rec.find(msg) {
				if r.attrs["task_type"].String() == taskType {
					found = r
					return true
				}
			}
			return false
		})
		return found
	}
	for name := range types {
		if got := recordOf("baton: stream connected", name).attrs["max_message_bytes"].Int64(); got != limit {
			t.Fatalf("%s: stream connected with a limit of %d bytes, want %d", name, got, limit)
		}
	}

	reason := regexp.MustCompile(`^the task result is (\d+) bytes, more than the 2097152 bytes the server reads in one message$`)
	for name := range types {
		id := e.start(name+"_wf", map[string]any{"huge": true})
		wf := e.wait(id, 30*time.Second)
		e.expectStatus(wf, wfFailed)
		if len(wf.Tasks) != 1 || wf.Tasks[0].Status != tsFailed {
			t.Fatalf("%s: want one FAILED task, got %v", name, taskSummary(wf))
		}
		task := wf.Tasks[0]
		m := reason.FindStringSubmatch(task.ReasonForIncompletion)
		if m == nil {
			t.Fatalf("%s: reason %q does not name the size and the limit", name, task.ReasonForIncompletion)
		}
		size, _ := strconv.Atoi(m[1])
		if size <= 3<<20 {
			t.Fatalf("%s: reported size %d, want more than the 3 MiB output", name, size)
		}
		if len(task.Output) != 0 {
			t.Fatalf("%s: the failed task kept an output of %d keys", name, len(task.Output))
		}
		logged := recordOf("baton: task result too large; reporting the task FAILED", name)
		want := map[string]any{"task_id": task.ID, "workflow_id": id, "size": size, "limit": limit,
			"status": "TASK_STATUS_COMPLETED", "logs_dropped": 1}
		for k, v := range want {
			if got, ok := logged.attrs[k]; !ok || fmt.Sprint(got.Any()) != fmt.Sprint(v) {
				t.Fatalf("%s: record %s: %s = %v, want %v", name, logged, k, got, v)
			}
		}
		if logged.level != slog.LevelError {
			t.Fatalf("%s: logged at %v, want ERROR", name, logged.level)
		}
	}

	// The streams never broke, and the worker goes on serving both types.
	for name := range types {
		wf := e.wait(e.start(name+"_wf", map[string]any{"huge": false}), 30*time.Second)
		e.expectStatus(wf, wfCompleted)
		if wf.Output["ok"] != true {
			t.Fatalf("%s: output %v", name, wf.Output)
		}
	}
	eventually(t, 5*time.Second, "four acknowledged results", func() bool { return w.Stats().Completed == 4 })
	if s := w.Stats(); s.Reconnects != 0 || s.Resent != 0 || s.TooLarge != 2 || s.Refused != 0 {
		t.Fatalf("stats %+v: want no reconnect, nothing resent or refused, and 2 results too large", s)
	}
	m, err := newWorkerMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	for name := range types {
		if got := testutil.ToFloat64(m.failures.WithLabelValues(name)); got != 1 {
			t.Fatalf("%s: task failures %v, want 1", name, got)
		}
		if got := testutil.ToFloat64(m.finished.WithLabelValues(name, "COMPLETED")); got != 1 {
			t.Fatalf("%s: completed %v, want 1 (the small task)", name, got)
		}
		if got := testutil.ToFloat64(m.reconnects.WithLabelValues(name)); got != 0 {
			t.Fatalf("%s: stream reconnects %v", name, got)
		}
	}
}

// TestResultRefusedByTheServerFailsTheTask runs a server whose payload limit is 1 MiB (its
// message limit is then 2 MiB) and a handler whose output is about 1.5 MiB: the result fits
// in one message, so the worker sends it, and the server refuses it with INVALID_ARGUMENT.
// The worker must then report the task FAILED, with no output and the server's reason, on
// the same stream, rather than drop the result and leave the task to its response timeout
// (five minutes here). Both ways of sending results are covered.
func TestResultRefusedByTheServerFailsTheTask(t *testing.T) {
	e := newEnvArgs(t, "--max-payload-bytes", "1048576")
	rec := newRecorder(e.logger.Handler())
	reg := prometheus.NewRegistry()
	w := e.newWorker(WithLogger(slog.New(rec)), WithMetrics(reg))
	big := func(ctx context.Context, t *Task) (any, error) {
		if t.Input["big"] != true {
			return map[string]any{"ok": true}, nil
		}
		return map[string]any{"blob": strings.Repeat("x", 3<<19)}, nil
	}
	types := map[string]bool{"refused_batched": true, "refused_plain": false}
	for name, batch := range types {
		e.registerTaskDef(map[string]any{"name": name, "retryCount": 0, "responseTimeoutSeconds": 300})
		e.registerWorkflow(name+"_wf", map[string]any{"ok": "${r.output.ok}"},
			simpleTask(name, "r", map[string]any{"big": "${workflow.input.big}"}))
		w.HandleFunc(name, big, Batching(batch))
	}
	e.run(w)

	const prefix = "the server refused the task result: INVALID_ARGUMENT: "
	for name := range types {
		id := e.start(name+"_wf", map[string]any{"big": true})
		wf := e.wait(id, 30*time.Second)
		e.expectStatus(wf, wfFailed)
		if len(wf.Tasks) != 1 || wf.Tasks[0].Status != tsFailed {
			t.Fatalf("%s: want one FAILED task, got %v", name, taskSummary(wf))
		}
		task := wf.Tasks[0]
		reason := task.ReasonForIncompletion
		// The server's message names the output's size and the limit.
		if !strings.HasPrefix(reason, prefix) || !strings.Contains(reason, "output") || !strings.Contains(reason, "1048576") {
			t.Fatalf("%s: reason %q, want %q and the server's message about the size", name, reason, prefix)
		}
		if len(task.Output) != 0 {
			t.Fatalf("%s: the failed task kept an output of %d keys", name, len(task.Output))
		}
		var logged logRecord
		eventually(t, 10*time.Second, "the refusal to be logged for "+name, func() bool {
			for _, r := range rec.find("baton: result refused; reporting the task FAILED") {
				if r.attrs["task_type"].String() == name {
					logged = r
					return true
				}
			}
			return false
		})
		want := map[string]any{"task_id": task.ID, "workflow_id": id, "code": "INVALID_ARGUMENT",
			"status": "TASK_STATUS_COMPLETED", "error": strings.TrimPrefix(reason, prefix)}
		for k, v := range want {
			if got, ok := logged.attrs[k]; !ok || fmt.Sprint(got.Any()) != fmt.Sprint(v) {
				t.Fatalf("%s: record %s: %s = %v, want %v", name, logged, k, got, v)
			}
		}
		if logged.level != slog.LevelError {
			t.Fatalf("%s: logged at %v, want ERROR", name, logged.level)
		}
	}

	// The streams never broke, and the worker goes on serving both types.
	for name := range types {
		wf := e.wait(e.start(name+"_wf", map[string]any{"big": false}), 30*time.Second)
		e.expectStatus(wf, wfCompleted)
		if wf.Output["ok"] != true {
			t.Fatalf("%s: output %v", name, wf.Output)
		}
	}
	eventually(t, 5*time.Second, "four acknowledged results", func() bool { return w.Stats().Completed == 4 })
	if s := w.Stats(); s.Reconnects != 0 || s.Resent != 0 || s.TooLarge != 0 || s.Refused != 0 {
		t.Fatalf("stats %+v: want no reconnect, nothing resent, too large or dropped", s)
	}
	m, err := newWorkerMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	for name := range types {
		if got := testutil.ToFloat64(m.failures.WithLabelValues(name)); got != 1 {
			t.Fatalf("%s: task failures %v, want 1", name, got)
		}
		if got := testutil.ToFloat64(m.dropped.WithLabelValues(name)); got != 0 {
			t.Fatalf("%s: results dropped %v, want 0", name, got)
		}
	}
}
