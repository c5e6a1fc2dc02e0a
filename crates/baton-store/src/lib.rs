//! Baton's storage. The [`Store`] trait speaks in domain terms (definitions, executions,
//! tasks, timers, schedules); no storage-engine type crosses it. [`SledStore`] is the embedded
//! implementation.
//!
//! Durability contract: [`Store::apply`] makes a batch visible atomically; it is durable
//! once a later [`Store::flush`] returns. The runtime acknowledges nothing before that flush,
//! and one flush covers every batch applied before it (group commit). Schedule writes
//! ([`Store::put_schedule`], [`Store::delete_schedule`], [`Store::trim_schedule_history`])
//! follow the same contract: atomic and visible on return, durable after a later flush.

#![warn(missing_docs)]

use std::sync::Arc;

use baton_core::auth::{ApiKey, AuditEntry};
use baton_core::event_handler::EventHandler;
use baton_core::retention::Finished;
use baton_core::schedule::{ScheduleDef, ScheduleState};
use baton_core::{
    Execution, TaskDef, TaskInstance, Timer, WorkflowDef, WorkflowInstance, WorkflowStatus,
};

mod codec;
mod defs;
mod keys;
#[cfg(test)]
mod schedule_tests;
mod schedules;
mod security;
mod sled_store;
#[cfg(test)]
mod tests;
pub use sled_store::{SledOptions, SledStore};

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The storage engine failed (I/O error, full disk, corruption).
    #[error("storage failure: {0}")]
    Io(String),
    /// A stored record could not be decoded.
    #[error("corrupt record {key}: {message}")]
    Corrupt {
        /// Which record.
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// The record to create exists already.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// A conditional write found the record changed since the caller read it.
    #[error("conflict: {0}")]
    Conflict(String),
}

/// One write in a [`WriteBatch`].
#[derive(Debug, Clone)]
pub enum Write {
    /// Create or replace a workflow record; `prev_status` is its status before this change
    /// (None when new), so that indexes can be kept without a read.
    PutWorkflow {
        /// The record.
        workflow: WorkflowInstance,
        /// Status before this change.
        prev_status: Option<WorkflowStatus>,
    },
    /// Replace a task record written before (its task-id index entry exists already).
    PutTask(TaskInstance),
    /// Create a task record and its task-id index entry.
    PutNewTask(TaskInstance),
    /// Store the definition snapshot an execution runs.
    PutSnapshot {
        /// The execution.
        workflow_id: String,
        /// The definition.
        def: Arc<WorkflowDef>,
    },
    /// Delete one task record of an execution.
    DeleteTask {
        /// The execution.
        workflow_id: String,
        /// The task.
        task_id: String,
    },
    /// Delete an execution with its tasks, snapshot and index entries.
    DeleteWorkflow {
        /// The execution.
        workflow_id: String,
    },
    /// Create an execution's workflow record brought back from an archive: the record with
    /// its status and correlation entries, but no idempotency entry (the key may have been
    /// used since) and no entry in retention's index (a restored run stays until removed).
    PutRestored(WorkflowInstance),
    /// Store a durable timer.
    PutTimer(Timer),
    /// Delete a durable timer.
    DeleteTimer(Timer),
}

/// One entry of the search log: the executions one batch changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedChanges {
    /// The entry's stamp: unique, and growing with every batch, across restarts too.
    pub stamp: u64,
    /// The executions changed (each once).
    pub workflow_ids: Vec<String>,
}

/// Writes applied together, atomically.
#[derive(Debug, Clone, Default)]
pub struct WriteBatch {
    /// The writes, applied in order.
    pub writes: Vec<Write>,
}

impl WriteBatch {
    /// True when the batch holds no writes.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }
    /// Adds a write.
    pub fn push(&mut self, w: Write) {
        self.writes.push(w);
    }
}

/// A stored schedule: its definition and the state of its state machine, as last written.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSchedule {
    /// The schedule's name (its key).
    pub name: String,
    /// The definition.
    pub def: ScheduleDef,
    /// The state machine's state.
    pub state: ScheduleState,
    /// When the schedule next wants to be woken (epoch ms), as last written; None when it
    /// has nothing to wake for.
    pub wake_at: Option<i64>,
    /// Revision: 1 when created, one more at every write.
    pub revision: u64,
    /// When it was created (epoch ms, as given to the first write).
    pub created_ms: i64,
    /// When it was last written (epoch ms, as given to the last write).
    pub updated_ms: i64,
}

