//! The scheduling state machine: pure, with the time passed in.
//!
//! [`Schedule`] holds a validated definition and its [`Calendar`]; [`ScheduleState`] is
//! what must be stored between calls. Each input (a tick of the clock, a run that
//! started, failed to start or ended, a pause, a resume, a manual trigger, a backfill)
//! updates the state and returns [`Action`]s for the caller to carry out, ending with a
//! [`Action::WakeAt`] when the schedule needs the clock again.
//!
//! Every calendar slot after the state's creation is handled exactly once, in order: it is
//! started, buffered, or recorded with the reason it was not ([`Outcome`]). The state's
//! cursor is the last slot handled, so after a crash the caller replays the last input on
//! the last stored state and gets the same workflow ids and fire times: ids come from
//! (schedule, slot, shard) and the jitter from (schedule, slot), never from a clock or a
//! random source. A start repeated this way finds the workflow already there.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::calendar::{Calendar, CronCache, Preview, Slot};
pub use super::model::AlertKind;
use super::model::{MisfirePolicy, OverlapPolicy, ScheduleDef, StartWorkflowRequest};
use super::{MAX_BUFFER, MAX_SHARDS};
use crate::model::Object;
use crate::validate::Problem;

/// A slot handled up to this many ms after its fire time is on time and runs. A later one
/// has misfired: beyond the catch-up window it is missed, within it the misfire policy
/// decides.
pub const MISFIRE_THRESHOLD_MS: i64 = 5_000;

/// Most slots one call handles (scheduled and backfilled together); the rest wait for
/// the next call, which the returned `WakeAt(now)` asks for.
pub const MAX_SLOTS_PER_CALL: usize = 1_000;

/// Namespace of the deterministic workflow ids.
const ID_NAMESPACE: Uuid = Uuid::from_u128(0x6d1f_3c2a_9b47_5e08_a1c4_7f2e_90b3_d56a);

/// Why a run was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunKind {
    /// A slot of the calendar, on time or caught up.
    Scheduled,
    /// A manual trigger ("run now").
    Manual,
    /// A slot of a backfilled range.
    Backfill,
}

/// What became of a slot (or of the schedule) that did not simply start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    /// The slot was not run: outside the catch-up window, skipped or superseded by the
    /// misfire policy.
    Missed,
    /// The slot was not run because the schedule's own runs were open.
    SkippedByOverlap,
    /// The slot waits for the open runs to end.
    Buffered,
    /// The start was attempted and failed.
    FailedToStart,
    /// The schedule reached `maxRuns`; no later slot runs.
    LimitReached,
    /// A backfilled slot whose run exists already (the range, or part of it, was
    /// backfilled or run before): found, not run again.
    AlreadyRan,
    /// The schedule paused itself after consecutive failures.
    PausedAfterFailures,
}

/// Something the caller must do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Action {
    /// Start a workflow at `fireAtMs` (or at once if that has passed). If a workflow with
    /// this id exists already, the start was done before: report it as started.
    #[serde(rename_all = "camelCase")]
    Start {
        /// The slot (epoch ms); the trigger time for a manual run.
        slot_ms: i64,
        /// The slot plus its jitter.
        fire_at_ms: i64,
        /// The deterministic id of the run.
        workflow_id: String,
        /// Why it starts.
        kind: RunKind,
        /// This run's shard, from 0.
        shard_index: u32,
        /// Runs per slot.
        shard_total: u32,
        /// What to start, input and correlation id filled in.
        request: Box<StartWorkflowRequest>,
    },
    /// Cancel one of the schedule's open runs (overlap policy CANCEL_OTHER).
    #[serde(rename_all = "camelCase")]
    Cancel {
        /// The run.
        workflow_id: String,
        /// Why.
        reason: String,
    },
    /// Terminate one of the schedule's open runs (overlap policy TERMINATE_OTHER).
    #[serde(rename_all = "camelCase")]
    Terminate {
        /// The run.
        workflow_id: String,
        /// Why.
        reason: String,
    },
    /// Keep a record of what became of a slot, or of the schedule.
    #[serde(rename_all = "camelCase")]
    Record {
        /// The slot, when the record is about one.
        slot_ms: Option<i64>,
        /// What happened.
        outcome: Outcome,
        /// Why.
        reason: String,
    },
    /// Tell someone.
    #[serde(rename_all = "camelCase")]
    Alert {
        /// About what.
        kind: AlertKind,
        /// The slot concerned, if one.
        slot_ms: Option<i64>,
        /// What happened.
        message: String,
    },
    /// Call `tick` again at this time (epoch ms); replaces any earlier wake-up.
    WakeAt(i64),
}

