//! The decider: a pure function from (execution, event) to (changed execution, effects).
//!
//! The runtime owns I/O. It feeds events in, writes the changed records in one storage batch,
//! makes them durable, and only then releases the effects (queue pushes, timers, replies).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::{Object, TaskDef, WorkflowDef};
use crate::state::{Execution, TaskLog, TaskStatus, WorkflowStatus};

/// What the decider may ask of the world: time, ids, randomness and task definitions.
/// Implementations must not block.
pub trait Env {
    /// Current time in epoch milliseconds.
    fn now_ms(&self) -> i64;
    /// A fresh unique id for a task instance.
    fn new_id(&mut self) -> String;
    /// A random number (for retry jitter).
    fn random(&mut self) -> u64;
    /// The registered task definition with this name, if any.
    fn task_def(&self, name: &str) -> Option<Arc<TaskDef>>;
}

/// A ready queue: worker tasks of one type in one domain (None = the default queue).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct QueueKey {
    /// Task definition name.
    pub task_type: String,
    /// Domain; None for the default queue.
    pub domain: Option<String>,
}

/// How to start an execution.
#[derive(Debug, Clone, Default)]
pub struct StartParams {
    /// Id the new execution gets.
    pub workflow_id: String,
    /// Start input.
    pub input: Object,
    /// Correlation id.
    pub correlation_id: Option<String>,
    /// Priority 0-99.
    pub priority: i32,
    /// Task name (or "*") to domain.
    pub task_to_domain: BTreeMap<String, String>,
    /// Idempotency key.
    pub idempotency_key: Option<String>,
    /// Parent execution, for sub-workflows.
    pub parent_workflow_id: Option<String>,
    /// Parent's task, for sub-workflows.
    pub parent_workflow_task_id: Option<String>,
}

/// A result reported by a worker (or an operator completing a task by hand).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskResult {
    /// Task instance id.
    pub task_id: String,
    /// Attempt token quoted by the worker; None skips fencing (unary clients without one).
    pub token: Option<String>,
    /// COMPLETED, FAILED, FAILED_WITH_TERMINAL_ERROR or IN_PROGRESS.
    pub status: TaskStatus,
    /// Output (merged into the earlier output for IN_PROGRESS).
    pub output: Object,
    /// Failure reason.
    pub reason_for_incompletion: Option<String>,
    /// Log lines to append.
    pub logs: Vec<TaskLog>,
    /// With IN_PROGRESS: hide the task this long, then hand it out again.
    pub callback_after_seconds: i64,
    /// Reporting worker.
    pub worker_id: Option<String>,
}

/// Something that happened to an execution.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The dispatcher handed a SCHEDULED task to a worker.
    Dispatched {
        /// Task instance id.
        task_id: String,
        /// The attempt token given with it.
        token: String,
        /// The worker that took it.
        worker_id: String,
        /// When the lease runs out (epoch ms).
        lease_deadline: i64,
    },
    /// A worker reported a result.
    Result(TaskResult),
    /// A worker asked for more time.
    ExtendLease {
        /// Task instance id.
        task_id: String,
        /// Attempt token.
        token: String,
    },
    /// A worker holding the task went away; the task goes back to its queue at once.
    Returned {
        /// Task instance id.
        task_id: String,
        /// Attempt token the worker held.
        token: String,
    },
    /// A timer came due.
    Timer(TimerKind),
    /// Operator: pause.
    Pause,
    /// Operator: resume.
    Resume,
    /// Operator: terminate.
    Terminate {
        /// Why.
        reason: Option<String>,
    },
    /// Operator: run again from the start (a terminal execution only).
    Restart {
        /// A newer definition to run instead of the snapshot, if asked for.
        def: Option<Arc<WorkflowDef>>,
    },
    /// Operator: retry from the failed task (a terminal, unsuccessful execution only).
    Retry {
        /// Retry failed sub-workflows in place.
        resume_subworkflow_tasks: bool,
    },
}

/// What a timer is for. Timers are idempotent: one that is no longer relevant does nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TimerKind {
    /// A delayed task (start delay, retry delay, callback) becomes ready.
    TaskReady {
        /// Task instance id.
        task_id: String,
    },
    /// A lease runs out (responseTimeoutSeconds). Kept in memory only: rebuilt from the
    /// task's lease deadline on restart.
    LeaseExpired {
        /// Task instance id.
        task_id: String,
        /// The lease's token.
        token: String,
    },
    /// A task's timeoutSeconds (or totalTimeoutSeconds) runs out.
    TaskTimeout {
        /// Task instance id.
        task_id: String,
    },
    /// A task waited SCHEDULED longer than pollTimeoutSeconds.
    PollTimeout {
        /// Task instance id.
        task_id: String,
    },
    /// The workflow's timeoutSeconds runs out (for the run that began at `run_start`).
    WorkflowTimeout {
        /// Start time of the run this timer belongs to (epoch ms).
        run_start: i64,
    },
}

