//! Execution state: one workflow instance and its task instances, as the decider sees and
//! changes them and as the store keeps them.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::{Object, WorkflowDef};

/// Status of a workflow execution (Conductor's status machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WorkflowStatus {
    /// Being decided; tasks are scheduled.
    Running,
    /// Nothing new is scheduled until resumed.
    Paused,
    /// Finished successfully.
    Completed,
    /// A task failed with no retries left.
    Failed,
    /// The workflow or a task ran out of time.
    TimedOut,
    /// Ended by an operator or a TERMINATE task.
    Terminated,
}

impl WorkflowStatus {
    /// Every status, in declaration order.
    pub const ALL: [WorkflowStatus; 6] = [
        Self::Running,
        Self::Paused,
        Self::Completed,
        Self::Failed,
        Self::TimedOut,
        Self::Terminated,
    ];

    /// True for COMPLETED, FAILED, TIMED_OUT and TERMINATED.
    pub fn is_terminal(self) -> bool {
        !matches!(self, Self::Running | Self::Paused)
    }

    /// True only for COMPLETED.
    pub fn is_successful(self) -> bool {
        matches!(self, Self::Completed)
    }

    /// The status name as Conductor writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "RUNNING",
            Self::Paused => "PAUSED",
            Self::Completed => "COMPLETED",
            Self::Failed => "FAILED",
            Self::TimedOut => "TIMED_OUT",
            Self::Terminated => "TERMINATED",
        }
    }

    /// Parses a status name as Conductor writes it.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Status of a task instance (Conductor's status machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskStatus {
    /// Waiting to be handed to a worker (or for its delay).
    Scheduled,
    /// Handed to a worker holding a lease.
    InProgress,
    /// Finished successfully.
    Completed,
    /// Failed, but optional: the workflow went on.
    CompletedWithErrors,
    /// Failed; retriable.
    Failed,
    /// Failed; never retried.
    FailedWithTerminalError,
    /// Ran out of time; retriable.
    TimedOut,
    /// Cancelled; never retried.
    Canceled,
    /// Skipped before it ran.
    Skipped,
}

impl TaskStatus {
    /// The statuses a worker or a task update may report: COMPLETED, FAILED,
    /// FAILED_WITH_TERMINAL_ERROR, or IN_PROGRESS (still working).
    pub const REPORTABLE: [TaskStatus; 4] = [
        Self::Completed,
        Self::Failed,
        Self::FailedWithTerminalError,
        Self::InProgress,
    ];

    /// Whether a worker or a task update may report this status.
    pub fn is_reportable(self) -> bool {
        Self::REPORTABLE.contains(&self)
    }

    /// Every status, in declaration order.
    pub const ALL: [TaskStatus; 9] = [
        Self::Scheduled,
        Self::InProgress,
        Self::Completed,
        Self::CompletedWithErrors,
        Self::Failed,
        Self::FailedWithTerminalError,
        Self::TimedOut,
        Self::Canceled,
        Self::Skipped,
    ];

    /// True when the instance will not change any more.
    pub fn is_terminal(self) -> bool {
        !matches!(self, Self::Scheduled | Self::InProgress)
    }

    /// True for statuses that count as success (the workflow goes on).
    pub fn is_successful(self) -> bool {
        !matches!(
            self,
            Self::Failed | Self::FailedWithTerminalError | Self::TimedOut | Self::Canceled
        )
    }

    /// True when a task ending in this status may be retried.
    pub fn is_retriable(self) -> bool {
        !matches!(
            self,
            Self::FailedWithTerminalError | Self::Canceled | Self::Skipped
        )
    }

    /// The status name as Conductor writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "SCHEDULED",
            Self::InProgress => "IN_PROGRESS",
            Self::Completed => "COMPLETED",
            Self::CompletedWithErrors => "COMPLETED_WITH_ERRORS",
            Self::Failed => "FAILED",
            Self::FailedWithTerminalError => "FAILED_WITH_TERMINAL_ERROR",
            Self::TimedOut => "TIMED_OUT",
            Self::Canceled => "CANCELED",
            Self::Skipped => "SKIPPED",
        }
    }

    /// Parses a status name as Conductor writes it.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// One log line a worker wrote for a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskLog {
    /// The text.
    pub log: String,
    /// When it was written (epoch ms).
    pub created_time: i64,
}

