//! The scheduler's reads and writes of schedule records, gathered.
//!
//! A thread of its own takes every read and write that is waiting and makes them in one
//! go: the reads one after the other, the writes in one atomic store write
//! ([`Store::put_schedules`]) followed by a single flush when any of them asked for one.
//! Many schedule changes in flight (see [`super::scheduler`]) thus share one trip off the
//! async threads and one store write, instead of a trip to the blocking pool each.
//!
//! A write answers once it is applied (and flushed, when asked), so a change still holds
//! its schedule's lock from its read to the answer of its write: two requests for one
//! schedule are never waiting at the same time.

use std::sync::mpsc;
use std::sync::{Arc, Weak};

use baton_core::schedule::{ScheduleDef, ScheduleState};
use baton_store::{ScheduleAlert, ScheduleHistoryEntry, ScheduleWrite, Store, StoredSchedule};
use tokio::sync::oneshot;

use crate::error::EngineError;

/// Most requests taken in one go.
const MAX_BATCH: usize = 1_024;

/// A write of a schedule record with everything it owns; see [`ScheduleWrite`].
#[derive(Debug)]
pub(crate) struct OwnedWrite {
    /// The schedule's name.
    pub name: String,
    /// Its definition.
    pub def: ScheduleDef,
    /// The state to store.
    pub state: ScheduleState,
    /// When it next wants to be woken.
    pub wake_at: Option<i64>,
    /// The revision it must be at.
    pub expected_revision: Option<u64>,
    /// The time of the write.
    pub now_ms: i64,
    /// History entries written with it.
    pub history: Vec<ScheduleHistoryEntry>,
    /// Alerts queued with it.
    pub alerts: Vec<ScheduleAlert>,
    /// Whether the store is flushed before the write answers.
    pub flush: bool,
    /// Keep at most this many history entries, trimmed after the write.
    pub trim_to: Option<usize>,
}

impl OwnedWrite {
    fn borrowed(&self) -> ScheduleWrite<'_> {
        ScheduleWrite {
            name: &self.name,
            def: &self.def,
            state: &self.state,
            wake_at: self.wake_at,
            expected_revision: self.expected_revision,
            now_ms: self.now_ms,
            history: &self.history,
            alerts: &self.alerts,
        }
    }
}

/// The answer to a write: the new revision, and the write given back.
pub(crate) type Written = (Result<u64, EngineError>, OwnedWrite);

enum Request {
    Load {
        name: String,
        reply: oneshot::Sender<Result<Option<StoredSchedule>, EngineError>>,
    },
    Put {
        write: Box<OwnedWrite>,
        reply: oneshot::Sender<Written>,
    },
}

/// The handle: requests go to the thread, which ends when the handle is dropped. The
/// thread holds the store weakly, so that it never keeps the store open once everything
/// else has let go of it.
pub(crate) struct ScheduleIo {
    tx: mpsc::Sender<Request>,
}

fn stopped() -> EngineError {
    EngineError::Storage("the scheduler's store thread has stopped".into())
}

impl ScheduleIo {
    /// Starts the thread over `store`.
    pub(crate) fn start(store: Arc<dyn Store>) -> Result<Self, EngineError> {
        let (tx, rx) = mpsc::channel();
        let store = Arc::downgrade(&store);
        std::thread::Builder::new()
            .name("baton-schedule-io".into())
            .spawn(move || serve(&store, &rx))
            .map_err(|e| EngineError::Storage(format!("cannot start a thread: {e}")))?;
        Ok(Self { tx })
    }

    /// Reads a schedule.
    pub(crate) async fn load(&self, name: &str) -> Result<Option<StoredSchedule>, EngineError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request::Load {
                name: name.to_string(),
                reply,
            })
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    /// Writes a schedule; answers the new revision and gives the write back.
    pub(crate) async fn put(&self, write: OwnedWrite) -> Result<Written, EngineError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request::Put {
                write: Box::new(write),
                reply,
            })
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())
    }
}

/// The thread: serves requests in batches until every handle is gone.
fn serve(store: &Weak<dyn Store>, rx: &mpsc::Receiver<Request>) {
    while let Ok(first) = rx.recv() {
        let mut requests = vec![first];
        while requests.len() < MAX_BATCH
            && let Ok(more) = rx.try_recv()
        {
            requests.push(more);
        }
        // Dropped (replies answer "stopped") when the store is gone.
        let Some(store) = store.upgrade() else {
            continue;
        };
        let mut puts = Vec::new();
        for request in requests {
            match request {
                Request::Load { name, reply } => {
                    let _ = reply.send(store.load_schedule(&name).map_err(EngineError::from));
                }
                Request::Put { write, reply } => puts.push((*write, reply)),
            }
        }
        if !puts.is_empty() {
            write_all(store.as_ref(), puts);
        }
    }
}

/// Applies the writes together, flushes once when any asked for it, trims the history of
/// those that asked, and answers each.
fn write_all(store: &dyn Store, puts: Vec<(OwnedWrite, oneshot::Sender<Written>)>) {
    let writes: Vec<ScheduleWrite<'_>> = puts.iter().map(|(w, _)| w.borrowed()).collect();
    let applied = store.put_schedules(&writes).map_err(EngineError::from);
    drop(writes);
    let flushed = match &applied {
        Ok(_) if puts.iter().any(|(w, _)| w.flush) => store.flush().map_err(EngineError::from),
        _ => Ok(()),
    };
    let outcomes: Vec<Result<u64, EngineError>> = match applied {
        Ok(each) => each
            .into_iter()
            .map(|r| r.map_err(EngineError::from))
            .collect(),
        Err(e) => puts.iter().map(|_| Err(e.clone())).collect(),
    };
    for ((write, reply), outcome) in puts.into_iter().zip(outcomes) {
        let outcome = outcome.and_then(|revision| {
            if write.flush {
                flushed.clone()?;
            }
            if let Some(keep) = write.trim_to {
                store.trim_schedule_history(&write.name, keep)?;
            }
            Ok(revision)
        });
        let _ = reply.send((outcome, write));
    }
}
