//! SUB_WORKFLOW, START_WORKFLOW and the `failureWorkflow` of a failed run: workflows one
//! execution asks the runtime to start.
//!
//! A SUB_WORKFLOW task starts a child (the registered definition `subWorkflowParam.name`
//! at `version`, latest when absent, or the inline `workflowDefinition`) with the task's
//! input, the parent's correlation id, `taskToDomain` (else the parent's) and `priority`
//! (else the parent's). The child's id is the task's id, written to the task's output as
//! `subWorkflowId` at once, so that asking for the start again after a restart cannot start
//! a second child. The task is IN_PROGRESS while the child runs and ends as the child
//! does: COMPLETED (with the child's output), FAILED, TIMED_OUT, or CANCELED for a child
//! that was terminated; a child that cannot start (unknown definition, invalid input)
//! FAILS the task with the reason. When the task is cancelled (the parent is terminated
//! or fails elsewhere) the child is terminated too. What the task resolved (name, version,
//! domains, inline definition) is kept in its input under `subWorkflowName`,
//! `subWorkflowVersion`, `subWorkflowTaskToDomain`, `subWorkflowDefinition`.
//!
//! A START_WORKFLOW task starts `startWorkflow{name, version, input, correlationId,
//! taskToDomain, priority, idempotencyKey, idempotencyStrategy}` and COMPLETES once it is
//! started, with `workflowId`; it does not wait for it. One that cannot start (no or a
//! bad `startWorkflow`, an unknown workflow) FAILS.
//!
//! A run that ends FAILED or TIMED_OUT starts its definition's `failureWorkflow` (or, for
//! `$workflow.input.<key>`, the workflow its input names under that key) with
//! input `workflowId`, `reason`, `failureStatus`, `failureTaskId` (the task that failed,
//! if one did) and `failedWorkflow` (the failed run's summary).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::ctx::Ctx;
use super::flow;
use super::instance::Origin;
use super::scope::ExecScope;
use super::{ChildStart, Effect, lifecycle, system};
use crate::expr;
use crate::model::{Object, WorkflowDef, WorkflowTask};
use crate::state::{Execution, TaskInstance, TaskStatus, WorkflowStatus};
use crate::validate::parse_workflow_def;

const NAME: &str = "subWorkflowName";
const VERSION: &str = "subWorkflowVersion";
const DOMAINS: &str = "subWorkflowTaskToDomain";
const DEFINITION: &str = "subWorkflowDefinition";
const PRIORITY: &str = "subWorkflowPriority";
const IDEMPOTENCY_KEY: &str = "subWorkflowIdempotencyKey";
const IDEMPOTENCY_STRATEGY: &str = "subWorkflowIdempotencyStrategy";
const KEYS: [&str; 7] = [
    NAME,
    VERSION,
    DOMAINS,
    DEFINITION,
    PRIORITY,
    IDEMPOTENCY_KEY,
    IDEMPOTENCY_STRATEGY,
];

/// A whole number from a JSON number or a numeric string.
fn number(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A map of strings from a JSON object.
fn domains(v: &Value) -> Result<BTreeMap<String, String>, String> {
    let Value::Object(m) = v else {
        return Err(format!("taskToDomain must be an object, got {v}"));
    };
    m.iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            other => Err(format!("taskToDomain.{k} must be a string, got {other}")),
        })
        .collect()
}

