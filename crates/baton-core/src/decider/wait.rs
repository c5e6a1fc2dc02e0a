//! WAIT and HUMAN: tasks that wait inside the engine, never queued for a worker.
//!
//! A WAIT with `duration` (`"30s"`, `"1 days 2 hours 3 minutes"`; units d/day(s),
//! h/hr(s)/hour(s), m/min(s)/minute(s), s/sec(s)/second(s)) or `until`
//! (`"yyyy-MM-dd HH:mm"`, optionally with seconds and a zone: `UTC`, `GMT`, `Z` or an
//! offset like `+05:30`; or just `"yyyy-MM-dd"`; no zone means UTC) is IN_PROGRESS until
//! that time and then COMPLETES by itself (a time already past completes it at once). A
//! WAIT with neither, and every HUMAN task, is IN_PROGRESS until an update (by task id, or
//! by workflow id and reference name) completes or fails it. An input that names a time
//! it cannot read FAILS the task with FAILED_WITH_TERMINAL_ERROR saying why.
//!
//! As in Conductor, a task definition for the task's name (registered, or inline in the
//! workflow task) applies: its `timeoutSeconds` times the task out (by its
//! `timeoutPolicy`), and a failed or timed-out task is retried up to its `retryCount`.
//! Without one there is no timeout and no retry. A retry waits out the definition's retry
//! delay first (`retryDelaySeconds` with its `retryLogic`, as for any retried task): it is
//! SCHEDULED until then, and only then starts waiting (its `duration` counted from there)
//! and arms its timeout.
//!
//! Updates go through [`update`], which also serves the other engine-run tasks that take
//! one: an HTTP task with `asyncComplete` once its call returned.

use chrono::{FixedOffset, NaiveDate, NaiveDateTime};
use serde_json::Value;

use super::ctx::{Ctx, secs};
use super::flow::{self, Handler, handler, task_def_for};
use super::instance::Origin;
use super::{DecideError, Reply, TaskResult, TimerKind, lifecycle, system};
use crate::model::WorkflowTask;
use crate::state::{Execution, TaskInstance, TaskStatus};

/// Schedules a WAIT or HUMAN task: IN_PROGRESS, with a timer when it waits for a time; a
/// retry with a delay is SCHEDULED until its `TaskReady` timer (see [`elapsed`]).
pub(super) fn schedule(exec: &mut Execution, cx: &mut Ctx, wt: &WorkflowTask, origin: Origin) {
    let Some(mut t) = system::begin(exec, cx, wt, origin) else {
        return;
    };
    if let Origin::Retry { delay_ms, .. } = origin
        && delay_ms > 0
    {
        let due = cx.now.saturating_add(delay_ms);
        t.start_time = None;
        t.ready_time = due;
        t.ready_due = Some(due);
        let task_id = t.task_id.clone();
        cx.arm(due, TimerKind::TaskReady { task_id });
        system::record(exec, cx, t, TaskStatus::Scheduled, None);
        return;
    }
    // A task definition for the task's name (registered or inline) times it out, as
    // Conductor does: what then happens follows the definition's timeoutPolicy.
    let timeout_seconds = task_def_for(Some(wt), &wt.name, &*cx.env).timeout_seconds;
    let (status, reason) = activate(&mut t, cx, timeout_seconds);
    system::record(exec, cx, t, status, reason);
}

/// Starts a WAIT or HUMAN instance waiting, now: a WAIT for a time arms its `TaskReady`
/// timer (or is done at once when the time is past, or fails when its input names no
/// time it can read), and a positive `timeout_seconds` arms the timeout. Returns the
/// status the instance takes, with the reason for a failure.
fn activate(
    t: &mut TaskInstance,
    cx: &mut Ctx,
    timeout_seconds: i64,
) -> (TaskStatus, Option<String>) {
    t.start_time = Some(cx.now);
    if t.task_type == "WAIT" {
        match due(&t.input, cx.now) {
            Ok(Some(due)) if due <= cx.now => return (TaskStatus::Completed, None),
            Ok(Some(due)) => {
                t.ready_due = Some(due);
                let task_id = t.task_id.clone();
                cx.arm(due, TimerKind::TaskReady { task_id });
            }
            Ok(None) => {}
            Err(reason) => return (TaskStatus::FailedWithTerminalError, Some(reason)),
        }
    }
    if timeout_seconds > 0 {
        let due = cx.now.saturating_add(secs(timeout_seconds));
        t.timeout_due = Some(due);
        let task_id = t.task_id.clone();
        cx.arm(due, TimerKind::TaskTimeout { task_id });
    }
    (TaskStatus::InProgress, None)
}

