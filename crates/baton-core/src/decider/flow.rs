//! What is due next: scheduling tasks in order, retrying failed ones, completing or failing
//! the workflow. Each task type is scheduled by its own handler (see [`schedule`]).

use std::sync::{Arc, OnceLock};

use super::ctx::{Ctx, secs};
use super::scope::ExecScope;
use super::{Effect, Env, TimerKind, worker};
use crate::expr;
use crate::model::{TaskDef, WorkflowDef, WorkflowTask, WorkflowTimeoutPolicy};
use crate::state::{Execution, TaskStatus, WorkflowStatus};

/// Conductor's system and operator task types. Every other type is a worker task.
pub const SYSTEM_TASK_TYPES: [&str; 22] = [
    "SWITCH",
    "DECISION",
    "FORK_JOIN",
    "FORK_JOIN_DYNAMIC",
    "JOIN",
    "EXCLUSIVE_JOIN",
    "DO_WHILE",
    "SUB_WORKFLOW",
    "START_WORKFLOW",
    "DYNAMIC",
    "WAIT",
    "HUMAN",
    "TERMINATE",
    "SET_VARIABLE",
    "INLINE",
    "LAMBDA",
    "JSON_JQ_TRANSFORM",
    "HTTP",
    "EVENT",
    "NOOP",
    "KAFKA_PUBLISH",
    "JDBC",
];

/// True for Conductor's system and operator types; false for worker task types (SIMPLE
/// and any user-defined type).
pub fn is_system_task_type(task_type: &str) -> bool {
    SYSTEM_TASK_TYPES.contains(&task_type)
}

/// The handler of a task type.
enum Handler {
    /// Queued for an external worker.
    Worker,
    /// A system or operator type without a handler yet.
    Unsupported,
}

fn handler(task_type: &str) -> Handler {
    if is_system_task_type(task_type) {
        Handler::Unsupported
    } else {
        Handler::Worker
    }
}

/// A task definition in effect for a task: inline, registered, or the defaults.
pub(super) enum DefRef<'a> {
    Borrowed(&'a TaskDef),
    Shared(Arc<TaskDef>),
}

impl std::ops::Deref for DefRef<'_> {
    type Target = TaskDef;
    fn deref(&self) -> &TaskDef {
        match self {
            DefRef::Borrowed(d) => d,
            DefRef::Shared(d) => d,
        }
    }
}

fn default_task_def() -> &'static TaskDef {
    static DEFAULT: OnceLock<TaskDef> = OnceLock::new();
    DEFAULT.get_or_init(|| TaskDef::named(""))
}

/// The task definition for a workflow task: its inline `taskDefinition`, else the one
/// registered under its name, else every default.
pub(super) fn task_def_for<'a>(
    wt: Option<&'a WorkflowTask>,
    name: &str,
    env: &dyn Env,
) -> DefRef<'a> {
    if let Some(d) = wt.and_then(|w| w.task_definition.as_ref()) {
        return DefRef::Borrowed(d);
    }
    match env.task_def(name) {
        Some(d) => DefRef::Shared(d),
        None => DefRef::Borrowed(default_task_def()),
    }
}

/// The workflow task with this reference name, anywhere in the definition.
pub(super) fn find_task<'d>(
    tasks: &'d [WorkflowTask],
    reference: &str,
) -> Option<&'d WorkflowTask> {
    for t in tasks {
        if t.task_reference_name == reference {
            return Some(t);
        }
        let nested = t
            .fork_tasks
            .iter()
            .map(Vec::as_slice)
            .chain(t.decision_cases.values().map(Vec::as_slice))
            .chain([t.default_case.as_slice(), t.loop_over.as_slice()]);
        for list in nested {
            if let Some(found) = find_task(list, reference) {
                return Some(found);
            }
        }
    }
    None
}

/// What follows a reference name in the top-level task list.
enum Next<'d> {
    Task(&'d WorkflowTask),
    End,
    NotFound,
}

