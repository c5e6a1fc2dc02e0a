//! Spans of finished work: the hook through which the executor reports every task
//! instance and every workflow run that ended, once the batch that ended it is stored and
//! flushed (never before, so a batch that failed to store reports nothing, and a report
//! never depends on what was only in memory before a restart).
//!
//! The engine only calls the hook with its own records; turning them into a tracing
//! system's spans, and sending them anywhere, is the business of whoever installs it
//! (`EngineConfig::spans`). Without one nothing is gathered at all.

use baton_core::{TaskInstance, WorkflowInstance};

/// Receives finished work from the executors. Called on an executor thread, after its
/// batch is durable: an implementation must return at once (hand the record to a bounded
/// queue, drop it when that is full), never wait for I/O.
pub trait SpanSink: Send + Sync {
    /// A task instance ended (every attempt of a task is an instance of its own).
    /// `workflow` is its execution as it stands after the batch.
    fn task_ended(&self, workflow: &WorkflowInstance, task: &TaskInstance);

    /// A workflow run ended (a retried or restarted workflow ends again later, with a new
    /// `start_time`).
    fn workflow_ended(&self, workflow: &WorkflowInstance);
}
