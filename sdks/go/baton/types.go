package baton

import (
	"strings"
	"time"

	batonv1 "github.com/baton-run/baton/sdks/go/gen/baton/v1"
)

// WorkflowStatus is the status of a workflow execution, as Conductor names it
// ("RUNNING", "COMPLETED", ...). The zero value means the server did not say.
type WorkflowStatus string

// Workflow statuses.
const (
	WorkflowRunning    WorkflowStatus = "RUNNING"
	WorkflowPaused     WorkflowStatus = "PAUSED"
	WorkflowCompleted  WorkflowStatus = "COMPLETED"
	WorkflowFailed     WorkflowStatus = "FAILED"
	WorkflowTimedOut   WorkflowStatus = "TIMED_OUT"
	WorkflowTerminated WorkflowStatus = "TERMINATED"
)

// Terminal reports whether the status is terminal (COMPLETED, FAILED, TIMED_OUT or
// TERMINATED).
func (s WorkflowStatus) Terminal() bool {
	switch s {
	case WorkflowCompleted, WorkflowFailed, WorkflowTimedOut, WorkflowTerminated:
		return true
	}
	return false
}

func workflowStatusOf(s batonv1.WorkflowStatus) WorkflowStatus {
	if s == batonv1.WorkflowStatus_WORKFLOW_STATUS_UNSPECIFIED {
		return ""
	}
	return WorkflowStatus(strings.TrimPrefix(s.String(), "WORKFLOW_STATUS_"))
}

// TaskStatus is the status of a task instance, as Conductor names it ("SCHEDULED",
// "IN_PROGRESS", "COMPLETED", ...). The zero value means the server did not say.
type TaskStatus string

// Task statuses.
const (
	TaskScheduled               TaskStatus = "SCHEDULED"
	TaskInProgress              TaskStatus = "IN_PROGRESS"
	TaskCompleted               TaskStatus = "COMPLETED"
	TaskCompletedWithErrors     TaskStatus = "COMPLETED_WITH_ERRORS"
	TaskFailed                  TaskStatus = "FAILED"
	TaskFailedWithTerminalError TaskStatus = "FAILED_WITH_TERMINAL_ERROR"
	TaskTimedOut                TaskStatus = "TIMED_OUT"
	TaskCanceled                TaskStatus = "CANCELED"
	TaskSkipped                 TaskStatus = "SKIPPED"
)

// Terminal reports whether the task status is terminal (anything but SCHEDULED and
// IN_PROGRESS).
func (s TaskStatus) Terminal() bool {
	return s != "" && s != TaskScheduled && s != TaskInProgress
}

func taskStatusOf(s batonv1.TaskStatus) TaskStatus {
	if s == batonv1.TaskStatus_TASK_STATUS_UNSPECIFIED {
		return ""
	}
	return TaskStatus(strings.TrimPrefix(s.String(), "TASK_STATUS_"))
}

// wireTaskStatus converts a TaskStatus into its wire form; an unknown status gives
// UNSPECIFIED, which the server refuses.
func wireTaskStatus(s TaskStatus) batonv1.TaskStatus {
	return batonv1.TaskStatus(batonv1.TaskStatus_value["TASK_STATUS_"+string(s)])
}

// Workflow is one workflow execution as the server reports it.
type Workflow struct {
	// ID is the execution's id.
	ID string
	// Name and Version identify the workflow definition it runs.
	Name    string
	Version int
	// Status is the execution's status.
	Status WorkflowStatus
	// Input, Output and Variables are JSON objects as plain Go values.
	Input     map[string]any
	Output    map[string]any
	Variables map[string]any
	// CorrelationID, Priority and IdempotencyKey are those given at start.
	CorrelationID  string
	Priority       int
	IdempotencyKey string
	// ReasonForIncompletion says why a failed or terminated execution stopped.
	ReasonForIncompletion string
	// FailedReferenceTaskName is the reference name of the task that failed it, if any.
	FailedReferenceTaskName string
	// TaskToDomain maps task names to the domains their tasks are queued under.
	TaskToDomain map[string]string
	// Tasks are the execution's task instances, when asked for.
	Tasks []*TaskInstance
	// ParentWorkflowID and ParentWorkflowTaskID are set for a sub-workflow.
	ParentWorkflowID     string
	ParentWorkflowTaskID string
	// Created, Started, Ended and Updated are the zero time when unset.
	Created time.Time
	Started time.Time
	Ended   time.Time
	Updated time.Time
}

