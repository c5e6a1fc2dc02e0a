package baton

import (
	"context"
	"fmt"
	"math"
	"time"

	"google.golang.org/protobuf/proto"

	batonv1 "github.com/baton-run/baton/sdks/go/gen/baton/v1"
)

// ExecuteWorkflowUntil starts an execution and waits, up to wait (whole seconds; the server
// allows at most 300), for it to reach a terminal status or, when taskRef is not empty, for
// the task with that reference name to finish. A wait of 0 uses the server's default.
func (c *Client) ExecuteWorkflowUntil(ctx context.Context, name string, input any, taskRef string, wait time.Duration, opts ...StartOption) (*Execution, error) {
	req, err := NewStartRequest(name, input, opts...)
	if err != nil {
		return nil, err
	}
	secs := int32((wait + time.Second - 1) / time.Second)
	resp, err := c.wf.ExecuteWorkflow(ctx, &batonv1.ExecuteWorkflowRequest{Start: req, WaitSeconds: secs, WaitUntilTaskRef: taskRef})
	if err != nil {
		return nil, err
	}
	return &Execution{
		Workflow: workflowOf(resp.GetWorkflow()), Finished: resp.GetFinished(), TaskRefFinished: resp.GetTaskRefFinished(),
	}, nil
}

// WaitWorkflow waits, up to wait (whole seconds, at most 300; 0 uses the server's default of
// 10 s), for an execution that already exists to reach a terminal status or, when taskRef is
// not empty, for the task with that reference name to finish; it starts nothing. It returns
// the execution as it stood then, with its tasks: Finished says whether it had reached a
// terminal status, TaskRefFinished whether the awaited task had finished. Running out of
// time is not an error. An unknown execution id, or a taskRef the definition lacks, gives
// NOT_FOUND; a wait beyond 300 s gives INVALID_ARGUMENT.
func (c *Client) WaitWorkflow(ctx context.Context, workflowID, taskRef string, wait time.Duration) (*Execution, error) {
	secs := int32(min((wait+time.Second-1)/time.Second, 1<<30))
	resp, err := c.wf.WaitWorkflow(ctx, &batonv1.WaitWorkflowRequest{WorkflowId: workflowID, WaitSeconds: secs, WaitUntilTaskRef: taskRef})
	if err != nil {
		return nil, err
	}
	return &Execution{
		Workflow: workflowOf(resp.GetWorkflow()), Finished: resp.GetFinished(), TaskRefFinished: resp.GetTaskRefFinished(),
	}, nil
}

// RerunWorkflow runs an execution again from one of its task instances (opts.TaskID): that
// instance and every task scheduled after it are removed, the task is scheduled anew and the
// execution is RUNNING. It works on terminal and running executions.
func (c *Client) RerunWorkflow(ctx context.Context, workflowID string, opts RerunOptions) error {
	taskIn, err := ToStruct(opts.TaskInput)
	if err != nil {
		return err
	}
	wfIn, err := ToStruct(opts.WorkflowInput)
	if err != nil {
		return err
	}
	_, err = c.wf.RerunWorkflow(ctx, &batonv1.RerunWorkflowRequest{
		WorkflowId: workflowID, TaskId: opts.TaskID, TaskInput: taskIn, WorkflowInput: wfIn,
	})
	return err
}

// SkipTask marks the task with the given reference name as SKIPPED, with the given input
// and output (nil for none; see [ToStruct]), and lets the execution go on past it. It
// reports whether the task was skipped now; false means the task was not scheduled yet and
// is skipped when the execution reaches it. A finished task is refused
// (FAILED_PRECONDITION).
func (c *Client) SkipTask(ctx context.Context, workflowID, taskRefName string, input, output any) (bool, error) {
	in, err := ToStruct(input)
	if err != nil {
		return false, err
	}
	out, err := ToStruct(output)
	if err != nil {
		return false, err
	}
	resp, err := c.wf.SkipTask(ctx, &batonv1.SkipTaskRequest{
		WorkflowId: workflowID, TaskRefName: taskRefName, TaskInput: in, TaskOutput: out,
	})
	if err != nil {
		return false, err
	}
	return resp.GetSkippedNow(), nil
}

