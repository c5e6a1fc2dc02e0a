//! The decider: a pure function from (execution, event) to (changed execution, effects).
//!
//! The runtime owns I/O. It feeds events in, writes the changed records in one storage batch,
//! makes them durable, and only then releases the effects (queue pushes, timers, replies).
//!
//! # Shape
//!
//! * [`start`] builds an execution and schedules its first task; [`decide`] applies one
//!   [`Event`]; [`recover`] rebuilds the runtime's in-memory state for a loaded execution.
//! * Scheduling is state-driven: after every change the decider looks at the tasks that
//!   changed and does what is due (schedule what follows a finished task, retry a failed
//!   one, end a JOIN, fail or complete the workflow). What follows a task is read from the
//!   definition's structure: the next task in its list; at the end of a fork branch,
//!   nothing (the JOIN takes over); at the end of a SWITCH case, whatever follows the
//!   SWITCH, outward as far as needed; at the end of the workflow's list, the end. Nothing
//!   is scheduled while the workflow is PAUSED; resuming does what became due meanwhile.
//! * Each task type has its own handler, chosen by type when a task is scheduled. Worker
//!   tasks (SIMPLE and every type that is not a Conductor system type) are queued for
//!   workers; so is a DYNAMIC task, under the name its input gives. These run inside the
//!   decider, never queued, and take no worker results:
//!   FORK_JOIN (completes at once; every branch's first task and the JOIN follow), JOIN
//!   (IN_PROGRESS until every `joinOn` reference is terminal; output maps reference to
//!   output; FAILED when one of them failed, COMPLETED_WITH_ERRORS when only optional ones
//!   did), SWITCH and DECISION (pick a case by an input value, or by a script's value;
//!   its tasks run, then what follows the operator), FORK_JOIN_DYNAMIC (branches, one task
//!   each, from its input; the JOIN after it waits for them), EXCLUSIVE_JOIN (ends with
//!   the output of the one `joinOn` or `defaultExclusiveJoinTask` reference that ran),
//!   DO_WHILE (its body once per iteration, instances suffixed `__N`, see `do_while`),
//!   WAIT and HUMAN (until a time or an update), SUB_WORKFLOW and START_WORKFLOW (a
//!   [`ChildStart`] the runtime carries out), NOOP, SET_VARIABLE (variables capped at
//!   [`MAX_VARIABLES_BYTES`] of JSON) and TERMINATE. INLINE, LAMBDA, JSON_JQ_TRANSFORM,
//!   HTTP and EVENT, script evaluators and loop conditions need the world outside the
//!   pure core: the task asks for a [`Job`] and waits for [`Event::JobDone`]. KAFKA_PUBLISH
//!   and JDBC are not supported: reaching one fails the workflow with "task type X is not
//!   supported yet".
//! * Failures inside fork branches: a task that fails with no retries left fails the
//!   workflow at once (cancelling the other branches), unless it is optional (it becomes
//!   COMPLETED_WITH_ERRORS and its branch goes on) or permissive (it stays failed, its
//!   branch and the others go on, and the JOIN on it, or else the end of the workflow,
//!   fails once everything ran). A JOIN waiting for references that can no longer run
//!   (in a case that was not taken) fails the workflow rather than waiting forever.
//! * A TERMINATE ends the workflow the moment it runs, with its `terminationStatus`,
//!   `terminationReason` (or a reason naming it) and `workflowOutput`, cancelling what is
//!   still running. Retrying a run a TERMINATE ended ends it again.
//! * Without `outputParameters` the workflow output is, as in Conductor, the output of the
//!   task scheduled last (for a SWITCH whose case ran, the last task of that case; for a
//!   loop, the last task of its last iteration; for a fork whose branches go on after their
//!   first task, the last of them scheduled rather than the JOIN, which is scheduled with
//!   the fork). A run that fails, times out or is terminated gets an output too, as in
//!   Conductor: a TERMINATE's, else the `outputParameters`, else the last task's output.
//! * The retry command reschedules every task whose latest instance FAILED, TIMED_OUT or
//!   was CANCELED (cancelled JOINs wait again), in scheduling order. After a permissive
//!   failure this re-runs the failed task together with tasks that ran after it and were
//!   cancelled, as Conductor does.
//!
//! # Choices worth knowing
//!
//! * A `${...}` expression that cannot be evaluated (malformed) fails the task with
//!   FAILED_WITH_TERMINAL_ERROR: its inputs would fail the same way on every retry. The
//!   workflow then fails unless the task is optional.
//! * A domain list (`"a,b,NO_DOMAIN"`) in `taskToDomain` is decided when the task is
//!   scheduled: the first named domain that [`Env::active_domain`] reports active, else the
//!   last entry. `NO_DOMAIN` means the default queue; it is never asked about, so it only
//!   counts as the last entry.
//! * A COMPLETED or FAILED result replaces the task's output; IN_PROGRESS results merge
//!   into it.
//! * `totalTimeoutSeconds` is a budget from the first attempt's scheduling: once spent the
//!   current attempt (queued or running) is TIMED_OUT whatever the `timeoutPolicy`, and no
//!   retry is made. A retry asked for by an operator starts a new budget. The task keeps one
//!   `TaskTimeout` timer, at the earlier of the budget and the attempt's `timeoutSeconds`.
//! * `startDelay` applies to the first attempt only; retries wait their retry delay.
//! * Timers are checked against the task's recorded due times (`ready_due`, `timeout_due`,
//!   `poll_timeout_due`, the lease deadline), so a stale or repeated timer does nothing.
//!   The runtime must deliver a timer at or after its `due_ms` (by the same clock as
//!   [`Env::now_ms`]); one delivered early does nothing either.
//! * `Returned` for an unknown task, or with a token that no longer holds the lease, does
//!   nothing (Ok, no change).
//! * A task keeps its last [`MAX_PAST_TOKENS`] tokens for fencing late results.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::{Object, TaskDef, WorkflowDef};
use crate::state::{Execution, TaskLog, TaskStatus, WorkflowInstance, WorkflowStatus};

