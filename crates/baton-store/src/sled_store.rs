//! The sled implementation of [`crate::Store`].
//!
//! # Trees
//! - `exec`: everything an execution owns (records, indexes, timers). One tree, so that
//!   [`Store::apply`] is a single atomic `apply_batch`.
//! - `workflow_defs`: `str(name) i32(version)` -> definition JSON; a prefix scan on the name
//!   lists its versions in order, the last one is the latest.
//! - `task_defs`: name bytes -> definition JSON.
//! - `event_handlers`: name bytes -> event handler JSON.
//! - `schedules`: schedule records, their wake index and their history (keys below). One
//!   tree, so that every schedule write is a single atomic `apply_batch`.
//! - `meta`: `epoch` -> boot counter (u64, big-endian); `index/open-by-name` -> present once
//!   the `xr/` index covers every open execution (it is built on open for stores written
//!   before it existed); `index/finished-by-name` likewise for the `xf/` index.
//!
//! # Keys of the `exec` tree
//! Components are encoded by the `keys` module: strings escaped and closed so that no key is a
//! prefix of another record's key, integers big-endian with the sign bit flipped.
//!
//! | key | value |
//! | --- | --- |
//! | `w/ str(wid)` | workflow record |
//! | `t/ str(wid) i32(seq)` | task record (a prefix scan reads an execution's tasks by seq) |
//! | `ti/ str(task_id)` | `str(wid) i32(seq)`: where the task record is, for ids that do not name it (`baton_core::ids`) |
//! | `s/ str(wid)` | `#` and the SHA-256 of the definition the execution runs (older stores: the definition's JSON) |
//! | `d/ hash` | definition JSON, once per distinct content; kept when executions go |
//! | `xs/ str(STATUS) str(wid)` | empty: status index |
//! | `xc/ str(name) str(correlation_id) i64(create_time) str(wid)` | empty: correlation index |
//! | `xi/ str(name) str(idempotency_key)` | wid of the latest execution started with the key |
//! | `xr/ str(name) i64(create_time) str(wid)` | i32 version: RUNNING and PAUSED executions |
//! | `xf/ str(name) i64(end_time) str(wid)` | empty: finished executions, for retention |
//! | `xl/ u64(stamp)` | the ids of the executions one batch changed, for the search index |
//! | `tm/ i64(due_ms) str(wid) kind` | empty: timers by due time |
//! | `tw/ str(wid) i64(due_ms) kind` | empty: the same timers by workflow, for deletion |
//!
//! # Keys of the `schedules` tree
//!
//! | key | value |
//! | --- | --- |
//! | `sr/ str(name)` | schedule record JSON: definition, state, wake time, revision, create and update times |
//! | `sw/ i64(wake_ms) str(name)` | empty: wake index, one entry per schedule with a wake time (the one in its record) |
//! | `sh/ str(name) i64(slot_ms) u64(seq)` | history entry JSON: record time and the caller's event; `seq` big-endian, from sled's id generator, so entries of one slot keep their write order |
//!
//! A schedule write reads the record it replaces (for its revision and old wake time) and
//! writes record, wake entry and history in one batch, under a lock of its own. Deleting a
//! schedule removes its record, wake entry and history in one batch. History is bounded by
//! the caller, through `trim_schedule_history`.
//!
//! Records are MessagePack with field names behind a format byte (see the `codec` module);
//! definitions are JSON. Executions loaded with the same definition share one copy.
//!
//! # Index upkeep
//! - The status index follows `prev_status` of [`Write::PutWorkflow`]: the entry for the
//!   previous status is removed and the one for the new status written, without a read.
//! - The correlation and idempotency entries are written when `prev_status` is None (a new
//!   execution): name, correlation id, idempotency key and create time never change.
//! - The open-by-name entry (`xr/`) is written when an execution becomes RUNNING or PAUSED
//!   from nothing or a terminal status (start, restart, retry, rerun) and removed when it
//!   becomes terminal, both from `prev_status` without a read.
//!   An idempotency key points at the latest execution created with it.
//! - The finished entry (`xf/`) is written when an execution becomes terminal from nothing
//!   or an open status. A change to an execution that was terminal reads the record it
//!   replaces, to remove the entry under its old end time (rare: retry, restart, rerun).
//!   [`Write::PutRestored`] writes no finished entry. The index is built on open for
//!   stores written before it existed.
//! - [`Write::DeleteTask`] and [`Write::DeleteWorkflow`] read what they delete (the id index,
//!   the workflow record, the task records for their ids) and see the earlier writes of
//!   their own batch. Deleting an execution removes its tasks, snapshot, index entries and
//!   timers (found through `tw/`). Every other write is a blind put or remove.
//! - [`Write::PutTimer`] stores whatever timer it is given, lease timers included.
//! - A task record whose slot (execution and seq) is later taken by another task id is
//!   replaced; `load_task` of the old id then finds nothing.
//!
//! # Reads
//! Reads see every applied batch. `load_execution` reads the workflow, the tasks and the
//! snapshot one after the other, not as one snapshot: the runtime loads an execution only
//! while no batch for it is in flight (one writer per workflow). `stats` counts records with
//! prefix scans, in time proportional to their number: for occasional use.
//!
//! # Durability
//! `apply` makes a batch visible at once and atomically (after a crash, a batch is either
//! wholly there or not at all); `flush` writes the log and syncs it. Definition writes and
//! `next_epoch` flush before returning. Schedule writes (put, delete, trim) are
//! atomic and visible at once, and durable after the next `flush`, like batches. After an I/O failure (a full disk, for instance) sled
//! refuses every later write: the store must be reopened.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use baton_core::auth::{ApiKey, AuditEntry};
use baton_core::event_handler::EventHandler;
use baton_core::retention::Finished;
use baton_core::{
    Execution, TaskDef, TaskInstance, Timer, WorkflowDef, WorkflowInstance, WorkflowStatus,
};
use serde::Deserialize;
use tracing::warn;

use crate::codec;
use crate::defs::{self, Defs};
use crate::keys::{self, Key, Reader};
use crate::{
    LoggedChanges, QueuedAlert, ScheduleHistoryEntry, ScheduleWrite, Store, StoreError, StoreStats,
    StoredSchedule, Write, WriteBatch,
};

const EXEC_TREE: &str = "exec";
const WORKFLOW_DEFS_TREE: &str = "workflow_defs";
const TASK_DEFS_TREE: &str = "task_defs";
const EVENT_HANDLERS_TREE: &str = "event_handlers";
const SCHEDULES_TREE: &str = "schedules";
const SECURITY_TREE: &str = "security";
const META_TREE: &str = "meta";
const EPOCH_KEY: &[u8] = b"epoch";
const STORE_ID_KEY: &[u8] = b"store-id";
pub(crate) const OPEN_INDEX_KEY: &[u8] = b"index/open-by-name";
pub(crate) const FINISHED_INDEX_KEY: &[u8] = b"index/finished-by-name";

/// How to open a [`SledStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SledOptions {
    /// Bytes of page cache sled may hold in memory (approximate). Default 256 MiB.
    pub cache_capacity: u64,
    /// Interval of sled's own background flush, in milliseconds. Default None: every flush
    /// is left to [`Store::flush`], which the runtime calls after each group of batches, so
    /// no timer thread competes with it.
    pub flush_every_ms: Option<u64>,
    /// How long opening waits for the directory's lock. Default 3 s. A store dropped in
    /// this process lets go of the lock only once sled's background work has released its
    /// files, which may take a few milliseconds; when another process holds the lock,
    /// opening fails after this long.
    pub lock_wait: Duration,
}

