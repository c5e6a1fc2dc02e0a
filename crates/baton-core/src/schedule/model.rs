//! The schedule as written in JSON, and its validation.

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer, Serialize};

use super::calendar;
use super::{MAX_CATCHUP_WINDOW_SECONDS, MAX_INTERVAL_SECONDS, MAX_JITTER_MS, MAX_SHARDS};
use crate::model::Object;
use crate::validate::Problem;

/// Reads `null` as the type's default (Conductor writes `null` for empty lists and flags).
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A schedule: Conductor's fields and Baton's extensions.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleDef {
    /// Unique name of the schedule.
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Conductor's single cron expression (read in `zoneId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron_expression: Option<String>,
    /// Zone of `cronExpression`; UTC when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_id: Option<String>,
    /// Daylight-saving policy of `cronExpression`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dst_policy: Option<DstPolicy>,
    /// More cron specs, each with its own zone.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub cron_schedules: Vec<CronSpec>,
    /// Fixed intervals (Baton).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub intervals: Vec<IntervalSpec>,
    /// Times removed from the specs (Baton).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub exclusions: Vec<Exclusion>,
    /// The workflow each slot starts.
    #[serde(default, deserialize_with = "nullable")]
    pub start_workflow_request: StartWorkflowRequest,
    /// Conductor's catch-up flag: replay missed slots (read as `misfirePolicy` RUN_ALL when
    /// that is not set).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub run_catchup_schedule_instances: bool,
    /// Whether the schedule is paused.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_false"
    )]
    pub paused: bool,
    /// Why it is paused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_reason: Option<String>,
    /// No slot before this time (epoch ms); 0 means no bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_start_time: Option<i64>,
    /// No slot after this time (epoch ms); 0 means no bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_end_time: Option<i64>,
    /// When the schedule was created (epoch ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<i64>,
    /// When it was last updated (epoch ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_time: Option<i64>,
    /// Who created it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Who updated it last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
    /// How late a slot may still start, in seconds (default one day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catchup_window_seconds: Option<u64>,
    /// What happens to slots that were due while the scheduler was down or paused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub misfire_policy: Option<MisfirePolicy>,
    /// What happens when a slot comes while the schedule's own runs are still open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlap_policy: Option<OverlapPolicy>,
    /// Each slot fires up to this many milliseconds late, the same delay on every replay.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_zero"
    )]
    pub jitter_ms: u64,
    /// The schedule stops after starting this many scheduled slots (a start that fails
    /// counts; manual and backfilled runs do not). It stops as soon as the last one has
    /// started or is waiting in the buffer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_runs: Option<u64>,
    /// Pause after this many failed runs in a row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause_after_failures: Option<u32>,
    /// Start this many runs per slot, each with `shardIndex` and `shardTotal` inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard_total: Option<u32>,
    /// Where alerts of this schedule are posted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_webhook: Option<AlertWebhook>,
}

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlertKind {
    /// Slots were missed.
    Missed,
    /// A start failed.
    StartFailed,
    /// A run ended in failure.
    RunFailed,
    /// The schedule paused itself.
    Paused,
}

/// A webhook that receives a schedule's alerts: each alert is one HTTP POST of a JSON
/// body, retried until it is answered with a 2xx status or the attempts run out.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertWebhook {
    /// An `http://` or `https://` URL.
    #[serde(default, deserialize_with = "nullable")]
    pub url: String,
    /// Headers sent with each POST (an `Authorization` header, say).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "std::collections::BTreeMap::is_empty"
    )]
    pub headers: std::collections::BTreeMap<String, String>,
    /// The kinds of alert posted; all of them when empty.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub on: Vec<AlertKind>,
}

impl AlertWebhook {
    /// Whether alerts of `kind` are posted.
    pub fn wants(&self, kind: AlertKind) -> bool {
        self.on.is_empty() || self.on.contains(&kind)
    }

