package baton

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	batonv1 "github.com/baton-run/baton/sdks/go/gen/baton/v1"
)

// Client registers definitions, starts, inspects and steers workflow executions, and
// manages API keys and reads the audit log.
//
// Methods return the server's gRPC errors unchanged, so [Code], [IsNotFound] and the like,
// as well as status.FromError, apply to them. Its credentials are those of its connection
// (see [WithAPIKey]). A Client is safe for concurrent use.
type Client struct {
	meta  batonv1.MetadataServiceClient
	wf    batonv1.WorkflowServiceClient
	tasks batonv1.TaskServiceClient
	sched batonv1.ScheduleServiceClient
	mon   batonv1.MonitorServiceClient
	admin batonv1.AdminServiceClient
}

// NewClient makes a client that talks to the server over conn (see [Dial]).
func NewClient(conn grpc.ClientConnInterface) *Client {
	return &Client{
		meta:  batonv1.NewMetadataServiceClient(conn),
		wf:    batonv1.NewWorkflowServiceClient(conn),
		tasks: batonv1.NewTaskServiceClient(conn),
		sched: batonv1.NewScheduleServiceClient(conn),
		mon:   batonv1.NewMonitorServiceClient(conn),
		admin: batonv1.NewAdminServiceClient(conn),
	}
}

// Metadata returns the generated stub of MetadataService, for calls this type does not wrap.
func (c *Client) Metadata() batonv1.MetadataServiceClient { return c.meta }

// Workflows returns the generated stub of WorkflowService.
func (c *Client) Workflows() batonv1.WorkflowServiceClient { return c.wf }

// Tasks returns the generated stub of TaskService.
func (c *Client) Tasks() batonv1.TaskServiceClient { return c.tasks }

// Schedules returns the generated stub of ScheduleService.
func (c *Client) Schedules() batonv1.ScheduleServiceClient { return c.sched }

// Monitor returns the generated stub of MonitorService.
func (c *Client) Monitor() batonv1.MonitorServiceClient { return c.mon }

// Admin returns the generated stub of AdminService.
func (c *Client) Admin() batonv1.AdminServiceClient { return c.admin }

// ToDefinition converts a definition in Conductor's JSON DSL into its wire form. def may be
// JSON text (string, []byte or json.RawMessage; a JSON array where the call takes several
// definitions), a *structpb.Struct, a map[string]any, or any value encoding/json encodes as
// an object (a struct with json tags, for instance).
func ToDefinition(def any) (*batonv1.Definition, error) {
	switch d := def.(type) {
	case nil:
		return nil, fmt.Errorf("baton: nil definition")
	case *batonv1.Definition:
		return d, nil
	case string:
		return &batonv1.Definition{Body: &batonv1.Definition_JsonText{JsonText: d}}, nil
	case []byte:
		return &batonv1.Definition{Body: &batonv1.Definition_JsonText{JsonText: string(d)}}, nil
	case json.RawMessage:
		return &batonv1.Definition{Body: &batonv1.Definition_JsonText{JsonText: string(d)}}, nil
	case *structpb.Struct:
		return &batonv1.Definition{Body: &batonv1.Definition_Json{Json: d}}, nil
	case map[string]any:
		if s, err := structpb.NewStruct(d); err == nil {
			return &batonv1.Definition{Body: &batonv1.Definition_Json{Json: s}}, nil
		}
	}
	data, err := json.Marshal(def)
	if err != nil {
		return nil, fmt.Errorf("baton: encode definition %T as JSON: %w", def, err)
	}
	return &batonv1.Definition{Body: &batonv1.Definition_JsonText{JsonText: string(data)}}, nil
}

func toDefinitions(defs []any) ([]*batonv1.Definition, error) {
	out := make([]*batonv1.Definition, 0, len(defs))
	for _, d := range defs {
		pd, err := ToDefinition(d)
		if err != nil {
			return nil, err
		}
		out = append(out, pd)
	}
	return out, nil
}

