//! Cron parsing, next-time computation across DST changes, intervals, exclusions, bounds
//! and previews.

use chrono::{TimeZone, Utc};
use serde_json::json;

use super::*;

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> i64 {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
        .single()
        .map(|t| t.timestamp_millis())
        .unwrap_or_default()
}

fn def(v: serde_json::Value) -> ScheduleDef {
    let mut v = v;
    if let Some(o) = v.as_object_mut() {
        o.entry("name").or_insert(json!("s"));
        o.entry("startWorkflowRequest")
            .or_insert(json!({"name": "wf"}));
    }
    serde_json::from_value(v).expect("schedule JSON")
}

fn cal(v: serde_json::Value) -> Calendar {
    Calendar::compile(&def(v)).expect("valid schedule")
}

/// Slots in `(from, until]`.
fn times(c: &Calendar, from: i64, until: i64) -> Vec<i64> {
    let p = c.preview(from, until, MAX_PREVIEW);
    assert!(!p.truncated);
    p.slots.iter().map(|s| s.at_ms).collect()
}

fn cron_in(expr: &str, zone: &str, dst: serde_json::Value) -> Calendar {
    cal(json!({"cronSchedules": [{"cronExpression": expr, "zoneId": zone, "dstPolicy": dst}]}))
}

#[test]
fn five_six_and_seven_fields_and_macros_parse() {
    let t0 = utc(2026, 1, 1, 0, 0, 0);
    // 5 fields: minute first.
    let c = cal(json!({"cronExpression": "30 9 * * *"}));
    assert_eq!(
        c.next_after(t0).map(|s| s.at_ms),
        Some(utc(2026, 1, 1, 9, 30, 0))
    );
    // 6 fields: seconds first (Conductor's Spring style).
    let c = cal(json!({"cronExpression": "15 30 9 * * ?"}));
    assert_eq!(
        c.next_after(t0).map(|s| s.at_ms),
        Some(utc(2026, 1, 1, 9, 30, 15))
    );
    // 7 fields: seconds first, year last.
    let c = cal(json!({"cronExpression": "0 0 12 1 1 * 2028"}));
    assert_eq!(
        c.next_after(t0).map(|s| s.at_ms),
        Some(utc(2028, 1, 1, 12, 0, 0))
    );
    // Macros.
    let c = cal(json!({"cronExpression": "@daily"}));
    assert_eq!(
        c.next_after(t0).map(|s| s.at_ms),
        Some(utc(2026, 1, 2, 0, 0, 0))
    );
    let c = cal(json!({"cronExpression": "@hourly"}));
    assert_eq!(
        c.next_after(t0).map(|s| s.at_ms),
        Some(utc(2026, 1, 1, 1, 0, 0))
    );
    let c = cal(json!({"cronExpression": "@monthly"}));
    assert_eq!(
        c.next_after(t0).map(|s| s.at_ms),
        Some(utc(2026, 2, 1, 0, 0, 0))
    );
}

#[test]
fn last_weekday_and_nth_modifiers() {
    let t0 = utc(2026, 2, 1, 0, 0, 0);
    // Last day of the month.
    let c = cal(json!({"cronExpression": "0 0 L * *"}));
    assert_eq!(
        times(&c, t0, utc(2026, 4, 1, 0, 0, 0)),
        vec![utc(2026, 2, 28, 0, 0, 0), utc(2026, 3, 31, 0, 0, 0)]
    );
    // Third Friday (2026-02-20, 2026-03-20).
    let c = cal(json!({"cronExpression": "0 0 * * 5#3"}));
    assert_eq!(
        times(&c, t0, utc(2026, 4, 1, 0, 0, 0)),
        vec![utc(2026, 2, 20, 0, 0, 0), utc(2026, 3, 20, 0, 0, 0)]
    );
    // Weekday nearest the 15th: 2026-02-15 is a Sunday, so Monday the 16th.
    let c = cal(json!({"cronExpression": "0 0 15W * *"}));
    assert_eq!(
        c.next_after(t0).map(|s| s.at_ms),
        Some(utc(2026, 2, 16, 0, 0, 0))
    );
    // Last Friday of the month: 2026-02-27.
    let c = cal(json!({"cronExpression": "0 0 * * 5L"}));
    assert_eq!(
        c.next_after(t0).map(|s| s.at_ms),
        Some(utc(2026, 2, 27, 0, 0, 0))
    );
    // 29 February: the next leap year.
    let c = cal(json!({"cronExpression": "0 0 29 2 *"}));
    assert_eq!(
        c.next_after(t0).map(|s| s.at_ms),
        Some(utc(2028, 2, 29, 0, 0, 0))
    );
}