/// The workflow part of an execution (without its tasks).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowInstance {
    /// Unique id.
    pub workflow_id: String,
    /// Definition name.
    pub workflow_name: String,
    /// Definition version.
    pub workflow_version: i32,
    /// Current status.
    pub status: WorkflowStatus,
    /// Start input (inputTemplate merged in).
    #[serde(default)]
    pub input: Object,
    /// Output, set on completion.
    #[serde(default)]
    pub output: Object,
    /// Caller's correlation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// Priority 0-99.
    #[serde(default)]
    pub priority: i32,
    /// Why the workflow did not complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_for_incompletion: Option<String>,
    /// Workflow variables.
    #[serde(default)]
    pub variables: Object,
    /// Task name (or "*") to domain.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub task_to_domain: BTreeMap<String, String>,
    /// Creation time (epoch ms).
    pub create_time: i64,
    /// Time the current run began (epoch ms): start, restart or retry.
    pub start_time: i64,
    /// Time it reached a terminal status (epoch ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    /// Time of the last change (epoch ms).
    pub update_time: i64,
    /// Parent execution, for sub-workflows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_workflow_id: Option<String>,
    /// Parent's SUB_WORKFLOW task, for sub-workflows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_workflow_task_id: Option<String>,
    /// Idempotency key given at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// Reference name of the task whose failure ended the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_reference_task_name: Option<String>,
    /// Next task sequence number to hand out.
    #[serde(default)]
    pub next_seq: i32,
    /// Tasks an operator asked to skip before the flow reached them, by reference name
    /// (the definition's, or one iteration's such as `fetch__2`). Each is used once.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub skip_tasks: BTreeMap<String, PendingSkip>,
}

/// A task to skip once the flow reaches it: it becomes SKIPPED with this input and output.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingSkip {
    /// Input to record on the skipped task; None computes it from the definition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Object>,
    /// Output of the skipped task.
    #[serde(default)]
    pub output: Object,
}

/// One task instance. A retry is a new instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskInstance {
    /// Unique id.
    pub task_id: String,
    /// Task definition name (queue name for worker tasks).
    pub task_def_name: String,
    /// Task type: SIMPLE or an operator name.
    pub task_type: String,
    /// Reference name from the definition.
    pub reference_task_name: String,
    /// Current status.
    pub status: TaskStatus,
    /// Input computed at scheduling.
    #[serde(default)]
    pub input: Object,
    /// Output.
    #[serde(default)]
    pub output: Object,
    /// Position in the execution, from 1.
    pub seq: i32,
    /// Retries before this instance.
    #[serde(default)]
    pub retry_count: i32,
    /// Times handed to a worker.
    #[serde(default)]
    pub poll_count: i32,
    /// Owning execution.
    pub workflow_id: String,
    /// Owning execution's definition name.
    pub workflow_type: String,
    /// Worker holding or last holding the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_id: Option<String>,
    /// Why the task did not complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_for_incompletion: Option<String>,
    /// Seconds hidden after an IN_PROGRESS report.
    #[serde(default)]
    pub callback_after_seconds: i64,
    /// Domain of the queue the task sits in; None = default queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The instance this one retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retried_task_id: Option<String>,
    /// True once a retry instance of this one exists.
    #[serde(default)]
    pub retried: bool,
    /// Lease length in seconds.
    pub response_timeout_seconds: i64,
    /// When scheduled (epoch ms).
    pub scheduled_time: i64,
    /// When the first attempt of this ref was scheduled (epoch ms), for totalTimeoutSeconds.
    pub first_scheduled_time: i64,
    /// When the task becomes visible to workers (epoch ms): start delay, retry delay, callback.
    pub ready_time: i64,
    /// When first taken by a worker (epoch ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<i64>,
    /// When terminal (epoch ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    /// Last change (epoch ms).
    pub update_time: i64,
    /// Workflow correlation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// Queue priority from the workflow.
    #[serde(default)]
    pub priority: i32,
    /// Failure lets the workflow go on.
    #[serde(default)]
    pub optional: bool,
    /// DO_WHILE iteration, 0 outside loops.
    #[serde(default)]
    pub iteration: i32,
    /// Attempt token of the current (or last) lease; results must quote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Every token this instance was handed out with (the current one last).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub past_tokens: Vec<String>,
    /// When the current lease runs out (epoch ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_deadline: Option<i64>,
    /// Log lines from workers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<TaskLog>,
    /// Due time (epoch ms) of the armed `TaskReady` timer while the task waits hidden for
    /// a delay; None once it is ready (queued or handed out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_due: Option<i64>,
    /// Due time (epoch ms) of the armed `TaskTimeout` timer (the earlier of the attempt's
    /// `timeoutSeconds` and the `totalTimeoutSeconds` budget); None when none is armed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_due: Option<i64>,
    /// Due time (epoch ms) of the armed `PollTimeout` timer; None when none is armed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_timeout_due: Option<i64>,
    /// True while the runtime carries out a job for this task (a script, jq, an HTTP call,
    /// a loop condition): its outcome is awaited.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub job_pending: bool,
}

