//! The way into the executors: starts (with idempotency keys), events with their durable
//! answers, removals and results routed to the execution that owns a task. Both the
//! service layer and the runtime's own jobs (event handlers, child starts) come in here.

use std::collections::BTreeMap;
use std::sync::Arc;

use baton_core::decider::ChildStart;
use baton_core::{Event, Object, Reply, StartParams, TaskResult, WorkflowDef};
use baton_store::Store;
use tokio::sync::oneshot;

use crate::error::EngineError;
use crate::runtime::msg::{Msg, Router};
use crate::runtime::registry::{Registry, blocking};

/// What happens when a start repeats an idempotency key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdempotencyStrategy {
    /// Refuse with ALREADY_EXISTS.
    #[default]
    Fail,
    /// Return the earlier execution's id.
    ReturnExisting,
    /// Refuse only while the earlier execution is running or paused.
    FailOnRunning,
}

impl IdempotencyStrategy {
    /// Parses Conductor's names (`FAIL`, `RETURN_EXISTING`, `FAIL_ON_RUNNING`); anything
    /// else is FAIL.
    pub fn parse(s: &str) -> Self {
        match s {
            "RETURN_EXISTING" => Self::ReturnExisting,
            "FAIL_ON_RUNNING" => Self::FailOnRunning,
            _ => Self::Fail,
        }
    }
}

/// A request to start an execution.
#[derive(Debug, Clone, Default)]
pub struct StartRequest {
    /// Definition name.
    pub name: String,
    /// Definition version; latest when None.
    pub version: Option<i32>,
    /// Input.
    pub input: Object,
    /// Correlation id.
    pub correlation_id: Option<String>,
    /// Priority 0-99.
    pub priority: i32,
    /// Task name (or "*") to domain.
    pub task_to_domain: BTreeMap<String, String>,
    /// Idempotency key.
    pub idempotency_key: Option<String>,
    /// What to do when the key was used before.
    pub idempotency_strategy: IdempotencyStrategy,
    /// A definition given with the request, run instead of a registered one (it is not
    /// registered); `name` and `version` are then the definition's own.
    pub definition: Option<Arc<WorkflowDef>>,
}