/// Counts kept for visibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Counters {
    /// Scheduled slots started.
    pub fired: u64,
    /// Slots recorded as missed.
    pub missed: u64,
    /// Slots skipped because runs were open.
    pub skipped_by_overlap: u64,
    /// Slots that waited in the buffer.
    pub buffered: u64,
    /// Starts that failed.
    pub failed_to_start: u64,
    /// Runs that completed.
    pub succeeded: u64,
    /// Runs that failed.
    pub failed: u64,
    /// Manual runs started.
    pub manual: u64,
    /// Backfilled slots started.
    pub backfilled: u64,
}

/// One of the schedule's runs that has not ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenRun {
    /// Its slot.
    pub slot_ms: i64,
    /// Why it started.
    pub kind: RunKind,
    /// Whether the start was confirmed.
    pub confirmed: bool,
    /// Whether it was asked to cancel.
    pub cancelling: bool,
}

/// A run waiting for the open runs to end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Waiting {
    /// Its slot.
    pub slot_ms: i64,
    /// The spec that produced it (none for a manual run).
    pub spec: Option<String>,
    /// Why it starts.
    pub kind: RunKind,
    /// Input given with a manual trigger.
    pub input_override: Option<Object>,
}

/// A backfill still in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Backfill {
    /// Slots up to this one are done.
    pub cursor_ms: i64,
    /// Last time of the range (inclusive).
    pub until_ms: i64,
    /// Overlap policy of the backfilled runs.
    pub overlap: OverlapPolicy,
}

/// Everything the state machine stores between calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleState {
    /// Every calendar slot up to this time (epoch ms) has been handled.
    pub cursor_ms: i64,
    /// The next slot, as last computed.
    pub next_slot_ms: Option<i64>,
    /// The last scheduled slot started.
    pub last_fired_ms: Option<i64>,
    /// Counters.
    pub counters: Counters,
    /// Runs waiting for the open ones to end, oldest first.
    pub buffered: VecDeque<Waiting>,
    /// The schedule's own open runs, by workflow id.
    pub running: BTreeMap<String, OpenRun>,
    /// Failed runs (and failed starts) since the last success.
    pub consecutive_failures: u32,
    /// Scheduled slots started (what `maxRuns` limits; manual and backfilled runs are not
    /// counted).
    pub runs_started: u64,
    /// Whether the schedule is paused.
    pub paused: bool,
    /// The note given with the last pause or resume (while paused: why).
    pub note: Option<String>,
    /// When it was paused.
    pub paused_since_ms: Option<i64>,
    /// The last pause that ended: from, until.
    pub last_pause_ms: Option<(i64, i64)>,
    /// Backfills in progress.
    pub backfills: VecDeque<Backfill>,
    /// Whether `maxRuns` was reached.
    pub exhausted: bool,
}

/// The deterministic id of the run for a slot (and shard). Scheduled and backfilled runs
/// of the same slot share ids, so a slot never runs twice; manual runs have their own.
pub fn workflow_id(schedule: &str, slot_ms: i64, shard: Option<u32>, manual: bool) -> String {
    let kind = if manual { "manual" } else { "slot" };
    let key = match shard {
        Some(s) => format!("{schedule}\u{0}{kind}\u{0}{slot_ms}\u{0}{s}"),
        None => format!("{schedule}\u{0}{kind}\u{0}{slot_ms}"),
    };
    Uuid::new_v5(&ID_NAMESPACE, key.as_bytes()).to_string()
}

/// FNV-1a: a small hash that never changes between builds.
fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The delay of a slot in `[0, jitter_ms)`, the same on every call.
pub fn jitter_for(schedule: &str, slot_ms: i64, jitter_ms: u64) -> i64 {
    if jitter_ms == 0 {
        return 0;
    }
    let h = fnv1a(schedule.bytes().chain([0]).chain(slot_ms.to_le_bytes()));
    i64::try_from(h % jitter_ms).unwrap_or(0)
}