impl TaskInstance {
    /// The type this instance shows to clients, as Conductor reports it: a worker task
    /// declared SIMPLE (or picked by a DYNAMIC task) is named after its task definition;
    /// any other instance shows the type it is stored with (an operator name, or a
    /// user-defined type). The stored type stays "SIMPLE" for the decider.
    /// Forks (static and dynamic) show as `FORK`, as Conductor reports them.
    pub fn reported_type(&self) -> &str {
        match self.task_type.as_str() {
            "SIMPLE" => &self.task_def_name,
            "FORK_JOIN" | "FORK_JOIN_DYNAMIC" => "FORK",
            other => other,
        }
    }

    /// The task definition name this instance shows to clients, as Conductor reports it:
    /// the control-flow operators (forks, joins, switches) are named after their type, not
    /// after the `name` the definition gives them; every other instance shows its own.
    pub fn reported_def_name(&self) -> &str {
        match self.task_type.as_str() {
            "FORK_JOIN" | "FORK_JOIN_DYNAMIC" => "FORK",
            t @ ("JOIN" | "EXCLUSIVE_JOIN" | "SWITCH" | "DECISION") => t,
            _ => &self.task_def_name,
        }
    }
}

/// A whole execution: the workflow, its tasks in scheduling order, and the definition it
/// runs (a snapshot taken at start).
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    /// The workflow part.
    pub workflow: WorkflowInstance,
    /// Task instances, in scheduling order (by `seq`).
    pub tasks: Vec<TaskInstance>,
    /// The definition this execution runs.
    pub def: Arc<WorkflowDef>,
}

impl Execution {
    /// Index of the task with this id. Searches from the newest task, which is where the
    /// tasks being worked on usually are.
    pub fn task_index(&self, task_id: &str) -> Option<usize> {
        self.tasks.iter().rposition(|t| t.task_id == task_id)
    }

    /// The task with this id.
    pub fn task(&self, task_id: &str) -> Option<&TaskInstance> {
        self.task_index(task_id).map(|i| &self.tasks[i])
    }

    /// Index of the latest instance (highest `seq`) of a reference name.
    pub fn latest_index(&self, reference_task_name: &str) -> Option<usize> {
        self.tasks
            .iter()
            .rposition(|t| t.reference_task_name == reference_task_name)
    }

    /// The latest instance (highest `seq`) of a reference name.
    pub fn latest_task(&self, reference_task_name: &str) -> Option<&TaskInstance> {
        self.latest_index(reference_task_name)
            .map(|i| &self.tasks[i])
    }
}
