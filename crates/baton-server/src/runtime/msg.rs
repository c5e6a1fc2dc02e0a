//! The messages executors take and the router that delivers them. A leaf: anything that
//! sends an event to an execution needs only this module, never the executor itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use baton_core::{Event, Execution, Reply, StartParams, Timer, WorkflowDef};
use tokio::sync::{mpsc, oneshot};

use crate::error::EngineError;
use crate::work::{Ack, Assignment, WorkerMsg, WorkerTx};

/// Where a task handed out goes once its executor has recorded the hand-out: the executor
/// builds the assignment from the task itself, so ready queues hold only ids.
pub(crate) enum Handoff {
    /// Pushed on a stream worker's channel.
    Stream {
        /// The worker's connection.
        conn: u64,
        /// Its channel.
        tx: WorkerTx,
    },
    /// Answered to a poll: None when the executor refused the hand-out.
    Poll(oneshot::Sender<Option<Assignment>>),
}

/// Where the answer to an event goes.
pub(crate) enum Replier {
    /// Nobody waits.
    None,
    /// A unary caller.
    Once(oneshot::Sender<Result<Reply, EngineError>>),
    /// A hand-out (the event is `Dispatched`): the executor delivers the assignment.
    Hand(Handoff),
    /// A stream worker: answered with an acknowledgement on its stream.
    Stream {
        tx: WorkerTx,
        task_id: String,
        token: String,
        lease: bool,
    },
}

impl Replier {
    /// Delivers the answer.
    pub(crate) fn send(self, r: Result<Reply, EngineError>) {
        match self {
            Replier::None => {}
            Replier::Hand(h) => {
                // Only a refusal reaches here; the executor delivers accepted hand-outs.
                if let Handoff::Poll(tx) = h {
                    let _ = tx.send(None);
                }
            }
            Replier::Once(tx) => {
                let _ = tx.send(r);
            }
            Replier::Stream {
                tx,
                task_id,
                token,
                lease,
            } => {
                let outcome = r.map(|reply| match reply {
                    Reply::LeaseExtended { deadline } => Some(deadline),
                    _ => None,
                });
                let ack = Ack {
                    task_id,
                    token,
                    outcome,
                };
                let _ = tx.send(if lease {
                    WorkerMsg::LeaseAck(ack)
                } else {
                    WorkerMsg::ResultAck(ack)
                });
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
    /// Delete an execution; with `if_ended_at`, only if it is still finished and ended
    /// then (retention's check that nothing reopened it since it was chosen).
    Remove {
        workflow_id: String,
        if_ended_at: Option<i64>,
        reply: oneshot::Sender<Result<(), EngineError>>,
    },
    /// Take charge of an execution loaded at start-up and rebuild its runtime state.
    Adopt(Box<Execution>),
    /// Reload executions from the store and rebuild their runtime state (after a batch
    /// that touched them could not be stored).
    Recover(Vec<String>),
    /// Fail an execution whose decision panicked, from its stored state, with a reason.
    FailWorkflow { workflow_id: String, reason: String },
    /// Recovery has handed over every execution this executor owns.
    Recovered,
    /// Finish the current batch and stop.
    Stop,
}

impl Msg {
    /// An event nobody waits an answer for.
    pub(crate) fn tell(workflow_id: String, event: Event) -> Self {
        Msg::Event {
            workflow_id,
            event,
            reply: Replier::None,
        }
    }
}

/// Routes messages to the executor that owns a workflow.
#[derive(Clone)]
pub(crate) struct Router {
    senders: Arc<Vec<mpsc::UnboundedSender<Msg>>>,
    depth: Arc<Vec<AtomicUsize>>,
}

impl Router {
    /// A router over `n` mailboxes, and their receiving ends.
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

    /// Number of partitions.
    pub(crate) fn partitions(&self) -> usize {
        self.senders.len()
    }

    /// The partition that owns a workflow.
    pub(crate) fn partition(&self, workflow_id: &str) -> usize {
        // FNV-1a: cheap and stable.
        let mut h: u64 = 0xcbf29ce484222325;
        for b in workflow_id.as_bytes() {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x100000001b3);
        }
        (h % self.senders.len() as u64) as usize
    }

    /// Delivers a message to the executor owning `workflow_id`.
    pub(crate) fn send(&self, workflow_id: &str, msg: Msg) {
        self.send_to(self.partition(workflow_id), msg);
    }

    /// Delivers a message to partition `p`.
    pub(crate) fn send_to(&self, p: usize, msg: Msg) {
        self.depth[p].fetch_add(1, Ordering::Relaxed);
        if self.senders[p].send(msg).is_err() {
            self.depth[p].fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Sends an event nobody waits an answer for.
    pub(crate) fn tell(&self, workflow_id: &str, event: Event) {
        self.send(workflow_id, Msg::tell(workflow_id.to_string(), event));
    }

    /// Sends an event and waits for its durable outcome.
    pub(crate) async fn ask(&self, workflow_id: &str, event: Event) -> Result<Reply, EngineError> {
        let (tx, rx) = oneshot::channel();
        self.send(
            workflow_id,
            Msg::Event {
                workflow_id: workflow_id.to_string(),
                event,
                reply: Replier::Once(tx),
            },
        );
        rx.await.map_err(|_| EngineError::ShuttingDown)?
    }

    /// Messages waiting in the mailbox that owns this workflow.
    pub(crate) fn backlog(&self, workflow_id: &str) -> usize {
        self.depth[self.partition(workflow_id)].load(Ordering::Relaxed)
    }

    /// Marks `n` messages of partition `p` as taken.
    pub(crate) fn taken(&self, p: usize, n: usize) {
        self.depth[p].fetch_sub(n, Ordering::Relaxed);
    }

    /// Asks every executor to stop after what is already in its mailbox.
    pub(crate) fn stop_all(&self) {
        for s in self.senders.iter() {
            let _ = s.send(Msg::Stop);
        }
    }
}