fn next_after<'d>(def: &'d WorkflowDef, reference: &str) -> Next<'d> {
    match def
        .tasks
        .iter()
        .position(|t| t.task_reference_name == reference)
    {
        Some(i) => def.tasks.get(i + 1).map_or(Next::End, Next::Task),
        None => Next::NotFound,
    }
}

/// Does whatever is due: schedules the next task, retries a failed one, completes or fails
/// the workflow. Does nothing unless the workflow is RUNNING.
pub(super) fn advance(exec: &mut Execution, cx: &mut Ctx) {
    let def = Arc::clone(&exec.def);
    // Each pass either schedules a task or ends the run; the bound only guards against a
    // bug turning into a hang.
    for _ in 0..=(def.tasks.len() * 2 + 4) {
        if exec.workflow.status != WorkflowStatus::Running {
            return;
        }
        if exec.tasks.iter().any(|t| !t.status.is_terminal()) {
            return;
        }
        let Some(last) = exec.tasks.len().checked_sub(1) else {
            match def.tasks.first() {
                Some(wt) => schedule(exec, cx, wt),
                None => complete(exec, cx),
            }
            continue;
        };
        let t = &exec.tasks[last];
        if t.status.is_successful() {
            match next_after(&def, &t.reference_task_name) {
                Next::Task(wt) => schedule(exec, cx, wt),
                Next::End => complete(exec, cx),
                Next::NotFound => {
                    let reason = format!(
                        "task {} is not part of the workflow definition",
                        t.reference_task_name
                    );
                    close(exec, cx, WorkflowStatus::Failed, Some(reason), None);
                }
            }
        } else if t.retried {
            // A retried instance is followed by its retry; nothing to decide here.
            return;
        } else {
            on_unsuccessful(exec, cx, last);
        }
    }
}

/// Schedules one workflow task through the handler of its type.
pub(super) fn schedule(exec: &mut Execution, cx: &mut Ctx, wt: &WorkflowTask) {
    match handler(&wt.task_type) {
        Handler::Worker => worker::schedule(exec, cx, wt, worker::Origin::First),
        Handler::Unsupported => {
            let reason = format!("task type {} is not supported yet", wt.task_type);
            let reference = wt.task_reference_name.clone();
            close(
                exec,
                cx,
                WorkflowStatus::Failed,
                Some(reason),
                Some(reference),
            );
        }
    }
}

/// Schedules a new instance of a failed task through the handler of its type. Only worker
/// tasks are retried for now.
pub(super) fn schedule_retry(
    exec: &mut Execution,
    cx: &mut Ctx,
    wt: &WorkflowTask,
    origin: worker::Origin,
) {
    match handler(&wt.task_type) {
        Handler::Worker => worker::schedule(exec, cx, wt, origin),
        Handler::Unsupported => schedule(exec, cx, wt),
    }
}

/// A task ended unsuccessfully: retry it, let the workflow go on (optional), or fail the
/// workflow (TIMED_OUT when the task timed out).
fn on_unsuccessful(exec: &mut Execution, cx: &mut Ctx, idx: usize) {
    let def = Arc::clone(&exec.def);
    let t = &exec.tasks[idx];
    let wt = find_task(&def.tasks, &t.reference_task_name);
    let td = task_def_for(wt, &t.task_def_name, &*cx.env);
    let allowed = wt.and_then(|w| w.retry_count).unwrap_or(td.retry_count);
    let budget_left = td.total_timeout_seconds <= 0
        || cx.now
            < t.first_scheduled_time
                .saturating_add(secs(td.total_timeout_seconds));
    let worker_task = !is_system_task_type(&t.task_type);
    if let Some(wt) = wt.filter(|_| {
        worker_task && t.status.is_retriable() && t.retry_count < allowed && budget_left
    }) {
        let delay_ms = worker::retry_delay_ms(&td, t.retry_count, cx.env);
        worker::schedule(exec, cx, wt, worker::Origin::Retry { idx, delay_ms });
        return;
    }
    let t = &mut exec.tasks[idx];
    if t.optional {
        t.status = TaskStatus::CompletedWithErrors;
        cx.task_changed(t);
        return;
    }
    let status = if t.status == TaskStatus::TimedOut {
        WorkflowStatus::TimedOut
    } else {
        WorkflowStatus::Failed
    };
    let reason = format!(
        "task {} ({}) ended {}: {}",
        t.reference_task_name,
        t.task_id,
        t.status.as_str(),
        t.reason_for_incompletion
            .as_deref()
            .unwrap_or("no reason given")
    );
    let reference = t.reference_task_name.clone();
    close(exec, cx, status, Some(reason), Some(reference));
}

