//! Conversions between the engine's records and `baton.v1` messages.

use baton_core::query::{TaskSummary, WorkflowSummary};
use baton_core::{TaskInstance, TaskStatus, WorkflowInstance, WorkflowStatus};
use baton_proto::v1 as pb;
use baton_server::work::{Ack, Assignment, WorkerMsg};
use serde_json::Value;
use tonic::Status;

use crate::convert::{object_to_struct, opt_ts, struct_to_object, ts};

/// The JSON values a `Definition` holds: one, or several when the text is an array.
pub(crate) fn definition_values(
    def: Option<&pb::Definition>,
    field: &str,
) -> Result<Vec<Value>, Status> {
    let body = def.and_then(|d| d.body.as_ref()).ok_or_else(|| {
        Status::invalid_argument(format!(
            "{field}: a definition (json or json_text) is required"
        ))
    })?;
    match body {
        pb::definition::Body::Json(s) => Ok(vec![Value::Object(struct_to_object(s))]),
        pb::definition::Body::JsonText(text) => {
            let v: Value = serde_json::from_str(text).map_err(|e| {
                Status::invalid_argument(format!("{field}: definition is not valid JSON: {e}"))
            })?;
            match v {
                Value::Array(items) => Ok(items),
                other => Ok(vec![other]),
            }
        }
    }
}

pub(crate) fn workflow_status(s: WorkflowStatus) -> pb::WorkflowStatus {
    match s {
        WorkflowStatus::Running => pb::WorkflowStatus::Running,
        WorkflowStatus::Paused => pb::WorkflowStatus::Paused,
        WorkflowStatus::Completed => pb::WorkflowStatus::Completed,
        WorkflowStatus::Failed => pb::WorkflowStatus::Failed,
        WorkflowStatus::TimedOut => pb::WorkflowStatus::TimedOut,
        WorkflowStatus::Terminated => pb::WorkflowStatus::Terminated,
    }
}

pub(crate) fn task_status(s: TaskStatus) -> pb::TaskStatus {
    match s {
        TaskStatus::Scheduled => pb::TaskStatus::Scheduled,
        TaskStatus::InProgress => pb::TaskStatus::InProgress,
        TaskStatus::Completed => pb::TaskStatus::Completed,
        TaskStatus::CompletedWithErrors => pb::TaskStatus::CompletedWithErrors,
        TaskStatus::Failed => pb::TaskStatus::Failed,
        TaskStatus::FailedWithTerminalError => pb::TaskStatus::FailedWithTerminalError,
        TaskStatus::TimedOut => pb::TaskStatus::TimedOut,
        TaskStatus::Canceled => pb::TaskStatus::Canceled,
        TaskStatus::Skipped => pb::TaskStatus::Skipped,
    }
}

pub(crate) fn task_status_from(s: i32) -> Option<TaskStatus> {
    Some(match pb::TaskStatus::try_from(s).ok()? {
        pb::TaskStatus::Unspecified => return None,
        pb::TaskStatus::Scheduled => TaskStatus::Scheduled,
        pb::TaskStatus::InProgress => TaskStatus::InProgress,
        pb::TaskStatus::Completed => TaskStatus::Completed,
        pb::TaskStatus::CompletedWithErrors => TaskStatus::CompletedWithErrors,
        pb::TaskStatus::Failed => TaskStatus::Failed,
        pb::TaskStatus::FailedWithTerminalError => TaskStatus::FailedWithTerminalError,
        pb::TaskStatus::TimedOut => TaskStatus::TimedOut,
        pb::TaskStatus::Canceled => TaskStatus::Canceled,
        pb::TaskStatus::Skipped => TaskStatus::Skipped,
    })
}

pub(crate) fn task_to_pb(t: &TaskInstance) -> pb::Task {
    pb::Task {
        task_id: t.task_id.clone(),
        task_def_name: t.reported_def_name().to_string(),
        task_type: t.reported_type().to_string(),
        reference_task_name: t.reference_task_name.clone(),
        status: task_status(t.status) as i32,
        input: Some(object_to_struct(&t.input)),
        output: Some(object_to_struct(&t.output)),
        seq: t.seq,
        retry_count: t.retry_count,
        poll_count: t.poll_count,
        workflow_id: t.workflow_id.clone(),
        workflow_type: t.workflow_type.clone(),
        worker_id: t.worker_id.clone().unwrap_or_default(),
        reason_for_incompletion: t.reason_for_incompletion.clone().unwrap_or_default(),
        callback_after_seconds: t.callback_after_seconds,
        domain: t.domain.clone().unwrap_or_default(),
        retried_task_id: t.retried_task_id.clone().unwrap_or_default(),
        response_timeout_seconds: t.response_timeout_seconds,
        scheduled_time: Some(ts(t.scheduled_time)),
        start_time: opt_ts(t.start_time),
        end_time: opt_ts(t.end_time),
        correlation_id: t.correlation_id.clone().unwrap_or_default(),
        priority: t.priority,
        optional: t.optional,
        iteration: t.iteration,
        update_time: Some(ts(t.update_time)),
    }
}

