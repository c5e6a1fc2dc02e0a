//! The scheduler: one background task that fires schedules on the runtime's clock.
//!
//! The task loops: it reads the earliest wake time of the store's wake index, waits on the
//! clock until then (or until poked: a schedule was saved, resumed, triggered or
//! backfilled, or one of the schedules' runs ended), then takes the schedules due and runs
//! each through its state machine ([`baton_core::schedule::Schedule`]), carrying out the
//! actions it answers with.
//!
//! Every change of a schedule, whether made by the task or by an operation of the service
//! layer, goes through [`Scheduler::change`], which holds the schedule's lock from the
//! read of its record to the write, and works in this order:
//!
//! 1. load the stored record and apply one input to the state machine;
//! 2. carry out the actions: starts go through [`Ingress::start_requested`] under the
//!    deterministic workflow id of the slot (a start that finds the id taken was made
//!    before and counts as started); terminations through the executors;
//! 3. tick once more, so that the stored wake time reflects the whole state;
//! 4. write the state, its wake time and the history entries in one atomic write with the
//!    revision read in step 1, and flush the store (see below for the task's own changes).
//!
//! The reads and writes of step 1 and 4 go through [`ScheduleIo`], which gathers those of
//! every change in flight into one trip off the async threads and one store write (and
//! one flush for all the operations waiting on theirs). Definitions are compiled through
//! a cache of parsed cron expressions, as a schedule is read back for every change.
//!
//! Starts are durable before the state that records them is written. A crash between the
//! two loses only the state write: the next attempt replays the same input on the same
//! stored state, derives the same workflow ids and finds the runs already there, so no slot
//! starts twice. A start that fails for a passing reason (the server is stopping, storage
//! failed, the engine is overloaded) abandons the change the same way, to be replayed.
//!
//! The same holds for a state write that is lost because it was never flushed, so the
//! task's own changes (a tick of a due schedule, the ends of its runs) skip the flush: no
//! caller waits on them, and the store's next flush (any group commit of the engine, such
//! as the one of the next start, or of an operation's change) makes them durable in
//! order, as its log is written in order. A tick lost in a crash is replayed from the
//! stored state and finds its runs; the ends of runs lost in a crash are found again when
//! the restarted task watches the open runs of the stored states. Operations acknowledged
//! to a caller (save, pause, resume, trigger, backfill, delete) are still flushed before
//! they answer.
//!
//! A pass runs the changes of many schedules at once (at most [`PARALLEL`]), the run
//! endings first and then a page of the due schedules: each change waits on its starts'
//! group commit, and the starts of many schedules share one. Changes of one schedule
//! still take its lock in turn, so every step above holds per schedule.
//!
//! A backfilled slot whose run is found was run before (a range backfilled twice): it is
//! recorded as ALREADY_RAN, neither counted nor watched again. (So is one started by a
//! backfill whose state write a crash lost: its run goes on, unwatched by the schedule.)
//!
//! A replay that comes too late for the slot to run on time finds the slot missed by the
//! misfire policy; its runs, when they exist, are then adopted rather than recorded as
//! missed, so that they are still watched and counted. Slots handled in the same call
//! after the adopted one were offered before it was known to be open, so an overlap
//! policy did not see it for them.
//!
//! Run endings come back through the runtime's [`Waiters`]: every open run of a schedule
//! is watched (those of the stored states when the task starts, and every run started
//! since, from a wait asked for before its start so that a run that ends at once needs no
//! look in the store), and an end queues [`baton_core::schedule::Schedule::workflow_ended`] for the
//! next pass.
//!
//! A run removed while open reports no end; a sweep every [`SWEEP_EVERY_MS`] looks for
//! the watched runs in the store and reports those gone as ended in failure.
//!
//! History is kept to [`HISTORY_CAP`] entries per schedule, trimmed every
//! [`TRIM_EVERY`] writes.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use baton_core::decider::ChildStart;
use baton_core::schedule::machine::OpenRun;
use baton_core::schedule::{
    Action, CronCache, MAX_SHARDS, Outcome, RunKind, Schedule, ScheduleDef, ScheduleState,
    workflow_id,
};
use baton_core::{Event, WorkflowStatus};
use baton_store::{ScheduleAlert, ScheduleHistoryEntry, Store, StoredSchedule};
use metrics::{counter, histogram};
use parking_lot::Mutex;
use serde_json::json;
use tokio::sync::Notify;

use crate::clock::{JumpWatch, SharedClock};
use crate::error::{EngineError, ErrorKind};
use crate::runtime::alerts::AlertSender;
use crate::runtime::ingress::Ingress;
use crate::runtime::registry::blocking;
use crate::runtime::schedule_io::{OwnedWrite, ScheduleIo};
use crate::runtime::waiters::Waiters;
use crate::telemetry;

