//! Group commit: many writers apply their batches, then wait for one flush that covers all
//! of them.

use std::sync::Arc;
use std::thread;

use baton_store::{Store, StoreError};
use parking_lot::{Condvar, Mutex};

#[derive(Default)]
struct State {
    /// Highest ticket handed out.
    requested: u64,
    /// Every ticket up to this one is durable.
    done: u64,
    /// Tickets up to `failed_upto` saw the flush fail with this message.
    failed: Option<(u64, String)>,
    stopping: bool,
}

/// Coalesces flush requests from every executor into as few store flushes as possible.
pub struct GroupCommit {
    state: Mutex<State>,
    wake_flusher: Condvar,
    wake_waiters: Condvar,
}

impl GroupCommit {
    /// Starts the flusher thread for `store`.
    pub fn start(store: Arc<dyn Store>) -> Arc<Self> {
        let gc = Arc::new(Self {
            state: Mutex::new(State::default()),
            wake_flusher: Condvar::new(),
            wake_waiters: Condvar::new(),
        });
        let me = gc.clone();
        thread::Builder::new()
            .name("baton-flush".into())
            .spawn(move || me.run(store))
            .expect("spawn flusher thread");
        gc
    }

    fn run(&self, store: Arc<dyn Store>) {
        let mut st = self.state.lock();
        loop {
            while st.requested == st.done && !st.stopping {
                self.wake_flusher.wait(&mut st);
            }
            if st.requested == st.done && st.stopping {
                return;
            }
            let target = st.requested;
            drop(st);
            let started = std::time::Instant::now();
            let result = store.flush();
            crate::telemetry::store_flush(started.elapsed());
            st = self.state.lock();
            if let Err(e) = result {
                tracing::error!(error = %e, "flush failed");
                st.failed = Some((target, e.to_string()));
            }
            st.done = target;
            self.wake_waiters.notify_all();
        }
    }

    /// Blocks until everything applied before this call is durable.
    pub fn flush(&self) -> Result<(), StoreError> {
        let mut st = self.state.lock();
        st.requested += 1;
        let ticket = st.requested;
        self.wake_flusher.notify_one();
        while st.done < ticket {
            self.wake_waiters.wait(&mut st);
        }
        match &st.failed {
            Some((upto, msg)) if *upto >= ticket => Err(StoreError::Io(msg.clone())),
            _ => Ok(()),
        }
    }

    /// Stops the flusher once pending requests are served.
    pub fn stop(&self) {
        let mut st = self.state.lock();
        st.stopping = true;
        self.wake_flusher.notify_one();
    }
}