/// Schedules a SUB_WORKFLOW or START_WORKFLOW task.
pub(super) fn schedule(exec: &mut Execution, cx: &mut Ctx, wt: &WorkflowTask, origin: Origin) {
    let Some(mut t) = system::begin(exec, cx, wt, origin) else {
        return;
    };
    let resolved = if wt.task_type == "SUB_WORKFLOW" {
        resolve_params(exec, wt, &t)
    } else {
        Ok(Map::new())
    };
    let prepared = resolved.and_then(|params| {
        for (k, v) in params {
            t.input.insert(k, v);
        }
        request(exec, &t)
    });
    match prepared {
        Ok(request) => {
            if wt.task_type == "SUB_WORKFLOW" {
                t.output
                    .insert("subWorkflowId".to_string(), Value::from(t.task_id.as_str()));
            }
            t.job_pending = wt.task_type == "START_WORKFLOW";
            let task_id = t.task_id.clone();
            system::record(exec, cx, t, TaskStatus::InProgress, None);
            cx.effect(Effect::StartWorkflow {
                task_id: Some(task_id),
                request,
            });
        }
        Err(reason) => {
            // Conductor fails a START_WORKFLOW that cannot start (retriable, though the
            // flow does not retry it); a SUB_WORKFLOW that cannot even be asked for is
            // final.
            let status = if wt.task_type == "START_WORKFLOW" {
                TaskStatus::Failed
            } else {
                TaskStatus::FailedWithTerminalError
            };
            system::record(exec, cx, t, status, Some(reason));
        }
    }
}

/// The SUB_WORKFLOW's `subWorkflowParam`, its expressions resolved, as input keys.
fn resolve_params(exec: &Execution, wt: &WorkflowTask, t: &TaskInstance) -> Result<Object, String> {
    let p = wt
        .sub_workflow_param
        .as_ref()
        .ok_or("SUB_WORKFLOW needs subWorkflowParam")?;
    let Value::Object(raw) = serde_json::to_value(p).map_err(|e| e.to_string())? else {
        return Err("subWorkflowParam must be an object".to_string());
    };
    let scope = ExecScope::new(exec, Some(&t.task_id));
    let mut resolved = Object::new();
    for (k, v) in raw {
        // An inline definition's own expressions belong to the child: only an expression
        // that yields the whole definition is resolved here.
        let v = if k == "workflowDefinition" && !v.is_string() {
            v
        } else {
            expr::resolve_value(&v, &scope)
                .map_err(|e| format!("cannot compute subWorkflowParam.{k}: {e}"))?
        };
        resolved.insert(k, v);
    }
    let mut out = Object::new();
    for (from, to) in [
        ("name", NAME),
        ("version", VERSION),
        ("taskToDomain", DOMAINS),
        ("workflowDefinition", DEFINITION),
        ("priority", PRIORITY),
        ("idempotencyKey", IDEMPOTENCY_KEY),
        ("idempotencyStrategy", IDEMPOTENCY_STRATEGY),
    ] {
        if let Some(v) = resolved.get(from).filter(|v| !v.is_null()) {
            out.insert(to.to_string(), v.clone());
        }
    }
    Ok(out)
}

