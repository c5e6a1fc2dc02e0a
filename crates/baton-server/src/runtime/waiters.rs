//! Callers waiting for executions to reach a terminal status, and watchers told of every
//! stored change of an execution.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use baton_core::WorkflowStatus;
use parking_lot::Mutex;
use tokio::sync::{oneshot, watch};

/// Waiters and watchers per workflow id.
#[derive(Default)]
pub struct Waiters {
    map: Mutex<HashMap<String, Vec<oneshot::Sender<WorkflowStatus>>>>,
    /// Per watched execution, a counter bumped at each stored change.
    watched: Mutex<HashMap<String, (u64, watch::Sender<u64>)>>,
    /// How many executions are watched; lets the executors skip the lock when none is.
    watching: AtomicUsize,
    /// Numbers the watch channels, so that a watch ends only its own.
    generation: AtomicUsize,
}

/// A watch on one execution: [`Watch::changed`] returns after each stored change of it
/// (changes close together may be told once).
pub struct Watch {
    rx: watch::Receiver<u64>,
    workflow_id: String,
    generation: u64,
    owner: Arc<Waiters>,
}

impl Watch {
    /// Waits for the next stored change. False once the execution has ended (after its
    /// last change), so that no further change will be told.
    pub async fn changed(&mut self) -> bool {
        self.rx.changed().await.is_ok()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let mut g = self.owner.watched.lock();
        // This watch's receiver is still counted while it drops.
        if g.get(&self.workflow_id)
            .is_some_and(|(n, tx)| *n == self.generation && tx.receiver_count() <= 1)
        {
            g.remove(&self.workflow_id);
            self.owner.watching.fetch_sub(1, Ordering::Relaxed);
        }
    }
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

    /// Watches an execution's stored changes.
    pub fn watch(self: &Arc<Self>, workflow_id: &str) -> Watch {
        let mut g = self.watched.lock();
        let (generation, rx) = match g.get(workflow_id) {
            Some((n, tx)) => (*n, tx.subscribe()),
            None => {
                let n = self.generation.fetch_add(1, Ordering::Relaxed) as u64;
                let (tx, rx) = watch::channel(0);
                g.insert(workflow_id.to_string(), (n, tx));
                self.watching.fetch_add(1, Ordering::Relaxed);
                (n, rx)
            }
        };
        Watch {
            rx,
            workflow_id: workflow_id.to_string(),
            generation,
            owner: self.clone(),
        }
    }

    /// Tells the watchers of an execution that a change of it is stored; `ended` when it
    /// was its last (the execution is terminal or gone), which ends their watch.
    pub fn changed(&self, workflow_id: &str, ended: bool) {
        if self.watching.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut g = self.watched.lock();
        if ended {
            if let Some((_, tx)) = g.remove(workflow_id) {
                tx.send_modify(|n| *n += 1);
                self.watching.fetch_sub(1, Ordering::Relaxed);
            }
        } else if let Some((_, tx)) = g.get(workflow_id) {
            tx.send_modify(|n| *n += 1);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn watches_hear_changes_end_with_the_execution_and_leave_nothing_behind() {
        let w = Arc::new(Waiters::default());
        w.changed("a", false); // nobody watches: nothing kept
        assert!(w.watched.lock().is_empty());

        let mut one = w.watch("a");
        let mut two = w.watch("a");
        w.changed("a", false);
        assert!(one.changed().await);
        assert!(two.changed().await);
        w.changed("b", false); // another execution's change is not theirs
        w.changed("a", true);
        assert!(one.changed().await, "the last change is told");
        assert!(!one.changed().await, "then the watch has ended");
        assert!(w.watched.lock().is_empty());

        // A new watch of the reopened execution is not ended by the old ones dropping.
        let mut three = w.watch("a");
        drop(one);
        drop(two);
        w.changed("a", false);
        assert!(three.changed().await);
        drop(three);
        assert!(w.watched.lock().is_empty());
        assert_eq!(w.watching.load(Ordering::Relaxed), 0);
    }
}
