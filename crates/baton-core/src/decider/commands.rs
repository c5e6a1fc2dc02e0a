//! Operator commands: pause, resume, terminate, restart, retry.

use std::sync::Arc;

use super::DecideError;
use super::ctx::Ctx;
use super::flow;
use super::instance::Origin;
use crate::model::WorkflowDef;
use crate::state::{Execution, TaskStatus, WorkflowStatus};

fn wrong_state(exec: &Execution, action: &str) -> DecideError {
    DecideError::WrongState {
        workflow_id: exec.workflow.workflow_id.clone(),
        status: exec.workflow.status.as_str().to_string(),
        action: action.to_string(),
    }
}

/// RUNNING -> PAUSED: nothing new is scheduled until resumed.
pub(super) fn pause(exec: &mut Execution, cx: &mut Ctx) -> Result<(), DecideError> {
    if exec.workflow.status != WorkflowStatus::Running {
        return Err(wrong_state(exec, "pause"));
    }
    exec.workflow.status = WorkflowStatus::Paused;
    cx.workflow_changed(&mut exec.workflow);
    Ok(())
}

/// PAUSED -> RUNNING, then whatever became due meanwhile.
pub(super) fn resume(exec: &mut Execution, cx: &mut Ctx) -> Result<(), DecideError> {
    if exec.workflow.status != WorkflowStatus::Paused {
        return Err(wrong_state(exec, "resume"));
    }
    exec.workflow.status = WorkflowStatus::Running;
    cx.workflow_changed(&mut exec.workflow);
    flow::advance_all(exec, cx);
    Ok(())
}

/// RUNNING or PAUSED -> TERMINATED; non-terminal tasks are cancelled.
pub(super) fn terminate(
    exec: &mut Execution,
    cx: &mut Ctx,
    reason: Option<String>,
) -> Result<(), DecideError> {
    if exec.workflow.status.is_terminal() {
        return Err(wrong_state(exec, "terminate"));
    }
    let reason = reason.unwrap_or_else(|| "terminated by an operator".to_string());
    flow::close(exec, cx, WorkflowStatus::Terminated, Some(reason), None);
    Ok(())
}

/// Clears the run's outcome and begins a new run now.
fn reopen(exec: &mut Execution, cx: &mut Ctx) {
    let wf = &mut exec.workflow;
    wf.status = WorkflowStatus::Running;
    wf.output.clear();
    wf.reason_for_incompletion = None;
    wf.failed_reference_task_name = None;
    wf.end_time = None;
    wf.start_time = cx.now;
    cx.workflow_changed(wf);
}

/// A terminal run starts again from the first task, every task instance removed.
pub(super) fn restart(
    exec: &mut Execution,
    cx: &mut Ctx,
    def: Option<Arc<WorkflowDef>>,
) -> Result<(), DecideError> {
    let status = exec.workflow.status;
    if !status.is_terminal() {
        return Err(wrong_state(exec, "restart"));
    }
    if status == WorkflowStatus::Completed && !exec.def.restartable {
        return Err(wrong_state(
            exec,
            "restart (its definition is not restartable)",
        ));
    }
    if let Some(d) = def.as_ref().filter(|d| d.tasks.is_empty()) {
        return Err(DecideError::Invalid(format!(
            "workflow definition {} has no tasks",
            d.name
        )));
    }
    cx.d.removed_tasks = exec.tasks.drain(..).map(|t| t.task_id).collect();
    if let Some(d) = def {
        exec.workflow.workflow_name = d.name.clone();
        exec.workflow.workflow_version = d.version;
        for (k, v) in &d.input_template {
            if !exec.workflow.input.contains_key(k) {
                exec.workflow.input.insert(k.clone(), v.clone());
            }
        }
        exec.def = d;
    }
    exec.workflow.variables = exec.def.variables.clone();
    exec.workflow.next_seq = 1;
    reopen(exec, cx);
    flow::advance(exec, cx);
    flow::arm_workflow_timeout(exec, cx);
    Ok(())
}

/// A FAILED, TIMED_OUT or TERMINATED run goes on from where it stopped: every task whose
/// latest instance FAILED, TIMED_OUT or was CANCELED gets a new instance (whatever its
/// retries), in scheduling order; a cancelled JOIN waits again. The workflow timeout counts
/// from now. A run ended by a TERMINATE task ends again at once.
pub(super) fn retry(
    exec: &mut Execution,
    cx: &mut Ctx,
    resume_subworkflow_tasks: bool,
) -> Result<(), DecideError> {
    // Sub-workflows are not run yet, so there is nothing to resume in place.
    let _ = resume_subworkflow_tasks;
    if !matches!(
        exec.workflow.status,
        WorkflowStatus::Failed | WorkflowStatus::TimedOut | WorkflowStatus::Terminated
    ) {
        return Err(wrong_state(exec, "retry"));
    }
    reopen(exec, cx);
    if flow::end_again(exec, cx) {
        return Ok(());
    }
    let again: Vec<usize> = exec
        .tasks
        .iter()
        .enumerate()
        .filter(|(_, t)| {
            !t.retried
                && matches!(
                    t.status,
                    TaskStatus::Failed
                        | TaskStatus::FailedWithTerminalError
                        | TaskStatus::TimedOut
                        | TaskStatus::Canceled
                )
        })
        .map(|(i, _)| i)
        .collect();
    for idx in again {
        let reference = &exec.tasks[idx].reference_task_name;
        if let Some(wt) = flow::find_any(exec, reference) {
            flow::schedule(exec, cx, &wt, Origin::Manual { idx });
        }
        if exec.workflow.status != WorkflowStatus::Running {
            break;
        }
    }
    flow::advance_all(exec, cx);
    flow::arm_workflow_timeout(exec, cx);
    Ok(())
}
