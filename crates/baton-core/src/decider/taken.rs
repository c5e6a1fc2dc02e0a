//! What operator instances chose at run time, read by every handler that needs it: the
//! case a SWITCH took, the branches a FORK_JOIN_DYNAMIC forked (and so what its JOIN waits
//! for). Handlers record these in their instance's input; nothing else writes them.

use serde_json::Value;

use super::structure;
use crate::model::WorkflowTask;
use crate::state::{Execution, TaskInstance, TaskStatus};

/// The input key listing the references of the branches.
pub(super) const FORKED_TASKS: &str = "forkedTasks";
/// The input key holding the branches' workflow tasks.
pub(super) const FORKED_TASK_DEFS: &str = "forkedTaskDefs";
/// The input key recording the evaluated case value.
pub(super) const CASE: &str = "case";

/// The references of the branches a completed fork instance ran.
pub(super) fn forked_refs(t: &TaskInstance) -> Vec<String> {
    t.input
        .get(FORKED_TASKS)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

fn to_branch(v: &Value) -> Option<WorkflowTask> {
    serde_json::from_value(v.clone()).ok()
}

/// The branches (ready to schedule) of the fork instance `t`; empty unless it completed.
pub(super) fn branch_tasks(t: &TaskInstance) -> Vec<WorkflowTask> {
    if t.status != TaskStatus::Completed {
        return Vec::new();
    }
    t.input
        .get(FORKED_TASK_DEFS)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(to_branch)
        .collect()
}

/// The workflow task of a dynamic branch with this reference, from the latest fork
/// instance that ran it. None when no dynamic fork made it.
pub(super) fn find_branch(exec: &Execution, reference: &str) -> Option<WorkflowTask> {
    exec.tasks
        .iter()
        .rev()
        .filter(|t| t.task_type == "FORK_JOIN_DYNAMIC" && t.status == TaskStatus::Completed)
        .find_map(|t| {
            let defs = t.input.get(FORKED_TASK_DEFS)?.as_array()?;
            defs.iter()
                .find(|d| d.get("taskReferenceName").and_then(Value::as_str) == Some(reference))
                .and_then(to_branch)
        })
}

/// The references a JOIN right after a FORK_JOIN_DYNAMIC waits for: the branches of that
/// fork's latest instance. None when the JOIN does not follow a dynamic fork.
/// Inside a loop, `suffix` is the iteration suffix the JOIN and its fork share.
pub(super) fn join_refs(
    exec: &Execution,
    join: &WorkflowTask,
    suffix: &str,
) -> Option<Vec<String>> {
    let fork = structure::before(&exec.def, &join.task_reference_name)?;
    if fork.task_type != "FORK_JOIN_DYNAMIC" {
        return None;
    }
    let t = exec.latest_task(&format!("{}{suffix}", fork.task_reference_name))?;
    Some(forked_refs(t))
}

/// The tasks of the case a COMPLETED SWITCH or DECISION instance chose; None when it did
/// not choose one (it failed).
pub(super) fn chosen_case<'d>(
    wt: &'d WorkflowTask,
    t: &TaskInstance,
) -> Option<&'d [WorkflowTask]> {
    if t.status != TaskStatus::Completed {
        return None;
    }
    let case = t.input.get(CASE)?.as_str()?;
    let list = match wt.decision_cases.get(case) {
        Some(list) if wt.task_type != "DECISION" || !list.is_empty() => list,
        _ => &wt.default_case,
    };
    Some(list)
}
