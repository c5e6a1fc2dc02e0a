//! Operator commands: pause, resume, terminate, restart, retry, rerun, skip a task, reset
//! callbacks, decide, results by reference name, task logs.

use std::sync::Arc;

use super::ctx::Ctx;
use super::instance::{self, Created, Origin};
use super::{DecideError, Effect, Reply, TaskResult, TimerKind};
use super::{flow, iteration, lifecycle};
use serde_json::Value;

use crate::model::{Object, WorkflowDef, WorkflowTask};
use crate::state::{Execution, PendingSkip, TaskInstance, TaskLog, TaskStatus, WorkflowStatus};

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
    // A child that runs again makes its parent wait for it again.
    if wf.status.is_terminal()
        && let (Some(parent), Some(task_id)) = (&wf.parent_workflow_id, &wf.parent_workflow_task_id)
    {
        cx.effect(Effect::ReopenParent {
            workflow_id: parent.clone(),
            task_id: task_id.clone(),
        });
    }
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
    exec.workflow.skip_tasks.clear();
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
    run_ended_tasks_again(exec, cx, None, resume_subworkflow_tasks);
    flow::advance_all(exec, cx);
    flow::arm_workflow_timeout(exec, cx);
    Ok(())
}

/// Gives every task whose latest instance FAILED, TIMED_OUT or was CANCELED a new instance
/// (whatever its retries), in scheduling order, but `except`; with `resume_children`, an
/// ended SUB_WORKFLOW instance waits for its child again instead, the child retried.
fn run_ended_tasks_again(
    exec: &mut Execution,
    cx: &mut Ctx,
    except: Option<usize>,
    resume_children: bool,
) {
    let again: Vec<usize> = exec
        .tasks
        .iter()
        .enumerate()
        .filter(|(i, t)| Some(*i) != except && ended_unsuccessfully(t))
        .map(|(i, _)| i)
        .collect();
    for idx in again {
        if resume_children && resume_child(exec, cx, idx) {
            continue;
        }
        let reference = &exec.tasks[idx].reference_task_name;
        if let Some(wt) = flow::find_any(exec, reference) {
            flow::schedule(exec, cx, &wt, Origin::Manual { idx });
        }
        if exec.workflow.status != WorkflowStatus::Running {
            break;
        }
    }
}

/// The latest instance of its reference (not retried yet), and it FAILED, TIMED_OUT or was
/// CANCELED: a retry runs it again.
fn ended_unsuccessfully(t: &TaskInstance) -> bool {
    !t.retried
        && matches!(
            t.status,
            TaskStatus::Failed
                | TaskStatus::FailedWithTerminalError
                | TaskStatus::TimedOut
                | TaskStatus::Canceled
        )
}

/// The child of an ended SUB_WORKFLOW instance, if its task may wait for it again: the
/// latest instance of its reference, ended unsuccessfully, with a child that started.
fn resumable_child(t: &TaskInstance) -> Option<String> {
    let resumable = t.task_type == "SUB_WORKFLOW" && ended_unsuccessfully(t);
    resumable
        .then(|| t.output.get("subWorkflowId").and_then(Value::as_str))
        .flatten()
        .map(str::to_string)
}

/// The task waits for its child again.
fn wait_for_child_again(t: &mut TaskInstance, cx: &mut Ctx) {
    t.status = TaskStatus::InProgress;
    t.end_time = None;
    t.reason_for_incompletion = None;
    cx.task_changed(t);
}

/// Retry with `resumeSubworkflowTasks`: an ended SUB_WORKFLOW instance waits for its child
/// again and the child is retried in place. False when the task is not such an instance.
fn resume_child(exec: &mut Execution, cx: &mut Ctx, idx: usize) -> bool {
    let t = &mut exec.tasks[idx];
    let Some(child_id) = resumable_child(t) else {
        return false;
    };
    wait_for_child_again(t, cx);
    cx.effect(Effect::RetryChild {
        task_id: t.task_id.clone(),
        child_id,
    });
    true
}

