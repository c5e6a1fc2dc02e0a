package baton

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestDefinitions(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx(20 * time.Second)
	c := e.client

	defs, err := c.RegisterTaskDefs(ctx, `[{"name":"alpha","retryCount":1},{"name":"beta","retryCount":2}]`)
	if err != nil {
		t.Fatal(err)
	}
	if len(defs) != 2 || defs[0].Name != "alpha" || defs[1].Name != "beta" {
		t.Fatalf("registered %v", defs)
	}
	if _, err := c.RegisterTaskDefs(ctx, map[string]any{"name": "gamma", "retryCount": 0}); err != nil {
		t.Fatal(err)
	}
	td, err := c.GetTaskDef(ctx, "beta")
	if err != nil || td.Definition["retryCount"] != 2.0 {
		t.Fatalf("get task def: %v %v", td, err)
	}
	all, err := c.ListTaskDefs(ctx)
	if err != nil || len(all) < 3 {
		t.Fatalf("list task defs: %d %v", len(all), err)
	}
	if _, err := c.GetTaskDef(ctx, "nope"); !IsNotFound(err) {
		t.Fatalf("unknown task def: %v", err)
	}

	type wfDef struct {
		Name          string           `json:"name"`
		Version       int              `json:"version"`
		SchemaVersion int              `json:"schemaVersion"`
		Tasks         []map[string]any `json:"tasks"`
	}
	v1 := wfDef{Name: "defs_wf", Version: 1, SchemaVersion: 2,
		Tasks: []map[string]any{simpleTask("alpha", "a", map[string]any{})}}
	info, err := c.RegisterWorkflowDef(ctx, v1)
	if err != nil || info.Name != "defs_wf" || info.Version != 1 {
		t.Fatalf("register: %v %v", info, err)
	}
	if _, err := c.RegisterWorkflowDef(ctx, v1); !IsAlreadyExists(err) {
		t.Fatalf("registering the same version twice: %v", err)
	}
	v2 := v1
	v2.Version = 2
	v2.Tasks = append(v2.Tasks, simpleTask("beta", "b", map[string]any{}))
	if _, err := c.UpdateWorkflowDefs(ctx, v2); err != nil {
		t.Fatal(err)
	}
	latest, err := c.GetWorkflowDef(ctx, "defs_wf", 0)
	if err != nil || latest.Version != 2 {
		t.Fatalf("latest: %v %v", latest, err)
	}
	first, err := c.GetWorkflowDef(ctx, "defs_wf", 1)
	if err != nil || len(first.Definition["tasks"].([]any)) != 1 {
		t.Fatalf("version 1: %v %v", first, err)
	}
	if _, err := c.GetWorkflowDef(ctx, "missing_wf", 0); !IsNotFound(err) {
		t.Fatalf("unknown workflow def: %v", err)
	}
	problems, err := c.ValidateWorkflowDef(ctx, map[string]any{"name": "bad", "tasks": []any{}})
	if err != nil || len(problems) == 0 {
		t.Fatalf("validation of a workflow without tasks: %v %v", problems, err)
	}
	if _, err := c.StartWorkflow(ctx, "missing_wf", nil); !IsNotFound(err) {
		t.Fatalf("starting an unknown workflow: %v", err)
	}
}

