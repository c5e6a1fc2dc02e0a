//! TaskService: the worker stream, unary polls and results.

use std::pin::Pin;

use baton_core::{TaskLog, TaskResult};
use baton_proto::v1 as pb;
use baton_proto::v1::task_service_server::TaskService;
use baton_server::auth::Principal;
use baton_server::service::WorkerSpec;
use baton_server::{EngineError, Service};
use tokio_stream::wrappers::UnboundedReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use crate::convert::{ms, opt_struct_to_object, ts};
use crate::status;
use crate::views::{
    assignment_to_pb, queue_info_to_pb, search_params, task_status_from, task_summary_to_pb,
    task_to_pb, worker_info_to_pb, worker_msg_to_pb, worker_msgs_to_pb,
};

/// The TaskService implementation.
pub struct Tasks {
    svc: Service,
    shutdown: tokio::sync::watch::Receiver<bool>,
    max_message_bytes: usize,
}

impl Tasks {
    /// Serves workers through `svc`; worker streams end when `shutdown` turns true.
    /// `max_message_bytes` is the largest message the server reads, told to each worker in
    /// the stream's response headers.
    pub fn new(
        svc: Service,
        shutdown: tokio::sync::watch::Receiver<bool>,
        max_message_bytes: usize,
    ) -> Self {
        Self {
            svc,
            shutdown,
            max_message_bytes,
        }
    }
}

/// Response header of the worker stream naming the largest message (in bytes) the server
/// reads; a worker fails a task whose result would be larger instead of sending it.
pub const MAX_MESSAGE_HEADER: &str = "baton-max-message-bytes";

/// A wire result in the core's terms (checks of what a worker may report are the
/// service's).
fn core_result(r: &pb::TaskResult) -> Result<TaskResult, EngineError> {
    let status = task_status_from(r.status).ok_or_else(|| {
        EngineError::InvalidArgument(format!("result.status: {} is not a task status", r.status))
    })?;
    Ok(TaskResult {
        task_id: r.task_id.clone(),
        token: Some(r.token.clone()).filter(|t| !t.is_empty()),
        status,
        output: opt_struct_to_object(r.output.as_ref()),
        reason_for_incompletion: Some(r.reason_for_incompletion.clone()).filter(|s| !s.is_empty()),
        logs: core_logs(&r.logs, baton_server::now_ms()),
        callback_after_seconds: r.callback_after_seconds,
        worker_id: Some(r.worker_id.clone()).filter(|s| !s.is_empty()),
    })
}

/// Most results a worker may send in one `ResultBatch`.
const MAX_RESULT_BATCH: usize = 1000;

/// Most engine messages gathered into one outbound message for a batching worker.
const MAX_OUT_BATCH: usize = 256;