fn policy_name(p: OverlapPolicy) -> &'static str {
    match p {
        OverlapPolicy::Skip => "SKIP",
        OverlapPolicy::BufferOne => "BUFFER_ONE",
        OverlapPolicy::BufferAll => "BUFFER_ALL",
        OverlapPolicy::CancelOther => "CANCEL_OTHER",
        OverlapPolicy::TerminateOther => "TERMINATE_OTHER",
        OverlapPolicy::AllowAll => "ALLOW_ALL",
    }
}

/// A validated schedule with its calendar: the rules of the state machine. When the
/// definition changes, build a new `Schedule` and keep the stored state: slots after its
/// cursor follow the new definition.
#[derive(Debug, Clone)]
pub struct Schedule {
    def: ScheduleDef,
    calendar: Calendar,
}

impl Schedule {
    /// Validates and compiles a definition.
    pub fn new(def: ScheduleDef) -> Result<Schedule, Vec<Problem>> {
        Self::new_with(def, &mut CronCache::default())
    }

    /// [`Schedule::new`], parsing cron expressions through `crons`.
    pub fn new_with(def: ScheduleDef, crons: &mut CronCache) -> Result<Schedule, Vec<Problem>> {
        let calendar = Calendar::compile_with(&def, crons)?;
        Ok(Schedule { def, calendar })
    }

    /// The definition.
    pub fn def(&self) -> &ScheduleDef {
        &self.def
    }

    /// The compiled calendar.
    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    /// The next slots after `from_ms` up to `until_ms` (bounded, see
    /// [`Calendar::preview`]).
    pub fn preview(&self, from_ms: i64, until_ms: i64, limit: usize) -> Preview {
        self.calendar.preview(from_ms, until_ms, limit)
    }

    /// The next `limit` slots the state has not handled yet (at most
    /// [`super::MAX_PREVIEW`]), each with its fire time (the slot plus its jitter); none
    /// while paused or once `maxRuns` is reached.
    pub fn upcoming(&self, st: &ScheduleState, limit: usize) -> Vec<(Slot, i64)> {
        if st.paused || st.exhausted {
            return Vec::new();
        }
        self.calendar
            .preview(st.cursor_ms, i64::MAX, limit)
            .slots
            .into_iter()
            .map(|s| {
                let fire = self.fire_at(s.at_ms);
                (s, fire)
            })
            .collect()
    }

    /// The state of a schedule created (or enabled) at `now_ms`: slots after it count.
    pub fn initial_state(&self, now_ms: i64) -> ScheduleState {
        ScheduleState {
            cursor_ms: now_ms,
            next_slot_ms: self.calendar.next_after(now_ms).map(|s| s.at_ms),
            last_fired_ms: None,
            counters: Counters::default(),
            buffered: VecDeque::new(),
            running: BTreeMap::new(),
            consecutive_failures: 0,
            runs_started: 0,
            paused: self.def.paused,
            note: if self.def.paused {
                self.def.paused_reason.clone()
            } else {
                None
            },
            paused_since_ms: self.def.paused.then_some(now_ms),
            last_pause_ms: None,
            backfills: VecDeque::new(),
            exhausted: false,
        }
    }

    fn shard_total(&self) -> u32 {
        self.def.shard_total.unwrap_or(1).clamp(1, MAX_SHARDS)
    }

    fn fire_at(&self, slot_ms: i64) -> i64 {
        slot_ms.saturating_add(jitter_for(&self.def.name, slot_ms, self.def.jitter_ms))
    }

    /// Scheduled slots started or promised (waiting in the buffer).
    fn committed_runs(&self, st: &ScheduleState) -> u64 {
        st.runs_started
            + st.buffered
                .iter()
                .filter(|w| w.kind == RunKind::Scheduled)
                .count() as u64
    }

    /// Handles every slot due at `now_ms` (up to [`MAX_SLOTS_PER_CALL`]) and says when to
    /// wake next.
    pub fn tick(&self, st: &mut ScheduleState, now_ms: i64) -> Vec<Action> {
        let mut out = Vec::new();
        let mut budget = MAX_SLOTS_PER_CALL;
        let mut wake: Option<i64> = None;
        if !st.paused && !st.exhausted {
            wake = self.run_due(st, now_ms, &mut budget, &mut out);
        }
        if let Some(w) = self.run_backfills(st, now_ms, &mut budget, &mut out) {
            wake = Some(wake.map_or(w, |x| x.min(w)));
        }
        if let Some(w) = wake {
            out.push(Action::WakeAt(w));
        }
        out
    }