func workflowOf(w *batonv1.Workflow) *Workflow {
	if w == nil {
		return nil
	}
	out := &Workflow{
		ID: w.GetWorkflowId(), Name: w.GetWorkflowName(), Version: int(w.GetWorkflowVersion()),
		Status: workflowStatusOf(w.GetStatus()),
		Input:  ToMap(w.GetInput()), Output: ToMap(w.GetOutput()), Variables: ToMap(w.GetVariables()),
		CorrelationID: w.GetCorrelationId(), Priority: int(w.GetPriority()), IdempotencyKey: w.GetIdempotencyKey(),
		ReasonForIncompletion:   w.GetReasonForIncompletion(),
		FailedReferenceTaskName: w.GetFailedReferenceTaskName(),
		TaskToDomain:            w.GetTaskToDomain(),
		ParentWorkflowID:        w.GetParentWorkflowId(), ParentWorkflowTaskID: w.GetParentWorkflowTaskId(),
		Created: timeOf(w.GetCreateTime()), Started: timeOf(w.GetStartTime()),
		Ended: timeOf(w.GetEndTime()), Updated: timeOf(w.GetUpdateTime()),
	}
	for _, t := range w.GetTasks() {
		out.Tasks = append(out.Tasks, taskInstanceOf(t))
	}
	return out
}

// Task returns the last task instance with the given reference name, or nil.
func (w *Workflow) Task(referenceName string) *TaskInstance {
	for i := len(w.Tasks) - 1; i >= 0; i-- {
		if w.Tasks[i].ReferenceName == referenceName {
			return w.Tasks[i]
		}
	}
	return nil
}

// TaskInstance is one task of a workflow execution as the server reports it. Its fields
// that a worker's [Task] also has carry the same names.
type TaskInstance struct {
	// ID is the task instance's id.
	ID string
	// TaskType is the task definition name for worker tasks (as in [Task]); Type is the
	// task's kind in the definition ("SIMPLE", "WAIT", "HUMAN", ...), which Conductor
	// reports as the definition name for worker tasks.
	TaskType string
	Type     string
	// ReferenceName is the task's reference name in the workflow definition.
	ReferenceName string
	// Status is the task's status.
	Status TaskStatus
	// Input and Output are JSON objects as plain Go values.
	Input  map[string]any
	Output map[string]any
	// Seq is the task's sequence number within its execution.
	Seq int
	// RetryCount, PollCount and Iteration are as in [Task].
	RetryCount int
	PollCount  int
	Iteration  int
	// WorkflowID, WorkflowType and CorrelationID describe the execution.
	WorkflowID    string
	WorkflowType  string
	CorrelationID string
	// WorkerID is the worker that last held the task.
	WorkerID string
	// ReasonForIncompletion says why the task failed, if it did.
	ReasonForIncompletion string
	// CallbackAfter is the delay a worker asked for before the task is handed out again.
	CallbackAfter time.Duration
	// Domain is the domain the task was queued under.
	Domain string
	// RetriedTaskID is the id of the instance this one retries, if any.
	RetriedTaskID string
	// ResponseTimeout is the lease length.
	ResponseTimeout time.Duration
	// Priority is the execution's priority; Optional is set for optional tasks.
	Priority int
	Optional bool
	// Scheduled, Started, Ended and Updated are the zero time when unset.
	Scheduled time.Time
	Started   time.Time
	Ended     time.Time
	Updated   time.Time
}

