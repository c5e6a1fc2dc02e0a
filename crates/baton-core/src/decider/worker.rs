//! Worker tasks: queued for external workers, leased, fenced by attempt tokens, retried
//! per their task definition.

use super::ctx::{Ctx, secs};
use super::flow::{self, task_def_for};
use super::instance::{self, Created, Origin};
use super::{DecideError, Effect, Env, QueueKey, Reply, TaskResult, TimerKind};
use crate::model::{RetryLogic, TaskDef, TaskTimeoutPolicy, WorkflowTask};
use crate::state::{Execution, TaskInstance, TaskStatus, WorkflowStatus};

/// How many of its latest attempt tokens a task keeps to recognise late results.
pub const MAX_PAST_TOKENS: usize = 16;

/// The ready queue of a task.
pub(super) fn queue_of(t: &TaskInstance) -> QueueKey {
    QueueKey {
        task_type: t.task_def_name.clone(),
        domain: t.domain.clone(),
    }
}

/// Delay before retry number `attempt + 1` (attempt = retry count of the failed instance).
pub(super) fn retry_delay_ms(td: &TaskDef, attempt: i32, env: &mut dyn Env) -> i64 {
    let base = td.retry_delay_seconds.max(0);
    let attempt = i64::from(attempt.max(0));
    let mut delay = match td.retry_logic {
        RetryLogic::Fixed => base,
        RetryLogic::LinearBackoff => base
            .saturating_mul(i64::from(td.backoff_scale_factor.max(1)))
            .saturating_mul(attempt + 1),
        RetryLogic::ExponentialBackoff => {
            base.saturating_mul(1i64.checked_shl(attempt.min(62) as u32).unwrap_or(i64::MAX))
        }
    };
    if td.max_retry_delay_seconds > 0 {
        delay = delay.min(td.max_retry_delay_seconds);
    }
    let mut ms = secs(delay);
    if td.backoff_jitter_ms > 0 {
        let jitter = env.random() % (td.backoff_jitter_ms as u64 + 1);
        ms = ms.saturating_add(jitter as i64);
    }
    ms
}

/// Creates and queues (or delays) a new instance of a worker task.
pub(super) fn schedule(exec: &mut Execution, cx: &mut Ctx, wt: &WorkflowTask, origin: Origin) {
    let td = task_def_for(Some(wt), &wt.name, &*cx.env);
    let Created {
        task: mut t,
        input,
        delay_ms,
    } = instance::create(exec, cx, wt, &td, origin, true);
    match input {
        Ok(input) => {
            t.input = input;
            let ready_time = cx.now.saturating_add(delay_ms);
            make_ready(&mut t, cx, &td, ready_time);
            if td.total_timeout_seconds > 0 {
                // The budget runs from the first attempt's scheduling, queued or not.
                let due = t
                    .first_scheduled_time
                    .saturating_add(secs(td.total_timeout_seconds));
                t.timeout_due = Some(due);
                let task_id = t.task_id.clone();
                cx.arm(due, TimerKind::TaskTimeout { task_id });
            }
        }
        Err(e) => instance::input_failed(&mut t, cx.now, &e),
    }
    instance::push(exec, cx, t);
}

/// A SCHEDULED task becomes visible at `ready_time`: queued now, or a `TaskReady` timer.
/// Arms the poll timeout when the definition has one.
fn make_ready(t: &mut TaskInstance, cx: &mut Ctx, td: &TaskDef, ready_time: i64) {
    t.ready_time = ready_time;
    if ready_time > cx.now {
        t.ready_due = Some(ready_time);
        cx.arm(
            ready_time,
            TimerKind::TaskReady {
                task_id: t.task_id.clone(),
            },
        );
    } else {
        t.ready_due = None;
        enqueue(t, cx);
    }
    let poll = td.poll_timeout_seconds.unwrap_or(0);
    if poll > 0 {
        if let Some(old) = t.poll_timeout_due.take() {
            cancel_poll_timeout(t, cx, old);
        }
        let due = ready_time.saturating_add(secs(poll));
        t.poll_timeout_due = Some(due);
        cx.arm(
            due,
            TimerKind::PollTimeout {
                task_id: t.task_id.clone(),
            },
        );
    }
}

fn enqueue(t: &TaskInstance, cx: &mut Ctx) {
    cx.effect(Effect::Enqueue {
        task_id: t.task_id.clone(),
        queue: queue_of(t),
        priority: t.priority,
    });
}

fn dequeue(t: &TaskInstance, cx: &mut Ctx) {
    cx.effect(Effect::Dequeue {
        task_id: t.task_id.clone(),
        queue: queue_of(t),
    });
}