/// What the decider may ask of the world: time, ids, randomness and task definitions.
/// Implementations must not block.
pub trait Env {
    /// Current time in epoch milliseconds.
    fn now_ms(&self) -> i64;
    /// A fresh unique id for the task instance at sequence number `seq` of `workflow_id`
    /// (see [`crate::ids::task_id`] for ids a store can find without an index).
    fn new_task_id(&mut self, workflow_id: &str, seq: i32) -> String;
    /// A random number (for retry jitter).
    fn random(&mut self) -> u64;
    /// The registered task definition with this name, if any.
    fn task_def(&self, name: &str) -> Option<Arc<TaskDef>>;
    /// Of `domains` (the named domains of a `taskToDomain` fallback list for `task_type`,
    /// in list order), the index of the first one whose queue had a worker polling or
    /// subscribed recently; None when none had. The default knows of no workers and takes
    /// the first domain.
    fn active_domain(&self, task_type: &str, domains: &[&str]) -> Option<usize> {
        let _ = task_type;
        (!domains.is_empty()).then_some(0)
    }
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
    /// Operator: run again from a task instance (a terminal or running execution): it and
    /// every task scheduled after it are removed and the task is scheduled anew.
    Rerun {
        /// The task instance to run again from.
        task_id: String,
        /// Input for the new instance (worker tasks only); None computes it.
        task_input: Option<Object>,
        /// New workflow input; None keeps the current one.
        workflow_input: Option<Object>,
    },
    /// Operator: skip a task of a running execution by reference name, now when it is
    /// scheduled or running, else when the flow reaches it.
    SkipTask {
        /// Reference name (the definition's, or one loop iteration's).
        reference: String,
        /// Input to record on the skipped task; None keeps or computes it.
        input: Option<Object>,
        /// Output of the skipped task.
        output: Object,
    },
    /// Operator: tasks hidden for a `callbackAfterSeconds` become ready now.
    ResetCallbacks,
    /// Operator: do whatever is due now (harmless when nothing is).
    Decide,
    /// Operator: a result for the latest instance of a reference name, without a token.
    /// The result's `task_id` is ignored.
    ResultByRef {
        /// Reference name of the task.
        reference: String,
        /// The result.
        result: TaskResult,
    },
    /// Log lines for a task, kept with it.
    AddLogs {
        /// Task instance id.
        task_id: String,
        /// The lines.
        logs: Vec<TaskLog>,
    },
    /// A child execution started by a SUB_WORKFLOW task ended (or could not start).
    ChildEnded {
        /// The SUB_WORKFLOW task instance.
        task_id: String,
        /// The child's workflow id.
        child_id: String,
        /// The child's terminal status (FAILED when it could not start).
        status: WorkflowStatus,
        /// The child's output.
        output: Object,
        /// Why the child did not complete.
        reason: Option<String>,
    },
    /// The child of a SUB_WORKFLOW task could not be started (its definition is unknown,
    /// its input too large, ...): the task FAILS with the reason and keeps no
    /// `subWorkflowId`.
    ChildNotStarted {
        /// The SUB_WORKFLOW task instance.
        task_id: String,
        /// The id the child would have had.
        child_id: String,
        /// Why it could not start.
        reason: String,
    },
    /// The child execution of a SUB_WORKFLOW task was brought back to RUNNING (retried,
    /// rerun or restarted): the task waits for it again, and a parent that ended because of
    /// it runs again too.
    ChildReopened {
        /// The SUB_WORKFLOW task instance.
        task_id: String,
        /// The child's workflow id.
        child_id: String,
    },
    /// The runtime finished a [`Job`] it was asked to run for a task.
    JobDone {
        /// Task instance id.
        task_id: String,
        /// How the job went.
        outcome: JobOutcome,
    },
}