#[test]
fn next_after_is_strictly_after() {
    let c = cal(json!({"cronExpression": "0 * * * * *"}));
    let t = utc(2026, 5, 1, 10, 0, 0);
    assert_eq!(c.next_after(t).map(|s| s.at_ms), Some(t + 60_000));
    assert_eq!(c.next_after(t - 1).map(|s| s.at_ms), Some(t));
}

#[test]
fn new_york_spring_gap_by_policy() {
    // 2026-03-08 02:00 EST jumps to 03:00 EDT (07:00 UTC).
    let from = utc(2026, 3, 7, 12, 0, 0);
    let until = utc(2026, 3, 9, 12, 0, 0);
    let day_before_next = utc(2026, 3, 9, 6, 30, 0); // 02:30 EDT on the 9th
    let gap_end = cron_in("30 2 * * *", "America/New_York", json!({}));
    assert_eq!(
        times(&gap_end, from, until),
        vec![utc(2026, 3, 8, 7, 0, 0), day_before_next]
    );
    let shift = cron_in(
        "30 2 * * *",
        "America/New_York",
        json!({"gap": "SHIFT_FORWARD"}),
    );
    assert_eq!(
        times(&shift, from, until),
        vec![utc(2026, 3, 8, 7, 30, 0), day_before_next]
    );
    let skip = cron_in("30 2 * * *", "America/New_York", json!({"gap": "SKIP"}));
    assert_eq!(times(&skip, from, until), vec![day_before_next]);
}

#[test]
fn a_frequent_cron_runs_once_at_the_end_of_the_gap() {
    let c = cron_in("*/15 * * * *", "America/New_York", json!({}));
    let got = times(&c, utc(2026, 3, 8, 5, 59, 59), utc(2026, 3, 8, 8, 0, 0));
    let want: Vec<i64> = (0..9)
        .map(|i| utc(2026, 3, 8, 6, 0, 0) + i * 900_000)
        .collect();
    assert_eq!(got, want);
}

#[test]
fn new_york_autumn_overlap_by_policy() {
    // 2026-11-01 02:00 EDT goes back to 01:00 EST: 01:30 is 05:30 and 06:30 UTC.
    let from = utc(2026, 11, 1, 0, 0, 0);
    let until = utc(2026, 11, 1, 12, 0, 0);
    let first = cron_in("30 1 * * *", "America/New_York", json!({}));
    assert_eq!(times(&first, from, until), vec![utc(2026, 11, 1, 5, 30, 0)]);
    let second = cron_in(
        "30 1 * * *",
        "America/New_York",
        json!({"overlap": "SECOND"}),
    );
    assert_eq!(
        times(&second, from, until),
        vec![utc(2026, 11, 1, 6, 30, 0)]
    );
    let both = cron_in("30 1 * * *", "America/New_York", json!({"overlap": "BOTH"}));
    assert_eq!(
        times(&both, from, until),
        vec![utc(2026, 11, 1, 5, 30, 0), utc(2026, 11, 1, 6, 30, 0)]
    );
    // A frequent job: BOTH keeps it going through the repeated hour.
    let every = cron_in(
        "*/15 * * * *",
        "America/New_York",
        json!({"overlap": "BOTH"}),
    );
    let (a, b) = (utc(2026, 11, 1, 3, 59, 59), utc(2026, 11, 1, 6, 59, 59));
    let got = times(&every, a, b);
    assert_eq!(got.len(), 12);
    assert!(got.windows(2).all(|w| w[1] - w[0] == 900_000), "{got:?}");
    let once = cron_in("*/15 * * * *", "America/New_York", json!({}));
    assert_eq!(times(&once, a, b).len(), 8);
}