/// One entry of a schedule's history: what happened at a slot.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleHistoryEntry {
    /// The slot (epoch ms) the entry is about; entries are ordered by it.
    pub slot_ms: i64,
    /// Orders the entries of one slot, in the order they were written. Assigned by the
    /// store when the entry is written (the value given then is ignored); unique in the
    /// store, across restarts too.
    pub seq: u64,
    /// When the entry was recorded (epoch ms).
    pub recorded_ms: i64,
    /// What happened, as the caller describes it (started with a workflow id, missed,
    /// skipped, buffered, failed to start, alert...). Stored as JSON.
    pub event: serde_json::Value,
}

/// A write of one schedule, for [`Store::put_schedule`].
#[derive(Debug, Clone, Copy)]
pub struct ScheduleWrite<'a> {
    /// The schedule's name (its key; not compared with `def.name`).
    pub name: &'a str,
    /// The definition.
    pub def: &'a ScheduleDef,
    /// The state to store.
    pub state: &'a ScheduleState,
    /// When the schedule next wants to be woken (epoch ms); None when it has nothing to wake
    /// for (paused, exhausted, ended). The store does not read it from the state.
    pub wake_at: Option<i64>,
    /// The revision the caller read: the write fails with [`StoreError::Conflict`] unless
    /// the stored revision is this one (`Some(0)`: the schedule must not exist). None
    /// creates or replaces whatever is stored.
    pub expected_revision: Option<u64>,
    /// The time of the write (epoch ms): the update time, and the creation time of a new
    /// schedule.
    pub now_ms: i64,
    /// History entries to add in the same atomic write.
    pub history: &'a [ScheduleHistoryEntry],
    /// Alerts to queue for delivery in the same atomic write, due at `now_ms`.
    pub alerts: &'a [ScheduleAlert],
}

/// An alert of a schedule, to be posted to a webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleAlert {
    /// The schedule that raised it.
    pub schedule: String,
    /// Where it is posted.
    pub url: String,
    /// Headers sent with it.
    pub headers: std::collections::BTreeMap<String, String>,
    /// What it says: the JSON body, without the delivery's own fields.
    pub body: serde_json::Value,
    /// Delivery attempts made so far.
    pub attempts: u32,
}

/// An alert waiting in the delivery queue.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedAlert {
    /// When it is due for its next attempt (epoch ms).
    pub due_ms: i64,
    /// Its id: unique in the store, across restarts too.
    pub id: u64,
    /// The alert.
    pub alert: ScheduleAlert,
}

/// Summary of stored executions, for listings and indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StoreStats {
    /// Number of stored executions.
    pub workflows: u64,
    /// Number of stored task instances.
    pub tasks: u64,
}

