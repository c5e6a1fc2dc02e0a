package baton

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	batonv1 "github.com/baton-run/baton/sdks/go/gen/baton/v1"
)

func TestStatusNamesFollowTheWire(t *testing.T) {
	for v := range batonv1.WorkflowStatus_name {
		s := workflowStatusOf(batonv1.WorkflowStatus(v))
		if v == 0 {
			if s != "" {
				t.Errorf("unspecified workflow status gave %q", s)
			}
			continue
		}
		if "WORKFLOW_STATUS_"+string(s) != batonv1.WorkflowStatus(v).String() {
			t.Errorf("workflow status %v gave %q", batonv1.WorkflowStatus(v), s)
		}
	}
	for _, s := range []WorkflowStatus{WorkflowRunning, WorkflowPaused, WorkflowCompleted, WorkflowFailed, WorkflowTimedOut, WorkflowTerminated} {
		if _, ok := batonv1.WorkflowStatus_value["WORKFLOW_STATUS_"+string(s)]; !ok {
			t.Errorf("constant %q is not a wire status", s)
		}
	}
	if !WorkflowTimedOut.Terminal() || WorkflowPaused.Terminal() || !IsTerminal(WorkflowCompleted) {
		t.Error("Terminal")
	}
	for v := range batonv1.TaskStatus_name {
		s := taskStatusOf(batonv1.TaskStatus(v))
		if v != 0 && wireTaskStatus(s) != batonv1.TaskStatus(v) {
			t.Errorf("task status %v gave %q", batonv1.TaskStatus(v), s)
		}
	}
	if wireTaskStatus("NOPE") != batonv1.TaskStatus_TASK_STATUS_UNSPECIFIED || !TaskSkipped.Terminal() || TaskScheduled.Terminal() {
		t.Error("task status helpers")
	}
}

func TestIdempotencyStrategiesReachTheWire(t *testing.T) {
	want := map[IdempotencyStrategy]batonv1.IdempotencyStrategy{
		IdempotencyFail:           batonv1.IdempotencyStrategy_IDEMPOTENCY_STRATEGY_FAIL,
		IdempotencyReturnExisting: batonv1.IdempotencyStrategy_IDEMPOTENCY_STRATEGY_RETURN_EXISTING,
		IdempotencyFailOnRunning:  batonv1.IdempotencyStrategy_IDEMPOTENCY_STRATEGY_FAIL_ON_RUNNING,
		"":                        batonv1.IdempotencyStrategy_IDEMPOTENCY_STRATEGY_UNSPECIFIED,
	}
	for s, w := range want {
		req, err := NewStartRequest("wf", nil, WithIdempotencyKey("k", s))
		if err != nil || req.GetIdempotencyStrategy() != w || req.GetIdempotencyKey() != "k" {
			t.Errorf("strategy %q gave %v (%v)", s, req.GetIdempotencyStrategy(), err)
		}
	}
}

func TestWorkflowConversion(t *testing.T) {
	in, _ := structpb.NewStruct(map[string]any{"x": 1})
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	w := workflowOf(&batonv1.Workflow{
		WorkflowId: "w1", WorkflowName: "n", WorkflowVersion: 2, Status: batonv1.WorkflowStatus_WORKFLOW_STATUS_FAILED,
		Input: in, StartTime: timestamppb.New(at),
		Tasks: []*batonv1.Task{
			{TaskId: "t1", ReferenceTaskName: "a", TaskDefName: "a_def", TaskType: "SIMPLE", Status: batonv1.TaskStatus_TASK_STATUS_FAILED, ResponseTimeoutSeconds: 30},
			{TaskId: "t2", ReferenceTaskName: "a", Status: batonv1.TaskStatus_TASK_STATUS_COMPLETED},
		},
	})
	if w.ID != "w1" || w.Name != "n" || w.Version != 2 || w.Status != WorkflowFailed || w.Input["x"] != 1.0 ||
		!w.Started.Equal(at) || !w.Ended.IsZero() || len(w.Output) != 0 || w.Output == nil {
		t.Fatalf("workflow %+v", w)
	}
	if got := w.Task("a"); got.ID != "t2" || got.Status != TaskCompleted {
		t.Fatalf("Task(a) gave %+v", got)
	}
	if w.Task("zzz") != nil {
		t.Fatal("Task of an unknown reference")
	}
	first := w.Tasks[0]
	if first.TaskType != "a_def" || first.Type != "SIMPLE" || first.ResponseTimeout != 30*time.Second {
		t.Fatalf("task %+v", first)
	}
	if workflowOf(nil) != nil || taskInstanceOf(nil) != nil {
		t.Fatal("nil conversions")
	}
}