/// Most history entries kept per schedule; older ones are trimmed.
pub const HISTORY_CAP: usize = 1_000;

/// History is trimmed when a schedule's revision is a multiple of this, so that the cost
/// of a trim (a walk over the schedule's history) is spread over many writes.
pub const TRIM_EVERY: u64 = 50;

/// Due schedules taken per read of the wake index.
const PAGE: usize = 1_000;

/// Schedule changes a pass makes at once (each waits on its starts and its store reads and
/// writes; changes of one schedule still wait for each other on its lock).
const PARALLEL: usize = 256;

/// Longest wait between passes, so that a wall clock that drifts is looked at again.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// Wait before a pass that had failures is tried again.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// How often (clock ms) watched runs are looked for in the store, to notice runs removed
/// while open.
pub const SWEEP_EVERY_MS: i64 = 60_000;

/// Longest wait at shutdown for the task to end.
const STOP_WAIT: Duration = Duration::from_secs(10);

/// Schedules read per page when the task starts and watches the open runs.
const LIST_PAGE: usize = 500;

/// Counts since the server started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SchedulerStats {
    /// Passes of the background task.
    pub passes: u64,
    /// Workflows started (or found started) for schedules.
    pub started: u64,
    /// Schedule changes that failed and wait to be tried again.
    pub failures: u64,
    /// Run endings fed back to their schedules.
    pub ended: u64,
}

#[derive(Default)]
struct Counters {
    passes: AtomicU64,
    started: AtomicU64,
    failures: AtomicU64,
    ended: AtomicU64,
}

/// A run of a schedule that ended, waiting to be fed back.
#[derive(Debug, Clone)]
struct Ended {
    schedule: String,
    workflow_id: String,
    status: Option<WorkflowStatus>,
}

/// What [`Scheduler::change`] did.
#[derive(Debug, Clone)]
pub struct Changed {
    /// The schedule as written.
    pub stored: StoredSchedule,
    /// Workflows started (or found started) by the change.
    pub started: Vec<String>,
}

/// What the actions of one change came to.
#[derive(Default)]
struct Done {
    history: Vec<ScheduleHistoryEntry>,
    alerts: Vec<ScheduleAlert>,
    /// Runs started or found, with the wait for its end of each run started now (asked
    /// for before the start, so that it cannot miss the end).
    started: Vec<(
        String,
        Option<tokio::sync::oneshot::Receiver<WorkflowStatus>>,
    )>,
    wake: Option<i64>,
}

/// The scheduler's handle.
pub struct Scheduler {
    store: Arc<dyn Store>,
    /// Reads and writes of schedule records, gathered.
    io: ScheduleIo,
    /// Cron expressions parsed for the definitions read back.
    crons: Mutex<CronCache>,
    ingress: Arc<Ingress>,
    waiters: Arc<Waiters>,
    clock: SharedClock,
    poke: Notify,
    stopped: AtomicBool,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    ended: Mutex<Vec<Ended>>,
    /// Runs watched, with their schedules.
    watched: Mutex<HashMap<String, String>>,
    /// When watched runs were last looked for in the store (clock ms).
    last_sweep: std::sync::atomic::AtomicI64,
    counters: Counters,
    fail_writes: AtomicBool,
    /// Posts the alerts that changes queue.
    alerts: Arc<AlertSender>,
    /// Whether the task runs; [`Scheduler::stop`] waits for it to end.
    running: parking_lot::Mutex<bool>,
    exited: parking_lot::Condvar,
}

fn status_name(status: Option<WorkflowStatus>) -> &'static str {
    status.map_or("REMOVED", WorkflowStatus::as_str)
}

fn invalid_stored(name: &str, problems: &[baton_core::validate::Problem]) -> EngineError {
    let list: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    EngineError::Storage(format!(
        "stored schedule {name} is no longer valid: {}",
        list.join("; ")
    ))
}

/// Whether a failed start may succeed when tried again (and the change is replayed).
fn passing(e: &EngineError) -> bool {
    matches!(
        e.kind(),
        ErrorKind::Unavailable | ErrorKind::ResourceExhausted
    )
}

