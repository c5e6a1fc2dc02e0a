//! Baton's pure core: the Conductor DSL model, validation, `${...}` parameter expressions,
//! the decider and the scheduling rules ([`schedule`]). Nothing here performs I/O, spawns tasks or reads the clock: time, ids
//! and task definitions come in through [`decider::Env`].

#![warn(missing_docs)]

pub mod auth;
pub mod decider;
pub mod event_handler;
pub mod expr;
pub mod ids;
pub mod model;
pub mod query;
pub mod retention;
pub mod schedule;
pub mod state;
pub mod validate;

pub use decider::{
    DecideError, Decision, Effect, Env, Event, QueueKey, Reply, StartParams, TaskResult, Timer,
    TimerKind,
};
pub use model::{Object, TaskDef, WorkflowDef, WorkflowTask};
pub use state::{
    Execution, PendingSkip, TaskInstance, TaskLog, TaskStatus, WorkflowInstance, WorkflowStatus,
};
