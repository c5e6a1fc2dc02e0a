//! Executors: every event of a workflow goes to the one executor that owns its partition.
//!
//! An executor drains its mailbox in batches: it applies `decide` to each message, gathers
//! every resulting write into one storage batch, applies it, waits for one group-committed
//! flush, and only then answers callers and releases effects (queue pushes, timers). No
//! lock guards a workflow: ownership does.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use baton_core::decider::{self, Effect, Env};
use baton_core::{
    DecideError, Event, Execution, Reply, StartParams, TaskDef, TaskStatus, Timer, WorkflowDef,
    WorkflowStatus,
};
use baton_proto::v1::{Ack, TaskAssignment, WorkResponse, work_response};
use baton_store::{Store, Write, WriteBatch};
use parking_lot::RwLock;
use tokio::sync::{mpsc, oneshot};

use crate::commit::GroupCommit;
use crate::convert::{object_to_struct, opt_ts, ts};
use crate::dispatch::{Dispatcher, ReadyTask, WorkerTx};
use crate::error::EngineError;
use crate::jobs::JobRunner;
use crate::now_ms;
use crate::timers::Timers;
use crate::waiters::Waiters;

/// Where the answer to an event goes.
pub(crate) enum Replier {
    /// Nobody waits.
    None,
    /// A unary caller.
    Once(oneshot::Sender<Result<Reply, EngineError>>),
    /// A stream worker: answered with an Ack on its stream.
    Stream {
        tx: WorkerTx,
        task_id: String,
        token: String,
        lease: bool,
    },
}

impl Replier {
    fn send(self, r: Result<Reply, EngineError>) {
        match self {
            Replier::None => {}
            Replier::Once(tx) => {
                let _ = tx.send(r);
            }
            Replier::Stream {
                tx,
                task_id,
                token,
                lease,
            } => {
                let mut ack = Ack {
                    task_id,
                    token,
                    ..Default::default()
                };
                match r {
                    Ok(reply) => {
                        ack.ok = true;
                        if let Reply::LeaseExtended { deadline } = reply {
                            ack.lease_deadline = Some(ts(deadline));
                        }
                    }
                    Err(e) => {
                        ack.code = e.code_name().to_string();
                        ack.message = e.to_string();
                    }
                }
                let kind = if lease {
                    work_response::Kind::LeaseAck(ack)
                } else {
                    work_response::Kind::ResultAck(ack)
                };
                let _ = tx.send(Ok(WorkResponse { kind: Some(kind) }));
            }
        }
    }
}

/// A message to an executor.
pub(crate) enum Msg {
    /// Start a new execution.
    Start {
        def: Arc<WorkflowDef>,
        params: StartParams,
        /// The id was chosen by the caller (a child's): refuse it if it exists already.
        fixed_id: bool,
        reply: oneshot::Sender<Result<String, EngineError>>,
    },
    /// An event for an execution.
    Event {
        workflow_id: String,
        event: Event,
        reply: Replier,
    },
    /// A timer came due.
    TimerFired(Timer),
    /// Delete an execution.
    Remove {
        workflow_id: String,
        reply: oneshot::Sender<Result<(), EngineError>>,
    },
    /// Take charge of an execution loaded at start-up and rebuild its runtime state.
    Adopt(Box<Execution>),
    /// Reload an execution from the store and rebuild its runtime state.
    Recover(String),
    /// Finish the current batch and stop.
    Stop,
}

/// Routes messages to the executor that owns a workflow.
#[derive(Clone)]
pub(crate) struct Router {
    senders: Arc<Vec<mpsc::UnboundedSender<Msg>>>,
    depth: Arc<Vec<AtomicUsize>>,
}

impl Router {
    pub(crate) fn new(n: usize) -> (Self, Vec<mpsc::UnboundedReceiver<Msg>>) {
        let (senders, receivers): (Vec<_>, Vec<_>) =
            (0..n).map(|_| mpsc::unbounded_channel()).unzip();
        let depth = (0..n).map(|_| AtomicUsize::new(0)).collect();
        (
            Self {
                senders: Arc::new(senders),
                depth: Arc::new(depth),
            },
            receivers,
        )
    }

