//! FORK_JOIN and JOIN.
//!
//! A FORK_JOIN completes as soon as it is scheduled; the flow then schedules the first
//! task of every non-empty branch and the JOIN that follows the fork (see
//! [`super::flow`]). A branch runs its tasks in sequence and ends with its last one.
//!
//! The JOIN is IN_PROGRESS (never queued) until every `joinOn` reference has a terminal
//! latest instance. Its output then maps each reference to that instance's output (one
//! with an empty output is left out, as in Conductor), and it ends COMPLETED;
//! COMPLETED_WITH_ERRORS when optional tasks among them failed; FAILED when any of them
//! is unsuccessful (only a permissive task can be, while the workflow runs: any other
//! failure fails the workflow at once). A FAILED JOIN fails the workflow
//! like any failed task. The `joinOn` list is kept in the JOIN's input. A JOIN right after
//! a FORK_JOIN_DYNAMIC waits for the branches that fork made instead of its `joinOn`.

use serde_json::Value;

use super::ctx::Ctx;
use super::flow;
use super::instance::Origin;
use super::lifecycle;
use super::system;
use super::taken;
use crate::model::{Object, WorkflowTask};
use crate::state::{Execution, TaskInstance, TaskStatus, WorkflowStatus};

/// The input key holding a JOIN's `joinOn` list.
const JOIN_ON: &str = "joinOn";

/// Schedules a FORK_JOIN: it completes at once. Its branches and its JOIN are what
/// follows it.
pub(super) fn schedule_fork(exec: &mut Execution, cx: &mut Ctx, wt: &WorkflowTask, origin: Origin) {
    if let Some(t) = system::begin(exec, cx, wt, origin) {
        system::record(exec, cx, t, TaskStatus::Completed, None);
    }
}

/// Schedules a JOIN: IN_PROGRESS, waiting for its `joinOn` references. The flow evaluates
/// it after every change.
pub(super) fn schedule_join(exec: &mut Execution, cx: &mut Ctx, wt: &WorkflowTask, origin: Origin) {
    // After a FORK_JOIN_DYNAMIC the JOIN waits for the branches that fork made.
    let dynamic = taken::join_refs(exec, wt, &cx.suffix);
    if let Some(mut t) = system::begin(exec, cx, wt, origin) {
        // Inside a loop the JOIN waits for the instances of its own iteration.
        let suffix = super::iteration::suffix(&t.reference_task_name);
        let refs = dynamic
            .unwrap_or_else(|| wt.join_on.clone())
            .into_iter()
            .map(|r| Value::String(format!("{r}{suffix}")))
            .collect();
        t.input.insert(JOIN_ON.to_string(), Value::Array(refs));
        system::record(exec, cx, t, TaskStatus::InProgress, None);
    }
}

/// The references a JOIN instance waits for.
fn join_on(t: &TaskInstance) -> impl Iterator<Item = &str> {
    t.input
        .get(JOIN_ON)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// Whether a task instance is a JOIN waiting for its references.
pub(super) fn is_waiting_join(t: &TaskInstance) -> bool {
    t.status == TaskStatus::InProgress && t.task_type == "JOIN"
}

/// Ends the JOIN at `idx` if every reference it waits for is terminal. Returns true when
/// it ended.
pub(super) fn evaluate_join(exec: &mut Execution, cx: &mut Ctx, idx: usize) -> bool {
    let join = &exec.tasks[idx];
    let mut done = Vec::new();
    for r in join_on(join) {
        match exec.latest_index(r) {
            Some(i) if exec.tasks[i].status.is_terminal() => done.push((r, i)),
            _ => return false,
        }
    }
    let mut output = Object::new();
    let mut failed = Vec::new();
    let mut with_errors = Vec::new();
    for (r, i) in done {
        let t = &exec.tasks[i];
        // As in Conductor, a joined task with an empty output adds nothing.
        if !t.output.is_empty() {
            output.insert(r.to_string(), Value::Object(t.output.clone()));
        }
        if !t.status.is_successful() {
            failed.push(format!(
                "{} ({}) ended {}: {}",
                r,
                t.task_id,
                t.status.as_str(),
                t.reason_for_incompletion
                    .as_deref()
                    .unwrap_or("no reason given")
            ));
        } else if t.status == TaskStatus::CompletedWithErrors {
            with_errors.push(format!("{} ({})", r, t.task_id));
        }
    }
    let (status, reason) = if !failed.is_empty() {
        (
            TaskStatus::Failed,
            Some(format!("joined tasks failed: {}", failed.join("; "))),
        )
    } else if !with_errors.is_empty() {
        (
            TaskStatus::CompletedWithErrors,
            Some(format!(
                "optional joined tasks failed: {}",
                with_errors.join(", ")
            )),
        )
    } else {
        (TaskStatus::Completed, None)
    };
    let t = &mut exec.tasks[idx];
    t.output = output;
    lifecycle::finish(t, cx, status, reason);
    true
}

/// Fails the workflow when only JOINs are left and none of them can end: what they wait
/// for can no longer run (a reference in a case that was not taken, say).
pub(super) fn stuck(exec: &mut Execution, cx: &mut Ctx, waiting: &[usize]) {
    let t = &exec.tasks[waiting[0]];
    let missing: Vec<&str> = join_on(t)
        .filter(|r| exec.latest_task(r).is_none_or(|x| !x.status.is_terminal()))
        .collect();
    let reason = format!(
        "join {} waits for {}, which can no longer run",
        t.reference_task_name,
        missing.join(", ")
    );
    let reference = t.reference_task_name.clone();
    flow::close(
        exec,
        cx,
        WorkflowStatus::Failed,
        Some(reason),
        Some(reference),
    );
}