#[test]
fn berlin_gap_and_overlap() {
    // 2026-03-29 02:00 CET jumps to 03:00 CEST (01:00 UTC).
    let c = cron_in("0 30 2 * * *", "Europe/Berlin", json!({}));
    assert_eq!(
        c.next_after(utc(2026, 3, 28, 12, 0, 0)).map(|s| s.at_ms),
        Some(utc(2026, 3, 29, 1, 0, 0))
    );
    let c = cron_in(
        "0 30 2 * * *",
        "Europe/Berlin",
        json!({"gap": "SHIFT_FORWARD"}),
    );
    assert_eq!(
        c.next_after(utc(2026, 3, 28, 12, 0, 0)).map(|s| s.at_ms),
        Some(utc(2026, 3, 29, 1, 30, 0))
    );
    // 2026-10-25 03:00 CEST goes back to 02:00 CET: 02:30 is 00:30 and 01:30 UTC.
    let both = cron_in("0 30 2 * * *", "Europe/Berlin", json!({"overlap": "BOTH"}));
    assert_eq!(
        times(
            &both,
            utc(2026, 10, 24, 12, 0, 0),
            utc(2026, 10, 25, 12, 0, 0)
        ),
        vec![utc(2026, 10, 25, 0, 30, 0), utc(2026, 10, 25, 1, 30, 0)]
    );
    let second = cron_in(
        "0 30 2 * * *",
        "Europe/Berlin",
        json!({"overlap": "SECOND"}),
    );
    assert_eq!(
        times(
            &second,
            utc(2026, 10, 24, 12, 0, 0),
            utc(2026, 10, 25, 12, 0, 0)
        ),
        vec![utc(2026, 10, 25, 1, 30, 0)]
    );
}

#[test]
fn lord_howe_half_hour_shifts() {
    // 2026-04-05 02:00 (+11:00) goes back to 01:30 (+10:30): 01:45 is 14:45 and 15:15 UTC.
    let both = cron_in(
        "45 1 * * *",
        "Australia/Lord_Howe",
        json!({"overlap": "BOTH"}),
    );
    assert_eq!(
        times(&both, utc(2026, 4, 4, 0, 0, 0), utc(2026, 4, 4, 23, 0, 0)),
        vec![utc(2026, 4, 4, 14, 45, 0), utc(2026, 4, 4, 15, 15, 0)]
    );
    let first = cron_in("45 1 * * *", "Australia/Lord_Howe", json!({}));
    assert_eq!(
        times(&first, utc(2026, 4, 4, 0, 0, 0), utc(2026, 4, 4, 23, 0, 0)),
        vec![utc(2026, 4, 4, 14, 45, 0)]
    );
    // 2026-10-04 02:00 (+10:30) jumps to 02:30 (+11:00), at 15:30 UTC on the 3rd.
    let from = utc(2026, 10, 3, 0, 0, 0);
    let until = utc(2026, 10, 4, 23, 0, 0);
    let next_day = utc(2026, 10, 4, 15, 15, 0); // 02:15 +11:00 on the 5th
    let end = cron_in("15 2 * * *", "Australia/Lord_Howe", json!({}));
    assert_eq!(
        times(&end, from, until),
        vec![utc(2026, 10, 3, 15, 30, 0), next_day]
    );
    let shift = cron_in(
        "15 2 * * *",
        "Australia/Lord_Howe",
        json!({"gap": "SHIFT_FORWARD"}),
    );
    assert_eq!(
        times(&shift, from, until),
        vec![utc(2026, 10, 3, 15, 45, 0), next_day]
    );
    let skip = cron_in("15 2 * * *", "Australia/Lord_Howe", json!({"gap": "SKIP"}));
    assert_eq!(times(&skip, from, until), vec![next_day]);
}