    pub(crate) fn partition(&self, workflow_id: &str) -> usize {
        // FNV-1a: cheap and stable.
        let mut h: u64 = 0xcbf29ce484222325;
        for b in workflow_id.as_bytes() {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x100000001b3);
        }
        (h % self.senders.len() as u64) as usize
    }

    pub(crate) fn send(&self, workflow_id: &str, msg: Msg) {
        let p = self.partition(workflow_id);
        self.depth[p].fetch_add(1, Ordering::Relaxed);
        if self.senders[p].send(msg).is_err() {
            self.depth[p].fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Messages waiting in the mailbox that owns this workflow.
    pub(crate) fn backlog(&self, workflow_id: &str) -> usize {
        self.depth[self.partition(workflow_id)].load(Ordering::Relaxed)
    }

    /// Asks every executor to stop after what is already in its mailbox.
    pub(crate) fn stop_all(&self) {
        for s in self.senders.iter() {
            let _ = s.send(Msg::Stop);
        }
    }
}

/// Task definitions by name, shared by executors and the metadata service.
pub(crate) type TaskDefs = Arc<RwLock<HashMap<String, Arc<TaskDef>>>>;

struct ExecEnv<'a> {
    now: i64,
    task_defs: &'a HashMap<String, Arc<TaskDef>>,
    dispatcher: &'a Dispatcher,
}

impl Env for ExecEnv<'_> {
    fn now_ms(&self) -> i64 {
        self.now
    }
    fn new_id(&mut self) -> String {
        uuid::Uuid::now_v7().to_string()
    }
    fn random(&mut self) -> u64 {
        rand::random()
    }
    fn task_def(&self, name: &str) -> Option<Arc<TaskDef>> {
        self.task_defs.get(name).cloned()
    }
    fn active_domain(&self, task_type: &str, domains: &[&str]) -> Option<usize> {
        self.dispatcher.active_domain(task_type, domains)
    }
}

/// The writes of one batch. A record touched several times is written once, from its
/// final state; deletions keep their order relative to each other.
#[derive(Default)]
struct Writes {
    /// Deletions, snapshots and timers, in order.
    ordered: Vec<Write>,
    /// Changed workflows and their status before the batch.
    workflows: HashMap<String, Option<WorkflowStatus>>,
    /// Changed tasks, in first-touch order, and the set of them still to write.
    tasks: Vec<(String, String)>,
    live_tasks: std::collections::HashSet<String>,
    /// Tasks created in this batch (written with their id index).
    new_tasks: std::collections::HashSet<String>,
    /// Workflows deleted in this batch.
    removed: std::collections::HashSet<String>,
    /// Number of calls that asked for a write.
    touched: usize,
}

impl Writes {
    fn push(&mut self, w: Write) {
        self.touched += 1;
        self.ordered.push(w);
    }

    fn put_workflow(&mut self, id: &str, prev: Option<WorkflowStatus>) {
        self.touched += 1;
        self.workflows.entry(id.to_string()).or_insert(prev);
    }

    fn put_task(&mut self, workflow_id: &str, task_id: &str, new: bool) {
        self.touched += 1;
        if new {
            self.new_tasks.insert(task_id.to_string());
        }
        if self.live_tasks.insert(task_id.to_string()) {
            self.tasks
                .push((workflow_id.to_string(), task_id.to_string()));
        }
    }

    fn delete_task(&mut self, workflow_id: &str, task_id: &str) {
        self.live_tasks.remove(task_id);
        self.push(Write::DeleteTask {
            workflow_id: workflow_id.to_string(),
            task_id: task_id.to_string(),
        });
    }

    fn delete_workflow(&mut self, workflow_id: &str) {
        self.workflows.remove(workflow_id);
        self.removed.insert(workflow_id.to_string());
        self.push(Write::DeleteWorkflow {
            workflow_id: workflow_id.to_string(),
        });
    }

    /// The storage batch, built from the final state of every touched record.
    fn build(self, cache: &HashMap<String, Execution>) -> WriteBatch {
        let mut batch = WriteBatch {
            writes: self.ordered,
        };
        for (id, prev) in self.workflows {
            if let Some(exec) = cache.get(&id) {
                batch.push(Write::PutWorkflow {
                    workflow: exec.workflow.clone(),
                    prev_status: prev,
                });
            }
        }
        for (wf, task_id) in self.tasks {
            if !self.live_tasks.contains(&task_id) || self.removed.contains(&wf) {
                continue;
            }
            if let Some(t) = cache.get(&wf).and_then(|e| e.task(&task_id)) {
                if self.new_tasks.contains(&task_id) {
                    batch.push(Write::PutNewTask(t.clone()));
                } else {
                    batch.push(Write::PutTask(t.clone()));
                }
            }
        }
        batch
    }
}