fn cancel_poll_timeout(t: &TaskInstance, cx: &mut Ctx, due: i64) {
    cx.cancel(
        due,
        TimerKind::PollTimeout {
            task_id: t.task_id.clone(),
        },
    );
}

/// A SCHEDULED task stops waiting to be handed out: it leaves its queue, or its delay
/// timer is disarmed.
fn stop_waiting(t: &mut TaskInstance, cx: &mut Ctx) {
    match t.ready_due.take() {
        None => dequeue(t, cx),
        Some(due) => cx.cancel(
            due,
            TimerKind::TaskReady {
                task_id: t.task_id.clone(),
            },
        ),
    }
}

/// Disarms the task's durable timers (a delayed start, its timeout, its poll timeout).
fn disarm(t: &mut TaskInstance, cx: &mut Ctx) {
    let id = &t.task_id;
    if let Some(due) = t.ready_due.take() {
        cx.cancel(
            due,
            TimerKind::TaskReady {
                task_id: id.clone(),
            },
        );
    }
    if let Some(due) = t.timeout_due.take() {
        cx.cancel(
            due,
            TimerKind::TaskTimeout {
                task_id: id.clone(),
            },
        );
    }
    if let Some(due) = t.poll_timeout_due.take() {
        cx.cancel(
            due,
            TimerKind::PollTimeout {
                task_id: id.clone(),
            },
        );
    }
}

/// Moves a non-terminal task to a terminal status: takes it out of its queue, ends its
/// lease and disarms its timers.
pub(super) fn finish(
    t: &mut TaskInstance,
    cx: &mut Ctx,
    status: TaskStatus,
    reason: Option<String>,
) {
    debug_assert!(status.is_terminal());
    if t.status == TaskStatus::Scheduled {
        stop_waiting(t, cx);
    }
    disarm(t, cx);
    t.status = status;
    if reason.is_some() {
        t.reason_for_incompletion = reason;
    }
    t.end_time = Some(cx.now);
    t.lease_deadline = None;
    cx.task_changed(t);
}

fn task_index(exec: &Execution, task_id: &str) -> Result<usize, DecideError> {
    exec.task_index(task_id)
        .ok_or_else(|| DecideError::UnknownTask {
            task_id: task_id.to_string(),
            workflow_id: exec.workflow.workflow_id.clone(),
        })
}

fn stale(task_id: &str, reason: impl Into<String>) -> DecideError {
    DecideError::StaleToken {
        task_id: task_id.to_string(),
        reason: reason.into(),
    }
}

/// Why a token does not fence the task's current lease.
fn stale_reason(t: &TaskInstance, token: &str) -> String {
    if t.status.is_terminal() {
        format!("task already {}", t.status.as_str())
    } else if t.past_tokens.iter().any(|p| p == token) {
        "the task was handed to another worker since".to_string()
    } else {
        "the token was never issued for this task".to_string()
    }
}

/// The dispatcher handed a SCHEDULED task to a worker.
pub(super) fn dispatched(
    exec: &mut Execution,
    cx: &mut Ctx,
    task_id: &str,
    token: String,
    worker_id: String,
    lease_deadline: i64,
) -> Result<(), DecideError> {
    let idx = task_index(exec, task_id)?;
    let t = &exec.tasks[idx];
    if t.status != TaskStatus::Scheduled {
        return Err(stale(
            task_id,
            format!("task is {}, not SCHEDULED", t.status.as_str()),
        ));
    }
    let first_start = t.start_time.is_none();
    let attempt_due = if first_start {
        let wt = flow::find_for(&exec.def, exec, &t.reference_task_name);
        let td = task_def_for(wt.as_deref(), &t.task_def_name, &*cx.env);
        (td.timeout_seconds > 0).then(|| cx.now.saturating_add(secs(td.timeout_seconds)))
    } else {
        None
    };
    let t = &mut exec.tasks[idx];
    if let Some(due) = t.ready_due.take() {
        cx.cancel(
            due,
            TimerKind::TaskReady {
                task_id: task_id.to_string(),
            },
        );
    }
    if let Some(due) = t.poll_timeout_due.take() {
        cancel_poll_timeout(t, cx, due);
    }
    t.status = TaskStatus::InProgress;
    t.poll_count += 1;
    t.worker_id = Some(worker_id);
    if first_start {
        t.start_time = Some(cx.now);
    }
    t.past_tokens.push(token.clone());
    if t.past_tokens.len() > MAX_PAST_TOKENS {
        t.past_tokens.remove(0);
    }
    t.token = Some(token.clone());
    t.lease_deadline = Some(lease_deadline);
    cx.arm(
        lease_deadline,
        TimerKind::LeaseExpired {
            task_id: task_id.to_string(),
            token,
        },
    );
    // One TaskTimeout timer: the earlier of the attempt's timeout and the budget.
    if let Some(due) = attempt_due.filter(|d| t.timeout_due.is_none_or(|old| *d < old)) {
        let kind = TimerKind::TaskTimeout {
            task_id: task_id.to_string(),
        };
        if let Some(old) = t.timeout_due.replace(due) {
            cx.cancel(old, kind.clone());
        }
        cx.arm(due, kind);
    }
    cx.task_changed(t);
    Ok(())
}

