//! Executors: every event of a workflow goes to the one executor that owns its partition.
//!
//! An executor drains its mailbox in batches: it applies `decide` to each message, gathers
//! every resulting write into one storage batch, applies it, waits for one group-committed
//! flush, and only then answers callers and releases effects (queue pushes, timers). No
//! lock guards a workflow: ownership does.

use std::collections::{HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use baton_core::decider::{self, Effect, Env};
use baton_core::{DecideError, Event, Reply, TaskDef, TaskStatus, WorkflowStatus};
use baton_store::{Store, Write, WriteBatch};
use tokio::sync::{mpsc, oneshot};

use crate::clock::SharedClock;
use crate::error::EngineError;
use crate::matching::{Dispatcher, ReadyTask};
use crate::runtime::DecideHook;
use crate::runtime::cache::ExecCache;
use crate::runtime::commit::GroupCommit;
use crate::runtime::jobs::JobRunner;
use crate::runtime::msg::{Handoff, Msg, Replier, Router};
use crate::runtime::registry::TaskDefs;
use crate::runtime::timers::Timers;
use crate::runtime::waiters::Waiters;
use crate::spans::SpanSink;
use crate::stats::Stats;
use crate::telemetry::{self, Observation};
use crate::work::{Assignment, WorkerMsg};

/// How long a batch that could not be stored waits before its executions are reloaded.
const RECOVER_DELAY: Duration = Duration::from_secs(1);

struct ExecEnv<'a> {
    now: i64,
    task_defs: &'a HashMap<String, Arc<TaskDef>>,
    dispatcher: &'a Dispatcher,
}

impl Env for ExecEnv<'_> {
    fn now_ms(&self) -> i64 {
        self.now
    }
    fn new_task_id(&mut self, workflow_id: &str, seq: i32) -> String {
        baton_core::ids::task_id(workflow_id, seq, rand::random())
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
    /// Workflows whose decision panicked in this batch: nothing of theirs is written.
    poisoned: HashSet<String>,
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
    fn build(self, cache: &ExecCache) -> WriteBatch {
        let poisoned = self.poisoned;
        let mut batch = WriteBatch {
            writes: self
                .ordered
                .into_iter()
                .filter(|w| poisoned.is_empty() || !poisoned.contains(write_workflow(w)))
                .collect(),
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

/// The execution a write belongs to.
fn write_workflow(w: &Write) -> &str {
    match w {
        Write::PutWorkflow { workflow, .. } | Write::PutRestored(workflow) => &workflow.workflow_id,
        Write::PutTask(t) | Write::PutNewTask(t) => &t.workflow_id,
        Write::PutSnapshot { workflow_id, .. }
        | Write::DeleteTask { workflow_id, .. }
        | Write::DeleteWorkflow { workflow_id } => workflow_id,
        Write::PutTimer(t) | Write::DeleteTimer(t) => &t.workflow_id,
    }
}

/// The message of a caught panic.
fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
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
    /// What the decision counts as, recorded once its batch is stored.
    observed: Vec<Observation>,
    /// Tasks that ended in this decision, reported to the span sink once its batch is
    /// stored (gathered only when there is one).
    ended_tasks: Vec<String>,
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
            observed: Vec::new(),
            ended_tasks: Vec::new(),
        }
    }
}

/// One executor: owns the executions of its partition.
pub(crate) struct Executor {
    pub(crate) index: usize,
    stats: Arc<Stats>,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) commit: Arc<GroupCommit>,
    pub(crate) dispatcher: Arc<Dispatcher>,
    pub(crate) timers: Arc<Timers>,
    pub(crate) waiters: Arc<Waiters>,
    pub(crate) task_defs: Arc<TaskDefs>,
    pub(crate) router: Router,
    pub(crate) jobs: Arc<JobRunner>,
    pub(crate) clock: SharedClock,
    /// Where delayed messages (reloads after a failed batch) are scheduled.
    pub(crate) runtime: tokio::runtime::Handle,
    before_decide: Option<DecideHook>,
    /// Where ended tasks and workflows are reported once durable.
    spans: Option<Arc<dyn SpanSink>>,
    pub(crate) max_batch: usize,
    cache: ExecCache,
    /// Why the workflows poisoned in the current batch panicked.
    poison_reasons: HashMap<String, String>,
    /// Until recovery has handed over every execution of the partition: an open execution
    /// loaded for an event is adopted on the spot.
    recovering: bool,
    /// Executions adopted on the spot in the current message, to release before its
    /// outcome.
    adopted: Vec<Outcome>,
    /// While recovering: the open executions adopted so far, so that none is adopted
    /// twice when the cache drops it and loads it again before recovery ends.
    adopted_ids: HashSet<Box<str>>,
    /// Recovery's last execution was handed over in the current batch: the dispatcher
    /// hears so once the batch's effects (the adopted executions' ready tasks queued
    /// again) are released, so that a recovered partition has its queues complete.
    recovered_in_batch: bool,
}