impl Default for SledOptions {
    fn default() -> Self {
        SledOptions {
            cache_capacity: 256 * 1024 * 1024,
            flush_every_ms: None,
            lock_wait: Duration::from_secs(3),
        }
    }
}

/// A [`crate::Store`] on an embedded sled database in one directory.
#[derive(Debug, Clone)]
pub struct SledStore {
    pub(crate) db: sled::Db,
    pub(crate) exec: sled::Tree,
    workflow_defs: sled::Tree,
    pub(crate) task_defs: sled::Tree,
    event_handlers: sled::Tree,
    pub(crate) meta: sled::Tree,
    /// Schedules: records, wake index, history.
    pub(crate) schedules: sled::Tree,
    /// API keys, the audit log and server secrets.
    pub(crate) security: sled::Tree,
    /// Held by a schedule write from its read of the record to its apply.
    pub(crate) schedule_lock: Arc<Mutex<()>>,
    /// Held from a batch's reads to its apply.
    apply_lock: Arc<Mutex<()>>,
    /// Definitions by content, shared between the executions loaded with them.
    defs: Arc<Defs>,
}

impl SledStore {
    /// The task record in `slot` (`str(wid) i32(seq)`), when it is the task `task_id`.
    fn task_in_slot(&self, slot: &[u8], task_id: &str) -> Result<Option<TaskInstance>, StoreError> {
        let task_key = Key::new(keys::TASK).raw(slot).into_vec();
        let Some(v) = self
            .exec
            .get(&task_key)
            .map_err(|e| engine_error(&format!("loading task {task_id}"), e))?
        else {
            return Ok(None);
        };
        let task: TaskInstance = codec::decode(&v, || {
            let mut r = Reader::bare(slot);
            match (r.str(), r.i32()) {
                (Some(wid), Some(seq)) => format!("t/{wid}/{seq}"),
                _ => keys::display(&task_key),
            }
        })?;
        Ok((task.task_id == task_id).then_some(task))
    }

    /// Opens (creating if needed) the store in `dir` with default [`SledOptions`].
    pub fn open(dir: impl AsRef<Path>) -> Result<SledStore, StoreError> {
        Self::open_with(dir, SledOptions::default())
    }

    /// Opens (creating if needed) the store in `dir` with `options`. Only one process may
    /// have a directory open at a time.
    pub fn open_with(dir: impl AsRef<Path>, options: SledOptions) -> Result<SledStore, StoreError> {
        let dir = dir.as_ref();
        let what = || format!("opening store in {}", dir.display());
        let config = sled::Config::new()
            .path(dir)
            .cache_capacity(options.cache_capacity)
            .flush_every_ms(options.flush_every_ms);
        let started = Instant::now();
        let db = loop {
            match config.open() {
                Ok(db) => break db,
                // A store dropped a moment ago in this process may still hold the lock
                // while sled's background work lets go of its files.
                Err(e) if is_lock_error(&e) && started.elapsed() < options.lock_wait => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => return Err(engine_error(&what(), e)),
            }
        };
        let tree = |name: &str| {
            db.open_tree(name)
                .map_err(|e| engine_error(&format!("{}: tree {name}", what()), e))
        };
        let store = SledStore {
            exec: tree(EXEC_TREE)?,
            workflow_defs: tree(WORKFLOW_DEFS_TREE)?,
            task_defs: tree(TASK_DEFS_TREE)?,
            event_handlers: tree(EVENT_HANDLERS_TREE)?,
            meta: tree(META_TREE)?,
            schedules: tree(SCHEDULES_TREE)?,
            security: tree(SECURITY_TREE)?,
            schedule_lock: Arc::default(),
            apply_lock: Arc::default(),
            defs: Arc::default(),
            db,
        };
        store.build_open_index()?;
        store.build_finished_index()?;
        store.migrate_search_queue()?;
        Ok(store)
    }

