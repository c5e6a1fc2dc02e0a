//! Creating task instances: the part every handler shares (ids, sequence numbers, retry
//! bookkeeping, input computation). Each handler then decides what the new instance does.

use serde_json::Value;

use super::Env;
use super::ctx::{Ctx, secs};
use super::iteration;
use super::scope::ExecScope;
use crate::expr;
use crate::model::{Object, TaskDef, WorkflowTask};
use crate::state::{Execution, TaskInstance, TaskStatus, WorkflowInstance};

/// Why a task instance is being created.
#[derive(Debug, Clone, Copy)]
pub(super) enum Origin {
    /// The first attempt of a workflow task.
    First,
    /// A retry of the instance at `idx`, after `delay_ms`.
    Retry { idx: usize, delay_ms: i64 },
    /// A retry asked for by an operator: no delay, a fresh `totalTimeoutSeconds` budget.
    Manual { idx: usize },
}

/// A new instance, not yet part of the execution, and its computed input.
pub(super) struct Created {
    /// The instance: SCHEDULED, with an empty input.
    pub task: TaskInstance,
    /// The input, or why it could not be computed.
    pub input: Result<Object, expr::ExprError>,
    /// How long the instance waits before it may run (start or retry delay).
    pub delay_ms: i64,
}

/// The domain for a task name: `taskToDomain[name]`, else `taskToDomain["*"]`. A list
/// (`"fast,slow,NO_DOMAIN"`) takes the first named domain the environment reports active,
/// else its last entry. `NO_DOMAIN` (or nothing) is the default queue.
fn domain_for(env: &dyn Env, wf: &WorkflowInstance, name: &str) -> Option<String> {
    let raw = wf
        .task_to_domain
        .get(name)
        .or_else(|| wf.task_to_domain.get("*"))?;
    let entries: Vec<&str> = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let no_domain = |d: &&str| d.eq_ignore_ascii_case("NO_DOMAIN");
    let chosen = match entries.as_slice() {
        [] => return None,
        [only] => *only,
        _ => {
            let named: Vec<&str> = entries.iter().copied().filter(|d| !no_domain(d)).collect();
            env.active_domain(name, &named)
                .and_then(|i| named.get(i).copied())
                .unwrap_or(entries[entries.len() - 1])
        }
    };
    (!no_domain(&chosen)).then(|| chosen.to_string())
}

/// The input of a task: its `inputParameters` resolved, then the task definition's
/// `inputTemplate` for keys missing or null.
fn compute_input(
    exec: &Execution,
    wt: &WorkflowTask,
    td: &TaskDef,
    task_id: &str,
) -> Result<Object, expr::ExprError> {
    let scope = ExecScope::new(exec, Some(task_id));
    let mut input = expr::resolve(&wt.input_parameters, &scope)?;
    for (k, v) in &td.input_template {
        if input.get(k).is_none_or(Value::is_null) {
            input.insert(k.clone(), expr::resolve_value(v, &scope)?);
        }
    }
    Ok(input)
}

/// Creates a new instance of `wt`: a fresh id and sequence number, retry bookkeeping (the
/// instance it replaces is marked retried), and its input computed against the execution
/// as it stands. `queued` gives the instance the domain of its ready queue.
pub(super) fn create(
    exec: &mut Execution,
    cx: &mut Ctx,
    wt: &WorkflowTask,
    td: &TaskDef,
    origin: Origin,
    queued: bool,
) -> Created {
    let now = cx.now;
    let seq = exec.workflow.next_seq.max(1);
    let task_id = cx.env.new_task_id(&exec.workflow.workflow_id, seq);
    let input = compute_input(exec, wt, td, &task_id);
    let reference = match origin {
        Origin::First => format!("{}{}", wt.task_reference_name, cx.suffix),
        Origin::Retry { idx, .. } | Origin::Manual { idx } => {
            exec.tasks[idx].reference_task_name.clone()
        }
    };
    let iteration = iteration::innermost(iteration::suffix(&reference));
    let (retry_count, first_scheduled_time, retried_task_id, delay_ms) = match origin {
        Origin::First => (0, now, None, secs(wt.start_delay.max(0))),
        Origin::Retry { idx, delay_ms } => {
            let old = &exec.tasks[idx];
            (
                old.retry_count + 1,
                old.first_scheduled_time,
                Some(old.task_id.clone()),
                delay_ms,
            )
        }
        Origin::Manual { idx } => {
            let old = &exec.tasks[idx];
            (old.retry_count + 1, now, Some(old.task_id.clone()), 0)
        }
    };
    if let Origin::Retry { idx, .. } | Origin::Manual { idx } = origin {
        let old = &mut exec.tasks[idx];
        old.retried = true;
        cx.task_changed(old);
    }
    let wf = &mut exec.workflow;
    wf.next_seq = seq + 1;
    cx.workflow_changed(wf);
    let task = TaskInstance {
        task_id,
        task_def_name: wt.name.clone(),
        task_type: wt.task_type.clone(),
        reference_task_name: reference,
        status: TaskStatus::Scheduled,
        input: Object::new(),
        output: Object::new(),
        seq,
        retry_count,
        poll_count: 0,
        workflow_id: wf.workflow_id.clone(),
        workflow_type: wf.workflow_name.clone(),
        worker_id: None,
        reason_for_incompletion: None,
        callback_after_seconds: 0,
        domain: if queued {
            domain_for(&*cx.env, wf, &wt.name)
        } else {
            None
        },
        retried_task_id,
        retried: false,
        response_timeout_seconds: td.response_timeout_seconds,
        scheduled_time: now,
        first_scheduled_time,
        ready_time: now.saturating_add(delay_ms),
        start_time: None,
        end_time: None,
        update_time: now,
        correlation_id: wf.correlation_id.clone(),
        priority: wf.priority,
        optional: wt.optional,
        iteration,
        token: None,
        past_tokens: Vec::new(),
        lease_deadline: None,
        logs: Vec::new(),
        ready_due: None,
        timeout_due: None,
        poll_timeout_due: None,
        job_pending: false,
    };
    Created {
        task,
        input,
        delay_ms,
    }
}

/// Marks a new instance FAILED_WITH_TERMINAL_ERROR because its input could not be
/// computed: the same inputs would fail on every retry.
pub(super) fn input_failed(t: &mut TaskInstance, now: i64, e: &expr::ExprError) {
    t.status = TaskStatus::FailedWithTerminalError;
    t.reason_for_incompletion = Some(format!("cannot compute the task input: {e}"));
    t.end_time = Some(now);
}

/// Adds a new instance to the execution and records the change.
pub(super) fn push(exec: &mut Execution, cx: &mut Ctx, mut t: TaskInstance) {
    cx.task_changed(&mut t);
    exec.tasks.push(t);
}