// ResetCallbacks makes the execution's tasks that wait on a callback delay ready at once.
func (c *Client) ResetCallbacks(ctx context.Context, workflowID string) error {
	_, err := c.wf.ResetCallbacks(ctx, &batonv1.ResetCallbacksRequest{WorkflowId: workflowID})
	return err
}

// DecideWorkflow asks the server to evaluate the execution now (schedule what is due).
func (c *Client) DecideWorkflow(ctx context.Context, workflowID string) error {
	_, err := c.wf.DecideWorkflow(ctx, &batonv1.DecideWorkflowRequest{WorkflowId: workflowID})
	return err
}

// ListWorkflowTasks lists one page of an execution's tasks.
func (c *Client) ListWorkflowTasks(ctx context.Context, workflowID string, q TaskListQuery) (*TaskPage, error) {
	req := &batonv1.ListWorkflowTasksRequest{WorkflowId: workflowID, Offset: int32(q.Offset), Limit: int32(q.Limit)}
	for _, s := range q.Statuses {
		w := wireTaskStatus(s)
		if w == batonv1.TaskStatus_TASK_STATUS_UNSPECIFIED {
			return nil, fmt.Errorf("baton: unknown task status %q", s)
		}
		req.Statuses = append(req.Statuses, w)
	}
	resp, err := c.wf.ListWorkflowTasks(ctx, req)
	if err != nil {
		return nil, err
	}
	page := &TaskPage{Total: int(resp.GetTotal()), NextOffset: int(resp.GetNextOffset())}
	for _, t := range resp.GetTasks() {
		page.Tasks = append(page.Tasks, taskInstanceOf(t))
	}
	return page, nil
}

// GetRunningWorkflows returns the ids of the running and paused executions of a workflow
// definition: of the given version (0 for any) and created in [after, before] (zero times
// leave that end open).
func (c *Client) GetRunningWorkflows(ctx context.Context, name string, version int, after, before time.Time) ([]string, error) {
	req := &batonv1.GetRunningWorkflowsRequest{Name: name, CreatedAfter: timestampOf(after), CreatedBefore: timestampOf(before)}
	if version > 0 {
		req.Version = proto.Int32(int32(version))
	}
	resp, err := c.wf.GetRunningWorkflows(ctx, req)
	if err != nil {
		return nil, err
	}
	return resp.GetWorkflowIds(), nil
}

// GetWorkflowsByCorrelationIDs lists, for each correlation id, the executions of a workflow
// definition that carry it: only running and paused ones unless includeClosed is true. Every
// id given is a key of the map, with no executions if none match.
func (c *Client) GetWorkflowsByCorrelationIDs(ctx context.Context, name string, correlationIDs []string, includeClosed, includeTasks bool) (map[string][]*Workflow, error) {
	resp, err := c.wf.GetWorkflowsByCorrelationIds(ctx, &batonv1.GetWorkflowsByCorrelationIdsRequest{
		Name: name, CorrelationIds: correlationIDs, IncludeClosed: includeClosed, IncludeTasks: includeTasks,
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string][]*Workflow, len(correlationIDs))
	for _, id := range correlationIDs {
		out[id] = nil
	}
	for _, r := range resp.GetResults() {
		list := out[r.GetCorrelationId()]
		for _, w := range r.GetWorkflows() {
			list = append(list, workflowOf(w))
		}
		out[r.GetCorrelationId()] = list
	}
	return out, nil
}

// RunBulkOperation applies an operation to several executions and reports the outcome of
// each, in the order given. reason is used by TERMINATE; useLatestDefinitions by RESTART. An
// execution the operation failed on is an outcome with OK false, not an error.
func (c *Client) RunBulkOperation(ctx context.Context, op BulkOperation, workflowIDs []string, reason string, useLatestDefinitions bool) ([]BulkResult, error) {
	wireOp := batonv1.BulkOperation(batonv1.BulkOperation_value["BULK_OPERATION_"+string(op)])
	if wireOp == batonv1.BulkOperation_BULK_OPERATION_UNSPECIFIED {
		return nil, fmt.Errorf("baton: unknown bulk operation %q", op)
	}
	resp, err := c.wf.RunBulkOperation(ctx, &batonv1.RunBulkOperationRequest{
		Operation: wireOp, WorkflowIds: workflowIDs, Reason: reason, UseLatestDefinitions: useLatestDefinitions,
	})
	if err != nil {
		return nil, err
	}
	out := make([]BulkResult, 0, len(resp.GetResults()))
	for _, r := range resp.GetResults() {
		out = append(out, BulkResult{WorkflowID: r.GetWorkflowId(), OK: r.GetOk(), Code: r.GetCode(), Message: r.GetMessage()})
	}
	return out, nil
}

