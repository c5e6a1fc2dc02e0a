//! EXCLUSIVE_JOIN: ends with the output of the one branch that ran.
//!
//! It usually follows a SWITCH or DECISION, so it is scheduled once the chosen case is
//! over. It is IN_PROGRESS (never queued) and the flow evaluates it after every change,
//! like a JOIN. The `joinOn` references are looked at in order: the first one with an
//! instance decides. While that instance is still running the task waits; once it is
//! terminal the task ends with that instance's output: COMPLETED, or FAILED (naming it)
//! when it ended unsuccessfully. When none of `joinOn` ran, `defaultExclusiveJoinTask`
//! is looked at the same way. When neither ran and nothing else is left to run, the task
//! FAILS saying so. Both lists are kept in the task's input.

use serde_json::Value;

use super::ctx::Ctx;
use super::instance::Origin;
use super::{lifecycle, system};
use crate::model::WorkflowTask;
use crate::state::{Execution, TaskInstance, TaskStatus};

/// The input key holding the `joinOn` list.
const JOIN_ON: &str = "joinOn";
/// The input key holding the `defaultExclusiveJoinTask` list.
const DEFAULT_REFS: &str = "defaultExclusiveJoinTask";

/// The references as a JSON list, each with the iteration suffix of the join instance.
fn strings(list: &[String], suffix: &str) -> Value {
    Value::Array(
        list.iter()
            .map(|r| Value::String(format!("{r}{suffix}")))
            .collect(),
    )
}

/// Schedules an EXCLUSIVE_JOIN: IN_PROGRESS until [`evaluate`] ends it.
pub(super) fn schedule(exec: &mut Execution, cx: &mut Ctx, wt: &WorkflowTask, origin: Origin) {
    if let Some(mut t) = system::begin(exec, cx, wt, origin) {
        let suffix = super::iteration::suffix(&t.reference_task_name).to_string();
        t.input
            .insert(JOIN_ON.to_string(), strings(&wt.join_on, &suffix));
        t.input.insert(
            DEFAULT_REFS.to_string(),
            strings(&wt.default_exclusive_join_task, &suffix),
        );
        system::record(exec, cx, t, TaskStatus::InProgress, None);
    }
}

fn refs<'t>(t: &'t TaskInstance, key: &str) -> Vec<&'t str> {
    t.input
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// Whether a task instance is an EXCLUSIVE_JOIN still waiting.
pub(super) fn is_waiting(t: &TaskInstance) -> bool {
    t.status == TaskStatus::InProgress && t.task_type == "EXCLUSIVE_JOIN"
}

/// What the references of one list say.
enum Found {
    /// None of them has an instance.
    Nothing,
    /// The first one with an instance is still running.
    Running,
    /// The first one with an instance ended; its index.
    Ended(usize),
}

fn first_of(exec: &Execution, refs: &[&str]) -> Found {
    for r in refs {
        if let Some(i) = exec.latest_index(r) {
            return if exec.tasks[i].status.is_terminal() {
                Found::Ended(i)
            } else {
                Found::Running
            };
        }
    }
    Found::Nothing
}

/// Ends the EXCLUSIVE_JOIN at `idx` if it can. `others_live` says whether other tasks
/// are still running (one of them may yet be the branch it waits for). Returns true when
/// it ended.
pub(super) fn evaluate(exec: &mut Execution, cx: &mut Ctx, idx: usize, others_live: bool) -> bool {
    let join = &exec.tasks[idx];
    let join_on = refs(join, JOIN_ON);
    let defaults = refs(join, DEFAULT_REFS);
    let found = match first_of(exec, &join_on) {
        Found::Nothing => first_of(exec, &defaults),
        other => other,
    };
    let (status, reason, output) = match found {
        Found::Running => return false,
        Found::Nothing if others_live => return false,
        Found::Nothing => (
            TaskStatus::Failed,
            Some(format!(
                "none of joinOn [{}] nor defaultExclusiveJoinTask [{}] ran",
                join_on.join(", "),
                defaults.join(", ")
            )),
            None,
        ),
        Found::Ended(i) => {
            let t = &exec.tasks[i];
            if t.status.is_successful() {
                (TaskStatus::Completed, None, Some(t.output.clone()))
            } else {
                let reason = format!(
                    "joined task {} ({}) ended {}: {}",
                    t.reference_task_name,
                    t.task_id,
                    t.status.as_str(),
                    t.reason_for_incompletion
                        .as_deref()
                        .unwrap_or("no reason given")
                );
                (TaskStatus::Failed, Some(reason), Some(t.output.clone()))
            }
        }
    };
    let t = &mut exec.tasks[idx];
    if let Some(output) = output {
        t.output = output;
    }
    lifecycle::finish(t, cx, status, reason);
    true
}