#[test]
fn zones_without_dst_are_plain_offsets() {
    let tokyo = cron_in("0 9 * * *", "Asia/Tokyo", json!({}));
    let got = times(&tokyo, utc(2026, 3, 1, 0, 0, 0), utc(2026, 11, 30, 0, 0, 0));
    assert_eq!(got.len(), 274);
    assert!(got.iter().all(|t| t.rem_euclid(86_400_000) == 0));
    let kolkata = cron_in("0 9 * * *", "Asia/Kolkata", json!({"overlap": "BOTH"}));
    assert_eq!(
        kolkata
            .next_after(utc(2026, 3, 8, 0, 0, 0))
            .map(|s| s.at_ms),
        Some(utc(2026, 3, 8, 3, 30, 0))
    );
}

#[test]
fn a_zone_applies_to_conductors_single_cron() {
    let c = cal(json!({"cronExpression": "0 0 9 * * *", "zoneId": "Europe/Berlin"}));
    assert_eq!(
        c.next_after(utc(2026, 7, 1, 0, 0, 0)).map(|s| s.at_ms),
        Some(utc(2026, 7, 1, 7, 0, 0))
    );
}

#[test]
fn several_specs_are_a_union_and_each_slot_names_its_spec() {
    let c = cal(json!({
        "cronExpression": "0 0 12 * * *",
        "cronSchedules": [{"cronExpression": "0 0 6 * * *", "zoneId": "UTC"}],
        "intervals": [{"everySeconds": 21600, "phaseSeconds": 3600}]
    }));
    let p = c.preview(utc(2026, 1, 1, 0, 0, 0), utc(2026, 1, 1, 23, 59, 59), 100);
    let got: Vec<(u32, usize, &str)> = p
        .slots
        .iter()
        .map(|s| {
            (
                ((s.at_ms - utc(2026, 1, 1, 0, 0, 0)) / 3_600_000) as u32,
                s.spec_index,
                s.spec.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (1, 2, "@every 21600s+3600s"),
            (6, 1, "0 0 6 * * *"),
            (7, 2, "@every 21600s+3600s"),
            (12, 0, "0 0 12 * * *"),
            (13, 2, "@every 21600s+3600s"),
            (19, 2, "@every 21600s+3600s"),
        ]
    );
    assert_eq!(p.slots[0].kind, SpecKind::Interval);
    assert_eq!(p.slots[1].kind, SpecKind::Cron);
}

#[test]
fn two_specs_on_the_same_instant_make_one_slot() {
    let c = cal(json!({
        "cronSchedules": [
            {"cronExpression": "0 * * * *"},
            {"cronExpression": "0 0 * * *"}
        ],
        "intervals": [{"everySeconds": 3600}]
    }));
    let got = times(&c, utc(2026, 1, 1, 0, 0, 0) - 1, utc(2026, 1, 1, 3, 0, 0));
    assert_eq!(got.len(), 4);
}

#[test]
fn intervals_have_a_phase() {
    let c = cal(json!({"intervals": [{"everySeconds": 600, "phaseSeconds": 30}]}));
    assert_eq!(c.next_after(0).map(|s| s.at_ms), Some(30_000));
    assert_eq!(c.next_after(30_000).map(|s| s.at_ms), Some(630_000));
    assert_eq!(c.next_after(-1_000_000).map(|s| s.at_ms), Some(-570_000));
}

#[test]
fn start_and_end_bounds_are_inclusive() {
    let start = utc(2026, 1, 1, 10, 0, 0);
    let end = utc(2026, 1, 1, 12, 0, 0);
    let c = cal(
        json!({"cronExpression": "@hourly", "scheduleStartTime": start, "scheduleEndTime": end}),
    );
    assert_eq!(
        times(&c, 0, i64::MAX / 4),
        vec![start, start + 3_600_000, end]
    );
    assert_eq!(c.next_after(end), None);
    // 0 means no bound, as Conductor writes it.
    let c = cal(json!({"cronExpression": "@hourly", "scheduleStartTime": 0, "scheduleEndTime": 0}));
    assert!(c.next_after(end).is_some());
}

#[test]
fn range_exclusions_remove_times() {
    let c = cal(json!({
        "cronExpression": "@hourly",
        "exclusions": [{"start": utc(2026, 1, 1, 2, 0, 0), "end": utc(2026, 1, 1, 5, 0, 0)}]
    }));
    let got = times(&c, utc(2026, 1, 1, 0, 0, 0), utc(2026, 1, 1, 6, 0, 0));
    assert_eq!(
        got,
        vec![
            utc(2026, 1, 1, 1, 0, 0),
            utc(2026, 1, 1, 5, 0, 0),
            utc(2026, 1, 1, 6, 0, 0)
        ]
    );
    // Open-ended: nothing after the start.
    let c = cal(json!({
        "cronExpression": "@hourly",
        "exclusions": [{"start": utc(2026, 1, 1, 2, 0, 0)}]
    }));
    assert_eq!(c.next_after(utc(2026, 1, 1, 1, 0, 0)), None);
}

#[test]
fn daily_window_exclusions_in_a_zone() {
    // No runs at the weekend, nor at night (22:00 to 06:00) in New York.
    let c = cal(json!({
        "cronExpression": "0 0 * * * *",
        "exclusions": [
            {"zoneId": "America/New_York", "daysOfWeek": ["sat", "Sunday"]},
            {"zoneId": "America/New_York", "fromTime": "22:00", "toTime": "06:00"}
        ]
    }));
    // Friday 2026-01-09 20:00 EST (01:00 UTC on the 10th) onwards.
    let got = times(&c, utc(2026, 1, 10, 0, 30, 0), utc(2026, 1, 12, 13, 0, 0));
    // Friday 20:00 and 21:00 EST, then Monday 06:00, 07:00 and 08:00 EST.
    assert_eq!(
        got,
        vec![
            utc(2026, 1, 10, 1, 0, 0),
            utc(2026, 1, 10, 2, 0, 0),
            utc(2026, 1, 12, 11, 0, 0),
            utc(2026, 1, 12, 12, 0, 0),
            utc(2026, 1, 12, 13, 0, 0),
        ]
    );
}

#[test]
fn previews_are_bounded() {
    let c = cal(json!({"cronExpression": "* * * * * *"}));
    let p = c.preview(0, i64::MAX / 4, usize::MAX);
    assert_eq!(p.slots.len(), MAX_PREVIEW);
    assert!(p.truncated);
    let p = c.preview(0, 10_000, 5);
    assert_eq!(p.slots.len(), 5);
    assert!(p.truncated);
    let p = c.preview(0, 5_000, 5);
    assert_eq!(p.slots.len(), 5);
    assert!(!p.truncated);
    // A cron that matches only in a skipped gap finds nothing, quickly.
    let c = cron_in(
        "*/10 30 2 8 3 * 2026",
        "America/New_York",
        json!({"gap": "SKIP"}),
    );
    let p = c.preview(0, i64::MAX / 4, 10);
    assert!(p.slots.is_empty());
}

#[test]
fn consecutive_exclusions_are_jumped_over() {
    let mut exclusions = Vec::new();
    for i in 0..3 {
        exclusions.push(json!({"start": i * 1000 + 500, "end": i * 1000 + 1500}));
    }
    let c = cal(json!({"cronExpression": "* * * * * *", "exclusions": exclusions}));
    let p = c.preview(0, 10_000, 100);
    assert!(!p.truncated);
    assert_eq!(p.slots.first().map(|s| s.at_ms), Some(4000));
}

#[test]
fn conductor_json_reads_with_nulls_and_unknown_fields() {
    let d: ScheduleDef = serde_json::from_value(json!({
        "name": "nightly",
        "cronExpression": "0 0 2 * * ?",
        "zoneId": "America/New_York",
        "cronSchedules": null,
        "runCatchupScheduleInstances": true,
        "paused": false,
        "pausedReason": null,
        "scheduleStartTime": null,
        "scheduleEndTime": 0,
        "startWorkflowRequest": {
            "name": "etl", "version": 2, "input": {"a": 1}, "correlationId": "c-${scheduledTime}",
            "priority": 5, "taskToDomain": {"*": "blue"}, "idempotencyKey": null,
            "workflowDef": null, "createdBy": "me"
        },
        "createTime": 1, "updatedTime": 2, "createdBy": "a", "updatedBy": "b",
        "nextRunTime": 123, "tags": []
    }))
    .expect("reads");
    assert_eq!(d.name, "nightly");
    assert_eq!(d.misfire(), MisfirePolicy::RunAll);
    assert_eq!(d.overlap(), OverlapPolicy::AllowAll);
    assert_eq!(d.start_workflow_request.version, Some(2));
    assert!(d.validate().is_ok());
    let back = serde_json::to_value(&d).expect("writes");
    assert_eq!(back["cronExpression"], "0 0 2 * * ?");
    assert_eq!(back["startWorkflowRequest"]["taskToDomain"]["*"], "blue");
    assert!(back.get("intervals").is_none());
}

fn problems(v: serde_json::Value) -> Vec<String> {
    match def(v).validate() {
        Ok(()) => vec![],
        Err(p) => p.iter().map(|p| p.to_string()).collect(),
    }
}

#[test]
fn bad_input_names_the_field_and_why() {
    let p = problems(json!({
        "cronExpression": "0 0 * *",
        "cronSchedules": [
            {"cronExpression": "0 0 * * *", "zoneId": "UTC"},
            {"cronExpression": "0 0 * * *", "zoneId": "Mars/Olympus"},
            {"cronExpression": "0 99 * * *"}
        ]
    }));
    assert!(
        p.iter()
            .any(|m| m.starts_with("$.cronExpression: \"0 0 * *\" is not a valid cron expression")),
        "{p:?}"
    );
    assert!(
        p.contains(
            &"$.cronSchedules[1].zoneId: \"Mars/Olympus\" is not an IANA time zone".to_string()
        ),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|m| m.starts_with("$.cronSchedules[2].cronExpression: \"0 99 * * *\"")),
        "{p:?}"
    );
    assert_eq!(p.len(), 3, "{p:?}");

    let p = problems(json!({"name": "", "startWorkflowRequest": {"name": ""}}));
    assert!(p.iter().any(|m| m.starts_with("$.name:")), "{p:?}");
    assert!(
        p.iter()
            .any(|m| m.starts_with("$.startWorkflowRequest.name:")),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|m| m.starts_with("$.cronExpression: a schedule needs")),
        "{p:?}"
    );

    let p = problems(json!({
        "intervals": [{"everySeconds": 0}, {"everySeconds": 60, "phaseSeconds": 60}],
        "scheduleStartTime": 2000, "scheduleEndTime": 1000,
        "jitterMs": 99_999_999, "maxRuns": 0, "pauseAfterFailures": 0, "shardTotal": 0,
        "catchupWindowSeconds": 999_999_999,
        "exclusions": [
            {"start": 5, "end": 5},
            {},
            {"zoneId": "Nowhere/Land"},
            {"daysOfWeek": ["monday", "MONKEY"]},
            {"fromTime": "25:00"},
            {"fromTime": "10:00", "toTime": "10:00"}
        ]
    }));
    for prefix in [
        "$.intervals[0].everySeconds: an interval must be at least 1 second",
        "$.intervals[1].phaseSeconds: 60 must be below everySeconds (60)",
        "$.scheduleStartTime: 2000 is after scheduleEndTime (1000)",
        "$.jitterMs:",
        "$.maxRuns:",
        "$.pauseAfterFailures:",
        "$.shardTotal:",
        "$.catchupWindowSeconds:",
        "$.exclusions[0].start:",
        "$.exclusions[1]: an exclusion needs",
        "$.exclusions[2].zoneId: \"Nowhere/Land\" is not an IANA time zone",
        "$.exclusions[3].daysOfWeek[1]: \"MONKEY\" is not a day of the week",
        "$.exclusions[4].fromTime:",
        "$.exclusions[5].toTime:",
    ] {
        assert!(
            p.iter().any(|m| m.starts_with(prefix)),
            "{prefix} not in {p:?}"
        );
    }
    assert!(Calendar::compile(&def(json!({"cronExpression": "nope"}))).is_err());
}

