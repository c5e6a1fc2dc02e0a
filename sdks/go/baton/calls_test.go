package baton

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/status"
)

// registerChain registers task definitions a, b and c and a workflow running them in turn,
// each passing its output on: a1 gets x, b1 gets y from a1, c1 gets z from b1.
func (e *testEnv) registerChain(name string) {
	e.t.Helper()
	for _, n := range []string{"a", "b", "c"} {
		e.registerTaskDef(map[string]any{"name": n, "retryCount": 0, "responseTimeoutSeconds": 30})
	}
	e.registerWorkflow(name, map[string]any{"z": "${c1.output.z}"},
		simpleTask("a", "a1", map[string]any{"x": "${workflow.input.x}"}),
		simpleTask("b", "b1", map[string]any{"y": "${a1.output.y}"}),
		simpleTask("c", "c1", map[string]any{"z": "${b1.output.z}"}),
	)
}

// waitExecution reads an execution until cond holds or d passes, and returns it.
func (e *testEnv) waitExecution(id string, d time.Duration, what string, cond func(*Workflow) bool) *Workflow {
	e.t.Helper()
	var wf *Workflow
	eventually(e.t, d, what, func() bool {
		got, err := e.client.GetWorkflow(e.ctx(10*time.Second), id, true)
		if err != nil {
			e.t.Fatalf("get %s: %v", id, err)
		}
		wf = got
		return cond(got)
	})
	return wf
}

func TestPollUpdateAndLeases(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx(60 * time.Second)
	c := e.client
	e.registerChain("poll_wf")
	id := e.start("poll_wf", map[string]any{"x": 3}, WithCorrelationID("poll-1"))

	task, err := c.PollTask(ctx, "a", PollOptions{WorkerID: "poller", Timeout: 5 * time.Second})
	if err != nil || task == nil {
		t.Fatalf("poll: %v %v", task, err)
	}
	if task.WorkflowID != id || task.ReferenceName != "a1" || task.Input["x"] != 3.0 || task.CorrelationID != "poll-1" {
		t.Fatalf("polled task %+v", task)
	}
	deadline, err := c.ExtendLease(ctx, task)
	if err != nil || !deadline.After(time.Now()) {
		t.Fatalf("extend lease: %v %v", deadline, err)
	}
	if err := c.AddTaskLogs(ctx, task.ID, "first line", "second line"); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateTask(ctx, task, TaskUpdate{
		Status: TaskCompleted, Output: map[string]any{"y": 4}, Logs: []string{"done"}, WorkerID: "poller",
	}); err != nil {
		t.Fatal(err)
	}
	logs, err := c.GetTaskLogs(ctx, task.ID)
	if err != nil || len(logs) != 3 || logs[0].Message != "first line" || logs[2].Message != "done" {
		t.Fatalf("logs %v %v", logs, err)
	}
	if err := c.UpdateTask(ctx, task, TaskUpdate{Status: "DONE"}); err == nil {
		t.Fatal("an unknown status must be refused")
	}

	// Nothing of type a is left; polling without a wait returns nil.
	if none, err := c.PollTask(ctx, "a", PollOptions{}); err != nil || none != nil {
		t.Fatalf("empty poll: %v %v", none, err)
	}

	eventually(t, 10*time.Second, "queue b to hold b1", func() bool {
		qs, err := c.ListQueues(ctx, "b")
		if err != nil {
			t.Fatal(err)
		}
		return len(qs) == 1 && qs[0].TaskType == "b" && qs[0].Depth == 1
	})
	batch, err := c.BatchPollTasks(ctx, "b", 5, PollOptions{Timeout: 5 * time.Second})
	if err != nil || len(batch) != 1 || batch[0].ReferenceName != "b1" || batch[0].Input["y"] != 4.0 {
		t.Fatalf("batch poll: %v %v", batch, err)
	}
	if err := c.UpdateTask(ctx, batch[0], TaskUpdate{Status: TaskCompleted, Output: map[string]any{"z": "end"}}); err != nil {
		t.Fatal(err)
	}

	// A stream worker handles c; the server lists it while it is connected.
	w := e.newWorker()
	w.HandleFunc("c", func(ctx context.Context, t *Task) (any, error) { return map[string]any{"z": t.Input["z"]}, nil })
	e.run(w)
	eventually(t, 10*time.Second, "the worker to be listed", func() bool {
		ws, err := c.ListWorkers(ctx, "c")
		if err != nil {
			t.Fatal(err)
		}
		return len(ws) > 0 && ws[0].Kind == WorkerStream && ws[0].WorkerID == "test-worker" && slices.Contains(ws[0].TaskTypes, "c")
	})
	wf := e.waitExecution(id, 20*time.Second, "completion", func(w *Workflow) bool { return w.Status.Terminal() })
	if wf.Status != WorkflowCompleted || wf.Output["z"] != "end" || wf.CorrelationID != "poll-1" || len(wf.Tasks) != 3 {
		t.Fatalf("finished workflow %+v", wf)
	}
	if a := wf.Task("a1"); a == nil || a.Status != TaskCompleted || a.WorkerID != "poller" || a.TaskType != "a" || a.Output["y"] != 4.0 {
		t.Fatalf("task a1 %+v", a)
	}
}

