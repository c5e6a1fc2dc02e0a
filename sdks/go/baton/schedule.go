package baton

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// MisfirePolicy says what a schedule does with slots that came while it could not fire them
// (server down, schedule paused).
type MisfirePolicy string

// Misfire policies of [ScheduleDef.MisfirePolicy].
const (
	// MisfireSkip records such slots as missed; only slots handled on time run.
	MisfireSkip MisfirePolicy = "SKIP"
	// MisfireRunLatest runs the latest of them once and records the others as missed.
	MisfireRunLatest MisfirePolicy = "RUN_LATEST"
	// MisfireRunAll runs every one of them inside the catch-up window.
	MisfireRunAll MisfirePolicy = "RUN_ALL"
)

// OverlapPolicy says what happens when a slot comes while the schedule's own runs are open.
// The empty policy means the schedule's own (or the server default, ALLOW_ALL).
type OverlapPolicy string

// Overlap policies of [ScheduleDef.OverlapPolicy], [Client.TriggerSchedule] and
// [Client.BackfillSchedule].
const (
	// OverlapSkip does not start the run and records the slot as skipped.
	OverlapSkip OverlapPolicy = "SKIP"
	// OverlapBufferOne starts it when the open runs end; at most one waits.
	OverlapBufferOne OverlapPolicy = "BUFFER_ONE"
	// OverlapBufferAll starts each, in order, when the previous ones end.
	OverlapBufferAll OverlapPolicy = "BUFFER_ALL"
	// OverlapCancelOther cancels the open runs and starts it once they have ended.
	OverlapCancelOther OverlapPolicy = "CANCEL_OTHER"
	// OverlapTerminateOther terminates the open runs and starts it at once.
	OverlapTerminateOther OverlapPolicy = "TERMINATE_OTHER"
	// OverlapAllowAll starts it at once.
	OverlapAllowAll OverlapPolicy = "ALLOW_ALL"
)

// ScheduleDef is a schedule definition: Conductor's schedule JSON with Baton's extensions.
//
// The common fields are typed; every other field of the JSON (cronSchedules, intervals,
// exclusions, dstPolicy, scheduleStartTime, alertWebhook, ...) goes in Extra under its JSON
// name, so a definition read from the server and saved again loses nothing. When a typed
// field is set and Extra holds the same key, the typed field wins. Zero-valued typed fields
// are left out of the JSON.
type ScheduleDef struct {
	// Name is the schedule's unique name.
	Name string `json:"name"`
	// Description is free text.
	Description string `json:"description,omitempty"`
	// CronExpression is the main cron expression (5 fields; 6 with seconds first; 7 with a
	// year last; or a macro such as @daily).
	CronExpression string `json:"cronExpression,omitempty"`
	// ZoneID is the IANA zone the cron expressions are read in; empty is UTC.
	ZoneID string `json:"zoneId,omitempty"`
	// StartWorkflowRequest says which workflow to start and how.
	StartWorkflowRequest ScheduleStart `json:"startWorkflowRequest"`
	// RunCatchupScheduleInstances is Conductor's catch-up flag.
	RunCatchupScheduleInstances bool `json:"runCatchupScheduleInstances,omitempty"`
	// Paused is whether the schedule is paused (as read from the server; saving with true
	// saves it paused).
	Paused bool `json:"paused,omitempty"`
	// PausedReason is the reason of the last pause, as read from the server.
	PausedReason string `json:"pausedReason,omitempty"`
	// CatchupWindowSeconds bounds how far back missed slots are caught up.
	CatchupWindowSeconds int64 `json:"catchupWindowSeconds,omitempty"`
	// MisfirePolicy says what happens to missed slots; empty is the server default.
	MisfirePolicy MisfirePolicy `json:"misfirePolicy,omitempty"`
	// OverlapPolicy says what happens to a slot while runs are open; empty is ALLOW_ALL.
	OverlapPolicy OverlapPolicy `json:"overlapPolicy,omitempty"`
	// JitterMs delays each slot by a random amount up to this many milliseconds.
	JitterMs int64 `json:"jitterMs,omitempty"`
	// MaxRuns stops the schedule after this many scheduled runs; 0 is no limit.
	MaxRuns int64 `json:"maxRuns,omitempty"`
	// PauseAfterFailures pauses the schedule after this many failures in a row; 0 never.
	PauseAfterFailures int `json:"pauseAfterFailures,omitempty"`
	// ShardTotal starts this many runs per slot, one per shard; 0 is one run.
	ShardTotal int `json:"shardTotal,omitempty"`
	// Extra holds every other field of the definition, by JSON name.
	Extra map[string]any `json:"-"`
}

