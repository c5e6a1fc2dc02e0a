//! Properties of the state machine over random schedules and random event sequences.

use std::collections::{BTreeSet, HashMap};

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

const T0: i64 = 1_800_000_000_000;

#[derive(Debug, Clone)]
enum Ev {
    /// Move the clock on and tick (a driver that wakes late, or on time).
    Advance(i64),
    /// Tick without moving the clock.
    Tick,
    /// One of the open runs ends.
    End(usize, bool),
    /// One of the open runs could not be started.
    FailStart(usize),
    Pause,
    Resume,
    /// Run now, overriding the overlap policy with ALLOW_ALL or not.
    Trigger(bool),
    /// Backfill a range that ends this long before now and lasts this long, overriding
    /// the overlap policy with ALLOW_ALL or not.
    Backfill(i64, i64, bool),
}

fn ev() -> impl Strategy<Value = Ev> {
    prop_oneof![
        4 => (0i64..120_000).prop_map(Ev::Advance),
        1 => Just(Ev::Tick),
        3 => (any::<usize>(), any::<bool>()).prop_map(|(i, ok)| Ev::End(i, ok)),
        1 => any::<usize>().prop_map(Ev::FailStart),
        1 => Just(Ev::Pause),
        1 => Just(Ev::Resume),
        1 => any::<bool>().prop_map(Ev::Trigger),
        1 => (0i64..600_000, 0i64..600_000, any::<bool>()).prop_map(|(b, l, a)| Ev::Backfill(b, l, a)),
    ]
}

const OVERLAPS: [&str; 6] = [
    "SKIP",
    "BUFFER_ONE",
    "BUFFER_ALL",
    "CANCEL_OTHER",
    "TERMINATE_OTHER",
    "ALLOW_ALL",
];
const MISFIRES: [&str; 3] = ["SKIP", "RUN_LATEST", "RUN_ALL"];

fn schedule_json() -> impl Strategy<Value = Value> {
    let spec = prop_oneof![
        (1u64..200, 0u64..200).prop_map(|(e, p)| json!({
            "intervals": [{"everySeconds": e, "phaseSeconds": p % e}]
        })),
        prop::sample::select(vec!["*/7 * * * * *", "0 * * * * *", "*/20 * * * * *"]).prop_map(
            |c| json!({"cronSchedules": [{"cronExpression": c, "zoneId": "Europe/Berlin"}]})
        ),
        Just(json!({
            "cronExpression": "*/30 * * * * *",
            "intervals": [{"everySeconds": 45}],
            "exclusions": [{"fromTime": "00:10", "toTime": "00:20"}]
        })),
    ];
    (
        spec,
        0u64..20_000,
        0usize..6,
        0usize..3,
        prop::option::of(0u64..3600),
        prop::option::of(1u64..15),
        prop::option::of(1u32..4),
        prop::option::of(1u32..4),
    )
        .prop_map(
            |(spec, jitter, ov, mf, window, max_runs, pause_after, shards)| {
                let mut v = json!({
                    "name": "p",
                    "startWorkflowRequest": {"name": "wf"},
                    "jitterMs": jitter,
                    "overlapPolicy": OVERLAPS[ov],
                    "misfirePolicy": MISFIRES[mf],
                    "catchupWindowSeconds": window,
                    "maxRuns": max_runs,
                    "pauseAfterFailures": pause_after,
                    "shardTotal": shards,
                });
                if let (Some(o), Some(s)) = (v.as_object_mut(), spec.as_object()) {
                    for (k, x) in s {
                        o.insert(k.clone(), x.clone());
                    }
                }
                v
            },
        )
}

fn buffer_cap(p: OverlapPolicy) -> usize {
    match p {
        OverlapPolicy::Skip | OverlapPolicy::TerminateOther | OverlapPolicy::AllowAll => 0,
        OverlapPolicy::BufferOne | OverlapPolicy::CancelOther => 1,
        OverlapPolicy::BufferAll => MAX_BUFFER,
    }
}