impl Scheduler {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        ingress: Arc<Ingress>,
        waiters: Arc<Waiters>,
        clock: SharedClock,
    ) -> Result<Arc<Self>, EngineError> {
        let alerts = AlertSender::new(store.clone(), clock.clone());
        let io = ScheduleIo::start(store.clone())?;
        Ok(Arc::new(Self {
            store,
            io,
            crons: Mutex::new(CronCache::default()),
            ingress,
            waiters,
            clock,
            poke: Notify::new(),
            stopped: AtomicBool::new(false),
            locks: Mutex::new(HashMap::new()),
            ended: Mutex::new(Vec::new()),
            watched: Mutex::new(HashMap::new()),
            last_sweep: std::sync::atomic::AtomicI64::new(i64::MIN),
            counters: Counters::default(),
            fail_writes: AtomicBool::new(false),
            alerts,
            running: parking_lot::Mutex::new(false),
            exited: parking_lot::Condvar::new(),
        }))
    }

    /// Compiles a definition, parsing its cron expressions through the scheduler's cache.
    fn compile(&self, def: ScheduleDef) -> Result<Schedule, Vec<baton_core::validate::Problem>> {
        Schedule::new_with(def, &mut self.crons.lock())
    }

    /// Counts since the server started.
    pub fn stats(&self) -> SchedulerStats {
        let c = &self.counters;
        SchedulerStats {
            passes: c.passes.load(Ordering::Relaxed),
            started: c.started.load(Ordering::Relaxed),
            failures: c.failures.load(Ordering::Relaxed),
            ended: c.ended.load(Ordering::Relaxed),
        }
    }

    /// The task that posts alerts to webhooks.
    pub fn alerts(&self) -> &Arc<AlertSender> {
        &self.alerts
    }

    /// Wakes the task for a pass now.
    pub fn poke(&self) {
        self.poke.notify_one();
    }

    /// Makes every later state write fail after its starts were made, as a crash between
    /// the two would (for tests of the replay); `false` ends it.
    #[doc(hidden)]
    pub fn fail_state_writes(&self, on: bool) {
        self.fail_writes.store(on, Ordering::SeqCst);
    }

    /// Ends the task after the pass under way, waiting (a bounded time) until it has
    /// ended. Blocks: call it off the async threads.
    pub(crate) fn stop(&self) {
        self.alerts.stop();
        self.stopped.store(true, Ordering::SeqCst);
        self.poke.notify_one();
        let mut running = self.running.lock();
        let deadline = std::time::Instant::now() + STOP_WAIT;
        while *running {
            if self.exited.wait_until(&mut running, deadline).timed_out() {
                tracing::warn!("scheduler still busy at shutdown");
                return;
            }
        }
    }

    /// Takes the lock of schedule `name`, waiting for whoever holds it. The lock leaves the
    /// table when its last holder lets go and nobody waits for it, so the table holds only
    /// the schedules being changed.
    async fn hold(&self, name: &str) -> Held<'_> {
        let lock = self
            .locks
            .lock()
            .entry(name.to_string())
            .or_default()
            .clone();
        let guard = lock.lock_owned().await;
        Held {
            locks: &self.locks,
            name: name.to_string(),
            guard: Some(guard),
        }
    }

    /// Creates a schedule (with a fresh state) or replaces the definition of one (keeping
    /// its state: slots after its cursor follow the new definition). A `paused` flag that
    /// differs from the state pauses or resumes it.
    pub(crate) async fn save(self: &Arc<Self>, def: ScheduleDef) -> Result<Changed, EngineError> {
        let schedule = self.compile(def.clone()).map_err(|p| {
            let list: Vec<String> = p.iter().map(|p| p.to_string()).collect();
            EngineError::InvalidArgument(format!("invalid schedule: {}", list.join("; ")))
        })?;
        let name = def.name.clone();
        let _held = self.hold(&name).await;
        let now = self.clock.now_ms();
        let old = self.io.load(&name).await?;
        let (mut state, revision, created_ms) = match old {
            Some(o) => (o.state, o.revision, o.created_ms),
            None => (schedule.initial_state(now), 0, now),
        };
        let actions = if revision == 0 {
            Vec::new()
        } else if def.paused && !state.paused {
            schedule.pause(&mut state, now, def.paused_reason.clone())
        } else if !def.paused && state.paused {
            schedule.resume(&mut state, now, None)
        } else {
            Vec::new()
        };
        let changed = self
            .finish(
                &name,
                &schedule,
                state,
                (revision, created_ms),
                actions,
                now,
                true,
            )
            .await?;
        self.poke();
        Ok(changed)
    }

    /// Deletes a schedule with its history; false when it did not exist. Its open runs go
    /// on, no longer watched.
    pub(crate) async fn delete(&self, name: &str) -> Result<bool, EngineError> {
        let _held = self.hold(name).await;
        let (store, n) = (self.store.clone(), name.to_string());
        let deleted = blocking(move || {
            let d = store.delete_schedule(&n)?;
            store.flush()?;
            Ok(d)
        })
        .await?;
        Ok(deleted)
    }

    /// Applies one input to a schedule's state machine, carries out what it answers and
    /// writes the new state: see the module documentation. NOT_FOUND when the schedule
    /// does not exist.
    pub(crate) async fn change<F>(
        self: &Arc<Self>,
        name: &str,
        op: F,
    ) -> Result<Changed, EngineError>
    where
        F: FnOnce(&Schedule, &mut ScheduleState, i64) -> Vec<Action>,
    {
        self.change_with(name, op, true).await
    }

    /// [`Scheduler::change`], flushing the state write only when `flush` is set: the
    /// task's own changes (ticks, run endings) need not be flushed, see the module
    /// documentation.
    async fn change_with<F>(
        self: &Arc<Self>,
        name: &str,
        op: F,
        flush: bool,
    ) -> Result<Changed, EngineError>
    where
        F: FnOnce(&Schedule, &mut ScheduleState, i64) -> Vec<Action>,
    {
        let _held = self.hold(name).await;
        let Some(stored) = self.io.load(name).await? else {
            return Err(EngineError::NotFound(format!(
                "schedule {name} does not exist"
            )));
        };
        let schedule = self
            .compile(stored.def)
            .map_err(|p| invalid_stored(name, &p))?;
        let mut state = stored.state;
        let now = self.clock.now_ms();
        let actions = op(&schedule, &mut state, now);
        let base = (stored.revision, stored.created_ms);
        self.finish(name, &schedule, state, base, actions, now, flush)
            .await
    }

    /// Carries out `actions`, ticks once more, and writes the state (expecting `revision`;
    /// 0 creates the schedule), flushing the store after the write when `flush` is set.
    #[allow(clippy::too_many_arguments)]
    async fn finish(
        self: &Arc<Self>,
        name: &str,
        schedule: &Schedule,
        mut state: ScheduleState,
        (revision, created_ms): (u64, i64),
        actions: Vec<Action>,
        now: i64,
        flush: bool,
    ) -> Result<Changed, EngineError> {
        let mut done = Done::default();
        let mut carried = self
            .carry_out(name, schedule, &mut state, actions, now, &mut done)
            .await;
        if carried.is_ok() {
            let last = schedule.tick(&mut state, now);
            // Only the final tick says when to wake: it sees the whole state.
            done.wake = None;
            carried = self
                .carry_out(name, schedule, &mut state, last, now, &mut done)
                .await;
        }
        if carried.is_ok() && self.fail_writes.load(Ordering::SeqCst) {
            carried = Err(EngineError::Storage(format!(
                "state write of schedule {name} refused (simulated failure)"
            )));
        }
        if let Err(e) = carried {
            // The replay of this change starts (finds) the same runs and watches them.
            self.forget(done.started);
            return Err(e);
        }
        let Done {
            history,
            alerts,
            started,
            wake,
        } = done;
        let queued = !alerts.is_empty();
        let write = OwnedWrite {
            name: name.to_string(),
            def: schedule.def().clone(),
            state,
            wake_at: wake,
            expected_revision: Some(revision),
            now_ms: now,
            history,
            alerts,
            flush,
            trim_to: ((revision + 1) % TRIM_EVERY == 0).then_some(HISTORY_CAP),
        };
        let written = match self.io.put(write).await {
            Ok((Ok(revision), write)) => Ok((revision, write)),
            Ok((Err(e), _)) | Err(e) => Err(e),
        };
        let (new_revision, write) = match written {
            Ok(w) => w,
            Err(e) => {
                self.forget(started);
                return Err(e);
            }
        };
        let mut ids = Vec::with_capacity(started.len());
        for (id, end) in started {
            self.watch(name, &id, end);
            ids.push(id);
        }
        if queued {
            self.alerts.poke();
        }
        let stored = StoredSchedule {
            name: write.name,
            def: write.def,
            state: write.state,
            wake_at: wake,
            revision: new_revision,
            created_ms,
            updated_ms: now,
        };
        Ok(Changed {
            stored,
            started: ids,
        })
    }

    /// Carries out a list of actions (and whatever their outcomes lead to).
    async fn carry_out(
        &self,
        name: &str,
        schedule: &Schedule,
        state: &mut ScheduleState,
        actions: Vec<Action>,
        now: i64,
        done: &mut Done,
    ) -> Result<(), EngineError> {
        let mut queue: std::collections::VecDeque<Action> = actions.into();
        while let Some(action) = queue.pop_front() {
            match action {
                Action::Start {
                    slot_ms,
                    fire_at_ms,
                    workflow_id,
                    kind,
                    shard_index,
                    request,
                    ..
                } => {
                    let req = *request;
                    let start = ChildStart {
                        workflow_id: workflow_id.clone(),
                        name: req.name,
                        version: req.version,
                        definition: None,
                        input: req.input,
                        correlation_id: req.correlation_id,
                        priority: req.priority.unwrap_or(0),
                        task_to_domain: req
                            .task_to_domain
                            .map(|m| m.into_iter().collect::<BTreeMap<_, _>>())
                            .unwrap_or_default(),
                        idempotency_key: req.idempotency_key,
                        idempotency_strategy: req.idempotency_strategy,
                        parent: None,
                    };
                    // Asked for before the start, so that a run ending at once is not
                    // missed (and need not be looked for in the store).
                    let end = self.waiters.wait(&workflow_id);
                    let started = self.start(start).await;
                    let end = match started {
                        Ok(true) => Some(end),
                        _ => {
                            drop(end);
                            self.waiters.prune(&workflow_id);
                            None
                        }
                    };
                    match started {
                        Ok(false) if kind == RunKind::Backfill => {
                            tracing::debug!(schedule = %name, workflow_id = %workflow_id,
                                slot_ms, "backfilled slot ran before");
                            queue.extend(schedule.run_found(state, &workflow_id, now));
                        }
                        Ok(_) => {
                            if kind == RunKind::Scheduled {
                                self.observe_fire_lag(fire_at_ms);
                            }
                            queue.extend(schedule.workflow_started(state, &workflow_id));
                            self.counters.started.fetch_add(1, Ordering::Relaxed);
                            counter!(telemetry::SCHEDULE_OUTCOMES,
                                "schedule" => name.to_string(), "outcome" => "STARTED")
                            .increment(1);
                            tracing::debug!(schedule = %name, workflow_id = %workflow_id,
                                slot_ms, "scheduled run started");
                            done.history.push(entry(
                                slot_ms,
                                now,
                                json!({"type": "STARTED", "workflowId": workflow_id,
                                       "kind": kind, "shardIndex": shard_index}),
                            ));
                            done.started.push((workflow_id, end));
                        }
                        Err(e) if passing(&e) => return Err(e),
                        Err(e) => {
                            let reason = e.to_string();
                            queue.extend(schedule.start_failed(state, &workflow_id, now, &reason));
                        }
                    }
                }
                Action::Cancel {
                    workflow_id,
                    reason,
                }
                | Action::Terminate {
                    workflow_id,
                    reason,
                } => {
                    let event = Event::Terminate {
                        reason: Some(reason),
                    };
                    match self.ingress.event(&workflow_id, event).await {
                        Ok(_) => {}
                        Err(e) if passing(&e) => return Err(e),
                        Err(e) => {
                            tracing::debug!(schedule = %name, workflow_id = %workflow_id,
                                error = %e, "run of a schedule not terminated");
                        }
                    }
                }
                Action::Record {
                    slot_ms: Some(slot),
                    outcome: Outcome::Missed,
                    ..
                } if self.adopt_found(schedule, state, slot, now, done).await? => {}
                Action::Record {
                    slot_ms,
                    outcome,
                    reason,
                } => {
                    let label = serde_json::to_value(outcome)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default();
                    counter!(telemetry::SCHEDULE_OUTCOMES,
                        "schedule" => name.to_string(), "outcome" => label)
                    .increment(1);
                    done.history.push(entry(
                        slot_ms.unwrap_or(now),
                        now,
                        json!({"type": "RECORD", "outcome": outcome, "reason": reason}),
                    ));
                }
                Action::Alert {
                    kind,
                    slot_ms,
                    message,
                } => {
                    tracing::warn!(schedule = %name, kind = ?kind, "{message}");
                    let label = serde_json::to_value(kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default();
                    counter!(telemetry::SCHEDULE_ALERTS,
                        "schedule" => name.to_string(), "kind" => label)
                    .increment(1);
                    let def = schedule.def();
                    let hook = def.alert_webhook.as_ref().filter(|h| h.wants(kind));
                    done.history.push(entry(
                        slot_ms.unwrap_or(now),
                        now,
                        json!({"type": "ALERT", "kind": kind, "message": message,
                               "webhook": hook.is_some()}),
                    ));
                    if let Some(hook) = hook {
                        done.alerts.push(ScheduleAlert {
                            schedule: name.to_string(),
                            url: hook.url.trim().to_string(),
                            headers: hook.headers.clone(),
                            body: json!({
                                "schedule": name,
                                "kind": kind,
                                "message": message,
                                "slotTime": slot_ms,
                                "raisedTime": now,
                                "workflowName": def.start_workflow_request.name,
                            }),
                            attempts: 0,
                        });
                    }
                }
                Action::WakeAt(at) => done.wake = Some(at),
            }
        }
        Ok(())
    }

    /// Runs passes until stopped. Started after recovery, so that the runs it watches and
    /// the starts it makes meet adopted executions.
    pub(crate) async fn run(self: Arc<Self>) {
        *self.running.lock() = true;
        if self.stopped.load(Ordering::SeqCst) {
            self.exit();
            return;
        }
        if let Err(e) = self.watch_open_runs().await {
            tracing::error!(error = %e, "cannot read the open runs of schedules");
        }
        tokio::spawn(self.alerts.clone().run());
        tracing::info!("scheduler running");
        while !self.stopped.load(Ordering::SeqCst) {
            // Armed before the clock is read, so that a jump in between is not lost.
            let jump = JumpWatch::arm(self.clock.as_ref());
            let wait = self.pass().await;
            self.counters.passes.fetch_add(1, Ordering::Relaxed);
            if self.stopped.load(Ordering::SeqCst) {
                break;
            }
            let Some(wait) = wait else { continue };
            jump.wait(wait, &self.poke).await;
        }
        tracing::info!("scheduler stopped");
        self.exit();
    }

    fn exit(&self) {
        *self.running.lock() = false;
        self.exited.notify_all();
    }

    /// One pass: run endings, then due schedules. Answers how long to wait before the next
    /// (None: go on at once).
    async fn pass(self: &Arc<Self>) -> Option<Duration> {
        let mut failed = false;
        if let Err(e) = self.sweep().await {
            tracing::error!(error = %e, "cannot look for the watched runs of schedules");
        }
        let ended = std::mem::take(&mut *self.ended.lock());
        let mut by_schedule: BTreeMap<String, Vec<Ended>> = BTreeMap::new();
        for e in ended {
            by_schedule.entry(e.schedule.clone()).or_default().push(e);
        }
        // Run endings first, so that a slot due in this pass sees the runs that ended
        // before it; many schedules at once.
        let endings = self
            .bounded(by_schedule, |me, (name, runs)| async move {
                let again = runs.clone();
                let result = me
                    .change_with(
                        &name,
                        move |s, st, now| {
                            let mut out = Vec::new();
                            for r in &runs {
                                let success = r.status.is_some_and(WorkflowStatus::is_successful);
                                out.extend(s.workflow_ended(st, &r.workflow_id, success, now));
                            }
                            out
                        },
                        false,
                    )
                    .await;
                (name, again, result)
            })
            .await;
        for outcome in endings {
            let Some((name, again, result)) = outcome else {
                failed = true;
                continue;
            };
            match result {
                Ok(_) => {
                    self.counters
                        .ended
                        .fetch_add(again.len() as u64, Ordering::Relaxed);
                    for r in &again {
                        tracing::debug!(schedule = %name, workflow_id = %r.workflow_id,
                            status = status_name(r.status), "run of a schedule ended");
                    }
                }
                Err(EngineError::NotFound(_)) => {}
                Err(e) => {
                    failed = true;
                    self.counters.failures.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(schedule = %name, error = %e,
                        "cannot record the end of runs; trying again");
                    self.ended.lock().extend(again);
                }
            }
        }
        let now = self.clock.now_ms();
        let store = self.store.clone();
        let due = match blocking(move || store.schedules_due(now, PAGE)).await {
            Ok(d) => d,
            Err(e) => {
                self.counters.failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, "cannot read the schedule wake index");
                return Some(RETRY_AFTER);
            }
        };
        let full = due.len() >= PAGE;
        let ticks = self
            .bounded(due, |me, (_, name)| async move {
                let result = me
                    .change_with(&name, |s, st, now| s.tick(st, now), false)
                    .await;
                (name, result)
            })
            .await;
        for outcome in ticks {
            match outcome {
                None => failed = true,
                Some((_, Ok(_) | Err(EngineError::NotFound(_)))) => {}
                Some((name, Err(e))) => {
                    failed = true;
                    self.counters.failures.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(schedule = %name, error = %e,
                        "schedule not advanced; trying again");
                }
            }
        }
        if self.stopped.load(Ordering::SeqCst) {
            return None;
        }
        if failed {
            return Some(RETRY_AFTER);
        }
        if full || !self.ended.lock().is_empty() {
            return None;
        }
        let store = self.store.clone();
        match blocking(move || store.next_schedule_wake()).await {
            Ok(None) => Some(MAX_WAIT),
            Ok(Some(at)) => {
                let ms = at.saturating_sub(self.clock.now_ms());
                if ms <= 0 {
                    None
                } else {
                    Some(Duration::from_millis(ms as u64).min(MAX_WAIT))
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot read the schedule wake index");
                Some(RETRY_AFTER)
            }
        }
    }

    /// Runs `work` on each item as its own task, at most [`PARALLEL`] at once, and answers
    /// what each came to (None for one that panicked). Once the scheduler is stopping no
    /// more are begun: schedules not ticked stay due in the wake index, and the ends of
    /// runs not recorded are found again when the next start watches the open runs.
    async fn bounded<I, W, Fut, R>(self: &Arc<Self>, items: I, work: W) -> Vec<Option<R>>
    where
        I: IntoIterator,
        W: Fn(Arc<Self>, I::Item) -> Fut,
        Fut: std::future::Future<Output = R> + Send + 'static,
        R: Send + 'static,
    {
        let mut set = tokio::task::JoinSet::new();
        let mut out = Vec::new();
        for item in items {
            if self.stopped.load(Ordering::SeqCst) {
                break;
            }
            if set.len() >= PARALLEL
                && let Some(r) = set.join_next().await
            {
                out.push(joined(r));
            }
            set.spawn(work(self.clone(), item));
        }
        while let Some(r) = set.join_next().await {
            out.push(joined(r));
        }
        out
    }

    /// Every [`SWEEP_EVERY_MS`] of clock time, looks for each watched run in the store: a
    /// run removed while open never reports an end, so one that is gone is reported ended
    /// (as a failure) here.
    async fn sweep(&self) -> Result<(), EngineError> {
        let now = self.clock.now_ms();
        let last = self.last_sweep.load(Ordering::SeqCst);
        if last != i64::MIN && now.saturating_sub(last) < SWEEP_EVERY_MS {
            return Ok(());
        }
        self.last_sweep.store(now, Ordering::SeqCst);
        let watched: Vec<(String, String)> = self
            .watched
            .lock()
            .iter()
            .map(|(id, s)| (id.clone(), s.clone()))
            .collect();
        if watched.is_empty() {
            return Ok(());
        }
        let store = self.store.clone();
        let gone = blocking(move || {
            let mut gone = Vec::new();
            for (id, schedule) in watched {
                if store.load_workflow(&id)?.is_none() {
                    gone.push((id, schedule));
                }
            }
            Ok(gone)
        })
        .await?;
        for (id, schedule) in gone {
            if self.watched.lock().remove(&id).is_some() {
                tracing::info!(schedule = %schedule, workflow_id = %id,
                    "run of a schedule removed while open");
                self.ended.lock().push(Ended {
                    schedule,
                    workflow_id: id,
                    status: None,
                });
            }
        }
        Ok(())
    }

    /// Watches the open runs of every stored schedule.
    async fn watch_open_runs(self: &Arc<Self>) -> Result<(), EngineError> {
        let mut after: Option<String> = None;
        loop {
            let (store, a) = (self.store.clone(), after.clone());
            let page = blocking(move || store.list_schedules(a.as_deref(), LIST_PAGE)).await?;
            let last = page.last().map(|s| s.name.clone());
            for s in &page {
                for id in s.state.running.keys() {
                    self.watch(&s.name, id, None);
                }
            }
            if page.len() < LIST_PAGE {
                return Ok(());
            }
            after = last;
        }
    }

    /// A slot the machine calls missed may have been started before a crash that lost the
    /// state write (the replay came too late for the slot to run on time). When its runs
    /// exist they are adopted as the slot's scheduled runs: open, watched and counted as
    /// fired rather than missed. True when something was found.
    async fn adopt_found(
        &self,
        schedule: &Schedule,
        state: &mut ScheduleState,
        slot_ms: i64,
        now: i64,
        done: &mut Done,
    ) -> Result<bool, EngineError> {
        let def = schedule.def();
        let ids: Vec<(u32, String)> = match def.shard_total {
            Some(total) => (0..total.clamp(1, MAX_SHARDS))
                .map(|i| (i, workflow_id(&def.name, slot_ms, Some(i), false)))
                .collect(),
            None => vec![(0, workflow_id(&def.name, slot_ms, None, false))],
        };
        if ids.iter().any(|(_, id)| state.running.contains_key(id)) {
            return Ok(false);
        }
        let store = self.store.clone();
        let found = blocking(move || {
            let mut found = Vec::new();
            for (shard, id) in ids {
                if store.load_workflow(&id)?.is_some() {
                    found.push((shard, id));
                }
            }
            Ok(found)
        })
        .await?;
        if found.is_empty() {
            return Ok(false);
        }
        state.counters.missed = state.counters.missed.saturating_sub(1);
        state.counters.fired += 1;
        state.runs_started += 1;
        state.last_fired_ms = Some(state.last_fired_ms.map_or(slot_ms, |l| l.max(slot_ms)));
        for (shard, id) in found {
            tracing::info!(schedule = %def.name, workflow_id = %id, slot_ms,
                "run of a late slot found started; adopted");
            state.running.insert(
                id.clone(),
                OpenRun {
                    slot_ms,
                    kind: RunKind::Scheduled,
                    confirmed: true,
                    cancelling: false,
                },
            );
            done.history.push(entry(
                slot_ms,
                now,
                json!({"type": "STARTED", "workflowId": id, "kind": RunKind::Scheduled,
                       "shardIndex": shard, "found": true}),
            ));
            done.started.push((id, None));
        }
        Ok(true)
    }

    /// Records how late a scheduled slot's run started: the clock now minus the slot plus
    /// its jitter (0 when early, as a clock moved back may make it).
    fn observe_fire_lag(&self, fire_at_ms: i64) {
        let lag_ms = self.clock.now_ms().saturating_sub(fire_at_ms).max(0);
        histogram!(telemetry::SCHEDULE_FIRE_LAG).record(lag_ms as f64 / 1000.0);
    }

    /// Starts a run under its fixed id: true when it started now, false when a run was
    /// found under that id.
    async fn start(&self, start: ChildStart) -> Result<bool, EngineError> {
        let id = start.workflow_id.clone();
        match self.ingress.start_requested(start).await {
            Ok(_) => Ok(true),
            Err(EngineError::AlreadyExists(m)) => {
                // Taken by this very run, or refused for an idempotency key in use?
                let store = self.store.clone();
                let found = blocking(move || store.load_workflow(&id)).await?;
                if found.is_some() {
                    Ok(false)
                } else {
                    Err(EngineError::AlreadyExists(m))
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Drops the waits for the ends of runs that will not be watched from them (the
    /// change that started them failed, and its replay finds and watches them; or they
    /// are watched already).
    fn forget(
        &self,
        started: Vec<(
            String,
            Option<tokio::sync::oneshot::Receiver<WorkflowStatus>>,
        )>,
    ) {
        for (id, end) in started {
            if end.is_some() {
                drop(end);
                self.waiters.prune(&id);
            }
        }
    }

    /// Watches a run of a schedule until it ends, then queues its end for the task.
    /// `end` is a wait asked for before the run was started (so that it cannot have ended
    /// unseen); without one the run is first looked for in the store, as it may have
    /// ended already.
    fn watch(
        self: &Arc<Self>,
        schedule: &str,
        workflow_id: &str,
        end: Option<tokio::sync::oneshot::Receiver<WorkflowStatus>>,
    ) {
        {
            let mut w = self.watched.lock();
            if w.contains_key(workflow_id) {
                drop(w);
                self.forget(vec![(workflow_id.to_string(), end)]);
                return;
            }
            w.insert(workflow_id.to_string(), schedule.to_string());
        }
        let (id, schedule) = (workflow_id.to_string(), schedule.to_string());
        // Only a weak handle: a watch must not keep the store open after shutdown.
        let me = Arc::downgrade(self);
        let fresh = end.is_some();
        let rx = match end {
            Some(rx) => rx,
            None => self.waiters.wait(workflow_id),
        };
        tokio::spawn(async move {
            let now = if fresh {
                Ok(None)
            } else {
                let Some(store) = me.upgrade().map(|m| m.store.clone()) else {
                    return;
                };
                let i = id.clone();
                blocking(move || Ok(Some(store.load_workflow(&i)?.map(|w| w.status)))).await
            };
            let status = match now {
                Ok(Some(None)) => None,
                Ok(Some(Some(st))) if st.is_terminal() => Some(st),
                Ok(_) | Err(_) => match rx.await {
                    Ok(st) => Some(st),
                    // The runtime stopped.
                    Err(_) => return,
                },
            };
            if let Some(me) = me.upgrade() {
                me.waiters.prune(&id);
                if me.watched.lock().remove(&id).is_none() {
                    // The sweep reported it already.
                    return;
                }
                me.ended.lock().push(Ended {
                    schedule,
                    workflow_id: id,
                    status,
                });
                me.poke();
            }
        });
    }
}

/// A schedule's lock, held; see [`Scheduler::hold`].
struct Held<'a> {
    locks: &'a Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    name: String,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        // Under the table's lock nobody can take a new handle to this lock, so a count of
        // one (the table's own) means nobody holds or waits for it.
        let mut locks = self.locks.lock();
        drop(self.guard.take());
        if locks
            .get(&self.name)
            .is_some_and(|l| Arc::strong_count(l) == 1)
        {
            locks.remove(&self.name);
        }
    }
}

impl Scheduler {
    /// The number of schedule locks in the table (for tests: it empties when nothing
    /// changes schedules).
    #[doc(hidden)]
    pub fn locks_held(&self) -> usize {
        self.locks.lock().len()
    }
}

/// What a task of [`Scheduler::bounded`] came to; None (logged) when it panicked.
fn joined<R>(r: Result<R, tokio::task::JoinError>) -> Option<R> {
    r.map_err(|e| tracing::error!(error = %e, "a schedule change panicked"))
        .ok()
}

fn entry(slot_ms: i64, now: i64, event: serde_json::Value) -> ScheduleHistoryEntry {
    ScheduleHistoryEntry {
        slot_ms,
        seq: 0,
        recorded_ms: now,
        event,
    }
}
