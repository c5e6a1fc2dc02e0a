//! Timers: an in-memory ordered map of due times, woken only when the earliest timer
//! changes. Due times are read from the engine's [`crate::clock::Clock`]: on a virtual
//! clock, timers fire when the clock is moved past them.
//!
//! Durable timers are stored by the executors, in their batches, before they are armed
//! here; memory holds only those due within a horizon (now plus [`Timers`]' span), and the
//! horizon moves ahead by reading the next stretch of due times from the store. Lease
//! timers live only here, one per task, replaced when a lease changes.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use baton_core::{Timer, TimerKind};
use baton_store::Store;
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
    /// Durable timers due after this are left in the store until the horizon reaches
    /// them. `i64::MIN` until the first stretch is read.
    horizon: i64,
}

/// The timer service.
pub struct Timers {
    inner: Mutex<Inner>,
    wake: Notify,
    router: Router,
    clock: SharedClock,
    store: Arc<dyn Store>,
    /// How far ahead of now durable timers are held in memory (ms).
    span: i64,
    /// Set by [`Timers::stop`]: the loop ends (letting go of the store).
    stopped: std::sync::atomic::AtomicBool,
}

/// How long a failed read of the next stretch of timers waits before it is tried again.
const RETRY_READ: Duration = Duration::from_secs(1);

impl Timers {
    /// Timers over `store`, holding durable ones due within `span_ms` of now in memory.
    pub(crate) fn new(
        router: Router,
        clock: SharedClock,
        store: Arc<dyn Store>,
        span_ms: i64,
    ) -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::new(Inner {
                horizon: i64::MIN,
                ..Default::default()
            }),
            wake: Notify::new(),
            router,
            clock,
            store,
            span: span_ms.max(2),
            stopped: Default::default(),
        })
    }

    /// Ends the firing loop.
    pub(crate) fn stop(&self) {
        self.stopped
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// Arms a timer. A lease timer replaces the task's previous lease timer. A durable
    /// timer (already stored) due beyond the horizon stays only in the store.
    pub fn arm(&self, timer: Timer) {
        let mut g = self.inner.lock();
        if g.ids.contains_key(&timer) {
            return;
        }
        if timer.is_durable() && timer.due_ms > g.horizon {
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

    /// Number of timers held in memory.
    pub fn len(&self) -> usize {
        self.inner.lock().by_due.len()
    }

    /// True when no timer is armed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Moves the horizon to `now` plus the span when it is less than half a span ahead,
    /// reading the durable timers of the new stretch from the store. Returns when the
    /// horizon next needs moving (or when to try a failed read again).
    async fn extend_horizon(&self, now: i64) -> i64 {
        let (old, new) = {
            let mut g = self.inner.lock();
            let half = self.span / 2;
            if g.horizon != i64::MIN && g.horizon.saturating_sub(half) > now {
                return g.horizon.saturating_sub(half);
            }
            let old = g.horizon;
            let new = now.saturating_add(self.span);
            // Moved before the read: a timer stored and armed meanwhile is kept in memory
            // (and, read again, armed once).
            g.horizon = new;
            (old, new)
        };
        let store = self.store.clone();
        let read = match tokio::task::spawn_blocking(move || store.timers_due(old, new)).await {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match read {
            Ok(timers) => {
                for t in timers {
                    self.arm(t);
                }
                new.saturating_sub(self.span / 2)
            }
            Err(why) => {
                tracing::error!(error = %why, "cannot read stored timers; trying again");
                let mut g = self.inner.lock();
                if g.horizon == new {
                    g.horizon = old;
                }
                self.clock
                    .now_ms()
                    .saturating_add(RETRY_READ.as_millis() as i64)
            }
        }
    }

    /// Fires due timers until the process ends.
    pub async fn run(self: Arc<Self>) {
        loop {
            if self.stopped.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
            // Interest in a jump of a virtual clock is registered before the due times are
            // read, so a jump in between is not missed.
            let jumped = self.clock.jumps().map(|n| n.notified());
            tokio::pin!(jumped);
            if let Some(j) = jumped.as_mut().as_pin_mut() {
                j.enable();
            }
            let extend_at = self.extend_horizon(self.clock.now_ms()).await;
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
                let next = Some(
                    g.by_due
                        .keys()
                        .next()
                        .map_or(extend_at, |k| k.0.min(extend_at)),
                );
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