    /// A new search log entry for these executions: its key, under a fresh stamp, and
    /// its value.
    fn log_entry<'a>(
        &self,
        ids: impl Iterator<Item = &'a str>,
    ) -> Result<(Vec<u8>, Vec<u8>), StoreError> {
        let stamp = self
            .db
            .generate_id()
            .map_err(|e| engine_error("stamping a batch", e))?;
        let mut value = Key::default();
        for id in ids {
            value = value.str(id);
        }
        Ok((
            Key::new(keys::SEARCH_LOG)
                .raw(&stamp.to_be_bytes())
                .into_vec(),
            value.into_vec(),
        ))
    }

    /// Moves the per-execution search queue of a store written before the search log
    /// existed into one log entry. Safe to repeat after a crash midway (the move is one
    /// atomic write).
    fn migrate_search_queue(&self) -> Result<(), StoreError> {
        let what = "moving the search queue into the search log";
        let mut ids = Vec::new();
        let mut batch = sled::Batch::default();
        for item in self.exec.scan_prefix(keys::LEGACY_SEARCH_QUEUE) {
            let (k, _) = item.map_err(|e| engine_error(what, e))?;
            if let Some(wid) = Reader::new(&k, keys::LEGACY_SEARCH_QUEUE).and_then(|mut r| r.str())
            {
                ids.push(wid);
            }
            batch.remove(k);
        }
        if ids.is_empty() {
            return Ok(());
        }
        let (key, value) = self.log_entry(ids.iter().map(String::as_str))?;
        batch.insert(key, value);
        self.exec
            .apply_batch(batch)
            .map_err(|e| engine_error(what, e))?;
        self.flush_db(what)?;
        tracing::info!(
            executions = ids.len(),
            "moved the search queue into the search log"
        );
        Ok(())
    }

    /// Builds the open-by-name index from the status index and the workflow records, once,
    /// for a store written before the index existed. Safe to repeat after a crash midway.
    fn build_open_index(&self) -> Result<(), StoreError> {
        let what = "building the open-executions index";
        let done = self
            .meta
            .get(OPEN_INDEX_KEY)
            .map_err(|e| engine_error(what, e))?
            .is_some();
        if done {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        let mut n = 0usize;
        for status in [WorkflowStatus::Running, WorkflowStatus::Paused] {
            let prefix = Key::new(keys::BY_STATUS).str(status.as_str()).into_vec();
            for wid in self.ids_under(&prefix, 0, what)? {
                if let Some(wf) = self.load_workflow(&wid)? {
                    batch.insert(open_key(&wf), wf.workflow_version.to_be_bytes().to_vec());
                    n += 1;
                }
            }
        }
        self.exec
            .apply_batch(batch)
            .map_err(|e| engine_error(what, e))?;
        self.meta
            .insert(OPEN_INDEX_KEY, &b"1"[..])
            .map_err(|e| engine_error(what, e))?;
        self.flush_db(what)?;
        if n > 0 {
            tracing::info!(executions = n, "built the open-executions index");
        }
        Ok(())
    }

    /// Builds retention's index of finished executions from the status index and the
    /// workflow records, once, for a store written before the index existed. Safe to
    /// repeat after a crash midway.
    fn build_finished_index(&self) -> Result<(), StoreError> {
        let what = "building the finished-executions index";
        let done = self
            .meta
            .get(FINISHED_INDEX_KEY)
            .map_err(|e| engine_error(what, e))?
            .is_some();
        if done {
            return Ok(());
        }
        let mut n = 0usize;
        for status in WorkflowStatus::ALL.into_iter().filter(|s| s.is_terminal()) {
            let prefix = Key::new(keys::BY_STATUS).str(status.as_str()).into_vec();
            let mut batch = sled::Batch::default();
            for wid in self.ids_under(&prefix, 0, what)? {
                if let Some(wf) = self.load_workflow(&wid)? {
                    batch.insert(finished_key(&wf), Vec::<u8>::new());
                    n += 1;
                }
            }
            self.exec
                .apply_batch(batch)
                .map_err(|e| engine_error(what, e))?;
        }
        self.meta
            .insert(FINISHED_INDEX_KEY, &b"1"[..])
            .map_err(|e| engine_error(what, e))?;
        self.flush_db(what)?;
        if n > 0 {
            tracing::info!(executions = n, "built the finished-executions index");
        }
        Ok(())
    }

    /// Reads a finished-index key back (after the `xf/ str(name)` prefix).
    fn finished_from_key(key: &[u8], prefix_len: usize) -> Result<Finished, StoreError> {
        let mut r = Reader::bare(&key[prefix_len..]);
        match (r.i64(), r.str()) {
            (Some(end_time), Some(workflow_id)) if r.is_empty() => Ok(Finished {
                end_time,
                workflow_id,
            }),
            _ => Err(StoreError::Corrupt {
                key: keys::display(key),
                message: "malformed finished-index key".into(),
            }),
        }
    }

    /// Timers read from timer keys, in key (due) order, at most `limit`.
    fn timers_in(&self, iter: sled::Iter, limit: usize) -> Result<Vec<Timer>, StoreError> {
        let mut out = Vec::new();
        for item in iter.take(limit) {
            let (k, _) = item.map_err(|e| engine_error("listing timers", e))?;
            let timer = Reader::new(&k, keys::TIMER).and_then(|mut r| {
                let due_ms = r.i64()?;
                let workflow_id = r.str()?;
                let kind = keys::read_timer_kind(r.rest())?;
                Some(Timer {
                    due_ms,
                    workflow_id,
                    kind,
                })
            });
            match timer {
                Some(t) => out.push(t),
                None => {
                    return Err(StoreError::Corrupt {
                        key: keys::display(&k),
                        message: "malformed timer key".into(),
                    });
                }
            }
        }
        Ok(out)
    }

    pub(crate) fn flush_db(&self, what: &str) -> Result<(), StoreError> {
        self.db
            .flush()
            .map(drop)
            .map_err(|e| engine_error(&format!("{what}: flush"), e))
    }

    fn workflow_def_key(name: &str, version: i32) -> Vec<u8> {
        Key::default().str(name).i32(version).into_vec()
    }

    /// Reads the exec-tree keys under `prefix` (in key order) and decodes the last string
    /// component of each as a workflow id; `skip` skips fixed-width components before it.
    fn ids_under(
        &self,
        prefix: &[u8],
        skip: usize,
        label: &str,
    ) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        for item in self.exec.scan_prefix(prefix) {
            let (k, _) = item.map_err(|e| engine_error(label, e))?;
            let rest = &k[prefix.len()..];
            let wid = rest.get(skip..).and_then(|b| {
                let mut r = Reader::bare(b);
                r.str().filter(|_| r.is_empty())
            });
            match wid {
                Some(wid) => out.push(wid),
                None => {
                    return Err(StoreError::Corrupt {
                        key: keys::display(&k),
                        message: "malformed index key".into(),
                    });
                }
            }
        }
        Ok(out)
    }

    fn count(&self, prefix: &[u8]) -> Result<u64, StoreError> {
        let mut n = 0;
        for item in self.exec.scan_prefix(prefix) {
            item.map_err(|e| engine_error("counting records", e))?;
            n += 1;
        }
        Ok(n)
    }
}

/// True when sled could not take the directory's lock file (sled reports it as a plain
/// I/O error with this text).
fn is_lock_error(e: &sled::Error) -> bool {
    matches!(e, sled::Error::Io(io) if io.to_string().contains("could not acquire lock"))
}

/// Names a sled failure, with what was being done.
pub(crate) fn engine_error(what: &str, e: sled::Error) -> StoreError {
    let problem = match &e {
        sled::Error::Io(io) => io_problem(io),
        sled::Error::Corruption { at, .. } => match at {
            Some(at) => format!("database files are corrupt (at {at})"),
            None => "database files are corrupt".to_string(),
        },
        sled::Error::CollectionNotFound(name) => {
            format!("tree {} does not exist", String::from_utf8_lossy(name))
        }
        sled::Error::Unsupported(m) => format!("unsupported operation: {m}"),
        sled::Error::ReportableBug(m) => format!("storage engine bug: {m}"),
    };
    StoreError::Io(format!("{what}: {problem}"))
}

fn io_problem(e: &io::Error) -> String {
    const ENOSPC: i32 = 28;
    const EDQUOT: i32 = 122;
    if e.kind() == io::ErrorKind::StorageFull || e.raw_os_error() == Some(ENOSPC) {
        format!("disk full (ENOSPC): {e}")
    } else if e.raw_os_error() == Some(EDQUOT) {
        format!("disk quota exceeded (EDQUOT): {e}")
    } else if e.kind() == io::ErrorKind::PermissionDenied {
        format!("permission denied: {e}")
    } else if e.kind() == io::ErrorKind::WouldBlock
        || e.to_string().contains("could not acquire lock")
    {
        format!("the store is in use by another process or handle: {e}")
    } else {
        format!("I/O error: {e}")
    }
}

/// Just the id of a task record, for deletions.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskIdOnly {
    task_id: String,
}

/// The execution and sequence number of a task record's key (`t/ str(wid) i32(seq)`).
fn slot_of(task_key: &[u8]) -> Option<(String, i32)> {
    let mut r = Reader::bare(task_key.strip_prefix(keys::TASK)?);
    Some((r.str()?, r.i32()?))
}

/// True when the task's id names its own slot (execution and sequence number), so that the
/// task is found from its id without a task-id index entry.
fn names_slot(task: &TaskInstance) -> bool {
    baton_core::ids::task_slot(&task.task_id) == Some((task.workflow_id.as_str(), task.seq))
}

/// A write turned into key operations. Everything that needs no read is encoded here,
/// before the apply lock is taken.
enum Op<'a> {
    Put(Vec<u8>, Vec<u8>),
    Del(Vec<u8>),
    DeleteTask {
        workflow_id: &'a str,
        task_id: &'a str,
    },
    DeleteWorkflow(&'a str),
    /// Before the record of an execution that was terminal is replaced: remove its finished
    /// entry (found from the stored record) and write `new` in its place, if any.
    RefreshFinished {
        workflow_id: &'a str,
        new: Option<Vec<u8>>,
    },
}

/// The operations of one batch, in write order, and the definitions it stores.
#[derive(Default)]
struct Ops<'a>(Vec<Op<'a>>, Vec<defs::Hash>);

