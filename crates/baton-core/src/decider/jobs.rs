//! System tasks whose work happens outside the pure core: INLINE and LAMBDA (JavaScript),
//! JSON_JQ_TRANSFORM (jq), HTTP and EVENT; and the bookkeeping every job shares.
//!
//! An EVENT task publishes to its `sink`, as Conductor does: `conductor:<queue>` is the
//! event `conductor:<workflow name>:<queue>`, and `conductor` alone is
//! `conductor:<workflow name>:<reference>`. Its input holds `sink` and `asyncComplete`
//! beside its parameters, and when it is scheduled its output becomes the message: the
//! input plus `workflowInstanceId`, `workflowType`, `workflowVersion`, `correlationId`,
//! `taskToDomain` and the event name as `event_produced`. Other providers are not
//! available: the task FAILS saying so, its output still the message.
//!
//! Such a task is IN_PROGRESS with `job_pending` set while the runtime carries out its
//! [`Job`]; [`done`] takes the outcome. INLINE with `evaluatorType` `value-param` needs no
//! job: its `result` is the input value that `expression` names. A task whose input
//! cannot make a job (no script, no query) FAILS with FAILED_WITH_TERMINAL_ERROR naming
//! what is missing. Script and jq failures end the task FAILED (an INLINE script that
//! fails other than by running out of time: FAILED_WITH_TERMINAL_ERROR, as in Conductor)
//! and are not retried (the same input fails the same way); a failed HTTP call is
//! retried by the rules of a task definition of its own (inline or registered; without
//! one it is not retried, as in Conductor), after the retry delay. An HTTP task with
//! `asyncComplete` (on the workflow task, or in its input) stays IN_PROGRESS once its call
//! succeeded, with the response as output, until an update completes it.

use serde_json::Value;

use super::ctx::Ctx;
use super::flow::{self, Handler, handler};
use super::instance::Origin;
use super::{DecideError, Effect, Job, JobOutcome, TimerKind, do_while, switch, system};
use crate::model::WorkflowTask;
use crate::state::{Execution, TaskInstance, TaskStatus};

/// Task types run through a [`Job`].
pub(super) const JOB_TYPES: [&str; 5] = ["INLINE", "LAMBDA", "JSON_JQ_TRANSFORM", "HTTP", "EVENT"];

/// The output key holding an EVENT task's event name.
const EVENT_PRODUCED: &str = "event_produced";

/// The event an EVENT task's `sink` names, or why it names none.
fn event_name(sink: Option<&str>, workflow: &str, reference: &str) -> Result<String, String> {
    let sink = sink
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or("EVENT needs a sink")?;
    let (provider, queue) = sink.split_once(':').unwrap_or((sink, ""));
    if provider != "conductor" {
        return Err(format!(
            "event provider {provider:?} is not available (the built-in provider is conductor)"
        ));
    }
    Ok(if queue.is_empty() {
        format!("conductor:{workflow}:{}", super::iteration::base(reference))
    } else {
        format!("conductor:{workflow}:{queue}")
    })
}

fn text<'t>(t: &'t TaskInstance, key: &str) -> Option<&'t str> {
    t.input
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

/// The job a task of one of [`JOB_TYPES`] runs, or why its input makes none.
fn job_of(t: &TaskInstance) -> Result<Job, String> {
    match t.task_type.as_str() {
        "INLINE" => {
            let evaluator = text(t, "evaluatorType").unwrap_or("javascript");
            if !matches!(evaluator, "javascript" | "graaljs") {
                return Err(format!(
                    "unknown INLINE evaluatorType {evaluator:?} (javascript, graaljs or value-param)"
                ));
            }
            let script = text(t, "expression")
                .ok_or("INLINE needs an `expression` input holding the script")?;
            Ok(Job::Script {
                script: script.to_string(),
                bindings: t.input.clone(),
                body: false,
            })
        }
        "LAMBDA" => {
            let script = text(t, "scriptExpression")
                .ok_or("LAMBDA needs a `scriptExpression` input holding the script")?;
            Ok(Job::Script {
                script: script.to_string(),
                bindings: t.input.clone(),
                body: true,
            })
        }
        "JSON_JQ_TRANSFORM" => {
            text(t, "queryExpression")
                .ok_or("JSON_JQ_TRANSFORM needs a `queryExpression` input holding the jq query")?;
            Ok(Job::Jq {
                input: t.input.clone(),
            })
        }
        "HTTP" => Ok(Job::Http {
            input: t.input.clone(),
        }),
        "EVENT" => {
            let event = t
                .output
                .get(EVENT_PRODUCED)
                .and_then(Value::as_str)
                .ok_or("EVENT has no event to publish")?;
            // The message is the output the task was given when it was scheduled.
            Ok(Job::Publish {
                event: event.to_string(),
                payload: t.output.clone(),
            })
        }
        other => Err(format!("task type {other} runs no job")),
    }
}

