//! The engine's records in Conductor's JSON shapes.

use std::sync::Arc;

use baton_core::decider::{definition_reference, workflow_task};
use baton_core::{TaskDef, TaskInstance, TaskStatus, WorkflowDef, WorkflowInstance};
use baton_server::Service;
use baton_server::work::Assignment;
use serde_json::Value;

use crate::model::{Task, Workflow, WorkflowRun};

/// What a view of a task may add from definitions.
pub struct Defs<'a> {
    /// The execution's definition, when at hand.
    pub workflow: Option<&'a WorkflowDef>,
    /// The service, for task definitions.
    pub svc: &'a Service,
}

impl Defs<'_> {
    fn task_def(&self, name: &str) -> Option<Arc<TaskDef>> {
        self.svc.task_def(name).ok()
    }
}

/// A task instance as Conductor's Task.
pub fn task(t: &TaskInstance, defs: &Defs<'_>) -> Task {
    let wt = defs
        .workflow
        .and_then(|d| workflow_task(d, definition_reference(&t.reference_task_name)))
        .and_then(|wt| serde_json::to_value(wt).ok());
    let is_worker = t.task_type == "SIMPLE";
    let def = is_worker.then(|| defs.task_def(&t.task_def_name)).flatten();
    let (rate, window) = def.as_ref().map_or((0, 0), |d| {
        (
            d.rate_limit_per_frequency.unwrap_or(0),
            d.rate_limit_frequency_in_seconds.unwrap_or(0),
        )
    });
    let start = t.start_time.unwrap_or(0);
    Task {
        task_type: t.reported_type().to_string(),
        status: t.status.as_str().to_string(),
        input_data: t.input.clone(),
        reference_task_name: t.reference_task_name.clone(),
        retry_count: t.retry_count,
        seq: t.seq,
        correlation_id: t.correlation_id.clone(),
        poll_count: t.poll_count,
        task_def_name: t.reported_def_name().to_string(),
        scheduled_time: t.scheduled_time,
        start_time: start,
        end_time: t.end_time.unwrap_or(0),
        update_time: t.update_time,
        start_delay_in_seconds: ((t.ready_time - t.scheduled_time).max(0)) / 1000,
        retried_task_id: t.retried_task_id.clone(),
        retried: t.retried,
        executed: t.status.is_terminal(),
        callback_from_worker: true,
        response_timeout_seconds: t.response_timeout_seconds,
        workflow_instance_id: t.workflow_id.clone(),
        workflow_type: t.workflow_type.clone(),
        task_id: t.task_id.clone(),
        reason_for_incompletion: t.reason_for_incompletion.clone(),
        callback_after_seconds: t.callback_after_seconds,
        worker_id: t.worker_id.clone(),
        output_data: t.output.clone(),
        workflow_task: wt,
        domain: t.domain.clone(),
        rate_limit_per_frequency: rate,
        rate_limit_frequency_in_seconds: window,
        workflow_priority: t.priority,
        iteration: t.iteration,
        sub_workflow_id: (t.task_type == "SUB_WORKFLOW")
            .then(|| t.output.get("subWorkflowId").and_then(Value::as_str))
            .flatten()
            .map(str::to_string),
        first_start_time: t.first_scheduled_time,
        queue_wait_time: if start > 0 {
            (start - t.scheduled_time).max(0)
        } else {
            0
        },
        loop_over_task: t.iteration > 0,
        task_definition: def.and_then(|d| serde_json::to_value(&*d).ok()),
    }
}

/// A task just handed to a worker, as Conductor's Task (IN_PROGRESS).
pub fn assignment(a: &Assignment, svc: &Service) -> Task {
    let def = svc.task_def(&a.task_def_name).ok();
    let (rate, window) = def.as_ref().map_or((0, 0), |d| {
        (
            d.rate_limit_per_frequency.unwrap_or(0),
            d.rate_limit_frequency_in_seconds.unwrap_or(0),
        )
    });
    let start = a.lease_deadline - a.response_timeout_seconds.max(1) * 1000;
    Task {
        task_type: a.task_def_name.clone(),
        status: TaskStatus::InProgress.as_str().to_string(),
        input_data: a.input.clone(),
        reference_task_name: a.reference_task_name.clone(),
        retry_count: a.retry_count,
        seq: a.seq,
        correlation_id: a.correlation_id.clone(),
        poll_count: a.poll_count,
        task_def_name: a.task_def_name.clone(),
        scheduled_time: a.ready_time,
        start_time: start,
        end_time: 0,
        update_time: start,
        start_delay_in_seconds: 0,
        retried_task_id: None,
        retried: false,
        executed: false,
        callback_from_worker: true,
        response_timeout_seconds: a.response_timeout_seconds,
        workflow_instance_id: a.workflow_id.clone(),
        workflow_type: a.workflow_type.clone(),
        task_id: a.task_id.clone(),
        reason_for_incompletion: None,
        callback_after_seconds: 0,
        worker_id: None,
        output_data: a.output.clone(),
        workflow_task: None,
        domain: a.domain.clone(),
        rate_limit_per_frequency: rate,
        rate_limit_frequency_in_seconds: window,
        workflow_priority: a.priority,
        iteration: a.iteration,
        sub_workflow_id: None,
        first_start_time: a.ready_time,
        queue_wait_time: (start - a.ready_time).max(0),
        loop_over_task: a.iteration > 0,
        task_definition: def.and_then(|d| serde_json::to_value(&*d).ok()),
    }
}