impl<'a> Ops<'a> {
    fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.0.push(Op::Put(key, value));
    }

    fn del(&mut self, key: Vec<u8>) {
        self.0.push(Op::Del(key));
    }

    fn write(&mut self, write: &'a Write, shared: &Defs) -> Result<(), StoreError> {
        match write {
            Write::PutWorkflow {
                workflow,
                prev_status,
            } => self.put_workflow(workflow, *prev_status)?,
            Write::PutTask(task) => self.put_task(task, false)?,
            Write::PutNewTask(task) => self.put_task(task, true)?,
            Write::PutSnapshot { workflow_id, def } => {
                let enc = shared.encode(def)?;
                if let Some(json) = enc.json {
                    self.put(Key::new(keys::DEFINITION).raw(&enc.hash).into_vec(), json);
                    self.1.push(enc.hash);
                }
                self.put(
                    Key::new(keys::SNAPSHOT).str(workflow_id).into_vec(),
                    defs::pointer(&enc.hash),
                );
            }
            Write::DeleteTask {
                workflow_id,
                task_id,
            } => self.0.push(Op::DeleteTask {
                workflow_id,
                task_id,
            }),
            Write::DeleteWorkflow { workflow_id } => self.0.push(Op::DeleteWorkflow(workflow_id)),
            Write::PutRestored(wf) => {
                self.put(
                    Key::new(keys::WORKFLOW).str(&wf.workflow_id).into_vec(),
                    codec::encode("workflow record", wf)?,
                );
                self.put(status_key(wf.status, &wf.workflow_id), Vec::new());
                if !wf.status.is_terminal() {
                    self.put(open_key(wf), wf.workflow_version.to_be_bytes().to_vec());
                }
                if let Some(corr) = &wf.correlation_id {
                    self.put(correlation_key(wf, corr), Vec::new());
                }
            }
            Write::PutTimer(timer) => self.put_timer(timer),
            Write::DeleteTimer(timer) => self.delete_timer(timer),
        }
        Ok(())
    }

    fn put_workflow(
        &mut self,
        wf: &'a WorkflowInstance,
        prev_status: Option<WorkflowStatus>,
    ) -> Result<(), StoreError> {
        let wid = wf.workflow_id.as_str();
        let finished = wf.status.is_terminal().then(|| finished_key(wf));
        match prev_status {
            // It was terminal: its entry sits under the end time of the record replaced,
            // which only a read finds (before the record's put below).
            Some(p) if p.is_terminal() => self.0.push(Op::RefreshFinished {
                workflow_id: wid,
                new: finished,
            }),
            _ => {
                if let Some(k) = finished {
                    self.put(k, Vec::new());
                }
            }
        }
        self.put(
            Key::new(keys::WORKFLOW).str(wid).into_vec(),
            codec::encode("workflow record", wf)?,
        );
        if let Some(prev) = prev_status
            && prev != wf.status
        {
            self.del(status_key(prev, wid));
        }
        if prev_status != Some(wf.status) {
            self.put(status_key(wf.status, wid), Vec::new());
        }
        let was_open = prev_status.is_some_and(|p| !p.is_terminal());
        let is_open = !wf.status.is_terminal();
        if is_open && !was_open {
            self.put(open_key(wf), wf.workflow_version.to_be_bytes().to_vec());
        } else if was_open && !is_open {
            self.del(open_key(wf));
        }
        if prev_status.is_none() {
            if let Some(corr) = &wf.correlation_id {
                self.put(correlation_key(wf, corr), Vec::new());
            }
            if let Some(idem) = &wf.idempotency_key {
                self.put(
                    idempotency_key(&wf.workflow_name, idem),
                    wid.as_bytes().to_vec(),
                );
            }
        }
        Ok(())
    }

    /// Writes a task record; `new` also writes its task-id index entry, which never changes,
    /// unless the id names the record's slot (see [`names_slot`]).
    fn put_task(&mut self, task: &TaskInstance, new: bool) -> Result<(), StoreError> {
        let slot = Key::default()
            .str(&task.workflow_id)
            .i32(task.seq)
            .into_vec();
        self.put(
            Key::new(keys::TASK).raw(&slot).into_vec(),
            codec::encode("task record", task)?,
        );
        if new && !names_slot(task) {
            self.put(Key::new(keys::TASK_ID).str(&task.task_id).into_vec(), slot);
        }
        Ok(())
    }

    fn put_timer(&mut self, timer: &Timer) {
        let (by_due, by_wf) = timer_keys(timer);
        self.put(by_due, Vec::new());
        self.put(by_wf, Vec::new());
    }

    fn delete_timer(&mut self, timer: &Timer) {
        let (by_due, by_wf) = timer_keys(timer);
        self.del(by_due);
        self.del(by_wf);
    }
}