    /// The scheduled slots: returns when to wake.
    fn run_due(
        &self,
        st: &mut ScheduleState,
        now: i64,
        budget: &mut usize,
        out: &mut Vec<Action>,
    ) -> Option<i64> {
        let window = self.def.catchup_window_ms();
        let mut missed = 0u64;
        let mut first_missed = None;
        let wake = loop {
            if let Some(max) = self.def.max_runs
                && self.committed_runs(st) >= max
            {
                st.exhausted = true;
                out.push(Action::Record {
                    slot_ms: None,
                    outcome: Outcome::LimitReached,
                    reason: format!("maxRuns ({max}) reached: no later slot runs"),
                });
                break None;
            }
            let Some(slot) = self.calendar.next_after(st.cursor_ms) else {
                st.next_slot_ms = None;
                break None;
            };
            st.next_slot_ms = Some(slot.at_ms);
            let fire_at = self.fire_at(slot.at_ms);
            if fire_at > now {
                break Some(fire_at);
            }
            if *budget == 0 {
                break Some(now);
            }
            *budget -= 1;
            st.cursor_ms = slot.at_ms;
            let late = now.saturating_sub(fire_at);
            let why_late = || match st.last_pause_ms {
                Some((a, b)) if slot.at_ms >= a && slot.at_ms <= b => "the schedule was paused",
                _ => "the scheduler was not running",
            };
            let miss = if late <= MISFIRE_THRESHOLD_MS {
                None
            } else if late > window {
                Some(format!(
                    "late by {late} ms ({}), beyond the catch-up window of {window} ms",
                    why_late()
                ))
            } else {
                match self.def.misfire() {
                    MisfirePolicy::Skip => Some(format!(
                        "late by {late} ms ({}); misfire policy SKIP",
                        why_late()
                    )),
                    MisfirePolicy::RunLatest => match self.calendar.next_after(slot.at_ms) {
                        Some(n) if self.fire_at(n.at_ms) <= now => Some(format!(
                            "late by {late} ms ({}); misfire policy RUN_LATEST runs a later slot",
                            why_late()
                        )),
                        _ => None,
                    },
                    MisfirePolicy::RunAll => None,
                }
            };
            match miss {
                Some(reason) => {
                    missed += 1;
                    first_missed.get_or_insert(slot.at_ms);
                    st.counters.missed += 1;
                    out.push(Action::Record {
                        slot_ms: Some(slot.at_ms),
                        outcome: Outcome::Missed,
                        reason,
                    });
                }
                None => self.offer(
                    st,
                    now,
                    Waiting {
                        slot_ms: slot.at_ms,
                        spec: Some(slot.spec),
                        kind: RunKind::Scheduled,
                        input_override: None,
                    },
                    self.def.overlap(),
                    out,
                ),
            }
        };
        if missed > 0 {
            out.push(Action::Alert {
                kind: AlertKind::Missed,
                slot_ms: first_missed,
                message: format!("{missed} slot(s) of schedule {} missed", self.def.name),
            });
        }
        wake
    }

    /// Backfilled slots: returns `Some(now)` while some remain.
    fn run_backfills(
        &self,
        st: &mut ScheduleState,
        now: i64,
        budget: &mut usize,
        out: &mut Vec<Action>,
    ) -> Option<i64> {
        while let Some(mut bf) = st.backfills.front().copied() {
            loop {
                let next = self
                    .calendar
                    .next_after(bf.cursor_ms)
                    .filter(|s| s.at_ms <= bf.until_ms);
                let Some(slot) = next else {
                    st.backfills.pop_front();
                    break;
                };
                if *budget == 0 {
                    if let Some(f) = st.backfills.front_mut() {
                        *f = bf;
                    }
                    return Some(now);
                }
                *budget -= 1;
                bf.cursor_ms = slot.at_ms;
                self.offer(
                    st,
                    now,
                    Waiting {
                        slot_ms: slot.at_ms,
                        spec: Some(slot.spec),
                        kind: RunKind::Backfill,
                        input_override: None,
                    },
                    bf.overlap,
                    out,
                );
            }
        }
        None
    }