/// An execution as Conductor's Workflow.
pub fn workflow(
    w: &WorkflowInstance,
    tasks: &[TaskInstance],
    def: Option<&WorkflowDef>,
    svc: &Service,
) -> Workflow {
    let defs = Defs { workflow: def, svc };
    let failed: Vec<&TaskInstance> = if w.status.is_terminal() {
        tasks
            .iter()
            .filter(|t| {
                matches!(
                    t.status,
                    TaskStatus::Failed | TaskStatus::FailedWithTerminalError | TaskStatus::TimedOut
                ) && !t.retried
                    && !t.optional
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut failed_refs: Vec<String> = failed
        .iter()
        .map(|t| t.reference_task_name.clone())
        .collect();
    if let Some(r) = &w.failed_reference_task_name
        && !failed_refs.contains(r)
    {
        failed_refs.push(r.clone());
    }
    let mut failed_names: Vec<String> = failed
        .iter()
        .map(|t| t.reported_type().to_string())
        .collect();
    failed_names.dedup();
    Workflow {
        status: w.status.as_str().to_string(),
        create_time: w.create_time,
        update_time: w.update_time,
        end_time: w.end_time.unwrap_or(0),
        start_time: w.create_time,
        workflow_id: w.workflow_id.clone(),
        workflow_name: w.workflow_name.clone(),
        workflow_version: w.workflow_version,
        parent_workflow_id: w.parent_workflow_id.clone(),
        parent_workflow_task_id: w.parent_workflow_task_id.clone(),
        tasks: tasks.iter().map(|t| task(t, &defs)).collect(),
        input: w.input.clone(),
        output: w.output.clone(),
        correlation_id: w.correlation_id.clone(),
        reason_for_incompletion: w.reason_for_incompletion.clone(),
        task_to_domain: w.task_to_domain.clone(),
        failed_reference_task_names: failed_refs,
        failed_task_names: failed_names,
        workflow_definition: Some(definition_json(w, def, svc)),
        priority: w.priority,
        variables: w.variables.clone(),
        idempotency_key: w.idempotency_key.clone(),
    }
}

/// The definition an execution runs, as JSON: the one given, else the registered version,
/// else (an inline definition not at hand) its name and version. Conductor's clients read
/// an execution's name and version from it, so it is never left out.
fn definition_json(w: &WorkflowInstance, def: Option<&WorkflowDef>, svc: &Service) -> Value {
    let registered;
    let def = match def {
        Some(d) => Some(d),
        None => {
            registered = svc
                .workflow_def(&w.workflow_name, Some(w.workflow_version))
                .ok();
            registered.as_deref()
        }
    };
    def.and_then(|d| serde_json::to_value(d).ok())
        .unwrap_or_else(
            || serde_json::json!({"name": w.workflow_name, "version": w.workflow_version}),
        )
}

/// An execution as a synchronous run answers it.
pub fn run(wf: Workflow, request_id: Option<String>) -> WorkflowRun {
    WorkflowRun {
        workflow_id: wf.workflow_id,
        request_id,
        correlation_id: wf.correlation_id,
        input: wf.input,
        output: wf.output,
        tasks: wf.tasks,
        status: wf.status,
        priority: wf.priority,
        variables: wf.variables,
        create_time: wf.create_time,
        update_time: wf.update_time,
    }
}

/// A worker the server knows of, in the API's shape.
pub(crate) fn worker_info(w: baton_server::WorkerInfo) -> crate::model::WorkerInfo {
    crate::model::WorkerInfo {
        kind: match w.kind {
            baton_server::WorkerKind::Stream => "STREAM",
            baton_server::WorkerKind::Poll => "POLL",
        }
        .to_string(),
        worker_id: w.worker_id,
        connection_id: w.connection,
        task_types: w.task_types,
        domain: w.domain,
        credits: w.credits,
        in_flight: w.in_flight as i64,
        connected_time: w.connected_at,
        last_seen_time: w.last_seen,
        polls_waiting: w.polls_waiting as i64,
    }
}