/// A timer: fire `kind` for `workflow_id` at `due_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Timer {
    /// When it fires (epoch ms).
    pub due_ms: i64,
    /// The execution it belongs to.
    pub workflow_id: String,
    /// What it does.
    pub kind: TimerKind,
}

impl Timer {
    /// Whether the timer is stored durably (lease timers are rebuilt from task state).
    pub fn is_durable(&self) -> bool {
        !matches!(self.kind, TimerKind::LeaseExpired { .. })
    }
}

/// Something the runtime must do once the decision is durable.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Put a SCHEDULED task into its ready queue.
    Enqueue {
        /// Task instance id.
        task_id: String,
        /// The queue.
        queue: QueueKey,
        /// Priority 0-99 (higher first).
        priority: i32,
    },
    /// Take a task out of its ready queue if it is there (it was cancelled or taken back).
    Dequeue {
        /// Task instance id.
        task_id: String,
        /// The queue.
        queue: QueueKey,
    },
    /// Arm a timer.
    ArmTimer(Timer),
    /// Disarm a timer that no longer matters.
    CancelTimer(Timer),
    /// The execution reached a terminal status.
    WorkflowClosed {
        /// The terminal status.
        status: WorkflowStatus,
    },
}

/// How an event was taken, for the caller's reply.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Reply {
    /// The event changed the execution.
    #[default]
    Done,
    /// The event repeated one already taken (a re-sent result); nothing changed.
    Duplicate,
    /// A lease was extended to this deadline (epoch ms).
    LeaseExtended {
        /// New lease deadline.
        deadline: i64,
    },
}

/// The outcome of one decision.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Decision {
    /// Effects to release after the state is durable, in order.
    pub effects: Vec<Effect>,
    /// Whether the workflow record changed.
    pub workflow_changed: bool,
    /// Ids of task instances created or changed (each once).
    pub changed_tasks: Vec<String>,
    /// Ids of task instances removed from the execution (restart).
    pub removed_tasks: Vec<String>,
    /// The reply for the caller.
    pub reply: Reply,
}

/// Why an event was refused. A refused event leaves the execution unchanged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecideError {
    /// The task id is not part of this execution.
    #[error("task {task_id} is not part of workflow {workflow_id}")]
    UnknownTask {
        /// Task id.
        task_id: String,
        /// Workflow id.
        workflow_id: String,
    },
    /// The token does not match the task's current attempt.
    #[error("stale attempt for task {task_id}: {reason}")]
    StaleToken {
        /// Task id.
        task_id: String,
        /// Why the token is stale.
        reason: String,
    },
    /// The execution's status does not allow the operation.
    #[error("workflow {workflow_id} is {status}: cannot {action}")]
    WrongState {
        /// Workflow id.
        workflow_id: String,
        /// Its status, as Conductor writes it.
        status: String,
        /// The refused operation.
        action: String,
    },
    /// The result or command is malformed.
    #[error("{0}")]
    Invalid(String),
}

/// Starts an execution of `def`: builds the workflow, schedules its first task(s).
pub fn start(
    def: Arc<WorkflowDef>,
    params: StartParams,
    env: &mut dyn Env,
) -> Result<(Execution, Decision), DecideError> {
    let _ = (def, params, env);
    unimplemented!("decider::start")
}

/// Applies one event to an execution. On error the execution is left unchanged.
pub fn decide(
    exec: &mut Execution,
    event: Event,
    env: &mut dyn Env,
) -> Result<Decision, DecideError> {
    let _ = (exec, event, env);
    unimplemented!("decider::decide")
}

/// Effects that rebuild in-memory runtime state for a loaded execution after a restart:
/// Enqueue for SCHEDULED tasks that are ready, and LeaseExpired timers for IN_PROGRESS ones.
/// Durable timers are reloaded from the store and are not repeated here.
pub fn recover(exec: &Execution, now_ms: i64) -> Vec<Effect> {
    let _ = (exec, now_ms);
    unimplemented!("decider::recover")
}