/// The child of a SUB_WORKFLOW instance runs again (it was retried, rerun or restarted).
/// If this run ended unsuccessfully, it runs again as a retry would, its SUB_WORKFLOW task
/// waiting for the child instead of starting a new one; its own parent hears of it in
/// turn. A running execution whose task already waits, a completed one, or a task that is
/// no longer the latest of its reference changes nothing.
pub(super) fn child_reopened(exec: &mut Execution, cx: &mut Ctx, task_id: &str, child_id: &str) {
    let Some(idx) = exec.task_index(task_id) else {
        return;
    };
    if resumable_child(&exec.tasks[idx]).as_deref() != Some(child_id)
        || !matches!(
            exec.workflow.status,
            WorkflowStatus::Failed | WorkflowStatus::TimedOut | WorkflowStatus::Terminated
        )
    {
        return;
    }
    reopen(exec, cx);
    wait_for_child_again(&mut exec.tasks[idx], cx);
    if flow::end_again(exec, cx) {
        return;
    }
    // What the end of the run cancelled elsewhere (other fork branches) runs again.
    run_ended_tasks_again(exec, cx, Some(idx), false);
    flow::advance_all(exec, cx);
    flow::arm_workflow_timeout(exec, cx);
}

fn unknown_reference(exec: &Execution, reference: &str) -> DecideError {
    DecideError::UnknownReference {
        reference: reference.to_string(),
        workflow_id: exec.workflow.workflow_id.clone(),
    }
}

fn task_state(t: &TaskInstance, action: &str) -> DecideError {
    DecideError::TaskState {
        reference: t.reference_task_name.clone(),
        task_id: t.task_id.clone(),
        status: t.status.as_str().to_string(),
        action: action.to_string(),
    }
}

/// The latest instance of a reference name; for a definition reference inside a loop
/// (`fetch`), the latest instance of any iteration (`fetch__3`).
fn latest_of(exec: &Execution, reference: &str) -> Option<usize> {
    exec.latest_index(reference).or_else(|| {
        exec.tasks
            .iter()
            .rposition(|t| iteration::base(&t.reference_task_name) == reference)
    })
}

/// Whether a new input may be given for tasks of this type: worker tasks (and DYNAMIC,
/// which becomes one). The engine runs the others from their definition.
fn takes_new_input(task_type: &str) -> bool {
    !flow::is_system_task_type(task_type) || task_type == "DYNAMIC"
}

/// Runs an execution again from the task instance `task_id`: it and every task scheduled
/// after it are removed, and the task is scheduled anew (with `task_input` when given,
/// for worker tasks). `workflow_input` replaces the workflow input (the definition's
/// `inputTemplate` filling absent keys). A terminal execution is RUNNING again with a new
/// run (its timeout counts from now); tasks its end cancelled are scheduled again, as a
/// retry does. A running one goes on: removed tasks that were queued or held by a worker
/// are taken back. Refused while PAUSED.
pub(super) fn rerun(
    exec: &mut Execution,
    cx: &mut Ctx,
    task_id: &str,
    task_input: Option<Object>,
    workflow_input: Option<Object>,
) -> Result<(), DecideError> {
    if exec.workflow.status == WorkflowStatus::Paused {
        return Err(wrong_state(exec, "rerun (resume it first)"));
    }
    let Some(idx) = exec.task_index(task_id) else {
        return Err(DecideError::UnknownTask {
            task_id: task_id.to_string(),
            workflow_id: exec.workflow.workflow_id.clone(),
        });
    };
    let reference = exec.tasks[idx].reference_task_name.clone();
    let Some(wt) = flow::find_any(exec, &reference) else {
        return Err(unknown_reference(exec, &reference));
    };
    if task_input.is_some() && !takes_new_input(&wt.task_type) {
        return Err(DecideError::Invalid(format!(
            "task_input: task {reference} is a {} task, which the engine runs from its \
             definition; only worker tasks take a new input",
            wt.task_type
        )));
    }
    let was_terminal = exec.workflow.status.is_terminal();
    // Take back what is still queued or held, then drop the instances from idx on.
    for t in exec.tasks[idx..]
        .iter_mut()
        .filter(|t| !t.status.is_terminal())
    {
        lifecycle::finish(t, cx, TaskStatus::Canceled, Some("rerun".to_string()));
    }
    let removed: Vec<TaskInstance> = exec.tasks.drain(idx..).collect();
    // An earlier instance whose retry was removed is due again (the flow retries it, or
    // fails the run) unless its reference is the one run again now.
    let base = iteration::base(&reference).to_string();
    for t in exec.tasks.iter_mut().filter(|t| t.retried) {
        let successor_removed = removed
            .iter()
            .any(|r| r.retried_task_id.as_deref() == Some(t.task_id.as_str()));
        if successor_removed && iteration::base(&t.reference_task_name) != base {
            t.retried = false;
            cx.task_changed(t);
        }
    }
    cx.d.removed_tasks
        .extend(removed.into_iter().map(|t| t.task_id));
    if let Some(mut input) = workflow_input {
        for (k, v) in &exec.def.input_template {
            if !input.contains_key(k) {
                input.insert(k.clone(), v.clone());
            }
        }
        exec.workflow.input = input;
        cx.workflow_changed(&mut exec.workflow);
    }
    if was_terminal {
        reopen(exec, cx);
    }
    let first = exec.tasks.len();
    let suffix = iteration::suffix(&reference).to_string();
    flow::schedule_in(exec, cx, &wt, Origin::First, &suffix);
    if let Some(input) = task_input
        && let Some(t) = exec
            .tasks
            .get_mut(first)
            .filter(|t| t.status == TaskStatus::Scheduled)
    {
        t.input = input;
        cx.task_changed(t);
    }
    if was_terminal && exec.workflow.status == WorkflowStatus::Running {
        // Tasks the run's end cancelled (in other fork branches) run again.
        let cancelled: Vec<usize> = (0..first)
            .filter(|&i| {
                let t = &exec.tasks[i];
                !t.retried && t.status == TaskStatus::Canceled
            })
            .collect();
        for i in cancelled {
            let r = exec.tasks[i].reference_task_name.clone();
            if let Some(wt) = flow::find_any(exec, &r) {
                flow::schedule(exec, cx, &wt, Origin::Manual { idx: i });
            }
            if exec.workflow.status != WorkflowStatus::Running {
                break;
            }
        }
    }
    flow::advance_all(exec, cx);
    if was_terminal {
        flow::arm_workflow_timeout(exec, cx);
    }
    Ok(())
}

