//! The indexer: keeps the search index in step with the store.
//!
//! Every batch the executors write logs the executions it touched, in one entry of the
//! store's search log, in the same atomic write. The indexer thread takes the log in: it
//! reads each logged execution as stored, replaces its documents (or deletes them when the
//! execution is gone), commits the index, and only then takes the entries it read off the
//! log (entries logged meanwhile stay). A finished or removed execution is indexed at
//! once; an open one once its change has waited a second, so that a run that ends within
//! it is indexed once, in its final state, rather than at every step: the ids left to
//! settle are logged again, in one new entry, in the write that takes the old ones off. A
//! crash anywhere leaves the entries logged, so they are indexed again at the next start:
//! the index may lag the store by one cycle, never miss a change.
//!
//! At start, an index that is missing, unreadable, from another store or left half
//! rebuilt is rebuilt from every stored execution while the server serves.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use baton_core::query::{TaskSummary, WorkflowSummary};
use baton_search::{Opened, SearchIndex};
use baton_store::Store;
use parking_lot::{Condvar, Mutex};

use crate::error::EngineError;

/// Search log entries (one per batch written) read per page.
const PAGE: usize = 64;
/// Least time between two commits of the index while changes keep coming; also about the
/// longest one cycle indexes before it commits.
const COMMIT_EVERY: Duration = Duration::from_millis(1000);
/// How long an open execution's change may wait to be indexed, counted from when the
/// indexer first saw it logged: most runs end within it and are indexed once.
const SETTLE: Duration = Duration::from_millis(1000);
/// How often an idle indexer looks at the log again.
const IDLE_WAIT: Duration = Duration::from_millis(100);
/// Executions read per page while rebuilding.
const REBUILD_PAGE: usize = 1_000;
/// Executions indexed between two commits while rebuilding.
const REBUILD_COMMIT_EVERY: u64 = 20_000;

#[derive(Default)]
struct Signal {
    stop: bool,
    poked: bool,
}

/// The indexer thread and what it serves.
pub struct Indexer {
    index: Arc<SearchIndex>,
    signal: Mutex<Signal>,
    wake: Condvar,
    /// True once the index holds every execution stored when it opened.
    caught_up: AtomicBool,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Indexer {
    /// Opens the index for `store` (in `dir`, or in memory) and starts the thread that
    /// keeps it up to date (rebuilding it first when it must). The thread, and the
    /// index's own writer threads it starts, run at a lower CPU priority than the
    /// executors: on a busy machine indexing waits for spare CPU instead of taking it
    /// from the hot path, and the log holds what is not indexed yet.
    pub fn start(
        store: Arc<dyn Store>,
        dir: Option<&std::path::Path>,
    ) -> Result<Arc<Self>, EngineError> {
        let identity = store.store_id()?;
        let dir = dir.map(std::path::Path::to_path_buf);
        let (opened_tx, opened_rx) = std::sync::mpsc::channel();
        let (me_tx, me_rx) = std::sync::mpsc::channel::<Arc<Indexer>>();
        let handle = std::thread::Builder::new()
            .name("baton-indexer".into())
            .spawn(move || {
                // Threads inherit their creator's priority: lowering it before the index
                // opens lowers tantivy's writer threads too.
                lower_priority();
                match SearchIndex::open(dir.as_deref(), &identity) {
                    Ok((index, opened)) => {
                        let _ = opened_tx.send(Ok(Arc::new(index)));
                        if let Ok(me) = me_rx.recv() {
                            me.run(store, opened);
                        }
                    }
                    Err(e) => {
                        let _ = opened_tx.send(Err(e));
                    }
                }
            })
            .map_err(|e| EngineError::Storage(format!("cannot start the indexer: {e}")))?;
        let index = opened_rx
            .recv()
            .map_err(|_| EngineError::Storage("the indexer thread ended while opening".into()))?
            .map_err(|e| EngineError::Storage(e.to_string()))?;
        let me = Arc::new(Self {
            index,
            signal: Mutex::new(Signal::default()),
            wake: Condvar::new(),
            caught_up: AtomicBool::new(false),
            thread: Mutex::new(Some(handle)),
        });
        let _ = me_tx.send(me.clone());
        Ok(me)
    }

    /// The index searches read.
    pub fn index(&self) -> &Arc<SearchIndex> {
        &self.index
    }

    /// Whether the index has taken in every execution stored when the server started
    /// (false while a rebuild runs).
    pub fn caught_up(&self) -> bool {
        self.caught_up.load(Ordering::Acquire)
    }

    /// Asks the indexer to look at the log now rather than at its next turn.
    pub fn poke(&self) {
        self.signal.lock().poked = true;
        self.wake.notify_one();
    }

    /// Stops the thread after a last cycle over what is logged.
    pub fn stop(&self) {
        self.signal.lock().stop = true;
        self.wake.notify_one();
        if let Some(t) = self.thread.lock().take() {
            let _ = t.join();
        }
    }

    fn run(&self, store: Arc<dyn Store>, opened: Opened) {
        if opened == Opened::MustRebuild {
            let started = Instant::now();
            match self.rebuild(store.as_ref()) {
                Ok(n) => tracing::info!(
                    executions = n,
                    ms = started.elapsed().as_millis() as u64,
                    "search index rebuilt"
                ),
                Err(e) => {
                    // Searches keep answering from what is there; the index stays marked
                    // as half rebuilt, so the next start rebuilds it again.
                    tracing::error!(error = %e, "search index rebuild failed");
                    return;
                }
            }
        }
        self.caught_up.store(true, Ordering::Release);
        let mut last_commit = Instant::now() - COMMIT_EVERY;
        let mut first_seen: HashMap<String, Instant> = HashMap::new();
        loop {
            let stopping = self.signal.lock().stop;
            let (took, deferred) = match self.cycle(store.as_ref(), &mut first_seen, stopping) {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(error = %e, "indexing failed; will try again");
                    (0, 0)
                }
            };
            if took > 0 {
                last_commit = Instant::now();
            }
            if stopping {
                return;
            }
            // Under a steady stream, commit at most every COMMIT_EVERY; with only young
            // open executions logged, look again when the oldest may have settled; when
            // idle, look again after IDLE_WAIT or when poked.
            let wait = if took > 0 {
                COMMIT_EVERY
                    .saturating_sub(last_commit.elapsed())
                    .max(Duration::from_millis(5))
            } else if deferred > 0 {
                SETTLE / 2
            } else {
                IDLE_WAIT
            };
            let mut sig = self.signal.lock();
            if !sig.stop && !sig.poked && !wait.is_zero() {
                self.wake.wait_for(&mut sig, wait);
            }
            sig.poked = false;
        }
    }