/// The time a WAIT's input names (epoch ms), None when it waits for an update.
fn due(input: &crate::model::Object, now: i64) -> Result<Option<i64>, String> {
    let text = |key: &str| match input.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(Value::Number(n)) if key == "duration" => Ok(Some(format!("{n}s"))),
        Some(other) => Err(format!("WAIT {key} must be a string, got {other}")),
    };
    let duration = text("duration")?;
    let until = text("until")?;
    match (duration, until) {
        (Some(_), Some(_)) => Err("WAIT takes either duration or until, not both".to_string()),
        (Some(d), None) => {
            let s = parse_duration(&d).map_err(|e| format!("WAIT duration {d:?}: {e}"))?;
            Ok(Some(now.saturating_add(secs(s))))
        }
        (None, Some(u)) => parse_until(&u)
            .map(Some)
            .map_err(|e| format!("WAIT until {u:?}: {e}")),
        (None, None) => Ok(None),
    }
}

/// Seconds in a duration such as `"1 days 2 hours 3 minutes"` or `"90s"`.
fn parse_duration(text: &str) -> Result<i64, String> {
    let mut total: i64 = 0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err("empty".to_string());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("expected a number at {rest:?}"));
        }
        let n: i64 = rest[..digits]
            .parse()
            .map_err(|_| format!("number too large at {rest:?}"))?;
        rest = rest[digits..].trim_start();
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        let scale = match unit.to_ascii_lowercase().as_str() {
            "d" | "day" | "days" => 86_400,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3_600,
            "m" | "min" | "mins" | "minute" | "minutes" => 60,
            "s" | "sec" | "secs" | "second" | "seconds" => 1,
            "" => return Err(format!("the number {n} has no unit (d, h, m or s)")),
            other => return Err(format!("unknown unit {other:?} (d, h, m or s)")),
        };
        total = n
            .checked_mul(scale)
            .and_then(|x| total.checked_add(x))
            .ok_or("too long")?;
        rest = rest[unit_len..].trim_start_matches([' ', ',']);
    }
    Ok(total)
}