    fn problems(&self, p: &mut Vec<Problem>) {
        let url = self.url.trim();
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        match rest {
            None => p.push(Problem::new(
                "$.alertWebhook.url",
                format!("'{}' is not an http:// or https:// URL", self.url),
            )),
            Some(r) if r.is_empty() || r.starts_with('/') => p.push(Problem::new(
                "$.alertWebhook.url",
                format!("'{}' names no host", self.url),
            )),
            Some(_) if url.chars().any(|c| c.is_whitespace() || c.is_control()) => {
                p.push(Problem::new(
                    "$.alertWebhook.url",
                    format!("'{}' holds spaces or control characters", self.url),
                ))
            }
            Some(_) => {}
        }
        for (name, value) in &self.headers {
            let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
            if name.is_empty() || !name.chars().all(token) {
                p.push(Problem::new(
                    format!("$.alertWebhook.headers['{name}']"),
                    "is not a valid header name",
                ));
            }
            if value.chars().any(|c| c.is_control() && c != '\t') {
                p.push(Problem::new(
                    format!("$.alertWebhook.headers['{name}']"),
                    "the value holds control characters",
                ));
            }
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One cron spec of `cronSchedules`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CronSpec {
    /// 5 fields (minute first), 6 (second first) or 7 (second first, year last), or a
    /// macro such as `@daily`.
    #[serde(default, deserialize_with = "nullable")]
    pub cron_expression: String,
    /// IANA zone the expression is read in; UTC when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_id: Option<String>,
    /// Daylight-saving policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dst_policy: Option<DstPolicy>,
}

/// What a cron spec does with wall times that daylight saving skips or repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DstPolicy {
    /// Wall times in the spring gap.
    #[serde(default)]
    pub gap: GapPolicy,
    /// Wall times in the autumn overlap.
    #[serde(default)]
    pub overlap: RepeatPolicy,
}

/// What happens to a wall time that does not exist (the clocks jump over it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GapPolicy {
    /// Run at the end of the gap, the first instant that exists (several wall times in
    /// the gap make one run). The default.
    #[default]
    RunAtGapEnd,
    /// Run as many minutes after the gap's start as the wall time says, read with the
    /// offset before the jump (02:30 becomes 03:30 when 02:00 jumps to 03:00).
    ShiftForward,
    /// Do not run.
    Skip,
}

/// What happens to a wall time that happens twice (the clocks go back over it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RepeatPolicy {
    /// Run at the first occurrence only. The default.
    #[default]
    First,
    /// Run at the second occurrence only.
    Second,
    /// Run at both.
    Both,
}

/// A fixed interval: every `everySeconds` since the epoch, shifted by `phaseSeconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntervalSpec {
    /// The period, at least 1.
    #[serde(default)]
    pub every_seconds: u64,
    /// The offset of each slot from a multiple of the period, below the period.
    #[serde(default)]
    pub phase_seconds: u64,
}

/// Times no slot may take. A slot is excluded when it is inside `[start, end)` (each bound
/// optional) and, if a daily window is given, its wall time in `zoneId` (UTC by default)
/// falls on one of `daysOfWeek` (all when empty) between `fromTime` (inclusive, default
/// 00:00) and `toTime` (exclusive, default end of day). A window whose `fromTime` is after
/// its `toTime` runs over midnight, and belongs to the day it starts on.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Exclusion {
    /// Start of the excluded range (epoch ms, inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<i64>,
    /// End of the excluded range (epoch ms, exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<i64>,
    /// Zone of the daily window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_id: Option<String>,
    /// Days of the window: `MON` .. `SUN` (or `MONDAY` .. `SUNDAY`, any case).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub days_of_week: Vec<String>,
    /// Start of the daily window, `HH:MM` or `HH:MM:SS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_time: Option<String>,
    /// End of the daily window, `HH:MM` or `HH:MM:SS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_time: Option<String>,
}

impl Exclusion {
    /// Whether the exclusion has a daily window (and not only a range).
    pub fn has_window(&self) -> bool {
        self.zone_id.is_some()
            || !self.days_of_week.is_empty()
            || self.from_time.is_some()
            || self.to_time.is_some()
    }
}

/// What starts at each slot (Conductor's `startWorkflowRequest`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartWorkflowRequest {
    /// Workflow name.
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// Version; the latest when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    /// Input of every run (the scheduler adds its own `_`-prefixed keys).
    #[serde(default, deserialize_with = "nullable")]
    pub input: Object,
    /// Correlation id. Baton replaces `${scheduleName}`, `${scheduledTime}` and
    /// `${shardIndex}` in it; any other text is copied as is, as Conductor does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// Priority, 0 to 99.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// Task-to-domain mapping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_to_domain: Option<IndexMap<String, String>>,
    /// Idempotency key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// Idempotency strategy (`FAIL`, `RETURN_EXISTING`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_strategy: Option<String>,
}