/// What an executor is built from.
pub(crate) struct Parts {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) commit: Arc<GroupCommit>,
    pub(crate) dispatcher: Arc<Dispatcher>,
    pub(crate) timers: Arc<Timers>,
    pub(crate) waiters: Arc<Waiters>,
    pub(crate) task_defs: Arc<TaskDefs>,
    pub(crate) router: Router,
    pub(crate) jobs: Arc<JobRunner>,
    pub(crate) clock: SharedClock,
    pub(crate) runtime: tokio::runtime::Handle,
    pub(crate) before_decide: Option<DecideHook>,
    /// Where ended tasks and workflows are reported once durable.
    pub(crate) spans: Option<Arc<dyn SpanSink>>,
    /// Byte budget of this executor's execution cache.
    pub(crate) cache_bytes: usize,
    /// The server's counters and latencies for the overview.
    pub(crate) stats: Arc<Stats>,
}

impl Executor {
    /// Executor `index`, over shared parts.
    pub(crate) fn new(index: usize, p: Parts) -> Self {
        Self {
            index,
            store: p.store,
            commit: p.commit,
            dispatcher: p.dispatcher,
            timers: p.timers,
            waiters: p.waiters,
            task_defs: p.task_defs,
            router: p.router,
            jobs: p.jobs,
            clock: p.clock,
            runtime: p.runtime,
            before_decide: p.before_decide,
            stats: p.stats,
            spans: p.spans,
            max_batch: 2048,
            cache: ExecCache::new(p.cache_bytes),
            poison_reasons: HashMap::new(),
            recovering: true,
            adopted: Vec::new(),
            adopted_ids: HashSet::new(),
            recovered_in_batch: false,
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
            self.router.taken(self.index, n);
            if stop {
                break;
            }
        }
        tracing::debug!(executor = self.index, "executor stopped");
    }

