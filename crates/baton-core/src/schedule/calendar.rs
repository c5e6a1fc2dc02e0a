//! The times a schedule fires: the union of its specs, minus exclusions, within bounds.
//!
//! Cron expressions are matched against wall-clock time in their zone; each matching wall
//! time is then mapped to instants by the spec's [`DstPolicy`]. Several wall times may map
//! to the same instant (every minute of a spring gap, under the default policy, lands on
//! the gap's end); the calendar yields each instant once.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, LocalResult, NaiveDateTime, Offset, TimeZone, Timelike};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use serde::{Deserialize, Serialize};

use super::model::{DstPolicy, Exclusion, GapPolicy, RepeatPolicy, ScheduleDef};
use super::{MAX_PREVIEW, MAX_SCAN_STEPS};
use crate::validate::Problem;

const DAY_MS: i64 = 24 * 3600 * 1000;

/// Parses a cron expression (5, 6 or 7 fields, or a macro), explaining a refusal.
pub(crate) fn parse_cron(text: &str) -> Result<Cron, String> {
    let parser = CronParser::builder()
        .seconds(Seconds::Optional)
        .year(Year::Optional)
        .build();
    parser
        .parse(text)
        .map_err(|e| format!("{text:?} is not a valid cron expression: {e}"))
}

/// Parses a cron expression and checks that some date matches it (not, say, 30 February).
pub(crate) fn parse_live_cron(text: &str) -> Result<Cron, String> {
    let cron = parse_cron(text)?;
    let epoch = NaiveDateTime::default();
    match cron.find_next_occurrence(&epoch, true) {
        Ok(_) => Ok(cron),
        Err(_) => Err(format!(
            "{text:?} never matches a date (such as 30 February, or a year long past)"
        )),
    }
}

/// Most expressions a [`CronCache`] holds; it starts afresh when full.
pub const CRON_CACHE_CAP: usize = 1_024;

/// Cron expressions parsed and checked once ([`parse_live_cron`]), kept by their text, so
/// that definitions compiled again and again (a schedule read back for each change, many
/// schedules sharing an expression) skip the parse. Holds at most [`CRON_CACHE_CAP`]
/// expressions, refused ones included.
#[derive(Debug, Default)]
pub struct CronCache {
    parsed: HashMap<String, Result<Cron, String>>,
}

impl CronCache {
    /// The expression parsed, from the cache or parsed now.
    pub(crate) fn live(&mut self, text: &str) -> Result<Cron, String> {
        if let Some(found) = self.parsed.get(text) {
            return found.clone();
        }
        let parsed = parse_live_cron(text);
        if self.parsed.len() >= CRON_CACHE_CAP {
            self.parsed.clear();
        }
        self.parsed.insert(text.to_string(), parsed.clone());
        parsed
    }

    /// How many expressions it holds.
    pub fn len(&self) -> usize {
        self.parsed.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.parsed.is_empty()
    }
}

/// Parses an IANA zone name; absent means UTC.
pub(crate) fn parse_zone(name: Option<&str>) -> Result<Tz, String> {
    match name {
        None => Ok(Tz::UTC),
        Some(n) => n
            .trim()
            .parse::<Tz>()
            .map_err(|_| format!("{n:?} is not an IANA time zone")),
    }
}

fn naive_ms(w: &NaiveDateTime) -> i64 {
    w.and_utc().timestamp_millis()
}

fn naive_from_ms(ms: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp_millis(ms).map(|d| d.naive_utc())
}

/// The zone's offset from UTC at an instant, in ms.
fn offset_ms(tz: Tz, at_ms: i64) -> i64 {
    match naive_from_ms(at_ms) {
        Some(n) => i64::from(tz.offset_from_utc_datetime(&n).fix().local_minus_utc()) * 1000,
        None => 0,
    }
}

/// Smallest and largest offsets within a day of an instant.
fn offsets_around(tz: Tz, at_ms: i64) -> (i64, i64) {
    let o = [
        offset_ms(tz, at_ms.saturating_sub(DAY_MS)),
        offset_ms(tz, at_ms),
        offset_ms(tz, at_ms.saturating_add(DAY_MS)),
    ];
    (
        o.iter().copied().min().unwrap_or(0),
        o.iter().copied().max().unwrap_or(0),
    )
}