/// Whether a result repeats the outcome already recorded for a terminal task.
fn is_duplicate(t: &TaskInstance, r: &TaskResult) -> bool {
    let same_outcome = matches!(
        (r.status, t.status),
        (TaskStatus::Completed, TaskStatus::Completed)
            | (TaskStatus::Failed, TaskStatus::Failed)
            | (
                TaskStatus::FailedWithTerminalError,
                TaskStatus::FailedWithTerminalError
            )
            | (
                TaskStatus::Failed | TaskStatus::FailedWithTerminalError,
                TaskStatus::CompletedWithErrors
            )
    );
    same_outcome
        && match &r.token {
            Some(token) => t.token.as_deref() == Some(token.as_str()),
            None => r.output.iter().all(|(k, v)| t.output.get(k) == Some(v)),
        }
}

/// A worker (or an operator) reported a result.
pub(super) fn result(exec: &mut Execution, cx: &mut Ctx, r: TaskResult) -> Result<(), DecideError> {
    if !matches!(
        r.status,
        TaskStatus::Completed
            | TaskStatus::Failed
            | TaskStatus::FailedWithTerminalError
            | TaskStatus::InProgress
    ) {
        return Err(DecideError::Invalid(format!(
            "a worker cannot report status {} (COMPLETED, FAILED, FAILED_WITH_TERMINAL_ERROR or IN_PROGRESS)",
            r.status.as_str()
        )));
    }
    if r.callback_after_seconds < 0 {
        return Err(DecideError::Invalid(format!(
            "callbackAfterSeconds {} is negative",
            r.callback_after_seconds
        )));
    }
    let idx = task_index(exec, &r.task_id)?;
    let t = &exec.tasks[idx];
    if !flow::takes_results(&t.task_type) {
        return Err(DecideError::Invalid(format!(
            "task {} is a {} task, run by the engine itself: it takes no results",
            r.task_id, t.task_type
        )));
    }
    if t.status.is_terminal() {
        if is_duplicate(t, &r) {
            cx.d.reply = Reply::Duplicate;
            return Ok(());
        }
        return Err(stale(
            &r.task_id,
            format!("task already {}", t.status.as_str()),
        ));
    }
    if exec.workflow.status.is_terminal() {
        return Err(DecideError::WrongState {
            workflow_id: exec.workflow.workflow_id.clone(),
            status: exec.workflow.status.as_str().to_string(),
            action: "take a task result".to_string(),
        });
    }
    let was_scheduled = t.status == TaskStatus::Scheduled;
    if let Some(token) = &r.token {
        let fenced = if was_scheduled {
            // A worker that lost its stream (or a server restart) returned the task to its
            // queue; its result is still taken while nobody else holds a lease. The token
            // may be unknown here: a hand-out is recorded lazily, so after a crash the
            // record of it can be missing while the worker still holds the task.
            t.lease_deadline.is_none()
        } else {
            t.token.as_deref() == Some(token.as_str())
        };
        if !fenced {
            return Err(stale(&r.task_id, stale_reason(t, token)));
        }
    }
    // Accepted: from here on the execution changes.
    let def = std::sync::Arc::clone(&exec.def);
    let wt = flow::find_for(&def, exec, &exec.tasks[idx].reference_task_name);
    let t = &mut exec.tasks[idx];
    t.logs.extend(r.logs);
    if let Some(w) = r.worker_id {
        t.worker_id = Some(w);
    }
    match r.status {
        TaskStatus::InProgress => {
            for (k, v) in r.output {
                t.output.insert(k, v);
            }
            t.callback_after_seconds = r.callback_after_seconds;
            if r.callback_after_seconds > 0 {
                // Back to SCHEDULED, hidden until the callback is due.
                if was_scheduled {
                    stop_waiting(t, cx);
                }
                t.status = TaskStatus::Scheduled;
                t.lease_deadline = None;
                let td = task_def_for(wt.as_deref(), &t.task_def_name, &*cx.env);
                let ready = cx.now.saturating_add(secs(r.callback_after_seconds));
                make_ready(t, cx, &td, ready);
            } else if let (true, Some(token)) = (was_scheduled, r.token) {
                // The worker that held the task is still on it: it takes the task back.
                stop_waiting(t, cx);
                if let Some(due) = t.poll_timeout_due.take() {
                    cancel_poll_timeout(t, cx, due);
                }
                t.status = TaskStatus::InProgress;
                t.token = Some(token);
                renew_lease(t, cx);
            } else if !was_scheduled {
                renew_lease(t, cx);
            }
            cx.task_changed(t);
        }
        status => {
            t.output = r.output;
            let reason = match status {
                TaskStatus::Completed => None,
                _ => Some(
                    r.reason_for_incompletion
                        .unwrap_or_else(|| "failed by the worker".to_string()),
                ),
            };
            finish(t, cx, status, reason);
            flow::advance(exec, cx);
        }
    }
    Ok(())
}