/// What to do with slots that were due while nothing could fire them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MisfirePolicy {
    /// Record them as missed; only slots handled on time run.
    Skip,
    /// Run the latest of them once, record the others as missed.
    RunLatest,
    /// Run every one of them inside the catch-up window.
    RunAll,
}

/// What happens when a slot comes while the schedule's own runs are open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OverlapPolicy {
    /// Do not start it; record it as skipped.
    Skip,
    /// Start it when the open runs end; one waits at most, later ones are skipped.
    BufferOne,
    /// Start each, in order, when the previous ones end (at most [`super::MAX_BUFFER`]
    /// wait).
    BufferAll,
    /// Cancel the open runs and start it once they have ended.
    CancelOther,
    /// Terminate the open runs and start it at once.
    TerminateOther,
    /// Start it at once. The default.
    #[default]
    AllowAll,
}

impl std::str::FromStr for OverlapPolicy {
    type Err = String;

    /// Reads a policy by its name (`SKIP`, `BUFFER_ONE`, ...), in any case; the error
    /// names the text and the choices.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        serde_json::from_value(serde_json::Value::String(text.to_ascii_uppercase())).map_err(|_| {
            format!(
                "unknown overlap policy {text:?} (SKIP, BUFFER_ONE, BUFFER_ALL, \
                     CANCEL_OTHER, TERMINATE_OTHER or ALLOW_ALL)"
            )
        })
    }
}

impl ScheduleDef {
    /// The misfire policy in force: `misfirePolicy`, else Conductor's
    /// `runCatchupScheduleInstances` (true is RUN_ALL, false SKIP).
    pub fn misfire(&self) -> MisfirePolicy {
        self.misfire_policy
            .unwrap_or(if self.run_catchup_schedule_instances {
                MisfirePolicy::RunAll
            } else {
                MisfirePolicy::Skip
            })
    }

    /// The overlap policy in force.
    pub fn overlap(&self) -> OverlapPolicy {
        self.overlap_policy.unwrap_or_default()
    }

    /// The catch-up window in milliseconds.
    pub fn catchup_window_ms(&self) -> i64 {
        let s = self
            .catchup_window_seconds
            .unwrap_or(super::DEFAULT_CATCHUP_WINDOW_SECONDS)
            .min(MAX_CATCHUP_WINDOW_SECONDS);
        i64::try_from(s).unwrap_or(i64::MAX / 1000) * 1000
    }

    /// The start bound, if any (0 and negative values mean none).
    pub fn start_bound(&self) -> Option<i64> {
        self.schedule_start_time.filter(|t| *t > 0)
    }

    /// The end bound, if any (0 and negative values mean none).
    pub fn end_bound(&self) -> Option<i64> {
        self.schedule_end_time.filter(|t| *t > 0)
    }

    /// Every cron spec: `cronExpression` first (when set), then `cronSchedules`, each with
    /// its JSON path.
    pub fn cron_specs(&self) -> Vec<(String, CronSpec)> {
        let mut out = Vec::new();
        if let Some(c) = self
            .cron_expression
            .as_ref()
            .filter(|c| !c.trim().is_empty())
        {
            out.push((
                "$.cronExpression".to_string(),
                CronSpec {
                    cron_expression: c.clone(),
                    zone_id: self.zone_id.clone(),
                    dst_policy: self.dst_policy,
                },
            ));
        }
        for (i, s) in self.cron_schedules.iter().enumerate() {
            out.push((format!("$.cronSchedules[{i}]"), s.clone()));
        }
        out
    }

    /// Checks the schedule, naming every problem with its JSON path.
    pub fn validate(&self) -> Result<(), Vec<Problem>> {
        self.validate_with(&mut calendar::CronCache::default())
    }