func sizeOf(p *int) *int32 {
	if p == nil {
		return nil
	}
	return proto.Int32(int32(*p))
}

// SearchWorkflows searches executions.
func (c *Client) SearchWorkflows(ctx context.Context, q SearchQuery) (*WorkflowSearchResult, error) {
	resp, err := c.wf.SearchWorkflows(ctx, &batonv1.SearchWorkflowsRequest{
		Query: q.Query, FreeText: q.FreeText, Sort: q.Sort, Start: int32(q.Start), Size: sizeOf(q.Size), ByTasks: q.ByTasks,
	})
	if err != nil {
		return nil, err
	}
	out := &WorkflowSearchResult{TotalHits: resp.GetTotalHits()}
	for _, s := range resp.GetResults() {
		out.Results = append(out.Results, WorkflowSummary{
			WorkflowID: s.GetWorkflowId(), WorkflowType: s.GetWorkflowType(), Version: int(s.GetVersion()),
			CorrelationID: s.GetCorrelationId(), Status: workflowStatusOf(s.GetStatus()),
			Started: timeOf(s.GetStartTime()), Updated: timeOf(s.GetUpdateTime()), Ended: timeOf(s.GetEndTime()),
			Input: ToMap(s.GetInput()), Output: ToMap(s.GetOutput()), ReasonForIncompletion: s.GetReasonForIncompletion(),
			ExecutionTime: time.Duration(s.GetExecutionTimeMs()) * time.Millisecond, Event: s.GetEvent(),
			FailedReferenceTaskNames: s.GetFailedReferenceTaskNames(), FailedTaskNames: s.GetFailedTaskNames(),
			Priority: int(s.GetPriority()), IdempotencyKey: s.GetIdempotencyKey(), TaskToDomain: s.GetTaskToDomain(),
			InputSize: s.GetInputSize(), OutputSize: s.GetOutputSize(),
		})
	}
	return out, nil
}

// ImportWorkflows loads archived executions back (lines of the archive files the server's
// retention writes), so they can be read and searched again. Every line is checked before
// anything is written; executions stored already are counted, not replaced.
func (c *Client) ImportWorkflows(ctx context.Context, lines ...[]byte) (ImportResult, error) {
	resp, err := c.wf.ImportWorkflows(ctx, &batonv1.ImportWorkflowsRequest{Lines: lines})
	if err != nil {
		return ImportResult{}, err
	}
	return ImportResult{Imported: resp.GetImported(), AlreadyPresent: resp.GetAlreadyPresent()}, nil
}

// GetRetention reads the server's retention policy and its counters.
func (c *Client) GetRetention(ctx context.Context) (*Retention, error) {
	resp, err := c.wf.GetRetention(ctx, &batonv1.GetRetentionRequest{})
	if err != nil {
		return nil, err
	}
	out := &Retention{
		MaxAge: time.Duration(resp.GetMaxAgeSeconds()) * time.Second, KeepLast: resp.GetKeepLast(),
		MaxRemovalsPerSec: resp.GetMaxRemovalsPerSec(), ArchiveDir: resp.GetArchiveDir(),
		Passes: resp.GetPasses(), Removed: resp.GetRemoved(), Archived: resp.GetArchived(), Changed: resp.GetChanged(),
		HeldByParent: resp.GetHeldByParent(), Failures: resp.GetFailures(),
	}
	for _, o := range resp.GetOverrides() {
		out.Overrides = append(out.Overrides, RetentionOverride{
			WorkflowName: o.GetWorkflowName(), MaxAge: time.Duration(o.GetMaxAgeSeconds()) * time.Second, KeepLast: o.GetKeepLast(),
		})
	}
	return out, nil
}