/// Completes the workflow: output from `outputParameters`, else the last task's output.
fn complete(exec: &mut Execution, cx: &mut Ctx) {
    let output = match &exec.def.output_parameters {
        Some(template) => {
            let scope = ExecScope::new(exec, None);
            match expr::resolve(template, &scope) {
                Ok(o) => o,
                Err(e) => {
                    let reason = format!("output parameters: {e}");
                    close(exec, cx, WorkflowStatus::Failed, Some(reason), None);
                    return;
                }
            }
        }
        None => exec
            .tasks
            .last()
            .map(|t| t.output.clone())
            .unwrap_or_default(),
    };
    exec.workflow.output = output;
    close(exec, cx, WorkflowStatus::Completed, None, None);
}

/// Ends the run in a terminal status: cancels every non-terminal task, disarms the
/// workflow timeout, and tells the runtime.
pub(super) fn close(
    exec: &mut Execution,
    cx: &mut Ctx,
    status: WorkflowStatus,
    reason: Option<String>,
    failed_reference: Option<String>,
) {
    debug_assert!(status.is_terminal());
    let cancel_reason = format!("workflow {}", status.as_str());
    for t in exec.tasks.iter_mut().filter(|t| !t.status.is_terminal()) {
        worker::finish(t, cx, TaskStatus::Canceled, Some(cancel_reason.clone()));
    }
    disarm_workflow_timeout(exec, cx);
    let wf = &mut exec.workflow;
    wf.status = status;
    wf.reason_for_incompletion = reason;
    wf.end_time = Some(cx.now);
    if failed_reference.is_some() {
        wf.failed_reference_task_name = failed_reference;
    }
    cx.workflow_changed(wf);
    cx.effect(Effect::WorkflowClosed { status });
}

/// Arms the workflow timeout for the current run, if the definition has one and the run
/// is still going.
pub(super) fn arm_workflow_timeout(exec: &Execution, cx: &mut Ctx) {
    let t = exec.def.timeout_seconds;
    if t > 0 && !exec.workflow.status.is_terminal() {
        let run_start = exec.workflow.start_time;
        cx.arm(
            run_start.saturating_add(secs(t)),
            TimerKind::WorkflowTimeout { run_start },
        );
    }
}

fn disarm_workflow_timeout(exec: &Execution, cx: &mut Ctx) {
    let t = exec.def.timeout_seconds;
    if t > 0 && !exec.workflow.status.is_terminal() {
        let run_start = exec.workflow.start_time;
        cx.cancel(
            run_start.saturating_add(secs(t)),
            TimerKind::WorkflowTimeout { run_start },
        );
    }
}

/// The workflow's `timeoutSeconds` ran out (for the run that began at `run_start`).
pub(super) fn workflow_timeout(exec: &mut Execution, cx: &mut Ctx, run_start: i64) {
    let wf = &exec.workflow;
    let limit = exec.def.timeout_seconds;
    if wf.start_time != run_start || wf.status.is_terminal() || limit <= 0 {
        return;
    }
    if cx.now < run_start.saturating_add(secs(limit)) {
        return;
    }
    match exec.def.timeout_policy {
        WorkflowTimeoutPolicy::TimeOutWf => {
            let reason = format!("workflow timed out after {limit}s");
            close(exec, cx, WorkflowStatus::TimedOut, Some(reason), None);
        }
        WorkflowTimeoutPolicy::AlertOnly => {}
    }
}