#[derive(Default)]
struct Seen {
    /// Starts of scheduled runs by workflow id.
    scheduled_ids: HashMap<String, usize>,
    /// Distinct scheduled slots started.
    scheduled_slots: BTreeSet<i64>,
    /// Slots started or recorded with a reason.
    handled: BTreeSet<i64>,
}

fn check(
    s: &Schedule,
    st: &ScheduleState,
    actions: &[Action],
    now: i64,
    seen: &mut Seen,
) -> Result<(), TestCaseError> {
    let jitter = i64::try_from(s.def().jitter_ms).unwrap_or(i64::MAX);
    for a in actions {
        match a {
            Action::Start {
                slot_ms,
                fire_at_ms,
                workflow_id,
                kind: machine::RunKind::Scheduled,
                shard_index,
                ..
            } => {
                let shard = s.def().shard_total.map(|_| *shard_index);
                prop_assert_eq!(
                    workflow_id,
                    &super::workflow_id("p", *slot_ms, shard, false)
                );
                *seen.scheduled_ids.entry(workflow_id.clone()).or_default() += 1;
                prop_assert_eq!(
                    seen.scheduled_ids[workflow_id],
                    1,
                    "started twice: {}",
                    workflow_id
                );
                seen.scheduled_slots.insert(*slot_ms);
                seen.handled.insert(*slot_ms);
                let j = fire_at_ms - slot_ms;
                prop_assert!(
                    j >= 0 && (j < jitter || j == 0),
                    "jitter {} of {}",
                    j,
                    jitter
                );
                prop_assert!(*fire_at_ms <= now, "started before its time");
            }
            Action::Record {
                slot_ms: Some(slot),
                outcome: Outcome::Missed | Outcome::SkippedByOverlap | Outcome::Buffered,
                reason,
            } => {
                prop_assert!(!reason.is_empty());
                seen.handled.insert(*slot);
            }
            _ => {}
        }
    }
    prop_assert!(
        st.buffered.len() <= buffer_cap(s.def().overlap()),
        "buffer {} under {:?}",
        st.buffered.len(),
        s.def().overlap()
    );
    prop_assert_eq!(st.counters.fired, seen.scheduled_slots.len() as u64);
    prop_assert_eq!(st.runs_started, seen.scheduled_slots.len() as u64);
    if let Some(max) = s.def().max_runs {
        prop_assert!(st.runs_started <= max);
        prop_assert!(seen.scheduled_slots.len() as u64 <= max);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// No slot starts twice; every slot after creation is started or recorded with a
    /// reason; buffers stay within their policy; maxRuns holds; jitter stays in bounds.
    #[test]
    fn slots_are_handled_exactly_once(v in schedule_json(), events in prop::collection::vec(ev(), 0..40)) {
        let def: ScheduleDef = serde_json::from_value(v).expect("schedule JSON");
        let s = Schedule::new(def).expect("valid");
        let mut st = s.initial_state(T0);
        let mut now = T0;
        let mut seen = Seen::default();
        for e in events {
            let a = match e {
                Ev::Advance(d) => {
                    now += d;
                    s.tick(&mut st, now)
                }
                Ev::Tick => s.tick(&mut st, now),
                Ev::End(i, ok) => match st.running.keys().nth(i % st.running.len().max(1)).cloned() {
                    Some(id) => s.workflow_ended(&mut st, &id, ok, now),
                    None => vec![],
                },
                Ev::FailStart(i) => match st.running.keys().nth(i % st.running.len().max(1)).cloned() {
                    Some(id) => s.start_failed(&mut st, &id, now, "refused"),
                    None => vec![],
                },
                Ev::Pause => s.pause(&mut st, now, Some("p".into())),
                Ev::Resume => s.resume(&mut st, now, None),
                Ev::Trigger(allow) => s.trigger(&mut st, now, None, allow.then_some(OverlapPolicy::AllowAll)),
                Ev::Backfill(back, len, allow) => s.backfill(
                    &mut st,
                    now - back - len,
                    now - back,
                    allow.then_some(OverlapPolicy::AllowAll),
                    now,
                ),
            };
            check(&s, &st, &a, now, &mut seen)?;
            // The state survives a trip through storage.
            let back: ScheduleState = serde_json::from_value(serde_json::to_value(&st).expect("writes")).expect("reads");
            prop_assert_eq!(&back, &st);
        }
        // Settle: resume and tick until nothing more is due now.
        let mut a = s.resume(&mut st, now, None);
        loop {
            check(&s, &st, &a, now, &mut seen)?;
            if !a.contains(&Action::WakeAt(now)) {
                break;
            }
            a = s.tick(&mut st, now);
        }
        if !st.exhausted
            && let Some(next) = s.calendar().next_after(st.cursor_ms)
        {
            let fire = next.at_ms + machine::jitter_for("p", next.at_ms, s.def().jitter_ms);
            prop_assert!(fire > now, "slot {} due at {} left unhandled at {}", next.at_ms, fire, now);
        }
        // Every slot up to the cursor was started or recorded.
        let mut t = T0;
        while let Some(slot) = s.calendar().next_after(t) {
            if slot.at_ms > st.cursor_ms {
                break;
            }
            prop_assert!(seen.handled.contains(&slot.at_ms), "slot {} lost", slot.at_ms);
            t = slot.at_ms;
        }
    }

    /// The same inputs on the same state give the same actions: a replay after a crash
    /// starts the same workflow ids at the same times.
    #[test]
    fn replays_are_identical(v in schedule_json(), late in 0i64..3_600_000) {
        let def: ScheduleDef = serde_json::from_value(v).expect("schedule JSON");
        let s = Schedule::new(def).expect("valid");
        let st = s.initial_state(T0);
        let (mut a, mut b) = (st.clone(), st);
        prop_assert_eq!(s.tick(&mut a, T0 + late), s.tick(&mut b, T0 + late));
        prop_assert_eq!(a, b);
    }

    /// Previews are ordered, strictly after `from`, within range and bounded.
    #[test]
    fn previews_are_ordered_and_bounded(v in schedule_json(), from in 0i64..4_000_000_000_000, span in 0i64..100_000_000, limit in 0usize..3000) {
        let def: ScheduleDef = serde_json::from_value(v).expect("schedule JSON");
        let s = Schedule::new(def).expect("valid");
        let p = s.preview(from, from + span, limit);
        prop_assert!(p.slots.len() <= limit.min(MAX_PREVIEW));
        prop_assert!(p.slots.windows(2).all(|w| w[0].at_ms < w[1].at_ms));
        prop_assert!(p.slots.iter().all(|x| x.at_ms > from && x.at_ms <= from + span));
    }
}

mod dst {
    //! The calendar against a brute-force oracle that walks every minute around real
    //! daylight-saving changes and applies each policy by its definition.

    use chrono::{DateTime, LocalResult, NaiveDateTime, Offset, TimeZone};
    use chrono_tz::Tz;
    use croner::Cron;
    use proptest::prelude::*;
    use serde_json::json;

    use super::super::*;

    /// (zone, a daylight-saving change in it, epoch ms) and a zone without DST.
    const CHANGES: [(&str, i64); 7] = [
        ("America/New_York", 1_772_953_200_000), // 2026-03-08 07:00Z, spring
        ("America/New_York", 1_793_512_800_000), // 2026-11-01 06:00Z, autumn
        ("Europe/Berlin", 1_774_746_000_000),    // 2026-03-29 01:00Z, spring
        ("Europe/Berlin", 1_792_890_000_000),    // 2026-10-25 01:00Z, autumn
        ("Australia/Lord_Howe", 1_775_314_800_000), // 2026-04-04 15:00Z, autumn
        ("Australia/Lord_Howe", 1_791_041_400_000), // 2026-10-03 15:30Z, spring
        ("Asia/Tokyo", 1_772_953_200_000),
    ];
    const CRONS: [&str; 7] = [
        "0 */15 * * * *",
        "0 30 * * * *",
        "0 0,30,45 1-3 * * *",
        "0 */7 * * * *",
        "0 15 2 * * *",
        "0 59 1 * * *",
        "0 0 2 * * *",
    ];
    const GAPS: [&str; 3] = ["RUN_AT_GAP_END", "SHIFT_FORWARD", "SKIP"];
    const REPEATS: [&str; 3] = ["FIRST", "SECOND", "BOTH"];
    const MINUTE: i64 = 60_000;

    fn local(tz: Tz, ms: i64) -> NaiveDateTime {
        let utc = DateTime::from_timestamp_millis(ms)
            .map(|d| d.naive_utc())
            .unwrap_or_default();
        tz.from_utc_datetime(&utc).naive_local()
    }

    fn offset(tz: Tz, ms: i64) -> i64 {
        let utc = DateTime::from_timestamp_millis(ms)
            .map(|d| d.naive_utc())
            .unwrap_or_default();
        i64::from(tz.offset_from_utc_datetime(&utc).fix().local_minus_utc()) * 1000
    }

    /// The slots by definition, minute by minute, in `(from, until]`.
    fn oracle(tz: Tz, cron: &Cron, gap: &str, repeat: &str, from: i64, until: i64) -> Vec<i64> {
        let matches = |w: &NaiveDateTime| cron.is_time_matching(w).unwrap_or(false);
        let mut out = Vec::new();
        let mut i = from - from.rem_euclid(MINUTE) + MINUTE;
        while i <= until {
            let w = local(tz, i);
            let mut slot = match tz.from_local_datetime(&w) {
                LocalResult::Ambiguous(a, b) => {
                    matches(&w)
                        && match repeat {
                            "FIRST" => a.timestamp_millis() == i,
                            "SECOND" => b.timestamp_millis() == i,
                            _ => true,
                        }
                }
                _ => matches(&w),
            };
            let (before, after) = (offset(tz, i - 1000), offset(tz, i));
            let jump = after - before;
            match gap {
                // A gap wall time read with the offset before the jump lands here.
                "SHIFT_FORWARD" => {
                    let before_jump = offset(tz, i - 3 * 3_600_000);
                    let g = w - chrono::Duration::milliseconds(offset(tz, i) - before_jump);
                    if matches!(tz.from_local_datetime(&g), LocalResult::None) && matches(&g) {
                        slot = true;
                    }
                }
                // The first instant after a jump stands for every wall time it skipped.
                "RUN_AT_GAP_END" if jump > 0 => {
                    let start = local(tz, i - 1000) + chrono::Duration::seconds(1);
                    let mut g = start;
                    while g < w {
                        if matches(&g) {
                            slot = true;
                        }
                        g += chrono::Duration::minutes(1);
                    }
                }
                _ => {}
            }
            if slot {
                out.push(i);
            }
            i += MINUTE;
        }
        out
    }

    #[test]
    fn the_changes_are_real() {
        for (zone, at) in CHANGES {
            let tz: Tz = zone.parse().expect("zone");
            let jump = offset(tz, at) - offset(tz, at - 1000);
            if zone == "Asia/Tokyo" {
                assert_eq!(jump, 0);
            } else {
                assert!(
                    jump.abs() == 3_600_000 || jump.abs() == 1_800_000,
                    "{zone} {at}"
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn cron_slots_match_the_definition_around_dst_changes(
            change in 0usize..CHANGES.len(),
            cron in 0usize..CRONS.len(),
            gap in 0usize..3,
            repeat in 0usize..3,
            before in 0i64..(30 * MINUTE / 1000),
        ) {
            let (zone, at) = CHANGES[change];
            let from = at - 6 * 3_600_000 + before * 1000;
            let until = at + 6 * 3_600_000;
            let c = Calendar::from_cron(
                CRONS[cron],
                Some(zone),
                Some(serde_json::from_value(json!({"gap": GAPS[gap], "overlap": REPEATS[repeat]})).expect("policy")),
                None,
                None,
            ).expect("valid");
            let got: Vec<i64> = c.preview(from, until, MAX_PREVIEW).slots.iter().map(|s| s.at_ms).collect();
            let tz: Tz = zone.parse().expect("zone");
            let parsed = croner::parser::CronParser::builder()
                .seconds(croner::parser::Seconds::Optional)
                .build()
                .parse(CRONS[cron])
                .expect("cron");
            let want = oracle(tz, &parsed, GAPS[gap], REPEATS[repeat], from, until);
            prop_assert_eq!(got, want);
        }
    }
}