func taskInstanceOf(t *batonv1.Task) *TaskInstance {
	if t == nil {
		return nil
	}
	return &TaskInstance{
		ID: t.GetTaskId(), TaskType: t.GetTaskDefName(), Type: t.GetTaskType(), ReferenceName: t.GetReferenceTaskName(),
		Status: taskStatusOf(t.GetStatus()), Input: ToMap(t.GetInput()), Output: ToMap(t.GetOutput()),
		Seq: int(t.GetSeq()), RetryCount: int(t.GetRetryCount()), PollCount: int(t.GetPollCount()), Iteration: int(t.GetIteration()),
		WorkflowID: t.GetWorkflowId(), WorkflowType: t.GetWorkflowType(), CorrelationID: t.GetCorrelationId(),
		WorkerID: t.GetWorkerId(), ReasonForIncompletion: t.GetReasonForIncompletion(),
		CallbackAfter: time.Duration(t.GetCallbackAfterSeconds()) * time.Second,
		Domain:        t.GetDomain(), RetriedTaskID: t.GetRetriedTaskId(),
		ResponseTimeout: time.Duration(t.GetResponseTimeoutSeconds()) * time.Second,
		Priority:        int(t.GetPriority()), Optional: t.GetOptional(),
		Scheduled: timeOf(t.GetScheduledTime()), Started: timeOf(t.GetStartTime()),
		Ended: timeOf(t.GetEndTime()), Updated: timeOf(t.GetUpdateTime()),
	}
}

// Execution is what [Client.ExecuteWorkflowUntil] and [Client.WaitWorkflow] return: the execution as it stood when
// the call returned, whether it had finished and whether the awaited task had.
type Execution struct {
	Workflow        *Workflow
	Finished        bool
	TaskRefFinished bool
}

// TaskPage is one page of an execution's tasks (see [Client.ListWorkflowTasks]).
type TaskPage struct {
	// Tasks are the tasks of the page, in sequence order.
	Tasks []*TaskInstance
	// Total is how many tasks match in all.
	Total int
	// NextOffset is the offset of the next page, 0 when this is the last.
	NextOffset int
}

// TaskListQuery selects tasks for [Client.ListWorkflowTasks]. The zero value lists the
// first page of every task.
type TaskListQuery struct {
	// Statuses keeps only tasks in one of these statuses (none keeps all).
	Statuses []TaskStatus
	// Offset skips that many matching tasks; Limit caps the page (0 for the server's
	// default, 100; at most 1000).
	Offset int
	Limit  int
}

// RerunOptions say where [Client.RerunWorkflow] starts again and with which inputs.
type RerunOptions struct {
	// TaskID is the id of the task instance to run again from.
	TaskID string
	// TaskInput replaces that task's input (worker tasks only; nil computes it from the
	// definition as usual); WorkflowInput replaces the execution's input (nil keeps it). Both
	// follow the rules of [ToStruct].
	TaskInput     any
	WorkflowInput any
}

// BulkOperation names an operation [Client.RunBulkOperation] applies to many executions.
type BulkOperation string

// Bulk operations.
const (
	BulkPause     BulkOperation = "PAUSE"
	BulkResume    BulkOperation = "RESUME"
	BulkRestart   BulkOperation = "RESTART"
	BulkRetry     BulkOperation = "RETRY"
	BulkTerminate BulkOperation = "TERMINATE"
	BulkRemove    BulkOperation = "REMOVE"
)

// BulkResult is the outcome of a bulk operation on one execution. A failure carries the
// gRPC code name (such as "NOT_FOUND") and a message.
type BulkResult struct {
	WorkflowID string
	OK         bool
	Code       string
	Message    string
}

// SearchQuery is a search of executions or tasks, in Conductor's search syntax.
type SearchQuery struct {
	// Query is the structured filter (e.g. `status = "FAILED" AND workflowType = "x"`).
	Query string
	// FreeText is matched against the indexed text; empty or "*" matches everything.
	FreeText string
	// Sort lists sort keys such as "startTime:DESC".
	Sort []string
	// Start is the offset of the first hit returned.
	Start int
	// Size caps the hits returned; nil uses the server's default.
	Size *int
	// ByTasks, for workflow searches, matches executions by their tasks.
	ByTasks bool
}

