//! Schedules: saved, read, listed, deleted, paused and resumed, triggered, backfilled,
//! previewed, and their history read. Changes go through the runtime's scheduler, which
//! carries out what the schedule's state machine asks for and stores the new state.

use baton_core::Object;
use baton_core::schedule::{
    Counters, MAX_PREVIEW, OverlapPolicy, Preview, Schedule, ScheduleDef, Slot,
    StartWorkflowRequest,
};
use baton_core::validate::Problem;
use baton_store::StoredSchedule;

use super::{MAX_BULK, Service};
use crate::error::EngineError;

/// Most schedules one listing returns.
pub const MAX_LIST: usize = 10_000;

/// Most history entries one read returns.
pub const MAX_HISTORY: usize = 1_000;

/// Schedules read per page of the store while listing.
const LIST_PAGE: usize = 500;

/// A schedule as an operator sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleView {
    /// The definition, with `paused`, `pausedReason`, `createTime` and `updatedTime` as
    /// they stand.
    pub def: ScheduleDef,
    /// Whether the schedule is paused.
    pub paused: bool,
    /// The note of the last pause or resume.
    pub note: Option<String>,
    /// When the next slot fires (epoch ms, jitter included); None while paused, once
    /// `maxRuns` is reached or when no slot is left.
    pub next_run_ms: Option<i64>,
    /// The latest scheduled slot started.
    pub last_fired_ms: Option<i64>,
    /// When the scheduler next looks at the schedule.
    pub wake_at_ms: Option<i64>,
    /// Counts of what became of its slots and runs.
    pub counters: Counters,
    /// Ids of its runs still open.
    pub open_runs: Vec<String>,
    /// Runs waiting for the open ones to end.
    pub buffered: usize,
    /// Failed runs (and starts) since the last success.
    pub consecutive_failures: u32,
    /// Whether `maxRuns` was reached.
    pub exhausted: bool,
    /// Revision of the stored record.
    pub revision: u64,
    /// When it was created (epoch ms).
    pub created_ms: i64,
    /// When it was last changed (epoch ms).
    pub updated_ms: i64,
}

impl ScheduleView {
    fn of(s: StoredSchedule) -> Result<Self, EngineError> {
        let schedule = Schedule::new(s.def.clone()).map_err(|p| {
            EngineError::Storage(format!(
                "stored schedule {} is no longer valid: {}",
                s.name,
                listed(&p)
            ))
        })?;
        let next_run_ms = schedule.upcoming(&s.state, 1).first().map(|(_, at)| *at);
        let st = s.state;
        let mut def = s.def;
        def.paused = st.paused;
        def.paused_reason = if st.paused { st.note.clone() } else { None };
        def.create_time = Some(s.created_ms);
        def.updated_time = Some(s.updated_ms);
        Ok(Self {
            def,
            paused: st.paused,
            note: st.note,
            next_run_ms,
            last_fired_ms: st.last_fired_ms,
            wake_at_ms: s.wake_at,
            counters: st.counters,
            open_runs: st.running.into_keys().collect(),
            buffered: st.buffered.len(),
            consecutive_failures: st.consecutive_failures,
            exhausted: st.exhausted,
            revision: s.revision,
            created_ms: s.created_ms,
            updated_ms: s.updated_ms,
        })
    }
}

/// One entry of a schedule's history.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleEvent {
    /// The slot it is about (epoch ms); the time of the change for entries about the
    /// schedule as a whole.
    pub slot_ms: i64,
    /// When it was recorded (epoch ms).
    pub recorded_ms: i64,
    /// What happened: `{"type": "STARTED", "workflowId", "kind", "shardIndex",
    /// "workflowStatus"}`, `{"type": "RECORD", "outcome", "reason"}`, `{"type": "ALERT",
    /// "kind", "message", "webhook"}`, or an alert's delivery (`ALERT_DELIVERED`,
    /// `ALERT_ATTEMPT_FAILED`, `ALERT_UNDELIVERED`).
    pub event: serde_json::Value,
}

/// What a preview is of.
#[derive(Debug, Clone)]
pub enum PreviewOf {
    /// A whole schedule definition (it need not be saved).
    Def(Box<ScheduleDef>),
    /// One cron expression, read in a zone (UTC when None).
    Cron {
        /// The expression.
        expression: String,
        /// IANA zone.
        zone: Option<String>,
    },
}