/// What to start for the SUB_WORKFLOW or START_WORKFLOW instance `t`, from its input.
fn request(exec: &Execution, t: &TaskInstance) -> Result<ChildStart, String> {
    let wf = &exec.workflow;
    if t.task_type == "START_WORKFLOW" {
        let Some(Value::Object(s)) = t.input.get("startWorkflow") else {
            return Err("START_WORKFLOW needs a startWorkflow object in its input".to_string());
        };
        let name = s
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or("startWorkflow.name is missing")?;
        let input = match s.get("input") {
            None | Some(Value::Null) => Object::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(other) => {
                return Err(format!(
                    "startWorkflow.input must be an object, got {other}"
                ));
            }
        };
        return Ok(ChildStart {
            workflow_id: t.task_id.clone(),
            name: name.to_string(),
            version: s
                .get("version")
                .and_then(number)
                .and_then(|v| i32::try_from(v).ok()),
            definition: None,
            input,
            correlation_id: s
                .get("correlationId")
                .and_then(Value::as_str)
                .map(str::to_string),
            priority: s
                .get("priority")
                .and_then(number)
                .and_then(|p| i32::try_from(p).ok())
                .unwrap_or(0),
            task_to_domain: match s.get("taskToDomain") {
                None | Some(Value::Null) => BTreeMap::new(),
                Some(v) => domains(v).map_err(|e| format!("startWorkflow.{e}"))?,
            },
            idempotency_key: s
                .get("idempotencyKey")
                .and_then(Value::as_str)
                .map(str::to_string),
            idempotency_strategy: s
                .get("idempotencyStrategy")
                .and_then(Value::as_str)
                .map(str::to_string),
            parent: None,
        });
    }
    let definition = match t.input.get(DEFINITION) {
        None => None,
        Some(v @ Value::Object(_)) => {
            let def = parse_workflow_def(v).map_err(|problems| {
                let texts: Vec<String> = problems
                    .iter()
                    .map(|p| format!("{}: {}", p.path, p.message))
                    .collect();
                format!(
                    "the inline sub-workflow definition is invalid: {}",
                    texts.join("; ")
                )
            })?;
            Some(Arc::new(def))
        }
        Some(other) => {
            return Err(format!(
                "subWorkflowParam.workflowDefinition must be an object, got {other}"
            ));
        }
    };
    let name = match (t.input.get(NAME).and_then(Value::as_str), &definition) {
        (Some(n), _) if !n.is_empty() => n.to_string(),
        (_, Some(d)) => d.name.clone(),
        _ => return Err("subWorkflowParam.name is missing".to_string()),
    };
    let version = match t.input.get(VERSION) {
        None => None,
        Some(v) => Some(
            number(v)
                .and_then(|n| i32::try_from(n).ok())
                .ok_or_else(|| format!("subWorkflowParam.version must be a number, got {v}"))?,
        ),
    };
    let task_to_domain = match t.input.get(DOMAINS) {
        None => wf.task_to_domain.clone(),
        Some(v) => domains(v).map_err(|e| format!("subWorkflowParam.{e}"))?,
    };
    let priority = match t.input.get(PRIORITY) {
        None => wf.priority,
        Some(v) => number(v)
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| format!("subWorkflowParam.priority must be a number, got {v}"))?,
    };
    let mut input = t.input.clone();
    for k in KEYS {
        input.remove(k);
    }
    Ok(ChildStart {
        workflow_id: t.task_id.clone(),
        name,
        version,
        definition,
        input,
        correlation_id: wf.correlation_id.clone(),
        priority,
        task_to_domain,
        idempotency_key: t
            .input
            .get(IDEMPOTENCY_KEY)
            .and_then(Value::as_str)
            .map(str::to_string),
        idempotency_strategy: t
            .input
            .get(IDEMPOTENCY_STRATEGY)
            .and_then(Value::as_str)
            .map(str::to_string),
        parent: Some((wf.workflow_id.clone(), t.task_id.clone())),
    })
}

/// The start to ask for again after a restart: a SUB_WORKFLOW waiting for its child, a
/// START_WORKFLOW waiting for its start.
pub(super) fn pending_start(exec: &Execution, idx: usize) -> Option<Effect> {
    let t = &exec.tasks[idx];
    let waiting = t.status == TaskStatus::InProgress
        && (t.task_type == "SUB_WORKFLOW" || (t.task_type == "START_WORKFLOW" && t.job_pending));
    if !waiting {
        return None;
    }
    Some(Effect::StartWorkflow {
        task_id: Some(t.task_id.clone()),
        request: request(exec, t).ok()?,
    })
}

