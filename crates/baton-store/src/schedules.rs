//! Schedules in the sled store: records, the wake index and history, all in the
//! `schedules` tree so that every write of one call is a single atomic `apply_batch`.
//!
//! The record keeps the wake time it was written with, so a rewrite removes the old wake
//! entry without looking for it. Writes of schedules take a lock of their own from the read
//! of the record they replace to the apply, so that revisions never go backwards and no
//! stale wake entry survives two writes racing.

use std::ops::Bound;

use baton_core::schedule::{ScheduleDef, ScheduleState};
use serde::{Deserialize, Serialize};

use crate::codec;
use crate::keys::{self, Key, Reader};
use crate::sled_store::{SledStore, engine_error};
use crate::{
    QueuedAlert, ScheduleAlert, ScheduleHistoryEntry, ScheduleWrite, StoreError, StoredSchedule,
};

/// The stored form of a schedule record, as written.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RecordOut<'a> {
    def: &'a ScheduleDef,
    state: &'a ScheduleState,
    #[serde(skip_serializing_if = "Option::is_none")]
    wake_at: Option<i64>,
    revision: u64,
    created_ms: i64,
    updated_ms: i64,
}

/// The stored form of a schedule record, as read.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecordIn {
    def: ScheduleDef,
    state: ScheduleState,
    #[serde(default)]
    wake_at: Option<i64>,
    revision: u64,
    created_ms: i64,
    updated_ms: i64,
}

/// The fields of a stored record that a write needs from the one it replaces (the rest
/// of the record is skipped, not built).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecordHead {
    #[serde(default)]
    wake_at: Option<i64>,
    revision: u64,
    created_ms: i64,
}

/// The stored form of a history entry (slot and sequence are in the key).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HistoryValue {
    recorded_ms: i64,
    event: serde_json::Value,
}

/// The stored form of a queued alert (due time and id are in the key).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AlertValue {
    schedule: String,
    url: String,
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
    body: serde_json::Value,
    #[serde(default)]
    attempts: u32,
}

impl AlertValue {
    fn of(a: &ScheduleAlert) -> Self {
        AlertValue {
            schedule: a.schedule.clone(),
            url: a.url.clone(),
            headers: a.headers.clone(),
            body: a.body.clone(),
            attempts: a.attempts,
        }
    }
}

fn alert_key(due_ms: i64, id: u64) -> Vec<u8> {
    Key::new(keys::SCHEDULE_ALERT)
        .i64(due_ms)
        .raw(&id.to_be_bytes())
        .into_vec()
}

fn history_key(name: &str, slot_ms: i64, seq: u64) -> Vec<u8> {
    Key::new(keys::SCHEDULE_HISTORY)
        .str(name)
        .i64(slot_ms)
        .raw(&seq.to_be_bytes())
        .into_vec()
}

fn record_key(name: &str) -> Vec<u8> {
    Key::new(keys::SCHEDULE).str(name).into_vec()
}

fn wake_key(wake_ms: i64, name: &str) -> Vec<u8> {
    Key::new(keys::SCHEDULE_WAKE)
        .i64(wake_ms)
        .str(name)
        .into_vec()
}

fn history_prefix(name: &str) -> Vec<u8> {
    Key::new(keys::SCHEDULE_HISTORY).str(name).into_vec()
}

/// The first key after every key that starts with `prefix` (which must not end in 0xFF;
/// prefixes here end in `/` or a string terminator).
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    if let Some(last) = end.last_mut() {
        *last += 1;
    }
    end
}

fn decode_record(name: &str, bytes: &[u8]) -> Result<StoredSchedule, StoreError> {
    let r: RecordIn = codec::decode(bytes, || format!("schedules/sr/{name}"))?;
    Ok(StoredSchedule {
        name: name.to_string(),
        def: r.def,
        state: r.state,
        wake_at: r.wake_at,
        revision: r.revision,
        created_ms: r.created_ms,
        updated_ms: r.updated_ms,
    })
}

fn malformed(key: &[u8], what: &str) -> StoreError {
    StoreError::Corrupt {
        key: format!("schedules/{}", keys::display(key)),
        message: format!("malformed {what} key"),
    }
}

impl SledStore {
    fn schedule_record(&self, name: &str) -> Result<Option<StoredSchedule>, StoreError> {
        self.schedules
            .get(record_key(name))
            .map_err(|e| engine_error(&format!("reading schedule {name}"), e))?
            .map(|v| decode_record(name, &v))
            .transpose()
    }