/// The instants a wall time stands for under a DST policy (none, one or two).
pub(crate) fn wall_to_instants(tz: Tz, dst: DstPolicy, w: &NaiveDateTime) -> Vec<i64> {
    match tz.from_local_datetime(w) {
        LocalResult::Single(d) => vec![d.timestamp_millis()],
        LocalResult::Ambiguous(a, b) => match dst.overlap {
            RepeatPolicy::First => vec![a.timestamp_millis()],
            RepeatPolicy::Second => vec![b.timestamp_millis()],
            RepeatPolicy::Both => vec![a.timestamp_millis(), b.timestamp_millis()],
        },
        LocalResult::None => {
            let wms = naive_ms(w);
            let before = offset_ms(tz, wms.saturating_sub(DAY_MS));
            let after = offset_ms(tz, wms.saturating_add(DAY_MS));
            match dst.gap {
                GapPolicy::Skip => vec![],
                GapPolicy::ShiftForward => vec![wms - before],
                GapPolicy::RunAtGapEnd => {
                    // The jump lies in (w - after, w - before]: find its first instant.
                    let (mut lo, mut hi) = (wms - after, wms - before);
                    while hi - lo > 1000 {
                        let mid = lo + (hi - lo) / 2;
                        if offset_ms(tz, mid) == before {
                            lo = mid;
                        } else {
                            hi = mid;
                        }
                    }
                    vec![hi - hi.rem_euclid(1000)]
                }
            }
        }
    }
}

/// What kind of spec produced a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SpecKind {
    /// A cron expression.
    Cron,
    /// A fixed interval.
    Interval,
}

/// One time the schedule fires, and the spec that produced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Slot {
    /// The instant (epoch ms).
    pub at_ms: i64,
    /// Index of the spec among the calendar's specs (`cronExpression` first, then
    /// `cronSchedules`, then `intervals`).
    pub spec_index: usize,
    /// The spec as text: the cron expression, or `@every <n>s` for an interval.
    pub spec: String,
    /// Its kind.
    pub kind: SpecKind,
}

#[derive(Debug, Clone)]
enum Rule {
    Cron {
        cron: Box<Cron>,
        tz: Tz,
        dst: DstPolicy,
    },
    Interval {
        every_ms: i64,
        phase_ms: i64,
    },
}

#[derive(Debug, Clone)]
struct Spec {
    text: String,
    rule: Rule,
}

/// Outcome of a bounded search.
enum Search {
    Found(i64),
    Nothing,
    Cut,
}

impl Spec {
    fn next_after(&self, t: i64, budget: &mut usize) -> Search {
        match &self.rule {
            Rule::Interval { every_ms, phase_ms } => {
                let k = t
                    .checked_sub(*phase_ms)
                    .map(|d| d.div_euclid(*every_ms))
                    .and_then(|k| k.checked_add(1));
                match k
                    .and_then(|k| k.checked_mul(*every_ms))
                    .and_then(|v| v.checked_add(*phase_ms))
                {
                    Some(v) => Search::Found(v),
                    None => Search::Nothing,
                }
            }
            Rule::Cron { cron, tz, dst } => cron_next_after(cron, *tz, *dst, t, budget),
        }
    }
}