// WorkflowSummary is one execution as a search returns it.
type WorkflowSummary struct {
	WorkflowID               string
	WorkflowType             string
	Version                  int
	CorrelationID            string
	Status                   WorkflowStatus
	Started                  time.Time
	Updated                  time.Time
	Ended                    time.Time
	Input                    map[string]any
	Output                   map[string]any
	ReasonForIncompletion    string
	ExecutionTime            time.Duration
	Event                    string
	FailedReferenceTaskNames []string
	FailedTaskNames          []string
	Priority                 int
	IdempotencyKey           string
	TaskToDomain             map[string]string
	InputSize                int64
	OutputSize               int64
}

// WorkflowSearchResult is a page of workflow search hits and the total hit count.
type WorkflowSearchResult struct {
	TotalHits int64
	Results   []WorkflowSummary
}

// TaskSummary is one task as a search returns it.
type TaskSummary struct {
	TaskID                string
	TaskType              string
	TaskDefName           string
	Status                TaskStatus
	WorkflowID            string
	WorkflowType          string
	CorrelationID         string
	Scheduled             time.Time
	Started               time.Time
	Updated               time.Time
	Ended                 time.Time
	ReasonForIncompletion string
	ExecutionTime         time.Duration
	QueueWaitTime         time.Duration
	Input                 map[string]any
	Output                map[string]any
	WorkflowPriority      int
	Domain                string
}

// TaskSearchResult is a page of task search hits and the total hit count.
type TaskSearchResult struct {
	TotalHits int64
	Results   []TaskSummary
}

// ImportResult counts the executions [Client.ImportWorkflows] stored and those it found
// already present.
type ImportResult struct {
	Imported       uint64
	AlreadyPresent uint64
}

// Retention is the server's retention policy for finished executions and what it has done
// so far.
type Retention struct {
	// MaxAge is how long finished executions are kept (0: no age limit); KeepLast keeps the
	// newest that many per workflow name (0: no count limit).
	MaxAge   time.Duration
	KeepLast uint64
	// MaxRemovalsPerSec paces removals; ArchiveDir is where removed executions are archived
	// (empty when they are not).
	MaxRemovalsPerSec uint32
	ArchiveDir        string
	// Passes, Removed, Archived, Changed, HeldByParent and Failures count the retention
	// passes run and their effects since the server started.
	Passes       uint64
	Removed      uint64
	Archived     uint64
	Changed      uint64
	HeldByParent uint64
	Failures     uint64
	// Overrides are per-workflow-name policies.
	Overrides []RetentionOverride
}

// RetentionOverride is the retention policy of one workflow name.
type RetentionOverride struct {
	WorkflowName string
	MaxAge       time.Duration
	KeepLast     uint64
}

// PollOptions are the optional parts of a poll ([Client.PollTask], [Client.BatchPollTasks]).
type PollOptions struct {
	// Domain polls the queue of that domain instead of the default one.
	Domain string
	// WorkerID identifies the polling worker.
	WorkerID string
	// Timeout is how long the server waits for a task when none is ready (0: do not wait).
	Timeout time.Duration
}

// TaskUpdate is a task result a client reports ([Client.UpdateTask],
// [Client.UpdateTaskByRef]).
type TaskUpdate struct {
	// Status is the new status: COMPLETED, FAILED, FAILED_WITH_TERMINAL_ERROR or
	// IN_PROGRESS.
	Status TaskStatus
	// Output follows the rules of [ToStruct] (nil for none).
	Output any
	// ReasonForIncompletion says why the task failed.
	ReasonForIncompletion string
	// Logs are log lines kept with the task.
	Logs []string
	// CallbackAfter, with IN_PROGRESS, is when the task is handed out again.
	CallbackAfter time.Duration
	// WorkerID identifies the reporting worker.
	WorkerID string
}

// QueueInfo describes one task queue.
type QueueInfo struct {
	TaskType    string
	Domain      string
	Depth       int64
	Subscribers int64
}

// WorkerKind says how a worker gets its tasks.
type WorkerKind string

