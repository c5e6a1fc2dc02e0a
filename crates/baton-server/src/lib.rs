//! Baton's engine below the protocols: the runtime (executors owning partitions of the
//! workflows, group commit, timers, jobs, recovery, the definition registry), matching
//! (ready queues, leases, limits, domains) and the service layer every API shares. Nothing
//! here knows a wire protocol: adapters such as `baton-grpc` sit above [`service`].

#![warn(missing_docs)]

pub mod archive;
pub mod auth;
pub mod clock;
pub mod error;
pub mod history;
pub mod matching;
pub mod runtime;
pub mod service;
pub mod spans;
pub mod stats;
pub mod telemetry;
pub mod work;

pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use error::{EngineError, ErrorKind};
pub use matching::{WorkerInfo, WorkerKind};
pub use runtime::ingress::{IdempotencyStrategy, StartRequest};
pub use runtime::{EngineConfig, Runtime};
pub use service::Service;
pub use spans::SpanSink;

/// Current wall-clock time in epoch milliseconds.
pub fn now_ms() -> i64 {
    clock::wall_ms()
}