// RegisterWorkflowDef registers a new version of a workflow definition (see [ToDefinition]
// for the accepted forms). It fails with ALREADY_EXISTS if that name and version exist; use
// [Client.UpdateWorkflowDefs] to replace one.
func (c *Client) RegisterWorkflowDef(ctx context.Context, def any) (*WorkflowDef, error) {
	d, err := ToDefinition(def)
	if err != nil {
		return nil, err
	}
	resp, err := c.meta.RegisterWorkflowDef(ctx, &batonv1.RegisterWorkflowDefRequest{Definition: d})
	if err != nil {
		return nil, err
	}
	return workflowDefOf(resp.GetWorkflowDef()), nil
}

// UpdateWorkflowDefs creates or replaces workflow definitions.
func (c *Client) UpdateWorkflowDefs(ctx context.Context, defs ...any) ([]*WorkflowDef, error) {
	ds, err := toDefinitions(defs)
	if err != nil {
		return nil, err
	}
	resp, err := c.meta.UpdateWorkflowDef(ctx, &batonv1.UpdateWorkflowDefRequest{Definitions: ds})
	if err != nil {
		return nil, err
	}
	return mapEach(resp.GetWorkflowDefs(), workflowDefOf), nil
}

// GetWorkflowDef reads a workflow definition: the given version, or the latest when version
// is 0.
func (c *Client) GetWorkflowDef(ctx context.Context, name string, version int) (*WorkflowDef, error) {
	req := &batonv1.GetWorkflowDefRequest{Name: name}
	if version > 0 {
		req.Version = proto.Int32(int32(version))
	}
	resp, err := c.meta.GetWorkflowDef(ctx, req)
	if err != nil {
		return nil, err
	}
	return workflowDefOf(resp.GetWorkflowDef()), nil
}

// ListWorkflowDefs lists the latest version of every workflow definition, or every version
// when allVersions is true.
func (c *Client) ListWorkflowDefs(ctx context.Context, allVersions bool) ([]*WorkflowDef, error) {
	resp, err := c.meta.ListWorkflowDefs(ctx, &batonv1.ListWorkflowDefsRequest{AllVersions: allVersions})
	if err != nil {
		return nil, err
	}
	return mapEach(resp.GetWorkflowDefs(), workflowDefOf), nil
}

// DeleteWorkflowDef deletes one version of a workflow definition.
func (c *Client) DeleteWorkflowDef(ctx context.Context, name string, version int) error {
	_, err := c.meta.DeleteWorkflowDef(ctx, &batonv1.DeleteWorkflowDefRequest{Name: name, Version: int32(version)})
	return err
}

// ValidateWorkflowDef checks a workflow definition without storing it and returns every
// problem found (none when it is valid).
func (c *Client) ValidateWorkflowDef(ctx context.Context, def any) ([]ValidationError, error) {
	d, err := ToDefinition(def)
	if err != nil {
		return nil, err
	}
	resp, err := c.meta.ValidateWorkflowDef(ctx, &batonv1.ValidateWorkflowDefRequest{Definition: d})
	if err != nil {
		return nil, err
	}
	out := make([]ValidationError, 0, len(resp.GetErrors()))
	for _, e := range resp.GetErrors() {
		out = append(out, ValidationError{Path: e.GetPath(), Message: e.GetMessage()})
	}
	return out, nil
}

// RegisterTaskDefs creates or replaces task definitions. Each argument is one definition or,
// as JSON text, an array of them (see [ToDefinition]).
func (c *Client) RegisterTaskDefs(ctx context.Context, defs ...any) ([]*TaskDef, error) {
	ds, err := toDefinitions(defs)
	if err != nil {
		return nil, err
	}
	resp, err := c.meta.RegisterTaskDefs(ctx, &batonv1.RegisterTaskDefsRequest{Definitions: ds})
	if err != nil {
		return nil, err
	}
	return mapEach(resp.GetTaskDefs(), taskDefOf), nil
}