/// Task types that carry the flow's structure (branches, joins, loop bodies): skipping
/// one would strand the tasks it runs, so they are not skipped themselves.
const NOT_SKIPPABLE: [&str; 5] = [
    "FORK_JOIN",
    "FORK_JOIN_DYNAMIC",
    "JOIN",
    "EXCLUSIVE_JOIN",
    "DO_WHILE",
];

/// Skips a task of a RUNNING execution by reference name. A scheduled or running instance
/// becomes SKIPPED at once (taken out of its queue, its lease ended) with `output` (and
/// `input`, when given), and the flow goes on past it. A reference not scheduled yet is
/// recorded on the workflow and skipped when the flow reaches it (see [`take_skip`]); the
/// reply is then [`Reply::Deferred`]. A finished task is refused.
pub(super) fn skip_task(
    exec: &mut Execution,
    cx: &mut Ctx,
    reference: &str,
    input: Option<Object>,
    output: Object,
) -> Result<(), DecideError> {
    if exec.workflow.status != WorkflowStatus::Running {
        return Err(wrong_state(exec, &format!("skip task {reference}")));
    }
    let Some(wt) = flow::find_any(exec, reference) else {
        return Err(unknown_reference(exec, reference));
    };
    if NOT_SKIPPABLE.contains(&wt.task_type.as_str()) {
        return Err(DecideError::Invalid(format!(
            "task {reference} is a {}, which is not skipped: skip the tasks it runs instead",
            wt.task_type
        )));
    }
    // The instance to skip now: the latest of this very reference, else (a definition
    // reference inside a loop) a live instance of one of its iterations.
    let target = exec.latest_index(reference).or_else(|| {
        exec.tasks.iter().rposition(|t| {
            !t.status.is_terminal() && iteration::base(&t.reference_task_name) == reference
        })
    });
    match target {
        Some(idx) => {
            let t = &mut exec.tasks[idx];
            if t.status.is_terminal() {
                return Err(task_state(t, "skip it"));
            }
            lifecycle::finish(
                t,
                cx,
                TaskStatus::Skipped,
                Some("skipped by an operator".to_string()),
            );
            t.output = output;
            if let Some(input) = input {
                t.input = input;
            }
            flow::advance(exec, cx);
        }
        None => {
            exec.workflow
                .skip_tasks
                .insert(reference.to_string(), PendingSkip { input, output });
            cx.workflow_changed(&mut exec.workflow);
            cx.d.reply = Reply::Deferred;
        }
    }
    Ok(())
}

