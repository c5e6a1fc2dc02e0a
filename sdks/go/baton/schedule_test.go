package baton

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/status"
)

// registerSetVariableWorkflow defines a workflow of one SET_VARIABLE task, which completes
// without a worker.
func (e *testEnv) registerSetVariableWorkflow(name string) {
	e.t.Helper()
	e.registerWorkflow(name, map[string]any{"seen": "${workflow.input.seen}"}, map[string]any{
		"name": "set", "taskReferenceName": "set", "type": "SET_VARIABLE",
		"inputParameters": map[string]any{"done": true},
	})
}

func TestSchedules(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx(2 * time.Minute)
	c := e.client
	e.registerSetVariableWorkflow("sched_wf")
	e.registerSetVariableWorkflow("other_wf")

	// Save: a typed definition, with a field only Extra carries.
	def := ScheduleDef{
		Name:           "every_second",
		Description:    "fires every second",
		CronExpression: "* * * * * *",
		StartWorkflowRequest: ScheduleStart{
			Name:  "sched_wf",
			Input: map[string]any{"seen": "scheduled"},
		},
		OverlapPolicy: OverlapAllowAll,
		Extra:         map[string]any{"catchupWindowSeconds": 60},
	}
	saved, err := c.SaveSchedule(ctx, def)
	if err != nil {
		t.Fatal(err)
	}
	if saved.Name != "every_second" || saved.WorkflowName != "sched_wf" || saved.Paused || saved.ZoneID != "UTC" {
		t.Fatalf("saved: %+v", saved)
	}
	if saved.Definition.CronExpression != "* * * * * *" || saved.Definition.StartWorkflowRequest.Input["seen"] != "scheduled" {
		t.Fatalf("saved definition: %s", saved.DefinitionJSON)
	}
	if saved.Definition.CatchupWindowSeconds != 60 || saved.Definition.Description != "fires every second" {
		t.Fatalf("saved definition lost fields: %s", saved.DefinitionJSON)
	}
	if saved.NextRun.IsZero() || saved.Created.IsZero() {
		t.Fatalf("saved without next run or create time: %+v", saved)
	}

	// A second schedule, as JSON text, on another workflow (for list).
	if _, err := c.SaveSchedule(ctx, `{"name": "nightly", "cronExpression": "0 0 2 * * *",
		"zoneId": "Europe/Paris", "startWorkflowRequest": {"name": "other_wf"},
		"misfirePolicy": "SKIP", "dstPolicy": {"gap": "SKIP"}}`); err != nil {
		t.Fatal(err)
	}

	// Wait until it has fired and its run is recorded in the history.
	var started []ScheduleHistoryEntry
	eventually(t, 30*time.Second, "a STARTED history entry", func() bool {
		hist, err := c.GetScheduleHistory(ctx, "every_second", time.Time{}, time.Time{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		started = started[:0]
		for _, h := range hist {
			if h.Type() == HistoryStarted {
				started = append(started, h)
			}
		}
		return len(started) > 0
	})
	first := started[0]
	if first.WorkflowID() == "" || first.SlotTime.IsZero() || first.RecordTime.IsZero() {
		t.Fatalf("STARTED entry: %+v", first)
	}
	wf := e.wait(first.WorkflowID(), 30*time.Second)
	if wf.Input["_startedByScheduler"] != "every_second" || wf.Input["seen"] != "scheduled" {
		t.Fatalf("scheduled run input: %v", wf.Input)
	}
	got, err := c.GetSchedule(ctx, "every_second")
	if err != nil {
		t.Fatal(err)
	}
	if got.Counters.Fired < 1 || got.LastFired.IsZero() || got.Revision < saved.Revision {
		t.Fatalf("after firing: %+v", got)
	}

	// History in a time range and with a limit.
	one, err := c.GetScheduleHistory(ctx, "every_second", first.SlotTime, first.SlotTime, 1)
	if err != nil || len(one) != 1 || !one[0].SlotTime.Equal(first.SlotTime) {
		t.Fatalf("history of one slot: %+v %v", one, err)
	}

	// Pause and resume, with notes.
	paused, err := c.PauseSchedule(ctx, "every_second", "maintenance")
	if err != nil {
		t.Fatal(err)
	}
	if !paused.Paused || paused.Note != "maintenance" || !paused.NextRun.IsZero() || !paused.Definition.Paused {
		t.Fatalf("paused: %+v", paused)
	}
	resumed, err := c.ResumeSchedule(ctx, "every_second", "done")
	if err != nil {
		t.Fatal(err)
	}
	if resumed.Paused || resumed.Note != "done" || resumed.NextRun.IsZero() {
		t.Fatalf("resumed: %+v", resumed)
	}

	// Pause again so that only manual and backfilled runs start from here on.
	if _, err := c.PauseSchedule(ctx, "every_second", ""); err != nil {
		t.Fatal(err)
	}

	// Trigger with an input override.
	ids, err := c.TriggerSchedule(ctx, "every_second", map[string]any{"seen": "manual"}, OverlapAllowAll)
	if err != nil || len(ids) != 1 {
		t.Fatalf("trigger: %v %v", ids, err)
	}
	manual := e.wait(ids[0], 30*time.Second)
	if manual.Input["seen"] != "manual" {
		t.Fatalf("manual run input: %v", manual.Input)
	}
	eventually(t, 30*time.Second, "the manual run counted", func() bool {
		s, err := c.GetSchedule(ctx, "every_second")
		if err != nil {
			t.Fatal(err)
		}
		return s.Counters.Manual == 1
	})

	// Backfill: slots of a past range that have not run yet. The range ends before the
	// schedule was created, so none of its slots ran.
	until := saved.Created.Add(-10 * time.Second).Truncate(time.Second)
	from := until.Add(-2 * time.Second)
	if _, err := c.BackfillSchedule(ctx, "every_second", from, until, OverlapAllowAll); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "three backfilled slots", func() bool {
		s, err := c.GetSchedule(ctx, "every_second")
		if err != nil {
			t.Fatal(err)
		}
		return s.Counters.Backfilled == 3
	})
	backfilled, err := c.GetScheduleHistory(ctx, "every_second", from, until, 0)
	if err != nil {
		t.Fatal(err)
	}
	slots := map[int64]bool{}
	for _, h := range backfilled {
		if h.Type() == HistoryStarted {
			slots[h.SlotTime.Unix()] = true
		}
	}
	if len(slots) != 3 || !slots[from.Unix()] || !slots[until.Unix()] {
		t.Fatalf("backfilled slots %v, want the 3 seconds from %v to %v", slots, from, until)
	}

	// Preview: an unsaved cron expression, a saved schedule, an unsaved definition.
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	pv, err := c.PreviewSchedule(ctx, PreviewRequest{
		CronExpression: "0 9 * * *", ZoneID: "Europe/Paris", From: base, Limit: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pv.Slots) != 3 || !pv.Truncated || pv.ZoneID != "Europe/Paris" {
		t.Fatalf("preview of a cron: %+v", pv)
	}
	for i, s := range pv.Slots {
		want := time.Date(2026, 3, 1+i, 8, 0, 0, 0, time.UTC) // 09:00 in Paris (UTC+1)
		if !s.Time.Equal(want) || s.Spec != "0 9 * * *" || s.SpecIndex != 0 {
			t.Fatalf("slot %d: %+v, want %v", i, s, want)
		}
	}
	pv, err = c.PreviewSchedule(ctx, PreviewRequest{Name: "every_second", From: base, Limit: 2})
	if err != nil || len(pv.Slots) != 2 || !pv.Slots[0].Time.Equal(base.Add(time.Second)) {
		t.Fatalf("preview of a saved schedule: %+v %v", pv, err)
	}
	unsaved := def
	unsaved.Name = "unsaved"
	unsaved.CronExpression = "0 0 12 * * *"
	pv, err = c.PreviewSchedule(ctx, PreviewRequest{Definition: unsaved, From: base, Until: base.Add(72 * time.Hour)})
	if err != nil || len(pv.Slots) != 3 || pv.Truncated || !pv.Slots[0].Time.Equal(base.Add(12*time.Hour)) {
		t.Fatalf("preview of an unsaved definition: %+v %v", pv, err)
	}
	if _, err := c.PreviewSchedule(ctx, PreviewRequest{Name: "a", CronExpression: "* * * * *"}); err == nil {
		t.Fatal("a preview of two things was not refused")
	}

	// List, all and by workflow.
	all, err := c.ListSchedules(ctx, "")
	if err != nil || len(all) != 2 || all[0].Name != "every_second" || all[1].Name != "nightly" {
		t.Fatalf("list: %v %v", names(all), err)
	}
	if all[1].ZoneID != "Europe/Paris" || all[1].Definition.MisfirePolicy != MisfireSkip {
		t.Fatalf("listed nightly: %+v", all[1])
	}
	if gap := all[1].Definition.Extra["dstPolicy"]; gap == nil {
		t.Fatalf("dstPolicy not kept in Extra: %s", all[1].DefinitionJSON)
	}
	other, err := c.ListSchedules(ctx, "other_wf")
	if err != nil || len(other) != 1 || other[0].Name != "nightly" {
		t.Fatalf("list by workflow: %v %v", names(other), err)
	}

	// Replacing a definition read back keeps what it had, Extra included.
	nightly := all[1].Definition
	nightly.Description = "replaced"
	replaced, err := c.SaveSchedule(ctx, &nightly)
	if err != nil {
		t.Fatal(err)
	}
	if replaced.Definition.Description != "replaced" || replaced.Definition.Extra["dstPolicy"] == nil ||
		replaced.Revision <= all[1].Revision {
		t.Fatalf("replaced: %+v %s", replaced, replaced.DefinitionJSON)
	}

	// Bulk pause and resume: one outcome per name, an unknown name is a failed outcome.
	out, err := c.BulkPauseSchedules(ctx, []string{"nightly", "every_second", "ghost"}, "freeze")
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 3 || !out[0].OK || !out[1].OK || out[2].OK || out[2].Name != "ghost" || out[2].Error == "" {
		t.Fatalf("bulk pause: %+v", out)
	}
	n, err := c.GetSchedule(ctx, "nightly")
	if err != nil || !n.Paused || n.Note != "freeze" {
		t.Fatalf("nightly after bulk pause: %+v %v", n, err)
	}
	out, err = c.BulkResumeSchedules(ctx, []string{"nightly"}, "thaw")
	if err != nil || len(out) != 1 || !out[0].OK {
		t.Fatalf("bulk resume: %+v %v", out, err)
	}
	if n, err = c.GetSchedule(ctx, "nightly"); err != nil || n.Paused {
		t.Fatalf("nightly after bulk resume: %+v %v", n, err)
	}

	// Delete.
	if err := c.DeleteSchedule(ctx, "every_second"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetSchedule(ctx, "every_second"); !IsNotFound(err) {
		t.Fatalf("deleted schedule: %v", err)
	}
	if left, err := c.ListSchedules(ctx, ""); err != nil || len(left) != 1 {
		t.Fatalf("list after delete: %v %v", names(left), err)
	}
}

func TestScheduleErrors(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx(30 * time.Second)
	c := e.client
	e.registerSetVariableWorkflow("sched_wf")

	// Unknown schedule: NOT_FOUND, with the server's message.
	_, err := c.GetSchedule(ctx, "ghost")
	if !IsNotFound(err) {
		t.Fatalf("get of an unknown schedule: %v", err)
	}
	t.Logf("not found: %v", err)
	if st, _ := status.FromError(err); !strings.Contains(st.Message(), "ghost") {
		t.Fatalf("not-found message %q does not name the schedule", st.Message())
	}
	checks := map[string]error{}
	_, checks["pause"] = c.PauseSchedule(ctx, "ghost", "")
	_, checks["resume"] = c.ResumeSchedule(ctx, "ghost", "")
	_, checks["trigger"] = c.TriggerSchedule(ctx, "ghost", nil, "")
	_, checks["backfill"] = c.BackfillSchedule(ctx, "ghost", time.Now().Add(-time.Minute), time.Time{}, "")
	_, checks["history"] = c.GetScheduleHistory(ctx, "ghost", time.Time{}, time.Time{}, 0)
	_, checks["preview"] = c.PreviewSchedule(ctx, PreviewRequest{Name: "ghost"})
	checks["delete"] = c.DeleteSchedule(ctx, "ghost")
	for op, err := range checks {
		if !IsNotFound(err) {
			t.Errorf("%s of an unknown schedule: %v", op, err)
		}
	}

	// Malformed definitions: INVALID_ARGUMENT.
	bad := map[string]any{
		"not JSON":        `{"name": "x", `,
		"bad cron":        ScheduleDef{Name: "x", CronExpression: "every day", StartWorkflowRequest: ScheduleStart{Name: "sched_wf"}},
		"no name":         ScheduleDef{CronExpression: "* * * * *", StartWorkflowRequest: ScheduleStart{Name: "sched_wf"}},
		"unknown zone":    ScheduleDef{Name: "x", CronExpression: "* * * * *", ZoneID: "Mars/Olympus", StartWorkflowRequest: ScheduleStart{Name: "sched_wf"}},
		"bad policy":      json.RawMessage(`{"name": "x", "cronExpression": "* * * * *", "overlapPolicy": "SOMETIMES", "startWorkflowRequest": {"name": "sched_wf"}}`),
		"unknown wf":      ScheduleDef{Name: "x", CronExpression: "* * * * *", StartWorkflowRequest: ScheduleStart{Name: "missing_wf"}},
		"preview of junk": PreviewRequest{CronExpression: "61 * * * *"},
	}
	for what, def := range bad {
		var err error
		if p, ok := def.(PreviewRequest); ok {
			_, err = c.PreviewSchedule(ctx, p)
		} else {
			_, err = c.SaveSchedule(ctx, def)
		}
		if !IsInvalidArgument(err) {
			t.Errorf("%s: %v, want INVALID_ARGUMENT", what, err)
		}
	}
	if left, err := c.ListSchedules(ctx, ""); err != nil || len(left) != 0 {
		t.Fatalf("refused definitions were saved: %v %v", names(left), err)
	}

	// Bad arguments to a saved schedule: INVALID_ARGUMENT.
	if _, err := c.SaveSchedule(ctx, ScheduleDef{Name: "yearly", CronExpression: "@yearly",
		StartWorkflowRequest: ScheduleStart{Name: "sched_wf"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TriggerSchedule(ctx, "yearly", nil, "SOMETIMES"); !IsInvalidArgument(err) {
		t.Errorf("trigger with an unknown overlap policy: %v", err)
	}
	if _, err := c.BackfillSchedule(ctx, "yearly", time.Now().Add(-time.Hour), time.Time{}, "SOMETIMES"); !IsInvalidArgument(err) {
		t.Errorf("backfill with an unknown overlap policy: %v", err)
	}
	if _, err := c.BulkPauseSchedules(ctx, nil, ""); !IsInvalidArgument(err) {
		t.Errorf("bulk pause of no schedule: %v", err)
	}
}

func TestScheduleDefJSON(t *testing.T) {
	text := `{"name": "n", "cronExpression": "0 9 * * *", "jitterMs": 500,
		"startWorkflowRequest": {"name": "wf", "version": 2, "idempotencyKey": "k", "input": {"a": 1}},
		"intervals": [{"everySeconds": 60, "phaseSeconds": 5}], "createTime": 1700000000000}`
	var d ScheduleDef
	if err := json.Unmarshal([]byte(text), &d); err != nil {
		t.Fatal(err)
	}
	if d.Name != "n" || d.JitterMs != 500 || d.StartWorkflowRequest.Version != 2 ||
		d.StartWorkflowRequest.Input["a"] != 1.0 || d.StartWorkflowRequest.Extra["idempotencyKey"] != "k" {
		t.Fatalf("decoded: %+v", d)
	}
	if _, ok := d.Extra["intervals"]; !ok || d.Extra["createTime"] != 1.7e12 || len(d.Extra) != 2 {
		t.Fatalf("extra: %v", d.Extra)
	}
	// Typed fields win over Extra; Extra fills in the rest.
	d.Extra["name"] = "shadowed"
	out, err := ScheduleJSON(d)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal([]byte(out), &back); err != nil {
		t.Fatal(err)
	}
	swr := back["startWorkflowRequest"].(map[string]any)
	if back["name"] != "n" || back["intervals"] == nil || swr["idempotencyKey"] != "k" || back["description"] != nil {
		t.Fatalf("encoded: %s", out)
	}
	// JSON text is sent as is.
	if s, err := ScheduleJSON(`{"name": "raw"}`); err != nil || s != `{"name": "raw"}` {
		t.Fatalf("raw: %q %v", s, err)
	}
	if _, err := ScheduleJSON(nil); err == nil {
		t.Fatal("nil definition taken")
	}
}

func names(ss []*Schedule) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Name
	}
	return out
}