// GetTaskDef reads a task definition.
func (c *Client) GetTaskDef(ctx context.Context, name string) (*TaskDef, error) {
	resp, err := c.meta.GetTaskDef(ctx, &batonv1.GetTaskDefRequest{Name: name})
	if err != nil {
		return nil, err
	}
	return taskDefOf(resp.GetTaskDef()), nil
}

// ListTaskDefs lists every task definition.
func (c *Client) ListTaskDefs(ctx context.Context) ([]*TaskDef, error) {
	resp, err := c.meta.ListTaskDefs(ctx, &batonv1.ListTaskDefsRequest{})
	if err != nil {
		return nil, err
	}
	return mapEach(resp.GetTaskDefs(), taskDefOf), nil
}

// DeleteTaskDef deletes a task definition.
func (c *Client) DeleteTaskDef(ctx context.Context, name string) error {
	_, err := c.meta.DeleteTaskDef(ctx, &batonv1.DeleteTaskDefRequest{Name: name})
	return err
}

// IdempotencyStrategy says what a start does when its idempotency key was used before.
// Its values are Conductor's names; the empty strategy (or an unknown one) leaves the choice
// to the server.
type IdempotencyStrategy string

// Idempotency strategies for [WithIdempotencyKey].
const (
	// IdempotencyFail refuses the start with ALREADY_EXISTS.
	IdempotencyFail IdempotencyStrategy = "FAIL"
	// IdempotencyReturnExisting returns the id of the execution that used the key.
	IdempotencyReturnExisting IdempotencyStrategy = "RETURN_EXISTING"
	// IdempotencyFailOnRunning refuses only while that execution is running or paused.
	IdempotencyFailOnRunning IdempotencyStrategy = "FAIL_ON_RUNNING"
)

// StartOption sets an optional field of a workflow start.
type StartOption func(*batonv1.StartWorkflowRequest)

// WithVersion runs the given version of the definition instead of the latest.
func WithVersion(version int) StartOption {
	return func(r *batonv1.StartWorkflowRequest) {
		if version > 0 {
			r.Version = proto.Int32(int32(version))
		}
	}
}

// WithCorrelationID sets the correlation id that groups related executions.
func WithCorrelationID(id string) StartOption {
	return func(r *batonv1.StartWorkflowRequest) { r.CorrelationId = id }
}

// WithIdempotencyKey makes the start idempotent under key, with the given strategy for a
// key used before.
func WithIdempotencyKey(key string, strategy IdempotencyStrategy) StartOption {
	return func(r *batonv1.StartWorkflowRequest) {
		r.IdempotencyKey = key
		r.IdempotencyStrategy = batonv1.IdempotencyStrategy(batonv1.IdempotencyStrategy_value["IDEMPOTENCY_STRATEGY_"+string(strategy)])
	}
}

// WithPriority sets the execution's priority, 0-99; higher-priority tasks are handed out
// first within a queue.
func WithPriority(p int) StartOption {
	return func(r *batonv1.StartWorkflowRequest) { r.Priority = int32(p) }
}

// WithTaskToDomain maps task names (or "*" for all) to the domains their tasks are queued
// under.
func WithTaskToDomain(m map[string]string) StartOption {
	return func(r *batonv1.StartWorkflowRequest) {
		if len(m) == 0 {
			return
		}
		if r.TaskToDomain == nil {
			r.TaskToDomain = make(map[string]string, len(m))
		}
		for k, v := range m {
			r.TaskToDomain[k] = v
		}
	}
}

// NewStartRequest builds the request that [Client.StartWorkflow] sends; input follows the
// rules of [ToStruct].
func NewStartRequest(name string, input any, opts ...StartOption) (*batonv1.StartWorkflowRequest, error) {
	in, err := ToStruct(input)
	if err != nil {
		return nil, err
	}
	req := &batonv1.StartWorkflowRequest{Name: name, Input: in}
	for _, o := range opts {
		if o != nil {
			o(req)
		}
	}
	return req, nil
}