    /// A run that should start now, under an overlap policy.
    fn offer(
        &self,
        st: &mut ScheduleState,
        now: i64,
        run: Waiting,
        overlap: OverlapPolicy,
        out: &mut Vec<Action>,
    ) {
        if st.running.is_empty() {
            self.start(st, now, run, out);
            return;
        }
        let name = policy_name(overlap);
        let skip = |st: &mut ScheduleState, out: &mut Vec<Action>, slot_ms: i64, why: String| {
            st.counters.skipped_by_overlap += 1;
            out.push(Action::Record {
                slot_ms: Some(slot_ms),
                outcome: Outcome::SkippedByOverlap,
                reason: why,
            });
        };
        let buffer = |st: &mut ScheduleState, out: &mut Vec<Action>, run: Waiting| {
            st.counters.buffered += 1;
            out.push(Action::Record {
                slot_ms: Some(run.slot_ms),
                outcome: Outcome::Buffered,
                reason: format!(
                    "{} run(s) of the schedule still open; overlap policy {name}",
                    st.running.len()
                ),
            });
            st.buffered.push_back(run);
        };
        match overlap {
            OverlapPolicy::AllowAll => self.start(st, now, run, out),
            OverlapPolicy::Skip => skip(
                st,
                out,
                run.slot_ms,
                format!(
                    "{} run(s) of the schedule still open; overlap policy SKIP",
                    st.running.len()
                ),
            ),
            OverlapPolicy::BufferOne | OverlapPolicy::BufferAll => {
                let cap = if overlap == OverlapPolicy::BufferOne {
                    1
                } else {
                    MAX_BUFFER
                };
                if st.buffered.len() >= cap {
                    skip(
                        st,
                        out,
                        run.slot_ms,
                        format!("{cap} run(s) already waiting; overlap policy {name}"),
                    );
                } else {
                    buffer(st, out, run);
                }
            }
            OverlapPolicy::CancelOther => {
                for (id, r) in st.running.iter_mut() {
                    if !r.cancelling {
                        r.cancelling = true;
                        out.push(Action::Cancel {
                            workflow_id: id.clone(),
                            reason: format!(
                                "slot {} of schedule {} replaces it (CANCEL_OTHER)",
                                run.slot_ms, self.def.name
                            ),
                        });
                    }
                }
                while let Some(old) = st.buffered.pop_front() {
                    skip(
                        st,
                        out,
                        old.slot_ms,
                        format!("replaced by slot {} (CANCEL_OTHER)", run.slot_ms),
                    );
                }
                buffer(st, out, run);
            }
            OverlapPolicy::TerminateOther => {
                let open = std::mem::take(&mut st.running);
                for id in open.into_keys() {
                    out.push(Action::Terminate {
                        workflow_id: id,
                        reason: format!(
                            "slot {} of schedule {} replaces it (TERMINATE_OTHER)",
                            run.slot_ms, self.def.name
                        ),
                    });
                }
                self.start(st, now, run, out);
            }
        }
    }

    /// Emits the start of every shard of a run.
    fn start(&self, st: &mut ScheduleState, now: i64, run: Waiting, out: &mut Vec<Action>) {
        let total = self.shard_total();
        let sharded = self.def.shard_total.is_some();
        let first = workflow_id(
            &self.def.name,
            run.slot_ms,
            sharded.then_some(0),
            run.kind == RunKind::Manual,
        );
        if st.running.contains_key(&first) {
            // The same slot is open already (a backfill over a slot that just ran).
            out.push(Action::Record {
                slot_ms: Some(run.slot_ms),
                outcome: Outcome::SkippedByOverlap,
                reason: "the run of this slot is still open".into(),
            });
            st.counters.skipped_by_overlap += 1;
            return;
        }
        let fire_at_ms = if run.kind == RunKind::Manual {
            run.slot_ms
        } else {
            self.fire_at(run.slot_ms)
        };
        for shard in 0..total {
            let id = workflow_id(
                &self.def.name,
                run.slot_ms,
                sharded.then_some(shard),
                run.kind == RunKind::Manual,
            );
            let mut request = self.def.start_workflow_request.clone();
            if let Some(o) = &run.input_override {
                for (k, v) in o {
                    request.input.insert(k.clone(), v.clone());
                }
            }
            let input = &mut request.input;
            input.insert(
                "_startedByScheduler".into(),
                Value::String(self.def.name.clone()),
            );
            input.insert("_scheduledTime".into(), Value::from(run.slot_ms));
            input.insert("_executedTime".into(), Value::from(now.max(fire_at_ms)));
            input.insert("_executionId".into(), Value::String(id.clone()));
            input.insert(
                "_schedulerCron".into(),
                run.spec.clone().map_or(Value::Null, Value::String),
            );
            if sharded {
                input.insert("shardIndex".into(), Value::from(shard));
                input.insert("shardTotal".into(), Value::from(total));
            }
            request.correlation_id = request.correlation_id.map(|c| {
                c.replace("${scheduleName}", &self.def.name)
                    .replace("${scheduledTime}", &run.slot_ms.to_string())
                    .replace("${shardIndex}", &shard.to_string())
            });
            st.running.insert(
                id.clone(),
                OpenRun {
                    slot_ms: run.slot_ms,
                    kind: run.kind,
                    confirmed: false,
                    cancelling: false,
                },
            );
            out.push(Action::Start {
                slot_ms: run.slot_ms,
                fire_at_ms,
                workflow_id: id,
                kind: run.kind,
                shard_index: shard,
                shard_total: total,
                request: Box::new(request),
            });
        }
        match run.kind {
            RunKind::Scheduled => {
                st.counters.fired += 1;
                st.runs_started += 1;
                st.last_fired_ms =
                    Some(st.last_fired_ms.map_or(run.slot_ms, |l| l.max(run.slot_ms)));
            }
            RunKind::Manual => st.counters.manual += 1,
            RunKind::Backfill => st.counters.backfilled += 1,
        }
    }