// Worker kinds.
const (
	// WorkerStream is a worker on a Work stream, such as [Worker].
	WorkerStream WorkerKind = "STREAM"
	// WorkerPoll is a worker that polls.
	WorkerPoll WorkerKind = "POLL"
)

// WorkerInfo describes one worker the server knows of.
type WorkerInfo struct {
	Kind         WorkerKind
	WorkerID     string
	ConnectionID uint64
	TaskTypes    []string
	Domain       string
	Credits      int64
	InFlight     int64
	Connected    time.Time
	LastSeen     time.Time
	PollsWaiting int64
}

// EventHandler is an event handler as stored: its name, the event it listens to, whether it
// is active, and its whole definition as plain JSON values.
type EventHandler struct {
	Name       string
	Event      string
	Active     bool
	Definition map[string]any
}

// Overview is the server's monitoring summary ([Client.GetOverview]).
type Overview struct {
	ServerTime       time.Time
	Started          time.Time
	WorkflowsStarted int64
	// WorkflowsEnded and TasksEnded count executions and tasks by final status name.
	WorkflowsEnded map[string]int64
	TasksEnded     map[string]int64
	Latencies      []TaskTypeLatency
	Queues         []QueueInfo
	Workers        []WorkerInfo
	RecentFailures []RecentFailure
	// RecentFailuresAvailable is false when the server keeps no list of recent failures.
	RecentFailuresAvailable bool
}

// TaskTypeLatency gives the latencies of one task type: from scheduled to started and from
// started to ended.
type TaskTypeLatency struct {
	TaskType        string
	ScheduleToStart LatencyQuantiles
	StartToEnd      LatencyQuantiles
}

// LatencyQuantiles summarises a latency distribution.
type LatencyQuantiles struct {
	Count int64
	P50   time.Duration
	P99   time.Duration
	Max   time.Duration
}

// MetricsHistory is the server's recent key figures ([Client.GetMetricsHistory]): one
// sample per interval of SampleEvery (ten seconds), oldest first.
type MetricsHistory struct {
	// ServerTime is the server's clock when it answered.
	ServerTime time.Time
	// SampleEvery is the length of each sample's interval.
	SampleEvery time.Duration
	Samples     []MetricsSample
}

// MetricsSample is what happened during one interval, and the queues at its end.
type MetricsSample struct {
	// At is the end of the interval.
	At time.Time
	// Interval is the interval's length (the first runs from the server's start).
	Interval         time.Duration
	WorkflowsStarted int64
	// WorkflowsCompleted counts workflows that ended COMPLETED, WorkflowsFailed those that
	// ended FAILED or TIMED_OUT.
	WorkflowsCompleted  int64
	WorkflowsFailed     int64
	WorkflowsTerminated int64
	// TasksCompleted counts tasks that ended COMPLETED or COMPLETED_WITH_ERRORS, TasksFailed
	// those that ended FAILED, FAILED_WITH_TERMINAL_ERROR or TIMED_OUT.
	TasksCompleted int64
	TasksFailed    int64
	// QueueWait is worker tasks' wait from ready to handed out, over the interval; RunTime
	// tasks' time from started to ended.
	QueueWait LatencyQuantiles
	RunTime   LatencyQuantiles
	// QueueDepth is the number of tasks waiting in every ready queue at the end of the
	// interval, Workers the stream worker subscriptions then (one per worker and task type).
	QueueDepth int64
	Workers    int64
}

// RecentFailure is one recently failed execution.
type RecentFailure struct {
	WorkflowID   string
	WorkflowType string
	Version      int
	Status       WorkflowStatus
	Ended        time.Time
	Reason       string
}

func queueInfoOf(q *batonv1.QueueInfo) QueueInfo {
	return QueueInfo{TaskType: q.GetTaskType(), Domain: q.GetDomain(), Depth: q.GetDepth(), Subscribers: q.GetSubscribers()}
}