// StartWorkflow starts an execution of a registered workflow definition and returns its id
// once the start is durable. input follows the rules of [ToStruct] (nil for none).
func (c *Client) StartWorkflow(ctx context.Context, name string, input any, opts ...StartOption) (string, error) {
	req, err := NewStartRequest(name, input, opts...)
	if err != nil {
		return "", err
	}
	resp, err := c.wf.StartWorkflow(ctx, req)
	if err != nil {
		return "", err
	}
	return resp.GetWorkflowId(), nil
}

// ExecuteWorkflow starts an execution and waits, up to wait (whole seconds; the server
// allows at most 300), for it to reach a terminal status. It returns the execution as it
// stood, with its tasks, and whether it finished in time. A wait of 0 uses the server's
// default (10 s).
func (c *Client) ExecuteWorkflow(ctx context.Context, name string, input any, wait time.Duration, opts ...StartOption) (*Workflow, bool, error) {
	req, err := NewStartRequest(name, input, opts...)
	if err != nil {
		return nil, false, err
	}
	secs := int32((wait + time.Second - 1) / time.Second)
	resp, err := c.wf.ExecuteWorkflow(ctx, &batonv1.ExecuteWorkflowRequest{Start: req, WaitSeconds: secs})
	if err != nil {
		return nil, false, err
	}
	return workflowOf(resp.GetWorkflow()), resp.GetFinished(), nil
}

// GetWorkflow reads one execution, with its tasks when includeTasks is true.
func (c *Client) GetWorkflow(ctx context.Context, workflowID string, includeTasks bool) (*Workflow, error) {
	resp, err := c.wf.GetWorkflow(ctx, &batonv1.GetWorkflowRequest{WorkflowId: workflowID, IncludeTasks: includeTasks})
	if err != nil {
		return nil, err
	}
	return workflowOf(resp.GetWorkflow()), nil
}

// GetWorkflowsByCorrelationID lists the executions of a workflow definition that carry a
// correlation id: only running and paused ones unless includeClosed is true.
func (c *Client) GetWorkflowsByCorrelationID(ctx context.Context, name, correlationID string, includeClosed, includeTasks bool) ([]*Workflow, error) {
	resp, err := c.wf.GetWorkflowsByCorrelationId(ctx, &batonv1.GetWorkflowsByCorrelationIdRequest{
		Name: name, CorrelationId: correlationID, IncludeClosed: includeClosed, IncludeTasks: includeTasks,
	})
	if err != nil {
		return nil, err
	}
	return mapEach(resp.GetWorkflows(), workflowOf), nil
}

// WaitForWorkflow reads an execution every interval until it reaches a terminal status or
// ctx is done, and returns it with its tasks. An interval of 0 means 100 ms. While the
// server cannot be reached it waits for it (until ctx is done) instead of failing.
func (c *Client) WaitForWorkflow(ctx context.Context, workflowID string, interval time.Duration) (*Workflow, error) {
	if interval <= 0 {
		interval = 100 * time.Millisecond
	}
	req := &batonv1.GetWorkflowRequest{WorkflowId: workflowID, IncludeTasks: true}
	for {
		resp, err := c.wf.GetWorkflow(ctx, req, grpc.WaitForReady(true))
		if err != nil {
			return nil, err
		}
		wf := workflowOf(resp.GetWorkflow())
		if wf.Status.Terminal() {
			return wf, nil
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return wf, ctx.Err()
		case <-t.C:
		}
	}
}

// IsTerminal reports whether a workflow status is terminal (COMPLETED, FAILED, TIMED_OUT or
// TERMINATED).
func IsTerminal(s WorkflowStatus) bool { return s.Terminal() }

