//! A task instance's life, shared by every kind of task: made ready (queued for a worker,
//! or held until its retry delay or callback ends, with its timeouts armed), and ended
//! (its timers disarmed, out of its queue). Task handlers call these; none calls another.

use super::ctx::{Ctx, secs};
use super::flow::task_def_for;
use super::instance::{self, Created, Origin};
use super::{Effect, Env, QueueKey, TimerKind};
use crate::model::{RetryLogic, TaskDef, WorkflowTask};
use crate::state::{Execution, TaskInstance, TaskStatus};

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
pub(super) fn make_ready(t: &mut TaskInstance, cx: &mut Ctx, td: &TaskDef, ready_time: i64) {
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

pub(super) fn enqueue(t: &TaskInstance, cx: &mut Ctx) {
    cx.effect(Effect::Enqueue {
        task_id: t.task_id.clone(),
        queue: queue_of(t),
        priority: t.priority,
    });
}

pub(super) fn dequeue(t: &TaskInstance, cx: &mut Ctx) {
    cx.effect(Effect::Dequeue {
        task_id: t.task_id.clone(),
        queue: queue_of(t),
    });
}

pub(super) fn cancel_poll_timeout(t: &TaskInstance, cx: &mut Ctx, due: i64) {
    cx.cancel(
        due,
        TimerKind::PollTimeout {
            task_id: t.task_id.clone(),
        },
    );
}

/// A SCHEDULED task stops waiting to be handed out: it leaves its queue, or its delay
/// timer is disarmed.
pub(super) fn stop_waiting(t: &mut TaskInstance, cx: &mut Ctx) {
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
pub(super) fn disarm(t: &mut TaskInstance, cx: &mut Ctx) {
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
