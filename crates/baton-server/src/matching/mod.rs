//! The dispatcher: in-memory ready queues per (task type, domain), stream workers with
//! credits, and long polls. Queues hold ids, not tasks.
//!
//! Handing out a task gives it an attempt token and a lease deadline. The dispatcher asks
//! the task's executor to record them (`Event::Dispatched`); the executor builds the
//! assignment from the task and delivers it to the worker, so the executor always learns
//! of a lease before any result quoting it. A hand-out the executor refuses (the task was
//! cancelled meanwhile) gives the worker's credit and the slot back.
//!
//! Until every partition has adopted the executions recovery found, tasks of types with a
//! concurrency limit are not handed out: slots held before a restart are not all counted.
//!
//! # Limits per task type
//!
//! A task definition may bound how its tasks are handed out, across every domain and every
//! way of taking them (stream pushes, `Poll`, `BatchPoll`):
//!
//! * `concurrentExecLimit` N: at most N tasks of the type are out with workers at once. A
//!   task holds its slot from its hand-out until its executor reports that it left
//!   IN_PROGRESS (a result, a timeout, a broken stream, a lapsed lease, a cancellation) or
//!   until it is taken out of its queue while a hand-out was on its way. Slots are rebuilt
//!   from IN_PROGRESS tasks when executions are adopted after a restart.
//! * `rateLimitPerFrequency` N with `rateLimitFrequencyInSeconds` F (1 when unset): at most
//!   N hand-outs per window of F seconds. A window opens with the first hand-out after the
//!   previous one closed.
//!
//! A task held back by a limit stays in its queue, in order, and goes out as soon as a slot
//! frees or the next window opens. Limits are read from the registered definition at every
//! hand-out, so a re-registered definition applies to the next one. Zero means no limit.
//!
//! # Active domains
//!
//! The dispatcher remembers, per (task type, domain), when a worker last polled or held a
//! stream subscribed to it. [`Dispatcher::active_domain`] answers the decider's question
//! which domain of a `taskToDomain` fallback list is served: one with a worker subscribed
//! or waiting in a poll now, or seen within the last [`ACTIVE_WORKER_WINDOW_MS`].

use std::collections::{BinaryHeap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use baton_core::{Event, Execution, QueueKey, TaskDef, TaskStatus};
use parking_lot::Mutex;
use tokio::sync::{Notify, oneshot};

use crate::clock::SharedClock;
use crate::runtime::msg::{Handoff, Msg, Replier, Router};
use crate::runtime::registry::TaskDefs;
use crate::work::{Assignment, WorkerTx};

/// How long after its last poll (or the end of its stream) a worker still counts as
/// serving its domain.
pub const ACTIVE_WORKER_WINDOW_MS: i64 = 10_000;

/// How long after its last poll a worker that polls (rather than holding a stream) is
/// still listed among the workers.
pub const RECENT_POLLER_MS: i64 = 60_000;

/// Most (worker, queue) pairs remembered for the worker list; beyond it, pairs not seen
/// within [`RECENT_POLLER_MS`] are forgotten.
const MAX_POLLERS: usize = 10_000;

/// A task ready to be handed out: ids and what ordering and the lease need. The worker's
/// assignment is built by the owning executor when it records the hand-out.
#[derive(Debug)]
pub struct ReadyTask {
    /// Task instance id.
    pub task_id: Box<str>,
    /// Owning execution.
    pub workflow_id: Box<str>,
    /// Priority 0-99.
    pub priority: i32,
    /// Lease length in seconds.
    pub response_timeout_seconds: i64,
}

struct Entry {
    priority: i32,
    seq: u64,
    generation: u64,
    task: Arc<ReadyTask>,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        self.priority == o.priority && self.seq == o.seq
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        // Max-heap: higher priority first, then the older entry first.
        self.priority
            .cmp(&o.priority)
            .then_with(|| o.seq.cmp(&self.seq))
    }
}

#[derive(Default)]
struct Queue {
    heap: BinaryHeap<Entry>,
    subscribers: Vec<u64>,
    next_sub: usize,
    notify: Arc<Notify>,
}

struct WorkerConn {
    worker_id: String,
    queues: Vec<QueueKey>,
    credits: i64,
    tx: WorkerTx,
    inflight: HashMap<String, (String, String)>,
    /// When it subscribed (ms).
    connected_at: i64,
    /// When it last granted credit or reported a result (ms).
    last_seen: i64,
}

/// The limits a task definition sets on hand-outs of its type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Limits {
    /// Most tasks out with workers at once; 0 = no limit.
    concurrent: usize,
    /// Most hand-outs per window, and the window length in ms; None = no limit.
    rate: Option<(u32, i64)>,
}

impl Limits {
    fn of(def: &TaskDef) -> Self {
        let concurrent = def.concurrent_exec_limit.unwrap_or(0).max(0) as usize;
        let per = def.rate_limit_per_frequency.unwrap_or(0).max(0) as u32;
        let secs = match def.rate_limit_frequency_in_seconds.unwrap_or(0) {
            s if s > 0 => i64::from(s),
            _ => 1,
        };
        Self {
            concurrent,
            rate: (per > 0).then_some((per, secs * 1000)),
        }
    }
}

/// Whether a task of some type may be handed out now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    /// Yes.
    Open,
    /// No: every concurrency slot is taken.
    Full,
    /// No: this window's hand-outs are used up; the next window opens at this time (ms).
    Until(i64),
}

/// Hand-out bookkeeping of one task type.
#[derive(Debug, Default)]
struct TypeState {
    /// Tasks of the type out with workers.
    running: usize,
    /// Start of the current rate window (ms).
    window_start: i64,
    /// Hand-outs in the current window.
    window_count: u32,
    /// When a wake-up to hand out held-back tasks is already arranged.
    wake_at: Option<i64>,
}

impl TypeState {
    fn gate(&self, limits: Limits, now: i64) -> Gate {
        if limits.concurrent > 0 && self.running >= limits.concurrent {
            return Gate::Full;
        }
        if let Some((per, window)) = limits.rate {
            let end = self.window_start.saturating_add(window);
            if now < end && self.window_count >= per {
                return Gate::Until(end);
            }
        }
        Gate::Open
    }

    /// Counts a hand-out against the rate window.
    fn count_hand_out(&mut self, limits: Limits, now: i64) {
        if let Some((_, window)) = limits.rate {
            if now >= self.window_start.saturating_add(window) {
                self.window_start = now;
                self.window_count = 0;
            }
            self.window_count += 1;
        }
    }
}

