//! Workers and tasks: connected workers (credits, results and lease extensions on one
//! stream), polls, results, reads and logs.

use std::time::Duration;

use baton_core::{Event, QueueKey, Reply, TaskInstance, TaskLog, TaskResult, TaskStatus};
use tokio::sync::mpsc;

use super::Service;
use crate::error::EngineError;
use crate::matching::{PollData, QueueDepth, WorkerInfo};
use crate::runtime::msg::Replier;
use crate::work::{Ack, Assignment, WorkerMsg, WorkerTx};

/// Most tasks one poll may take.
pub const MAX_POLL_COUNT: i32 = 1000;

/// What a connecting worker asks for.
#[derive(Debug, Clone, Default)]
pub struct WorkerSpec {
    /// Who it is (empty: `anonymous`).
    pub worker_id: String,
    /// The task types it takes.
    pub task_types: Vec<String>,
    /// The domain it serves (empty or `NO_DOMAIN`: none).
    pub domain: String,
    /// Tasks it may hold at first.
    pub credits: i64,
}

/// A connected worker: tasks flow to it as it grants credit, it reports results and
/// extends leases. Dropping the session disconnects the worker, and the tasks it still
/// held go back to their queues at once.
pub struct WorkerSession {
    svc: Service,
    conn: u64,
    tx: WorkerTx,
}

/// The queue of a task type in a domain.
fn queue_key(task_type: &str, domain: &str) -> Result<QueueKey, EngineError> {
    if task_type.is_empty() {
        return Err(EngineError::InvalidArgument("task_type is required".into()));
    }
    Ok(QueueKey {
        task_type: task_type.to_string(),
        domain: Some(domain.to_string()).filter(|d| !d.is_empty() && d != "NO_DOMAIN"),
    })
}

/// Checks what a worker may report: COMPLETED, FAILED, FAILED_WITH_TERMINAL_ERROR or
/// IN_PROGRESS, a task id, no negative callback.
pub fn check_worker_result(r: &TaskResult) -> Result<(), EngineError> {
    if r.task_id.is_empty() {
        return Err(EngineError::InvalidArgument(
            "result.task_id is required".into(),
        ));
    }
    if !r.status.is_reportable() {
        return Err(EngineError::InvalidArgument(format!(
            "result.status: a worker may report COMPLETED, FAILED, FAILED_WITH_TERMINAL_ERROR or IN_PROGRESS, not {}",
            r.status.as_str()
        )));
    }
    if r.callback_after_seconds < 0 {
        return Err(EngineError::InvalidArgument(
            "result.callback_after_seconds must not be negative".into(),
        ));
    }
    Ok(())
}

/// Checks a poll's wait (0-60,000 ms).
pub fn check_poll_wait(timeout_ms: i32) -> Result<Duration, EngineError> {
    if !(0..=60_000).contains(&timeout_ms) {
        return Err(EngineError::InvalidArgument(format!(
            "timeout_ms: {timeout_ms} is outside 0-60000"
        )));
    }
    Ok(Duration::from_millis(timeout_ms as u64))
}

/// Whether a result ends the worker's hold on the task.
fn is_final(r: &TaskResult) -> bool {
    r.status != TaskStatus::InProgress || r.callback_after_seconds > 0
}

fn worker_or_default(id: &str) -> String {
    if id.is_empty() {
        "anonymous".to_string()
    } else {
        id.to_string()
    }
}

impl Service {
    /// Connects a worker; tasks, acknowledgements and a refusal reach it on the receiver.
    pub fn connect_worker(
        &self,
        spec: WorkerSpec,
    ) -> Result<(WorkerSession, mpsc::UnboundedReceiver<WorkerMsg>), EngineError> {
        if spec.task_types.is_empty() {
            return Err(EngineError::InvalidArgument(
                "subscribe.task_types must name at least one task type".into(),
            ));
        }
        if spec.credits < 0 {
            return Err(EngineError::InvalidArgument(
                "subscribe.credits must not be negative".into(),
            ));
        }
        let queues = spec
            .task_types
            .iter()
            .map(|t| queue_key(t, &spec.domain))
            .collect::<Result<Vec<_>, _>>()?;
        let (tx, rx) = mpsc::unbounded_channel();
        let worker_id = worker_or_default(&spec.worker_id);
        let conn =
            self.rt
                .dispatcher
                .subscribe(worker_id.clone(), queues, spec.credits, tx.clone());
        tracing::debug!(conn, worker_id, types = ?spec.task_types, "worker subscribed");
        Ok((
            WorkerSession {
                svc: self.clone(),
                conn,
                tx,
            },
            rx,
        ))
    }