// ScheduleStart is the startWorkflowRequest of a schedule definition: the workflow each run
// starts and how.
type ScheduleStart struct {
	// Name is the workflow definition to start.
	Name string `json:"name"`
	// Version is the definition version; 0 is the latest.
	Version int `json:"version,omitempty"`
	// Input is the workflow input of every run (the server adds _startedByScheduler and
	// _scheduledTime).
	Input map[string]any `json:"input,omitempty"`
	// CorrelationID is set on every run.
	CorrelationID string `json:"correlationId,omitempty"`
	// Priority is the runs' priority, 0-99.
	Priority int `json:"priority,omitempty"`
	// TaskToDomain maps task names (or "*") to domains.
	TaskToDomain map[string]string `json:"taskToDomain,omitempty"`
	// Extra holds every other field of the request, by JSON name.
	Extra map[string]any `json:"-"`
}

// MarshalJSON encodes the definition as Conductor's schedule JSON, Extra included.
func (d ScheduleDef) MarshalJSON() ([]byte, error) {
	type plain ScheduleDef
	return marshalWithExtra(plain(d), d.Extra)
}

// UnmarshalJSON decodes Conductor's schedule JSON; fields without a typed field go in Extra.
func (d *ScheduleDef) UnmarshalJSON(data []byte) error {
	type plain ScheduleDef
	var p plain
	extra, err := unmarshalWithExtra(data, &p)
	if err != nil {
		return err
	}
	*d = ScheduleDef(p)
	d.Extra = extra
	return nil
}

// MarshalJSON encodes the request, Extra included.
func (s ScheduleStart) MarshalJSON() ([]byte, error) {
	type plain ScheduleStart
	return marshalWithExtra(plain(s), s.Extra)
}

// UnmarshalJSON decodes the request; fields without a typed field go in Extra.
func (s *ScheduleStart) UnmarshalJSON(data []byte) error {
	type plain ScheduleStart
	var p plain
	extra, err := unmarshalWithExtra(data, &p)
	if err != nil {
		return err
	}
	*s = ScheduleStart(p)
	s.Extra = extra
	return nil
}

// marshalWithExtra encodes v (a struct) as a JSON object and adds the keys of extra it does
// not have.
func marshalWithExtra(v any, extra map[string]any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil || len(extra) == 0 {
		return data, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, err
	}
	for k, x := range extra {
		if _, ok := obj[k]; ok {
			continue
		}
		raw, err := json.Marshal(x)
		if err != nil {
			return nil, fmt.Errorf("baton: encode field %q: %w", k, err)
		}
		obj[k] = raw
	}
	return json.Marshal(obj)
}

// unmarshalWithExtra decodes data into v (a pointer to a struct) and returns the object's
// keys that no field of v takes, or nil when there are none.
func unmarshalWithExtra(data []byte, v any) (map[string]any, error) {
	if err := json.Unmarshal(data, v); err != nil {
		return nil, err
	}
	var obj map[string]any
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, err
	}
	for _, k := range jsonFieldNames(reflect.TypeOf(v).Elem()) {
		delete(obj, k)
	}
	if len(obj) == 0 {
		return nil, nil
	}
	return obj, nil
}

// jsonFieldNames lists the JSON names of a struct type's encoded fields.
func jsonFieldNames(t reflect.Type) []string {
	var names []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
	}
	return names
}

// ScheduleCounters counts what became of a schedule's slots and runs since it was created.
type ScheduleCounters struct {
	// Fired counts scheduled slots started.
	Fired int64
	// Missed counts slots recorded as missed.
	Missed int64
	// SkippedByOverlap counts slots skipped because runs were open.
	SkippedByOverlap int64
	// Buffered counts slots that waited in the buffer.
	Buffered int64
	// FailedToStart counts starts that failed.
	FailedToStart int64
	// Succeeded counts runs that completed.
	Succeeded int64
	// Failed counts runs that failed.
	Failed int64
	// Manual counts runs started by [Client.TriggerSchedule].
	Manual int64
	// Backfilled counts slots started by [Client.BackfillSchedule].
	Backfilled int64
}