/// Schedules an INLINE, LAMBDA, JSON_JQ_TRANSFORM or HTTP task: its job starts at once,
/// or after the retry delay for a retry.
pub(super) fn schedule(exec: &mut Execution, cx: &mut Ctx, wt: &WorkflowTask, origin: Origin) {
    let Some(mut t) = system::begin(exec, cx, wt, origin) else {
        return;
    };
    if wt.task_type == "HTTP" && wt.async_complete {
        t.input.insert("asyncComplete".into(), Value::Bool(true));
    }
    if wt.task_type == "EVENT" {
        let sink = wt.sink.clone().map_or(Value::Null, Value::from);
        t.input.insert("sink".into(), sink.clone());
        t.input
            .insert("asyncComplete".into(), Value::Bool(wt.async_complete));
        let w = &exec.workflow;
        let mut message = t.input.clone();
        message.insert(
            "workflowInstanceId".into(),
            Value::from(w.workflow_id.as_str()),
        );
        message.insert("workflowType".into(), Value::from(w.workflow_name.as_str()));
        message.insert("workflowVersion".into(), Value::from(w.workflow_version));
        message.insert(
            "correlationId".into(),
            w.correlation_id.as_deref().map_or(Value::Null, Value::from),
        );
        message.insert(
            "taskToDomain".into(),
            serde_json::to_value(&w.task_to_domain).unwrap_or_default(),
        );
        t.output = message;
        match event_name(wt.sink.as_deref(), &w.workflow_name, &t.reference_task_name) {
            Ok(event) => {
                t.output
                    .insert(EVENT_PRODUCED.to_string(), Value::from(event));
            }
            Err(reason) => {
                // Conductor names the sink itself when it is not one of its own.
                t.output.insert(EVENT_PRODUCED.to_string(), sink);
                system::record(exec, cx, t, TaskStatus::Failed, Some(reason));
                return;
            }
        }
    }
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
    let idx = exec.tasks.len();
    system::record(exec, cx, t, TaskStatus::Scheduled, None);
    start(exec, cx, idx);
}

/// Starts the job of the SCHEDULED task at `idx` (INLINE `value-param` completes at once).
pub(super) fn start(exec: &mut Execution, cx: &mut Ctx, idx: usize) {
    let t = &mut exec.tasks[idx];
    t.ready_due = None;
    t.status = TaskStatus::InProgress;
    t.start_time = Some(cx.now);
    if t.task_type == "INLINE" && text(t, "evaluatorType") == Some("value-param") {
        let result = text(t, "expression")
            .and_then(|key| t.input.get(key))
            .cloned()
            .unwrap_or(Value::Null);
        t.output.insert("result".to_string(), result);
        t.end_time = Some(cx.now);
        t.status = TaskStatus::Completed;
        cx.task_changed(t);
        return;
    }
    match job_of(t) {
        Ok(job) => request(t, cx, job),
        Err(reason) => {
            t.status = TaskStatus::FailedWithTerminalError;
            t.reason_for_incompletion = Some(reason);
            t.end_time = Some(cx.now);
            cx.task_changed(t);
        }
    }
}

/// Asks the runtime for a job: marks the task as waiting for it.
pub(super) fn request(t: &mut TaskInstance, cx: &mut Ctx, job: Job) {
    t.job_pending = true;
    let task_id = t.task_id.clone();
    cx.task_changed(t);
    cx.effect(Effect::Run { task_id, job });
}

/// The job the task at `idx` waits for, to ask for it again after a restart.
pub(super) fn pending_job(exec: &Execution, idx: usize) -> Option<Job> {
    let t = &exec.tasks[idx];
    if !t.job_pending || t.status != TaskStatus::InProgress {
        return None;
    }
    match handler(&t.task_type) {
        Handler::Loop => do_while::condition_job(exec, idx),
        Handler::Switch => switch::script_job(exec, idx),
        Handler::Job => job_of(t).ok(),
        _ => None,
    }
}

/// A job finished: the task it ran for takes the outcome. An outcome for a task that no
/// longer waits for one (already taken, or the task ended meanwhile) changes nothing.
pub(super) fn done(
    exec: &mut Execution,
    cx: &mut Ctx,
    task_id: &str,
    outcome: JobOutcome,
) -> Result<(), DecideError> {
    let Some(idx) = exec.task_index(task_id) else {
        return Err(DecideError::UnknownTask {
            task_id: task_id.to_string(),
            workflow_id: exec.workflow.workflow_id.clone(),
        });
    };
    let t = &mut exec.tasks[idx];
    if !t.job_pending || t.status != TaskStatus::InProgress {
        return Ok(());
    }
    t.job_pending = false;
    cx.task_changed(t);
    if exec.workflow.status.is_terminal() {
        return Ok(());
    }
    match handler(&exec.tasks[idx].task_type) {
        Handler::Loop => do_while::condition_done(exec, cx, idx, outcome),
        Handler::Switch => switch::script_done(exec, cx, idx, outcome),
        _ => take(&mut exec.tasks[idx], cx, outcome),
    }
    flow::advance(exec, cx);
    Ok(())
}

/// A job task takes its outcome.
fn take(t: &mut TaskInstance, cx: &mut Ctx, outcome: JobOutcome) {
    if t.task_type == "EVENT" {
        for (k, v) in outcome.output {
            t.output.insert(k, v);
        }
    } else {
        t.output = outcome.output;
    }
    match outcome.status {
        TaskStatus::InProgress => cx.task_changed(t),
        TaskStatus::Completed => {
            t.status = TaskStatus::Completed;
            t.end_time = Some(cx.now);
            cx.task_changed(t);
        }
        status => {
            let status = if status.is_terminal() && !status.is_successful() {
                status
            } else {
                TaskStatus::Failed
            };
            t.status = status;
            t.reason_for_incompletion = Some(
                outcome
                    .reason
                    .unwrap_or_else(|| format!("{} failed", t.task_type)),
            );
            t.end_time = Some(cx.now);
            cx.task_changed(t);
        }
    }
}

/// Whether an unsuccessful task of this type is retried by its task definition's rules.
pub(super) fn retried(task_type: &str) -> bool {
    task_type == "HTTP"
}
