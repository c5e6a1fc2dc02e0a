//! TaskService: the worker stream, unary polls and results.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use baton_core::{Event, QueueKey, TaskLog, TaskResult, TaskStatus};
use baton_proto::v1 as pb;
use baton_proto::v1::task_service_server::TaskService;
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use super::{task_status_from, task_to_pb};
use crate::convert::{ms, opt_struct_to_object, ts};
use crate::engine::Engine;
use crate::error::code_name;
use crate::executor::Replier;
use crate::now_ms;

/// The TaskService implementation.
pub struct Tasks {
    engine: Arc<Engine>,
    shutdown: tokio::sync::watch::Receiver<bool>,
}

impl Tasks {
    /// Serves workers of `engine`; worker streams end when `shutdown` turns true.
    pub fn new(engine: Arc<Engine>, shutdown: tokio::sync::watch::Receiver<bool>) -> Self {
        Self { engine, shutdown }
    }
}

fn queue_key(task_type: &str, domain: &str) -> Result<QueueKey, Status> {
    if task_type.is_empty() {
        return Err(Status::invalid_argument("task_type is required"));
    }
    Ok(QueueKey {
        task_type: task_type.to_string(),
        domain: Some(domain.to_string()).filter(|d| !d.is_empty() && d != "NO_DOMAIN"),
    })
}

/// Converts a wire result into the core's, checking what a worker may report.
fn core_result(r: &pb::TaskResult) -> Result<TaskResult, Status> {
    if r.task_id.is_empty() {
        return Err(Status::invalid_argument("result.task_id is required"));
    }
    let status = task_status_from(r.status).ok_or_else(|| {
        Status::invalid_argument(format!("result.status: {} is not a task status", r.status))
    })?;
    if !matches!(
        status,
        TaskStatus::Completed
            | TaskStatus::Failed
            | TaskStatus::FailedWithTerminalError
            | TaskStatus::InProgress
    ) {
        return Err(Status::invalid_argument(format!(
            "result.status: a worker may report COMPLETED, FAILED, FAILED_WITH_TERMINAL_ERROR or IN_PROGRESS, not {}",
            status.as_str()
        )));
    }
    if r.callback_after_seconds < 0 {
        return Err(Status::invalid_argument(
            "result.callback_after_seconds must not be negative",
        ));
    }
    let now = now_ms();
    Ok(TaskResult {
        task_id: r.task_id.clone(),
        token: Some(r.token.clone()).filter(|t| !t.is_empty()),
        status,
        output: opt_struct_to_object(r.output.as_ref()),
        reason_for_incompletion: Some(r.reason_for_incompletion.clone()).filter(|s| !s.is_empty()),
        logs: core_logs(&r.logs, now),
        callback_after_seconds: r.callback_after_seconds,
        worker_id: Some(r.worker_id.clone()).filter(|s| !s.is_empty()),
    })
}

/// Whether a result ends the worker's hold on the task.
fn is_final(r: &TaskResult) -> bool {
    r.status != TaskStatus::InProgress || r.callback_after_seconds > 0
}

fn poll_wait(timeout_ms: i32) -> Result<Duration, Status> {
    if !(0..=60_000).contains(&timeout_ms) {
        return Err(Status::invalid_argument(format!(
            "timeout_ms: {timeout_ms} is outside 0-60000"
        )));
    }
    Ok(Duration::from_millis(timeout_ms as u64))
}

