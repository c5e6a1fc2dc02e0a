//! The engine: wires store, executors, dispatcher and timers together, recovers state on
//! start, and offers the operations the gRPC services expose.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use baton_core::decider::ChildStart;
use baton_core::event_handler::EventHandler;
use baton_core::{
    Event, Object, Reply, StartParams, TaskDef, TaskInstance, TaskLog, TaskResult, WorkflowDef,
    WorkflowInstance, WorkflowStatus,
};
use baton_store::Store;
use parking_lot::{Mutex, RwLock};
use tokio::sync::oneshot;

use crate::commit::GroupCommit;
use crate::dispatch::Dispatcher;
use crate::error::EngineError;
use crate::executor::{Executor, Msg, Replier, Router, TaskDefs};
use crate::jobs::{JobLimits, JobRunner};
use crate::timers::Timers;
use crate::waiters::Waiters;

/// Tunables of the engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Number of executor partitions (threads).
    pub partitions: usize,
    /// Largest accepted input, output or definition, in bytes of JSON.
    pub max_payload_bytes: usize,
    /// Mailbox backlog above which new starts are refused with RESOURCE_EXHAUSTED.
    pub max_backlog: usize,
    /// Limits of the scripts, jq queries and HTTP calls system tasks run.
    pub jobs: JobLimits,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            partitions: 2,
            max_payload_bytes: 4 * 1024 * 1024,
            max_backlog: 200_000,
            jobs: JobLimits::default(),
        }
    }
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
}

/// Workflow definitions by name and version.
type WorkflowDefs = RwLock<HashMap<String, BTreeMap<i32, Arc<WorkflowDef>>>>;

/// Event handlers by name.
type EventHandlers = RwLock<BTreeMap<String, Arc<EventHandler>>>;

