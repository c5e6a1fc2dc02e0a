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
                ..
            } => {
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
                Ev::Resume => s.resume(&mut st, now),
                Ev::Trigger(allow) => s.trigger(&mut st, now, None, allow.then_some(OverlapPolicy::AllowAll)),
            };
            check(&s, &st, &a, now, &mut seen)?;
            // The state survives a trip through storage.
            let back: ScheduleState = serde_json::from_value(serde_json::to_value(&st).expect("writes")).expect("reads");
            prop_assert_eq!(&back, &st);
        }
        // Settle: resume and tick until nothing more is due now.
        let mut a = s.resume(&mut st, now);
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