// PauseWorkflow pauses a running execution: nothing new is scheduled until it is resumed.
func (c *Client) PauseWorkflow(ctx context.Context, workflowID string) error {
	_, err := c.wf.PauseWorkflow(ctx, &batonv1.PauseWorkflowRequest{WorkflowId: workflowID})
	return err
}

// ResumeWorkflow resumes a paused execution.
func (c *Client) ResumeWorkflow(ctx context.Context, workflowID string) error {
	_, err := c.wf.ResumeWorkflow(ctx, &batonv1.ResumeWorkflowRequest{WorkflowId: workflowID})
	return err
}

// TerminateWorkflow terminates a running or paused execution and cancels its unfinished
// tasks; reason is kept as its reasonForIncompletion.
func (c *Client) TerminateWorkflow(ctx context.Context, workflowID, reason string) error {
	_, err := c.wf.TerminateWorkflow(ctx, &batonv1.TerminateWorkflowRequest{WorkflowId: workflowID, Reason: reason})
	return err
}

// RestartWorkflow runs a terminal execution again from the beginning under the same id,
// with the latest definition when useLatestDefinitions is true.
func (c *Client) RestartWorkflow(ctx context.Context, workflowID string, useLatestDefinitions bool) error {
	_, err := c.wf.RestartWorkflow(ctx, &batonv1.RestartWorkflowRequest{
		WorkflowId: workflowID, UseLatestDefinitions: useLatestDefinitions,
	})
	return err
}

// RetryWorkflow resumes a failed, timed-out or terminated execution from its failed task.
func (c *Client) RetryWorkflow(ctx context.Context, workflowID string, resumeSubworkflowTasks bool) error {
	_, err := c.wf.RetryWorkflow(ctx, &batonv1.RetryWorkflowRequest{
		WorkflowId: workflowID, ResumeSubworkflowTasks: resumeSubworkflowTasks,
	})
	return err
}

// RemoveWorkflow deletes an execution and its tasks.
func (c *Client) RemoveWorkflow(ctx context.Context, workflowID string) error {
	_, err := c.wf.RemoveWorkflow(ctx, &batonv1.RemoveWorkflowRequest{WorkflowId: workflowID})
	return err
}

// GetTask reads one task instance.
func (c *Client) GetTask(ctx context.Context, taskID string) (*TaskInstance, error) {
	resp, err := c.tasks.GetTask(ctx, &batonv1.GetTaskRequest{TaskId: taskID})
	if err != nil {
		return nil, err
	}
	return taskInstanceOf(resp.GetTask()), nil
}

// GetTaskLogs reads the log lines workers wrote for a task, oldest first.
func (c *Client) GetTaskLogs(ctx context.Context, taskID string) ([]TaskLog, error) {
	resp, err := c.tasks.GetTaskLogs(ctx, &batonv1.GetTaskLogsRequest{TaskId: taskID})
	if err != nil {
		return nil, err
	}
	out := make([]TaskLog, 0, len(resp.GetLogs()))
	for _, l := range resp.GetLogs() {
		out = append(out, TaskLog{Message: l.GetMessage(), Time: timeOf(l.GetTime())})
	}
	return out, nil
}

// SaveSchedule creates a schedule, or replaces the definition of an existing one keeping its
// state and history, and returns it as saved. def is a [ScheduleDef] (or a pointer to
// one), JSON text, a map or any value that encodes as a JSON object (see [ScheduleJSON]).
// It fails with INVALID_ARGUMENT when the definition is invalid, and when the workflow it
// starts is not defined.
func (c *Client) SaveSchedule(ctx context.Context, def any) (*Schedule, error) {
	text, err := ScheduleJSON(def)
	if err != nil {
		return nil, err
	}
	resp, err := c.sched.SaveSchedule(ctx, &batonv1.SaveScheduleRequest{DefinitionJson: text})
	if err != nil {
		return nil, err
	}
	return scheduleFromView(resp.GetSchedule())
}