/// A child ended (`started`), or could not start: its SUB_WORKFLOW task ends the same way
/// (a child that never started leaves no `subWorkflowId` behind). A report for a task that
/// no longer waits (already ended, cancelled) changes nothing.
#[allow(clippy::too_many_arguments)]
pub(super) fn child_ended(
    exec: &mut Execution,
    cx: &mut Ctx,
    task_id: &str,
    child_id: &str,
    status: WorkflowStatus,
    output: Object,
    reason: Option<String>,
    started: bool,
) {
    let Some(idx) = exec.task_index(task_id) else {
        return;
    };
    let t = &mut exec.tasks[idx];
    let ours = t.output.get("subWorkflowId").and_then(Value::as_str) == Some(child_id);
    if t.task_type != "SUB_WORKFLOW" || t.status != TaskStatus::InProgress || !ours {
        return;
    }
    if !started {
        t.output.remove("subWorkflowId");
    }
    let task_status = match status {
        WorkflowStatus::Completed => TaskStatus::Completed,
        WorkflowStatus::TimedOut => TaskStatus::TimedOut,
        WorkflowStatus::Terminated => TaskStatus::Canceled,
        _ => TaskStatus::Failed,
    };
    for (k, v) in output {
        t.output.insert(k, v);
    }
    let reason = (!task_status.is_successful()).then(|| {
        format!(
            "sub-workflow {child_id} ended {}: {}",
            status.as_str(),
            reason.as_deref().unwrap_or("no reason given")
        )
    });
    lifecycle::finish(t, cx, task_status, reason);
    if !exec.workflow.status.is_terminal() {
        flow::advance(exec, cx);
    }
}

/// Terminates the child of a SUB_WORKFLOW instance that is being cancelled.
pub(super) fn cancel_child(t: &TaskInstance, cx: &mut Ctx, reason: &str) {
    if t.task_type != "SUB_WORKFLOW" || t.status.is_terminal() {
        return;
    }
    if let Some(child) = t.output.get("subWorkflowId").and_then(Value::as_str) {
        cx.effect(Effect::TerminateWorkflow {
            workflow_id: child.to_string(),
            reason: format!("parent workflow {} {reason}", t.workflow_id),
        });
    }
}

/// The output key under which a failed run names the failure workflow it started.
pub(super) const FAILURE_WORKFLOW_OUTPUT_KEY: &str = "conductor.failure_workflow";

/// The `failureWorkflow` to start for a run that just ended in `status`, if any.
pub(super) fn failure_workflow(exec: &Execution, status: WorkflowStatus) -> Option<Effect> {
    let wf = &exec.workflow;
    let given = exec.def.failure_workflow.as_deref()?;
    // As in Conductor, `$workflow.input.<key>` names the input key that holds the name;
    // a run without it starts no failure workflow.
    let name = if given.starts_with('$') {
        let key = given.split('.').nth(2)?;
        wf.input.get(key).and_then(Value::as_str)?
    } else {
        given
    };
    if name.is_empty() || !matches!(status, WorkflowStatus::Failed | WorkflowStatus::TimedOut) {
        return None;
    }
    let failed_task = wf
        .failed_reference_task_name
        .as_deref()
        .and_then(|r| exec.latest_task(r));
    // The failed run's own input, with what went wrong on top (Conductor's shape).
    let mut input = wf.input.clone();
    let facts = json!({
        "workflowId": wf.workflow_id,
        "reason": wf.reason_for_incompletion,
        "failureStatus": status.as_str(),
        "failureTaskId": failed_task.map(|t| t.task_id.clone()),
        "failedWorkflow": {
            "workflowId": wf.workflow_id,
            "workflowName": wf.workflow_name,
            "workflowVersion": wf.workflow_version,
            "status": status.as_str(),
            "input": wf.input,
            "output": wf.output,
            "variables": wf.variables,
            "correlationId": wf.correlation_id,
            "reasonForIncompletion": wf.reason_for_incompletion,
            "failedReferenceTaskNames": wf.failed_reference_task_name,
            "startTime": wf.start_time,
            "endTime": wf.end_time,
        },
    });
    if let Value::Object(facts) = facts {
        input.extend(facts);
    }
    Some(Effect::StartWorkflow {
        task_id: None,
        request: ChildStart {
            workflow_id: format!("{}-failure-{}", wf.workflow_id, wf.start_time),
            name: name.to_string(),
            version: exec.def.failure_workflow_version,
            definition: None::<Arc<WorkflowDef>>,
            input,
            correlation_id: wf.correlation_id.clone(),
            priority: wf.priority,
            task_to_domain: wf.task_to_domain.clone(),
            idempotency_key: None,
            idempotency_strategy: None,
            parent: None,
        },
    })
}