    /// [`ScheduleDef::validate`], parsing cron expressions through `crons`.
    pub fn validate_with(&self, crons: &mut calendar::CronCache) -> Result<(), Vec<Problem>> {
        let mut p = Vec::new();
        if self.name.trim().is_empty() {
            p.push(Problem::new("$.name", "a schedule needs a name"));
        }
        if self.start_workflow_request.name.trim().is_empty() {
            p.push(Problem::new(
                "$.startWorkflowRequest.name",
                "the workflow to start needs a name",
            ));
        }
        if let Some(pr) = self.start_workflow_request.priority
            && !(0..=99).contains(&pr)
        {
            p.push(Problem::new(
                "$.startWorkflowRequest.priority",
                format!("{pr} is out of range: priority is 0 to 99"),
            ));
        }
        let specs = self.cron_specs();
        if specs.is_empty() && self.intervals.is_empty() {
            p.push(Problem::new(
                "$.cronExpression",
                "a schedule needs a cronExpression, cronSchedules or intervals",
            ));
        }
        for (path, spec) in &specs {
            let cron_path = if path == "$.cronExpression" {
                path.clone()
            } else {
                format!("{path}.cronExpression")
            };
            if let Err(e) = crons.live(&spec.cron_expression) {
                p.push(Problem::new(cron_path, e));
            }
            let zone_path = if path == "$.cronExpression" {
                "$.zoneId".to_string()
            } else {
                format!("{path}.zoneId")
            };
            if let Err(e) = calendar::parse_zone(spec.zone_id.as_deref()) {
                p.push(Problem::new(zone_path, e));
            }
        }
        for (i, iv) in self.intervals.iter().enumerate() {
            if iv.every_seconds == 0 {
                p.push(Problem::new(
                    format!("$.intervals[{i}].everySeconds"),
                    "an interval must be at least 1 second",
                ));
            } else if iv.every_seconds > MAX_INTERVAL_SECONDS {
                p.push(Problem::new(
                    format!("$.intervals[{i}].everySeconds"),
                    format!(
                        "{} is too long: an interval is at most {MAX_INTERVAL_SECONDS} seconds",
                        iv.every_seconds
                    ),
                ));
            } else if iv.phase_seconds >= iv.every_seconds {
                p.push(Problem::new(
                    format!("$.intervals[{i}].phaseSeconds"),
                    format!(
                        "{} must be below everySeconds ({})",
                        iv.phase_seconds, iv.every_seconds
                    ),
                ));
            }
        }
        for (i, ex) in self.exclusions.iter().enumerate() {
            let path = format!("$.exclusions[{i}]");
            if let Err((field, msg)) = calendar::compile_exclusion(ex) {
                p.push(Problem::new(format!("{path}{field}"), msg));
            }
        }
        if let (Some(s), Some(e)) = (self.start_bound(), self.end_bound())
            && s > e
        {
            p.push(Problem::new(
                "$.scheduleStartTime",
                format!("{s} is after scheduleEndTime ({e})"),
            ));
        }
        if let Some(w) = self.catchup_window_seconds
            && w > MAX_CATCHUP_WINDOW_SECONDS
        {
            p.push(Problem::new(
                "$.catchupWindowSeconds",
                format!(
                    "{w} is too long: the window is at most {MAX_CATCHUP_WINDOW_SECONDS} seconds"
                ),
            ));
        }
        if self.jitter_ms > MAX_JITTER_MS {
            p.push(Problem::new(
                "$.jitterMs",
                format!(
                    "{} is too large: jitter is at most {MAX_JITTER_MS} ms",
                    self.jitter_ms
                ),
            ));
        }
        if self.max_runs == Some(0) {
            p.push(Problem::new(
                "$.maxRuns",
                "must be at least 1 (leave it out for no limit)",
            ));
        }
        if self.pause_after_failures == Some(0) {
            p.push(Problem::new(
                "$.pauseAfterFailures",
                "must be at least 1 (leave it out to never pause)",
            ));
        }
        if let Some(n) = self.shard_total
            && !(1..=MAX_SHARDS).contains(&n)
        {
            p.push(Problem::new(
                "$.shardTotal",
                format!("{n} is out of range: 1 to {MAX_SHARDS} shards"),
            ));
        }
        if let Some(hook) = &self.alert_webhook {
            hook.problems(&mut p);
        }
        if p.is_empty() { Ok(()) } else { Err(p) }
    }
}