    pub(crate) fn put_schedule_impl(&self, w: &ScheduleWrite<'_>) -> Result<u64, StoreError> {
        let what = format!("storing schedule {}", w.name);
        let _guard = self.schedule_lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut batch = sled::Batch::default();
        let revision = self.stage_schedule_write(&mut batch, w)?;
        self.schedules
            .apply_batch(batch)
            .map_err(|e| engine_error(&what, e))?;
        Ok(revision)
    }

    pub(crate) fn put_schedules_impl(
        &self,
        writes: &[ScheduleWrite<'_>],
    ) -> Result<Vec<Result<u64, StoreError>>, StoreError> {
        let _guard = self.schedule_lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::with_capacity(writes.len());
        let mut batch = sled::Batch::default();
        // Names staged in the batch not yet applied: a second write of one of them must
        // read the first one's record, so the batch is applied before it is staged.
        let mut staged = std::collections::HashSet::new();
        for w in writes {
            if !staged.insert(w.name) {
                self.schedules
                    .apply_batch(std::mem::take(&mut batch))
                    .map_err(|e| engine_error("storing schedules", e))?;
                staged.clear();
                staged.insert(w.name);
            }
            out.push(self.stage_schedule_write(&mut batch, w));
        }
        self.schedules
            .apply_batch(batch)
            .map_err(|e| engine_error("storing schedules", e))?;
        Ok(out)
    }

    /// Checks a write against the stored record and adds its changes to `batch`; answers
    /// the revision it writes. The caller holds the schedule lock until the batch is
    /// applied.
    fn stage_schedule_write(
        &self,
        batch: &mut sled::Batch,
        w: &ScheduleWrite<'_>,
    ) -> Result<u64, StoreError> {
        let what = format!("storing schedule {}", w.name);
        let old = self.schedule_head(w.name)?;
        let stored_revision = old.as_ref().map_or(0, |o| o.revision);
        if let Some(expected) = w.expected_revision
            && expected != stored_revision
        {
            return Err(StoreError::Conflict(match old {
                Some(_) => format!(
                    "schedule {} is at revision {stored_revision}, not {expected}",
                    w.name
                ),
                None => format!(
                    "schedule {} does not exist (expected revision {expected})",
                    w.name
                ),
            }));
        }
        let revision = stored_revision + 1;
        let record = RecordOut {
            def: w.def,
            state: w.state,
            wake_at: w.wake_at,
            revision,
            created_ms: old.as_ref().map_or(w.now_ms, |o| o.created_ms),
            updated_ms: w.now_ms,
        };
        // Everything that may fail comes before the first change to the batch.
        let record = codec::encode_json(&what, &record)?;
        let mut history = Vec::with_capacity(w.history.len());
        for entry in w.history {
            history.push(self.history_pair(w.name, entry, &what)?);
        }
        let mut alerts = Vec::with_capacity(w.alerts.len());
        for alert in w.alerts {
            let id = self.db.generate_id().map_err(|e| engine_error(&what, e))?;
            let value = AlertValue::of(alert);
            alerts.push((alert_key(w.now_ms, id), codec::encode_json(&what, &value)?));
        }
        if let Some(old_wake) = old.as_ref().and_then(|o| o.wake_at)
            && Some(old_wake) != w.wake_at
        {
            batch.remove(wake_key(old_wake, w.name));
        }
        if let Some(wake) = w.wake_at {
            batch.insert(wake_key(wake, w.name), Vec::<u8>::new());
        }
        batch.insert(record_key(w.name), record);
        for (k, v) in history.into_iter().chain(alerts) {
            batch.insert(k, v);
        }
        Ok(revision)
    }

    /// The revision, wake time and creation time of a stored schedule, read without
    /// building its definition and state.
    fn schedule_head(&self, name: &str) -> Result<Option<RecordHead>, StoreError> {
        self.schedules
            .get(record_key(name))
            .map_err(|e| engine_error(&format!("reading schedule {name}"), e))?
            .map(|v| codec::decode(&v, || format!("schedules/sr/{name}")))
            .transpose()
    }

    fn history_pair(
        &self,
        name: &str,
        entry: &ScheduleHistoryEntry,
        what: &str,
    ) -> Result<(Vec<u8>, Vec<u8>), StoreError> {
        let seq = self.db.generate_id().map_err(|e| engine_error(what, e))?;
        let value = HistoryValue {
            recorded_ms: entry.recorded_ms,
            event: entry.event.clone(),
        };
        Ok((
            history_key(name, entry.slot_ms, seq),
            codec::encode_json(what, &value)?,
        ))
    }

    pub(crate) fn alerts_due_impl(
        &self,
        until_ms: i64,
        limit: usize,
    ) -> Result<Vec<QueuedAlert>, StoreError> {
        let end = match until_ms.checked_add(1) {
            Some(next) => Key::new(keys::SCHEDULE_ALERT).i64(next).into_vec(),
            None => prefix_end(keys::SCHEDULE_ALERT),
        };
        let mut out = Vec::new();
        for item in self.schedules.range(keys::SCHEDULE_ALERT.to_vec()..end) {
            if out.len() >= limit {
                break;
            }
            let (k, v) = item.map_err(|e| engine_error("reading the alert queue", e))?;
            let (due_ms, id) = read_alert_key(&k)?;
            let a: AlertValue = codec::decode(&v, || format!("schedules/sa/{due_ms}/{id}"))?;
            out.push(QueuedAlert {
                due_ms,
                id,
                alert: ScheduleAlert {
                    schedule: a.schedule,
                    url: a.url,
                    headers: a.headers,
                    body: a.body,
                    attempts: a.attempts,
                },
            });
        }
        Ok(out)
    }

    pub(crate) fn next_alert_due_impl(&self) -> Result<Option<i64>, StoreError> {
        match self.schedules.scan_prefix(keys::SCHEDULE_ALERT).next() {
            None => Ok(None),
            Some(item) => {
                let (k, _) = item.map_err(|e| engine_error("reading the alert queue", e))?;
                read_alert_key(&k).map(|(due, _)| Some(due))
            }
        }
    }

    pub(crate) fn settle_alert_impl(
        &self,
        alert: &QueuedAlert,
        retry_at: Option<i64>,
        history: Option<&ScheduleHistoryEntry>,
    ) -> Result<(), StoreError> {
        let what = format!(
            "settling alert {} of schedule {}",
            alert.id, alert.alert.schedule
        );
        let _guard = self.schedule_lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut batch = sled::Batch::default();
        batch.remove(alert_key(alert.due_ms, alert.id));
        if let Some(at) = retry_at {
            let value = AlertValue::of(&alert.alert);
            batch.insert(alert_key(at, alert.id), codec::encode_json(&what, &value)?);
        }
        if let Some(entry) = history
            && self.schedule_head(&alert.alert.schedule)?.is_some()
        {
            let (k, v) = self.history_pair(&alert.alert.schedule, entry, &what)?;
            batch.insert(k, v);
        }
        self.schedules
            .apply_batch(batch)
            .map_err(|e| engine_error(&what, e))?;
        Ok(())
    }

    pub(crate) fn load_schedule_impl(
        &self,
        name: &str,
    ) -> Result<Option<StoredSchedule>, StoreError> {
        self.schedule_record(name)
    }

    pub(crate) fn list_schedules_impl(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredSchedule>, StoreError> {
        let start = match after {
            Some(a) => Bound::Excluded(record_key(a)),
            None => Bound::Included(keys::SCHEDULE.to_vec()),
        };
        let end = Bound::Excluded(prefix_end(keys::SCHEDULE));
        let mut out = Vec::new();
        for item in self.schedules.range((start, end)) {
            if out.len() >= limit {
                break;
            }
            let (k, v) = item.map_err(|e| engine_error("listing schedules", e))?;
            let Some(name) =
                Reader::new(&k, keys::SCHEDULE).and_then(|mut r| r.str().filter(|_| r.is_empty()))
            else {
                return Err(malformed(&k, "schedule"));
            };
            out.push(decode_record(&name, &v)?);
        }
        Ok(out)
    }

    pub(crate) fn delete_schedule_impl(&self, name: &str) -> Result<bool, StoreError> {
        let what = format!("deleting schedule {name}");
        let _guard = self.schedule_lock.lock().unwrap_or_else(|e| e.into_inner());
        let Some(old) = self.schedule_record(name)? else {
            return Ok(false);
        };
        let mut batch = sled::Batch::default();
        batch.remove(record_key(name));
        if let Some(wake) = old.wake_at {
            batch.remove(wake_key(wake, name));
        }
        for item in self.schedules.scan_prefix(history_prefix(name)) {
            let (k, _) = item.map_err(|e| engine_error(&what, e))?;
            batch.remove(k);
        }
        self.schedules
            .apply_batch(batch)
            .map_err(|e| engine_error(&what, e))?;
        Ok(true)
    }

    pub(crate) fn schedules_due_impl(
        &self,
        until_ms: i64,
        limit: usize,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let end = match until_ms.checked_add(1) {
            Some(next) => Key::new(keys::SCHEDULE_WAKE).i64(next).into_vec(),
            None => prefix_end(keys::SCHEDULE_WAKE),
        };
        let mut out = Vec::new();
        for item in self.schedules.range(keys::SCHEDULE_WAKE.to_vec()..end) {
            if out.len() >= limit {
                break;
            }
            let (k, _) = item.map_err(|e| engine_error("reading the schedule wake index", e))?;
            out.push(read_wake_key(&k)?);
        }
        Ok(out)
    }

    pub(crate) fn next_schedule_wake_impl(&self) -> Result<Option<i64>, StoreError> {
        match self.schedules.scan_prefix(keys::SCHEDULE_WAKE).next() {
            None => Ok(None),
            Some(item) => {
                let (k, _) =
                    item.map_err(|e| engine_error("reading the schedule wake index", e))?;
                read_wake_key(&k).map(|(wake, _)| Some(wake))
            }
        }
    }

    pub(crate) fn schedule_history_impl(
        &self,
        name: &str,
        from_ms: i64,
        until_ms: i64,
        limit: usize,
        newest_first: bool,
    ) -> Result<Vec<ScheduleHistoryEntry>, StoreError> {
        if until_ms < from_ms || limit == 0 {
            return Ok(Vec::new());
        }
        let prefix = history_prefix(name);
        let start = Key::new(keys::SCHEDULE_HISTORY)
            .str(name)
            .i64(from_ms)
            .into_vec();
        let end = match until_ms.checked_add(1) {
            Some(next) => Key::new(keys::SCHEDULE_HISTORY)
                .str(name)
                .i64(next)
                .into_vec(),
            None => prefix_end(&prefix),
        };
        let range = self.schedules.range(start..end);
        let iter: Box<dyn Iterator<Item = _>> = if newest_first {
            Box::new(range.rev())
        } else {
            Box::new(range)
        };
        let mut out = Vec::new();
        for item in iter.take(limit) {
            let (k, v) = item.map_err(|e| engine_error("reading schedule history", e))?;
            out.push(read_history(name, prefix.len(), &k, &v)?);
        }
        Ok(out)
    }

    pub(crate) fn trim_schedule_history_impl(
        &self,
        name: &str,
        keep_last: usize,
    ) -> Result<usize, StoreError> {
        let what = format!("trimming the history of schedule {name}");
        let _guard = self.schedule_lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut batch = sled::Batch::default();
        let mut removed = 0;
        for item in self
            .schedules
            .scan_prefix(history_prefix(name))
            .rev()
            .skip(keep_last)
        {
            let (k, _) = item.map_err(|e| engine_error(&what, e))?;
            batch.remove(k);
            removed += 1;
        }
        if removed > 0 {
            self.schedules
                .apply_batch(batch)
                .map_err(|e| engine_error(&what, e))?;
        }
        Ok(removed)
    }
}

fn read_wake_key(k: &[u8]) -> Result<(i64, String), StoreError> {
    Reader::new(k, keys::SCHEDULE_WAKE)
        .and_then(|mut r| {
            let wake = r.i64()?;
            let name = r.str()?;
            r.is_empty().then_some((wake, name))
        })
        .ok_or_else(|| malformed(k, "schedule wake index"))
}

fn read_alert_key(k: &[u8]) -> Result<(i64, u64), StoreError> {
    let mut r = Reader::new(k, keys::SCHEDULE_ALERT).ok_or_else(|| malformed(k, "alert"))?;
    let due = r.i64();
    let id = <[u8; 8]>::try_from(r.rest()).ok().map(u64::from_be_bytes);
    match (due, id) {
        (Some(due), Some(id)) => Ok((due, id)),
        _ => Err(malformed(k, "alert")),
    }
}

fn read_history(
    name: &str,
    prefix_len: usize,
    k: &[u8],
    v: &[u8],
) -> Result<ScheduleHistoryEntry, StoreError> {
    let mut r = Reader::bare(&k[prefix_len..]);
    let slot_ms = r.i64();
    let seq = <[u8; 8]>::try_from(r.rest()).ok().map(u64::from_be_bytes);
    let (Some(slot_ms), Some(seq)) = (slot_ms, seq) else {
        return Err(malformed(k, "schedule history"));
    };
    let value: HistoryValue = codec::decode(v, || format!("schedules/sh/{name}/{slot_ms}/{seq}"))?;
    Ok(ScheduleHistoryEntry {
        slot_ms,
        seq,
        recorded_ms: value.recorded_ms,
        event: value.event,
    })
}