/// Keys and values, in key order.
type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// The writes of one batch on top of the tree: reads see earlier writes of the same batch.
/// The executions a batch writes or deletes, each once.
/// The executions a batch writes to, each once.
fn touched_workflows(writes: &[Write]) -> Vec<&str> {
    let mut out: Vec<&str> = writes
        .iter()
        .filter_map(|w| match w {
            Write::PutWorkflow { workflow, .. } | Write::PutRestored(workflow) => {
                Some(workflow.workflow_id.as_str())
            }
            Write::PutTask(t) | Write::PutNewTask(t) => Some(t.workflow_id.as_str()),
            Write::DeleteTask { workflow_id, .. } | Write::DeleteWorkflow { workflow_id } => {
                Some(workflow_id.as_str())
            }
            Write::PutSnapshot { .. } | Write::PutTimer(_) | Write::DeleteTimer(_) => None,
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The execution ids of a search log entry's value.
fn decode_ids(value: &[u8]) -> Option<Vec<String>> {
    let mut r = Reader::bare(value);
    let mut out = Vec::new();
    while !r.is_empty() {
        out.push(r.str()?);
    }
    Some(out)
}

struct Pending<'a> {
    tree: &'a sled::Tree,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl<'a> Pending<'a> {
    fn new(tree: &'a sled::Tree) -> Self {
        Pending {
            tree,
            writes: BTreeMap::new(),
        }
    }

    fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.writes.insert(key, Some(value));
    }

    fn del(&mut self, key: Vec<u8>) {
        self.writes.insert(key, None);
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(w) = self.writes.get(key) {
            return Ok(w.clone());
        }
        self.tree
            .get(key)
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(|e| engine_error("applying batch: read", e))
    }

    /// Keys and values under `prefix`, batch writes included, in key order.
    fn scan(&self, prefix: &[u8]) -> Result<Entries, StoreError> {
        let mut found = BTreeMap::new();
        for item in self.tree.scan_prefix(prefix) {
            let (k, v) = item.map_err(|e| engine_error("applying batch: scan", e))?;
            found.insert(k.to_vec(), v.to_vec());
        }
        for (k, w) in self
            .writes
            .range::<[u8], _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|(k, _)| k.starts_with(prefix))
        {
            match w {
                Some(v) => found.insert(k.clone(), v.clone()),
                None => found.remove(k),
            };
        }
        Ok(found.into_iter().collect())
    }

    fn into_batch(self) -> sled::Batch {
        let mut batch = sled::Batch::default();
        for (k, w) in self.writes {
            match w {
                Some(v) => batch.insert(k, v),
                None => batch.remove(k),
            }
        }
        batch
    }

    fn delete_task(&mut self, workflow_id: &str, task_id: &str) -> Result<(), StoreError> {
        if let Some((wid, seq)) = baton_core::ids::task_slot(task_id)
            && wid == workflow_id
        {
            // The id names its slot: when the task is there, it has no index entry.
            let task_key = Key::new(keys::TASK).str(wid).i32(seq).into_vec();
            if let Some(record) = self.get(&task_key)?
                && codec::decode::<TaskIdOnly>(&record, || keys::display(&task_key))
                    .is_ok_and(|t| t.task_id == task_id)
            {
                self.del(task_key);
                return Ok(());
            }
        }
        let id_key = Key::new(keys::TASK_ID).str(task_id).into_vec();
        let Some(slot) = self.get(&id_key)? else {
            return Ok(());
        };
        if Reader::bare(&slot).str().as_deref() != Some(workflow_id) {
            // The id belongs to another execution: nothing of this one to delete.
            return Ok(());
        }
        self.del(id_key);
        let task_key = Key::new(keys::TASK).raw(&slot).into_vec();
        if let Some(record) = self.get(&task_key)? {
            // The slot may hold another task (same seq, reused); delete only this task.
            let same = codec::decode::<TaskIdOnly>(&record, || keys::display(&task_key))
                .map(|t| t.task_id == task_id)
                .unwrap_or(true);
            if same {
                self.del(task_key);
            }
        }
        Ok(())
    }

    fn refresh_finished(&mut self, wid: &str, new: Option<Vec<u8>>) -> Result<(), StoreError> {
        let wf_key = Key::new(keys::WORKFLOW).str(wid).into_vec();
        if let Some(record) = self.get(&wf_key)? {
            match codec::decode::<WorkflowInstance>(&record, || format!("w/{wid}")) {
                Ok(old) if old.status.is_terminal() => self.del(finished_key(&old)),
                Ok(_) => {}
                Err(e) => warn!(workflow_id = wid, error = %e,
                    "replacing an undecodable workflow record; its finished entry may remain"),
            }
        }
        if let Some(k) = new {
            self.put(k, Vec::new());
        }
        Ok(())
    }

    fn delete_workflow(&mut self, wid: &str) -> Result<(), StoreError> {
        let wf_key = Key::new(keys::WORKFLOW).str(wid).into_vec();
        if let Some(record) = self.get(&wf_key)? {
            match codec::decode::<WorkflowInstance>(&record, || format!("w/{wid}")) {
                Ok(wf) => {
                    self.del(open_key(&wf));
                    if wf.status.is_terminal() {
                        self.del(finished_key(&wf));
                    }
                    if let Some(corr) = &wf.correlation_id {
                        self.del(correlation_key(&wf, corr));
                    }
                    if let Some(idem) = &wf.idempotency_key {
                        let k = idempotency_key(&wf.workflow_name, idem);
                        if self.get(&k)?.as_deref() == Some(wid.as_bytes()) {
                            self.del(k);
                        }
                    }
                }
                Err(e) => warn!(workflow_id = wid, error = %e,
                    "deleting an undecodable workflow record; its index entries may remain"),
            }
            self.del(wf_key);
        }
        for status in WorkflowStatus::ALL {
            self.del(status_key(status, wid));
        }
        self.del(Key::new(keys::SNAPSHOT).str(wid).into_vec());

        let task_prefix = Key::new(keys::TASK).str(wid).into_vec();
        for (k, v) in self.scan(&task_prefix)? {
            match codec::decode::<TaskIdOnly>(&v, || keys::display(&k)) {
                // An id that names its slot has no index entry.
                Ok(t)
                    if slot_of(&k).as_ref().map(|(w, n)| (w.as_str(), *n))
                        == baton_core::ids::task_slot(&t.task_id) => {}
                Ok(t) => {
                    let id_key = Key::new(keys::TASK_ID).str(&t.task_id).into_vec();
                    if self.get(&id_key)?.as_deref() == Some(&k[keys::TASK.len()..]) {
                        self.del(id_key);
                    }
                }
                Err(e) => warn!(workflow_id = wid, error = %e,
                    "deleting an undecodable task record; its id index entry may remain"),
            }
            self.del(k);
        }

        let timer_prefix = Key::new(keys::TIMER_BY_WORKFLOW).str(wid).into_vec();
        for (k, _) in self.scan(&timer_prefix)? {
            let rest = &k[timer_prefix.len()..];
            if let Some((due, kind)) = rest.split_first_chunk::<8>() {
                self.del(Key::new(keys::TIMER).raw(due).str(wid).raw(kind).into_vec());
            }
            self.del(k);
        }
        Ok(())
    }
}

fn status_key(status: WorkflowStatus, wid: &str) -> Vec<u8> {
    Key::new(keys::BY_STATUS)
        .str(status.as_str())
        .str(wid)
        .into_vec()
}

fn correlation_key(wf: &WorkflowInstance, corr: &str) -> Vec<u8> {
    Key::new(keys::BY_CORRELATION)
        .str(&wf.workflow_name)
        .str(corr)
        .i64(wf.create_time)
        .str(&wf.workflow_id)
        .into_vec()
}

fn open_key(wf: &WorkflowInstance) -> Vec<u8> {
    Key::new(keys::BY_NAME_OPEN)
        .str(&wf.workflow_name)
        .i64(wf.create_time)
        .str(&wf.workflow_id)
        .into_vec()
}

fn finished_key(wf: &WorkflowInstance) -> Vec<u8> {
    Key::new(keys::FINISHED)
        .str(&wf.workflow_name)
        .i64(wf.end_time.unwrap_or(wf.update_time))
        .str(&wf.workflow_id)
        .into_vec()
}

fn idempotency_key(name: &str, key: &str) -> Vec<u8> {
    Key::new(keys::BY_IDEMPOTENCY).str(name).str(key).into_vec()
}

fn timer_keys(timer: &Timer) -> (Vec<u8>, Vec<u8>) {
    let kind = keys::timer_kind(&timer.kind);
    let by_due = Key::new(keys::TIMER)
        .i64(timer.due_ms)
        .str(&timer.workflow_id)
        .raw(&kind)
        .into_vec();
    let by_wf = Key::new(keys::TIMER_BY_WORKFLOW)
        .str(&timer.workflow_id)
        .i64(timer.due_ms)
        .raw(&kind)
        .into_vec();
    (by_due, by_wf)
}

impl Store for SledStore {
    fn put_workflow_def(&self, def: &WorkflowDef, overwrite: bool) -> Result<(), StoreError> {
        let what = format!("workflow definition {} version {}", def.name, def.version);
        let key = Self::workflow_def_key(&def.name, def.version);
        let value = codec::encode_json(&what, def)?;
        if overwrite {
            self.workflow_defs
                .insert(key, value)
                .map_err(|e| engine_error(&format!("storing {what}"), e))?;
        } else {
            self.workflow_defs
                .compare_and_swap(key, None::<&[u8]>, Some(value))
                .map_err(|e| engine_error(&format!("storing {what}"), e))?
                .map_err(|_| StoreError::AlreadyExists(what.clone()))?;
        }
        self.flush_db(&format!("storing {what}"))
    }