/// Work a system task needs from outside the pure core (a script engine, jq, the network).
/// The runtime carries it out once the decision that asked for it is durable, and reports
/// back with [`Event::JobDone`]. A job is asked for again after a restart while its task
/// still waits for it (`job_pending`), so a job may run more than once.
#[derive(Debug, Clone, PartialEq)]
pub enum Job {
    /// Evaluate JavaScript with `$` bound to `bindings`. Output `{"result": value}`.
    Script {
        /// The script (an expression or statements; the value of the last one counts).
        script: String,
        /// What `$` holds.
        bindings: Object,
        /// The script is a function body (LAMBDA `scriptExpression`): it `return`s.
        body: bool,
    },
    /// A JSON_JQ_TRANSFORM over this task input (which holds `queryExpression`). Output
    /// `{"result": first, "resultList": [...]}`.
    Jq {
        /// The task input.
        input: Object,
    },
    /// An HTTP call described by this task input (`http_request`, `asyncComplete`).
    /// Output `{"response": {...}}`.
    Http {
        /// The task input.
        input: Object,
    },
    /// An EVENT task publishes `payload` as `event` (`provider:queue`): the built-in
    /// `conductor` provider hands it to the event handlers registered for that event.
    Publish {
        /// The event name.
        event: String,
        /// The message: the task input plus the workflow's identity.
        payload: Object,
    },
}

/// A workflow the runtime must start for an execution: a SUB_WORKFLOW's child, a
/// START_WORKFLOW's workflow, or the `failureWorkflow` of a run that failed.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildStart {
    /// The id the new execution gets. It is fixed by the decision (a task's id, or derived
    /// from the failed run), so asking again after a restart cannot start it twice.
    pub workflow_id: String,
    /// Definition name.
    pub name: String,
    /// Definition version; latest when None.
    pub version: Option<i32>,
    /// An inline definition to run instead of a registered one.
    pub definition: Option<Arc<WorkflowDef>>,
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
    /// FAIL, RETURN_EXISTING or FAIL_ON_RUNNING.
    pub idempotency_strategy: Option<String>,
    /// The parent execution and its SUB_WORKFLOW task, which the child reports its end
    /// to ([`Event::ChildEnded`]). None for a workflow that runs on its own.
    pub parent: Option<(String, String)>,
}