    /// Starts the oldest waiting run once nothing is open (and the schedule is not paused).
    fn drain_buffer(&self, st: &mut ScheduleState, now: i64, out: &mut Vec<Action>) {
        if st.paused || !st.running.is_empty() {
            return;
        }
        if let Some(next) = st.buffered.pop_front() {
            self.start(st, now, next, out);
        }
    }

    fn failure(&self, st: &mut ScheduleState, now: i64, out: &mut Vec<Action>) {
        st.consecutive_failures = st.consecutive_failures.saturating_add(1);
        if let Some(n) = self.def.pause_after_failures
            && st.consecutive_failures >= n
            && !st.paused
        {
            let note = format!("paused after {n} consecutive failed runs");
            st.paused = true;
            st.note = Some(note.clone());
            st.paused_since_ms = Some(now);
            out.push(Action::Record {
                slot_ms: None,
                outcome: Outcome::PausedAfterFailures,
                reason: note.clone(),
            });
            out.push(Action::Alert {
                kind: AlertKind::Paused,
                slot_ms: None,
                message: format!("schedule {} {note}", self.def.name),
            });
        }
    }

    /// The caller started (or found) the workflow.
    pub fn workflow_started(&self, st: &mut ScheduleState, workflow_id: &str) -> Vec<Action> {
        if let Some(r) = st.running.get_mut(workflow_id) {
            r.confirmed = true;
        }
        Vec::new()
    }

    /// The caller found the workflow of a backfilled slot existing before it asked to
    /// start it: that slot ran before. The run is neither watched nor counted again; the
    /// slot is recorded as [`Outcome::AlreadyRan`]. Unknown ids, and runs that are not
    /// backfills, are ignored (a scheduled slot found after a crash is the one started
    /// before the state write was lost, and counts).
    pub fn run_found(&self, st: &mut ScheduleState, workflow_id: &str, now_ms: i64) -> Vec<Action> {
        let mut out = Vec::new();
        if st
            .running
            .get(workflow_id)
            .is_none_or(|r| r.kind != RunKind::Backfill)
        {
            return out;
        }
        let Some(run) = st.running.remove(workflow_id) else {
            return out;
        };
        st.counters.backfilled = st.counters.backfilled.saturating_sub(1);
        out.push(Action::Record {
            slot_ms: Some(run.slot_ms),
            outcome: Outcome::AlreadyRan,
            reason: format!("workflow {workflow_id} exists already"),
        });
        self.drain_buffer(st, now_ms, &mut out);
        out
    }

    /// The caller could not start the workflow. Unknown ids are ignored.
    pub fn start_failed(
        &self,
        st: &mut ScheduleState,
        workflow_id: &str,
        now_ms: i64,
        reason: &str,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        let Some(run) = st.running.remove(workflow_id) else {
            return out;
        };
        st.counters.failed_to_start += 1;
        out.push(Action::Record {
            slot_ms: Some(run.slot_ms),
            outcome: Outcome::FailedToStart,
            reason: reason.to_string(),
        });
        out.push(Action::Alert {
            kind: AlertKind::StartFailed,
            slot_ms: Some(run.slot_ms),
            message: format!(
                "schedule {} could not start {workflow_id}: {reason}",
                self.def.name
            ),
        });
        self.failure(st, now_ms, &mut out);
        self.drain_buffer(st, now_ms, &mut out);
        out
    }

