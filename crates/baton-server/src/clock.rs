//! Where the runtime reads the time. The decider takes its time from `Env`; the runtime
//! around it takes it from a [`Clock`], so that a test can run the whole engine on a
//! virtual clock and move time on by hand.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use tokio::sync::Notify;

/// A source of the current time in epoch milliseconds.
pub trait Clock: Send + Sync + 'static {
    /// The current time (epoch ms).
    fn now_ms(&self) -> i64;

    /// Notified whenever the clock jumps (a virtual clock moved by hand); None for a clock
    /// that simply follows the wall.
    fn jumps(&self) -> Option<&Notify> {
        None
    }
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        wall_ms()
    }
}

/// Current wall-clock time in epoch milliseconds.
pub fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A clock that stands still until moved: time in tests is what the test says it is.
#[derive(Debug, Default)]
pub struct ManualClock {
    now: AtomicI64,
    jumped: Notify,
}

impl ManualClock {
    /// A clock standing at `start_ms`.
    pub fn new(start_ms: i64) -> Arc<Self> {
        Arc::new(Self {
            now: AtomicI64::new(start_ms),
            jumped: Notify::new(),
        })
    }

    /// Moves the clock on by `ms` and wakes whatever waits on time.
    pub fn advance(&self, ms: i64) {
        self.now.fetch_add(ms, Ordering::SeqCst);
        self.jumped.notify_waiters();
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }

    fn jumps(&self) -> Option<&Notify> {
        Some(&self.jumped)
    }
}

/// The clock every part of one engine shares.
pub type SharedClock = Arc<dyn Clock>;

/// A jump of a clock watched from the moment it is made: a loop arms one before it reads
/// the clock, so that a jump between the read and the wait still ends the wait.
pub(crate) struct JumpWatch<'a>(Option<std::pin::Pin<Box<tokio::sync::futures::Notified<'a>>>>);

impl<'a> JumpWatch<'a> {
    /// Starts watching `clock` (a clock that never jumps gives a watch that never fires).
    pub(crate) fn arm(clock: &'a dyn Clock) -> Self {
        let mut jump = clock.jumps().map(|n| Box::pin(n.notified()));
        if let Some(j) = jump.as_mut() {
            j.as_mut().enable();
        }
        JumpWatch(jump)
    }

    /// Waits `wait`, or until the clock jumps or `poke` is notified.
    pub(crate) async fn wait(self, wait: std::time::Duration, poke: &Notify) {
        let jumped = async move {
            match self.0 {
                Some(j) => j.await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = jumped => {}
            _ = poke.notified() => {}
        }
    }
}
