//! Worker tasks: queued for external workers, leased, fenced by attempt tokens, retried
//! per their task definition.

use super::ctx::{Ctx, secs};
use super::flow::{self, task_def_for};
use super::lifecycle::{cancel_poll_timeout, enqueue, finish, make_ready, stop_waiting};
use super::{DecideError, Reply, TaskResult, TimerKind};
use crate::model::TaskTimeoutPolicy;
use crate::state::{Execution, TaskInstance, TaskStatus, WorkflowStatus};

/// How many of its latest attempt tokens a task keeps to recognise late results.
pub const MAX_PAST_TOKENS: usize = 16;

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
    if !r.status.is_reportable() {
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
        flow::Handler::Wait | flow::Handler::Human => {
            return super::wait::elapsed(exec, cx, idx);
        }
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