#[derive(Default)]
struct Inner {
    queues: HashMap<QueueKey, Queue>,
    workers: HashMap<u64, WorkerConn>,
    /// Task id -> generation of its live queue entry.
    queued: HashMap<Box<str>, u64>,
    /// Task id -> task type and the worker holding it, for every task out with a worker
    /// (a concurrency slot).
    slots: HashMap<String, (String, Arc<str>)>,
    /// Per task type.
    types: HashMap<String, TypeState>,
    /// Partitions that have not yet handed over every execution they recovered. Until
    /// none is left, tasks out with workers before a restart are not all counted, so no
    /// task of a type with a concurrency limit is handed out.
    unrecovered: usize,
    next_gen: u64,
    next_seq: u64,
    next_conn: u64,
}

impl Inner {
    fn type_state(&mut self, task_type: &str) -> &mut TypeState {
        if !self.types.contains_key(task_type) {
            self.types
                .insert(task_type.to_string(), TypeState::default());
        }
        self.types.get_mut(task_type).expect("inserted")
    }

    fn gate(&self, task_type: &str, limits: Limits, now: i64) -> Gate {
        if limits.concurrent > 0 && self.unrecovered > 0 {
            return Gate::Full;
        }
        match self.types.get(task_type) {
            Some(s) => s.gate(limits, now),
            None => TypeState::default().gate(limits, now),
        }
    }

    /// Takes a concurrency slot for a task handed to `worker` (once per task id).
    fn occupy(&mut self, task_type: &str, task_id: &str, worker: &str) {
        if self.slots.contains_key(task_id) {
            return;
        }
        self.slots.insert(
            task_id.to_string(),
            (task_type.to_string(), Arc::from(worker)),
        );
        self.type_state(task_type).running += 1;
    }

    /// Frees the slot of a task; returns its type when it held one.
    fn vacate(&mut self, task_id: &str) -> Option<String> {
        let (task_type, _) = self.slots.remove(task_id)?;
        if let Some(s) = self.types.get_mut(&task_type) {
            s.running = s.running.saturating_sub(1);
        }
        Some(task_type)
    }

    /// Drops stale entries from the top of a queue; true when a live entry is left on top.
    fn has_live(&mut self, queue: &QueueKey) -> bool {
        let Some(q) = self.queues.get_mut(queue) else {
            return false;
        };
        while let Some(top) = q.heap.peek() {
            if self.queued.get(&top.task.task_id[..]) == Some(&top.generation) {
                return true;
            }
            q.heap.pop();
        }
        false
    }

    fn pop(&mut self, queue: &QueueKey) -> Option<Arc<ReadyTask>> {
        let q = self.queues.get_mut(queue)?;
        while let Some(e) = q.heap.pop() {
            if self.queued.get(&e.task.task_id[..]) == Some(&e.generation) {
                self.queued.remove(&e.task.task_id[..]);
                return Some(e.task);
            }
        }
        None
    }

    /// The next subscriber of a queue with free credit, round robin.
    fn next_subscriber(&mut self, queue: &QueueKey) -> Option<u64> {
        let q = self.queues.get_mut(queue)?;
        let n = q.subscribers.len();
        for i in 0..n {
            let idx = (q.next_sub + i) % n;
            let conn = q.subscribers[idx];
            if self.workers.get(&conn).is_some_and(|c| c.credits > 0) {
                q.next_sub = (idx + 1) % n;
                return Some(conn);
            }
        }
        None
    }
}

/// When each (task type, domain) queue last had a worker.
#[derive(Debug, Default, Clone)]
struct Activity {
    /// Streams subscribed and polls waiting now.
    live: usize,
    /// Last time a worker polled, subscribed or left (ms).
    last_seen: i64,
    /// The worker that last polled or subscribed, and when (ms).
    last_poll: Option<(Arc<str>, i64)>,
}

/// When a queue was last asked for work, and by whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollData {
    /// The queue.
    pub queue: QueueKey,
    /// The worker that asked last.
    pub worker_id: String,
    /// When (epoch ms).
    pub last_poll_time: i64,
}

/// Ready queues and the workers that take from them.
pub struct Dispatcher {
    core: Arc<Core>,
}

struct Core {
    inner: Mutex<Inner>,
    activity: Mutex<HashMap<QueueKey, Activity>>,
    /// Workers that poll, by (worker id, queue): polls waiting now and when one last began
    /// or ended (ms).
    pollers: Mutex<HashMap<(Arc<str>, QueueKey), Poller>>,
    epoch: u64,
    counter: AtomicU64,
    router: Router,
    task_defs: Arc<TaskDefs>,
    clock: SharedClock,
    runtime: Option<tokio::runtime::Handle>,
    me: Weak<Core>,
    /// False from [`Dispatcher::await_recovery`] until every partition has reported.
    recovered: tokio::sync::watch::Sender<bool>,
}

/// Size of one ready queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueDepth {
    /// The queue.
    pub queue: QueueKey,
    /// Tasks waiting in it.
    pub depth: usize,
    /// Stream workers subscribed to it.
    pub subscribers: usize,
    /// Credit those stream workers have left (tasks they would take now).
    pub credits: i64,
}

/// A worker that polls: polls waiting now and when it was last seen.
#[derive(Debug, Default, Clone, Copy)]
struct Poller {
    waiting: usize,
    last_seen: i64,
}

/// How a worker takes its tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerKind {
    /// Over a stream, pushed as it grants credit.
    Stream,
    /// By polling.
    Poll,
}

/// A worker the dispatcher knows: a connected stream, or a worker that polled within
/// [`RECENT_POLLER_MS`] (or is waiting in a poll now).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerInfo {
    /// Stream or poll.
    pub kind: WorkerKind,
    /// The id it gave.
    pub worker_id: String,
    /// The stream's connection id (0 for a poller).
    pub connection: u64,
    /// The task types it takes, sorted.
    pub task_types: Vec<String>,
    /// The domain it serves; None for the default queues.
    pub domain: Option<String>,
    /// Credit left: tasks a stream worker would take now (0 for a poller).
    pub credits: i64,
    /// Tasks handed to it and not yet finished.
    pub in_flight: usize,
    /// When the stream subscribed (epoch ms; None for a poller).
    pub connected_at: Option<i64>,
    /// When it was last heard from: a grant, result or lease extension on a stream, the
    /// start or end of a poll (epoch ms).
    pub last_seen: i64,
    /// Polls it has waiting now (0 for a stream).
    pub polls_waiting: usize,
}