/// What to do once the batch is durable.
enum Pending {
    Reply(Replier, Result<Reply, EngineError>),
    Started(oneshot::Sender<Result<String, EngineError>>, String),
    Removed(oneshot::Sender<Result<(), EngineError>>),
}

struct Outcome {
    workflow_id: String,
    pending: Option<Pending>,
    effects: Vec<Effect>,
    /// Tasks whose lease ended in this decision.
    leases_cleared: Vec<String>,
    durable: bool,
}

impl Outcome {
    /// An outcome that only releases effects: nobody waits and nothing needs a flush.
    fn effects_only(workflow_id: String, effects: Vec<Effect>) -> Self {
        Self {
            workflow_id,
            pending: None,
            effects,
            leases_cleared: Vec::new(),
            durable: false,
        }
    }
}

/// One executor: owns the executions of its partition.
pub(crate) struct Executor {
    pub(crate) index: usize,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) commit: Arc<GroupCommit>,
    pub(crate) dispatcher: Arc<Dispatcher>,
    pub(crate) timers: Arc<Timers>,
    pub(crate) waiters: Arc<Waiters>,
    pub(crate) task_defs: TaskDefs,
    pub(crate) router: Router,
    pub(crate) jobs: Arc<JobRunner>,
    pub(crate) max_batch: usize,
    cache: HashMap<String, Execution>,
}