func TestWaitAndHumanTasksByReference(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx(60 * time.Second)
	c := e.client
	if _, err := c.RegisterWorkflowDef(ctx, map[string]any{
		"name": "approval", "version": 1,
		"tasks": []any{
			map[string]any{"name": "gate", "taskReferenceName": "gate", "type": "WAIT"},
			map[string]any{"name": "approve", "taskReferenceName": "approve", "type": "HUMAN"},
		},
		"outputParameters": map[string]any{"ok": "${approve.output.ok}", "who": "${gate.output.who}"},
	}); err != nil {
		t.Fatal(err)
	}
	id := e.start("approval", nil)
	e.waitExecution(id, 10*time.Second, "the WAIT task", func(w *Workflow) bool {
		g := w.Task("gate")
		return g != nil && g.Status == TaskInProgress
	})
	if _, err := c.UpdateTaskByRef(ctx, id, "approve", TaskUpdate{Status: TaskCompleted}); !IsNotFound(err) && !IsFailedPrecondition(err) {
		t.Fatalf("updating a task not reached yet: %v", err)
	}
	gateID, err := c.UpdateTaskByRef(ctx, id, "gate", TaskUpdate{Status: TaskCompleted, Output: map[string]any{"who": "ops"}, Logs: []string{"opened"}})
	if err != nil || gateID == "" {
		t.Fatalf("signal WAIT: %q %v", gateID, err)
	}
	e.waitExecution(id, 10*time.Second, "the HUMAN task", func(w *Workflow) bool {
		h := w.Task("approve")
		return h != nil && h.Status == TaskInProgress
	})
	if _, err := c.UpdateTaskByRef(ctx, id, "approve", TaskUpdate{Status: TaskCompleted, Output: map[string]any{"ok": true}, WorkerID: "reviewer"}); err != nil {
		t.Fatal(err)
	}
	wf := e.waitExecution(id, 10*time.Second, "completion", func(w *Workflow) bool { return w.Status.Terminal() })
	if wf.Status != WorkflowCompleted || wf.Output["ok"] != true || wf.Output["who"] != "ops" || wf.Task("gate").ID != gateID {
		t.Fatalf("finished %+v", wf)
	}
	logs, err := c.GetTaskLogs(ctx, gateID)
	if err != nil || len(logs) != 1 || logs[0].Message != "opened" {
		t.Fatalf("logs of the WAIT task: %v %v", logs, err)
	}
}