    /// Takes up to `count` tasks of a type (1-1000), waiting up to `timeout_ms` for the
    /// first.
    pub async fn poll(
        &self,
        task_type: &str,
        domain: &str,
        worker_id: &str,
        count: i32,
        timeout_ms: i32,
    ) -> Result<Vec<Assignment>, EngineError> {
        let q = queue_key(task_type, domain)?;
        let wait = check_poll_wait(timeout_ms)?;
        if !(1..=MAX_POLL_COUNT).contains(&count) {
            return Err(EngineError::InvalidArgument(format!(
                "count: {count} is outside 1-{MAX_POLL_COUNT}"
            )));
        }
        Ok(self
            .rt
            .dispatcher
            .poll(&q, &worker_or_default(worker_id), count as usize, wait)
            .await)
    }

    /// Reports a worker's result and waits for the durable outcome.
    pub async fn update_task(
        &self,
        workflow_hint: &str,
        result: TaskResult,
    ) -> Result<(), EngineError> {
        check_worker_result(&result)?;
        self.rt
            .ingress
            .update_task(workflow_hint, result)
            .await
            .map(drop)
    }

    /// Extends a task's lease; answers the new deadline (epoch ms).
    pub async fn extend_lease(
        &self,
        task_id: &str,
        token: &str,
        workflow_hint: &str,
    ) -> Result<Option<i64>, EngineError> {
        if task_id.is_empty() || token.is_empty() {
            return Err(EngineError::InvalidArgument(
                "task_id and token are required".into(),
            ));
        }
        let wf = self
            .rt
            .ingress
            .workflow_of_task(task_id, workflow_hint)
            .await?;
        let reply = self
            .rt
            .ingress
            .event(
                &wf,
                Event::ExtendLease {
                    task_id: task_id.to_string(),
                    token: token.to_string(),
                },
            )
            .await?;
        Ok(match reply {
            Reply::LeaseExtended { deadline } => Some(deadline),
            _ => None,
        })
    }

    /// Reads one task instance.
    pub async fn task(&self, task_id: &str) -> Result<TaskInstance, EngineError> {
        if task_id.is_empty() {
            return Err(EngineError::InvalidArgument("task_id is required".into()));
        }
        let id = task_id.to_string();
        self.read(move |s| s.load_task(&id))
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("task {task_id} does not exist")))
    }

    /// Reports a result, without a token, for the latest instance of the task `reference`
    /// of an execution; answers that instance's id.
    pub async fn update_task_by_ref(
        &self,
        workflow_id: &str,
        reference: &str,
        result: TaskResult,
    ) -> Result<String, EngineError> {
        if workflow_id.is_empty() || reference.is_empty() {
            return Err(EngineError::InvalidArgument(
                "workflow_id and task_ref_name are required".into(),
            ));
        }
        if !result.status.is_reportable() {
            return Err(EngineError::InvalidArgument(format!(
                "status: a task may be updated to COMPLETED, FAILED, FAILED_WITH_TERMINAL_ERROR or IN_PROGRESS, not {}",
                result.status.as_str()
            )));
        }
        self.rt
            .ingress
            .update_task_by_ref(workflow_id, reference, result)
            .await
    }

    /// Adds log lines to a task.
    pub async fn add_task_logs(
        &self,
        task_id: &str,
        logs: Vec<TaskLog>,
    ) -> Result<(), EngineError> {
        if task_id.is_empty() {
            return Err(EngineError::InvalidArgument("task_id is required".into()));
        }
        if logs.is_empty() {
            return Err(EngineError::InvalidArgument(
                "logs: at least one log line is required".into(),
            ));
        }
        if let Some(i) = logs.iter().position(|l| l.log.is_empty()) {
            return Err(EngineError::InvalidArgument(format!(
                "logs[{i}].message is empty"
            )));
        }
        let size: usize = logs.iter().map(|l| l.log.len()).sum();
        let limit = self.max_payload_bytes();
        if size > limit {
            return Err(EngineError::InvalidArgument(format!(
                "logs are {size} bytes; the limit is {limit} bytes"
            )));
        }
        let wf = self.rt.ingress.workflow_of_task(task_id, "").await?;
        self.rt
            .ingress
            .event(
                &wf,
                Event::AddLogs {
                    task_id: task_id.to_string(),
                    logs,
                },
            )
            .await
            .map(drop)
    }

    /// Sizes of the ready queues (of one task type when given), by type then domain, with
    /// the stream workers subscribed to each.
    pub fn queue_depths(&self, task_type: Option<&str>) -> Vec<QueueDepth> {
        let mut all = self.rt.dispatcher.depths();
        if let Some(t) = task_type.filter(|t| !t.is_empty()) {
            all.retain(|d| d.queue.task_type == t);
        }
        all
    }
}

