//! What passes between the engine and a worker, in domain terms: a task handed out (an
//! [`Assignment`]), the answer to a result or a lease extension (an [`Ack`]), and the
//! channel a connected worker listens on. Protocol adapters turn these into their own
//! messages.

use baton_core::{Object, TaskInstance};
use tokio::sync::mpsc;

use crate::error::EngineError;

/// A task handed to a worker.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Assignment {
    /// Task instance id.
    pub task_id: String,
    /// Attempt token the worker quotes with its result.
    pub token: String,
    /// Task type.
    pub task_def_name: String,
    /// Reference name of the instance (with its loop suffix).
    pub reference_task_name: String,
    /// Position in the execution, from 1.
    pub seq: i32,
    /// The execution's priority (0-99).
    pub priority: i32,
    /// Owning execution.
    pub workflow_id: String,
    /// Name of the owning workflow.
    pub workflow_type: String,
    /// Resolved input.
    pub input: Object,
    /// Attempts before this one.
    pub retry_count: i32,
    /// Hand-outs of this instance, this one included.
    pub poll_count: i32,
    /// Lease length in seconds.
    pub response_timeout_seconds: i64,
    /// When the lease lapses (epoch ms); 0 before the hand-out.
    pub lease_deadline: i64,
    /// Domain of the queue it came from.
    pub domain: Option<String>,
    /// The execution's correlation id.
    pub correlation_id: Option<String>,
    /// Loop iteration (0 outside loops).
    pub iteration: i32,
    /// When it became ready to hand out (epoch ms).
    pub ready_time: i64,
    /// Output reported so far (by an IN_PROGRESS update).
    pub output: Object,
}

impl Assignment {
    /// The assignment for a scheduled task instance, before token and lease.
    pub fn of(t: &TaskInstance) -> Self {
        Self {
            task_id: t.task_id.clone(),
            token: String::new(),
            task_def_name: t.task_def_name.clone(),
            reference_task_name: t.reference_task_name.clone(),
            seq: t.seq,
            priority: t.priority,
            workflow_id: t.workflow_id.clone(),
            workflow_type: t.workflow_type.clone(),
            input: t.input.clone(),
            retry_count: t.retry_count,
            poll_count: t.poll_count,
            response_timeout_seconds: t.response_timeout_seconds,
            lease_deadline: 0,
            domain: t.domain.clone(),
            correlation_id: t.correlation_id.clone(),
            iteration: t.iteration,
            ready_time: t.ready_time.max(t.scheduled_time),
            output: t.output.clone(),
        }
    }
}

/// The answer to a worker's result or lease extension on its stream.
#[derive(Debug, Clone)]
pub struct Ack {
    /// The task the answer is about.
    pub task_id: String,
    /// The token the worker quoted.
    pub token: String,
    /// Accepted (with the new lease deadline, epoch ms, for an extension), or why not.
    pub outcome: Result<Option<i64>, EngineError>,
}

/// A message to a connected worker.
#[derive(Debug, Clone)]
pub enum WorkerMsg {
    /// A task to work on.
    Task(Box<Assignment>),
    /// The answer to a result.
    ResultAck(Ack),
    /// The answer to a lease extension.
    LeaseAck(Ack),
    /// The stream is refused and ends.
    Refused(EngineError),
}

/// The channel to a connected worker.
pub type WorkerTx = mpsc::UnboundedSender<WorkerMsg>;