// GetSchedule reads one schedule; NOT_FOUND when there is none of that name.
func (c *Client) GetSchedule(ctx context.Context, name string) (*Schedule, error) {
	resp, err := c.sched.GetSchedule(ctx, &batonv1.GetScheduleRequest{Name: name})
	if err != nil {
		return nil, err
	}
	return scheduleFromView(resp.GetSchedule())
}

// ListSchedules lists schedules in name order: those starting workflowName, or every one
// when workflowName is empty.
func (c *Client) ListSchedules(ctx context.Context, workflowName string) ([]*Schedule, error) {
	resp, err := c.sched.ListSchedules(ctx, &batonv1.ListSchedulesRequest{WorkflowName: workflowName})
	if err != nil {
		return nil, err
	}
	return schedulesFromViews(resp.GetSchedules())
}

// DeleteSchedule deletes a schedule and its history; its open runs go on.
func (c *Client) DeleteSchedule(ctx context.Context, name string) error {
	_, err := c.sched.DeleteSchedule(ctx, &batonv1.DeleteScheduleRequest{Name: name})
	return err
}

// PauseSchedule pauses a schedule, with a note saying why (may be empty), and returns it
// after the pause. Slots already due are handled first.
func (c *Client) PauseSchedule(ctx context.Context, name, note string) (*Schedule, error) {
	resp, err := c.sched.PauseSchedule(ctx, &batonv1.PauseScheduleRequest{Name: name, Note: note})
	if err != nil {
		return nil, err
	}
	return scheduleFromView(resp.GetSchedule())
}

// ResumeSchedule resumes a paused schedule, with a note (may be empty), and returns it after
// the resume. Slots that came during the pause follow its misfire policy.
func (c *Client) ResumeSchedule(ctx context.Context, name, note string) (*Schedule, error) {
	resp, err := c.sched.ResumeSchedule(ctx, &batonv1.ResumeScheduleRequest{Name: name, Note: note})
	if err != nil {
		return nil, err
	}
	return scheduleFromView(resp.GetSchedule())
}

// BulkPauseSchedules pauses several schedules (at least one) and reports the outcome of
// each, in the order given. A schedule that could not be paused (an unknown name, say) is an
// outcome with OK false, not an error.
func (c *Client) BulkPauseSchedules(ctx context.Context, names []string, note string) ([]ScheduleOutcome, error) {
	return c.bulkPause(ctx, names, note, false)
}

// BulkResumeSchedules resumes several schedules (at least one) and reports the outcome of
// each, as [Client.BulkPauseSchedules] does.
func (c *Client) BulkResumeSchedules(ctx context.Context, names []string, note string) ([]ScheduleOutcome, error) {
	return c.bulkPause(ctx, names, note, true)
}

func (c *Client) bulkPause(ctx context.Context, names []string, note string, resume bool) ([]ScheduleOutcome, error) {
	resp, err := c.sched.BulkPauseSchedules(ctx, &batonv1.BulkPauseSchedulesRequest{
		Names: names, Resume: resume, Note: note,
	})
	if err != nil {
		return nil, err
	}
	out := make([]ScheduleOutcome, 0, len(resp.GetOutcomes()))
	for _, o := range resp.GetOutcomes() {
		out = append(out, ScheduleOutcome{Name: o.GetName(), OK: o.GetOk(), Error: o.GetError()})
	}
	return out, nil
}

// TriggerSchedule runs a schedule's workflow now, paused or not, and returns the ids of the
// workflows started (none when the overlap policy skipped or buffered the run). input, if
// not nil, is merged into the schedule's workflow input for this run (see [ToStruct]);
// overlap overrides the schedule's overlap policy for this run (empty keeps it).
func (c *Client) TriggerSchedule(ctx context.Context, name string, input any, overlap OverlapPolicy) ([]string, error) {
	in, err := ToStruct(input)
	if err != nil {
		return nil, err
	}
	resp, err := c.sched.TriggerSchedule(ctx, &batonv1.TriggerScheduleRequest{
		Name: name, Input: in, Overlap: string(overlap),
	})
	if err != nil {
		return nil, err
	}
	return resp.GetWorkflowIds(), nil
}

