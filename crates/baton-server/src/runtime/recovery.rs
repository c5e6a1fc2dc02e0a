//! Recovery after a restart: every execution that was running or paused is handed to its
//! executor to adopt (its ready tasks queued again, its
//! leases and jobs re-armed). Runs on a blocking thread while the server already serves;
//! an execution asked for before its turn is adopted by its executor on the spot.

use std::time::Duration;

use baton_core::WorkflowStatus;

use crate::error::EngineError;
use crate::runtime::Runtime;
use crate::runtime::msg::Msg;

/// Most messages waiting in a partition's mailbox before recovery loads more for it.
const MAX_AHEAD: usize = 4096;

/// What recovery found.
pub(crate) struct Counts {
    pub(crate) executions: usize,
}

/// Hands every open execution to its executor. (Stored timers come back through the
/// timer service's horizon, which reads them from the store.)
pub(crate) fn run(rt: &Runtime) -> Result<Counts, EngineError> {
    let mut executions = 0usize;
    for status in [WorkflowStatus::Running, WorkflowStatus::Paused] {
        for id in rt.store.workflow_ids_by_status(status)? {
            // Loading runs ahead of adopting only so far: executions wait in mailboxes in
            // full, and the cache keeps only what its budget allows.
            while rt.router.backlog(&id) > MAX_AHEAD {
                std::thread::sleep(Duration::from_millis(1));
            }
            if let Some(exec) = rt.store.load_execution(&id)? {
                rt.router.send(&id, Msg::Adopt(Box::new(exec)));
                executions += 1;
            }
        }
    }
    // Each executor hears that every execution it owns has been handed over.
    for p in 0..rt.router.partitions() {
        rt.router.send_to(p, Msg::Recovered);
    }
    Ok(Counts { executions })
}