    fn get_workflow_def(
        &self,
        name: &str,
        version: Option<i32>,
    ) -> Result<Option<WorkflowDef>, StoreError> {
        let label = || format!("workflow definition {name}");
        let found = match version {
            Some(v) => self
                .workflow_defs
                .get(Self::workflow_def_key(name, v))
                .map_err(|e| engine_error(&format!("reading {}", label()), e))?
                .map(|value| (v, value)),
            None => {
                let prefix = Key::default().str(name).into_vec();
                match self.workflow_defs.scan_prefix(&prefix).next_back() {
                    None => None,
                    Some(item) => {
                        let (k, value) =
                            item.map_err(|e| engine_error(&format!("reading {}", label()), e))?;
                        let v = Reader::bare(&k[prefix.len()..]).i32().ok_or_else(|| {
                            StoreError::Corrupt {
                                key: keys::display(&k),
                                message: "malformed definition key".into(),
                            }
                        })?;
                        Some((v, value))
                    }
                }
            }
        };
        found
            .map(|(v, value)| codec::decode(&value, || format!("workflow_defs/{name}/{v}")))
            .transpose()
    }

    fn list_workflow_defs(&self) -> Result<Vec<WorkflowDef>, StoreError> {
        self.workflow_defs
            .iter()
            .map(|item| {
                let (k, v) = item.map_err(|e| engine_error("listing workflow definitions", e))?;
                codec::decode(&v, || format!("workflow_defs/{}", keys::display(&k)))
            })
            .collect()
    }

    fn delete_workflow_def(&self, name: &str, version: i32) -> Result<bool, StoreError> {
        let what = format!("deleting workflow definition {name} version {version}");
        let existed = self
            .workflow_defs
            .remove(Self::workflow_def_key(name, version))
            .map_err(|e| engine_error(&what, e))?
            .is_some();
        if existed {
            self.flush_db(&what)?;
        }
        Ok(existed)
    }

    fn put_task_def(&self, def: &TaskDef) -> Result<(), StoreError> {
        let what = format!("storing task definition {}", def.name);
        let value = codec::encode_json(&what, def)?;
        self.task_defs
            .insert(def.name.as_bytes(), value)
            .map_err(|e| engine_error(&what, e))?;
        self.flush_db(&what)
    }

    fn get_task_def(&self, name: &str) -> Result<Option<TaskDef>, StoreError> {
        self.task_defs
            .get(name.as_bytes())
            .map_err(|e| engine_error(&format!("reading task definition {name}"), e))?
            .map(|v| codec::decode(&v, || format!("task_defs/{name}")))
            .transpose()
    }

    fn list_task_defs(&self) -> Result<Vec<TaskDef>, StoreError> {
        self.task_defs
            .iter()
            .map(|item| {
                let (k, v) = item.map_err(|e| engine_error("listing task definitions", e))?;
                codec::decode(&v, || format!("task_defs/{}", String::from_utf8_lossy(&k)))
            })
            .collect()
    }

    fn delete_task_def(&self, name: &str) -> Result<bool, StoreError> {
        let what = format!("deleting task definition {name}");
        let existed = self
            .task_defs
            .remove(name.as_bytes())
            .map_err(|e| engine_error(&what, e))?
            .is_some();
        if existed {
            self.flush_db(&what)?;
        }
        Ok(existed)
    }

    fn put_event_handler(&self, handler: &EventHandler) -> Result<(), StoreError> {
        let what = format!("storing event handler {}", handler.name);
        let value = codec::encode_json(&what, handler)?;
        self.event_handlers
            .insert(handler.name.as_bytes(), value)
            .map_err(|e| engine_error(&what, e))?;
        self.flush_db(&what)
    }

    fn list_event_handlers(&self) -> Result<Vec<EventHandler>, StoreError> {
        self.event_handlers
            .iter()
            .map(|item| {
                let (k, v) = item.map_err(|e| engine_error("listing event handlers", e))?;
                codec::decode(&v, || {
                    format!("event_handlers/{}", String::from_utf8_lossy(&k))
                })
            })
            .collect()
    }

    fn delete_event_handler(&self, name: &str) -> Result<bool, StoreError> {
        let what = format!("deleting event handler {name}");
        let existed = self
            .event_handlers
            .remove(name.as_bytes())
            .map_err(|e| engine_error(&what, e))?
            .is_some();
        if existed {
            self.flush_db(&what)?;
        }
        Ok(existed)
    }

    fn apply(&self, batch: &WriteBatch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut ops = Ops::default();
        for write in &batch.writes {
            ops.write(write, &self.defs)?;
        }
        let new_defs = std::mem::take(&mut ops.1);
        // Deletions read the index entries they remove. Holding this lock from those reads
        // to the apply keeps another batch from changing a shared entry (the idempotency
        // index) in between.
        let _guard = self.apply_lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut pending = Pending::new(&self.exec);
        for op in ops.0 {
            match op {
                Op::Put(k, v) => pending.put(k, v),
                Op::Del(k) => pending.del(k),
                Op::DeleteTask {
                    workflow_id,
                    task_id,
                } => pending.delete_task(workflow_id, task_id)?,
                Op::DeleteWorkflow(workflow_id) => pending.delete_workflow(workflow_id)?,
                Op::RefreshFinished { workflow_id, new } => {
                    pending.refresh_finished(workflow_id, new)?
                }
            }
        }
        // Log the executions this batch touches for the search index, in one entry,
        // atomically with the change itself.
        let touched = touched_workflows(&batch.writes);
        if !touched.is_empty() {
            let (key, value) = self.log_entry(touched.iter().copied())?;
            pending.put(key, value);
        }
        self.exec
            .apply_batch(pending.into_batch())
            .map_err(|e| engine_error("applying batch", e))?;
        self.defs.stored(new_defs);
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.flush_db("making batches durable")
    }

    fn load_execution(&self, workflow_id: &str) -> Result<Option<Execution>, StoreError> {
        let Some(workflow) = self.load_workflow(workflow_id)? else {
            return Ok(None);
        };
        let label = format!("loading execution {workflow_id}");
        let prefix = Key::new(keys::TASK).str(workflow_id).into_vec();
        let mut tasks = Vec::new();
        for item in self.exec.scan_prefix(&prefix) {
            let (k, v) = item.map_err(|e| engine_error(&label, e))?;
            let task: TaskInstance = codec::decode(&v, || {
                let seq = Reader::bare(&k[prefix.len()..]).i32();
                match seq {
                    Some(seq) => format!("t/{workflow_id}/{seq}"),
                    None => keys::display(&k),
                }
            })?;
            tasks.push(task);
        }
        let snapshot_key = Key::new(keys::SNAPSHOT).str(workflow_id).into_vec();
        let def = match self
            .exec
            .get(&snapshot_key)
            .map_err(|e| engine_error(&label, e))?
        {
            Some(v) => match defs::pointed(&v) {
                Some(hash) => self.defs.shared(
                    &hash,
                    || {
                        self.exec
                            .get(Key::new(keys::DEFINITION).raw(&hash).into_vec())
                            .map(|v| v.map(|v| v.to_vec()))
                            .map_err(|e| engine_error(&label, e))
                    },
                    || format!("d/{} (of {workflow_id})", keys::hex(&hash)),
                )?,
                None => codec::decode::<WorkflowDef>(&v, || format!("s/{workflow_id}"))?.into(),
            },
            None => {
                return Err(StoreError::Corrupt {
                    key: format!("s/{workflow_id}"),
                    message: "the execution has no definition snapshot".into(),
                });
            }
        };
        Ok(Some(Execution {
            workflow,
            tasks,
            def,
        }))
    }