    fn process(&mut self, msgs: impl Iterator<Item = Msg>) {
        let t_start = std::time::Instant::now();
        let task_defs = self.task_defs.snapshot();
        let dispatcher = self.dispatcher.clone();
        let mut env = ExecEnv {
            now: self.clock.now_ms(),
            task_defs: &task_defs,
            dispatcher: &dispatcher,
        };
        let mut writes = Writes::default();
        let mut outcomes: Vec<Outcome> = Vec::new();
        for msg in msgs {
            env.now = self.clock.now_ms();
            if let Msg::Recover(ids) = msg {
                outcomes.extend(ids.into_iter().filter_map(|id| self.reload(id, &env)));
                continue;
            }
            let o = self.handle(msg, &mut env, &mut writes);
            outcomes.append(&mut self.adopted);
            outcomes.extend(o);
        }
        let poisoned: Vec<String> = writes.poisoned.iter().cloned().collect();
        if !poisoned.is_empty() {
            // Earlier events of a poisoned workflow in this batch are not written either:
            // their callers hear so, and their effects are dropped.
            outcomes.retain_mut(|o| {
                if !writes.poisoned.contains(&o.workflow_id) {
                    return true;
                }
                let err = EngineError::FailedPrecondition(format!(
                    "workflow {} failed while deciding an event",
                    o.workflow_id
                ));
                match o.pending.take() {
                    Some(Pending::Reply(r, _)) => r.send(Err(err)),
                    Some(Pending::Started(tx, _)) => {
                        let _ = tx.send(Err(err));
                    }
                    Some(Pending::Removed(tx)) => {
                        let _ = tx.send(Err(err));
                    }
                    None => {}
                }
                false
            });
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
                telemetry::store_batch(batch.writes.len(), t_applied - t_decided);
                if outcomes.iter().any(|o| o.durable) {
                    let flushed = self.commit.flush();
                    telemetry::commit_wait(t_applied.elapsed());
                    if let Err(e) = flushed {
                        failure = Some(EngineError::Storage(e.to_string()));
                    }
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
            cached = self.cache.len(),
            cached_bytes = self.cache.bytes(),
            evicted = self.cache.evicted(),
            "batch"
        );
        if let Some(err) = failure {
            self.fail_batch(outcomes, err);
        } else {
            self.release(outcomes);
        }
        if std::mem::take(&mut self.recovered_in_batch) {
            self.dispatcher.partition_recovered();
        }
        // Everything in memory is stored now: the cache may drop what it has no room for.
        self.cache.evict();
        // A workflow whose decision panicked is failed, from its last stored state, in a
        // message of its own.
        for id in poisoned {
            let reason = self.poison_reasons.remove(&id).unwrap_or_default();
            self.router.send(
                &id,
                Msg::FailWorkflow {
                    workflow_id: id.clone(),
                    reason,
                },
            );
        }
    }

    /// A batch could not be stored: nothing of it is acknowledged. The executions it
    /// touched are dropped from memory and reloaded from the store shortly.
    fn fail_batch(&mut self, outcomes: Vec<Outcome>, err: EngineError) {
        tracing::error!(executor = self.index, error = %err, "storage write failed; batch not acknowledged");
        let mut reload = Vec::with_capacity(outcomes.len());
        for o in outcomes {
            self.cache.remove(&o.workflow_id);
            reload.push(o.workflow_id.clone());
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
        // One delayed message brings every execution of the batch back from the store.
        reload.sort();
        reload.dedup();
        let (router, index) = (self.router.clone(), self.index);
        self.runtime.spawn(async move {
            tokio::time::sleep(RECOVER_DELAY).await;
            router.send_to(index, Msg::Recover(reload));
        });
    }

    fn release(&mut self, outcomes: Vec<Outcome>) {
        let mut closed = Vec::new();
        for o in outcomes {
            for obs in o.observed {
                obs.record(&self.stats);
            }
            if let Some(sink) = &self.spans
                && !o.ended_tasks.is_empty()
                && let Some(exec) = self.cache.get(&o.workflow_id)
            {
                for id in &o.ended_tasks {
                    if let Some(t) = exec.task(id) {
                        sink.task_ended(&exec.workflow, t);
                    }
                }
            }
            // Parents this decision reopens: its caller hears back once they have.
            let mut reopened = Vec::new();
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
                    } => {
                        let (tx, rx) = oneshot::channel();
                        reopened.push(rx);
                        self.router.send(
                            &workflow_id.clone(),
                            Msg::Event {
                                workflow_id,
                                event: Event::ChildReopened {
                                    task_id,
                                    child_id: o.workflow_id.clone(),
                                },
                                reply: Replier::Once(tx),
                            },
                        )
                    }
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
            // Watchers read the execution again; a removed one ends their watch.
            let removed = matches!(o.pending, Some(Pending::Removed(_)));
            self.waiters.changed(&o.workflow_id, removed);
            match o.pending {
                Some(Pending::Reply(r, res)) if !reopened.is_empty() => {
                    // A retry, rerun or restart of a child is answered once its parent is
                    // running again (and the parent's own parent, through the same rule).
                    self.runtime.spawn(async move {
                        for rx in reopened {
                            let _ = rx.await;
                        }
                        r.send(res);
                    });
                }
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
            if let Some(w) = self.cache.get(&wf).map(|e| &e.workflow) {
                Observation::Ended {
                    workflow: w.workflow_name.clone(),
                    status: status.as_str(),
                }
                .record(&self.stats);
                if let Some(sink) = &self.spans
                    && w.status.is_terminal()
                {
                    sink.workflow_ended(w);
                }
            }
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
            self.waiters.changed(&wf, true);
        }
    }

    fn ready_task(&self, workflow_id: &str, task_id: &str, priority: i32) -> Option<ReadyTask> {
        let exec = self.cache.get(workflow_id)?;
        let t = exec.task(task_id)?;
        if t.status != TaskStatus::Scheduled {
            return None;
        }
        Some(ReadyTask {
            task_id: t.task_id.as_str().into(),
            workflow_id: t.workflow_id.as_str().into(),
            priority,
            response_timeout_seconds: t.response_timeout_seconds,
        })
    }

    fn load(&mut self, workflow_id: &str) -> Result<(), EngineError> {
        if self.cache.touch(workflow_id) {
            return Ok(());
        }
        match self.store.load_execution(workflow_id) {
            Ok(Some(exec)) => {
                if self.recovering
                    && !exec.workflow.status.is_terminal()
                    && self.adopted_ids.insert(workflow_id.into())
                {
                    // Recovery has not reached it yet: adopt it now (its later Adopt is
                    // ignored).
                    let effects = decider::recover(&exec, self.clock.now_ms());
                    self.dispatcher.adopt_running(&exec);
                    self.adopted
                        .push(Outcome::effects_only(workflow_id.to_string(), effects));
                }
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
                    let exists = self.cache.touch(&id)
                        || matches!(self.store.load_workflow(&id), Ok(Some(_)));
                    if exists {
                        let _ = reply.send(Err(EngineError::AlreadyExists(format!(
                            "workflow {id} already exists"
                        ))));
                        return None;
                    }
                }
                let started = catch_unwind(AssertUnwindSafe(|| {
                    decider::start(def.clone(), params, &mut *env)
                }));
                let started = match started {
                    Ok(r) => r,
                    Err(p) => {
                        let reason = panic_message(p.as_ref());
                        tracing::error!(workflow_id = %id, %reason, "starting the workflow panicked");
                        let _ = reply.send(Err(EngineError::InvalidArgument(format!(
                            "workflow {} cannot start: the engine failed while deciding it: {reason}",
                            def.name
                        ))));
                        return None;
                    }
                };
                match started {
                    Ok((exec, d)) => {
                        batch.put_workflow(&id, None);
                        batch.push(Write::PutSnapshot {
                            workflow_id: id.clone(),
                            def,
                        });
                        self.cache.insert(id.clone(), exec);
                        let mut o = self.record(&id, None, 0, d, env.now, None, batch);
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
            Msg::Remove {
                workflow_id,
                if_ended_at,
                reply,
            } => {
                if let Err(e) = self.load(&workflow_id) {
                    let _ = reply.send(Err(e));
                    return None;
                }
                if let Some(end) = if_ended_at {
                    let wf = &self.cache.get(&workflow_id).expect("loaded").workflow;
                    if !wf.status.is_terminal() || wf.end_time.unwrap_or(wf.update_time) != end {
                        let _ = reply.send(Err(EngineError::FailedPrecondition(format!(
                            "workflow {workflow_id} changed since it was chosen for removal"
                        ))));
                        return None;
                    }
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
                    observed: Vec::new(),
                    ended_tasks: Vec::new(),
                })
            }
            Msg::Adopt(exec) => {
                let id = exec.workflow.workflow_id.clone();
                if self.adopted_ids.contains(id.as_str()) || self.cache.touch(&id) {
                    // Adopted already (an event for it came first): the copy loaded then
                    // is the newer one.
                    return None;
                }
                self.adopted_ids.insert(id.as_str().into());
                let effects = decider::recover(&exec, env.now);
                self.dispatcher.adopt_running(&exec);
                self.cache.insert(id.clone(), *exec);
                Some(Outcome::effects_only(id, effects))
            }
            Msg::Stop => None,
            Msg::Recover(_) => None,
            Msg::Recovered => {
                self.recovering = false;
                self.adopted_ids = HashSet::new();
                self.recovered_in_batch = true;
                None
            }
            Msg::FailWorkflow {
                workflow_id,
                reason,
            } => self.fail_workflow(workflow_id, reason, env, batch),
        }
    }

    /// Reloads an execution from the store and rebuilds its runtime state.
    fn reload(&mut self, id: String, env: &ExecEnv<'_>) -> Option<Outcome> {
        self.cache.remove(&id);
        self.load(&id).ok()?;
        let exec = self.cache.get(&id).expect("loaded");
        let effects = decider::recover(exec, env.now);
        self.dispatcher.adopt_running(exec);
        Some(Outcome::effects_only(id, effects))
    }

    /// Fails a workflow whose decision panicked, from its last stored state, without the
    /// decider: its open tasks are cancelled and it ends FAILED with `reason`.
    fn fail_workflow(
        &mut self,
        workflow_id: String,
        reason: String,
        env: &mut ExecEnv<'_>,
        batch: &mut Writes,
    ) -> Option<Outcome> {
        self.cache.remove(&workflow_id);
        self.load(&workflow_id).ok()?;
        let exec = self.cache.get_mut(&workflow_id).expect("loaded");
        if exec.workflow.status.is_terminal() {
            return None;
        }
        let prev = exec.workflow.status;
        exec.workflow.status = WorkflowStatus::Failed;
        exec.workflow.reason_for_incompletion = Some(reason);
        exec.workflow.end_time = Some(env.now);
        exec.workflow.update_time = env.now;
        let mut effects = Vec::new();
        let mut leases_cleared = Vec::new();
        let mut ended_tasks = Vec::new();
        for t in exec.tasks.iter_mut() {
            match t.status {
                TaskStatus::Scheduled => effects.push(Effect::Dequeue {
                    task_id: t.task_id.clone(),
                    queue: baton_core::QueueKey {
                        task_type: t.task_def_name.clone(),
                        domain: t.domain.clone(),
                    },
                }),
                TaskStatus::InProgress => leases_cleared.push(t.task_id.clone()),
                _ => continue,
            }
            t.status = TaskStatus::Canceled;
            t.end_time = Some(env.now);
            t.reason_for_incompletion = Some("the workflow failed".into());
            batch.put_task(&workflow_id, &t.task_id, false);
            if self.spans.is_some() {
                ended_tasks.push(t.task_id.clone());
            }
        }
        batch.put_workflow(&workflow_id, Some(prev));
        self.cache.resize(&workflow_id);
        effects.push(Effect::WorkflowClosed {
            status: WorkflowStatus::Failed,
        });
        Some(Outcome {
            workflow_id,
            pending: None,
            effects,
            leases_cleared,
            durable: true,
            observed: Vec::new(),
            ended_tasks,
        })
    }

    fn apply_event(
        &mut self,
        workflow_id: String,
        event: Event,
        reply: Replier,
        env: &mut ExecEnv<'_>,
        batch: &mut Writes,
    ) -> Option<Outcome> {
        // A hand-out is delivered by this executor once recorded (or refused here).
        let (reply, hand) = match reply {
            Replier::Hand(h) => match &event {
                Event::Dispatched { task_id, .. } => (Replier::None, Some((h, task_id.clone()))),
                _ => (Replier::Hand(h), None),
            },
            r => (r, None),
        };
        if let Err(e) = self.load(&workflow_id) {
            if let Some((h, task_id)) = hand {
                self.refuse_hand_out(h, &workflow_id, &task_id);
            }
            reply.send(Err(e));
            return None;
        }
        // Dispatch records need no flush: nobody is answered for them.
        let durable = !matches!(event, Event::Dispatched { .. });
        let handed_out = match &event {
            Event::Dispatched { task_id, .. } => Some(task_id.clone()),
            _ => None,
        };
        let exec = self.cache.get_mut(&workflow_id).expect("loaded");
        let prev_status = exec.workflow.status;
        let known_tasks = exec.tasks.len();
        let hook = self.before_decide.as_deref();
        let decided = catch_unwind(AssertUnwindSafe(|| {
            if let Some(h) = hook {
                h(&workflow_id, &event);
            }
            decider::decide(exec, event, &mut *env)
        }));
        let decided = match decided {
            Ok(d) => d,
            Err(p) => {
                // The execution in memory may be half changed: it is dropped, nothing of it
                // is written in this batch, and the workflow is failed from its stored state.
                let reason = panic_message(p.as_ref());
                tracing::error!(workflow_id, %reason, "deciding the workflow panicked");
                self.cache.remove(&workflow_id);
                batch.poisoned.insert(workflow_id.clone());
                self.poison_reasons.insert(
                    workflow_id.clone(),
                    format!("the engine failed while deciding this workflow: {reason}"),
                );
                reply.send(Err(EngineError::FailedPrecondition(format!(
                    "workflow {workflow_id} failed while deciding the event: {reason}"
                ))));
                if let Some((h, task_id)) = hand {
                    self.refuse_hand_out(h, &workflow_id, &task_id);
                }
                return None;
            }
        };
        if let Some((h, task_id)) = hand {
            if decided.is_ok() {
                self.deliver_hand_out(h, &workflow_id, &task_id);
            } else {
                self.refuse_hand_out(h, &workflow_id, &task_id);
            }
        }
        match decided {
            Ok(d) => {
                let reply_value = d.reply.clone();
                let before = batch.touched;
                // Tasks are only appended, except by a restart, which replaces them all.
                let new_from = if d.removed_tasks.is_empty() {
                    known_tasks
                } else {
                    0
                };
                let mut o = self.record(
                    &workflow_id,
                    Some(prev_status),
                    new_from,
                    d,
                    env.now,
                    handed_out.as_deref(),
                    batch,
                );
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

    /// Sends the assignment of a task just recorded as handed out to its worker. It goes
    /// before the record is stored: the record needs no flush, and a worker's answer comes
    /// after it in this executor's mailbox.
    fn deliver_hand_out(&mut self, h: Handoff, workflow_id: &str, task_id: &str) {
        let Some(t) = self.cache.get(workflow_id).and_then(|e| e.task(task_id)) else {
            return self.refuse_hand_out(h, workflow_id, task_id);
        };
        let mut a = Assignment::of(t);
        a.token = t.token.clone().unwrap_or_default();
        a.lease_deadline = t.lease_deadline.unwrap_or(0);
        match h {
            Handoff::Stream { tx, .. } => {
                let _ = tx.send(WorkerMsg::Task(Box::new(a)));
            }
            Handoff::Poll(tx) => {
                let _ = tx.send(Some(a));
            }
        }
    }

    /// A hand-out this executor did not record: the worker gets nothing, and matching
    /// takes back the credit and the slot it spent.
    fn refuse_hand_out(&mut self, h: Handoff, workflow_id: &str, task_id: &str) {
        let holds_slot = self
            .cache
            .get(workflow_id)
            .and_then(|e| e.task(task_id))
            .is_some_and(|t| t.status == TaskStatus::InProgress);
        let conn = match h {
            Handoff::Stream { conn, .. } => Some(conn),
            Handoff::Poll(tx) => {
                let _ = tx.send(None);
                None
            }
        };
        self.dispatcher.hand_out_refused(conn, task_id, !holds_slot);
    }

    /// Turns a decision, taken at `now`, into writes and an outcome to release after the
    /// flush. `handed_out` names the task whose hand-out the decision recorded.
    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        workflow_id: &str,
        prev_status: Option<WorkflowStatus>,
        new_from: usize,
        d: decider::Decision,
        now: i64,
        handed_out: Option<&str>,
        batch: &mut Writes,
    ) -> Outcome {
        self.cache.resize(workflow_id);
        let exec = self.cache.get(workflow_id).expect("in cache");
        if d.workflow_changed && prev_status.is_some() {
            batch.put_workflow(workflow_id, prev_status);
        }
        let mut observed = Vec::new();
        if prev_status.is_none() {
            observed.push(Observation::Started {
                workflow: exec.workflow.workflow_name.clone(),
            });
        }
        let mut leases_cleared = Vec::new();
        let mut ended_tasks = Vec::new();
        for id in &d.changed_tasks {
            if let Some(i) = exec.task_index(id) {
                let t = &exec.tasks[i];
                if t.status != TaskStatus::InProgress {
                    leases_cleared.push(t.task_id.clone());
                }
                if handed_out == Some(id.as_str()) && t.status == TaskStatus::InProgress {
                    let ready = if t.ready_time > 0 {
                        t.ready_time
                    } else {
                        t.scheduled_time
                    };
                    observed.push(Observation::HandedOut {
                        task_type: t.task_def_name.clone(),
                        waited_ms: now - ready,
                    });
                }
                // A task that ended in this decision: it is terminal with its end time set
                // now. (A terminal task changed again by a later event in the same
                // millisecond, such as a log line added to it, would be counted, and
                // reported to the span sink, twice; the decider does not say which tasks
                // it ended.)
                if t.status.is_terminal() && t.end_time == Some(now) {
                    if let Some(started) = t.start_time {
                        observed.push(Observation::TaskEnded {
                            task_type: t.task_def_name.clone(),
                            status: t.status.as_str(),
                            ran_ms: now - started,
                        });
                    }
                    if self.spans.is_some() {
                        ended_tasks.push(t.task_id.clone());
                    }
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
            observed,
            ended_tasks,
        }
    }
}
