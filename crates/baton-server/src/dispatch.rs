//! The dispatcher: in-memory ready queues per (task type, domain), stream workers with
//! credits, and long polls.
//!
//! Handing out a task gives it an attempt token and a lease deadline. The dispatcher tells
//! the task's executor (`Event::Dispatched`) *before* the worker can see the task, so the
//! executor always learns of a lease before any result quoting it.

use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use baton_core::{Event, QueueKey};
use baton_proto::v1::{TaskAssignment, WorkResponse, work_response};
use parking_lot::Mutex;
use tokio::sync::{Notify, mpsc};
use tonic::Status;

use crate::convert::ts;
use crate::executor::{Msg, Replier, Router};
use crate::now_ms;

/// A task ready to be handed out, with everything the worker will see.
#[derive(Debug)]
pub struct ReadyTask {
    /// Task instance id.
    pub task_id: String,
    /// Owning execution.
    pub workflow_id: String,
    /// Priority 0-99.
    pub priority: i32,
    /// Lease length.
    pub response_timeout_seconds: i64,
    /// The assignment, without token and lease.
    pub assignment: TaskAssignment,
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

/// The outbound half of a worker stream.
pub type WorkerTx = mpsc::UnboundedSender<Result<WorkResponse, Status>>;

struct WorkerConn {
    worker_id: String,
    queues: Vec<QueueKey>,
    credits: i64,
    tx: WorkerTx,
    inflight: HashMap<String, (String, String)>,
}

#[derive(Default)]
struct Inner {
    queues: HashMap<QueueKey, Queue>,
    workers: HashMap<u64, WorkerConn>,
    /// Task id -> generation of its live queue entry.
    queued: HashMap<String, u64>,
    next_gen: u64,
    next_seq: u64,
    next_conn: u64,
}

/// A task handed out: what goes to the worker, and the event for the executor.
struct Handout {
    assignment: TaskAssignment,
    workflow_id: String,
    event: Event,
}

/// Ready queues and the workers that take from them.
pub struct Dispatcher {
    inner: Mutex<Inner>,
    epoch: u64,
    counter: AtomicU64,
    router: Router,
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
}

impl Dispatcher {
    /// A dispatcher whose tokens carry `epoch` (the boot counter).
    pub(crate) fn new(epoch: u64, router: Router) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            epoch,
            counter: AtomicU64::new(0),
            router,
        }
    }

    fn token(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{:x}.{:x}", self.epoch, n)
    }

    fn hand_out(&self, task: &ReadyTask, worker_id: &str) -> Handout {
        let now = now_ms();
        let token = self.token();
        let lease_deadline = now + task.response_timeout_seconds.max(1) * 1000;
        let mut assignment = task.assignment.clone();
        assignment.token = token.clone();
        assignment.poll_count += 1;
        assignment.lease_deadline = Some(ts(lease_deadline));
        Handout {
            assignment,
            workflow_id: task.workflow_id.clone(),
            event: Event::Dispatched {
                task_id: task.task_id.clone(),
                token,
                worker_id: worker_id.to_string(),
                lease_deadline,
            },
        }
    }

    /// Tells the owning executor of the lease (before anyone can see the task) and returns
    /// what goes to the worker.
    fn tell_executor(&self, h: Handout) -> TaskAssignment {
        self.router.send(
            &h.workflow_id,
            Msg::Event {
                workflow_id: h.workflow_id.clone(),
                event: h.event,
                reply: Replier::None,
            },
        );
        h.assignment
    }

    /// Hands `task` to a stream worker: a fresh lease, the executor told first, then the push.
    fn push_to(&self, conn: &mut WorkerConn, task: &ReadyTask) {
        let h = self.hand_out(task, &conn.worker_id);
        conn.credits -= 1;
        conn.inflight.insert(
            task.task_id.clone(),
            (h.assignment.token.clone(), task.workflow_id.clone()),
        );
        let assignment = self.tell_executor(h);
        let _ = conn.tx.send(Ok(WorkResponse {
            kind: Some(work_response::Kind::Task(assignment)),
        }));
    }

    /// Puts a task into its queue, or straight to a subscribed worker with credit.
    /// Enqueueing a task that is already queued does nothing.
    pub fn enqueue(&self, queue: QueueKey, task: ReadyTask) {
        let mut g = self.inner.lock();
        let inner = &mut *g;
        if inner.queued.contains_key(&task.task_id) {
            return;
        }
        let q = inner.queues.entry(queue.clone()).or_default();
        // A subscribed worker with free credit takes it at once.
        let n = q.subscribers.len();
        for i in 0..n {
            let idx = (q.next_sub + i) % n;
            let conn_id = q.subscribers[idx];
            if let Some(conn) = inner.workers.get_mut(&conn_id)
                && conn.credits > 0
            {
                q.next_sub = (idx + 1) % n;
                self.push_to(conn, &task);
                return;
            }
        }
        inner.next_gen += 1;
        inner.next_seq += 1;
        let generation = inner.next_gen;
        inner.queued.insert(task.task_id.clone(), generation);
        q.heap.push(Entry {
            priority: task.priority,
            seq: inner.next_seq,
            generation,
            task: Arc::new(task),
        });
        q.notify.notify_waiters();
    }

    /// Takes a task out of its queue if it is waiting there.
    pub fn dequeue(&self, task_id: &str) {
        self.inner.lock().queued.remove(task_id);
    }

    fn pop(inner: &mut Inner, queue: &QueueKey) -> Option<Arc<ReadyTask>> {
        let q = inner.queues.get_mut(queue)?;
        while let Some(e) = q.heap.pop() {
            if inner.queued.get(&e.task.task_id) == Some(&e.generation) {
                inner.queued.remove(&e.task.task_id);
                return Some(e.task);
            }
        }
        None
    }

    /// Registers a stream worker; returns its connection id. Tasks flow to `tx`.
    pub fn subscribe(
        &self,
        worker_id: String,
        queues: Vec<QueueKey>,
        credits: i64,
        tx: WorkerTx,
    ) -> u64 {
        let mut g = self.inner.lock();
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
            },
        );
        drop(g);
        self.grant(id, credits);
        id
    }

    /// Adds credit to a stream worker and pushes it what is waiting.
    pub fn grant(&self, conn_id: u64, credits: i64) {
        let mut g = self.inner.lock();
        let inner = &mut *g;
        let Some(conn) = inner.workers.get_mut(&conn_id) else {
            return;
        };
        conn.credits = (conn.credits + credits).min(1_000_000);
        let queues = conn.queues.clone();
        'outer: loop {
            let credits = inner.workers.get(&conn_id).map_or(0, |c| c.credits);
            if credits <= 0 {
                break;
            }
            // Highest-priority head across this worker's queues.
            let mut best: Option<(i32, u64, &QueueKey)> = None;
            for qk in &queues {
                if let Some(q) = inner.queues.get_mut(qk) {
                    while let Some(top) = q.heap.peek() {
                        if inner.queued.get(&top.task.task_id) == Some(&top.generation) {
                            break;
                        }
                        q.heap.pop();
                    }
                    if let Some(top) = q.heap.peek()
                        && best.is_none_or(|(p, s, _)| {
                            top.priority > p || (top.priority == p && top.seq < s)
                        })
                    {
                        best = Some((top.priority, top.seq, qk));
                    }
                }
            }
            let Some((_, _, qk)) = best else {
                break 'outer;
            };
            let qk = qk.clone();
            let Some(task) = Self::pop(inner, &qk) else {
                break;
            };
            let conn = inner.workers.get_mut(&conn_id).expect("checked above");
            self.push_to(conn, &task);
        }
    }

    /// A stream worker finished with a task (it reported a final result).
    pub fn settle(&self, conn_id: u64, task_id: &str) {
        if let Some(conn) = self.inner.lock().workers.get_mut(&conn_id) {
            conn.inflight.remove(task_id);
        }
    }

    /// Removes a stream worker and hands its unfinished tasks back to their executors.
    pub fn unsubscribe(&self, conn_id: u64) {
        let mut g = self.inner.lock();
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
        for (task_id, (token, workflow_id)) in conn.inflight {
            self.router.send(
                &workflow_id,
                Msg::Event {
                    workflow_id: workflow_id.clone(),
                    event: Event::Returned { task_id, token },
                    reply: Replier::None,
                },
            );
        }
    }

    /// Takes up to `count` tasks from a queue, waiting up to `wait` for the first one.
    pub async fn poll(
        &self,
        queue: &QueueKey,
        worker_id: &str,
        count: usize,
        wait: Duration,
    ) -> Vec<TaskAssignment> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let notify = {
                let mut g = self.inner.lock();
                let mut out = Vec::new();
                while out.len() < count {
                    let Some(task) = Self::pop(&mut g, queue) else {
                        break;
                    };
                    let h = self.hand_out(&task, worker_id);
                    out.push(self.tell_executor(h));
                }
                if !out.is_empty() {
                    return out;
                }
                g.queues.entry(queue.clone()).or_default().notify.clone()
            };
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            // Re-check after registering interest so a push in between is not missed.
            let has = {
                let g = self.inner.lock();
                g.queues.get(queue).is_some_and(|q| {
                    q.heap
                        .iter()
                        .any(|e| g.queued.get(&e.task.task_id) == Some(&e.generation))
                })
            };
            if has {
                continue;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Vec::new();
            }
        }
    }

    /// Sizes of every known queue.
    pub fn depths(&self) -> Vec<QueueDepth> {
        let g = self.inner.lock();
        let mut v: Vec<QueueDepth> = g
            .queues
            .iter()
            .map(|(k, q)| QueueDepth {
                queue: k.clone(),
                depth: q
                    .heap
                    .iter()
                    .filter(|e| g.queued.get(&e.task.task_id) == Some(&e.generation))
                    .count(),
                subscribers: q.subscribers.len(),
            })
            .collect();
        v.sort_by(|a, b| a.queue.cmp(&b.queue));
        v
    }
}