impl Dispatcher {
    /// A dispatcher whose tokens carry `epoch` (the boot counter). Wake-ups for held-back
    /// tasks run on the current tokio runtime when there is one.
    /// Hand-out limits are read from `task_defs` at every hand-out; times from `clock`.
    pub(crate) fn new(
        epoch: u64,
        router: Router,
        task_defs: Arc<TaskDefs>,
        clock: SharedClock,
    ) -> Self {
        let runtime = tokio::runtime::Handle::try_current().ok();
        Self {
            core: Arc::new_cyclic(|me| Core {
                inner: Mutex::new(Inner::default()),
                activity: Mutex::new(HashMap::new()),
                pollers: Mutex::new(HashMap::new()),
                epoch,
                counter: AtomicU64::new(0),
                router,
                task_defs,
                clock,
                runtime,
                me: me.clone(),
                recovered: tokio::sync::watch::Sender::new(true),
            }),
        }
    }

    /// Puts a task into its queue, or straight to a subscribed worker with credit.
    /// Enqueueing a task that is already queued does nothing.
    pub fn enqueue(&self, queue: QueueKey, task: ReadyTask) {
        self.core.enqueue(queue, task);
    }

    /// Takes a task out of its queue if it is waiting there. A task taken out while a
    /// hand-out of it was on its way frees that hand-out's concurrency slot: its executor
    /// will refuse the hand-out.
    pub fn dequeue(&self, task_id: &str) {
        let c = &self.core;
        let mut g = c.inner.lock();
        g.queued.remove(task_id);
        if let Some(task_type) = g.vacate(task_id) {
            c.pump_type(&mut g, &task_type);
        }
    }

    /// The executor learnt that these tasks no longer hold a lease (they finished, went
    /// back to their queue, were cancelled or removed): their concurrency slots free up.
    /// Ids without a slot are ignored.
    pub(crate) fn leases_ended(&self, task_ids: &[String]) {
        if task_ids.is_empty() {
            return;
        }
        let c = &self.core;
        let mut g = c.inner.lock();
        if g.slots.is_empty() {
            return;
        }
        let mut freed: Vec<String> = Vec::new();
        for id in task_ids {
            if let Some(t) = g.vacate(id)
                && !freed.contains(&t)
            {
                freed.push(t);
            }
        }
        for t in freed {
            c.pump_type(&mut g, &t);
        }
    }

    /// Recovery is about to hand `partitions` partitions' executions over: tasks of types
    /// with a concurrency limit wait until every partition has reported.
    pub(crate) fn await_recovery(&self, partitions: usize) {
        self.core.inner.lock().unrecovered = partitions;
        self.core.recovered.send_replace(partitions == 0);
    }

    /// Waits until every partition has adopted the executions recovery found for it (at
    /// once when no recovery is awaited).
    pub async fn recovered(&self) {
        let mut rx = self.core.recovered.subscribe();
        let _ = rx.wait_for(|done| *done).await;
    }

    /// True until every partition has adopted the executions recovery found for it.
    pub fn recovering(&self) -> bool {
        self.core.inner.lock().unrecovered > 0
    }

    /// A partition has adopted every execution recovery found for it. After the last one,
    /// every slot is counted and held-back tasks go out.
    pub(crate) fn partition_recovered(&self) {
        let c = &self.core;
        let mut g = c.inner.lock();
        g.unrecovered = g.unrecovered.saturating_sub(1);
        if g.unrecovered == 0 {
            c.recovered.send_replace(true);
            let types: Vec<String> = g.queues.keys().map(|k| k.task_type.clone()).collect();
            let mut seen = std::collections::HashSet::new();
            for t in types {
                if seen.insert(t.clone()) {
                    c.pump_type(&mut g, &t);
                }
            }
        }
    }

    /// Counts the IN_PROGRESS worker tasks of an execution loaded from storage against
    /// their type's concurrency limit (their workers may still be on them).
    pub(crate) fn adopt_running(&self, exec: &Execution) {
        let mut g = self.core.inner.lock();
        for t in &exec.tasks {
            if t.status == TaskStatus::InProgress && t.token.is_some() {
                let worker = t.worker_id.as_deref().unwrap_or("anonymous");
                g.occupy(&t.task_def_name, &t.task_id, worker);
            }
        }
    }

    /// Registers a stream worker; returns its connection id. Tasks flow to `tx`.
    pub fn subscribe(
        &self,
        worker_id: String,
        queues: Vec<QueueKey>,
        credits: i64,
        tx: WorkerTx,
    ) -> u64 {
        self.core.seen(&queues, 1);
        self.core.polled(&queues, &worker_id);
        let now = self.core.clock.now_ms();
        let mut g = self.core.inner.lock();
        g.next_conn += 1;
        let id = g.next_conn;
        for q in &queues {
            g.queues.entry(q.clone()).or_default().subscribers.push(id);
        }
        g.workers.insert(
            id,
            WorkerConn {
                worker_id,
                queues,
                credits: 0,
                tx,
                inflight: HashMap::new(),
                connected_at: now,
                last_seen: now,
            },
        );
        drop(g);
        self.grant(id, credits);
        id
    }

    /// Adds credit to a stream worker and pushes it what is waiting.
    pub fn grant(&self, conn_id: u64, credits: i64) {
        let c = &self.core;
        let mut g = c.inner.lock();
        let inner = &mut *g;
        let Some(conn) = inner.workers.get_mut(&conn_id) else {
            return;
        };
        conn.credits = (conn.credits + credits).min(1_000_000);
        conn.last_seen = c.clock.now_ms();
        let queues = conn.queues.clone();
        loop {
            if inner.workers.get(&conn_id).map_or(0, |c| c.credits) <= 0 {
                break;
            }
            let now = c.clock.now_ms();
            // Highest-priority head across this worker's queues whose type may go out now.
            let mut best: Option<(i32, u64, &QueueKey)> = None;
            for qk in &queues {
                if !inner.has_live(qk) {
                    continue;
                }
                if !c.may_hand_out(inner, &qk.task_type, c.limits(&qk.task_type), now) {
                    continue;
                }
                let top = inner.queues[qk].heap.peek().expect("live head");
                if best
                    .is_none_or(|(p, s, _)| top.priority > p || (top.priority == p && top.seq < s))
                {
                    best = Some((top.priority, top.seq, qk));
                }
            }
            let Some((_, _, qk)) = best else {
                break;
            };
            let qk = qk.clone();
            let Some(task) = inner.pop(&qk) else {
                break;
            };
            c.push_to(inner, conn_id, &qk.task_type, &task, now);
        }
    }