/// Epoch ms of an `until` time: `yyyy-MM-dd[ HH:mm[:ss]][ zone]`.
fn parse_until(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let (local, zone) = match text.rsplit_once(' ') {
        Some((head, z)) if !z.contains(':') || z.starts_with(['+', '-']) => (head, Some(z)),
        _ => (text, None),
    };
    let naive = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(local, f).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(local, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
        .ok_or("not a time of the form yyyy-MM-dd HH:mm (zone optional)")?;
    let offset_s = match zone {
        None => 0,
        Some(z) => zone_offset(z)?,
    };
    let utc = naive.and_utc().timestamp() - offset_s;
    Ok(utc.saturating_mul(1000))
}

/// Seconds east of UTC for `UTC`, `GMT`, `Z` or an offset such as `+05:30` or `-0800`.
fn zone_offset(z: &str) -> Result<i64, String> {
    if matches!(z.to_ascii_uppercase().as_str(), "UTC" | "GMT" | "Z") {
        return Ok(0);
    }
    let fixed = if z.starts_with(['+', '-']) && !z.contains(':') && z.len() == 5 {
        format!("{}:{}", &z[..3], &z[3..])
    } else {
        z.to_string()
    };
    fixed
        .parse::<FixedOffset>()
        .map(|o| i64::from(o.local_minus_utc()))
        .map_err(|_| format!("unknown zone {z:?} (use UTC, GMT, Z or an offset such as +05:30)"))
}

/// A WAIT or HUMAN task's `TaskReady` timer fired: a retry whose delay is over starts
/// waiting (see [`activate`]); a WAIT whose time came completes.
pub(super) fn elapsed(exec: &mut Execution, cx: &mut Ctx, idx: usize) {
    let t = &exec.tasks[idx];
    if t.ready_due.is_none_or(|due| due > cx.now) {
        return;
    }
    match t.status {
        TaskStatus::Scheduled => {
            let wt = flow::find_any(exec, &t.reference_task_name);
            let timeout_seconds =
                task_def_for(wt.as_ref(), &t.task_def_name, &*cx.env).timeout_seconds;
            let t = &mut exec.tasks[idx];
            t.ready_due = None;
            t.status = TaskStatus::InProgress;
            let (status, reason) = activate(t, cx, timeout_seconds);
            if status.is_terminal() {
                lifecycle::finish(t, cx, status, reason);
            } else {
                cx.task_changed(t);
            }
        }
        TaskStatus::InProgress => {
            let t = &mut exec.tasks[idx];
            t.ready_due = None;
            lifecycle::finish(t, cx, TaskStatus::Completed, None);
        }
        _ => return,
    }
    flow::advance(exec, cx);
}

/// Whether a task of this type takes updates through [`update`].
pub(super) fn takes_updates(task_type: &str) -> bool {
    matches!(
        handler(task_type),
        Handler::Wait | Handler::Human | Handler::Job
    )
}

/// An update (from an operator, a client or an event) for a WAIT, HUMAN or asynchronously
/// completed HTTP task: COMPLETED, FAILED or FAILED_WITH_TERMINAL_ERROR ends it (output
/// merged into what it has); IN_PROGRESS merges output and logs. An update for a task
/// already ended is ignored (the first end wins).
pub(super) fn update(exec: &mut Execution, cx: &mut Ctx, r: TaskResult) -> Result<(), DecideError> {
    let Some(idx) = exec.task_index(&r.task_id) else {
        return Err(DecideError::UnknownTask {
            task_id: r.task_id,
            workflow_id: exec.workflow.workflow_id.clone(),
        });
    };
    if exec.workflow.status.is_terminal() {
        return Err(DecideError::WrongState {
            workflow_id: exec.workflow.workflow_id.clone(),
            status: exec.workflow.status.as_str().to_string(),
            action: "update a task".to_string(),
        });
    }
    let t = &mut exec.tasks[idx];
    if t.status.is_terminal() {
        cx.d.reply = Reply::Duplicate;
        return Ok(());
    }
    if t.status == TaskStatus::Scheduled && t.ready_due.is_some() {
        return Err(DecideError::Invalid(format!(
            "task {} ({}) waits out its retry delay: it takes no update yet",
            t.reference_task_name, t.task_type
        )));
    }
    if t.job_pending || t.status != TaskStatus::InProgress {
        return Err(DecideError::Invalid(format!(
            "task {} ({}) is still running in the engine: it takes no update yet",
            t.reference_task_name, t.task_type
        )));
    }
    if !r.status.is_reportable() {
        return Err(DecideError::Invalid(format!(
            "a task update cannot set status {} (COMPLETED, FAILED, FAILED_WITH_TERMINAL_ERROR or IN_PROGRESS)",
            r.status.as_str()
        )));
    }
    t.logs.extend(r.logs);
    if let Some(w) = r.worker_id {
        t.worker_id = Some(w);
    }
    for (k, v) in r.output {
        t.output.insert(k, v);
    }
    if r.status == TaskStatus::InProgress {
        cx.task_changed(t);
        return Ok(());
    }
    if let Some(due) = t.ready_due.take() {
        let task_id = t.task_id.clone();
        cx.cancel(due, TimerKind::TaskReady { task_id });
    }
    let reason = r
        .reason_for_incompletion
        .or_else(|| (!r.status.is_successful()).then(|| "failed by an update".to_string()));
    lifecycle::finish(t, cx, r.status, reason);
    flow::advance(exec, cx);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(30));
        assert_eq!(parse_duration("1 days 2 hours 3 minutes"), Ok(93_780));
        assert_eq!(parse_duration("2hrs 5mins 1 secs"), Ok(7_501));
        assert_eq!(parse_duration("1d, 1h"), Ok(90_000));
        assert!(parse_duration("5").unwrap_err().contains("no unit"));
        assert!(
            parse_duration("5 weeks")
                .unwrap_err()
                .contains("unknown unit")
        );
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn until_times() {
        assert_eq!(parse_until("1970-01-01"), Ok(0));
        assert_eq!(parse_until("2022-12-25 09:00 UTC"), Ok(1_671_958_800_000));
        assert_eq!(parse_until("2022-12-25 09:00"), Ok(1_671_958_800_000));
        assert_eq!(
            parse_until("2022-12-25 10:30 +01:30"),
            Ok(1_671_958_800_000)
        );
        assert_eq!(
            parse_until("2022-12-25 01:00:30 -0800"),
            Ok(1_671_958_830_000)
        );
        assert!(
            parse_until("2022-12-25 09:00 PST")
                .unwrap_err()
                .contains("zone")
        );
        assert!(parse_until("2022-13-25").is_err());
        assert!(parse_until("tomorrow").is_err());
    }
}