    /// One of the schedule's runs ended. Unknown ids (already ended, or terminated by the
    /// overlap policy) are ignored; runs cancelled by the overlap policy count neither as
    /// success nor as failure.
    pub fn workflow_ended(
        &self,
        st: &mut ScheduleState,
        workflow_id: &str,
        success: bool,
        now_ms: i64,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        let Some(run) = st.running.remove(workflow_id) else {
            return out;
        };
        if !run.cancelling {
            if success {
                st.counters.succeeded += 1;
                st.consecutive_failures = 0;
            } else {
                st.counters.failed += 1;
                out.push(Action::Alert {
                    kind: AlertKind::RunFailed,
                    slot_ms: Some(run.slot_ms),
                    message: format!("run {workflow_id} of schedule {} failed", self.def.name),
                });
                self.failure(st, now_ms, &mut out);
            }
        }
        self.drain_buffer(st, now_ms, &mut out);
        out
    }

    /// Pauses the schedule. Slots due by `now_ms` are handled first; later ones wait for
    /// [`Schedule::resume`], which applies the misfire policy to them.
    pub fn pause(&self, st: &mut ScheduleState, now_ms: i64, note: Option<String>) -> Vec<Action> {
        let mut out: Vec<Action> = self
            .tick(st, now_ms)
            .into_iter()
            .filter(|a| !matches!(a, Action::WakeAt(_)))
            .collect();
        if !st.paused {
            st.paused = true;
            st.paused_since_ms = Some(now_ms);
        }
        st.note = note;
        if !st.backfills.is_empty() {
            out.push(Action::WakeAt(now_ms));
        }
        out
    }

    /// Resumes a paused schedule, keeping `note`; failures so far are forgiven. Slots that
    /// came during the pause are handled by the misfire policy and the catch-up window. On
    /// a schedule that is not paused this is a tick.
    pub fn resume(&self, st: &mut ScheduleState, now_ms: i64, note: Option<String>) -> Vec<Action> {
        if st.paused {
            st.paused = false;
            st.last_pause_ms = Some((st.paused_since_ms.unwrap_or(now_ms), now_ms));
            st.paused_since_ms = None;
            st.note = note;
            st.consecutive_failures = 0;
        }
        let mut out = Vec::new();
        self.drain_buffer(st, now_ms, &mut out);
        out.extend(self.tick(st, now_ms));
        out
    }

    /// Runs the workflow now, with `input_override` merged into the input, under
    /// `overlap_override` or the schedule's overlap policy. Works while paused; does not
    /// count towards `maxRuns`.
    pub fn trigger(
        &self,
        st: &mut ScheduleState,
        now_ms: i64,
        input_override: Option<Object>,
        overlap_override: Option<OverlapPolicy>,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        if st
            .running
            .values()
            .any(|r| r.kind == RunKind::Manual && r.slot_ms == now_ms)
        {
            return out;
        }
        self.offer(
            st,
            now_ms,
            Waiting {
                slot_ms: now_ms,
                spec: None,
                kind: RunKind::Manual,
                input_override,
            },
            overlap_override.unwrap_or(self.def.overlap()),
            &mut out,
        );
        out
    }

    /// Runs every slot in `[from_ms, until_ms]` under `overlap_override` or the schedule's
    /// overlap policy, whatever the misfire policy says (the range ends at `now_ms` at the
    /// latest). Backfills go on while the schedule is paused or past `maxRuns`, and do
    /// not count towards it. Slots that already ran have the
    /// same workflow ids and are found, not run again. Large ranges continue on the next
    /// ticks.
    pub fn backfill(
        &self,
        st: &mut ScheduleState,
        from_ms: i64,
        until_ms: i64,
        overlap_override: Option<OverlapPolicy>,
        now_ms: i64,
    ) -> Vec<Action> {
        let until_ms = until_ms.min(now_ms);
        if from_ms <= until_ms {
            st.backfills.push_back(Backfill {
                cursor_ms: from_ms.saturating_sub(1),
                until_ms,
                overlap: overlap_override.unwrap_or(self.def.overlap()),
            });
        }
        self.tick(st, now_ms)
    }
}