    /// The executor refused a hand-out (the task was no longer SCHEDULED): the worker it
    /// was meant for gets its credit back, and the slot it took is freed unless the task
    /// still holds one (`free_slot` false).
    pub(crate) fn hand_out_refused(&self, conn_id: Option<u64>, task_id: &str, free_slot: bool) {
        let c = &self.core;
        let mut g = c.inner.lock();
        let inner = &mut *g;
        if free_slot && let Some(task_type) = inner.vacate(task_id) {
            c.pump_type(inner, &task_type);
        }
        if let Some(conn) = conn_id.and_then(|id| inner.workers.get_mut(&id))
            && conn.inflight.remove(task_id).is_some()
        {
            drop(g);
            self.grant(conn_id.expect("a stream hand-out"), 1);
        }
    }

    /// A stream worker finished with a task (it reported a final result).
    pub fn settle(&self, conn_id: u64, task_id: &str) {
        let now = self.core.clock.now_ms();
        if let Some(conn) = self.core.inner.lock().workers.get_mut(&conn_id) {
            conn.inflight.remove(task_id);
            conn.last_seen = now;
        }
    }

    /// A stream worker was heard from (a result that does not end its hold on a task, a
    /// lease extension).
    pub fn touch(&self, conn_id: u64) {
        let now = self.core.clock.now_ms();
        if let Some(conn) = self.core.inner.lock().workers.get_mut(&conn_id) {
            conn.last_seen = now;
        }
    }

    /// Removes a stream worker and hands its unfinished tasks back to their executors.
    pub fn unsubscribe(&self, conn_id: u64) {
        let c = &self.core;
        let mut g = c.inner.lock();
        let Some(conn) = g.workers.remove(&conn_id) else {
            return;
        };
        for qk in &conn.queues {
            if let Some(q) = g.queues.get_mut(qk) {
                q.subscribers.retain(|c| *c != conn_id);
                q.next_sub = 0;
            }
        }
        drop(g);
        c.seen(&conn.queues, -1);
        for (task_id, (token, workflow_id)) in conn.inflight {
            c.router
                .tell(&workflow_id, Event::Returned { task_id, token });
        }
    }

    /// Hands out up to `count` tasks of a queue to a poller: the executors' answers to
    /// come, or (when nothing may go out now) what to wait on.
    fn take_for_poll(
        &self,
        queue: &QueueKey,
        worker_id: &str,
        count: usize,
    ) -> Result<Vec<oneshot::Receiver<Option<Assignment>>>, Arc<Notify>> {
        let c = &self.core;
        let mut g = c.inner.lock();
        let inner = &mut *g;
        let mut out = Vec::new();
        let limits = c.limits(&queue.task_type);
        while out.len() < count && inner.has_live(queue) {
            let now = c.clock.now_ms();
            if !c.may_hand_out(inner, &queue.task_type, limits, now) {
                break;
            }
            let Some(task) = inner.pop(queue) else {
                break;
            };
            inner
                .type_state(&queue.task_type)
                .count_hand_out(limits, now);
            inner.occupy(&queue.task_type, &task.task_id, worker_id);
            let (_, event) = c.hand_out(&task, worker_id, now);
            let (tx, rx) = oneshot::channel();
            c.tell_executor(&task, event, Handoff::Poll(tx));
            out.push(rx);
        }
        if !out.is_empty() {
            return Ok(out);
        }
        Err(inner
            .queues
            .entry(queue.clone())
            .or_default()
            .notify
            .clone())
    }

    /// Takes up to `count` tasks from a queue, waiting up to `wait` for the first one.
    pub async fn poll(
        &self,
        queue: &QueueKey,
        worker_id: &str,
        count: usize,
        wait: Duration,
    ) -> Vec<Assignment> {
        let c = &self.core;
        let _waiting = PollGuard::new(c, queue, worker_id);
        c.polled(std::slice::from_ref(queue), worker_id);
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let taken = self.take_for_poll(queue, worker_id, count);
            let notify = match taken {
                Ok(out) => {
                    // Each executor records its hand-out and builds the assignment; one it
                    // refused (the task was cancelled meanwhile) is left out.
                    let mut got = Vec::with_capacity(out.len());
                    for rx in out {
                        if let Ok(Some(a)) = rx.await {
                            got.push(a);
                        }
                    }
                    if !got.is_empty() {
                        return got;
                    }
                    continue;
                }
                Err(notify) => notify,
            };
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            // Re-check after registering interest so a push in between is not missed.
            let ready = {
                let mut g = c.inner.lock();
                let limits = c.limits(&queue.task_type);
                g.has_live(queue)
                    && g.gate(&queue.task_type, limits, c.clock.now_ms()) == Gate::Open
            };
            if ready {
                continue;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Vec::new();
            }
        }
    }

    /// Of `domains` (named domains for `task_type`, in order), the index of the first whose
    /// queue has a stream worker subscribed or a poll waiting, or had a worker within the
    /// last [`ACTIVE_WORKER_WINDOW_MS`]. None when no domain is served.
    pub fn active_domain(&self, task_type: &str, domains: &[&str]) -> Option<usize> {
        let now = self.core.clock.now_ms();
        let activity = self.core.activity.lock();
        domains.iter().position(|d| {
            let key = QueueKey {
                task_type: task_type.to_string(),
                domain: Some((*d).to_string()),
            };
            activity.get(&key).is_some_and(|a| {
                a.live > 0 || now.saturating_sub(a.last_seen) <= ACTIVE_WORKER_WINDOW_MS
            })
        })
    }

    /// Tasks of a type out with workers now (holding concurrency slots).
    pub fn in_progress(&self, task_type: &str) -> usize {
        self.core
            .inner
            .lock()
            .types
            .get(task_type)
            .map_or(0, |s| s.running)
    }

    /// The last poll (or stream subscription) of every queue that had one, by queue.
    pub fn poll_data(&self) -> Vec<PollData> {
        let a = self.core.activity.lock();
        let mut v: Vec<PollData> = a
            .iter()
            .filter_map(|(q, act)| {
                act.last_poll.as_ref().map(|(w, t)| PollData {
                    queue: q.clone(),
                    worker_id: w.to_string(),
                    last_poll_time: *t,
                })
            })
            .collect();
        v.sort_by(|x, y| x.queue.cmp(&y.queue));
        v
    }

    /// Sizes of every known queue.
    pub fn depths(&self) -> Vec<QueueDepth> {
        let g = self.core.inner.lock();
        let mut v: Vec<QueueDepth> = g
            .queues
            .iter()
            .map(|(k, q)| QueueDepth {
                queue: k.clone(),
                depth: q
                    .heap
                    .iter()
                    .filter(|e| g.queued.get(&e.task.task_id[..]) == Some(&e.generation))
                    .count(),
                subscribers: q.subscribers.len(),
                credits: q
                    .subscribers
                    .iter()
                    .filter_map(|c| g.workers.get(c))
                    .map(|c| c.credits.max(0))
                    .sum(),
            })
            .collect();
        v.sort_by(|a, b| a.queue.cmp(&b.queue));
        v
    }

    /// The workers connected over a stream, then those that polled within
    /// [`RECENT_POLLER_MS`] or are polling now (one entry per worker id and domain).
    pub fn workers(&self) -> Vec<WorkerInfo> {
        let now = self.core.clock.now_ms();
        let g = self.core.inner.lock();
        let mut out: Vec<WorkerInfo> = g
            .workers
            .iter()
            .map(|(id, c)| {
                let mut task_types: Vec<String> =
                    c.queues.iter().map(|q| q.task_type.clone()).collect();
                task_types.sort();
                task_types.dedup();
                WorkerInfo {
                    kind: WorkerKind::Stream,
                    worker_id: c.worker_id.clone(),
                    connection: *id,
                    task_types,
                    domain: c.queues.first().and_then(|q| q.domain.clone()),
                    credits: c.credits.max(0),
                    in_flight: c.inflight.len(),
                    connected_at: Some(c.connected_at),
                    last_seen: c.last_seen,
                    polls_waiting: 0,
                }
            })
            .collect();
        out.sort_by(|a, b| (&a.worker_id, a.connection).cmp(&(&b.worker_id, b.connection)));
        // Tasks out with pollers: the slots that no stream holds, by worker and type.
        let streamed: std::collections::HashSet<&str> = g
            .workers
            .values()
            .flat_map(|c| c.inflight.keys().map(String::as_str))
            .collect();
        let mut held: HashMap<(&str, &str), usize> = HashMap::new();
        for (task_id, (task_type, worker)) in &g.slots {
            if !streamed.contains(task_id.as_str()) {
                *held.entry((&**worker, task_type.as_str())).or_default() += 1;
            }
        }
        let pollers = self.core.pollers.lock();
        let mut by_worker: std::collections::BTreeMap<(&str, Option<&str>), WorkerInfo> =
            std::collections::BTreeMap::new();
        for ((worker, queue), p) in pollers.iter() {
            if p.waiting == 0 && now.saturating_sub(p.last_seen) > RECENT_POLLER_MS {
                continue;
            }
            let e = by_worker
                .entry((&**worker, queue.domain.as_deref()))
                .or_insert_with(|| WorkerInfo {
                    kind: WorkerKind::Poll,
                    worker_id: worker.to_string(),
                    connection: 0,
                    task_types: Vec::new(),
                    domain: queue.domain.clone(),
                    credits: 0,
                    in_flight: 0,
                    connected_at: None,
                    last_seen: 0,
                    polls_waiting: 0,
                });
            if !e.task_types.contains(&queue.task_type) {
                e.task_types.push(queue.task_type.clone());
                e.in_flight += held
                    .get(&(&**worker, queue.task_type.as_str()))
                    .copied()
                    .unwrap_or(0);
            }
            e.last_seen = e.last_seen.max(p.last_seen);
            e.polls_waiting += p.waiting;
        }
        out.extend(by_worker.into_values().map(|mut w| {
            w.task_types.sort();
            w
        }));
        out
    }
}