pub(crate) fn workflow_to_pb(w: &WorkflowInstance, tasks: &[TaskInstance]) -> pb::Workflow {
    pb::Workflow {
        workflow_id: w.workflow_id.clone(),
        workflow_name: w.workflow_name.clone(),
        workflow_version: w.workflow_version,
        status: workflow_status(w.status) as i32,
        input: Some(object_to_struct(&w.input)),
        output: Some(object_to_struct(&w.output)),
        correlation_id: w.correlation_id.clone().unwrap_or_default(),
        priority: w.priority,
        reason_for_incompletion: w.reason_for_incompletion.clone().unwrap_or_default(),
        variables: Some(object_to_struct(&w.variables)),
        task_to_domain: w.task_to_domain.clone().into_iter().collect(),
        tasks: tasks.iter().map(task_to_pb).collect(),
        create_time: Some(ts(w.create_time)),
        start_time: Some(ts(w.start_time)),
        end_time: opt_ts(w.end_time),
        update_time: Some(ts(w.update_time)),
        parent_workflow_id: w.parent_workflow_id.clone().unwrap_or_default(),
        parent_workflow_task_id: w.parent_workflow_task_id.clone().unwrap_or_default(),
        idempotency_key: w.idempotency_key.clone().unwrap_or_default(),
        failed_reference_task_name: w.failed_reference_task_name.clone().unwrap_or_default(),
    }
}

/// A hand-out as the worker sees it.
pub(crate) fn assignment_to_pb(a: &Assignment) -> pb::TaskAssignment {
    pb::TaskAssignment {
        task_id: a.task_id.clone(),
        token: a.token.clone(),
        task_def_name: a.task_def_name.clone(),
        reference_task_name: a.reference_task_name.clone(),
        workflow_id: a.workflow_id.clone(),
        workflow_type: a.workflow_type.clone(),
        input: Some(object_to_struct(&a.input)),
        retry_count: a.retry_count,
        poll_count: a.poll_count,
        response_timeout_seconds: a.response_timeout_seconds,
        lease_deadline: (a.lease_deadline > 0).then(|| ts(a.lease_deadline)),
        domain: a.domain.clone().unwrap_or_default(),
        correlation_id: a.correlation_id.clone().unwrap_or_default(),
        iteration: a.iteration,
        ready_time: opt_ts(Some(a.ready_time)),
        output: Some(object_to_struct(&a.output)),
    }
}

fn ack_to_pb(a: Ack) -> pb::Ack {
    let mut ack = pb::Ack {
        task_id: a.task_id,
        token: a.token,
        ..Default::default()
    };
    match a.outcome {
        Ok(deadline) => {
            ack.ok = true;
            ack.lease_deadline = deadline.map(ts);
        }
        Err(e) => {
            ack.code = e.code_name().to_string();
            ack.message = e.to_string();
        }
    }
    ack
}

/// A message to a worker as it goes on its stream.
pub(crate) fn worker_msg_to_pb(m: WorkerMsg) -> Result<pb::WorkResponse, Status> {
    use pb::work_response::Kind;
    let kind = match m {
        WorkerMsg::Task(a) => Kind::Task(assignment_to_pb(&a)),
        WorkerMsg::ResultAck(a) => Kind::ResultAck(ack_to_pb(a)),
        WorkerMsg::LeaseAck(a) => Kind::LeaseAck(ack_to_pb(a)),
        WorkerMsg::Refused(e) => return Err(crate::status(e)),
    };
    Ok(pb::WorkResponse { kind: Some(kind) })
}

/// Messages to a worker that takes batches: each run of tasks becomes one `TaskBatch`, each
/// run of result acknowledgements one `AckBatch` (a run of one stays a single message);
/// order is kept, and a refusal ends the list.
pub(crate) fn worker_msgs_to_pb(msgs: Vec<WorkerMsg>) -> Vec<Result<pb::WorkResponse, Status>> {
    use pb::work_response::Kind;
    let mut out: Vec<Result<pb::WorkResponse, Status>> = Vec::new();
    let mut tasks: Vec<pb::TaskAssignment> = Vec::new();
    let mut acks: Vec<pb::Ack> = Vec::new();
    fn flush(
        out: &mut Vec<Result<pb::WorkResponse, Status>>,
        tasks: &mut Vec<pb::TaskAssignment>,
        acks: &mut Vec<pb::Ack>,
    ) {
        let kind = |k| Ok(pb::WorkResponse { kind: Some(k) });
        match tasks.len() {
            0 => {}
            1 => out.push(kind(Kind::Task(tasks.remove(0)))),
            _ => out.push(kind(Kind::Tasks(pb::TaskBatch {
                tasks: std::mem::take(tasks),
            }))),
        }
        match acks.len() {
            0 => {}
            1 => out.push(kind(Kind::ResultAck(acks.remove(0)))),
            _ => out.push(kind(Kind::ResultAcks(pb::AckBatch {
                acks: std::mem::take(acks),
            }))),
        }
    }
    for m in msgs {
        match m {
            WorkerMsg::Task(a) => {
                if !acks.is_empty() {
                    flush(&mut out, &mut tasks, &mut acks);
                }
                tasks.push(assignment_to_pb(&a));
            }
            WorkerMsg::ResultAck(a) => {
                if !tasks.is_empty() {
                    flush(&mut out, &mut tasks, &mut acks);
                }
                acks.push(ack_to_pb(a));
            }
            other => {
                flush(&mut out, &mut tasks, &mut acks);
                let refused = matches!(other, WorkerMsg::Refused(_));
                out.push(worker_msg_to_pb(other));
                if refused {
                    return out;
                }
            }
        }
    }
    flush(&mut out, &mut tasks, &mut acks);
    out
}

