//! TERMINATE: ends the workflow.
//!
//! Inputs: `terminationStatus` (COMPLETED, FAILED or TERMINATED), `terminationReason`,
//! `workflowOutput`. The task completes at once with `workflowOutput` as its output (an
//! object as it is, any other value under `output`); the flow then ends the workflow in
//! that status, with that output and reason (or Conductor's `Workflow is <status> by
//! TERMINATE task: <task id>`), cancelling every task still running. Any other
//! `terminationStatus` fails the task.

use serde_json::Value;

use super::ctx::Ctx;
use super::flow;
use super::instance::Origin;
use super::system;
use crate::model::{Object, WorkflowTask};
use crate::state::{Execution, TaskStatus, WorkflowStatus};

fn termination_status(input: &Object) -> Option<WorkflowStatus> {
    match input.get("terminationStatus").and_then(Value::as_str) {
        Some("COMPLETED") => Some(WorkflowStatus::Completed),
        Some("FAILED") => Some(WorkflowStatus::Failed),
        Some("TERMINATED") => Some(WorkflowStatus::Terminated),
        _ => None,
    }
}

/// Schedules a TERMINATE: completes at once when its `terminationStatus` is valid.
pub(super) fn schedule(exec: &mut Execution, cx: &mut Ctx, wt: &WorkflowTask, origin: Origin) {
    let Some(mut t) = system::begin(exec, cx, wt, origin) else {
        return;
    };
    if termination_status(&t.input).is_none() {
        let given = t
            .input
            .get("terminationStatus")
            .map_or_else(|| "nothing".to_string(), Value::to_string);
        let reason =
            format!("terminationStatus must be COMPLETED, FAILED or TERMINATED (given {given})");
        system::record(exec, cx, t, TaskStatus::Failed, Some(reason));
        return;
    }
    t.output = match t.input.get("workflowOutput") {
        None | Some(Value::Null) => Object::new(),
        Some(Value::Object(o)) => o.clone(),
        Some(other) => Object::from_iter([("output".to_string(), other.clone())]),
    };
    system::record(exec, cx, t, TaskStatus::Completed, None);
}

/// Ends the workflow as the COMPLETED TERMINATE task at `idx` says.
pub(super) fn end_run(exec: &mut Execution, cx: &mut Ctx, idx: usize) {
    let t = &exec.tasks[idx];
    let status = termination_status(&t.input).unwrap_or(WorkflowStatus::Terminated);
    let reason = match t.input.get("terminationReason").and_then(Value::as_str) {
        Some(r) if !r.trim().is_empty() => r.to_string(),
        // Conductor's words, so that a reason read by tools matches.
        _ => format!(
            "Workflow is {} by TERMINATE task: {}",
            status.as_str(),
            t.task_id
        ),
    };
    let failed_reference =
        (status == WorkflowStatus::Failed).then(|| t.reference_task_name.clone());
    exec.workflow.output = t.output.clone();
    flow::close(exec, cx, status, Some(reason), failed_reference);
}