/// An `io::Write` sink that only counts bytes.
struct ByteCounter(usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Checks a JSON payload against a size limit.
pub fn check_size(what: &str, obj: &Object, limit: usize) -> Result<(), EngineError> {
    // Counted while serialising into a sink: no buffer is built.
    let mut counter = ByteCounter(0);
    let _ = serde_json::to_writer(&mut counter, obj);
    let size = counter.0;
    if size > limit {
        return Err(EngineError::InvalidArgument(format!(
            "{what} is {size} bytes; the limit is {limit} bytes"
        )));
    }
    Ok(())
}

/// The way into the executors.
pub struct Ingress {
    pub(crate) router: Router,
    pub(crate) registry: Arc<Registry>,
    pub(crate) store: Arc<dyn Store>,
    max_payload_bytes: usize,
    max_backlog: usize,
    /// Serialises idempotent starts so that check and start cannot interleave.
    idempotency: tokio::sync::Mutex<()>,
}

impl Ingress {
    pub(crate) fn new(
        router: Router,
        registry: Arc<Registry>,
        store: Arc<dyn Store>,
        max_payload_bytes: usize,
        max_backlog: usize,
    ) -> Self {
        Self {
            router,
            registry,
            store,
            max_payload_bytes,
            max_backlog,
            idempotency: tokio::sync::Mutex::new(()),
        }
    }

    /// The largest accepted payload.
    pub fn max_payload_bytes(&self) -> usize {
        self.max_payload_bytes
    }

    /// Checks a JSON payload against the size limit.
    pub fn check_size(&self, what: &str, obj: &Object) -> Result<(), EngineError> {
        check_size(what, obj, self.max_payload_bytes)
    }

    fn check_priority(priority: i32) -> Result<(), EngineError> {
        if !(0..=99).contains(&priority) {
            return Err(EngineError::InvalidArgument(format!(
                "priority: {priority} is outside 0-99"
            )));
        }
        Ok(())
    }

    /// Starts an execution; returns its id once the start is durable.
    pub async fn start(&self, req: StartRequest) -> Result<String, EngineError> {
        if req.name.is_empty() {
            return Err(EngineError::InvalidArgument(
                "name: a workflow name is required".into(),
            ));
        }
        Self::check_priority(req.priority)?;
        self.check_size("input", &req.input)?;
        let version = req.version.filter(|v| *v > 0);
        let def = match req.definition {
            Some(d) => d,
            None => self.registry.require_workflow_def(&req.name, version)?,
        };
        let id = uuid::Uuid::now_v7().to_string();
        if self.router.backlog(&id) > self.max_backlog {
            return Err(EngineError::ResourceExhausted(
                "server overloaded: too many events waiting; retry later".into(),
            ));
        }
        let params = StartParams {
            workflow_id: id,
            input: req.input,
            correlation_id: req.correlation_id.filter(|c| !c.is_empty()),
            priority: req.priority,
            task_to_domain: req.task_to_domain,
            idempotency_key: req.idempotency_key.filter(|k| !k.is_empty()),
            parent_workflow_id: None,
            parent_workflow_task_id: None,
        };
        self.start_keyed(def, params, false, req.idempotency_strategy)
            .await
    }

    /// Starts a workflow an execution asked for (a SUB_WORKFLOW's child, a
    /// START_WORKFLOW's workflow, a failure workflow) under the id the request fixes.
    /// ALREADY_EXISTS when an execution with that id exists (the request was made before).
    pub(crate) async fn start_requested(&self, req: ChildStart) -> Result<String, EngineError> {
        let version = req.version.filter(|v| *v > 0);
        let def = match req.definition {
            Some(d) => d,
            None => self.registry.require_workflow_def(&req.name, version)?,
        };
        Self::check_priority(req.priority)?;
        self.check_size("input", &req.input)?;
        let (parent_workflow_id, parent_workflow_task_id) = match req.parent {
            Some((p, t)) => (Some(p), Some(t)),
            None => (None, None),
        };
        let strategy =
            IdempotencyStrategy::parse(req.idempotency_strategy.as_deref().unwrap_or("FAIL"));
        let params = StartParams {
            workflow_id: req.workflow_id,
            input: req.input,
            correlation_id: req.correlation_id.filter(|c| !c.is_empty()),
            priority: req.priority,
            task_to_domain: req.task_to_domain,
            idempotency_key: req.idempotency_key.filter(|k| !k.is_empty()),
            parent_workflow_id,
            parent_workflow_task_id,
        };
        self.start_keyed(def, params, true, strategy).await
    }

    /// Starts an execution, first honouring its idempotency key if it has one.
    async fn start_keyed(
        &self,
        def: Arc<WorkflowDef>,
        params: StartParams,
        fixed_id: bool,
        strategy: IdempotencyStrategy,
    ) -> Result<String, EngineError> {
        let Some(key) = params.idempotency_key.clone() else {
            return self.submit(def, params, fixed_id).await;
        };
        let _guard = self.idempotency.lock().await;
        let (store, name, k) = (self.store.clone(), def.name.clone(), key.clone());
        let existing = blocking(move || {
            let Some(id) = store.workflow_id_by_idempotency_key(&name, &k)? else {
                return Ok(None);
            };
            let running = store
                .load_workflow(&id)?
                .is_some_and(|w| !w.status.is_terminal());
            Ok(Some((id, running)))
        })
        .await?;
        if let Some((existing, running)) = existing {
            match strategy {
                IdempotencyStrategy::ReturnExisting => return Ok(existing),
                IdempotencyStrategy::FailOnRunning if !running => {}
                IdempotencyStrategy::FailOnRunning => {
                    return Err(EngineError::AlreadyExists(format!(
                        "idempotency key {key:?} is in use by running workflow {existing}"
                    )));
                }
                IdempotencyStrategy::Fail => {
                    return Err(EngineError::AlreadyExists(format!(
                        "idempotency key {key:?} was already used by workflow {existing}"
                    )));
                }
            }
        }
        self.submit(def, params, fixed_id).await
    }

    async fn submit(
        &self,
        def: Arc<WorkflowDef>,
        params: StartParams,
        fixed_id: bool,
    ) -> Result<String, EngineError> {
        let (tx, rx) = oneshot::channel();
        let id = params.workflow_id.clone();
        self.router.send(
            &id,
            Msg::Start {
                def,
                params,
                fixed_id,
                reply: tx,
            },
        );
        rx.await.map_err(|_| EngineError::ShuttingDown)?
    }

    /// Sends an event to an execution and waits for the durable outcome.
    pub async fn event(&self, workflow_id: &str, event: Event) -> Result<Reply, EngineError> {
        if workflow_id.is_empty() {
            return Err(EngineError::InvalidArgument(
                "workflow_id is required".into(),
            ));
        }
        self.router.ask(workflow_id, event).await
    }

    /// The workflow a task belongs to, from the hint or the store.
    pub async fn workflow_of_task(&self, task_id: &str, hint: &str) -> Result<String, EngineError> {
        if !hint.is_empty() {
            return Ok(hint.to_string());
        }
        let (store, id) = (self.store.clone(), task_id.to_string());
        match blocking(move || store.load_task(&id)).await? {
            Some(t) => Ok(t.workflow_id),
            None => Err(EngineError::NotFound(format!(
                "task {task_id} does not exist"
            ))),
        }
    }

    /// Reports a task result and waits for the durable outcome.
    pub async fn update_task(
        &self,
        workflow_hint: &str,
        result: TaskResult,
    ) -> Result<Reply, EngineError> {
        self.check_size("output", &result.output)?;
        let wf = self
            .workflow_of_task(&result.task_id, workflow_hint)
            .await?;
        self.event(&wf, Event::Result(result)).await
    }

    /// Reports a result, without a token, for the latest instance of the task `reference`
    /// of an execution; returns that instance's id.
    pub async fn update_task_by_ref(
        &self,
        workflow_id: &str,
        reference: &str,
        result: TaskResult,
    ) -> Result<String, EngineError> {
        self.check_size("output", &result.output)?;
        let reply = self
            .event(
                workflow_id,
                Event::ResultByRef {
                    reference: reference.to_string(),
                    result,
                },
            )
            .await?;
        match reply {
            Reply::TaskUpdated { task_id } => Ok(task_id),
            other => Err(EngineError::Storage(format!(
                "unexpected reply to a result by reference: {other:?}"
            ))),
        }
    }

    /// Deletes an execution.
    pub async fn remove(&self, workflow_id: &str) -> Result<(), EngineError> {
        self.remove_if(workflow_id, None).await
    }

    /// Deletes a finished execution if it still ended at `end_time` (a retry, restart or
    /// rerun since makes it FAILED_PRECONDITION).
    pub async fn remove_finished(
        &self,
        workflow_id: &str,
        end_time: i64,
    ) -> Result<(), EngineError> {
        self.remove_if(workflow_id, Some(end_time)).await
    }

    async fn remove_if(
        &self,
        workflow_id: &str,
        if_ended_at: Option<i64>,
    ) -> Result<(), EngineError> {
        if workflow_id.is_empty() {
            return Err(EngineError::InvalidArgument(
                "workflow_id is required".into(),
            ));
        }
        let (tx, rx) = oneshot::channel();
        self.router.send(
            workflow_id,
            Msg::Remove {
                workflow_id: workflow_id.to_string(),
                if_ended_at,
                reply: tx,
            },
        );
        rx.await.map_err(|_| EngineError::ShuttingDown)?
    }
}