// PollTask takes one task of a type off its queue, waiting up to opts.Timeout for one to be
// ready; it returns nil, nil when none came. The caller reports the result with
// [Client.UpdateTask] (and may extend the lease with [Client.ExtendLease]). Long-running
// workers are better served by [Worker], which streams tasks instead.
func (c *Client) PollTask(ctx context.Context, taskType string, opts PollOptions) (*Task, error) {
	resp, err := c.tasks.Poll(ctx, &batonv1.PollRequest{
		TaskType: taskType, Domain: opts.Domain, WorkerId: opts.WorkerID, TimeoutMs: int32(opts.Timeout / time.Millisecond),
	})
	if err != nil {
		return nil, err
	}
	if resp.GetTask() == nil || resp.GetTask().GetTaskId() == "" {
		return nil, nil
	}
	return newTask(resp.GetTask()), nil
}

// BatchPollTasks takes up to count tasks of a type off its queue, waiting up to
// opts.Timeout for at least one; it may return none.
func (c *Client) BatchPollTasks(ctx context.Context, taskType string, count int, opts PollOptions) ([]*Task, error) {
	resp, err := c.tasks.BatchPoll(ctx, &batonv1.BatchPollRequest{
		TaskType: taskType, Domain: opts.Domain, WorkerId: opts.WorkerID, Count: int32(count),
		TimeoutMs: int32(opts.Timeout / time.Millisecond),
	})
	if err != nil {
		return nil, err
	}
	return mapEach(resp.GetTasks(), newTask), nil
}

func logsOf(lines []string) []*batonv1.TaskLog {
	if len(lines) == 0 {
		return nil
	}
	now := timestampOf(time.Now())
	out := make([]*batonv1.TaskLog, 0, len(lines))
	for _, l := range lines {
		out = append(out, &batonv1.TaskLog{Message: l, Time: now})
	}
	return out
}

// UpdateTask reports the result of a task taken with [Client.PollTask] or
// [Client.BatchPollTasks]. It fails with FAILED_PRECONDITION when the lease was lost (the
// task timed out and was handed to someone else, say).
func (c *Client) UpdateTask(ctx context.Context, t *Task, u TaskUpdate) error {
	out, err := ToStruct(u.Output)
	if err != nil {
		return err
	}
	status := wireTaskStatus(u.Status)
	if status == batonv1.TaskStatus_TASK_STATUS_UNSPECIFIED {
		return fmt.Errorf("baton: unknown task status %q", u.Status)
	}
	_, err = c.tasks.UpdateTask(ctx, &batonv1.UpdateTaskRequest{Result: &batonv1.TaskResult{
		TaskId: t.ID, Token: t.Assignment().GetToken(), WorkflowId: t.WorkflowID, Status: status, Output: out,
		ReasonForIncompletion: u.ReasonForIncompletion, Logs: logsOf(u.Logs),
		CallbackAfterSeconds: int64(u.CallbackAfter / time.Second), WorkerId: u.WorkerID,
	}})
	return err
}

// ExtendLease extends the lease of a polled task still being worked on and returns the new
// deadline.
func (c *Client) ExtendLease(ctx context.Context, t *Task) (time.Time, error) {
	resp, err := c.tasks.ExtendLease(ctx, &batonv1.ExtendLeaseRequest{
		TaskId: t.ID, Token: t.Assignment().GetToken(), WorkflowId: t.WorkflowID,
	})
	if err != nil {
		return time.Time{}, err
	}
	return timeOf(resp.GetLeaseDeadline()), nil
}

// UpdateTaskByRef sets the result of the open task with the given reference name in an
// execution, without a lease: this is how WAIT and HUMAN tasks are completed or failed from
// outside. It returns the id of the task it updated.
func (c *Client) UpdateTaskByRef(ctx context.Context, workflowID, taskRefName string, u TaskUpdate) (string, error) {
	out, err := ToStruct(u.Output)
	if err != nil {
		return "", err
	}
	status := wireTaskStatus(u.Status)
	if status == batonv1.TaskStatus_TASK_STATUS_UNSPECIFIED {
		return "", fmt.Errorf("baton: unknown task status %q", u.Status)
	}
	resp, err := c.tasks.UpdateTaskByRef(ctx, &batonv1.UpdateTaskByRefRequest{
		WorkflowId: workflowID, TaskRefName: taskRefName, Status: status, Output: out,
		ReasonForIncompletion: u.ReasonForIncompletion, Logs: logsOf(u.Logs), WorkerId: u.WorkerID,
	})
	if err != nil {
		return "", err
	}
	return resp.GetTaskId(), nil
}