/// A new lease for the current token: `responseTimeoutSeconds` from now.
fn renew_lease(t: &mut TaskInstance, cx: &mut Ctx) -> i64 {
    let deadline = cx
        .now
        .saturating_add(secs(t.response_timeout_seconds.max(1)));
    t.lease_deadline = Some(deadline);
    if let Some(token) = &t.token {
        cx.arm(
            deadline,
            TimerKind::LeaseExpired {
                task_id: t.task_id.clone(),
                token: token.clone(),
            },
        );
    }
    deadline
}

/// A worker asked for more time.
pub(super) fn extend_lease(
    exec: &mut Execution,
    cx: &mut Ctx,
    task_id: &str,
    token: &str,
) -> Result<(), DecideError> {
    let idx = task_index(exec, task_id)?;
    let t = &mut exec.tasks[idx];
    if t.status != TaskStatus::InProgress || t.token.as_deref() != Some(token) {
        let reason = if t.status == TaskStatus::Scheduled {
            "the task is not held by any worker".to_string()
        } else {
            stale_reason(t, token)
        };
        return Err(stale(task_id, reason));
    }
    let deadline = renew_lease(t, cx);
    cx.task_changed(t);
    cx.d.reply = Reply::LeaseExtended { deadline };
    Ok(())
}

/// The worker holding a task went away: the task goes back to its queue at once. Not a
/// retry. Does nothing unless the token holds the current lease (the task may be gone,
/// finished or handed to someone else since).
pub(super) fn returned(
    exec: &mut Execution,
    cx: &mut Ctx,
    task_id: &str,
    token: &str,
) -> Result<(), DecideError> {
    let Some(idx) = exec.task_index(task_id) else {
        return Ok(());
    };
    let t = &exec.tasks[idx];
    if t.status != TaskStatus::InProgress || t.token.as_deref() != Some(token) {
        return Ok(());
    }
    let def = std::sync::Arc::clone(&exec.def);
    let wt = flow::find_for(&def, exec, &exec.tasks[idx].reference_task_name);
    let t = &mut exec.tasks[idx];
    let td = task_def_for(wt.as_deref(), &t.task_def_name, &*cx.env);
    t.status = TaskStatus::Scheduled;
    t.lease_deadline = None;
    make_ready(t, cx, &td, cx.now);
    cx.task_changed(t);
    Ok(())
}

/// A delayed task's `TaskReady` timer: queue it if it is still waiting for that moment.
pub(super) fn task_ready(exec: &mut Execution, cx: &mut Ctx, task_id: &str) {
    let Some(idx) = exec.task_index(task_id) else {
        return;
    };
    match flow::handler(&exec.tasks[idx].task_type) {
        flow::Handler::Wait => return super::wait::elapsed(exec, cx, idx),
        flow::Handler::Job => {
            let t = &exec.tasks[idx];
            if t.status == TaskStatus::Scheduled && t.ready_due.is_some_and(|due| due <= cx.now) {
                super::jobs::start(exec, cx, idx);
                flow::advance(exec, cx);
            }
            return;
        }
        _ => {}
    }
    let t = &mut exec.tasks[idx];
    if t.status != TaskStatus::Scheduled || t.ready_due.is_none_or(|due| due > cx.now) {
        return;
    }
    t.ready_due = None;
    enqueue(t, cx);
    cx.task_changed(t);
}