    fn load_workflow(&self, workflow_id: &str) -> Result<Option<WorkflowInstance>, StoreError> {
        self.exec
            .get(Key::new(keys::WORKFLOW).str(workflow_id).into_vec())
            .map_err(|e| engine_error(&format!("loading workflow {workflow_id}"), e))?
            .map(|v| codec::decode(&v, || format!("w/{workflow_id}")))
            .transpose()
    }

    fn load_task(&self, task_id: &str) -> Result<Option<TaskInstance>, StoreError> {
        let label = || format!("loading task {task_id}");
        // An id that names its slot is read there; any other id (or a named slot that
        // holds another task) goes through the task-id index.
        if let Some((wid, seq)) = baton_core::ids::task_slot(task_id) {
            let slot = Key::default().str(wid).i32(seq).into_vec();
            if let Some(task) = self.task_in_slot(&slot, task_id)? {
                return Ok(Some(task));
            }
        }
        let Some(slot) = self
            .exec
            .get(Key::new(keys::TASK_ID).str(task_id).into_vec())
            .map_err(|e| engine_error(&label(), e))?
        else {
            return Ok(None);
        };
        self.task_in_slot(&slot, task_id)
    }

    fn workflow_ids_by_status(&self, status: WorkflowStatus) -> Result<Vec<String>, StoreError> {
        let prefix = Key::new(keys::BY_STATUS).str(status.as_str()).into_vec();
        self.ids_under(&prefix, 0, "listing workflows by status")
    }

    fn workflow_ids_by_correlation(
        &self,
        name: &str,
        correlation_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let prefix = Key::new(keys::BY_CORRELATION)
            .str(name)
            .str(correlation_id)
            .into_vec();
        self.ids_under(&prefix, 8, "listing workflows by correlation id")
    }

    fn open_workflow_ids(
        &self,
        name: &str,
        version: Option<i32>,
        created_from: Option<i64>,
        created_to: Option<i64>,
    ) -> Result<Vec<String>, StoreError> {
        let label = "listing open executions by name";
        let prefix = Key::new(keys::BY_NAME_OPEN).str(name).into_vec();
        let start = Key::new(keys::BY_NAME_OPEN)
            .str(name)
            .i64(created_from.unwrap_or(i64::MIN))
            .into_vec();
        let mut out = Vec::new();
        for item in self.exec.range(start..) {
            let (k, v) = item.map_err(|e| engine_error(label, e))?;
            if !k.starts_with(&prefix) {
                break;
            }
            let mut r = Reader::bare(&k[prefix.len()..]);
            let parsed = r
                .i64()
                .zip(r.str().filter(|_| r.is_empty()))
                .zip(<[u8; 4]>::try_from(&v[..]).ok().map(i32::from_be_bytes));
            let Some(((created, wid), v)) = parsed else {
                return Err(StoreError::Corrupt {
                    key: keys::display(&k),
                    message: "malformed index entry".into(),
                });
            };
            if created_to.is_some_and(|to| created > to) {
                break;
            }
            if version.is_none_or(|want| want == v) {
                out.push(wid);
            }
        }
        Ok(out)
    }

    fn workflow_id_by_idempotency_key(
        &self,
        name: &str,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        let k = idempotency_key(name, key);
        let Some(v) = self
            .exec
            .get(&k)
            .map_err(|e| engine_error("reading idempotency index", e))?
        else {
            return Ok(None);
        };
        String::from_utf8(v.to_vec())
            .map(Some)
            .map_err(|_| StoreError::Corrupt {
                key: format!("xi/{name}/{key}"),
                message: "workflow id is not UTF-8".into(),
            })
    }

    fn timers(&self) -> Result<Vec<Timer>, StoreError> {
        self.timers_in(self.exec.scan_prefix(keys::TIMER), usize::MAX)
    }

    fn timers_due(&self, after_ms: i64, until_ms: i64) -> Result<Vec<Timer>, StoreError> {
        if until_ms <= after_ms {
            return Ok(Vec::new());
        }
        // Keys sort by due time: (after, until] is [after + 1, until + 1).
        let from = Key::new(keys::TIMER)
            .i64(after_ms.saturating_add(1))
            .into_vec();
        let to = if until_ms == i64::MAX {
            let mut end = keys::TIMER.to_vec();
            *end.last_mut().expect("a prefix") += 1;
            end
        } else {
            Key::new(keys::TIMER).i64(until_ms + 1).into_vec()
        };
        self.timers_in(self.exec.range(from..to), usize::MAX)
    }