/// Marks a queue as having a waiting poller (and the worker as polling it) for as long
/// as a poll runs.
struct PollGuard<'a> {
    core: &'a Core,
    queue: [QueueKey; 1],
    worker: Arc<str>,
}

impl<'a> PollGuard<'a> {
    fn new(core: &'a Core, queue: &QueueKey, worker_id: &str) -> Self {
        let queue = [queue.clone()];
        core.seen(&queue, 1);
        let worker: Arc<str> = Arc::from(worker_id);
        core.poller(&worker, &queue[0], 1);
        Self {
            core,
            queue,
            worker,
        }
    }
}

impl Drop for PollGuard<'_> {
    fn drop(&mut self) {
        self.core.seen(&self.queue, -1);
        self.core.poller(&self.worker, &self.queue[0], -1);
    }
}

impl Core {
    fn token(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{:x}.{:x}", self.epoch, n)
    }

    /// The hand-out limits of a task type, from its current definition.
    fn limits(&self, task_type: &str) -> Limits {
        self.task_defs
            .get(task_type)
            .map(|d| Limits::of(&d))
            .unwrap_or_default()
    }

    /// Records that workers came to (`delta` 1) or left (`delta` -1) these queues.
    fn polled(&self, queues: &[QueueKey], worker_id: &str) {
        let now = self.clock.now_ms();
        let worker: Arc<str> = Arc::from(worker_id);
        let mut a = self.activity.lock();
        for q in queues {
            a.entry(q.clone()).or_default().last_poll = Some((worker.clone(), now));
        }
    }

    /// A poll by `worker` of `queue` began (`delta` 1) or ended (-1).
    fn poller(&self, worker: &Arc<str>, queue: &QueueKey, delta: i64) {
        let now = self.clock.now_ms();
        let mut p = self.pollers.lock();
        if delta > 0 && p.len() >= MAX_POLLERS {
            p.retain(|_, v| v.waiting > 0 || now.saturating_sub(v.last_seen) <= RECENT_POLLER_MS);
        }
        let e = p.entry((worker.clone(), queue.clone())).or_default();
        e.last_seen = now;
        e.waiting = if delta > 0 {
            e.waiting + 1
        } else {
            e.waiting.saturating_sub(1)
        };
    }

    fn seen(&self, queues: &[QueueKey], delta: i64) {
        let now = self.clock.now_ms();
        let mut a = self.activity.lock();
        for q in queues {
            let e = a.entry(q.clone()).or_default();
            e.last_seen = now;
            e.live = if delta >= 0 {
                e.live + 1
            } else {
                e.live.saturating_sub(1)
            };
        }
    }

    /// A fresh token and lease for `task`, and the event that records them.
    fn hand_out(&self, task: &ReadyTask, worker_id: &str, now: i64) -> (String, Event) {
        let token = self.token();
        let lease_deadline = now + task.response_timeout_seconds.max(1) * 1000;
        let event = Event::Dispatched {
            task_id: task.task_id.to_string(),
            token: token.clone(),
            worker_id: worker_id.to_string(),
            lease_deadline,
        };
        (token, event)
    }

    /// Asks the owning executor to record a hand-out and deliver the assignment to `to`.
    fn tell_executor(&self, task: &ReadyTask, event: Event, to: Handoff) {
        self.router.send(
            &task.workflow_id,
            Msg::Event {
                workflow_id: task.workflow_id.to_string(),
                event,
                reply: Replier::Hand(to),
            },
        );
    }