func workerInfoOf(w *batonv1.WorkerInfo) WorkerInfo {
	kind := WorkerKind(strings.TrimPrefix(w.GetKind().String(), "WORKER_KIND_"))
	if w.GetKind() == batonv1.WorkerKind_WORKER_KIND_UNSPECIFIED {
		kind = ""
	}
	return WorkerInfo{
		Kind: kind, WorkerID: w.GetWorkerId(), ConnectionID: w.GetConnectionId(), TaskTypes: w.GetTaskTypes(),
		Domain: w.GetDomain(), Credits: w.GetCredits(), InFlight: w.GetInFlight(),
		Connected: timeOf(w.GetConnectedTime()), LastSeen: timeOf(w.GetLastSeenTime()), PollsWaiting: w.GetPollsWaiting(),
	}
}

func latencyOf(l *batonv1.LatencyQuantiles) LatencyQuantiles {
	return LatencyQuantiles{
		Count: l.GetCount(), P50: time.Duration(l.GetP50Ms()) * time.Millisecond,
		P99: time.Duration(l.GetP99Ms()) * time.Millisecond, Max: time.Duration(l.GetMaxMs()) * time.Millisecond,
	}
}

func metricsSampleOf(m *batonv1.MetricsSample) MetricsSample {
	return MetricsSample{
		At: timeOf(m.GetAt()), Interval: time.Duration(m.GetIntervalMs()) * time.Millisecond,
		WorkflowsStarted: m.GetWorkflowsStarted(), WorkflowsCompleted: m.GetWorkflowsCompleted(),
		WorkflowsFailed: m.GetWorkflowsFailed(), WorkflowsTerminated: m.GetWorkflowsTerminated(),
		TasksCompleted: m.GetTasksCompleted(), TasksFailed: m.GetTasksFailed(),
		QueueWait: latencyOf(m.GetQueueWait()), RunTime: latencyOf(m.GetRunTime()),
		QueueDepth: m.GetQueueDepth(), Workers: m.GetWorkers(),
	}
}

func eventHandlerOf(h *batonv1.EventHandlerInfo) *EventHandler {
	if h == nil {
		return nil
	}
	return &EventHandler{Name: h.GetName(), Event: h.GetEvent(), Active: h.GetActive(), Definition: ToMap(h.GetDefinition())}
}

// WorkflowDef is a stored workflow definition: its name, version and description, when it
// was created and last updated, and the whole definition as plain JSON values.
type WorkflowDef struct {
	Name        string
	Version     int
	Description string
	Created     time.Time
	Updated     time.Time
	Definition  map[string]any
}

func workflowDefOf(d *batonv1.WorkflowDefInfo) *WorkflowDef {
	if d == nil {
		return nil
	}
	return &WorkflowDef{
		Name: d.GetName(), Version: int(d.GetVersion()), Description: d.GetDescription(),
		Created: timeOf(d.GetCreateTime()), Updated: timeOf(d.GetUpdateTime()), Definition: ToMap(d.GetDefinition()),
	}
}

// TaskDef is a stored task definition: its name, when it was created and last updated, and
// the whole definition as plain JSON values.
type TaskDef struct {
	Name       string
	Created    time.Time
	Updated    time.Time
	Definition map[string]any
}

func taskDefOf(d *batonv1.TaskDefInfo) *TaskDef {
	if d == nil {
		return nil
	}
	return &TaskDef{Name: d.GetName(), Created: timeOf(d.GetCreateTime()), Updated: timeOf(d.GetUpdateTime()), Definition: ToMap(d.GetDefinition())}
}

// ValidationError is one problem [Client.ValidateWorkflowDef] found: where in the
// definition (a JSON path) and what.
type ValidationError struct {
	Path    string
	Message string
}

// Error returns the problem as "path: message".
func (v ValidationError) Error() string { return v.Path + ": " + v.Message }

// TaskLog is one log line kept with a task.
type TaskLog struct {
	Message string
	Time    time.Time
}

// mapEach converts every element of xs with f, in order.
func mapEach[T, U any](xs []T, f func(T) U) []U {
	out := make([]U, 0, len(xs))
	for _, x := range xs {
		out = append(out, f(x))
	}
	return out
}