type WorkStream = Pin<Box<dyn Stream<Item = Result<pb::WorkResponse, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl TaskService for Tasks {
    type WorkStream = WorkStream;

    async fn work(
        &self,
        req: Request<Streaming<pb::WorkRequest>>,
    ) -> Result<Response<Self::WorkStream>, Status> {
        let mut inbound = req.into_inner();
        let first = match inbound.next().await {
            Some(Ok(m)) => m,
            Some(Err(e)) => return Err(e),
            None => return Err(Status::invalid_argument("stream closed before Subscribe")),
        };
        let Some(pb::work_request::Kind::Subscribe(sub)) = first.kind else {
            return Err(Status::invalid_argument(
                "the first message on the worker stream must be Subscribe",
            ));
        };
        if sub.task_types.is_empty() {
            return Err(Status::invalid_argument(
                "subscribe.task_types must name at least one task type",
            ));
        }
        if sub.credits < 0 {
            return Err(Status::invalid_argument(
                "subscribe.credits must not be negative",
            ));
        }
        let queues = sub
            .task_types
            .iter()
            .map(|t| queue_key(t, &sub.domain))
            .collect::<Result<Vec<_>, _>>()?;
        let worker_id = if sub.worker_id.is_empty() {
            "anonymous".to_string()
        } else {
            sub.worker_id.clone()
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let dispatcher = self.engine.dispatcher().clone();
        let conn = dispatcher.subscribe(
            worker_id.clone(),
            queues,
            i64::from(sub.credits),
            tx.clone(),
        );
        tracing::debug!(conn, worker_id, types = ?sub.task_types, "worker subscribed");
        let engine = self.engine.clone();
        let mut shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            loop {
                let next = tokio::select! {
                    m = inbound.next() => m,
                    _ = shutdown.wait_for(|s| *s) => None,
                };
                let msg = match next {
                    Some(Ok(m)) => m,
                    Some(Err(e)) => {
                        tracing::debug!(conn, error = %e, "worker stream broke");
                        break;
                    }
                    None => break,
                };
                match msg.kind {
                    Some(pb::work_request::Kind::Credits(c)) => {
                        if c.credits > 0 {
                            dispatcher.grant(conn, i64::from(c.credits));
                        }
                    }
                    Some(pb::work_request::Kind::Result(r)) => {
                        let (task_id, token) = (r.task_id.clone(), r.token.clone());
                        let nack = |e: Status| {
                            let _ = tx.send(Ok(pb::WorkResponse {
                                kind: Some(pb::work_response::Kind::ResultAck(pb::Ack {
                                    task_id: task_id.clone(),
                                    token: token.clone(),
                                    ok: false,
                                    code: code_name(e.code()).into(),
                                    message: e.message().to_string(),
                                    lease_deadline: None,
                                })),
                            }));
                        };
                        let result = match core_result(&r) {
                            Ok(x) => x,
                            Err(e) => {
                                nack(e);
                                continue;
                            }
                        };
                        if let Err(e) = engine.check_size("result.output", &result.output) {
                            nack(e.into());
                            continue;
                        }
                        let wf = match engine.workflow_of_task(&r.task_id, &r.workflow_id) {
                            Ok(w) => w,
                            Err(e) => {
                                nack(e.into());
                                continue;
                            }
                        };
                        if is_final(&result) {
                            dispatcher.settle(conn, &r.task_id);
                        }
                        engine.event_to_stream(
                            &wf,
                            Event::Result(result),
                            Replier::Stream {
                                tx: tx.clone(),
                                task_id: r.task_id,
                                token: r.token,
                                lease: false,
                            },
                        );
                    }
                    Some(pb::work_request::Kind::ExtendLease(l)) => {
                        let wf = match engine.workflow_of_task(&l.task_id, &l.workflow_id) {
                            Ok(w) => w,
                            Err(e) => {
                                let _ = tx.send(Ok(pb::WorkResponse {
                                    kind: Some(pb::work_response::Kind::LeaseAck(pb::Ack {
                                        task_id: l.task_id,
                                        token: l.token,
                                        ok: false,
                                        code: "NOT_FOUND".into(),
                                        message: e.to_string(),
                                        lease_deadline: None,
                                    })),
                                }));
                                continue;
                            }
                        };
                        engine.event_to_stream(
                            &wf,
                            Event::ExtendLease {
                                task_id: l.task_id.clone(),
                                token: l.token.clone(),
                            },
                            Replier::Stream {
                                tx: tx.clone(),
                                task_id: l.task_id,
                                token: l.token,
                                lease: true,
                            },
                        );
                    }
                    Some(pb::work_request::Kind::Subscribe(_)) => {
                        let _ = tx.send(Err(Status::invalid_argument(
                            "Subscribe may be sent only once per stream",
                        )));
                        break;
                    }
                    None => {
                        let _ = tx.send(Err(Status::invalid_argument(
                            "empty WorkRequest: set one of subscribe, credits, result, extend_lease",
                        )));
                        break;
                    }
                }
            }
            dispatcher.unsubscribe(conn);
            tracing::debug!(conn, "worker unsubscribed");
        });
        let out = UnboundedReceiverStream::new(rx);
        Ok(Response::new(Box::pin(out)))
    }

    async fn poll(
        &self,
        req: Request<pb::PollRequest>,
    ) -> Result<Response<pb::PollResponse>, Status> {
        let r = req.get_ref();
        let q = queue_key(&r.task_type, &r.domain)?;
        let wait = poll_wait(r.timeout_ms)?;
        let mut got = self
            .engine
            .dispatcher()
            .poll(&q, worker_or_default(&r.worker_id), 1, wait)
            .await;
        Ok(Response::new(pb::PollResponse { task: got.pop() }))
    }

    async fn batch_poll(
        &self,
        req: Request<pb::BatchPollRequest>,
    ) -> Result<Response<pb::BatchPollResponse>, Status> {
        let r = req.get_ref();
        let q = queue_key(&r.task_type, &r.domain)?;
        let wait = poll_wait(r.timeout_ms)?;
        if !(1..=1000).contains(&r.count) {
            return Err(Status::invalid_argument(format!(
                "count: {} is outside 1-1000",
                r.count
            )));
        }
        let tasks = self
            .engine
            .dispatcher()
            .poll(&q, worker_or_default(&r.worker_id), r.count as usize, wait)
            .await;
        Ok(Response::new(pb::BatchPollResponse { tasks }))
    }

    async fn update_task(
        &self,
        req: Request<pb::UpdateTaskRequest>,
    ) -> Result<Response<pb::UpdateTaskResponse>, Status> {
        let r = req
            .get_ref()
            .result
            .as_ref()
            .ok_or_else(|| Status::invalid_argument("result is required"))?;
        let result = core_result(r)?;
        self.engine.update_task(&r.workflow_id, result).await?;
        Ok(Response::new(pb::UpdateTaskResponse {}))
    }

    async fn extend_lease(
        &self,
        req: Request<pb::ExtendLeaseRequest>,
    ) -> Result<Response<pb::ExtendLeaseResponse>, Status> {
        let r = req.get_ref();
        if r.task_id.is_empty() || r.token.is_empty() {
            return Err(Status::invalid_argument("task_id and token are required"));
        }
        let wf = self.engine.workflow_of_task(&r.task_id, &r.workflow_id)?;
        let reply = self
            .engine
            .event(
                &wf,
                Event::ExtendLease {
                    task_id: r.task_id.clone(),
                    token: r.token.clone(),
                },
            )
            .await?;
        let deadline = match reply {
            baton_core::Reply::LeaseExtended { deadline } => Some(ts(deadline)),
            _ => None,
        };
        Ok(Response::new(pb::ExtendLeaseResponse {
            lease_deadline: deadline,
        }))
    }

    async fn get_task(
        &self,
        req: Request<pb::GetTaskRequest>,
    ) -> Result<Response<pb::GetTaskResponse>, Status> {
        let t = self.engine.get_task(&req.get_ref().task_id)?;
        Ok(Response::new(pb::GetTaskResponse {
            task: Some(task_to_pb(&t)),
        }))
    }

    async fn get_task_logs(
        &self,
        req: Request<pb::GetTaskLogsRequest>,
    ) -> Result<Response<pb::GetTaskLogsResponse>, Status> {
        let t = self.engine.get_task(&req.get_ref().task_id)?;
        Ok(Response::new(pb::GetTaskLogsResponse {
            logs: t
                .logs
                .iter()
                .map(|l| pb::TaskLog {
                    message: l.log.clone(),
                    time: Some(ts(l.created_time)),
                })
                .collect(),
        }))
    }

    async fn update_task_by_ref(
        &self,
        req: Request<pb::UpdateTaskByRefRequest>,
    ) -> Result<Response<pb::UpdateTaskByRefResponse>, Status> {
        let r = req.get_ref();
        if r.workflow_id.is_empty() || r.task_ref_name.is_empty() {
            return Err(Status::invalid_argument(
                "workflow_id and task_ref_name are required",
            ));
        }
        let status = task_status_from(r.status).ok_or_else(|| {
            Status::invalid_argument(format!("status: {} is not a task status", r.status))
        })?;
        if !matches!(
            status,
            TaskStatus::Completed
                | TaskStatus::Failed
                | TaskStatus::FailedWithTerminalError
                | TaskStatus::InProgress
        ) {
            return Err(Status::invalid_argument(format!(
                "status: a task may be updated to COMPLETED, FAILED, FAILED_WITH_TERMINAL_ERROR or IN_PROGRESS, not {}",
                status.as_str()
            )));
        }
        let result = TaskResult {
            task_id: String::new(),
            token: None,
            status,
            output: opt_struct_to_object(r.output.as_ref()),
            reason_for_incompletion: Some(r.reason_for_incompletion.clone())
                .filter(|s| !s.is_empty()),
            logs: core_logs(&r.logs, now_ms()),
            callback_after_seconds: 0,
            worker_id: Some(r.worker_id.clone()).filter(|s| !s.is_empty()),
        };
        let task_id = self
            .engine
            .update_task_by_ref(&r.workflow_id, &r.task_ref_name, result)
            .await?;
        Ok(Response::new(pb::UpdateTaskByRefResponse { task_id }))
    }

    async fn add_task_logs(
        &self,
        req: Request<pb::AddTaskLogsRequest>,
    ) -> Result<Response<pb::AddTaskLogsResponse>, Status> {
        let r = req.get_ref();
        if r.task_id.is_empty() {
            return Err(Status::invalid_argument("task_id is required"));
        }
        if r.logs.is_empty() {
            return Err(Status::invalid_argument(
                "logs: at least one log line is required",
            ));
        }
        if let Some(i) = r.logs.iter().position(|l| l.message.is_empty()) {
            return Err(Status::invalid_argument(format!(
                "logs[{i}].message is empty"
            )));
        }
        let size: usize = r.logs.iter().map(|l| l.message.len()).sum();
        let limit = self.engine.max_payload_bytes();
        if size > limit {
            return Err(Status::invalid_argument(format!(
                "logs are {size} bytes; the limit is {limit} bytes"
            )));
        }
        self.engine
            .add_task_logs(&r.task_id, core_logs(&r.logs, now_ms()))
            .await?;
        Ok(Response::new(pb::AddTaskLogsResponse {}))
    }
}

/// Log lines from the wire; lines without a time get `now`.
fn core_logs(logs: &[pb::TaskLog], now: i64) -> Vec<TaskLog> {
    logs.iter()
        .map(|l| TaskLog {
            log: l.message.clone(),
            created_time: l.time.as_ref().map(ms).unwrap_or(now),
        })
        .collect()
}

fn worker_or_default(id: &str) -> &str {
    if id.is_empty() { "anonymous" } else { id }
}
