//! Callers waiting for executions to reach a terminal status.

use std::collections::HashMap;

use baton_core::WorkflowStatus;
use parking_lot::Mutex;
use tokio::sync::oneshot;

/// Waiters per workflow id.
#[derive(Default)]
pub struct Waiters {
    map: Mutex<HashMap<String, Vec<oneshot::Sender<WorkflowStatus>>>>,
}

impl Waiters {
    /// Registers interest in a workflow's end.
    pub fn wait(&self, workflow_id: &str) -> oneshot::Receiver<WorkflowStatus> {
        let (tx, rx) = oneshot::channel();
        self.map
            .lock()
            .entry(workflow_id.to_string())
            .or_default()
            .push(tx);
        rx
    }

    /// Tells every waiter of a workflow that it ended.
    pub fn notify(&self, workflow_id: &str, status: WorkflowStatus) {
        if let Some(list) = self.map.lock().remove(workflow_id) {
            for tx in list {
                let _ = tx.send(status);
            }
        }
    }

    /// Drops waiters that gave up.
    pub fn prune(&self, workflow_id: &str) {
        let mut g = self.map.lock();
        if let Some(list) = g.get_mut(workflow_id) {
            list.retain(|tx| !tx.is_closed());
            if list.is_empty() {
                g.remove(workflow_id);
            }
        }
    }
}