/// The running engine.
pub struct Engine {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) router: Router,
    pub(crate) dispatcher: Arc<Dispatcher>,
    pub(crate) timers: Arc<Timers>,
    pub(crate) waiters: Arc<Waiters>,
    commit: Arc<GroupCommit>,
    pub(crate) task_defs: TaskDefs,
    wf_defs: WorkflowDefs,
    event_handlers: EventHandlers,
    /// Serialises event handler writes, so that "exists?" and "store" cannot interleave.
    handler_writes: tokio::sync::Mutex<()>,
    idempotency: tokio::sync::Mutex<()>,
    pub(crate) config: EngineConfig,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Engine {
    /// Opens the engine on a store: loads definitions, re-arms timers, adopts every running
    /// execution, and starts the executors and the timer service. Must be called within a
    /// tokio runtime.
    pub async fn open(
        store: Arc<dyn Store>,
        config: EngineConfig,
    ) -> Result<Arc<Self>, EngineError> {
        let epoch = store.next_epoch()?;
        let partitions = config.partitions.max(1);
        let (router, receivers) = Router::new(partitions);
        let dispatcher = Arc::new(Dispatcher::new(epoch, router.clone()));
        let timers = Timers::new(router.clone());
        let waiters = Arc::new(Waiters::default());
        let commit = GroupCommit::start(store.clone());
        let jobs = Arc::new(JobRunner::new(router.clone(), config.jobs.clone())?);
        let jobs_for_engine = jobs.clone();

        let task_defs: TaskDefs = Arc::new(RwLock::new(
            store
                .list_task_defs()?
                .into_iter()
                .map(|d| (d.name.clone(), Arc::new(d)))
                .collect(),
        ));
        dispatcher.use_task_defs(task_defs.clone());
        let mut wf_defs: HashMap<String, BTreeMap<i32, Arc<WorkflowDef>>> = HashMap::new();
        for d in store.list_workflow_defs()? {
            wf_defs
                .entry(d.name.clone())
                .or_default()
                .insert(d.version, Arc::new(d));
        }

        let mut threads = Vec::new();
        for (i, rx) in receivers.into_iter().enumerate() {
            let ex = Executor::new(
                i,
                store.clone(),
                commit.clone(),
                dispatcher.clone(),
                timers.clone(),
                waiters.clone(),
                task_defs.clone(),
                router.clone(),
                jobs.clone(),
            );
            threads.push(
                std::thread::Builder::new()
                    .name(format!("baton-exec-{i}"))
                    .spawn(move || ex.run(rx))
                    .map_err(|e| EngineError::Storage(format!("cannot start executor: {e}")))?,
            );
        }

        let engine = Arc::new(Self {
            store: store.clone(),
            router: router.clone(),
            dispatcher,
            timers: timers.clone(),
            waiters,
            commit,
            task_defs,
            wf_defs: RwLock::new(wf_defs),
            event_handlers: RwLock::new(
                store
                    .list_event_handlers()?
                    .into_iter()
                    .map(|h| (h.name.clone(), Arc::new(h)))
                    .collect(),
            ),
            handler_writes: tokio::sync::Mutex::new(()),
            idempotency: tokio::sync::Mutex::new(()),
            config,
            threads: Mutex::new(threads),
        });
        jobs_for_engine.attach(&engine);

        // Recovery: durable timers, then every execution still running or paused.
        let stored_timers = store.timers()?;
        let n_timers = stored_timers.len();
        for t in stored_timers {
            timers.arm(t);
        }
        let mut adopted = 0usize;
        for status in [WorkflowStatus::Running, WorkflowStatus::Paused] {
            for id in store.workflow_ids_by_status(status)? {
                if let Some(exec) = store.load_execution(&id)? {
                    router.send(&id, Msg::Adopt(Box::new(exec)));
                    adopted += 1;
                }
            }
        }
        tracing::info!(
            epoch,
            timers = n_timers,
            executions = adopted,
            "engine recovered"
        );
        tokio::spawn(timers.run());
        Ok(engine)
    }

    /// Stops the executors after the work already queued, and flushes.
    pub fn shutdown(&self) {
        self.router.stop_all();
        for t in self.threads.lock().drain(..) {
            let _ = t.join();
        }
        if let Err(e) = self.store.flush() {
            tracing::error!(error = %e, "final flush failed");
        }
        self.commit.stop();
    }

    /// Number of armed timers (durable and lease timers).
    pub fn armed_timers(&self) -> usize {
        self.timers.len()
    }

    /// The dispatcher.
    pub fn dispatcher(&self) -> &Arc<Dispatcher> {
        &self.dispatcher
    }

    /// The largest accepted payload.
    pub fn max_payload_bytes(&self) -> usize {
        self.config.max_payload_bytes
    }

    /// Checks a JSON payload against the size limit.
    pub fn check_size(&self, what: &str, obj: &Object) -> Result<(), EngineError> {
        let limit = self.config.max_payload_bytes;
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

    // ---- definitions ----

    /// Stores a workflow definition (validated by the caller).
    pub async fn put_workflow_def(
        &self,
        mut def: WorkflowDef,
        overwrite: bool,
    ) -> Result<Arc<WorkflowDef>, EngineError> {
        let now = crate::now_ms();
        let existing = self.workflow_def(&def.name, Some(def.version));
        if let Some(old) = &existing {
            if !overwrite {
                return Err(EngineError::AlreadyExists(format!(
                    "workflow definition {} version {} already exists",
                    def.name, def.version
                )));
            }
            def.create_time = old.create_time.or(Some(now));
            def.update_time = Some(now);
        } else {
            def.create_time = def.create_time.or(Some(now));
        }
        let store = self.store.clone();
        let d = def.clone();
        tokio::task::spawn_blocking(move || store.put_workflow_def(&d, overwrite))
            .await
            .map_err(|e| EngineError::Storage(e.to_string()))??;
        let def = Arc::new(def);
        self.wf_defs
            .write()
            .entry(def.name.clone())
            .or_default()
            .insert(def.version, def.clone());
        Ok(def)
    }

    /// A workflow definition: a version, or the latest.
    pub fn workflow_def(&self, name: &str, version: Option<i32>) -> Option<Arc<WorkflowDef>> {
        let g = self.wf_defs.read();
        let versions = g.get(name)?;
        match version {
            Some(v) => versions.get(&v).cloned(),
            None => versions.values().next_back().cloned(),
        }
    }

    /// Every workflow definition, by name then version.
    pub fn workflow_defs(&self) -> Vec<Arc<WorkflowDef>> {
        let g = self.wf_defs.read();
        let mut names: Vec<&String> = g.keys().collect();
        names.sort();
        names
            .into_iter()
            .flat_map(|n| g[n].values().cloned())
            .collect()
    }

    /// Deletes one version of a workflow definition.
    pub async fn delete_workflow_def(&self, name: &str, version: i32) -> Result<(), EngineError> {
        let store = self.store.clone();
        let (n, v) = (name.to_string(), version);
        let found = tokio::task::spawn_blocking(move || store.delete_workflow_def(&n, v))
            .await
            .map_err(|e| EngineError::Storage(e.to_string()))??;
        if !found {
            return Err(EngineError::NotFound(format!(
                "workflow definition {name} version {version} does not exist"
            )));
        }
        let mut g = self.wf_defs.write();
        if let Some(vs) = g.get_mut(name) {
            vs.remove(&version);
            if vs.is_empty() {
                g.remove(name);
            }
        }
        Ok(())
    }

    /// Creates or replaces task definitions (validated by the caller).
    pub async fn put_task_defs(
        &self,
        defs: Vec<TaskDef>,
    ) -> Result<Vec<Arc<TaskDef>>, EngineError> {
        let now = crate::now_ms();
        let mut out = Vec::new();
        for mut def in defs {
            let old = self.task_defs.read().get(&def.name).cloned();
            match old {
                Some(o) => {
                    def.create_time = o.create_time.or(Some(now));
                    def.update_time = Some(now);
                }
                None => def.create_time = def.create_time.or(Some(now)),
            }
            let store = self.store.clone();
            let d = def.clone();
            tokio::task::spawn_blocking(move || store.put_task_def(&d))
                .await
                .map_err(|e| EngineError::Storage(e.to_string()))??;
            let def = Arc::new(def);
            self.task_defs.write().insert(def.name.clone(), def.clone());
            out.push(def);
        }
        Ok(out)
    }

    /// A task definition.
    pub fn task_def(&self, name: &str) -> Option<Arc<TaskDef>> {
        self.task_defs.read().get(name).cloned()
    }

    /// Every task definition, by name.
    pub fn task_defs(&self) -> Vec<Arc<TaskDef>> {
        let mut v: Vec<_> = self.task_defs.read().values().cloned().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// Deletes a task definition.
    pub async fn delete_task_def(&self, name: &str) -> Result<(), EngineError> {
        let store = self.store.clone();
        let n = name.to_string();
        let found = tokio::task::spawn_blocking(move || store.delete_task_def(&n))
            .await
            .map_err(|e| EngineError::Storage(e.to_string()))??;
        if !found {
            return Err(EngineError::NotFound(format!(
                "task definition {name} does not exist"
            )));
        }
        self.task_defs.write().remove(name);
        Ok(())
    }

    // ---- executions ----

    /// Starts an execution; returns its id once the start is durable.
    pub async fn start_workflow(&self, req: StartRequest) -> Result<String, EngineError> {
        if req.name.is_empty() {
            return Err(EngineError::InvalidArgument(
                "name: a workflow name is required".into(),
            ));
        }
        if !(0..=99).contains(&req.priority) {
            return Err(EngineError::InvalidArgument(format!(
                "priority: {} is outside 0-99",
                req.priority
            )));
        }
        self.check_size("input", &req.input)?;
        let def = self
            .workflow_def(&req.name, req.version.filter(|v| *v > 0))
            .ok_or_else(|| {
                EngineError::NotFound(match req.version.filter(|v| *v > 0) {
                    Some(v) => format!(
                        "workflow definition {} version {v} does not exist",
                        req.name
                    ),
                    None => format!("workflow definition {} does not exist", req.name),
                })
            })?;
        let id = uuid::Uuid::now_v7().to_string();
        if self.router.backlog(&id) > self.config.max_backlog {
            return Err(EngineError::ResourceExhausted(
                "server overloaded: too many events waiting; retry later".into(),
            ));
        }
        let params = StartParams {
            workflow_id: id.clone(),
            input: req.input,
            correlation_id: req.correlation_id.filter(|c| !c.is_empty()),
            priority: req.priority,
            task_to_domain: req.task_to_domain,
            idempotency_key: req.idempotency_key.clone().filter(|k| !k.is_empty()),
            parent_workflow_id: None,
            parent_workflow_task_id: None,
        };
        let Some(key) = params.idempotency_key.clone() else {
            return self.submit_start(def, params).await;
        };
        // Idempotent starts are serialised so that check and start cannot interleave.
        let _guard = self.idempotency.lock().await;
        if let Some(existing) = self.store.workflow_id_by_idempotency_key(&req.name, &key)? {
            let status = self.store.load_workflow(&existing)?.map(|w| w.status);
            match req.idempotency_strategy {
                IdempotencyStrategy::ReturnExisting => return Ok(existing),
                IdempotencyStrategy::Fail => {
                    return Err(EngineError::AlreadyExists(format!(
                        "idempotency key {key:?} was already used by workflow {existing}"
                    )));
                }
                IdempotencyStrategy::FailOnRunning => {
                    if status.is_some_and(|s| !s.is_terminal()) {
                        return Err(EngineError::AlreadyExists(format!(
                            "idempotency key {key:?} is in use by running workflow {existing}"
                        )));
                    }
                }
            }
        }
        self.submit_start(def, params).await
    }

    async fn submit_start(
        &self,
        def: Arc<WorkflowDef>,
        params: StartParams,
    ) -> Result<String, EngineError> {
        self.submit(def, params, false).await
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

    /// Starts a workflow an execution asked for (a SUB_WORKFLOW's child, a
    /// START_WORKFLOW's workflow, a failure workflow) under the id the request fixes.
    /// ALREADY_EXISTS when an execution with that id exists (the request was made before).
    pub(crate) async fn start_requested(&self, req: ChildStart) -> Result<String, EngineError> {
        let version = req.version.filter(|v| *v > 0);
        let def = match req.definition {
            Some(d) => d,
            None => self.workflow_def(&req.name, version).ok_or_else(|| {
                EngineError::NotFound(match version {
                    Some(v) => format!(
                        "workflow definition {} version {v} does not exist",
                        req.name
                    ),
                    None => format!("workflow definition {} does not exist", req.name),
                })
            })?,
        };
        if !(0..=99).contains(&req.priority) {
            return Err(EngineError::InvalidArgument(format!(
                "priority: {} is outside 0-99",
                req.priority
            )));
        }
        self.check_size("input", &req.input)?;
        let key = req.idempotency_key.filter(|k| !k.is_empty());
        let (parent_workflow_id, parent_workflow_task_id) = match req.parent {
            Some((p, t)) => (Some(p), Some(t)),
            None => (None, None),
        };
        let params = StartParams {
            workflow_id: req.workflow_id,
            input: req.input,
            correlation_id: req.correlation_id.filter(|c| !c.is_empty()),
            priority: req.priority,
            task_to_domain: req.task_to_domain,
            idempotency_key: key.clone(),
            parent_workflow_id,
            parent_workflow_task_id,
        };
        let Some(key) = key else {
            return self.submit(def, params, true).await;
        };
        let _guard = self.idempotency.lock().await;
        if let Some(existing) = self.store.workflow_id_by_idempotency_key(&def.name, &key)? {
            let running = self
                .store
                .load_workflow(&existing)?
                .is_some_and(|w| !w.status.is_terminal());
            match req.idempotency_strategy.as_deref().unwrap_or("FAIL") {
                "RETURN_EXISTING" => return Ok(existing),
                "FAIL_ON_RUNNING" if !running => {}
                _ => {
                    return Err(EngineError::AlreadyExists(format!(
                        "idempotency key {key:?} was already used by workflow {existing}"
                    )));
                }
            }
        }
        self.submit(def, params, true).await
    }

    /// Sends an event to an execution and waits for the durable outcome.
    pub async fn event(&self, workflow_id: &str, event: Event) -> Result<Reply, EngineError> {
        let (tx, rx) = oneshot::channel();
        self.router.send(
            workflow_id,
            Msg::Event {
                workflow_id: workflow_id.to_string(),
                event,
                reply: Replier::Once(tx),
            },
        );
        rx.await.map_err(|_| EngineError::ShuttingDown)?
    }

    /// Sends an event whose answer goes straight to a worker stream.
    pub(crate) fn event_to_stream(&self, workflow_id: &str, event: Event, reply: Replier) {
        self.router.send(
            workflow_id,
            Msg::Event {
                workflow_id: workflow_id.to_string(),
                event,
                reply,
            },
        );
    }

    /// The workflow a task belongs to, from the hint or the store.
    pub fn workflow_of_task(&self, task_id: &str, hint: &str) -> Result<String, EngineError> {
        if !hint.is_empty() {
            return Ok(hint.to_string());
        }
        match self.store.load_task(task_id)? {
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
        let wf = self.workflow_of_task(&result.task_id, workflow_hint)?;
        self.event(&wf, Event::Result(result)).await
    }

    /// Deletes an execution.
    pub async fn remove_workflow(&self, workflow_id: &str) -> Result<(), EngineError> {
        let (tx, rx) = oneshot::channel();
        self.router.send(
            workflow_id,
            Msg::Remove {
                workflow_id: workflow_id.to_string(),
                reply: tx,
            },
        );
        rx.await.map_err(|_| EngineError::ShuttingDown)?
    }

    /// Reads an execution from the store.
    pub fn get_workflow(
        &self,
        workflow_id: &str,
        include_tasks: bool,
    ) -> Result<(WorkflowInstance, Vec<TaskInstance>), EngineError> {
        if include_tasks {
            match self.store.load_execution(workflow_id)? {
                Some(e) => Ok((e.workflow, e.tasks)),
                None => Err(EngineError::NotFound(format!(
                    "workflow {workflow_id} does not exist"
                ))),
            }
        } else {
            match self.store.load_workflow(workflow_id)? {
                Some(w) => Ok((w, Vec::new())),
                None => Err(EngineError::NotFound(format!(
                    "workflow {workflow_id} does not exist"
                ))),
            }
        }
    }

    /// Reads one task.
    pub fn get_task(&self, task_id: &str) -> Result<TaskInstance, EngineError> {
        self.store
            .load_task(task_id)?
            .ok_or_else(|| EngineError::NotFound(format!("task {task_id} does not exist")))
    }

    /// Ids of executions of `name` with a correlation id.
    pub fn workflows_by_correlation(
        &self,
        name: &str,
        corr: &str,
    ) -> Result<Vec<String>, EngineError> {
        Ok(self.store.workflow_ids_by_correlation(name, corr)?)
    }

    /// Waits until an execution is terminal or `wait` passes; returns its status then.
    pub async fn wait_closed(
        &self,
        workflow_id: &str,
        wait: Duration,
    ) -> Result<WorkflowStatus, EngineError> {
        let rx = self.waiters.wait(workflow_id);
        // It may have ended before we registered.
        let (wf, _) = self.get_workflow(workflow_id, false)?;
        if wf.status.is_terminal() {
            self.waiters.prune(workflow_id);
            return Ok(wf.status);
        }
        match tokio::time::timeout(wait, rx).await {
            Ok(Ok(status)) => Ok(status),
            _ => {
                self.waiters.prune(workflow_id);
                Ok(self.get_workflow(workflow_id, false)?.0.status)
            }
        }
    }

    // ---- operations on executions ----

    /// Waits until the task `reference` of an execution has finished (its latest instance
    /// is terminal; for a definition reference inside a loop, that of its latest
    /// iteration), the execution is terminal, or `wait` passes. Returns the execution's
    /// status then and whether the task had finished.
    pub async fn wait_for_task(
        &self,
        workflow_id: &str,
        reference: &str,
        wait: Duration,
    ) -> Result<(WorkflowStatus, bool), EngineError> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut closed = Some(self.waiters.wait(workflow_id));
        // Task progress has no notification of its own: the execution is read again after
        // a pause that grows up to a quarter second, or at once when it closes.
        let mut pause = Duration::from_millis(5);
        let outcome = loop {
            let (wf, tasks) = match self.get_workflow(workflow_id, true) {
                Ok(x) => x,
                Err(e) => break Err(e),
            };
            let finished = tasks
                .iter()
                .rev()
                .find(|t| reference_matches(&t.reference_task_name, reference))
                .is_some_and(|t| t.status.is_terminal());
            let now = tokio::time::Instant::now();
            if finished || wf.status.is_terminal() || now >= deadline {
                break Ok((wf.status, finished));
            }
            let nap = tokio::time::sleep(pause.min(deadline - now));
            match closed.as_mut() {
                Some(rx) => {
                    tokio::select! {
                        _ = rx => closed = None,
                        _ = nap => {}
                    }
                }
                None => nap.await,
            }
            pause = (pause * 2).min(Duration::from_millis(250));
        };
        drop(closed);
        self.waiters.prune(workflow_id);
        outcome
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

    /// Adds log lines to a task.
    pub async fn add_task_logs(
        &self,
        task_id: &str,
        logs: Vec<TaskLog>,
    ) -> Result<(), EngineError> {
        let wf = self.workflow_of_task(task_id, "")?;
        self.event(
            &wf,
            Event::AddLogs {
                task_id: task_id.to_string(),
                logs,
            },
        )
        .await?;
        Ok(())
    }

    /// Ids of the RUNNING and PAUSED executions of `name`, oldest first; only `version`
    /// when given, only those created within `[created_from, created_to]` (epoch ms).
    pub fn open_workflow_ids(
        &self,
        name: &str,
        version: Option<i32>,
        created_from: Option<i64>,
        created_to: Option<i64>,
    ) -> Result<Vec<String>, EngineError> {
        Ok(self
            .store
            .open_workflow_ids(name, version, created_from, created_to)?)
    }

    // ---- event handlers ----

    /// Stores a new event handler (validated by the caller); ALREADY_EXISTS when one has
    /// its name.
    pub async fn add_event_handler(
        &self,
        handler: EventHandler,
    ) -> Result<Arc<EventHandler>, EngineError> {
        let _guard = self.handler_writes.lock().await;
        if self.event_handler(&handler.name).is_some() {
            return Err(EngineError::AlreadyExists(format!(
                "event handler {} already exists",
                handler.name
            )));
        }
        self.store_event_handler(handler).await
    }

    /// Replaces an existing event handler (validated by the caller), found by name.
    pub async fn update_event_handler(
        &self,
        handler: EventHandler,
    ) -> Result<Arc<EventHandler>, EngineError> {
        let _guard = self.handler_writes.lock().await;
        if self.event_handler(&handler.name).is_none() {
            return Err(EngineError::NotFound(format!(
                "event handler {} does not exist",
                handler.name
            )));
        }
        self.store_event_handler(handler).await
    }

    async fn store_event_handler(
        &self,
        handler: EventHandler,
    ) -> Result<Arc<EventHandler>, EngineError> {
        let store = self.store.clone();
        let h = handler.clone();
        tokio::task::spawn_blocking(move || store.put_event_handler(&h))
            .await
            .map_err(|e| EngineError::Storage(e.to_string()))??;
        let handler = Arc::new(handler);
        self.event_handlers
            .write()
            .insert(handler.name.clone(), handler.clone());
        Ok(handler)
    }

    /// Deletes an event handler by name.
    pub async fn delete_event_handler(&self, name: &str) -> Result<(), EngineError> {
        let _guard = self.handler_writes.lock().await;
        let store = self.store.clone();
        let n = name.to_string();
        let found = tokio::task::spawn_blocking(move || store.delete_event_handler(&n))
            .await
            .map_err(|e| EngineError::Storage(e.to_string()))??;
        if !found {
            return Err(EngineError::NotFound(format!(
                "event handler {name} does not exist"
            )));
        }
        self.event_handlers.write().remove(name);
        Ok(())
    }

    /// One event handler by name.
    pub fn event_handler(&self, name: &str) -> Option<Arc<EventHandler>> {
        self.event_handlers.read().get(name).cloned()
    }

    /// Event handlers ordered by name: all, or those of `event`; only active ones when
    /// `active_only`.
    pub fn event_handlers(&self, event: Option<&str>, active_only: bool) -> Vec<Arc<EventHandler>> {
        self.event_handlers
            .read()
            .values()
            .filter(|h| event.is_none_or(|e| h.handles(e)) && (h.active || !active_only))
            .cloned()
            .collect()
    }

    /// The active event handlers of `event` (`provider:queue`), ordered by name: what runs
    /// when something is published to it.
    pub fn event_handlers_for(&self, event: &str) -> Vec<Arc<EventHandler>> {
        self.event_handlers(Some(event), true)
    }
}

/// Whether an instance reference is `reference` itself or, for a definition reference
/// inside a loop, one of its iterations (`reference` followed by `__N` groups).
pub(crate) fn reference_matches(instance: &str, reference: &str) -> bool {
    match instance.strip_prefix(reference) {
        Some("") => true,
        Some(rest) => {
            rest.split("__")
                .skip(1)
                .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                && rest.starts_with("__")
        }
        None => false,
    }
}