/// Everything Baton keeps. Implementations are thread-safe; calls may block briefly (the
/// runtime calls them from blocking-safe contexts).
pub trait Store: Send + Sync + 'static {
    /// Stores a workflow definition version. With `overwrite` false an existing name and
    /// version is refused with [`StoreError::AlreadyExists`]. Durable on return.
    fn put_workflow_def(&self, def: &WorkflowDef, overwrite: bool) -> Result<(), StoreError>;
    /// One version of a workflow definition, or the latest when `version` is None.
    fn get_workflow_def(
        &self,
        name: &str,
        version: Option<i32>,
    ) -> Result<Option<WorkflowDef>, StoreError>;
    /// Every version of every workflow definition, ordered by name then version.
    fn list_workflow_defs(&self) -> Result<Vec<WorkflowDef>, StoreError>;
    /// Deletes one version; false when it did not exist. Durable on return.
    fn delete_workflow_def(&self, name: &str, version: i32) -> Result<bool, StoreError>;
    /// Creates or replaces a task definition. Durable on return.
    fn put_task_def(&self, def: &TaskDef) -> Result<(), StoreError>;
    /// One task definition.
    fn get_task_def(&self, name: &str) -> Result<Option<TaskDef>, StoreError>;
    /// Every task definition, ordered by name.
    fn list_task_defs(&self) -> Result<Vec<TaskDef>, StoreError>;
    /// Deletes a task definition; false when it did not exist. Durable on return.
    fn delete_task_def(&self, name: &str) -> Result<bool, StoreError>;
    /// Creates or replaces an event handler (by name). Durable on return.
    fn put_event_handler(&self, handler: &EventHandler) -> Result<(), StoreError>;
    /// Every event handler, ordered by name.
    fn list_event_handlers(&self) -> Result<Vec<EventHandler>, StoreError>;
    /// Deletes an event handler; false when it did not exist. Durable on return.
    fn delete_event_handler(&self, name: &str) -> Result<bool, StoreError>;

    /// Applies a batch atomically. Visible at once; durable after the next [`Store::flush`].
    fn apply(&self, batch: &WriteBatch) -> Result<(), StoreError>;
    /// Makes every batch applied so far durable.
    fn flush(&self) -> Result<(), StoreError>;

    /// A whole execution: workflow, tasks in `seq` order, definition snapshot.
    fn load_execution(&self, workflow_id: &str) -> Result<Option<Execution>, StoreError>;
    /// The workflow record alone.
    fn load_workflow(&self, workflow_id: &str) -> Result<Option<WorkflowInstance>, StoreError>;
    /// One task record, found by task id alone.
    fn load_task(&self, task_id: &str) -> Result<Option<TaskInstance>, StoreError>;
    /// Ids of executions with this status.
    fn workflow_ids_by_status(&self, status: WorkflowStatus) -> Result<Vec<String>, StoreError>;
    /// Ids of executions of `name` with this correlation id, oldest first.
    fn workflow_ids_by_correlation(
        &self,
        name: &str,
        correlation_id: &str,
    ) -> Result<Vec<String>, StoreError>;
    /// Ids of the RUNNING and PAUSED executions of `name`, oldest first: only those of
    /// `version` when given, and only those created within `[created_from, created_to]`
    /// (epoch ms, each bound optional).
    fn open_workflow_ids(
        &self,
        name: &str,
        version: Option<i32>,
        created_from: Option<i64>,
        created_to: Option<i64>,
    ) -> Result<Vec<String>, StoreError>;
    /// Id of the latest execution of `name` started with this idempotency key.
    fn workflow_id_by_idempotency_key(
        &self,
        name: &str,
        key: &str,
    ) -> Result<Option<String>, StoreError>;
    /// Every durable timer, by due time.
    fn timers(&self) -> Result<Vec<Timer>, StoreError>;

    /// Up to `limit` entries of the search log after the stamp `after` (from the first
    /// when None), oldest first. Every batch that writes a workflow or one of its tasks
    /// (or deletes it) logs the executions it touches, in one entry, in the same atomic
    /// write.
    fn search_log(
        &self,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<LoggedChanges>, StoreError>;

    /// Takes the entries with these stamps off the search log and, in the same atomic
    /// write, logs `again` in a new entry (executions read but not taken in yet). Entries
    /// written since the caller read the log stay.
    fn search_log_done(&self, stamps: &[u64], again: &[String]) -> Result<(), StoreError>;

    /// Up to `limit` execution ids after `after` (all from the first when None), in id
    /// order: a walk over every stored execution.
    fn workflow_ids_after(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError>;

    /// Names of the workflows with finished executions in retention's index, in name
    /// order. The index holds every execution that reached a terminal status here (not
    /// those restored from an archive), by name and end time.
    fn finished_names(&self) -> Result<Vec<String>, StoreError>;

    /// Up to `limit` finished executions of `name` ordered after `after` (from the oldest
    /// when None), oldest first: by end time, then id.
    fn finished_runs(
        &self,
        name: &str,
        after: Option<&Finished>,
        limit: usize,
    ) -> Result<Vec<Finished>, StoreError>;

    /// The `n`-th newest finished execution of `name` (1 is the newest); None when it has
    /// fewer than `n`. Reads `n` index entries.
    fn nth_newest_finished(&self, name: &str, n: u64) -> Result<Option<Finished>, StoreError>;

    /// This store's identity: random, made when the store was created, so that an index
    /// kept beside it can tell whether it was built from this store.
    fn store_id(&self) -> Result<String, StoreError>;
    /// The durable timers due after `after_ms` and at or before `until_ms`, by due time.
    fn timers_due(&self, after_ms: i64, until_ms: i64) -> Result<Vec<Timer>, StoreError>;
    /// Increments and returns the boot counter (durable), used to make attempt tokens
    /// unique across restarts.
    fn next_epoch(&self) -> Result<u64, StoreError>;
    /// Counts of stored records.
    fn stats(&self) -> Result<StoreStats, StoreError>;

    /// Creates or replaces a schedule: its record, its wake index entry (the old one
    /// removed, the new one added when `wake_at` is given) and the history entries given,
    /// in one atomic write. Returns the new revision. Visible at once; durable after the
    /// next [`Store::flush`]. History is not bounded here: the caller keeps it in check
    /// with [`Store::trim_schedule_history`].
    fn put_schedule(&self, write: &ScheduleWrite<'_>) -> Result<u64, StoreError>;
    /// Several [`Store::put_schedule`] writes applied together, answering each one's
    /// outcome in order (a write refused for its revision does not stop the others). The
    /// accepted writes are applied in one atomic write, or in several when two name the
    /// same schedule (the second then sees the first). Err when the store failed to apply
    /// them: what was not applied is not written.
    fn put_schedules(
        &self,
        writes: &[ScheduleWrite<'_>],
    ) -> Result<Vec<Result<u64, StoreError>>, StoreError>;
    /// One schedule.
    fn load_schedule(&self, name: &str) -> Result<Option<StoredSchedule>, StoreError>;
    /// Up to `limit` schedules named after `after` (from the first when None), in name
    /// order: a page of a walk over every schedule.
    fn list_schedules(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredSchedule>, StoreError>;
    /// Deletes a schedule with its wake index entry and its history, in one atomic write;
    /// false when it did not exist. Visible at once; durable after the next
    /// [`Store::flush`].
    fn delete_schedule(&self, name: &str) -> Result<bool, StoreError>;
    /// Up to `limit` schedules due at or before `until_ms`, as (wake time, name), earliest
    /// first (then by name). Reads the wake index only.
    fn schedules_due(&self, until_ms: i64, limit: usize) -> Result<Vec<(i64, String)>, StoreError>;
    /// The earliest wake time of any schedule; None when none has anything to wake for.
    fn next_schedule_wake(&self) -> Result<Option<i64>, StoreError>;
    /// Up to `limit` history entries of a schedule with a slot within `[from_ms, until_ms]`,
    /// oldest first (by slot, then `seq`), or newest first when `newest_first`.
    fn schedule_history(
        &self,
        name: &str,
        from_ms: i64,
        until_ms: i64,
        limit: usize,
        newest_first: bool,
    ) -> Result<Vec<ScheduleHistoryEntry>, StoreError>;
    /// Removes the oldest history entries of a schedule so that at most `keep_last` remain,
    /// in one atomic write; returns how many were removed. Visible at once; durable after
    /// the next [`Store::flush`].
    fn trim_schedule_history(&self, name: &str, keep_last: usize) -> Result<usize, StoreError>;
    /// Up to `limit` queued alerts due at or before `until_ms`, earliest first.
    fn alerts_due(&self, until_ms: i64, limit: usize) -> Result<Vec<QueuedAlert>, StoreError>;
    /// When the earliest queued alert is due; None when none is queued.
    fn next_alert_due(&self) -> Result<Option<i64>, StoreError>;
    /// Ends one attempt at `alert`, in one atomic write: takes it off the queue, queues it
    /// again (with its id and the alert as given) due at `retry_at` when that is given, and
    /// adds `history` to its schedule's history when the schedule still exists. Visible at
    /// once; durable after the next [`Store::flush`].
    fn settle_alert(
        &self,
        alert: &QueuedAlert,
        retry_at: Option<i64>,
        history: Option<&ScheduleHistoryEntry>,
    ) -> Result<(), StoreError>;

    /// Stores an API key record (new or changed, such as revoked), durably.
    fn put_api_key(&self, key: &ApiKey) -> Result<(), StoreError>;

    /// Every stored API key, revoked ones included.
    fn api_keys(&self) -> Result<Vec<ApiKey>, StoreError>;

    /// Appends entries to the audit log, durably, giving each its `seq` (larger than
    /// every earlier one).
    fn append_audit(&self, entries: &mut [AuditEntry]) -> Result<(), StoreError>;

    /// Audit entries newest first, those with `seq` below `before` when given, at most
    /// `limit`.
    fn audit_page(&self, before: Option<u64>, limit: usize) -> Result<Vec<AuditEntry>, StoreError>;

    /// Removes the oldest audit entries beyond the newest `keep` (at most 10,000 a call);
    /// returns how many went.
    fn trim_audit(&self, keep: usize) -> Result<usize, StoreError>;

    /// The server secret `name`, made by `make` and stored the first time it is asked
    /// for (whoever stores first wins; every caller gets the same bytes).
    fn secret(&self, name: &str, make: &dyn Fn() -> Vec<u8>) -> Result<Vec<u8>, StoreError>;
}