/// How a [`Job`] went.
#[derive(Debug, Clone, PartialEq)]
pub struct JobOutcome {
    /// COMPLETED, IN_PROGRESS (an HTTP call with `asyncComplete`: the task then waits for
    /// an update), FAILED or FAILED_WITH_TERMINAL_ERROR.
    pub status: TaskStatus,
    /// The job's output.
    pub output: Object,
    /// Why it failed.
    pub reason: Option<String>,
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
    /// Run a job for a task and report with [`Event::JobDone`].
    Run {
        /// Task instance id.
        task_id: String,
        /// The work.
        job: Job,
    },
    /// Start a workflow. With `task_id` (a START_WORKFLOW task), report the outcome with
    /// [`Event::JobDone`] (output `workflowId`); a SUB_WORKFLOW's child reports its end
    /// with [`Event::ChildEnded`] (also when it cannot start). Asking to start an execution
    /// that already exists reports on it instead.
    StartWorkflow {
        /// The task waiting for the start, if any.
        task_id: Option<String>,
        /// What to start.
        request: ChildStart,
    },
    /// Terminate another execution (the child of a cancelled SUB_WORKFLOW task), if it is
    /// still running.
    TerminateWorkflow {
        /// The execution.
        workflow_id: String,
        /// Why.
        reason: String,
    },
    /// This execution, the child of a SUB_WORKFLOW task, runs again after it had ended:
    /// tell its parent with [`Event::ChildReopened`].
    ReopenParent {
        /// The parent execution.
        workflow_id: String,
        /// Its SUB_WORKFLOW task instance.
        task_id: String,
    },
    /// Retry the ended child of a SUB_WORKFLOW task in place (`resumeSubworkflowTasks`);
    /// the task waits for it again. If the child cannot be retried, tell the task with
    /// [`Event::ChildEnded`] (FAILED, with the reason).
    RetryChild {
        /// The SUB_WORKFLOW task instance.
        task_id: String,
        /// The child's workflow id.
        child_id: String,
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
    /// The command was recorded and takes effect later (a skip of a task the flow has not
    /// reached yet).
    Deferred,
    /// A result by reference name was taken for this task instance.
    TaskUpdated {
        /// Task instance id.
        task_id: String,
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
    /// No task of the execution has this reference name, and the definition has none.
    #[error("task reference {reference} is not part of workflow {workflow_id}")]
    UnknownReference {
        /// The reference name.
        reference: String,
        /// Workflow id.
        workflow_id: String,
    },
    /// The task's status does not allow the operation.
    #[error("task {reference} ({task_id}) is {status}: cannot {action}")]
    TaskState {
        /// Its reference name.
        reference: String,
        /// Its instance id.
        task_id: String,
        /// Its status, as Conductor writes it.
        status: String,
        /// The refused operation.
        action: String,
    },
}

mod commands;
mod ctx;
mod do_while;
mod dynamic;
mod dynamic_fork;
mod exclusive_join;
mod flow;
mod fork;
mod instance;
mod iteration;
mod jobs;
mod lifecycle;
mod noop;
mod scope;
mod set_variable;
mod structure;
mod sub_workflow;
mod switch;
mod system;
mod taken;
mod terminate;
mod wait;
mod worker;

pub use flow::{SYSTEM_TASK_TYPES, is_system_task_type};
pub use iteration::{definition_reference, reference_matches};
pub use scope::ExecScope;
pub use set_variable::MAX_VARIABLES_BYTES;
pub use structure::{has_reference, workflow_task};
pub use worker::MAX_PAST_TOKENS;

use ctx::Ctx;

/// Starts an execution of `def`: builds the workflow, schedules its first task(s).
///
/// The start input gets `def.inputTemplate` merged in for absent or null keys; the
/// variables start as `def.variables`. A workflow timeout timer is armed when
/// `def.timeoutSeconds` > 0.
/// Refused (Invalid) when the definition has no tasks.
pub fn start(
    def: Arc<WorkflowDef>,
    params: StartParams,
    env: &mut dyn Env,
) -> Result<(Execution, Decision), DecideError> {
    if def.tasks.is_empty() {
        return Err(DecideError::Invalid(format!(
            "workflow definition {} has no tasks",
            def.name
        )));
    }
    let now = env.now_ms();
    let mut input = params.input;
    // As in Conductor, the template fills keys that are absent or null.
    for (k, v) in &def.input_template {
        if input.get(k).is_none_or(serde_json::Value::is_null) {
            input.insert(k.clone(), v.clone());
        }
    }
    let workflow = WorkflowInstance {
        workflow_id: params.workflow_id,
        workflow_name: def.name.clone(),
        workflow_version: def.version,
        status: WorkflowStatus::Running,
        input,
        output: Object::new(),
        correlation_id: params.correlation_id,
        priority: params.priority,
        reason_for_incompletion: None,
        variables: def.variables.clone(),
        task_to_domain: params.task_to_domain,
        create_time: now,
        start_time: now,
        end_time: None,
        update_time: now,
        parent_workflow_id: params.parent_workflow_id,
        parent_workflow_task_id: params.parent_workflow_task_id,
        idempotency_key: params.idempotency_key,
        failed_reference_task_name: None,
        next_seq: 1,
        skip_tasks: BTreeMap::new(),
    };
    let mut exec = Execution {
        workflow,
        tasks: Vec::new(),
        def,
    };
    let mut cx = Ctx::new(env, &exec.workflow.workflow_id);
    cx.d.workflow_changed = true;
    flow::advance(&mut exec, &mut cx);
    flow::arm_workflow_timeout(&exec, &mut cx);
    prune(&mut exec, &mut cx);
    Ok((exec, cx.d))
}

/// Applies one event to an execution. On error the execution is left unchanged.
pub fn decide(
    exec: &mut Execution,
    event: Event,
    env: &mut dyn Env,
) -> Result<Decision, DecideError> {
    let mut cx = Ctx::new(env, &exec.workflow.workflow_id);
    match event {
        Event::Dispatched {
            task_id,
            token,
            worker_id,
            lease_deadline,
        } => worker::dispatched(exec, &mut cx, &task_id, token, worker_id, lease_deadline)?,
        Event::Result(result) => take_result(exec, &mut cx, result)?,
        Event::JobDone { task_id, outcome } => jobs::done(exec, &mut cx, &task_id, outcome)?,
        Event::ChildEnded {
            task_id,
            child_id,
            status,
            output,
            reason,
        } => sub_workflow::child_ended(
            exec, &mut cx, &task_id, &child_id, status, output, reason, true,
        ),
        Event::ChildNotStarted {
            task_id,
            child_id,
            reason,
        } => sub_workflow::child_ended(
            exec,
            &mut cx,
            &task_id,
            &child_id,
            WorkflowStatus::Failed,
            Object::new(),
            Some(reason),
            false,
        ),
        Event::ChildReopened { task_id, child_id } => {
            commands::child_reopened(exec, &mut cx, &task_id, &child_id)
        }
        Event::ExtendLease { task_id, token } => {
            worker::extend_lease(exec, &mut cx, &task_id, &token)?
        }
        Event::Returned { task_id, token } => worker::returned(exec, &mut cx, &task_id, &token)?,
        Event::Timer(kind) => match kind {
            TimerKind::TaskReady { task_id } => worker::task_ready(exec, &mut cx, &task_id),
            TimerKind::LeaseExpired { task_id, token } => {
                worker::lease_expired(exec, &mut cx, &task_id, &token)
            }
            TimerKind::TaskTimeout { task_id } => worker::task_timeout(exec, &mut cx, &task_id),
            TimerKind::PollTimeout { task_id } => worker::poll_timeout(exec, &mut cx, &task_id),
            TimerKind::WorkflowTimeout { run_start } => {
                flow::workflow_timeout(exec, &mut cx, run_start)
            }
        },
        Event::Pause => commands::pause(exec, &mut cx)?,
        Event::Resume => commands::resume(exec, &mut cx)?,
        Event::Terminate { reason } => commands::terminate(exec, &mut cx, reason)?,
        Event::Restart { def } => commands::restart(exec, &mut cx, def)?,
        Event::Retry {
            resume_subworkflow_tasks,
        } => commands::retry(exec, &mut cx, resume_subworkflow_tasks)?,
        Event::Rerun {
            task_id,
            task_input,
            workflow_input,
        } => commands::rerun(exec, &mut cx, &task_id, task_input, workflow_input)?,
        Event::SkipTask {
            reference,
            input,
            output,
        } => commands::skip_task(exec, &mut cx, &reference, input, output)?,
        Event::ResetCallbacks => commands::reset_callbacks(exec, &mut cx)?,
        Event::Decide => commands::decide_now(exec, &mut cx),
        Event::ResultByRef { reference, result } => {
            commands::result_by_ref(exec, &mut cx, &reference, result)?
        }
        Event::AddLogs { task_id, logs } => commands::add_logs(exec, &mut cx, &task_id, logs)?,
    }
    prune(exec, &mut cx);
    Ok(cx.d)
}

/// A task result: from a worker for worker tasks, or an update for the tasks the engine
/// runs that take one (WAIT, HUMAN, HTTP with `asyncComplete`).
fn take_result(exec: &mut Execution, cx: &mut Ctx, result: TaskResult) -> Result<(), DecideError> {
    let engine_run = exec
        .task(&result.task_id)
        .is_some_and(|t| wait::takes_updates(&t.task_type));
    if engine_run {
        wait::update(exec, cx, result)
    } else {
        worker::result(exec, cx, result)
    }
}

/// Drops the task instances the decision marked for removal (old loop iterations).
fn prune(exec: &mut Execution, cx: &mut Ctx) {
    if cx.prune.is_empty() {
        return;
    }
    let gone = std::mem::take(&mut cx.prune);
    exec.tasks.retain(|t| !gone.contains(&t.task_id));
    cx.d.changed_tasks.retain(|id| !gone.contains(id));
    cx.d.removed_tasks.extend(gone);
}

/// Effects that rebuild in-memory runtime state for a loaded execution after a restart:
/// Enqueue for SCHEDULED tasks that are ready, and LeaseExpired timers for IN_PROGRESS ones.
/// Durable timers are reloaded from the store and are not repeated here.
///
/// A SCHEDULED task still waiting for its `TaskReady` timer (`ready_due` set) is left to
/// that durable timer, so that it is not queued twice. Terminal workflows need nothing.
pub fn recover(exec: &Execution, now_ms: i64) -> Vec<Effect> {
    let _ = now_ms;
    if exec.workflow.status.is_terminal() {
        return Vec::new();
    }
    let mut effects = Vec::new();
    for (idx, t) in exec.tasks.iter().enumerate() {
        if let Some(e) = sub_workflow::pending_start(exec, idx) {
            effects.push(e);
            continue;
        }
        if let Some(job) = jobs::pending_job(exec, idx) {
            effects.push(Effect::Run {
                task_id: t.task_id.clone(),
                job,
            });
            continue;
        }
        match t.status {
            TaskStatus::Scheduled if t.ready_due.is_none() => effects.push(Effect::Enqueue {
                task_id: t.task_id.clone(),
                queue: lifecycle::queue_of(t),
                priority: t.priority,
            }),
            TaskStatus::InProgress => {
                if let (Some(deadline), Some(token)) = (t.lease_deadline, &t.token) {
                    effects.push(Effect::ArmTimer(Timer {
                        due_ms: deadline,
                        workflow_id: exec.workflow.workflow_id.clone(),
                        kind: TimerKind::LeaseExpired {
                            task_id: t.task_id.clone(),
                            token: token.clone(),
                        },
                    }));
                }
            }
            _ => {}
        }
    }
    effects
}