fn listed(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

fn invalid(problems: &[Problem]) -> EngineError {
    EngineError::InvalidArgument(format!("invalid schedule: {}", listed(problems)))
}

fn check_name(name: &str) -> Result<(), EngineError> {
    if name.trim().is_empty() {
        return Err(EngineError::InvalidArgument(
            "name: a schedule name is required".into(),
        ));
    }
    Ok(())
}

fn check_range(from_ms: i64, until_ms: i64) -> Result<(), EngineError> {
    if until_ms < from_ms {
        return Err(EngineError::InvalidArgument(format!(
            "range: the end ({until_ms}) is before the start ({from_ms})"
        )));
    }
    Ok(())
}

impl Service {
    /// Creates a schedule, or replaces the definition of one keeping its state (slots not
    /// yet handled follow the new definition; a `paused` flag that differs pauses or
    /// resumes it). Refused when invalid or when the workflow it starts is not defined.
    pub async fn save_schedule(&self, def: ScheduleDef) -> Result<ScheduleView, EngineError> {
        Schedule::new(def.clone()).map_err(|p| invalid(&p))?;
        let req = &def.start_workflow_request;
        let version = req.version.filter(|v| *v > 0);
        if self.rt.registry.workflow_def(&req.name, version).is_none() {
            return Err(EngineError::InvalidArgument(match version {
                Some(v) => format!(
                    "startWorkflowRequest: workflow {} version {v} is not defined",
                    req.name
                ),
                None => format!("startWorkflowRequest: workflow {} is not defined", req.name),
            }));
        }
        self.rt.ingress.check_size("input", &req.input)?;
        let changed = self.rt.scheduler.save(def).await?;
        ScheduleView::of(changed.stored)
    }

    /// One schedule.
    pub async fn get_schedule(&self, name: &str) -> Result<ScheduleView, EngineError> {
        let n = name.to_string();
        match self.read(move |s| s.load_schedule(&n)).await? {
            Some(s) => ScheduleView::of(s),
            None => Err(not_found(name)),
        }
    }

    /// Every schedule (up to [`MAX_LIST`]) in name order, only those starting
    /// `workflow_name` when given.
    pub async fn list_schedules(
        &self,
        workflow_name: Option<&str>,
    ) -> Result<Vec<ScheduleView>, EngineError> {
        let filter = workflow_name.filter(|w| !w.is_empty()).map(str::to_string);
        let found = self
            .read(move |s| {
                let mut out = Vec::new();
                let mut after: Option<String> = None;
                loop {
                    let page = s.list_schedules(after.as_deref(), LIST_PAGE)?;
                    let full = page.len() == LIST_PAGE;
                    after = page.last().map(|p| p.name.clone());
                    out.extend(page.into_iter().filter(|p| {
                        filter
                            .as_deref()
                            .is_none_or(|w| p.def.start_workflow_request.name == w)
                    }));
                    if !full || out.len() >= MAX_LIST {
                        out.truncate(MAX_LIST);
                        return Ok(out);
                    }
                }
            })
            .await?;
        found.into_iter().map(ScheduleView::of).collect()
    }

    /// Deletes a schedule and its history; its open runs go on.
    pub async fn delete_schedule(&self, name: &str) -> Result<(), EngineError> {
        if self.rt.scheduler.delete(name).await? {
            Ok(())
        } else {
            Err(not_found(name))
        }
    }

    /// Pauses a schedule with a note saying why; slots already due are handled first.
    pub async fn pause_schedule(
        &self,
        name: &str,
        note: Option<String>,
    ) -> Result<ScheduleView, EngineError> {
        check_name(name)?;
        let note = note.filter(|n| !n.is_empty());
        let changed = self
            .rt
            .scheduler
            .change(name, move |s, st, now| s.pause(st, now, note))
            .await?;
        ScheduleView::of(changed.stored)
    }

    /// Resumes a paused schedule; slots that came during the pause follow its misfire
    /// policy.
    pub async fn resume_schedule(
        &self,
        name: &str,
        note: Option<String>,
    ) -> Result<ScheduleView, EngineError> {
        check_name(name)?;
        let note = note.filter(|n| !n.is_empty());
        let changed = self
            .rt
            .scheduler
            .change(name, move |s, st, now| s.resume(st, now, note))
            .await?;
        self.rt.scheduler.poke();
        ScheduleView::of(changed.stored)
    }

    /// Pauses (or, with `pause` false, resumes) many schedules; the outcome of each, in
    /// the order given.
    pub async fn bulk_pause_schedules(
        &self,
        names: Vec<String>,
        pause: bool,
        note: Option<String>,
    ) -> Result<Vec<(String, Result<(), EngineError>)>, EngineError> {
        if names.is_empty() {
            return Err(EngineError::InvalidArgument(
                "names: at least one schedule name is required".into(),
            ));
        }
        if names.len() > MAX_BULK {
            return Err(EngineError::InvalidArgument(format!(
                "names: {} schedules given; at most {MAX_BULK} per call",
                names.len()
            )));
        }
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let outcome = if pause {
                self.pause_schedule(&name, note.clone()).await
            } else {
                self.resume_schedule(&name, note.clone()).await
            };
            out.push((name, outcome.map(drop)));
        }
        Ok(out)
    }

    /// Runs a schedule's workflow now (paused or not), with `input` merged into its input,
    /// under `overlap` or the schedule's overlap policy. The workflows started: none when
    /// the policy skipped or buffered the run.
    pub async fn trigger_schedule(
        &self,
        name: &str,
        input: Option<Object>,
        overlap: Option<OverlapPolicy>,
    ) -> Result<Vec<String>, EngineError> {
        check_name(name)?;
        if let Some(i) = &input {
            self.rt.ingress.check_size("input", i)?;
        }
        let changed = self
            .rt
            .scheduler
            .change(name, move |s, st, now| s.trigger(st, now, input, overlap))
            .await?;
        Ok(changed.started)
    }

    /// Runs every slot of `[from_ms, until_ms]` (up to now) whatever the misfire policy
    /// says, under `overlap` or the schedule's overlap policy; slots that ran already are
    /// found, not run again. Large ranges go on in the background.
    pub async fn backfill_schedule(
        &self,
        name: &str,
        from_ms: i64,
        until_ms: i64,
        overlap: Option<OverlapPolicy>,
    ) -> Result<ScheduleView, EngineError> {
        check_name(name)?;
        check_range(from_ms, until_ms)?;
        let changed = self
            .rt
            .scheduler
            .change(name, move |s, st, now| {
                s.backfill(st, from_ms, until_ms, overlap, now)
            })
            .await?;
        self.rt.scheduler.poke();
        ScheduleView::of(changed.stored)
    }

    /// The slots of a schedule (or of a cron expression) after `from_ms` up to
    /// `until_ms`, at most `limit` (and [`MAX_PREVIEW`]); `truncated` says more were left.
    pub fn preview_schedule(
        &self,
        of: PreviewOf,
        from_ms: i64,
        until_ms: i64,
        limit: usize,
    ) -> Result<Preview, EngineError> {
        check_range(from_ms, until_ms)?;
        let def = match of {
            PreviewOf::Def(d) => *d,
            PreviewOf::Cron { expression, zone } => ScheduleDef {
                name: "preview".into(),
                cron_expression: Some(expression),
                zone_id: zone,
                start_workflow_request: StartWorkflowRequest {
                    name: "preview".into(),
                    ..Default::default()
                },
                ..Default::default()
            },
        };
        let schedule = Schedule::new(def).map_err(|p| invalid(&p))?;
        Ok(schedule.preview(from_ms, until_ms, limit.clamp(1, MAX_PREVIEW)))
    }

    /// The next `limit` slots a saved schedule will fire, with their fire times.
    pub async fn upcoming_slots(
        &self,
        name: &str,
        limit: usize,
    ) -> Result<Vec<(Slot, i64)>, EngineError> {
        let n = name.to_string();
        let Some(s) = self.read(move |st| st.load_schedule(&n)).await? else {
            return Err(not_found(name));
        };
        let schedule = Schedule::new(s.def).map_err(|p| invalid(&p))?;
        Ok(schedule.upcoming(&s.state, limit.clamp(1, MAX_PREVIEW)))
    }

    /// A schedule's history with slots in `[from_ms, until_ms]`, newest first, at most
    /// `limit` (and [`MAX_HISTORY`]) entries. Each `STARTED` entry whose workflow is still
    /// stored carries its status as it is now (`workflowStatus`), so the history lists the
    /// recent runs with how they went.
    pub async fn schedule_history(
        &self,
        name: &str,
        from_ms: i64,
        until_ms: i64,
        limit: usize,
    ) -> Result<Vec<ScheduleEvent>, EngineError> {
        check_range(from_ms, until_ms)?;
        let n = name.to_string();
        let limit = limit.clamp(1, MAX_HISTORY);
        let found = self
            .read(move |s| {
                if s.load_schedule(&n)?.is_none() {
                    return Ok(None);
                }
                let mut entries = s.schedule_history(&n, from_ms, until_ms, limit, true)?;
                for e in &mut entries {
                    if e.event["type"] != "STARTED" {
                        continue;
                    }
                    let Some(id) = e.event["workflowId"].as_str() else {
                        continue;
                    };
                    if let Some(wf) = s.load_workflow(id)?
                        && let Some(o) = e.event.as_object_mut()
                    {
                        o.insert("workflowStatus".into(), wf.status.as_str().into());
                    }
                }
                Ok(Some(entries))
            })
            .await?;
        let Some(entries) = found else {
            return Err(not_found(name));
        };
        Ok(entries
            .into_iter()
            .map(|e| ScheduleEvent {
                slot_ms: e.slot_ms,
                recorded_ms: e.recorded_ms,
                event: e.event,
            })
            .collect())
    }
}

fn not_found(name: &str) -> EngineError {
    EngineError::NotFound(format!("schedule {name} does not exist"))
}