func TestWorkflowOperations(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx(60 * time.Second)
	c := e.client
	e.registerTaskDef(map[string]any{"name": "gate", "retryCount": 0})
	e.registerTaskDef(map[string]any{"name": "finish", "retryCount": 0})
	e.registerWorkflow("ops_wf", map[string]any{"done": "${f.output.done}"},
		simpleTask("gate", "g", map[string]any{"x": "${workflow.input.x}"}),
		simpleTask("finish", "f", map[string]any{}),
	)

	// Start options: correlation id, priority, idempotency.
	id, err := c.StartWorkflow(ctx, "ops_wf", map[string]any{"x": 1},
		WithCorrelationID("order-7"), WithPriority(5), WithIdempotencyKey("key-1", IdempotencyReturnExisting), WithVersion(1))
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.StartWorkflow(ctx, "ops_wf", map[string]any{"x": 1}, WithIdempotencyKey("key-1", IdempotencyReturnExisting))
	if err != nil || again != id {
		t.Fatalf("RETURN_EXISTING gave %q (%v), want %q", again, err, id)
	}
	if _, err := c.StartWorkflow(ctx, "ops_wf", nil, WithIdempotencyKey("key-1", IdempotencyFail)); !IsAlreadyExists(err) {
		t.Fatalf("FAIL strategy on a used key: %v", err)
	}
	wf, err := c.GetWorkflow(ctx, id, false)
	if err != nil {
		t.Fatal(err)
	}
	if wf.CorrelationID != "order-7" || wf.Priority != 5 || wf.IdempotencyKey != "key-1" ||
		wf.Input["x"] != 1.0 || wf.Status != wfRunning {
		t.Fatalf("started workflow %v", wf)
	}
	list, err := c.GetWorkflowsByCorrelationID(ctx, "ops_wf", "order-7", false, false)
	if err != nil || len(list) != 1 || list[0].ID != id {
		t.Fatalf("by correlation id: %v %v", list, err)
	}

	// Pause and resume while no worker runs yet.
	if err := c.PauseWorkflow(ctx, id); err != nil {
		t.Fatal(err)
	}
	if wf, _ = c.GetWorkflow(ctx, id, false); wf.Status != wfPaused {
		t.Fatalf("after pause: %v", wf.Status)
	}
	if err := c.ResumeWorkflow(ctx, id); err != nil {
		t.Fatal(err)
	}
	if wf, _ = c.GetWorkflow(ctx, id, false); wf.Status != wfRunning {
		t.Fatalf("after resume: %v", wf.Status)
	}

	// Terminate, then restart from scratch with a worker running.
	if err := c.TerminateWorkflow(ctx, id, "operator said so"); err != nil {
		t.Fatal(err)
	}
	wf, _ = c.GetWorkflow(ctx, id, true)
	e.expectStatus(wf, wfTerminated)
	if wf.ReasonForIncompletion != "operator said so" {
		t.Fatalf("reason %q", wf.ReasonForIncompletion)
	}

	var failFinish atomic.Bool
	failFinish.Store(true)
	w := e.newWorker()
	w.HandleFunc("gate", func(ctx context.Context, t *Task) (any, error) { return map[string]any{"passed": true}, nil })
	w.HandleFunc("finish", func(ctx context.Context, t *Task) (any, error) {
		if failFinish.Load() {
			return nil, errors.New("not today")
		}
		return map[string]any{"done": true}, nil
	})
	e.run(w)

	if err := c.RestartWorkflow(ctx, id, false); err != nil {
		t.Fatal(err)
	}
	wf = e.wait(id, 20*time.Second)
	e.expectStatus(wf, wfFailed)
	if wf.FailedReferenceTaskName != "f" {
		t.Fatalf("failed task %q", wf.FailedReferenceTaskName)
	}

	// Retry from the failed task: the gate task is not run again.
	failFinish.Store(false)
	gateRuns := 0
	for _, task := range wf.Tasks {
		if task.ReferenceName == "g" && task.Status == tsCompleted {
			gateRuns++
		}
	}
	if err := c.RetryWorkflow(ctx, id, false); err != nil {
		t.Fatal(err)
	}
	wf = e.wait(id, 20*time.Second)
	e.expectStatus(wf, wfCompleted)
	if wf.Output["done"] != true {
		t.Fatalf("output %v", wf.Output)
	}
	after := 0
	for _, task := range wf.Tasks {
		if task.ReferenceName == "g" && task.Status == tsCompleted {
			after++
		}
	}
	if after != gateRuns {
		t.Fatalf("retry ran the completed gate task again (%d -> %d)", gateRuns, after)
	}
	task, err := c.GetTask(ctx, wf.Tasks[0].ID)
	if err != nil || task.WorkflowID != id {
		t.Fatalf("get task: %v %v", task, err)
	}
	// A worker task's type is its task's name, as Conductor reports it.
	if task.Type != task.TaskType || task.Type == "SIMPLE" {
		t.Fatalf("task type %q of a task named %q", task.Type, task.TaskType)
	}
	if err := c.ResumeWorkflow(ctx, id); err == nil {
		t.Fatal("resuming a completed workflow must fail")
	}

	if err := c.RemoveWorkflow(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetWorkflow(ctx, id, false); !IsNotFound(err) {
		t.Fatalf("removed workflow: %v", err)
	}
}

// A call to an address where no server listens fails at once with UNAVAILABLE, and the
// error names the address.
func TestRefusedConnectionNamesTheAddress(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	conn, err := Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = NewClient(conn).GetWorkflow(ctx, "any", false)
	if !IsUnavailable(err) {
		t.Fatalf("call to %s with nothing listening: %v, want UNAVAILABLE", addr, err)
	}
	if !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("the error does not name the address %s and the refusal: %v", addr, err)
	}
}