    /// Hands `task` to a stream worker: the hand-out counted against its type's limits, a
    /// fresh lease, and the executor asked to record it and push the assignment.
    fn push_to(
        &self,
        inner: &mut Inner,
        conn_id: u64,
        task_type: &str,
        task: &ReadyTask,
        now: i64,
    ) {
        let limits = self.limits(task_type);
        inner.type_state(task_type).count_hand_out(limits, now);
        let conn = inner.workers.get(&conn_id).expect("live worker");
        let worker = conn.worker_id.clone();
        inner.occupy(task_type, &task.task_id, &worker);
        let conn = inner.workers.get_mut(&conn_id).expect("live worker");
        let (token, event) = self.hand_out(task, &conn.worker_id, now);
        conn.credits -= 1;
        conn.inflight.insert(
            task.task_id.to_string(),
            (token, task.workflow_id.to_string()),
        );
        let tx = conn.tx.clone();
        self.tell_executor(task, event, Handoff::Stream { conn: conn_id, tx });
    }

    fn enqueue(&self, queue: QueueKey, task: ReadyTask) {
        let mut g = self.inner.lock();
        let inner = &mut *g;
        if inner.queued.contains_key(&task.task_id[..]) {
            return;
        }
        let now = self.clock.now_ms();
        let limits = self.limits(&queue.task_type);
        let gate = inner.gate(&queue.task_type, limits, now);
        let waiting = inner.has_live(&queue);
        // Nothing ahead of it and its type may go out: a subscribed worker with free
        // credit takes it at once.
        if gate == Gate::Open
            && !waiting
            && let Some(conn) = inner.next_subscriber(&queue)
        {
            self.push_to(inner, conn, &queue.task_type, &task, now);
            return;
        }
        inner.next_gen += 1;
        inner.next_seq += 1;
        let generation = inner.next_gen;
        inner.queued.insert(task.task_id.clone(), generation);
        let q = inner.queues.entry(queue.clone()).or_default();
        q.heap.push(Entry {
            priority: task.priority,
            seq: inner.next_seq,
            generation,
            task: Arc::new(task),
        });
        match gate {
            Gate::Open if waiting => self.pump_queue(inner, &queue, now),
            Gate::Until(at) => self.arrange_wake(inner, &queue.task_type, at),
            _ => {}
        }
        if let Some(q) = inner.queues.get(&queue) {
            q.notify.notify_waiters();
        }
    }

    /// Hands out what every queue of a type may hand out now (after a slot freed or a
    /// window opened), and wakes its pollers.
    fn pump_type(&self, inner: &mut Inner, task_type: &str) {
        let keys: Vec<QueueKey> = inner
            .queues
            .keys()
            .filter(|k| k.task_type == task_type)
            .cloned()
            .collect();
        let now = self.clock.now_ms();
        for k in keys {
            self.pump_queue(inner, &k, now);
        }
    }

    /// Whether a task of `task_type` may go out now; when a rate window holds it back, a
    /// wake-up at the window's end is arranged.
    fn may_hand_out(&self, inner: &mut Inner, task_type: &str, limits: Limits, now: i64) -> bool {
        match inner.gate(task_type, limits, now) {
            Gate::Open => true,
            Gate::Full => false,
            Gate::Until(at) => {
                self.arrange_wake(inner, task_type, at);
                false
            }
        }
    }

    /// Pushes a queue's tasks to its subscribers with credit while its type's limits allow,
    /// then wakes its pollers if tasks are left.
    fn pump_queue(&self, inner: &mut Inner, queue: &QueueKey, now: i64) {
        let limits = self.limits(&queue.task_type);
        while inner.has_live(queue) {
            if !self.may_hand_out(inner, &queue.task_type, limits, now) {
                break;
            }
            let Some(conn) = inner.next_subscriber(queue) else {
                break;
            };
            let Some(task) = inner.pop(queue) else {
                break;
            };
            self.push_to(inner, conn, &queue.task_type, &task, now);
        }
        if inner.has_live(queue)
            && let Some(q) = inner.queues.get(queue)
        {
            q.notify.notify_waiters();
        }
    }

    /// Arranges to hand out a type's held-back tasks when its next rate window opens.
    fn arrange_wake(&self, inner: &mut Inner, task_type: &str, at: i64) {
        let state = inner.type_state(task_type);
        if state.wake_at.is_some_and(|w| w <= at) {
            return;
        }
        state.wake_at = Some(at);
        let me = self.me.clone();
        let task_type = task_type.to_string();
        let delay = Duration::from_millis((at - self.clock.now_ms()).max(0) as u64 + 1);
        let fire = move || {
            if let Some(core) = me.upgrade() {
                core.wake(&task_type, at);
            }
        };
        let virtual_clock = self.clock.jumps().is_some();
        match &self.runtime {
            Some(rt) if virtual_clock => {
                // On a virtual clock the window opens when the clock is moved past it.
                let clock = self.clock.clone();
                rt.spawn(async move {
                    let Some(jumps) = clock.jumps() else { return };
                    loop {
                        let jumped = jumps.notified();
                        tokio::pin!(jumped);
                        jumped.as_mut().enable();
                        if clock.now_ms() >= at {
                            break;
                        }
                        jumped.await;
                    }
                    fire();
                });
            }
            Some(rt) => {
                rt.spawn(async move {
                    tokio::time::sleep(delay).await;
                    fire();
                });
            }
            None => {
                std::thread::spawn(move || {
                    std::thread::sleep(delay);
                    fire();
                });
            }
        }
    }