    fn search_log(
        &self,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<LoggedChanges>, StoreError> {
        let start = match after {
            Some(a) => match a.checked_add(1) {
                Some(next) => Key::new(keys::SEARCH_LOG)
                    .raw(&next.to_be_bytes())
                    .into_vec(),
                None => return Ok(Vec::new()),
            },
            None => keys::SEARCH_LOG.to_vec(),
        };
        let mut out = Vec::new();
        for item in self.exec.range(start..) {
            let (k, v) = item.map_err(|e| engine_error("reading the search log", e))?;
            if !k.starts_with(keys::SEARCH_LOG) || out.len() >= limit {
                break;
            }
            let stamp = <[u8; 8]>::try_from(&k[keys::SEARCH_LOG.len()..])
                .ok()
                .map(u64::from_be_bytes);
            match (stamp, decode_ids(&v)) {
                (Some(stamp), Some(workflow_ids)) => out.push(LoggedChanges {
                    stamp,
                    workflow_ids,
                }),
                _ => {
                    return Err(StoreError::Corrupt {
                        key: keys::display(&k),
                        message: "malformed search log entry".into(),
                    });
                }
            }
        }
        Ok(out)
    }

    fn search_log_done(&self, stamps: &[u64], again: &[String]) -> Result<(), StoreError> {
        let what = "taking entries off the search log";
        let mut batch = sled::Batch::default();
        for stamp in stamps {
            batch.remove(
                Key::new(keys::SEARCH_LOG)
                    .raw(&stamp.to_be_bytes())
                    .into_vec(),
            );
        }
        if !again.is_empty() {
            let (key, value) = self.log_entry(again.iter().map(String::as_str))?;
            batch.insert(key, value);
        }
        self.exec
            .apply_batch(batch)
            .map_err(|e| engine_error(what, e))
    }

    fn workflow_ids_after(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let start = match after {
            // The smallest key after every key of `after`: its encoding plus one byte.
            Some(a) => {
                let mut k = Key::new(keys::WORKFLOW).str(a).into_vec();
                k.push(0);
                k
            }
            None => keys::WORKFLOW.to_vec(),
        };
        let mut out = Vec::new();
        for item in self.exec.range(start..) {
            let (k, _) = item.map_err(|e| engine_error("walking executions", e))?;
            if !k.starts_with(keys::WORKFLOW) || out.len() >= limit {
                break;
            }
            match Reader::new(&k, keys::WORKFLOW).and_then(|mut r| r.str().filter(|_| r.is_empty()))
            {
                Some(wid) => out.push(wid),
                None => {
                    return Err(StoreError::Corrupt {
                        key: keys::display(&k),
                        message: "malformed workflow key".into(),
                    });
                }
            }
        }
        Ok(out)
    }

    fn finished_names(&self) -> Result<Vec<String>, StoreError> {
        let what = |e| engine_error("listing finished workflow names", e);
        let mut out = Vec::new();
        let mut from = keys::FINISHED.to_vec();
        loop {
            let Some(item) = self.exec.range(from.as_slice()..).next() else {
                break;
            };
            let (k, _) = item.map_err(what)?;
            if !k.starts_with(keys::FINISHED) {
                break;
            }
            let Some(name) = Reader::new(&k, keys::FINISHED).and_then(|mut r| r.str()) else {
                return Err(StoreError::Corrupt {
                    key: keys::display(&k),
                    message: "malformed finished-index key".into(),
                });
            };
            // Every key of this name starts with its closed string component; the first
            // key past them all is that component with its last byte raised by one.
            from = Key::new(keys::FINISHED).str(&name).into_vec();
            if let Some(last) = from.last_mut() {
                *last += 1;
            }
            out.push(name);
        }
        Ok(out)
    }

    fn finished_runs(
        &self,
        name: &str,
        after: Option<&Finished>,
        limit: usize,
    ) -> Result<Vec<Finished>, StoreError> {
        let prefix = Key::new(keys::FINISHED).str(name).into_vec();
        let start = match after {
            Some(a) => {
                let mut k = Key::new(keys::FINISHED)
                    .str(name)
                    .i64(a.end_time)
                    .str(&a.workflow_id)
                    .into_vec();
                k.push(0);
                k
            }
            None => prefix.clone(),
        };
        let mut out = Vec::new();
        for item in self.exec.range(start..) {
            let (k, _) = item.map_err(|e| engine_error("reading finished executions", e))?;
            if !k.starts_with(&prefix) || out.len() >= limit {
                break;
            }
            out.push(Self::finished_from_key(&k, prefix.len())?);
        }
        Ok(out)
    }

    fn nth_newest_finished(&self, name: &str, n: u64) -> Result<Option<Finished>, StoreError> {
        if n == 0 {
            return Ok(None);
        }
        let prefix = Key::new(keys::FINISHED).str(name).into_vec();
        let mut seen = 0;
        for item in self.exec.scan_prefix(&prefix).rev() {
            let (k, _) = item.map_err(|e| engine_error("reading finished executions", e))?;
            seen += 1;
            if seen == n {
                return Self::finished_from_key(&k, prefix.len()).map(Some);
            }
        }
        Ok(None)
    }

    fn store_id(&self) -> Result<String, StoreError> {
        let what = |e| engine_error("reading the store id", e);
        if let Some(v) = self.meta.get(STORE_ID_KEY).map_err(what)? {
            return Ok(String::from_utf8_lossy(&v).into_owned());
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let fresh = format!(
            "{nanos:x}-{:x}-{:x}",
            std::process::id(),
            self.db.generate_id().map_err(what)?
        );
        // Whoever writes first wins; everyone reads the same id afterwards.
        let _ = self
            .meta
            .compare_and_swap(STORE_ID_KEY, None::<&[u8]>, Some(fresh.as_bytes()))
            .map_err(what)?;
        let v = self
            .meta
            .get(STORE_ID_KEY)
            .map_err(what)?
            .unwrap_or_default();
        Ok(String::from_utf8_lossy(&v).into_owned())
    }

    fn next_epoch(&self) -> Result<u64, StoreError> {
        let mut bad = None;
        let new = self
            .meta
            .update_and_fetch(EPOCH_KEY, |old| {
                bad = None;
                let n = match old {
                    None => 0,
                    Some(b) => match <[u8; 8]>::try_from(b) {
                        Ok(b) => u64::from_be_bytes(b),
                        Err(_) => {
                            bad = Some(b.len());
                            return Some(b.to_vec());
                        }
                    },
                };
                Some((n + 1).to_be_bytes().to_vec())
            })
            .map_err(|e| engine_error("advancing the boot epoch", e))?;
        if let Some(len) = bad {
            return Err(StoreError::Corrupt {
                key: "meta/epoch".into(),
                message: format!("expected 8 bytes, found {len}"),
            });
        }
        let new = new.expect("update_and_fetch always stores a value here");
        self.flush_db("advancing the boot epoch")?;
        Ok(u64::from_be_bytes(
            <[u8; 8]>::try_from(&new[..]).expect("written as 8 bytes"),
        ))
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        Ok(StoreStats {
            workflows: self.count(keys::WORKFLOW)?,
            tasks: self.count(keys::TASK)?,
        })
    }

    fn put_schedule(&self, write: &ScheduleWrite<'_>) -> Result<u64, StoreError> {
        self.put_schedule_impl(write)
    }

    fn put_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        self.put_api_key_impl(key)
    }

    fn api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        self.api_keys_impl()
    }

    fn append_audit(&self, entries: &mut [AuditEntry]) -> Result<(), StoreError> {
        self.append_audit_impl(entries)
    }

    fn audit_page(&self, before: Option<u64>, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit_page_impl(before, limit)
    }

    fn trim_audit(&self, keep: usize) -> Result<usize, StoreError> {
        self.trim_audit_impl(keep)
    }

    fn secret(&self, name: &str, make: &dyn Fn() -> Vec<u8>) -> Result<Vec<u8>, StoreError> {
        self.secret_impl(name, make)
    }

    fn put_schedules(
        &self,
        writes: &[ScheduleWrite<'_>],
    ) -> Result<Vec<Result<u64, StoreError>>, StoreError> {
        self.put_schedules_impl(writes)
    }

    fn load_schedule(&self, name: &str) -> Result<Option<StoredSchedule>, StoreError> {
        self.load_schedule_impl(name)
    }

    fn list_schedules(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredSchedule>, StoreError> {
        self.list_schedules_impl(after, limit)
    }

    fn delete_schedule(&self, name: &str) -> Result<bool, StoreError> {
        self.delete_schedule_impl(name)
    }

    fn schedules_due(&self, until_ms: i64, limit: usize) -> Result<Vec<(i64, String)>, StoreError> {
        self.schedules_due_impl(until_ms, limit)
    }

    fn next_schedule_wake(&self) -> Result<Option<i64>, StoreError> {
        self.next_schedule_wake_impl()
    }

    fn schedule_history(
        &self,
        name: &str,
        from_ms: i64,
        until_ms: i64,
        limit: usize,
        newest_first: bool,
    ) -> Result<Vec<ScheduleHistoryEntry>, StoreError> {
        self.schedule_history_impl(name, from_ms, until_ms, limit, newest_first)
    }

    fn trim_schedule_history(&self, name: &str, keep_last: usize) -> Result<usize, StoreError> {
        self.trim_schedule_history_impl(name, keep_last)
    }

    fn alerts_due(&self, until_ms: i64, limit: usize) -> Result<Vec<QueuedAlert>, StoreError> {
        self.alerts_due_impl(until_ms, limit)
    }

    fn next_alert_due(&self) -> Result<Option<i64>, StoreError> {
        self.next_alert_due_impl()
    }

    fn settle_alert(
        &self,
        alert: &QueuedAlert,
        retry_at: Option<i64>,
        history: Option<&ScheduleHistoryEntry>,
    ) -> Result<(), StoreError> {
        self.settle_alert_impl(alert, retry_at, history)
    }
}