    /// One pass over the search log, a page at a time, for at most about COMMIT_EVERY:
    /// index each logged execution as stored (or delete it), commit, then take the
    /// entries read off the log. An open execution whose change the indexer first saw less
    /// than SETTLE ago is not indexed yet (unless `all`) but logged again: a run that ends
    /// soon after is then indexed once, in its final state, rather than at every step.
    /// Returns how many executions were indexed and how many were left to settle.
    fn cycle(
        &self,
        store: &dyn Store,
        first_seen: &mut HashMap<String, Instant>,
        all: bool,
    ) -> Result<(usize, usize), EngineError> {
        let began = Instant::now();
        let mut stamps: Vec<u64> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut again: Vec<String> = Vec::new();
        let mut indexed = 0;
        let mut after: Option<u64> = None;
        loop {
            let page = store.search_log(after, PAGE)?;
            for entry in &page {
                stamps.push(entry.stamp);
                for id in &entry.workflow_ids {
                    if seen.contains(id) {
                        continue;
                    }
                    seen.insert(id.clone());
                    let loaded = match super::load_present(store, id) {
                        Ok(loaded) => loaded,
                        Err(e) => {
                            // This one is logged again and tried next cycle; the rest of
                            // the cycle goes on.
                            tracing::warn!(workflow_id = %id, error = %e, "cannot index an execution");
                            again.push(id.clone());
                            continue;
                        }
                    };
                    match loaded {
                        Some(ex) => {
                            if !all && !ex.workflow.status.is_terminal() {
                                let seen_at = *first_seen.entry(id.clone()).or_insert(began);
                                if began.duration_since(seen_at) < SETTLE {
                                    again.push(id.clone());
                                    continue;
                                }
                            }
                            self.put(&ex)?;
                        }
                        None => self.index.delete(id),
                    }
                    first_seen.remove(id);
                    indexed += 1;
                }
            }
            after = page.last().map(|e| e.stamp);
            if page.len() < PAGE || began.elapsed() >= COMMIT_EVERY {
                break;
            }
        }
        if stamps.is_empty() {
            return Ok((0, 0));
        }
        if indexed > 0 {
            self.index
                .commit()
                .map_err(|e| EngineError::Storage(e.to_string()))?;
        }
        store.search_log_done(&stamps, &again)?;
        Ok((indexed, again.len()))
    }

    fn put(&self, ex: &baton_core::Execution) -> Result<(), EngineError> {
        let w = WorkflowSummary::new(&ex.workflow, &ex.tasks);
        let tasks: Vec<TaskSummary> = ex
            .tasks
            .iter()
            .map(|t| TaskSummary::new(&ex.workflow, t))
            .collect();
        self.index
            .put(&w, &tasks)
            .map_err(|e| EngineError::Storage(e.to_string()))
    }

    fn index_one(&self, store: &dyn Store, workflow_id: &str) -> Result<(), EngineError> {
        match super::load_present(store, workflow_id)? {
            Some(ex) => self.put(&ex)?,
            None => self.index.delete(workflow_id),
        }
        Ok(())
    }

    /// Indexes every stored execution, then marks the index as this store's.
    fn rebuild(&self, store: &dyn Store) -> Result<u64, EngineError> {
        tracing::info!("rebuilding the search index from the store");
        let mut after: Option<String> = None;
        let mut n = 0u64;
        loop {
            if self.signal.lock().stop {
                return Err(EngineError::ShuttingDown);
            }
            let ids = store.workflow_ids_after(after.as_deref(), REBUILD_PAGE)?;
            let Some(last) = ids.last().cloned() else {
                break;
            };
            for id in &ids {
                self.index_one(store, id)?;
                n += 1;
                if n.is_multiple_of(REBUILD_COMMIT_EVERY) {
                    self.index
                        .commit_rebuilding()
                        .map_err(|e| EngineError::Storage(e.to_string()))?;
                }
            }
            after = Some(last);
        }
        self.index
            .commit()
            .map_err(|e| EngineError::Storage(e.to_string()))?;
        Ok(n)
    }
}

/// Nice value of the indexing threads (the executors run at 0).
#[cfg(target_os = "linux")]
const INDEXER_NICE: libc::c_int = 10;

/// Lowers the calling thread's CPU priority (on Linux a thread has its own nice value,
/// which the threads it starts inherit). Elsewhere, or if refused, it stays as it is.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: setpriority only reads its arguments; `who` 0 names the calling thread.
        let r = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, INDEXER_NICE) };
        if r != 0 {
            tracing::debug!("could not lower the indexer's priority");
        }
    }
}