func TestSkipRerunAndExecutionQueries(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx(90 * time.Second)
	c := e.client
	e.registerChain("ops2")
	id := e.start("ops2", map[string]any{"x": 1}, WithCorrelationID("k1"))
	other := e.start("ops2", map[string]any{"x": 2}, WithCorrelationID("k2"))

	now, err := c.SkipTask(ctx, id, "a1", nil, map[string]any{"y": "skipped"})
	if err != nil || !now {
		t.Fatalf("skip: %v %v", now, err)
	}
	wf := e.waitExecution(id, 10*time.Second, "b1 to be scheduled", func(w *Workflow) bool { return w.Task("b1") != nil })
	if wf.Task("a1").Status != TaskSkipped || wf.Task("b1").Input["y"] != "skipped" {
		t.Fatalf("after skip: %+v %+v", wf.Task("a1"), wf.Task("b1"))
	}
	if _, err := c.SkipTask(ctx, id, "a1", nil, nil); !IsFailedPrecondition(err) {
		t.Fatalf("skipping a skipped task: %v", err)
	}
	if err := c.ResetCallbacks(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := c.DecideWorkflow(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := c.DecideWorkflow(ctx, "no-such-workflow"); !IsNotFound(err) {
		t.Fatalf("deciding an unknown workflow: %v", err)
	}

	page, err := c.ListWorkflowTasks(ctx, id, TaskListQuery{Statuses: []TaskStatus{TaskSkipped}})
	if err != nil || page.Total != 1 || len(page.Tasks) != 1 || page.Tasks[0].ReferenceName != "a1" {
		t.Fatalf("skipped tasks: %+v %v", page, err)
	}
	page, err = c.ListWorkflowTasks(ctx, id, TaskListQuery{Limit: 1})
	if err != nil || page.Total != 2 || len(page.Tasks) != 1 || page.NextOffset != 1 {
		t.Fatalf("first page: %+v %v", page, err)
	}

	running, err := c.GetRunningWorkflows(ctx, "ops2", 0, time.Time{}, time.Time{})
	if err != nil || !slices.Contains(running, id) || !slices.Contains(running, other) {
		t.Fatalf("running: %v %v", running, err)
	}
	if running, err = c.GetRunningWorkflows(ctx, "ops2", 0, time.Now().Add(time.Hour), time.Time{}); err != nil || len(running) != 0 {
		t.Fatalf("running, created in the future: %v %v", running, err)
	}
	byCorr, err := c.GetWorkflowsByCorrelationIDs(ctx, "ops2", []string{"k1", "k2", "k3"}, false, false)
	if err != nil || len(byCorr) != 3 || len(byCorr["k1"]) != 1 || byCorr["k1"][0].ID != id ||
		len(byCorr["k2"]) != 1 || byCorr["k2"][0].ID != other || len(byCorr["k3"]) != 0 {
		t.Fatalf("by correlation ids: %v %v", byCorr, err)
	}

	// Bulk: terminate both and an unknown id; each has its own outcome.
	results, err := c.RunBulkOperation(ctx, BulkTerminate, []string{id, other, "nope"}, "bulk stop", false)
	if err != nil || len(results) != 3 || !results[0].OK || !results[1].OK || results[2].OK ||
		results[2].WorkflowID != "nope" || results[2].Code == "" {
		t.Fatalf("bulk terminate: %+v %v", results, err)
	}
	if _, err := c.RunBulkOperation(ctx, "EXPLODE", []string{id}, "", false); err == nil {
		t.Fatal("an unknown bulk operation must be refused")
	}
	wf, err = c.GetWorkflow(ctx, id, true)
	if err != nil || wf.Status != WorkflowTerminated || wf.ReasonForIncompletion != "bulk stop" {
		t.Fatalf("after bulk terminate: %+v %v", wf, err)
	}

	// Rerun from b1 with a new input for it; a worker finishes the rest.
	w := e.newWorker()
	w.HandleFunc("b", func(ctx context.Context, t *Task) (any, error) { return map[string]any{"z": t.Input["fixed"]}, nil })
	w.HandleFunc("c", func(ctx context.Context, t *Task) (any, error) { return map[string]any{"z": t.Input["z"]}, nil })
	e.run(w)
	if err := c.RerunWorkflow(ctx, id, RerunOptions{
		TaskID: wf.Task("b1").ID, TaskInput: map[string]any{"fixed": "yes"}, WorkflowInput: map[string]any{"x": 9},
	}); err != nil {
		t.Fatal(err)
	}
	wf = e.waitExecution(id, 20*time.Second, "the rerun to finish", func(w *Workflow) bool { return w.Status.Terminal() })
	if wf.Status != WorkflowCompleted || wf.Output["z"] != "yes" || wf.Input["x"] != 9.0 || wf.Task("a1").Status != TaskSkipped {
		t.Fatalf("after rerun: %+v", wf)
	}

	// Execute and wait for a named task: a1 has no worker, so the workflow is not finished,
	// and its first task is not either.
	exec, err := c.ExecuteWorkflowUntil(ctx, "ops2", map[string]any{"x": 5}, "a1", time.Second)
	if err != nil || exec.Finished || exec.TaskRefFinished || exec.Workflow.Status != WorkflowRunning || exec.Workflow.Name != "ops2" {
		t.Fatalf("execute until a1: %+v %v", exec, err)
	}

	// Search sees the finished execution.
	eventually(t, 20*time.Second, "the search to find the rerun execution", func() bool {
		res, err := c.SearchWorkflows(ctx, SearchQuery{Query: "workflowType = 'ops2' AND status = COMPLETED"})
		if err != nil {
			t.Fatal(err)
		}
		return res.TotalHits == 1 && len(res.Results) == 1 && res.Results[0].WorkflowID == id &&
			res.Results[0].Status == WorkflowCompleted && res.Results[0].CorrelationID == "k1"
	})
	size := 1
	eventually(t, 20*time.Second, "the search to count every execution", func() bool {
		res, err := c.SearchWorkflows(ctx, SearchQuery{Query: "workflowType = 'ops2'", Size: &size, Sort: []string{"startTime:ASC"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Results) != 1 {
			t.Fatalf("search with size 1 gave %d results", len(res.Results))
		}
		return res.TotalHits == 3
	})
	eventually(t, 20*time.Second, "the task search", func() bool {
		tr, err := c.SearchTasks(ctx, SearchQuery{Query: "taskType = 'c' AND status = COMPLETED"})
		if err != nil {
			t.Fatal(err)
		}
		return tr.TotalHits == 1 && len(tr.Results) == 1 && tr.Results[0].WorkflowID == id && tr.Results[0].Status == TaskCompleted
	})
}

func TestEventHandlers(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx(30 * time.Second)
	c := e.client
	e.registerTaskDef(map[string]any{"name": "a", "retryCount": 0})
	e.registerWorkflow("follow_up", map[string]any{}, simpleTask("a", "a1", map[string]any{}))
	handler := func(name, event string, active bool) map[string]any {
		return map[string]any{
			"name": name, "event": event, "active": active, "condition": "$.status == 'done'",
			"actions": []any{map[string]any{
				"action": "start_workflow", "start_workflow": map[string]any{"name": "follow_up", "input": map[string]any{"id": "${id}"}},
			}},
		}
	}
	h, err := c.AddEventHandler(ctx, handler("on_done", "conductor:orders:done", true))
	if err != nil || h.Name != "on_done" || h.Event != "conductor:orders:done" || !h.Active || h.Definition["condition"] != "$.status == 'done'" {
		t.Fatalf("add: %+v %v", h, err)
	}
	if _, err := c.AddEventHandler(ctx, handler("on_done", "conductor:orders:done", true)); !IsAlreadyExists(err) {
		t.Fatalf("adding it twice: %v", err)
	}
	if _, err := c.AddEventHandler(ctx, handler("idle", "conductor:other", false)); err != nil {
		t.Fatal(err)
	}
	h, err = c.UpdateEventHandler(ctx, handler("idle", "conductor:other", true))
	if err != nil || !h.Active {
		t.Fatalf("update: %+v %v", h, err)
	}
	if _, err := c.UpdateEventHandler(ctx, handler("ghost", "conductor:ghost", true)); !IsNotFound(err) {
		t.Fatalf("updating an unknown handler: %v", err)
	}
	got, err := c.GetEventHandler(ctx, "idle")
	if err != nil || got.Event != "conductor:other" || !got.Active {
		t.Fatalf("get: %+v %v", got, err)
	}
	names := func(hs []*EventHandler) []string {
		var out []string
		for _, h := range hs {
			out = append(out, h.Name)
		}
		slices.Sort(out)
		return out
	}
	all, err := c.ListEventHandlers(ctx, "", false)
	if err != nil || !slices.Equal(names(all), []string{"idle", "on_done"}) {
		t.Fatalf("list: %v %v", names(all), err)
	}
	one, err := c.ListEventHandlers(ctx, "conductor:orders:done", true)
	if err != nil || !slices.Equal(names(one), []string{"on_done"}) {
		t.Fatalf("list by event: %v %v", names(one), err)
	}
	if err := c.DeleteEventHandler(ctx, "idle"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetEventHandler(ctx, "idle"); !IsNotFound(err) {
		t.Fatalf("deleted handler: %v", err)
	}
}

func TestOverviewRetentionAndImport(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx(30 * time.Second)
	c := e.client
	e.registerTaskDef(map[string]any{"name": "a", "retryCount": 0})
	e.registerWorkflow("ov", map[string]any{}, simpleTask("a", "a1", map[string]any{}))
	id := e.start("ov", nil)
	if err := c.TerminateWorkflow(ctx, id, "stop"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the overview to count the execution", func() bool {
		ov, err := c.GetOverview(ctx, 5)
		if err != nil {
			t.Fatal(err)
		}
		if ov.ServerTime.IsZero() || ov.Started.IsZero() || ov.Started.After(ov.ServerTime) {
			t.Fatalf("overview times %v %v", ov.Started, ov.ServerTime)
		}
		return ov.WorkflowsStarted >= 1 && ov.WorkflowsEnded["TERMINATED"] >= 1
	})

	r, err := c.GetRetention(ctx)
	if err != nil || r == nil {
		t.Fatalf("retention: %+v %v", r, err)
	}

	res, err := c.ImportWorkflows(ctx)
	if err != nil || res != (ImportResult{}) {
		t.Fatalf("empty import: %+v %v", res, err)
	}
	if _, err := c.ImportWorkflows(ctx, []byte("not json")); !IsInvalidArgument(err) {
		t.Fatalf("importing a bad line: %v", err)
	}
}

// TestMetricsHistory runs a few workflows to completion and reads the metrics history until
// its samples account for them (the server takes its first sample ten seconds after it
// started), then checks the samples and that an out-of-range count of minutes is refused.
func TestMetricsHistory(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx(90 * time.Second)
	c := e.client
	e.registerTaskDef(map[string]any{"name": "a", "retryCount": 0})
	e.registerWorkflow("hist", map[string]any{"y": "${a1.output.y}"}, simpleTask("a", "a1", map[string]any{}))
	w := e.newWorker()
	w.HandleFunc("a", func(ctx context.Context, t *Task) (any, error) { return map[string]any{"y": 1}, nil })
	e.run(w)
	const runs = 3
	for i := 0; i < runs; i++ {
		e.expectStatus(e.wait(e.start("hist", nil), 30*time.Second), WorkflowCompleted)
	}

	sum := func(h *MetricsHistory, f func(MetricsSample) int64) int64 {
		var n int64
		for _, s := range h.Samples {
			n += f(s)
		}
		return n
	}
	completed := func(s MetricsSample) int64 { return s.WorkflowsCompleted }
	var h *MetricsHistory
	eventually(t, 60*time.Second, "the history to count the completed workflows", func() bool {
		got, err := c.GetMetricsHistory(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		h = got
		return sum(h, completed) >= runs
	})

	if h.SampleEvery != 10*time.Second {
		t.Fatalf("sample every %v, want 10s", h.SampleEvery)
	}
	if h.ServerTime.IsZero() || time.Since(h.ServerTime).Abs() > time.Minute {
		t.Fatalf("server time %v, now %v", h.ServerTime, time.Now())
	}
	for i, s := range h.Samples {
		if s.At.IsZero() || s.At.After(h.ServerTime) || s.Interval <= 0 || s.Interval > 2*h.SampleEvery {
			t.Fatalf("sample %d: at %v (server time %v), interval %v", i, s.At, h.ServerTime, s.Interval)
		}
		if i > 0 && !s.At.After(h.Samples[i-1].At) {
			t.Fatalf("samples not oldest first: %v then %v", h.Samples[i-1].At, s.At)
		}
		for _, q := range []LatencyQuantiles{s.QueueWait, s.RunTime} {
			if q.Count < 0 || q.P50 < 0 || q.P50 > q.P99 || q.P99 > q.Max || (q.Count == 0 && q.Max != 0) {
				t.Fatalf("sample %d: quantiles %+v", i, q)
			}
		}
	}
	for name, want := range map[string]struct {
		got  int64
		want int64
	}{
		"workflows started":    {sum(h, func(s MetricsSample) int64 { return s.WorkflowsStarted }), runs},
		"workflows completed":  {sum(h, completed), runs},
		"workflows failed":     {sum(h, func(s MetricsSample) int64 { return s.WorkflowsFailed }), 0},
		"workflows terminated": {sum(h, func(s MetricsSample) int64 { return s.WorkflowsTerminated }), 0},
		"tasks completed":      {sum(h, func(s MetricsSample) int64 { return s.TasksCompleted }), runs},
		"tasks failed":         {sum(h, func(s MetricsSample) int64 { return s.TasksFailed }), 0},
		"queue waits measured": {sum(h, func(s MetricsSample) int64 { return s.QueueWait.Count }), runs},
		"run times measured":   {sum(h, func(s MetricsSample) int64 { return s.RunTime.Count }), runs},
	} {
		if want.got != want.want {
			t.Errorf("%s: %d over the samples, want %d", name, want.got, want.want)
		}
	}
	last := h.Samples[len(h.Samples)-1]
	if last.QueueDepth != 0 || last.Workers != 1 {
		t.Fatalf("last sample: queue depth %d, workers %d; want 0 and the one worker", last.QueueDepth, last.Workers)
	}

	one, err := c.GetMetricsHistory(ctx, 1)
	if err != nil || one.SampleEvery != h.SampleEvery || len(one.Samples) == 0 || len(one.Samples) > 7 {
		t.Fatalf("one minute: %+v, %v", one, err)
	}
	for _, minutes := range []int{-1, 61, 1 << 40} {
		_, err := c.GetMetricsHistory(ctx, minutes)
		if !IsInvalidArgument(err) || !strings.Contains(status.Convert(err).Message(), "minutes") {
			t.Fatalf("%d minutes: %v, want INVALID_ARGUMENT naming minutes", minutes, err)
		}
	}
}

func TestCallbacksAndExecuteUntilATask(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx(60 * time.Second)
	c := e.client
	e.registerChain("cb_wf")
	id := e.start("cb_wf", map[string]any{"x": 1})

	// A task reported IN_PROGRESS with a long callback is hidden until the callbacks are reset.
	task, err := c.PollTask(ctx, "a", PollOptions{Timeout: 5 * time.Second})
	if err != nil || task == nil {
		t.Fatalf("poll: %v %v", task, err)
	}
	if err := c.UpdateTask(ctx, task, TaskUpdate{Status: TaskInProgress, CallbackAfter: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if again, err := c.PollTask(ctx, "a", PollOptions{}); err != nil || again != nil {
		t.Fatalf("a hidden task was handed out: %v %v", again, err)
	}
	wf, err := c.GetWorkflow(ctx, id, true)
	if err != nil || wf.Task("a1").CallbackAfter != time.Hour {
		t.Fatalf("callback delay: %+v %v", wf.Task("a1"), err)
	}
	if err := c.ResetCallbacks(ctx, id); err != nil {
		t.Fatal(err)
	}
	again, err := c.PollTask(ctx, "a", PollOptions{Timeout: 5 * time.Second})
	if err != nil || again == nil || again.ID != task.ID {
		t.Fatalf("after reset: %v %v", again, err)
	}

	// With a worker for a only, execution waits for a1 and returns with it finished.
	w := e.newWorker()
	w.HandleFunc("a", func(ctx context.Context, t *Task) (any, error) { return map[string]any{"y": 1}, nil })
	e.run(w)
	exec, err := c.ExecuteWorkflowUntil(ctx, "cb_wf", map[string]any{"x": 2}, "a1", 10*time.Second)
	if err != nil || exec.Finished || !exec.TaskRefFinished || exec.Workflow.Task("a1").Status != TaskCompleted {
		t.Fatalf("execute until a1: %+v %v", exec, err)
	}
}

func TestWaitWorkflowOnARunStartedElsewhere(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx(60 * time.Second)
	c := e.client
	e.registerChain("wait_wf")
	id := e.start("wait_wf", map[string]any{"x": 3})

	// Nobody works on a: the wait runs out, says so, and returns the execution as it stands.
	began := time.Now()
	ex, err := c.WaitWorkflow(ctx, id, "a1", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Finished || ex.TaskRefFinished || ex.Workflow.ID != id || ex.Workflow.Status != WorkflowRunning {
		t.Fatalf("wait that ran out: %+v", ex)
	}
	if waited := time.Since(began); waited < 900*time.Millisecond {
		t.Fatalf("returned after %v, before the wait ran out", waited)
	}

	// A worker for a only: the wait returns once a1 finished, while the execution goes on.
	w := e.newWorker()
	w.HandleFunc("a", func(ctx context.Context, t *Task) (any, error) { return map[string]any{"y": 4}, nil })
	e.run(w)
	ex, err = c.WaitWorkflow(ctx, id, "a1", 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Finished || !ex.TaskRefFinished || ex.Workflow.Task("a1").Status != TaskCompleted {
		t.Fatalf("wait for a1: finished=%v taskRefFinished=%v tasks=%v", ex.Finished, ex.TaskRefFinished, taskSummary(ex.Workflow))
	}
	if b1 := ex.Workflow.Task("b1"); b1 == nil || b1.Status.Terminal() {
		t.Fatalf("b1 should be scheduled and open: %v", taskSummary(ex.Workflow))
	}

	// Terminated elsewhere: a wait for the whole execution returns it finished.
	if err := c.TerminateWorkflow(ctx, id, "enough"); err != nil {
		t.Fatal(err)
	}
	ex, err = c.WaitWorkflow(ctx, id, "", 0)
	if err != nil || !ex.Finished || ex.Workflow.Status != WorkflowTerminated {
		t.Fatalf("wait on a terminated execution: %+v %v", ex, err)
	}

	// Errors carry the server's code and message.
	if _, err := c.WaitWorkflow(ctx, "no-such-workflow", "", time.Second); !IsNotFound(err) {
		t.Fatalf("unknown id: %v", err)
	}
	if _, err := c.WaitWorkflow(ctx, id, "no_such_ref", time.Second); !IsNotFound(err) {
		t.Fatalf("unknown task ref: %v", err)
	}
	_, err = c.WaitWorkflow(ctx, id, "", 301*time.Second)
	if !IsInvalidArgument(err) {
		t.Fatalf("wait of 301 s: %v", err)
	}
	if msg := status.Convert(err).Message(); !strings.Contains(msg, "300") {
		t.Fatalf("INVALID_ARGUMENT without the server's message: %q", msg)
	}
}
