//! Timers: an in-memory ordered map of due times, woken only when the earliest timer
//! changes. Due times are read from the engine's [`crate::clock::Clock`]: on a virtual
//! clock, timers fire when the clock is moved past them. Durable timers are also stored (by the executors, in their batches) and
//! reloaded on start; lease timers live only here, one per task, replaced when a lease
//! changes.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use baton_core::{Timer, TimerKind};
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::clock::SharedClock;
use crate::runtime::msg::{Msg, Router};

#[derive(Default)]
struct Inner {
    by_due: BTreeMap<(i64, u64), Timer>,
    ids: HashMap<Timer, (i64, u64)>,
    leases: HashMap<String, (i64, u64)>,
    next: u64,
}

/// The timer service.
pub struct Timers {
    inner: Mutex<Inner>,
    wake: Notify,
    router: Router,
    clock: SharedClock,
}

impl Timers {
    pub(crate) fn new(router: Router, clock: SharedClock) -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::new(Inner::default()),
            wake: Notify::new(),
            router,
            clock,
        })
    }

    /// Arms a timer. A lease timer replaces the task's previous lease timer.
    pub fn arm(&self, timer: Timer) {
        let mut g = self.inner.lock();
        if g.ids.contains_key(&timer) {
            return;
        }
        g.next += 1;
        let key = (timer.due_ms, g.next);
        if let TimerKind::LeaseExpired { task_id, .. } = &timer.kind
            && let Some(old) = g.leases.insert(task_id.clone(), key)
            && let Some(t) = g.by_due.remove(&old)
        {
            g.ids.remove(&t);
        }
        let earliest = g.by_due.keys().next().is_none_or(|k| key < *k);
        g.ids.insert(timer.clone(), key);
        g.by_due.insert(key, timer);
        drop(g);
        if earliest {
            self.wake.notify_one();
        }
    }

    /// Disarms a timer if it is armed.
    pub fn cancel(&self, timer: &Timer) {
        let mut g = self.inner.lock();
        if let Some(key) = g.ids.remove(timer) {
            g.by_due.remove(&key);
            if let TimerKind::LeaseExpired { task_id, .. } = &timer.kind
                && g.leases.get(task_id) == Some(&key)
            {
                g.leases.remove(task_id);
            }
        }
    }

    /// Disarms the lease timer of a task that no longer holds a lease.
    pub fn clear_lease(&self, task_id: &str) {
        let mut g = self.inner.lock();
        if let Some(key) = g.leases.remove(task_id)
            && let Some(t) = g.by_due.remove(&key)
        {
            g.ids.remove(&t);
        }
    }

    /// Number of armed timers.
    pub fn len(&self) -> usize {
        self.inner.lock().by_due.len()
    }

    /// True when no timer is armed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fires due timers until the process ends.
    pub async fn run(self: Arc<Self>) {
        loop {
            // Interest in a jump of a virtual clock is registered before the due times are
            // read, so a jump in between is not missed.
            let jumped = self.clock.jumps().map(|n| n.notified());
            tokio::pin!(jumped);
            if let Some(j) = jumped.as_mut().as_pin_mut() {
                j.enable();
            }
            let next_due = {
                let now = self.clock.now_ms();
                let mut due = Vec::new();
                let mut g = self.inner.lock();
                while let Some((&key, _)) = g.by_due.iter().next() {
                    if key.0 > now {
                        break;
                    }
                    let t = g.by_due.remove(&key).expect("present");
                    g.ids.remove(&t);
                    if let TimerKind::LeaseExpired { task_id, .. } = &t.kind
                        && g.leases.get(task_id) == Some(&key)
                    {
                        g.leases.remove(task_id);
                    }
                    due.push(t);
                }
                let next = g.by_due.keys().next().map(|k| k.0);
                drop(g);
                for t in due {
                    let wf = t.workflow_id.clone();
                    self.router.send(&wf, Msg::TimerFired(t));
                }
                next
            };
            // A virtual clock wakes the loop when it is moved; the wall clock by sleeping.
            match next_due {
                Some(due) if jumped.is_none() => {
                    let wait = (due - self.clock.now_ms()).max(0) as u64;
                    let _ = tokio::time::timeout(
                        std::time::Duration::from_millis(wait),
                        self.wake.notified(),
                    )
                    .await;
                }
                _ => {
                    let jump = async {
                        match jumped.as_mut().as_pin_mut() {
                            Some(j) => j.await,
                            None => std::future::pending().await,
                        }
                    };
                    tokio::select! {
                        _ = self.wake.notified() => {}
                        _ = jump => {}
                    }
                }
            }
        }
    }
}