/// Times a task out and lets the retry rules decide.
fn time_out(exec: &mut Execution, cx: &mut Ctx, idx: usize, reason: String) {
    finish(&mut exec.tasks[idx], cx, TaskStatus::TimedOut, Some(reason));
    flow::advance(exec, cx);
}

/// A lease ran out: the worker neither reported nor extended in time.
pub(super) fn lease_expired(exec: &mut Execution, cx: &mut Ctx, task_id: &str, token: &str) {
    let Some(idx) = exec.task_index(task_id) else {
        return;
    };
    let t = &exec.tasks[idx];
    let current = t.status == TaskStatus::InProgress
        && t.token.as_deref() == Some(token)
        && t.lease_deadline.is_some_and(|d| d <= cx.now);
    if !current {
        return;
    }
    let reason = format!(
        "response timeout: no result or lease extension within {}s",
        t.response_timeout_seconds
    );
    time_out(exec, cx, idx, reason);
}

/// A task's `timeoutSeconds` or `totalTimeoutSeconds` ran out.
pub(super) fn task_timeout(exec: &mut Execution, cx: &mut Ctx, task_id: &str) {
    let Some(idx) = exec.task_index(task_id) else {
        return;
    };
    let t = &exec.tasks[idx];
    if t.status.is_terminal() || t.timeout_due.is_none_or(|due| due > cx.now) {
        return;
    }
    let def = std::sync::Arc::clone(&exec.def);
    let wt = flow::find_for(&def, exec, &t.reference_task_name);
    let td = task_def_for(wt.as_deref(), &t.task_def_name, &*cx.env);
    let now = cx.now;
    let total_due = (td.total_timeout_seconds > 0).then(|| {
        t.first_scheduled_time
            .saturating_add(secs(td.total_timeout_seconds))
    });
    let attempt_due = match (td.timeout_seconds > 0, t.start_time) {
        (true, Some(s)) => Some(s.saturating_add(secs(td.timeout_seconds))),
        _ => None,
    };
    let t = &mut exec.tasks[idx];
    t.timeout_due = None;
    cx.task_changed(t);
    if total_due.is_some_and(|d| d <= now) {
        let reason = format!(
            "task used up its total timeout of {}s",
            td.total_timeout_seconds
        );
        time_out(exec, cx, idx, reason);
        return;
    }
    if attempt_due.is_some_and(|d| d <= now) {
        let reason = format!("task timed out after {}s", td.timeout_seconds);
        match td.timeout_policy {
            TaskTimeoutPolicy::Retry => time_out(exec, cx, idx, reason),
            TaskTimeoutPolicy::TimeOutWf => {
                finish(&mut exec.tasks[idx], cx, TaskStatus::TimedOut, Some(reason));
                let t = &exec.tasks[idx];
                let wf_reason = format!(
                    "task {} ({}) timed out after {}s",
                    t.reference_task_name, t.task_id, td.timeout_seconds
                );
                let reference = t.reference_task_name.clone();
                flow::close(
                    exec,
                    cx,
                    WorkflowStatus::TimedOut,
                    Some(wf_reason),
                    Some(reference),
                );
            }
            TaskTimeoutPolicy::AlertOnly => {
                if let Some(due) = total_due {
                    let t = &mut exec.tasks[idx];
                    t.timeout_due = Some(due);
                    cx.arm(
                        due,
                        TimerKind::TaskTimeout {
                            task_id: task_id.to_string(),
                        },
                    );
                }
            }
        }
        return;
    }
    // Neither deadline passed (the definition changed meanwhile): wait for the next one.
    let next = [total_due, attempt_due]
        .into_iter()
        .flatten()
        .filter(|d| *d > now)
        .min();
    if let Some(due) = next {
        let t = &mut exec.tasks[idx];
        t.timeout_due = Some(due);
        cx.arm(
            due,
            TimerKind::TaskTimeout {
                task_id: task_id.to_string(),
            },
        );
    }
}

/// A task waited SCHEDULED longer than its `pollTimeoutSeconds`.
pub(super) fn poll_timeout(exec: &mut Execution, cx: &mut Ctx, task_id: &str) {
    let Some(idx) = exec.task_index(task_id) else {
        return;
    };
    let t = &exec.tasks[idx];
    if t.status != TaskStatus::Scheduled || t.poll_timeout_due.is_none_or(|due| due > cx.now) {
        return;
    }
    let waited = (cx.now - t.ready_time).max(0) / 1000;
    let reason = format!("no worker took the task within its poll timeout ({waited}s waited)");
    let t = &mut exec.tasks[idx];
    t.poll_timeout_due = None;
    time_out(exec, cx, idx, reason);
}