impl Service {
    /// When each queue (of one task type when given) was last asked for work, and by
    /// which worker.
    pub fn poll_data(&self, task_type: Option<&str>) -> Vec<PollData> {
        let mut all = self.rt.dispatcher.poll_data();
        if let Some(t) = task_type.filter(|t| !t.is_empty()) {
            all.retain(|d| d.queue.task_type == t);
        }
        all
    }

    /// The workers: those connected over a stream, then those that polled within the last
    /// minute or are polling now, with their task types, domain, credit left, tasks in
    /// flight and when they were last heard from. Only those taking `task_type` when given.
    pub fn workers(&self, task_type: Option<&str>) -> Vec<WorkerInfo> {
        let mut all = self.rt.dispatcher.workers();
        if let Some(t) = task_type.filter(|t| !t.is_empty()) {
            all.retain(|w| w.task_types.iter().any(|x| x == t));
        }
        all
    }
}

impl WorkerSession {
    /// The connection's id.
    pub fn id(&self) -> u64 {
        self.conn
    }

    /// Grants the worker more credit (tasks it may hold); pushes what is waiting.
    pub fn grant(&self, credits: i64) {
        if credits > 0 {
            self.svc.rt.dispatcher.grant(self.conn, credits);
        }
    }

    /// Reports a result the worker sent (or why it could not be read); the answer goes
    /// back on the worker's channel once the outcome is durable.
    pub async fn report(
        &self,
        task_id: String,
        token: String,
        workflow_hint: &str,
        result: Result<TaskResult, EngineError>,
    ) {
        let nack = |e: EngineError| {
            let _ = self.tx.send(WorkerMsg::ResultAck(Ack {
                task_id: task_id.clone(),
                token: token.clone(),
                outcome: Err(e),
            }));
        };
        let result = match result.and_then(|r| {
            check_worker_result(&r)?;
            self.svc.rt.ingress.check_size("result.output", &r.output)?;
            Ok(r)
        }) {
            Ok(r) => r,
            Err(e) => return nack(e),
        };
        let wf = match self
            .svc
            .rt
            .ingress
            .workflow_of_task(&result.task_id, workflow_hint)
            .await
        {
            Ok(w) => w,
            Err(e) => return nack(e),
        };
        if is_final(&result) {
            self.svc.rt.dispatcher.settle(self.conn, &result.task_id);
        } else {
            self.svc.rt.dispatcher.touch(self.conn);
        }
        self.svc.rt.router.send(
            &wf,
            crate::runtime::msg::Msg::Event {
                workflow_id: wf.clone(),
                event: Event::Result(result),
                reply: Replier::Stream {
                    tx: self.tx.clone(),
                    task_id,
                    token,
                    lease: false,
                },
            },
        );
    }

    /// Extends the lease of a task the worker holds; the answer goes back on the worker's
    /// channel.
    pub async fn extend_lease(&self, task_id: String, token: String, workflow_hint: &str) {
        self.svc.rt.dispatcher.touch(self.conn);
        let wf = match self
            .svc
            .rt
            .ingress
            .workflow_of_task(&task_id, workflow_hint)
            .await
        {
            Ok(w) => w,
            Err(e) => {
                let _ = self.tx.send(WorkerMsg::LeaseAck(Ack {
                    task_id,
                    token,
                    outcome: Err(e),
                }));
                return;
            }
        };
        self.svc.rt.router.send(
            &wf,
            crate::runtime::msg::Msg::Event {
                workflow_id: wf.clone(),
                event: Event::ExtendLease {
                    task_id: task_id.clone(),
                    token: token.clone(),
                },
                reply: Replier::Stream {
                    tx: self.tx.clone(),
                    task_id,
                    token,
                    lease: true,
                },
            },
        );
    }

    /// Ends the stream with an error the worker sees.
    pub fn refuse(&self, e: EngineError) {
        let _ = self.tx.send(WorkerMsg::Refused(e));
    }
}

impl Drop for WorkerSession {
    fn drop(&mut self) {
        self.svc.rt.dispatcher.unsubscribe(self.conn);
        tracing::debug!(conn = self.conn, "worker unsubscribed");
    }
}