/// The first instant after `t` that a cron spec stands for. Wall times are scanned from
/// the earliest one that could map after `t`, and the scan goes on past the first hit for
/// as long as a later wall time could still map to an earlier instant (around a jump).
fn cron_next_after(cron: &Cron, tz: Tz, dst: DstPolicy, t: i64, budget: &mut usize) -> Search {
    let (omin, _) = offsets_around(tz, t);
    let Some(mut w) = naive_from_ms(t.saturating_add(omin).saturating_sub(1000)) else {
        return Search::Nothing;
    };
    let mut best: Option<i64> = None;
    let mut omax_near_best = 0;
    loop {
        if *budget == 0 {
            return best.map_or(Search::Cut, Search::Found);
        }
        *budget -= 1;
        let Ok(next) = cron.find_next_occurrence(&w, false) else {
            return best.map_or(Search::Nothing, Search::Found);
        };
        w = next;
        let wms = naive_ms(&w);
        if let Some(b) = best
            && wms - omax_near_best > b
        {
            return Search::Found(b);
        }
        for i in wall_to_instants(tz, dst, &w) {
            if i > t && best.is_none_or(|b| i < b) {
                best = Some(i);
                omax_near_best = offsets_around(tz, i).1;
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Window {
    tz: Tz,
    /// Bit `n` set: the window is open on the weekday `n` days from Monday.
    days: u8,
    from_s: u32,
    to_s: u32,
}

/// A compiled exclusion.
#[derive(Debug, Clone)]
pub(crate) struct Excl {
    start: Option<i64>,
    end: Option<i64>,
    window: Option<Window>,
}

fn parse_time_of_day(text: &str) -> Option<u32> {
    let parts: Vec<&str> = text.trim().split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return None;
    }
    let mut n = [0u32; 3];
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() || p.len() > 2 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        n[i] = p.parse().ok()?;
    }
    let s = n[0] * 3600 + n[1] * 60 + n[2];
    (n[1] < 60 && n[2] < 60 && s <= 86400).then_some(s)
}

const DAYS: [&str; 7] = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];
const FULL_DAYS: [&str; 7] = [
    "MONDAY",
    "TUESDAY",
    "WEDNESDAY",
    "THURSDAY",
    "FRIDAY",
    "SATURDAY",
    "SUNDAY",
];

/// Compiles an exclusion; a refusal names the field (a path suffix such as `.zoneId`).
pub(crate) fn compile_exclusion(ex: &Exclusion) -> Result<Excl, (String, String)> {
    if let (Some(s), Some(e)) = (ex.start, ex.end)
        && s >= e
    {
        return Err((".start".into(), format!("{s} is not before end ({e})")));
    }
    if ex.start.is_none() && ex.end.is_none() && !ex.has_window() {
        return Err((
            String::new(),
            "an exclusion needs start, end or a daily window (it would exclude every time)".into(),
        ));
    }
    let window = if ex.has_window() {
        let tz = parse_zone(ex.zone_id.as_deref()).map_err(|m| (".zoneId".to_string(), m))?;
        let mut days = 0u8;
        for (i, d) in ex.days_of_week.iter().enumerate() {
            let up = d.trim().to_ascii_uppercase();
            let Some(n) = (0..7).find(|&i| up == DAYS[i] || up == FULL_DAYS[i]) else {
                return Err((
                    format!(".daysOfWeek[{i}]"),
                    format!("{d:?} is not a day of the week (MON to SUN, or MONDAY to SUNDAY)"),
                ));
            };
            days |= 1 << n;
        }
        if days == 0 {
            days = 0x7f;
        }
        let time = |field: &str, t: &Option<String>, default: u32| match t {
            None => Ok(default),
            Some(text) => parse_time_of_day(text).ok_or_else(|| {
                (
                    format!(".{field}"),
                    format!("{text:?} is not a time of day (HH:MM or HH:MM:SS, up to 24:00)"),
                )
            }),
        };
        let from_s = time("fromTime", &ex.from_time, 0)?;
        let to_s = time("toTime", &ex.to_time, 86400)?;
        if from_s == to_s {
            return Err((
                ".toTime".into(),
                "equals fromTime: the daily window would be empty".into(),
            ));
        }
        Some(Window {
            tz,
            days,
            from_s,
            to_s,
        })
    } else {
        None
    };
    Ok(Excl {
        start: ex.start,
        end: ex.end,
        window,
    })
}

impl Excl {
    /// If `t` is excluded: the earliest instant after `t` that this exclusion may not
    /// cover (`None` inside means never: everything from here on is excluded).
    fn covering(&self, t: i64) -> Option<Option<i64>> {
        if self.start.is_some_and(|s| t < s) || self.end.is_some_and(|e| t >= e) {
            return None;
        }
        let Some(w) = &self.window else {
            return Some(self.end);
        };
        let local = naive_from_ms(t)?;
        let local = w.tz.from_utc_datetime(&local).naive_local();
        let secs = local.num_seconds_from_midnight();
        let date = local.date();
        // The day the open window belongs to, and the wall time it closes.
        let (day, close_day) = if w.from_s < w.to_s {
            if secs < w.from_s || secs >= w.to_s {
                return None;
            }
            (date, date)
        } else if secs >= w.from_s {
            (date, date.succ_opt()?)
        } else if secs < w.to_s {
            (date.pred_opt()?, date)
        } else {
            return None;
        };
        if w.days & (1 << day.weekday().num_days_from_monday()) == 0 {
            return None;
        }
        let close = close_day.and_hms_opt(0, 0, 0)? + chrono::Duration::seconds(i64::from(w.to_s));
        let close_ms = wall_to_instants(w.tz, DstPolicy::default(), &close)
            .first()
            .copied()
            .unwrap_or(t + 1)
            .max(t + 1);
        let close_ms = self.end.map_or(close_ms, |e| close_ms.min(e));
        Some(Some(close_ms))
    }
}

/// The compiled times of a schedule.
#[derive(Debug, Clone)]
pub struct Calendar {
    specs: Vec<Spec>,
    exclusions: Vec<Excl>,
    start: Option<i64>,
    end: Option<i64>,
}

/// The result of [`Calendar::preview`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    /// The slots found, in order.
    pub slots: Vec<Slot>,
    /// True when the search stopped before the end of the range (the limit was reached
    /// with more slots left, or too many candidate times were examined).
    pub truncated: bool,
}