impl Executor {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        index: usize,
        store: Arc<dyn Store>,
        commit: Arc<GroupCommit>,
        dispatcher: Arc<Dispatcher>,
        timers: Arc<Timers>,
        waiters: Arc<Waiters>,
        task_defs: TaskDefs,
        router: Router,
        jobs: Arc<JobRunner>,
    ) -> Self {
        Self {
            index,
            store,
            commit,
            dispatcher,
            timers,
            waiters,
            task_defs,
            router,
            jobs,
            max_batch: 2048,
            cache: HashMap::new(),
        }
    }

    /// Runs until the mailbox closes. Blocking: run on a dedicated thread.
    pub(crate) fn run(mut self, mut rx: mpsc::UnboundedReceiver<Msg>) {
        let mut msgs = Vec::with_capacity(self.max_batch);
        loop {
            let Some(first) = rx.blocking_recv() else {
                break;
            };
            msgs.push(first);
            while msgs.len() < self.max_batch {
                match rx.try_recv() {
                    Ok(m) => msgs.push(m),
                    Err(_) => break,
                }
            }
            let n = msgs.len();
            let stop = msgs.iter().any(|m| matches!(m, Msg::Stop));
            self.process(msgs.drain(..));
            self.router.depth[self.index].fetch_sub(n, Ordering::Relaxed);
            if stop {
                break;
            }
        }
        tracing::debug!(executor = self.index, "executor stopped");
    }

    fn process(&mut self, msgs: impl Iterator<Item = Msg>) {
        let t_start = std::time::Instant::now();
        let task_defs = self.task_defs.read().clone();
        let dispatcher = self.dispatcher.clone();
        let mut env = ExecEnv {
            now: now_ms(),
            task_defs: &task_defs,
            dispatcher: &dispatcher,
        };
        let mut writes = Writes::default();
        let mut outcomes: Vec<Outcome> = Vec::new();
        for msg in msgs {
            env.now = now_ms();
            if let Some(o) = self.handle(msg, &mut env, &mut writes) {
                outcomes.push(o);
            }
        }
        let batch = writes.build(&self.cache);
        let t_decided = std::time::Instant::now();
        let mut failure: Option<EngineError> = None;
        let mut t_applied = t_decided;
        if !batch.is_empty() {
            if let Err(e) = self.store.apply(&batch) {
                failure = Some(EngineError::Storage(e.to_string()));
            } else {
                t_applied = std::time::Instant::now();
                if outcomes.iter().any(|o| o.durable)
                    && let Err(e) = self.commit.flush()
                {
                    failure = Some(EngineError::Storage(e.to_string()));
                }
            }
        }
        tracing::trace!(
            executor = self.index,
            events = outcomes.len(),
            writes = batch.writes.len(),
            decide_us = (t_decided - t_start).as_micros() as u64,
            apply_us = (t_applied - t_decided).as_micros() as u64,
            flush_us = t_applied.elapsed().as_micros() as u64,
            "batch"
        );
        if let Some(err) = failure {
            self.fail_batch(outcomes, err);
            return;
        }
        self.release(outcomes);
    }

    /// A batch could not be stored: nothing of it is acknowledged. The executions it
    /// touched are dropped from memory and reloaded from the store shortly.
    fn fail_batch(&mut self, outcomes: Vec<Outcome>, err: EngineError) {
        tracing::error!(executor = self.index, error = %err, "storage write failed; batch not acknowledged");
        for o in outcomes {
            self.cache.remove(&o.workflow_id);
            let router = self.router.clone();
            let wf = o.workflow_id.clone();
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_secs(1));
                router.send(&wf, Msg::Recover(wf.clone()));
            });
            match o.pending {
                Some(Pending::Reply(r, _)) => r.send(Err(err.clone())),
                Some(Pending::Started(tx, _)) => {
                    let _ = tx.send(Err(err.clone()));
                }
                Some(Pending::Removed(tx)) => {
                    let _ = tx.send(Err(err.clone()));
                }
                None => {}
            }
        }
    }

    fn release(&mut self, outcomes: Vec<Outcome>) {
        let mut closed = Vec::new();
        for o in outcomes {
            for t in &o.leases_cleared {
                self.timers.clear_lease(t);
            }
            self.dispatcher.leases_ended(&o.leases_cleared);
            for effect in o.effects {
                match effect {
                    Effect::Enqueue {
                        task_id,
                        queue,
                        priority,
                    } => {
                        if let Some(ready) = self.ready_task(&o.workflow_id, &task_id, priority) {
                            self.dispatcher.enqueue(queue, ready);
                        }
                    }
                    Effect::Dequeue { task_id, .. } => self.dispatcher.dequeue(&task_id),
                    Effect::ArmTimer(t) => self.timers.arm(t),
                    Effect::CancelTimer(t) => self.timers.cancel(&t),
                    Effect::WorkflowClosed { status } => {
                        closed.push((o.workflow_id.clone(), status));
                    }
                    Effect::Run { task_id, job } => {
                        self.jobs.run(o.workflow_id.clone(), task_id, job);
                    }
                    Effect::StartWorkflow { task_id, request } => {
                        self.jobs
                            .start_workflow(o.workflow_id.clone(), task_id, request);
                    }
                    Effect::ReopenParent {
                        workflow_id,
                        task_id,
                    } => self.router.send(
                        &workflow_id.clone(),
                        Msg::Event {
                            workflow_id,
                            event: Event::ChildReopened {
                                task_id,
                                child_id: o.workflow_id.clone(),
                            },
                            reply: Replier::None,
                        },
                    ),
                    Effect::RetryChild { task_id, child_id } => {
                        self.jobs
                            .retry_child(o.workflow_id.clone(), task_id, child_id);
                    }
                    Effect::TerminateWorkflow {
                        workflow_id,
                        reason,
                    } => self.router.send(
                        &workflow_id.clone(),
                        Msg::Event {
                            workflow_id,
                            event: Event::Terminate {
                                reason: Some(reason),
                            },
                            reply: Replier::None,
                        },
                    ),
                }
            }
            match o.pending {
                Some(Pending::Reply(r, res)) => r.send(res),
                Some(Pending::Started(tx, id)) => {
                    let _ = tx.send(Ok(id));
                }
                Some(Pending::Removed(tx)) => {
                    let _ = tx.send(Ok(()));
                }
                None => {}
            }
        }
        for (wf, status) in closed {
            if let Some(w) = self.cache.get(&wf).map(|e| &e.workflow)
                && let (Some(parent), Some(task_id)) =
                    (&w.parent_workflow_id, &w.parent_workflow_task_id)
            {
                // A child ended: its SUB_WORKFLOW task ends the same way.
                self.router.send(
                    parent,
                    Msg::Event {
                        workflow_id: parent.clone(),
                        event: Event::ChildEnded {
                            task_id: task_id.clone(),
                            child_id: wf.clone(),
                            status,
                            output: w.output.clone(),
                            reason: w.reason_for_incompletion.clone(),
                        },
                        reply: Replier::None,
                    },
                );
            }
            if self
                .cache
                .get(&wf)
                .is_some_and(|e| e.workflow.status.is_terminal())
            {
                self.cache.remove(&wf);
            }
            self.waiters.notify(&wf, status);
        }
    }

    fn ready_task(&self, workflow_id: &str, task_id: &str, priority: i32) -> Option<ReadyTask> {
        let exec = self.cache.get(workflow_id)?;
        let t = exec.task(task_id)?;
        if t.status != TaskStatus::Scheduled {
            return None;
        }
        Some(ReadyTask {
            task_id: t.task_id.clone(),
            workflow_id: t.workflow_id.clone(),
            priority,
            response_timeout_seconds: t.response_timeout_seconds,
            assignment: TaskAssignment {
                task_id: t.task_id.clone(),
                token: String::new(),
                task_def_name: t.task_def_name.clone(),
                reference_task_name: t.reference_task_name.clone(),
                workflow_id: t.workflow_id.clone(),
                workflow_type: t.workflow_type.clone(),
                input: Some(object_to_struct(&t.input)),
                retry_count: t.retry_count,
                poll_count: t.poll_count,
                response_timeout_seconds: t.response_timeout_seconds,
                lease_deadline: None,
                domain: t.domain.clone().unwrap_or_default(),
                correlation_id: t.correlation_id.clone().unwrap_or_default(),
                iteration: t.iteration,
                ready_time: opt_ts(Some(t.ready_time.max(t.scheduled_time))),
                output: Some(object_to_struct(&t.output)),
            },
        })
    }

    fn load(&mut self, workflow_id: &str) -> Result<(), EngineError> {
        if self.cache.contains_key(workflow_id) {
            return Ok(());
        }
        match self.store.load_execution(workflow_id) {
            Ok(Some(exec)) => {
                self.cache.insert(workflow_id.to_string(), exec);
                Ok(())
            }
            Ok(None) => Err(EngineError::NotFound(format!(
                "workflow {workflow_id} does not exist"
            ))),
            Err(e) => Err(EngineError::Storage(e.to_string())),
        }
    }

    fn handle(&mut self, msg: Msg, env: &mut ExecEnv<'_>, batch: &mut Writes) -> Option<Outcome> {
        match msg {
            Msg::Start {
                def,
                params,
                fixed_id,
                reply,
            } => {
                let id = params.workflow_id.clone();
                if fixed_id {
                    let exists = self.cache.contains_key(&id)
                        || matches!(self.store.load_workflow(&id), Ok(Some(_)));
                    if exists {
                        let _ = reply.send(Err(EngineError::AlreadyExists(format!(
                            "workflow {id} already exists"
                        ))));
                        return None;
                    }
                }
                match decider::start(def.clone(), params, env) {
                    Ok((exec, d)) => {
                        batch.put_workflow(&id, None);
                        batch.push(Write::PutSnapshot {
                            workflow_id: id.clone(),
                            def,
                        });
                        self.cache.insert(id.clone(), exec);
                        let mut o = self.record(&id, None, 0, d, batch);
                        o.pending = Some(Pending::Started(reply, id));
                        o.durable = true;
                        Some(o)
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e.into()));
                        None
                    }
                }
            }
            Msg::Event {
                workflow_id,
                event,
                reply,
            } => self.apply_event(workflow_id, event, reply, env, batch),
            Msg::TimerFired(timer) => {
                let durable = timer.is_durable();
                if durable {
                    batch.push(Write::DeleteTimer(timer.clone()));
                }
                let wf = timer.workflow_id.clone();
                let mut o = self.apply_event(
                    wf.clone(),
                    Event::Timer(timer.kind),
                    Replier::None,
                    env,
                    batch,
                );
                if o.is_none() && durable {
                    o = Some(Outcome::effects_only(wf, Vec::new()));
                }
                o
            }
            Msg::Remove { workflow_id, reply } => {
                if let Err(e) = self.load(&workflow_id) {
                    let _ = reply.send(Err(e));
                    return None;
                }
                let exec = self.cache.remove(&workflow_id).expect("loaded");
                let mut effects = Vec::new();
                let mut leases_cleared = Vec::new();
                for t in &exec.tasks {
                    match t.status {
                        TaskStatus::Scheduled => effects.push(Effect::Dequeue {
                            task_id: t.task_id.clone(),
                            queue: baton_core::QueueKey {
                                task_type: t.task_def_name.clone(),
                                domain: t.domain.clone(),
                            },
                        }),
                        TaskStatus::InProgress => leases_cleared.push(t.task_id.clone()),
                        _ => {}
                    }
                }
                batch.delete_workflow(&workflow_id);
                Some(Outcome {
                    workflow_id,
                    pending: Some(Pending::Removed(reply)),
                    effects,
                    leases_cleared,
                    durable: true,
                })
            }
            Msg::Adopt(exec) => {
                let id = exec.workflow.workflow_id.clone();
                let effects = decider::recover(&exec, env.now);
                self.dispatcher.adopt_running(&exec);
                self.cache.insert(id.clone(), *exec);
                Some(Outcome::effects_only(id, effects))
            }
            Msg::Stop => None,
            Msg::Recover(id) => {
                self.cache.remove(&id);
                if self.load(&id).is_err() {
                    return None;
                }
                let exec = self.cache.get(&id).expect("loaded");
                let effects = decider::recover(exec, env.now);
                self.dispatcher.adopt_running(exec);
                Some(Outcome::effects_only(id, effects))
            }
        }
    }

    fn apply_event(
        &mut self,
        workflow_id: String,
        event: Event,
        reply: Replier,
        env: &mut ExecEnv<'_>,
        batch: &mut Writes,
    ) -> Option<Outcome> {
        if let Err(e) = self.load(&workflow_id) {
            reply.send(Err(e));
            return None;
        }
        // Dispatch records need no flush: nobody is answered for them.
        let durable = !matches!(event, Event::Dispatched { .. });
        let exec = self.cache.get_mut(&workflow_id).expect("loaded");
        let prev_status = exec.workflow.status;
        let known_tasks = exec.tasks.len();
        match decider::decide(exec, event, env) {
            Ok(d) => {
                let reply_value = d.reply.clone();
                let before = batch.touched;
                // Tasks are only appended, except by a restart, which replaces them all.
                let new_from = if d.removed_tasks.is_empty() {
                    known_tasks
                } else {
                    0
                };
                let mut o = self.record(&workflow_id, Some(prev_status), new_from, d, batch);
                o.pending = Some(Pending::Reply(reply, Ok(reply_value)));
                o.durable = durable && batch.touched > before;
                Some(o)
            }
            Err(e) => {
                if !matches!(e, DecideError::StaleToken { .. }) || !matches!(reply, Replier::None) {
                    tracing::debug!(workflow_id, error = %e, "event refused");
                }
                reply.send(Err(e.into()));
                None
            }
        }
    }

    /// Turns a decision into writes and an outcome to release after the flush.
    fn record(
        &mut self,
        workflow_id: &str,
        prev_status: Option<WorkflowStatus>,
        new_from: usize,
        d: decider::Decision,
        batch: &mut Writes,
    ) -> Outcome {
        let exec = self.cache.get(workflow_id).expect("in cache");
        if d.workflow_changed && prev_status.is_some() {
            batch.put_workflow(workflow_id, prev_status);
        }
        let mut leases_cleared = Vec::new();
        for id in &d.changed_tasks {
            if let Some(i) = exec.task_index(id) {
                let t = &exec.tasks[i];
                if t.status != TaskStatus::InProgress {
                    leases_cleared.push(t.task_id.clone());
                }
                batch.put_task(workflow_id, id, i >= new_from);
            }
        }
        for id in &d.removed_tasks {
            leases_cleared.push(id.clone());
            batch.delete_task(workflow_id, id);
        }
        for e in &d.effects {
            match e {
                Effect::ArmTimer(t) if t.is_durable() => batch.push(Write::PutTimer(t.clone())),
                Effect::CancelTimer(t) if t.is_durable() => {
                    batch.push(Write::DeleteTimer(t.clone()))
                }
                _ => {}
            }
        }
        Outcome {
            workflow_id: workflow_id.to_string(),
            pending: None,
            effects: d.effects,
            leases_cleared,
            durable: true,
        }
    }
}