// BackfillSchedule runs every slot of the range [from, until] that has not run yet, whatever
// the misfire policy says, and returns the schedule once the backfill is taken in (large
// ranges go on in the background). A zero until leaves the end to the server (now); slots
// after now are left to the schedule. overlap overrides the schedule's overlap policy for
// these runs (empty keeps it).
func (c *Client) BackfillSchedule(ctx context.Context, name string, from, until time.Time, overlap OverlapPolicy) (*Schedule, error) {
	resp, err := c.sched.BackfillSchedule(ctx, &batonv1.BackfillScheduleRequest{
		Name: name, FromTime: timestampOf(from), UntilTime: timestampOf(until), Overlap: string(overlap),
	})
	if err != nil {
		return nil, err
	}
	return scheduleFromView(resp.GetSchedule())
}

// PreviewSchedule lists the slots a saved schedule, an unsaved definition or a single cron
// expression fires in a range (see [PreviewRequest]). Giving none or more than one of
// Name, Definition and CronExpression is an error.
func (c *Client) PreviewSchedule(ctx context.Context, p PreviewRequest) (*SchedulePreview, error) {
	req := &batonv1.PreviewScheduleRequest{
		ZoneId: p.ZoneID, FromTime: timestampOf(p.From), UntilTime: timestampOf(p.Until), Limit: int32(p.Limit),
	}
	given := 0
	if p.Name != "" {
		given++
		req.Of = &batonv1.PreviewScheduleRequest_Name{Name: p.Name}
	}
	if p.Definition != nil {
		given++
		text, err := ScheduleJSON(p.Definition)
		if err != nil {
			return nil, err
		}
		req.Of = &batonv1.PreviewScheduleRequest_DefinitionJson{DefinitionJson: text}
	}
	if p.CronExpression != "" {
		given++
		req.Of = &batonv1.PreviewScheduleRequest_CronExpression{CronExpression: p.CronExpression}
	}
	if given != 1 {
		return nil, fmt.Errorf("baton: a preview takes exactly one of Name, Definition and CronExpression (%d given)", given)
	}
	resp, err := c.sched.PreviewSchedule(ctx, req)
	if err != nil {
		return nil, err
	}
	out := &SchedulePreview{Truncated: resp.GetTruncated(), ZoneID: resp.GetZoneId()}
	for _, s := range resp.GetSlots() {
		out.Slots = append(out.Slots, ScheduleSlot{Time: timeOf(s.GetTime()), Spec: s.GetSpec(), SpecIndex: int(s.GetSpecIndex())})
	}
	return out, nil
}

// GetScheduleHistory reads a schedule's history, newest first: the entries whose slots are
// in [from, until] (a zero from is the beginning, a zero until is now and beyond), at most
// limit of them (0 returns 100).
func (c *Client) GetScheduleHistory(ctx context.Context, name string, from, until time.Time, limit int) ([]ScheduleHistoryEntry, error) {
	resp, err := c.sched.GetScheduleHistory(ctx, &batonv1.GetScheduleHistoryRequest{
		Name: name, FromTime: timestampOf(from), UntilTime: timestampOf(until), Limit: int32(limit),
	})
	if err != nil {
		return nil, err
	}
	out := make([]ScheduleHistoryEntry, 0, len(resp.GetEntries()))
	for _, e := range resp.GetEntries() {
		out = append(out, ScheduleHistoryEntry{
			SlotTime: timeOf(e.GetSlotTime()), RecordTime: timeOf(e.GetRecordTime()), Event: ToMap(e.GetEvent()),
		})
	}
	return out, nil
}