/// A JSON value as a Struct (an object; anything else is wrapped under "value").
fn value_struct(v: &Value) -> prost_types::Struct {
    match v {
        Value::Object(m) => object_to_struct(m),
        Value::Null => prost_types::Struct::default(),
        other => {
            let mut m = serde_json::Map::new();
            m.insert("value".into(), other.clone());
            object_to_struct(&m)
        }
    }
}

/// A workflow search row as a message.
pub(crate) fn workflow_summary_to_pb(w: &WorkflowSummary) -> pb::WorkflowSummary {
    pb::WorkflowSummary {
        workflow_id: w.workflow_id.clone(),
        workflow_type: w.workflow_type.clone(),
        version: w.version,
        correlation_id: w.correlation_id.clone(),
        status: workflow_status(w.status) as i32,
        start_time: Some(ts(w.start_time)),
        update_time: Some(ts(w.update_time)),
        end_time: opt_ts(w.end_time),
        input: Some(value_struct(&w.input)),
        output: Some(value_struct(&w.output)),
        reason_for_incompletion: w.reason_for_incompletion.clone(),
        execution_time_ms: w.execution_time.unwrap_or(0),
        event: w.event.clone(),
        failed_reference_task_names: w.failed_reference_task_names.clone(),
        failed_task_names: w.failed_task_names.clone(),
        priority: w.priority,
        idempotency_key: w.idempotency_key.clone(),
        task_to_domain: w.task_to_domain.clone().into_iter().collect(),
        input_size: w.input_size,
        output_size: w.output_size,
    }
}

/// A task search row as a message.
pub(crate) fn task_summary_to_pb(t: &TaskSummary) -> pb::TaskSummary {
    pb::TaskSummary {
        task_id: t.task_id.clone(),
        task_type: t.task_type.clone(),
        task_def_name: t.task_def_name.clone(),
        status: task_status(t.status) as i32,
        workflow_id: t.workflow_id.clone(),
        workflow_type: t.workflow_type.clone(),
        correlation_id: t.correlation_id.clone(),
        scheduled_time: Some(ts(t.scheduled_time)),
        start_time: opt_ts(t.start_time),
        update_time: Some(ts(t.update_time)),
        end_time: opt_ts(t.end_time),
        reason_for_incompletion: t.reason_for_incompletion.clone(),
        execution_time_ms: t.execution_time.unwrap_or(0),
        queue_wait_time_ms: t.queue_wait_time.unwrap_or(0),
        input: Some(value_struct(&t.input)),
        output: Some(value_struct(&t.output)),
        workflow_priority: t.workflow_priority,
        domain: t.domain.clone(),
    }
}

/// Search parameters from the wire; an absent size means 100.
pub(crate) fn search_params(
    query: &str,
    free_text: &str,
    sort: &[String],
    start: i32,
    size: Option<i32>,
) -> Result<baton_server::service::SearchParams, Status> {
    if start < 0 {
        return Err(Status::invalid_argument(format!(
            "start must be 0 or more, found {start}"
        )));
    }
    let size = size.unwrap_or(100);
    if size < 0 {
        return Err(Status::invalid_argument(format!(
            "size must be 0 or more, found {size}"
        )));
    }
    Ok(baton_server::service::SearchParams {
        query: query.to_string(),
        free_text: free_text.to_string(),
        sort: sort.to_vec(),
        start: start as usize,
        size: size as usize,
    })
}

/// A worker the server knows of, on the wire.
pub(crate) fn worker_info_to_pb(w: baton_server::WorkerInfo) -> pb::WorkerInfo {
    pb::WorkerInfo {
        kind: match w.kind {
            baton_server::WorkerKind::Stream => pb::WorkerKind::Stream,
            baton_server::WorkerKind::Poll => pb::WorkerKind::Poll,
        } as i32,
        worker_id: w.worker_id,
        connection_id: w.connection,
        task_types: w.task_types,
        domain: w.domain.unwrap_or_default(),
        credits: w.credits,
        in_flight: w.in_flight as i64,
        connected_time: w.connected_at.map(crate::convert::ts),
        last_seen_time: Some(crate::convert::ts(w.last_seen)),
        polls_waiting: w.polls_waiting as i64,
    }
}

/// A ready queue's size, on the wire.
pub(crate) fn queue_info_to_pb(d: baton_server::matching::QueueDepth) -> pb::QueueInfo {
    pb::QueueInfo {
        task_type: d.queue.task_type,
        domain: d.queue.domain.unwrap_or_default(),
        depth: d.depth as i64,
        subscribers: d.subscribers as i64,
    }
}