#[test]
fn an_unsaved_cron_can_be_previewed() {
    let c = Calendar::from_cron("0 0 9 * * MON-FRI", Some("Europe/Berlin"), None, None, None)
        .expect("valid");
    let p = c.preview(utc(2026, 1, 2, 12, 0, 0), utc(2026, 1, 9, 0, 0, 0), 5);
    let got: Vec<i64> = p.slots.iter().map(|s| s.at_ms).collect();
    assert_eq!(
        got,
        vec![
            utc(2026, 1, 5, 8, 0, 0),
            utc(2026, 1, 6, 8, 0, 0),
            utc(2026, 1, 7, 8, 0, 0),
            utc(2026, 1, 8, 8, 0, 0)
        ]
    );
    let e = Calendar::from_cron("61 * * * *", Some("Nowhere"), None, Some(5), Some(1))
        .expect_err("invalid");
    let paths: Vec<&str> = e.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        vec!["$.cronExpression", "$.zoneId", "$.scheduleStartTime"]
    );
}

#[test]
fn extreme_times_do_not_overflow() {
    let c = cal(json!({
        "cronExpression": "@hourly",
        "intervals": [{"everySeconds": 7, "phaseSeconds": 3}]
    }));
    assert!(c.next_after(i64::MAX).is_none());
    assert!(c.next_after(i64::MAX - 1000).is_none());
    let p = c.preview(i64::MIN, i64::MAX, 3);
    assert!(p.slots.len() <= 3);
    let p = c.preview(i64::MAX - 10, i64::MAX, 3);
    assert!(p.slots.is_empty());
}