impl Calendar {
    /// Compiles a schedule's specs, exclusions and bounds, after validating it.
    pub fn compile(def: &ScheduleDef) -> Result<Calendar, Vec<Problem>> {
        Self::compile_with(def, &mut CronCache::default())
    }

    /// [`Calendar::compile`], parsing cron expressions through `crons`.
    pub fn compile_with(
        def: &ScheduleDef,
        crons: &mut CronCache,
    ) -> Result<Calendar, Vec<Problem>> {
        def.validate_with(crons)?;
        let mut specs = Vec::new();
        let mut problems = Vec::new();
        for (path, s) in def.cron_specs() {
            match (
                crons.live(&s.cron_expression),
                parse_zone(s.zone_id.as_deref()),
            ) {
                (Ok(cron), Ok(tz)) => specs.push(Spec {
                    text: s.cron_expression.trim().to_string(),
                    rule: Rule::Cron {
                        cron: Box::new(cron),
                        tz,
                        dst: s.dst_policy.unwrap_or_default(),
                    },
                }),
                (Err(e), _) | (_, Err(e)) => problems.push(Problem::new(path, e)),
            }
        }
        for iv in &def.intervals {
            let every_ms = i64::try_from(iv.every_seconds).unwrap_or(i64::MAX / 1000) * 1000;
            let phase_ms = i64::try_from(iv.phase_seconds).unwrap_or(0) * 1000;
            let text = if iv.phase_seconds == 0 {
                format!("@every {}s", iv.every_seconds)
            } else {
                format!("@every {}s+{}s", iv.every_seconds, iv.phase_seconds)
            };
            specs.push(Spec {
                text,
                rule: Rule::Interval { every_ms, phase_ms },
            });
        }
        let mut exclusions = Vec::new();
        for (i, ex) in def.exclusions.iter().enumerate() {
            match compile_exclusion(ex) {
                Ok(e) => exclusions.push(e),
                Err((f, m)) => problems.push(Problem::new(format!("$.exclusions[{i}]{f}"), m)),
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Calendar {
            specs,
            exclusions,
            start: def.start_bound(),
            end: def.end_bound(),
        })
    }

    /// A calendar of one cron expression, to preview a spec that is not saved (as
    /// Conductor's `nextFewSchedules` does). Problems name `$.cronExpression` and `$.zoneId`.
    pub fn from_cron(
        cron_expression: &str,
        zone_id: Option<&str>,
        dst_policy: Option<DstPolicy>,
        start: Option<i64>,
        end: Option<i64>,
    ) -> Result<Calendar, Vec<Problem>> {
        let mut problems = Vec::new();
        let cron = parse_cron(cron_expression)
            .map_err(|e| problems.push(Problem::new("$.cronExpression", e)))
            .ok();
        let tz = parse_zone(zone_id)
            .map_err(|e| problems.push(Problem::new("$.zoneId", e)))
            .ok();
        let (start, end) = (start.filter(|t| *t > 0), end.filter(|t| *t > 0));
        if let (Some(s), Some(e)) = (start, end)
            && s > e
        {
            problems.push(Problem::new(
                "$.scheduleStartTime",
                format!("{s} is after scheduleEndTime ({e})"),
            ));
        }
        match (cron, tz) {
            (Some(cron), Some(tz)) if problems.is_empty() => Ok(Calendar {
                specs: vec![Spec {
                    text: cron_expression.trim().to_string(),
                    rule: Rule::Cron {
                        cron: Box::new(cron),
                        tz,
                        dst: dst_policy.unwrap_or_default(),
                    },
                }],
                exclusions: Vec::new(),
                start,
                end,
            }),
            _ => Err(problems),
        }
    }

    /// The first slot strictly after `t_ms`, or `None` when there is none. A search that
    /// examines [`MAX_SCAN_STEPS`] candidate times without finding one also answers
    /// `None`: that takes exclusions hiding every time for centuries, or a spec that only
    /// matches wall times its DST policy skips.
    pub fn next_after(&self, t_ms: i64) -> Option<Slot> {
        let mut budget = MAX_SCAN_STEPS;
        match self.search(t_ms, &mut budget) {
            SlotSearch::Found(s) => Some(s),
            SlotSearch::Nothing | SlotSearch::Cut => None,
        }
    }

    fn search(&self, t_ms: i64, budget: &mut usize) -> SlotSearch {
        let mut cursor = match self.start {
            Some(s) => t_ms.max(s.saturating_sub(1)),
            None => t_ms,
        };
        loop {
            let mut best: Option<(i64, usize)> = None;
            let mut cut = false;
            for (i, spec) in self.specs.iter().enumerate() {
                match spec.next_after(cursor, budget) {
                    Search::Found(at) => {
                        if best.is_none_or(|(b, _)| at < b) {
                            best = Some((at, i));
                        }
                    }
                    Search::Nothing => {}
                    Search::Cut => cut = true,
                }
            }
            if cut {
                return SlotSearch::Cut;
            }
            let Some((at, i)) = best else {
                return SlotSearch::Nothing;
            };
            if self.end.is_some_and(|e| at > e) {
                return SlotSearch::Nothing;
            }
            if *budget == 0 {
                return SlotSearch::Cut;
            }
            *budget -= 1;
            match self.exclusions.iter().find_map(|e| e.covering(at)) {
                None => {
                    let spec = &self.specs[i];
                    return SlotSearch::Found(Slot {
                        at_ms: at,
                        spec_index: i,
                        spec: spec.text.clone(),
                        kind: match spec.rule {
                            Rule::Cron { .. } => SpecKind::Cron,
                            Rule::Interval { .. } => SpecKind::Interval,
                        },
                    });
                }
                Some(None) => return SlotSearch::Nothing,
                Some(Some(resume)) => cursor = (resume - 1).max(at),
            }
        }
    }

    /// The slots in `(from_ms, until_ms]`, at most `limit` (itself capped at
    /// [`MAX_PREVIEW`]), examining at most [`MAX_SCAN_STEPS`] candidate times.
    pub fn preview(&self, from_ms: i64, until_ms: i64, limit: usize) -> Preview {
        let limit = limit.min(MAX_PREVIEW);
        let mut budget = MAX_SCAN_STEPS;
        let mut slots = Vec::new();
        let mut t = from_ms;
        loop {
            match self.search(t, &mut budget) {
                SlotSearch::Found(s) if s.at_ms <= until_ms => {
                    if slots.len() == limit {
                        return Preview {
                            slots,
                            truncated: true,
                        };
                    }
                    t = s.at_ms;
                    slots.push(s);
                }
                SlotSearch::Found(_) | SlotSearch::Nothing => {
                    return Preview {
                        slots,
                        truncated: false,
                    };
                }
                SlotSearch::Cut => {
                    return Preview {
                        slots,
                        truncated: true,
                    };
                }
            }
        }
    }
}

enum SlotSearch {
    Found(Slot),
    Nothing,
    Cut,
}