// AddTaskLogs appends log lines to a task.
func (c *Client) AddTaskLogs(ctx context.Context, taskID string, lines ...string) error {
	_, err := c.tasks.AddTaskLogs(ctx, &batonv1.AddTaskLogsRequest{TaskId: taskID, Logs: logsOf(lines)})
	return err
}

// ListQueues describes the task queues: those of one task type, or all when taskType is
// empty.
func (c *Client) ListQueues(ctx context.Context, taskType string) ([]QueueInfo, error) {
	resp, err := c.tasks.ListQueues(ctx, &batonv1.ListQueuesRequest{TaskType: taskType})
	if err != nil {
		return nil, err
	}
	return mapEach(resp.GetQueues(), queueInfoOf), nil
}

// SearchTasks searches task instances (SearchQuery.ByTasks does not apply).
func (c *Client) SearchTasks(ctx context.Context, q SearchQuery) (*TaskSearchResult, error) {
	resp, err := c.tasks.SearchTasks(ctx, &batonv1.SearchTasksRequest{
		Query: q.Query, FreeText: q.FreeText, Sort: q.Sort, Start: int32(q.Start), Size: sizeOf(q.Size),
	})
	if err != nil {
		return nil, err
	}
	out := &TaskSearchResult{TotalHits: resp.GetTotalHits()}
	for _, s := range resp.GetResults() {
		out.Results = append(out.Results, TaskSummary{
			TaskID: s.GetTaskId(), TaskType: s.GetTaskType(), TaskDefName: s.GetTaskDefName(), Status: taskStatusOf(s.GetStatus()),
			WorkflowID: s.GetWorkflowId(), WorkflowType: s.GetWorkflowType(), CorrelationID: s.GetCorrelationId(),
			Scheduled: timeOf(s.GetScheduledTime()), Started: timeOf(s.GetStartTime()),
			Updated: timeOf(s.GetUpdateTime()), Ended: timeOf(s.GetEndTime()),
			ReasonForIncompletion: s.GetReasonForIncompletion(),
			ExecutionTime:         time.Duration(s.GetExecutionTimeMs()) * time.Millisecond,
			QueueWaitTime:         time.Duration(s.GetQueueWaitTimeMs()) * time.Millisecond,
			Input:                 ToMap(s.GetInput()), Output: ToMap(s.GetOutput()),
			WorkflowPriority: int(s.GetWorkflowPriority()), Domain: s.GetDomain(),
		})
	}
	return out, nil
}

// ListWorkers describes the connected workers: those serving a task type, or all when
// taskType is empty.
func (c *Client) ListWorkers(ctx context.Context, taskType string) ([]WorkerInfo, error) {
	resp, err := c.tasks.ListWorkers(ctx, &batonv1.ListWorkersRequest{TaskType: taskType})
	if err != nil {
		return nil, err
	}
	return mapEach(resp.GetWorkers(), workerInfoOf), nil
}

// AddEventHandler registers a new event handler (see [ToDefinition] for the accepted forms
// of def); ALREADY_EXISTS if one of that name exists.
func (c *Client) AddEventHandler(ctx context.Context, def any) (*EventHandler, error) {
	d, err := ToDefinition(def)
	if err != nil {
		return nil, err
	}
	resp, err := c.meta.AddEventHandler(ctx, &batonv1.AddEventHandlerRequest{Handler: d})
	if err != nil {
		return nil, err
	}
	return eventHandlerOf(resp.GetHandler()), nil
}

// UpdateEventHandler replaces an existing event handler.
func (c *Client) UpdateEventHandler(ctx context.Context, def any) (*EventHandler, error) {
	d, err := ToDefinition(def)
	if err != nil {
		return nil, err
	}
	resp, err := c.meta.UpdateEventHandler(ctx, &batonv1.UpdateEventHandlerRequest{Handler: d})
	if err != nil {
		return nil, err
	}
	return eventHandlerOf(resp.GetHandler()), nil
}