    fn wake(&self, task_type: &str, at: i64) {
        let mut g = self.inner.lock();
        let state = g.type_state(task_type);
        if state.wake_at == Some(at) {
            state.wake_at = None;
        }
        self.pump_type(&mut g, task_type);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::runtime::msg::Msg;
    use crate::work::WorkerMsg;
    use tokio::sync::mpsc::{self, UnboundedReceiver};

    const T0: i64 = 1_700_000_000_000;

    fn defs(v: serde_json::Value) -> Arc<TaskDefs> {
        Arc::new(TaskDefs::new(v.as_array().unwrap().iter().map(|d| {
            baton_core::validate::parse_task_def(d).expect("valid task def")
        })))
    }

    struct Rig {
        d: Dispatcher,
        clock: Arc<ManualClock>,
        /// The executor mailboxes, answered by [`Rig::answer`] in the executor's stead.
        mail: parking_lot::Mutex<Vec<mpsc::UnboundedReceiver<Msg>>>,
    }

    fn rig(task_defs: Arc<TaskDefs>) -> Rig {
        let (router, mail) = Router::new(1);
        let clock = ManualClock::new(T0);
        let d = Dispatcher::new(1, router, task_defs, clock.clone());
        Rig {
            d,
            clock,
            mail: parking_lot::Mutex::new(mail),
        }
    }

    impl Rig {
        /// Does what the executor does with hand-outs: records nothing, delivers each.
        fn answer(&self) {
            for rx in self.mail.lock().iter_mut() {
                while let Ok(m) = rx.try_recv() {
                    if let Msg::Event {
                        event:
                            Event::Dispatched {
                                task_id,
                                token,
                                lease_deadline,
                                ..
                            },
                        reply: Replier::Hand(h),
                        ..
                    } = m
                    {
                        let a = Assignment {
                            task_id,
                            token,
                            lease_deadline,
                            ..Default::default()
                        };
                        match h {
                            Handoff::Stream { tx, .. } => {
                                let _ = tx.send(WorkerMsg::Task(Box::new(a)));
                            }
                            Handoff::Poll(tx) => {
                                let _ = tx.send(Some(a));
                            }
                        }
                    }
                }
            }
        }

        /// What the worker has received so far, hand-outs answered first.
        fn received(&self, rx: &mut UnboundedReceiver<WorkerMsg>) -> Vec<String> {
            self.answer();
            received(rx)
        }

        /// Waits (on the runtime, not on a fixed time) until the worker has received at
        /// least `n` tasks, and returns what it received.
        async fn receive(&self, rx: &mut UnboundedReceiver<WorkerMsg>, n: usize) -> Vec<String> {
            let mut v = Vec::new();
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while v.len() < n && std::time::Instant::now() < deadline {
                v.extend(self.received(rx));
                tokio::task::yield_now().await;
            }
            v
        }

        /// A poll, with its hand-outs answered while it runs.
        async fn poll(
            &self,
            queue: &QueueKey,
            worker_id: &str,
            count: usize,
            wait: Duration,
        ) -> Vec<Assignment> {
            let p = self.d.poll(queue, worker_id, count, wait);
            tokio::pin!(p);
            loop {
                tokio::select! {
                    biased;
                    got = &mut p => return got,
                    _ = tokio::task::yield_now() => self.answer(),
                }
            }
        }

        /// A zero-wait poll outside a runtime.
        fn futures_poll(&self, q: QueueKey) -> Vec<Assignment> {
            tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .unwrap()
                .block_on(self.poll(&q, "p", 5, Duration::ZERO))
        }
    }

    fn key(t: &str, domain: Option<&str>) -> QueueKey {
        QueueKey {
            task_type: t.into(),
            domain: domain.map(str::to_string),
        }
    }

    fn task(id: &str, priority: i32) -> ReadyTask {
        ReadyTask {
            task_id: id.into(),
            workflow_id: format!("wf-{id}").into(),
            priority,
            response_timeout_seconds: 60,
        }
    }

    fn worker(
        d: &Dispatcher,
        queues: Vec<QueueKey>,
        credits: i64,
    ) -> (u64, UnboundedReceiver<WorkerMsg>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let id = d.subscribe("w".into(), queues, credits, tx);
        (id, rx)
    }

    fn received(rx: &mut UnboundedReceiver<WorkerMsg>) -> Vec<String> {
        let mut v = Vec::new();
        while let Ok(m) = rx.try_recv() {
            if let WorkerMsg::Task(t) = m {
                v.push(t.task_id);
            }
        }
        v
    }

    #[test]
    fn higher_priority_goes_first_then_older() {
        let r = rig(defs(serde_json::json!([])));
        for (id, p) in [("a", 1), ("b", 50), ("c", 10), ("d", 50)] {
            r.d.enqueue(key("t", None), task(id, p));
        }
        let (_, mut rx) = worker(&r.d, vec![key("t", None)], 10);
        assert_eq!(r.received(&mut rx), ["b", "d", "c", "a"]);
    }

    #[test]
    fn concurrency_limit_holds_tasks_until_a_slot_frees() {
        let r = rig(defs(
            serde_json::json!([{"name": "t", "concurrentExecLimit": 2}]),
        ));
        for id in ["a", "b", "c", "d"] {
            r.d.enqueue(key("t", None), task(id, 0));
        }
        let (_, mut rx) = worker(&r.d, vec![key("t", None)], 10);
        assert_eq!(r.received(&mut rx), ["a", "b"]);
        assert_eq!(r.d.in_progress("t"), 2);
        // A poller is held back too.
        let polled = r.futures_poll(key("t", None));
        assert!(polled.is_empty());
        // Ending an unknown lease changes nothing; ending a held one frees its slot.
        r.d.leases_ended(&["zzz".to_string()]);
        assert!(r.received(&mut rx).is_empty());
        r.d.leases_ended(&["a".to_string()]);
        assert_eq!(r.received(&mut rx), ["c"]);
        r.d.leases_ended(&["a".to_string(), "b".to_string(), "c".to_string()]);
        assert_eq!(r.received(&mut rx), ["d"]);
        assert_eq!(r.d.in_progress("t"), 1);
    }

    #[test]
    fn limits_span_domains_and_a_dequeue_frees_a_slot_on_its_way() {
        let r = rig(defs(
            serde_json::json!([{"name": "t", "concurrentExecLimit": 1}]),
        ));
        let (_, mut fast) = worker(&r.d, vec![key("t", Some("fast"))], 10);
        let (_, mut slow) = worker(&r.d, vec![key("t", Some("slow"))], 10);
        r.d.enqueue(key("t", Some("fast")), task("a", 0));
        r.d.enqueue(key("t", Some("slow")), task("b", 0));
        assert_eq!(r.received(&mut fast), ["a"]);
        assert!(r.received(&mut slow).is_empty());
        // The executor cancelled `a` before it learnt of the hand-out: taking it out of
        // its queue frees the slot.
        r.d.dequeue("a");
        assert_eq!(r.received(&mut slow), ["b"]);
    }

    #[test]
    fn a_refused_hand_out_gives_back_the_credit_and_the_slot() {
        let r = rig(defs(
            serde_json::json!([{"name": "t", "concurrentExecLimit": 1}]),
        ));
        let (conn, mut rx) = worker(&r.d, vec![key("t", None)], 1);
        r.d.enqueue(key("t", None), task("a", 0));
        r.d.enqueue(key("t", None), task("b", 0));
        // The executor refuses `a` (it was cancelled meanwhile): b can only go out if the
        // worker's one credit and the type's one slot both come back.
        let m = r.mail.lock()[0].try_recv().expect("a hand-out");
        let Msg::Event {
            event: Event::Dispatched { task_id, .. },
            reply: Replier::Hand(Handoff::Stream { conn: to, .. }),
            ..
        } = m
        else {
            panic!("not a hand-out");
        };
        assert_eq!((task_id.as_str(), to), ("a", conn));
        assert!(r.received(&mut rx).is_empty());
        r.d.hand_out_refused(Some(to), &task_id, true);
        assert_eq!(r.received(&mut rx), ["b"]);
        assert_eq!(r.d.in_progress("t"), 1);
    }

    #[test]
    fn unlimited_types_are_not_held_back_but_are_counted() {
        let r = rig(defs(serde_json::json!([{"name": "t"}])));
        let (_, mut rx) = worker(&r.d, vec![key("t", None)], 10);
        for id in ["a", "b", "c"] {
            r.d.enqueue(key("t", None), task(id, 0));
        }
        assert_eq!(r.received(&mut rx), ["a", "b", "c"]);
        assert_eq!(r.d.in_progress("t"), 3);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn rate_limit_spreads_hand_outs_over_windows() {
        let task_defs = defs(serde_json::json!([
            {"name": "t", "rateLimitPerFrequency": 2, "rateLimitFrequencyInSeconds": 1}
        ]));
        let r = rig(task_defs.clone());
        for id in ["a", "b", "c", "d", "e"] {
            r.d.enqueue(key("t", None), task(id, 0));
        }
        let (_, mut rx) = worker(&r.d, vec![key("t", None)], 10);
        assert_eq!(r.received(&mut rx), ["a", "b"]);
        // Neither a poll nor more credit gets past the window.
        assert!(
            r.poll(&key("t", None), "p", 5, Duration::ZERO)
                .await
                .is_empty()
        );
        // Within the window nothing more goes out, however long the runtime runs.
        r.clock.advance(999);
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert!(r.received(&mut rx).is_empty());
        r.clock.advance(1);
        assert_eq!(r.receive(&mut rx, 2).await, ["c", "d"]);
        // A re-registered definition applies to the next hand-out.
        let unlimited =
            baton_core::validate::parse_task_def(&serde_json::json!({"name": "t"})).unwrap();
        task_defs.insert(Arc::new(unlimited));
        r.clock.advance(1000);
        assert_eq!(r.receive(&mut rx, 1).await, ["e"]);
        r.d.enqueue(key("t", None), task("f", 0));
        r.d.enqueue(key("t", None), task("g", 0));
        r.d.enqueue(key("t", None), task("h", 0));
        assert_eq!(r.received(&mut rx), ["f", "g", "h"]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_long_poll_waits_for_the_next_window() {
        let r = rig(defs(serde_json::json!([
            {"name": "t", "rateLimitPerFrequency": 1, "rateLimitFrequencyInSeconds": 1}
        ])));
        r.d.enqueue(key("t", None), task("a", 0));
        r.d.enqueue(key("t", None), task("b", 0));
        let first = r.poll(&key("t", None), "p", 5, Duration::ZERO).await;
        assert_eq!(first.len(), 1);
        // The poll waits (on a long real timeout) and is served once the clock reaches the
        // next window.
        let queue = key("t", None);
        let poll = r.poll(&queue, "p", 5, Duration::from_secs(60));
        tokio::pin!(poll);
        for _ in 0..100 {
            tokio::select! {
                biased;
                got = &mut poll => panic!("served before the window opened: {got:?}"),
                _ = tokio::task::yield_now() => {}
            }
        }
        r.clock.advance(1000);
        let second = poll.await;
        assert_eq!(second.len(), 1);
    }

    #[tokio::test]
    async fn active_domains_are_the_ones_with_workers() {
        let r = rig(defs(serde_json::json!([])));
        assert_eq!(r.d.active_domain("t", &["fast", "slow"]), None);
        let (conn, _rx) = worker(&r.d, vec![key("t", Some("slow"))], 1);
        assert_eq!(r.d.active_domain("t", &["fast", "slow"]), Some(1));
        assert_eq!(r.d.active_domain("other", &["fast", "slow"]), None);
        r.poll(&key("t", Some("fast")), "p", 1, Duration::ZERO)
            .await;
        assert_eq!(r.d.active_domain("t", &["fast", "slow"]), Some(0));
        // A worker that left still counts for a while.
        r.d.unsubscribe(conn);
        assert_eq!(r.d.active_domain("t", &["slow"]), Some(0));
        // Long ago is not recent.
        r.d.core
            .activity
            .lock()
            .get_mut(&key("t", Some("slow")))
            .unwrap()
            .last_seen -= ACTIVE_WORKER_WINDOW_MS + 1;
        let _ = &r.clock;
        assert_eq!(r.d.active_domain("t", &["slow"]), None);
    }

    #[test]
    fn adopted_in_progress_tasks_take_slots() {
        let r = rig(defs(
            serde_json::json!([{"name": "t", "concurrentExecLimit": 1}]),
        ));
        struct TestEnv(u64);
        impl baton_core::decider::Env for TestEnv {
            fn now_ms(&self) -> i64 {
                T0
            }
            fn new_task_id(&mut self, _: &str, _: i32) -> String {
                self.0 += 1;
                format!("old-{}", self.0)
            }
            fn random(&mut self) -> u64 {
                0
            }
            fn task_def(&self, _: &str) -> Option<Arc<TaskDef>> {
                None
            }
        }
        let def = baton_core::validate::parse_workflow_def(&serde_json::json!({
            "name": "w", "tasks": [{"name": "t", "taskReferenceName": "t1"}]
        }))
        .unwrap();
        let mut env = TestEnv(0);
        let (mut exec, _) = baton_core::decider::start(
            Arc::new(def),
            baton_core::StartParams {
                workflow_id: "w".into(),
                ..Default::default()
            },
            &mut env,
        )
        .unwrap();
        // Not yet handed out: no slot.
        r.d.adopt_running(&exec);
        assert_eq!(r.d.in_progress("t"), 0);
        let task_id = exec.tasks[0].task_id.clone();
        baton_core::decider::decide(
            &mut exec,
            Event::Dispatched {
                task_id: task_id.clone(),
                token: "1.0".into(),
                worker_id: "w".into(),
                lease_deadline: T0 + 60_000,
            },
            &mut env,
        )
        .unwrap();
        r.d.adopt_running(&exec);
        r.d.adopt_running(&exec);
        assert_eq!(r.d.in_progress("t"), 1);
        let (_, mut rx) = worker(&r.d, vec![key("t", None)], 5);
        r.d.enqueue(key("t", None), task("new", 0));
        assert!(r.received(&mut rx).is_empty());
        r.d.leases_ended(&[task_id]);
        assert_eq!(r.received(&mut rx), ["new"]);
    }
}