// Schedule is a schedule as it stands on the server.
type Schedule struct {
	// Name is the schedule's name.
	Name string
	// Definition is the definition, with paused, pausedReason, createTime and updatedTime
	// as they stand.
	Definition ScheduleDef
	// DefinitionJSON is the definition as the server sent it.
	DefinitionJSON json.RawMessage
	// Paused is whether the schedule is paused.
	Paused bool
	// Note is the note of the last pause or resume; empty when none was given.
	Note string
	// NextRun is when the next slot fires (jitter included); zero while paused, once
	// maxRuns is reached or when no slot is left.
	NextRun time.Time
	// LastFired is the latest scheduled slot started; zero when none has.
	LastFired time.Time
	// Counters counts what became of its slots and runs.
	Counters ScheduleCounters
	// OpenRuns holds the ids of its runs still open.
	OpenRuns []string
	// Buffered is how many runs wait for the open ones to end.
	Buffered int64
	// ConsecutiveFailures counts failed runs (and starts) since the last success.
	ConsecutiveFailures int64
	// Exhausted is whether maxRuns was reached.
	Exhausted bool
	// Revision is the revision of the stored record; it grows with every change.
	Revision int64
	// Created is when the schedule was created.
	Created time.Time
	// Updated is when it was last changed.
	Updated time.Time
	// ZoneID is the IANA zone its cron expressions are read in.
	ZoneID string
	// WorkflowName is the workflow it starts.
	WorkflowName string
}

// ScheduleOutcome is what became of one schedule in [Client.BulkPauseSchedules] or
// [Client.BulkResumeSchedules].
type ScheduleOutcome struct {
	// Name is the schedule's name.
	Name string
	// OK is whether it was paused or resumed.
	OK bool
	// Error says why not, when it was not.
	Error string
}

// ScheduleSlot is one time a schedule fires.
type ScheduleSlot struct {
	// Time is the instant.
	Time time.Time
	// Spec is the spec that produced it: a cron expression, or "@every <n>s".
	Spec string
	// SpecIndex is the index of the spec (cronExpression first, then cronSchedules, then
	// intervals).
	SpecIndex int
}

// SchedulePreview is the answer of [Client.PreviewSchedule].
type SchedulePreview struct {
	// Slots are the slots found, in order.
	Slots []ScheduleSlot
	// Truncated is true when more slots were left in the range.
	Truncated bool
	// ZoneID is the zone the slots were computed in.
	ZoneID string
}

// PreviewRequest says what [Client.PreviewSchedule] previews: exactly one of Name,
// Definition and CronExpression, in a range.
type PreviewRequest struct {
	// Name previews a saved schedule.
	Name string
	// Definition previews a definition that need not be saved, in any form
	// [Client.SaveSchedule] takes.
	Definition any
	// CronExpression previews one cron expression, read in ZoneID.
	CronExpression string
	// ZoneID is the IANA zone of CronExpression; empty is UTC.
	ZoneID string
	// From is the start of the range (exclusive); zero is now.
	From time.Time
	// Until is the end of the range (inclusive); zero is one year after From.
	Until time.Time
	// Limit is the most slots to return; 0 returns 10.
	Limit int
}

// History event types of [ScheduleHistoryEntry.Type].
const (
	// HistoryStarted is a run the schedule started ({"type", "workflowId", "kind",
	// "shardIndex"}).
	HistoryStarted = "STARTED"
	// HistoryRecord is a slot recorded without a run ({"type", "outcome", "reason"}).
	HistoryRecord = "RECORD"
	// HistoryAlert is an alert ({"type", "kind", "message"}).
	HistoryAlert = "ALERT"
)

// ScheduleHistoryEntry is one entry of a schedule's history.
type ScheduleHistoryEntry struct {
	// SlotTime is the slot the entry is about; the time of the change for entries about
	// the schedule as a whole.
	SlotTime time.Time
	// RecordTime is when it was recorded.
	RecordTime time.Time
	// Event is what happened, decoded: {"type": "STARTED", "workflowId", "kind",
	// "shardIndex"}, {"type": "RECORD", "outcome", "reason"} or {"type": "ALERT", "kind",
	// "message"}.
	Event map[string]any
}

// Type returns the event's "type" (see [HistoryStarted] and the like), or "".
func (e ScheduleHistoryEntry) Type() string {
	s, _ := e.Event["type"].(string)
	return s
}

// WorkflowID returns the event's "workflowId" (set on STARTED entries), or "".
func (e ScheduleHistoryEntry) WorkflowID() string {
	s, _ := e.Event["workflowId"].(string)
	return s
}