type WorkStream = Pin<Box<dyn Stream<Item = Result<pb::WorkResponse, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl TaskService for Tasks {
    type WorkStream = WorkStream;

    async fn work(
        &self,
        req: Request<Streaming<pb::WorkRequest>>,
    ) -> Result<Response<Self::WorkStream>, Status> {
        // A stream opened with a key ends when the key is revoked.
        let key = match (self.svc.auth(), req.extensions().get::<Principal>()) {
            (Some(auth), Some(p)) => Some((auth.clone(), p.key_id.clone(), auth.revocations())),
            _ => None,
        };
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
        let (session, rx) = self
            .svc
            .connect_worker(WorkerSpec {
                worker_id: sub.worker_id,
                task_types: sub.task_types,
                domain: sub.domain,
                credits: i64::from(sub.credits),
            })
            .map_err(status)?;
        let mut shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            let mut key = key;
            loop {
                let revoked = async {
                    match key.as_mut() {
                        Some((auth, id, watch)) => loop {
                            if watch.changed().await.is_err() {
                                std::future::pending::<()>().await;
                            }
                            if !auth.is_live(id) {
                                return id.clone();
                            }
                        },
                        None => std::future::pending().await,
                    }
                };
                let next = tokio::select! {
                    m = inbound.next() => m,
                    _ = shutdown.wait_for(|s| *s) => None,
                    id = revoked => {
                        session.refuse(EngineError::Unauthenticated(format!(
                            "API key {id} was revoked"
                        )));
                        break;
                    }
                };
                let msg = match next {
                    Some(Ok(m)) => m,
                    Some(Err(e)) => {
                        tracing::debug!(conn = session.id(), error = %e, "worker stream broke");
                        break;
                    }
                    None => break,
                };
                match msg.kind {
                    Some(pb::work_request::Kind::Credits(c)) => {
                        session.grant(i64::from(c.credits));
                    }
                    Some(pb::work_request::Kind::Result(r)) => {
                        let result = core_result(&r);
                        session
                            .report(r.task_id, r.token, &r.workflow_id, result)
                            .await;
                    }
                    Some(pb::work_request::Kind::Results(batch)) => {
                        if batch.results.len() > MAX_RESULT_BATCH {
                            session.refuse(EngineError::InvalidArgument(format!(
                                "results: {} results in one batch, at most {MAX_RESULT_BATCH}",
                                batch.results.len()
                            )));
                            break;
                        }
                        for r in batch.results {
                            let result = core_result(&r);
                            session
                                .report(r.task_id, r.token, &r.workflow_id, result)
                                .await;
                        }
                    }
                    Some(pb::work_request::Kind::ExtendLease(l)) => {
                        session
                            .extend_lease(l.task_id, l.token, &l.workflow_id)
                            .await;
                    }
                    Some(pb::work_request::Kind::Subscribe(_)) => {
                        session.refuse(EngineError::InvalidArgument(
                            "Subscribe may be sent only once per stream".into(),
                        ));
                        break;
                    }
                    None => {
                        session.refuse(EngineError::InvalidArgument(
                            "empty WorkRequest: set one of subscribe, credits, result, results, \
                             extend_lease"
                                .into(),
                        ));
                        break;
                    }
                }
            }
            // Dropping the session hands the tasks the worker still held back at once.
            drop(session);
        });
        let msgs = UnboundedReceiverStream::new(rx);
        let limit = tonic::metadata::MetadataValue::from(self.max_message_bytes as u64);
        let mut response: Response<Self::WorkStream> = if sub.batch {
            // Whatever is waiting at once goes out together: tasks in one TaskBatch, result
            // acknowledgements in one AckBatch.
            let chunks = futures_util::StreamExt::ready_chunks(msgs, MAX_OUT_BATCH);
            let out = futures_util::StreamExt::flat_map(chunks, |chunk| {
                futures_util::stream::iter(worker_msgs_to_pb(chunk))
            });
            Response::new(Box::pin(out))
        } else {
            let out = msgs.map(worker_msg_to_pb);
            Response::new(Box::pin(out))
        };
        response.metadata_mut().insert(MAX_MESSAGE_HEADER, limit);
        Ok(response)
    }

    async fn poll(
        &self,
        req: Request<pb::PollRequest>,
    ) -> Result<Response<pb::PollResponse>, Status> {
        let r = req.get_ref();
        let got = self
            .svc
            .poll(&r.task_type, &r.domain, &r.worker_id, 1, r.timeout_ms)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::PollResponse {
            task: got.first().map(assignment_to_pb),
        }))
    }

    async fn batch_poll(
        &self,
        req: Request<pb::BatchPollRequest>,
    ) -> Result<Response<pb::BatchPollResponse>, Status> {
        let r = req.get_ref();
        let tasks = self
            .svc
            .poll(&r.task_type, &r.domain, &r.worker_id, r.count, r.timeout_ms)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::BatchPollResponse {
            tasks: tasks.iter().map(assignment_to_pb).collect(),
        }))
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
        let result = core_result(r).map_err(status)?;
        self.svc
            .update_task(&r.workflow_id, result)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::UpdateTaskResponse {}))
    }

    async fn extend_lease(
        &self,
        req: Request<pb::ExtendLeaseRequest>,
    ) -> Result<Response<pb::ExtendLeaseResponse>, Status> {
        let r = req.get_ref();
        let deadline = self
            .svc
            .extend_lease(&r.task_id, &r.token, &r.workflow_id)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ExtendLeaseResponse {
            lease_deadline: deadline.map(ts),
        }))
    }

    async fn get_task(
        &self,
        req: Request<pb::GetTaskRequest>,
    ) -> Result<Response<pb::GetTaskResponse>, Status> {
        let t = self
            .svc
            .task(&req.get_ref().task_id)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::GetTaskResponse {
            task: Some(task_to_pb(&t)),
        }))
    }

    async fn get_task_logs(
        &self,
        req: Request<pb::GetTaskLogsRequest>,
    ) -> Result<Response<pb::GetTaskLogsResponse>, Status> {
        let t = self
            .svc
            .task(&req.get_ref().task_id)
            .await
            .map_err(status)?;
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
        let status_of = task_status_from(r.status).ok_or_else(|| {
            Status::invalid_argument(format!("status: {} is not a task status", r.status))
        })?;
        let result = TaskResult {
            task_id: String::new(),
            token: None,
            status: status_of,
            output: opt_struct_to_object(r.output.as_ref()),
            reason_for_incompletion: Some(r.reason_for_incompletion.clone())
                .filter(|s| !s.is_empty()),
            logs: core_logs(&r.logs, baton_server::now_ms()),
            callback_after_seconds: 0,
            worker_id: Some(r.worker_id.clone()).filter(|s| !s.is_empty()),
        };
        let task_id = self
            .svc
            .update_task_by_ref(&r.workflow_id, &r.task_ref_name, result)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::UpdateTaskByRefResponse { task_id }))
    }

    async fn add_task_logs(
        &self,
        req: Request<pb::AddTaskLogsRequest>,
    ) -> Result<Response<pb::AddTaskLogsResponse>, Status> {
        let r = req.get_ref();
        self.svc
            .add_task_logs(&r.task_id, core_logs(&r.logs, baton_server::now_ms()))
            .await
            .map_err(status)?;
        Ok(Response::new(pb::AddTaskLogsResponse {}))
    }

    async fn list_queues(
        &self,
        req: Request<pb::ListQueuesRequest>,
    ) -> Result<Response<pb::ListQueuesResponse>, Status> {
        let queues = self
            .svc
            .queue_depths(Some(&req.get_ref().task_type))
            .into_iter()
            .map(queue_info_to_pb)
            .collect();
        Ok(Response::new(pb::ListQueuesResponse { queues }))
    }

    async fn search_tasks(
        &self,
        req: Request<pb::SearchTasksRequest>,
    ) -> Result<Response<pb::SearchTasksResponse>, Status> {
        let r = req.get_ref();
        let params = search_params(&r.query, &r.free_text, &r.sort, r.start, r.size)?;
        let hits = self.svc.search_tasks(params).await.map_err(status)?;
        Ok(Response::new(pb::SearchTasksResponse {
            total_hits: hits.total_hits as i64,
            results: hits.results.iter().map(task_summary_to_pb).collect(),
        }))
    }

    async fn list_workers(
        &self,
        req: Request<pb::ListWorkersRequest>,
    ) -> Result<Response<pb::ListWorkersResponse>, Status> {
        let workers = self
            .svc
            .workers(Some(&req.get_ref().task_type))
            .into_iter()
            .map(worker_info_to_pb)
            .collect();
        Ok(Response::new(pb::ListWorkersResponse { workers }))
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