/// When an operator asked to skip `wt` before the flow reached it, takes that request off
/// the workflow and returns it: the first attempt about to be scheduled is to be created
/// SKIPPED instead (see [`schedule_skipped`]). A request for this iteration's reference
/// (`fetch__2`) wins over one for the definition's (`fetch`).
pub(super) fn take_skip(
    exec: &mut Execution,
    cx: &mut Ctx,
    wt: &WorkflowTask,
) -> Option<PendingSkip> {
    let skips = &mut exec.workflow.skip_tasks;
    if skips.is_empty() {
        return None;
    }
    let instance_ref = format!("{}{}", wt.task_reference_name, cx.suffix);
    let skip = skips
        .remove(&instance_ref)
        .or_else(|| skips.remove(&wt.task_reference_name))?;
    cx.workflow_changed(&mut exec.workflow);
    Some(skip)
}

/// Creates the instance of `wt` SKIPPED, with the input and output of `skip` (the input
/// computed from the definition when none was given, empty when that fails). The flow then
/// goes on past it as after any finished task.
pub(super) fn schedule_skipped(
    exec: &mut Execution,
    cx: &mut Ctx,
    wt: &WorkflowTask,
    origin: Origin,
    skip: PendingSkip,
) {
    let td = flow::task_def_for(Some(wt), &wt.name, &*cx.env);
    let Created {
        task: mut t, input, ..
    } = instance::create(exec, cx, wt, &td, origin, false);
    t.input = match skip.input {
        Some(given) => given,
        None => input.unwrap_or_default(),
    };
    t.output = skip.output;
    t.status = TaskStatus::Skipped;
    t.reason_for_incompletion = Some("skipped by an operator".to_string());
    t.end_time = Some(cx.now);
    instance::push(exec, cx, t);
}

/// Tasks hidden for a `callbackAfterSeconds` (SCHEDULED, waiting for their `TaskReady`
/// timer after an IN_PROGRESS report) become ready now: the timer is disarmed and the
/// task queued. Start and retry delays are left alone. Refused for terminal executions.
pub(super) fn reset_callbacks(exec: &mut Execution, cx: &mut Ctx) -> Result<(), DecideError> {
    if exec.workflow.status.is_terminal() {
        return Err(wrong_state(exec, "reset callbacks"));
    }
    for t in exec.tasks.iter_mut() {
        if t.status != TaskStatus::Scheduled || t.callback_after_seconds <= 0 {
            continue;
        }
        let Some(due) = t.ready_due.take() else {
            continue;
        };
        let task_id = t.task_id.clone();
        cx.cancel(
            due,
            TimerKind::TaskReady {
                task_id: task_id.clone(),
            },
        );
        t.ready_time = cx.now;
        t.callback_after_seconds = 0;
        cx.effect(Effect::Enqueue {
            task_id,
            queue: lifecycle::queue_of(t),
            priority: t.priority,
        });
        cx.task_changed(t);
    }
    Ok(())
}

/// Does whatever is due now, looking at every task. Changes nothing when nothing is due
/// or the execution is not RUNNING.
pub(super) fn decide_now(exec: &mut Execution, cx: &mut Ctx) {
    flow::advance_all(exec, cx);
}

/// A result for the latest instance of `reference` (for a definition reference inside a
/// loop, of its latest iteration), taken like a result without a token: a worker's result
/// for worker tasks, an update for WAIT and HUMAN tasks.
pub(super) fn result_by_ref(
    exec: &mut Execution,
    cx: &mut Ctx,
    reference: &str,
    mut result: TaskResult,
) -> Result<(), DecideError> {
    let Some(idx) = latest_of(exec, reference) else {
        if flow::find_any(exec, reference).is_none() {
            return Err(unknown_reference(exec, reference));
        }
        return Err(wrong_state(
            exec,
            &format!("update task {reference}: it has not been scheduled yet"),
        ));
    };
    let task_id = exec.tasks[idx].task_id.clone();
    result.task_id = task_id.clone();
    result.token = None;
    super::take_result(exec, cx, result)?;
    // Also for a repeat of an update already taken: the caller learns which task it was.
    cx.d.reply = Reply::TaskUpdated { task_id };
    Ok(())
}

/// Appends log lines to a task (finished or not).
pub(super) fn add_logs(
    exec: &mut Execution,
    cx: &mut Ctx,
    task_id: &str,
    logs: Vec<TaskLog>,
) -> Result<(), DecideError> {
    let Some(idx) = exec.task_index(task_id) else {
        return Err(DecideError::UnknownTask {
            task_id: task_id.to_string(),
            workflow_id: exec.workflow.workflow_id.clone(),
        });
    };
    if logs.is_empty() {
        return Ok(());
    }
    let t = &mut exec.tasks[idx];
    t.logs.extend(logs);
    cx.task_changed(t);
    Ok(())
}