#[test]
fn a_cron_that_never_matches_is_refused() {
    let p = problems(json!({"cronExpression": "0 0 30 2 *"}));
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with("$.cronExpression: \"0 0 30 2 *\" never matches a date"),
        "{p:?}"
    );
    // A year in the past is valid but has no more slots.
    let c = cal(json!({"cronExpression": "0 0 0 1 1 * 2020"}));
    assert_eq!(c.next_after(utc(2026, 1, 1, 0, 0, 0)), None);
}

#[test]
fn a_cron_cache_parses_each_expression_once_and_answers_the_same() {
    let mut crons = CronCache::default();
    let specs = json!({"cronExpression": "0 15 10 ? * MON-FRI", "zoneId": "Europe/Paris"});
    let fresh = Calendar::compile(&def(specs.clone())).expect("valid");
    let from = utc(2026, 3, 1, 0, 0, 0);
    let until = utc(2026, 4, 1, 0, 0, 0);
    for _ in 0..3 {
        let cached = Calendar::compile_with(&def(specs.clone()), &mut crons).expect("valid");
        assert_eq!(
            cached.preview(from, until, 100),
            fresh.preview(from, until, 100)
        );
    }
    assert_eq!(crons.len(), 1);
    // A refused expression is refused again from the cache, with the same words.
    let bad = def(json!({"cronExpression": "0 0 30 2 *"}));
    let first = Calendar::compile_with(&bad, &mut crons).unwrap_err();
    let again = Calendar::compile_with(&bad, &mut crons).unwrap_err();
    assert_eq!(first, again);
    assert_eq!(first, Calendar::compile(&bad).unwrap_err());
    assert_eq!(crons.len(), 2);
    // Bounded: it starts afresh when full.
    for m in 0..crate::schedule::calendar::CRON_CACHE_CAP + 5 {
        let d = def(json!({"cronExpression": format!("{} {} * * * *", m % 60, m / 60 % 60)}));
        Calendar::compile_with(&d, &mut crons).expect("valid");
        assert!(crons.len() <= crate::schedule::calendar::CRON_CACHE_CAP);
    }
}