// DeleteEventHandler deletes an event handler.
func (c *Client) DeleteEventHandler(ctx context.Context, name string) error {
	_, err := c.meta.DeleteEventHandler(ctx, &batonv1.DeleteEventHandlerRequest{Name: name})
	return err
}

// GetEventHandler reads one event handler.
func (c *Client) GetEventHandler(ctx context.Context, name string) (*EventHandler, error) {
	resp, err := c.meta.GetEventHandler(ctx, &batonv1.GetEventHandlerRequest{Name: name})
	if err != nil {
		return nil, err
	}
	return eventHandlerOf(resp.GetHandler()), nil
}

// ListEventHandlers lists event handlers: those listening to event (all when empty), only
// the active ones when activeOnly is true.
func (c *Client) ListEventHandlers(ctx context.Context, event string, activeOnly bool) ([]*EventHandler, error) {
	resp, err := c.meta.ListEventHandlers(ctx, &batonv1.ListEventHandlersRequest{Event: event, ActiveOnly: activeOnly})
	if err != nil {
		return nil, err
	}
	return mapEach(resp.GetHandlers(), eventHandlerOf), nil
}

// GetOverview reads the server's monitoring summary, with up to recentFailures recently
// failed executions.
func (c *Client) GetOverview(ctx context.Context, recentFailures int) (*Overview, error) {
	resp, err := c.mon.GetOverview(ctx, &batonv1.GetOverviewRequest{RecentFailures: int32(recentFailures)})
	if err != nil {
		return nil, err
	}
	out := &Overview{
		ServerTime: timeOf(resp.GetServerTime()), Started: timeOf(resp.GetStartTime()),
		WorkflowsStarted: resp.GetWorkflowsStarted(),
		WorkflowsEnded:   map[string]int64{}, TasksEnded: map[string]int64{},
		RecentFailuresAvailable: resp.GetRecentFailuresAvailable(),
	}
	for _, s := range resp.GetWorkflowsEnded() {
		out.WorkflowsEnded[s.GetStatus()] = s.GetCount()
	}
	for _, s := range resp.GetTasksEnded() {
		out.TasksEnded[s.GetStatus()] = s.GetCount()
	}
	for _, l := range resp.GetLatencies() {
		out.Latencies = append(out.Latencies, TaskTypeLatency{
			TaskType: l.GetTaskType(), ScheduleToStart: latencyOf(l.GetScheduleToStart()), StartToEnd: latencyOf(l.GetStartToEnd()),
		})
	}
	for _, q := range resp.GetQueues() {
		out.Queues = append(out.Queues, queueInfoOf(q))
	}
	for _, w := range resp.GetWorkers() {
		out.Workers = append(out.Workers, workerInfoOf(w))
	}
	for _, f := range resp.GetRecentFailures() {
		out.RecentFailures = append(out.RecentFailures, RecentFailure{
			WorkflowID: f.GetWorkflowId(), WorkflowType: f.GetWorkflowType(), Version: int(f.GetVersion()),
			Status: workflowStatusOf(f.GetStatus()), Ended: timeOf(f.GetEndTime()), Reason: f.GetReason(),
		})
	}
	return out, nil
}

// GetMetricsHistory reads the server's key figures of the last minutes (at most 60; 0 for
// the whole hour it keeps): one sample per ten seconds, oldest first, with what happened in
// each interval and the queues at its end. The first sample comes ten seconds after the
// server started. A negative count, or one over 60, gives INVALID_ARGUMENT.
func (c *Client) GetMetricsHistory(ctx context.Context, minutes int) (*MetricsHistory, error) {
	// Out-of-range counts stay out of range on the wire, for the server to refuse.
	m := int32(max(min(minutes, math.MaxInt32), math.MinInt32))
	resp, err := c.mon.GetMetricsHistory(ctx, &batonv1.GetMetricsHistoryRequest{Minutes: m})
	if err != nil {
		return nil, err
	}
	return &MetricsHistory{
		ServerTime:  timeOf(resp.GetServerTime()),
		SampleEvery: time.Duration(resp.GetSampleEveryMs()) * time.Millisecond,
		Samples:     mapEach(resp.GetSamples(), metricsSampleOf),
	}, nil
}
