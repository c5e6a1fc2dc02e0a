//! The state machine on a fake clock.

use serde_json::{Value, json};

use super::machine::{MAX_SLOTS_PER_CALL, jitter_for};
use super::*;

/// A whole hour, so interval slots fall on round numbers.
const T0: i64 = 1_800_000_000_000;
const MIN: i64 = 60_000;

fn sched(extra: Value) -> Schedule {
    let mut v = json!({
        "name": "s",
        "intervals": [{"everySeconds": 60}],
        "startWorkflowRequest": {"name": "wf", "input": {"a": 1}}
    });
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        for (k, val) in e {
            o.insert(k.clone(), val.clone());
        }
    }
    let def: ScheduleDef = serde_json::from_value(v).expect("schedule JSON");
    Schedule::new(def).expect("valid schedule")
}

/// (slot, workflow id, kind) of each start.
fn starts(actions: &[Action]) -> Vec<(i64, String, RunKind)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Start {
                slot_ms,
                workflow_id,
                kind,
                ..
            } => Some((*slot_ms, workflow_id.clone(), *kind)),
            _ => None,
        })
        .collect()
}

fn slots_started(actions: &[Action]) -> Vec<i64> {
    starts(actions).into_iter().map(|s| s.0).collect()
}

fn recorded(actions: &[Action], outcome: Outcome) -> Vec<Option<i64>> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Record {
                slot_ms,
                outcome: o,
                ..
            } if *o == outcome => Some(*slot_ms),
            _ => None,
        })
        .collect()
}

fn wake(actions: &[Action]) -> Option<i64> {
    actions.iter().find_map(|a| match a {
        Action::WakeAt(t) => Some(*t),
        _ => None,
    })
}

fn ids(actions: &[Action]) -> Vec<String> {
    starts(actions).into_iter().map(|s| s.1).collect()
}

#[test]
fn fires_on_time_with_the_scheduler_inputs() {
    let s = sched(json!({
        "startWorkflowRequest": {
            "name": "wf", "version": 3, "input": {"a": 1},
            "correlationId": "${scheduleName}-${scheduledTime}", "priority": 7
        }
    }));
    let mut st = s.initial_state(T0);
    let a = s.tick(&mut st, T0);
    assert!(starts(&a).is_empty());
    assert_eq!(wake(&a), Some(T0 + MIN));
    let a = s.tick(&mut st, T0 + MIN);
    let Some(Action::Start {
        slot_ms,
        fire_at_ms,
        workflow_id,
        kind,
        shard_total,
        request,
        ..
    }) = a.first()
    else {
        panic!("expected a start: {a:?}");
    };
    assert_eq!(
        (*slot_ms, *fire_at_ms, *kind, *shard_total),
        (T0 + MIN, T0 + MIN, RunKind::Scheduled, 1)
    );
    assert_eq!(workflow_id, &workflow_id_for("s", T0 + MIN));
    assert_eq!(request.name, "wf");
    assert_eq!(request.version, Some(3));
    assert_eq!(request.priority, Some(7));
    assert_eq!(
        request.correlation_id.as_deref(),
        Some(format!("s-{}", T0 + MIN).as_str())
    );
    let i = &request.input;
    assert_eq!(i["a"], 1);
    assert_eq!(i["_startedByScheduler"], "s");
    assert_eq!(i["_scheduledTime"], T0 + MIN);
    assert_eq!(i["_executedTime"], T0 + MIN);
    assert_eq!(i["_executionId"], Value::String(workflow_id.clone()));
    assert_eq!(i["_schedulerCron"], "@every 60s");
    assert!(i.get("shardIndex").is_none());
    assert_eq!(wake(&a), Some(T0 + 2 * MIN));
    assert_eq!(st.counters.fired, 1);
    assert_eq!(st.last_fired_ms, Some(T0 + MIN));
    assert_eq!(st.next_slot_ms, Some(T0 + 2 * MIN));
    // Nothing is due in between.
    assert!(starts(&s.tick(&mut st, T0 + MIN + 30_000)).is_empty());
}

fn workflow_id_for(name: &str, slot: i64) -> String {
    workflow_id(name, slot, None, false)
}

#[test]
fn ids_are_deterministic_and_a_replay_gives_the_same_actions() {
    let s = sched(json!({"jitterMs": 20_000}));
    let st0 = s.initial_state(T0);
    let (mut a, mut b) = (st0.clone(), st0);
    let x = s.tick(&mut a, T0 + 10 * MIN);
    let y = s.tick(&mut b, T0 + 10 * MIN);
    assert_eq!(x, y);
    assert_eq!(a, b);
    let id = workflow_id("s", T0, None, false);
    assert_eq!(id, workflow_id("s", T0, None, false));
    assert_eq!(id.len(), 36);
    for other in [
        workflow_id("t", T0, None, false),
        workflow_id("s", T0 + 1, None, false),
        workflow_id("s", T0, Some(0), false),
        workflow_id("s", T0, None, true),
    ] {
        assert_ne!(id, other);
    }
}

#[test]
fn jitter_delays_each_slot_within_bounds_and_deterministically() {
    let s = sched(json!({"jitterMs": 30_000}));
    let mut st = s.initial_state(T0);
    let j = jitter_for("s", T0 + MIN, 30_000);
    assert!((0..30_000).contains(&j));
    let a = s.tick(&mut st, T0);
    assert_eq!(wake(&a), Some(T0 + MIN + j));
    // Not before its fire time.
    if j > 0 {
        assert!(starts(&s.tick(&mut st, T0 + MIN + j - 1)).is_empty());
    }
    let a = s.tick(&mut st, T0 + MIN + j);
    assert!(
        matches!(a.first(), Some(Action::Start { fire_at_ms, .. }) if *fire_at_ms == T0 + MIN + j)
    );
    let spread: std::collections::BTreeSet<i64> = (0..200)
        .map(|i| jitter_for("s", T0 + i * MIN, 30_000))
        .collect();
    assert!(spread.len() > 150);
    assert!(spread.iter().all(|j| (0..30_000).contains(j)));
    assert_eq!(jitter_for("s", T0, 0), 0);
}

/// Every 10 minutes, the scheduler comes back 1 h 5 s after creation: 6 slots are late.
fn downtime(extra: Value) -> (Schedule, ScheduleState, Vec<Action>) {
    let mut e = json!({"intervals": [{"everySeconds": 600}]});
    if let (Some(o), Some(x)) = (e.as_object_mut(), extra.as_object()) {
        for (k, v) in x {
            o.insert(k.clone(), v.clone());
        }
    }
    let s = sched(e);
    let mut st = s.initial_state(T0);
    let a = s.tick(&mut st, T0 + 60 * MIN + 5_001);
    (s, st, a)
}

#[test]
fn misfire_skip_records_every_late_slot() {
    let (s, mut st, a) = downtime(json!({"misfirePolicy": "SKIP"}));
    assert!(starts(&a).is_empty());
    let missed = recorded(&a, Outcome::Missed);
    assert_eq!(
        missed,
        (1..=6).map(|i| Some(T0 + i * 10 * MIN)).collect::<Vec<_>>()
    );
    assert!(a.iter().any(|x| matches!(x, Action::Alert { kind: AlertKind::Missed, message, .. } if message.starts_with("6 slot(s)"))));
    assert!(a.iter().any(|x| matches!(x, Action::Record { reason, .. } if reason.contains("misfire policy SKIP") && reason.contains("not running"))));
    assert_eq!(st.counters.missed, 6);
    assert_eq!(wake(&a), Some(T0 + 70 * MIN));
    // A slot handled within the threshold still runs.
    let a = s.tick(&mut st, T0 + 70 * MIN + 4_000);
    assert_eq!(slots_started(&a), vec![T0 + 70 * MIN]);
}

#[test]
fn misfire_run_latest_runs_the_last_one_once() {
    let (_, st, a) = downtime(json!({"misfirePolicy": "RUN_LATEST"}));
    assert_eq!(slots_started(&a), vec![T0 + 60 * MIN]);
    assert_eq!(recorded(&a, Outcome::Missed).len(), 5);
    assert_eq!((st.counters.fired, st.counters.missed), (1, 5));
}

#[test]
fn misfire_run_all_runs_every_slot_in_the_window() {
    let (_, st, a) = downtime(json!({"misfirePolicy": "RUN_ALL"}));
    assert_eq!(
        slots_started(&a),
        (1..=6).map(|i| T0 + i * 10 * MIN).collect::<Vec<_>>()
    );
    assert_eq!(st.counters.fired, 6);
    assert!(recorded(&a, Outcome::Missed).is_empty());
}

#[test]
fn slots_older_than_the_catchup_window_are_missed() {
    let (_, _, a) = downtime(json!({"misfirePolicy": "RUN_ALL", "catchupWindowSeconds": 1800}));
    assert_eq!(
        recorded(&a, Outcome::Missed),
        vec![
            Some(T0 + 10 * MIN),
            Some(T0 + 20 * MIN),
            Some(T0 + 30 * MIN)
        ]
    );
    assert_eq!(
        slots_started(&a),
        vec![T0 + 40 * MIN, T0 + 50 * MIN, T0 + 60 * MIN]
    );
    assert!(
        a.iter().any(
            |x| matches!(x, Action::Record { reason, .. } if reason.contains("catch-up window"))
        )
    );
}

#[test]
fn conductors_catchup_flag_maps_to_run_all() {
    let (_, _, a) = downtime(json!({"runCatchupScheduleInstances": true}));
    assert_eq!(slots_started(&a).len(), 6);
    let (_, _, a) = downtime(json!({"runCatchupScheduleInstances": false}));
    assert_eq!(slots_started(&a).len(), 0);
    // An explicit policy wins.
    let (_, _, a) =
        downtime(json!({"runCatchupScheduleInstances": true, "misfirePolicy": "RUN_LATEST"}));
    assert_eq!(slots_started(&a).len(), 1);
}

#[test]
fn a_long_downtime_is_handled_in_bounded_steps() {
    let s = sched(json!({"intervals": [{"everySeconds": 1}], "misfirePolicy": "SKIP"}));
    let mut st = s.initial_state(T0);
    let now = T0 + 7200 * 1000;
    let mut calls = 0;
    let (mut missed, mut started) = (0, 0);
    loop {
        calls += 1;
        let a = s.tick(&mut st, now);
        missed += recorded(&a, Outcome::Missed).len();
        started += starts(&a).len();
        assert!(a.len() <= MAX_SLOTS_PER_CALL + 2);
        if wake(&a) != Some(now) {
            break;
        }
    }
    // The last slots are within the misfire threshold, so on time.
    assert_eq!((missed, started), (7194, 6));
    assert_eq!(calls, 8);
    assert_eq!(st.cursor_ms, now);
}

/// Runs slot 1 and leaves it open, then handles slot 2 (and 3) with the policy.
fn overlapping(policy: &str) -> (Schedule, ScheduleState, Vec<Action>, Vec<Action>) {
    let s = sched(json!({"overlapPolicy": policy}));
    let mut st = s.initial_state(T0);
    let a1 = s.tick(&mut st, T0 + MIN);
    assert_eq!(slots_started(&a1), vec![T0 + MIN]);
    let a2 = s.tick(&mut st, T0 + 2 * MIN);
    (s, st, a1, a2)
}

#[test]
fn overlap_skip() {
    let (s, mut st, a1, a2) = overlapping("SKIP");
    assert!(starts(&a2).is_empty());
    assert_eq!(
        recorded(&a2, Outcome::SkippedByOverlap),
        vec![Some(T0 + 2 * MIN)]
    );
    assert_eq!(st.counters.skipped_by_overlap, 1);
    assert!(
        s.workflow_ended(&mut st, &ids(&a1)[0], true, T0 + 150_000)
            .is_empty()
    );
    assert_eq!(
        slots_started(&s.tick(&mut st, T0 + 3 * MIN)),
        vec![T0 + 3 * MIN]
    );
}

#[test]
fn overlap_buffer_one() {
    let (s, mut st, a1, a2) = overlapping("BUFFER_ONE");
    assert_eq!(recorded(&a2, Outcome::Buffered), vec![Some(T0 + 2 * MIN)]);
    let a3 = s.tick(&mut st, T0 + 3 * MIN);
    assert_eq!(
        recorded(&a3, Outcome::SkippedByOverlap),
        vec![Some(T0 + 3 * MIN)]
    );
    assert_eq!(st.buffered.len(), 1);
    let e = s.workflow_ended(&mut st, &ids(&a1)[0], true, T0 + 3 * MIN + 1);
    assert_eq!(slots_started(&e), vec![T0 + 2 * MIN]);
    // A buffered run starts late but keeps its slot and its id.
    assert!(
        matches!(&e[0], Action::Start { request, .. } if request.input["_executedTime"] == T0 + 3 * MIN + 1)
    );
    assert_eq!(ids(&e), vec![workflow_id_for("s", T0 + 2 * MIN)]);
    assert!(st.buffered.is_empty());
    assert_eq!(st.counters.buffered, 1);
}

#[test]
fn overlap_buffer_all_runs_them_one_after_another() {
    let (s, mut st, a1, _) = overlapping("BUFFER_ALL");
    s.tick(&mut st, T0 + 3 * MIN);
    s.tick(&mut st, T0 + 4 * MIN);
    assert_eq!(st.buffered.len(), 3);
    let mut open = ids(&a1)[0].clone();
    for (i, slot) in [2, 3, 4].into_iter().enumerate() {
        let e = s.workflow_ended(&mut st, &open, i % 2 == 0, T0 + 5 * MIN + i as i64);
        assert_eq!(slots_started(&e), vec![T0 + slot * MIN]);
        open = ids(&e)[0].clone();
    }
    assert!(st.buffered.is_empty());
}

#[test]
fn overlap_cancel_other_cancels_then_starts_the_latest() {
    let (s, mut st, a1, a2) = overlapping("CANCEL_OTHER");
    let first = ids(&a1)[0].clone();
    assert!(a2.contains(&Action::Cancel {
        workflow_id: first.clone(),
        reason: format!(
            "slot {} of schedule s replaces it (CANCEL_OTHER)",
            T0 + 2 * MIN
        ),
    }));
    assert_eq!(recorded(&a2, Outcome::Buffered), vec![Some(T0 + 2 * MIN)]);
    // Another slot before the cancellation lands replaces the waiting one; no new cancel.
    let a3 = s.tick(&mut st, T0 + 3 * MIN);
    assert!(!a3.iter().any(|a| matches!(a, Action::Cancel { .. })));
    assert_eq!(
        recorded(&a3, Outcome::SkippedByOverlap),
        vec![Some(T0 + 2 * MIN)]
    );
    assert_eq!(st.buffered.len(), 1);
    // The cancelled run ending is not a failure.
    let e = s.workflow_ended(&mut st, &first, false, T0 + 3 * MIN + 5);
    assert_eq!(slots_started(&e), vec![T0 + 3 * MIN]);
    assert_eq!((st.counters.failed, st.consecutive_failures), (0, 0));
}

#[test]
fn overlap_terminate_other_starts_at_once() {
    let (s, mut st, a1, a2) = overlapping("TERMINATE_OTHER");
    let first = ids(&a1)[0].clone();
    assert!(matches!(&a2[0], Action::Terminate { workflow_id, .. } if *workflow_id == first));
    assert_eq!(slots_started(&a2), vec![T0 + 2 * MIN]);
    assert_eq!(st.running.len(), 1);
    // The terminated run's end is not the schedule's business any more.
    assert!(
        s.workflow_ended(&mut st, &first, false, T0 + 2 * MIN + 1)
            .is_empty()
    );
    assert_eq!(st.counters.failed, 0);
}

#[test]
fn overlap_allow_all_starts_every_slot() {
    let (_, st, _, a2) = overlapping("ALLOW_ALL");
    assert_eq!(slots_started(&a2), vec![T0 + 2 * MIN]);
    assert_eq!(st.running.len(), 2);
}

#[test]
fn max_runs_stops_the_schedule() {
    let s = sched(json!({"maxRuns": 2}));
    let mut st = s.initial_state(T0);
    let a = s.tick(&mut st, T0 + 5 * MIN);
    // The default misfire policy skips late slots; on-time ones count.
    assert!(slots_started(&a).len() <= 1);
    let s = sched(json!({"maxRuns": 2, "misfirePolicy": "RUN_ALL"}));
    let mut st = s.initial_state(T0);
    let a = s.tick(&mut st, T0 + 5 * MIN);
    assert_eq!(slots_started(&a), vec![T0 + MIN, T0 + 2 * MIN]);
    assert_eq!(recorded(&a, Outcome::LimitReached), vec![None]);
    assert_eq!(wake(&a), None);
    assert!(st.exhausted);
    assert!(s.tick(&mut st, T0 + 10 * MIN).is_empty());
    // Manual runs do not count.
    assert_eq!(
        starts(&s.trigger(&mut st, T0 + 11 * MIN, None, None)).len(),
        1
    );
}

#[test]
fn max_runs_counts_buffered_runs() {
    let s = sched(json!({"maxRuns": 2, "overlapPolicy": "BUFFER_ALL"}));
    let mut st = s.initial_state(T0);
    let a1 = s.tick(&mut st, T0 + MIN);
    assert_eq!(wake(&a1), Some(T0 + 2 * MIN));
    // The second slot waits in the buffer: that is the last one.
    let a2 = s.tick(&mut st, T0 + 2 * MIN);
    assert_eq!(recorded(&a2, Outcome::Buffered), vec![Some(T0 + 2 * MIN)]);
    assert_eq!(recorded(&a2, Outcome::LimitReached), vec![None]);
    assert_eq!(wake(&a2), None);
    assert!(s.tick(&mut st, T0 + 3 * MIN).is_empty());
    let e = s.workflow_ended(&mut st, &ids(&a1)[0], true, T0 + 4 * MIN);
    assert_eq!(slots_started(&e), vec![T0 + 2 * MIN]);
    assert_eq!(st.runs_started, 2);
}

#[test]
fn pauses_itself_after_consecutive_failures_and_resumes() {
    let s = sched(json!({"pauseAfterFailures": 2, "misfirePolicy": "SKIP"}));
    let mut st = s.initial_state(T0);
    let a1 = s.tick(&mut st, T0 + MIN);
    assert!(
        s.workflow_ended(&mut st, &ids(&a1)[0], false, T0 + MIN + 1)
            .iter()
            .any(|a| matches!(
                a,
                Action::Alert {
                    kind: AlertKind::RunFailed,
                    ..
                }
            ))
    );
    let a2 = s.tick(&mut st, T0 + 2 * MIN);
    let e = s.workflow_ended(&mut st, &ids(&a2)[0], false, T0 + 2 * MIN + 1);
    assert_eq!(recorded(&e, Outcome::PausedAfterFailures), vec![None]);
    assert!(e.iter().any(|a| matches!(
        a,
        Action::Alert {
            kind: AlertKind::Paused,
            ..
        }
    )));
    assert!(st.paused);
    assert_eq!(
        st.note.as_deref(),
        Some("paused after 2 consecutive failed runs")
    );
    // Paused: nothing happens, nothing to wake for.
    assert!(s.tick(&mut st, T0 + 5 * MIN).is_empty());
    // Resuming forgives the failures; slots during the pause follow the misfire policy.
    let r = s.resume(&mut st, T0 + 5 * MIN + 10_000, None);
    assert_eq!(st.consecutive_failures, 0);
    assert_eq!(recorded(&r, Outcome::Missed).len(), 3);
    assert!(r.iter().any(
        |a| matches!(a, Action::Record { reason, .. } if reason.contains("the schedule was paused"))
    ));
    assert_eq!(wake(&r), Some(T0 + 6 * MIN));
}

#[test]
fn a_success_resets_the_failure_count() {
    let s = sched(json!({"pauseAfterFailures": 2, "overlapPolicy": "ALLOW_ALL"}));
    let mut st = s.initial_state(T0);
    let a1 = s.tick(&mut st, T0 + MIN);
    let a2 = s.tick(&mut st, T0 + 2 * MIN);
    let a3 = s.tick(&mut st, T0 + 3 * MIN);
    s.workflow_ended(&mut st, &ids(&a1)[0], false, T0 + 4 * MIN);
    s.workflow_ended(&mut st, &ids(&a2)[0], true, T0 + 4 * MIN);
    s.workflow_ended(&mut st, &ids(&a3)[0], false, T0 + 4 * MIN);
    assert!(!st.paused);
    assert_eq!(st.consecutive_failures, 1);
    assert_eq!((st.counters.succeeded, st.counters.failed), (1, 2));
}

#[test]
fn pause_with_a_note_and_resume_running_the_latest() {
    let s = sched(json!({"misfirePolicy": "RUN_LATEST"}));
    let mut st = s.initial_state(T0);
    s.pause(&mut st, T0 + 30_000, Some("maintenance".into()));
    assert!(st.paused);
    assert_eq!(st.note.as_deref(), Some("maintenance"));
    assert!(s.tick(&mut st, T0 + 10 * MIN).is_empty());
    let r = s.resume(&mut st, T0 + 10 * MIN + 30_000, Some("done".into()));
    assert!(!st.paused);
    assert_eq!(st.note.as_deref(), Some("done"));
    assert_eq!(slots_started(&r), vec![T0 + 10 * MIN]);
    assert_eq!(recorded(&r, Outcome::Missed).len(), 9);
}

#[test]
fn a_schedule_created_paused_waits() {
    let s = sched(json!({"paused": true, "pausedReason": "not yet"}));
    let mut st = s.initial_state(T0);
    assert!(st.paused);
    assert_eq!(st.note.as_deref(), Some("not yet"));
    assert!(s.tick(&mut st, T0 + MIN).is_empty());
}

#[test]
fn run_now_with_input_override_and_overlap() {
    let s = sched(json!({"overlapPolicy": "SKIP"}));
    let mut st = s.initial_state(T0);
    let mut o = crate::model::Object::new();
    o.insert("a".into(), json!(2));
    o.insert("b".into(), json!(true));
    let t = s.trigger(&mut st, T0 + 10_000, Some(o), None);
    let Some(Action::Start {
        request,
        workflow_id,
        kind,
        ..
    }) = t.first()
    else {
        panic!("{t:?}");
    };
    assert_eq!(*kind, RunKind::Manual);
    assert_eq!(
        workflow_id,
        &super::workflow_id("s", T0 + 10_000, None, true)
    );
    assert_eq!(
        (request.input["a"].clone(), request.input["b"].clone()),
        (json!(2), json!(true))
    );
    assert_eq!(request.input["_schedulerCron"], Value::Null);
    // The schedule's overlap policy applies to run-now too ...
    let t2 = s.trigger(&mut st, T0 + 20_000, None, None);
    assert_eq!(
        recorded(&t2, Outcome::SkippedByOverlap),
        vec![Some(T0 + 20_000)]
    );
    // ... unless overridden.
    let t3 = s.trigger(&mut st, T0 + 30_000, None, Some(OverlapPolicy::AllowAll));
    assert_eq!(starts(&t3).len(), 1);
    assert_eq!(st.counters.manual, 2);
    // The scheduled slot meets the open manual runs.
    let a = s.tick(&mut st, T0 + MIN);
    assert_eq!(
        recorded(&a, Outcome::SkippedByOverlap),
        vec![Some(T0 + MIN)]
    );
    // Run-now works while paused.
    s.pause(&mut st, T0 + MIN, None);
    let t4 = s.trigger(&mut st, T0 + 70_000, None, Some(OverlapPolicy::AllowAll));
    assert_eq!(starts(&t4).len(), 1);
}

#[test]
fn backfill_runs_a_past_range_with_the_slot_ids() {
    let s = sched(json!({"overlapPolicy": "SKIP"}));
    let mut st = s.initial_state(T0 + 60 * MIN);
    let a = s.backfill(
        &mut st,
        T0,
        T0 + 4 * MIN,
        Some(OverlapPolicy::AllowAll),
        T0 + 60 * MIN,
    );
    let got = starts(&a);
    assert_eq!(got.len(), 5);
    for (i, (slot, id, kind)) in got.iter().enumerate() {
        assert_eq!(*slot, T0 + i as i64 * MIN);
        assert_eq!(id, &workflow_id_for("s", *slot));
        assert_eq!(*kind, RunKind::Backfill);
    }
    assert_eq!(st.counters.backfilled, 5);
    assert_eq!(st.counters.fired, 0);
    // Under the schedule's own SKIP policy only the first would run.
    let mut st = s.initial_state(T0 + 60 * MIN);
    let a = s.backfill(&mut st, T0, T0 + 4 * MIN, None, T0 + 60 * MIN);
    assert_eq!(starts(&a).len(), 1);
    assert_eq!(recorded(&a, Outcome::SkippedByOverlap).len(), 4);
    // The range stops at now.
    let mut st = s.initial_state(T0);
    let a = s.backfill(
        &mut st,
        T0,
        T0 + 600 * MIN,
        Some(OverlapPolicy::AllowAll),
        T0 + 2 * MIN,
    );
    assert_eq!(starts(&a).len(), 3);
}

#[test]
fn a_large_backfill_continues_on_later_ticks() {
    let s = sched(json!({"intervals": [{"everySeconds": 1}]}));
    let now = T0 + 3_600_000;
    let mut st = s.initial_state(now);
    let mut a = s.backfill(&mut st, T0, now - 1, Some(OverlapPolicy::AllowAll), now);
    let mut total = starts(&a).len();
    assert_eq!(total, MAX_SLOTS_PER_CALL);
    while wake(&a) == Some(now) {
        a = s.tick(&mut st, now);
        total += starts(&a).len();
    }
    assert_eq!(total, 3600);
    assert!(st.backfills.is_empty());
}

#[test]
fn sharding_starts_one_run_per_shard() {
    let s = sched(json!({
        "shardTotal": 3,
        "startWorkflowRequest": {"name": "wf", "correlationId": "job-${shardIndex}"}
    }));
    let mut st = s.initial_state(T0);
    let a = s.tick(&mut st, T0 + MIN);
    let got: Vec<(String, u32, Value, Value, Option<String>)> = a
        .iter()
        .filter_map(|x| match x {
            Action::Start {
                workflow_id,
                shard_index,
                request,
                ..
            } => Some((
                workflow_id.clone(),
                *shard_index,
                request.input["shardIndex"].clone(),
                request.input["shardTotal"].clone(),
                request.correlation_id.clone(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(got.len(), 3);
    for (i, (id, idx, si, stot, corr)) in got.iter().enumerate() {
        assert_eq!(*idx, i as u32);
        assert_eq!(id, &workflow_id("s", T0 + MIN, Some(i as u32), false));
        assert_eq!((si.clone(), stot.clone()), (json!(i), json!(3)));
        assert_eq!(corr.as_deref(), Some(format!("job-{i}").as_str()));
    }
    assert_eq!(st.counters.fired, 1);
    assert_eq!(st.running.len(), 3);
}

#[test]
fn a_failed_start_is_recorded_alerted_and_counted() {
    let s = sched(json!({"overlapPolicy": "BUFFER_ONE", "pauseAfterFailures": 3}));
    let mut st = s.initial_state(T0);
    let a1 = s.tick(&mut st, T0 + MIN);
    s.tick(&mut st, T0 + 2 * MIN);
    let id = ids(&a1)[0].clone();
    let f = s.start_failed(&mut st, &id, T0 + 2 * MIN + 1, "no such workflow");
    assert_eq!(recorded(&f, Outcome::FailedToStart), vec![Some(T0 + MIN)]);
    assert!(f.iter().any(|a| matches!(a, Action::Alert { kind: AlertKind::StartFailed, message, .. } if message.contains("no such workflow"))));
    // The waiting run goes next.
    assert_eq!(slots_started(&f), vec![T0 + 2 * MIN]);
    assert_eq!(
        (st.counters.failed_to_start, st.consecutive_failures),
        (1, 1)
    );
    // A second report of the same failure changes nothing.
    assert!(
        s.start_failed(&mut st, &id, T0 + 2 * MIN + 2, "again")
            .is_empty()
    );
    assert!(s.workflow_started(&mut st, &ids(&f)[0]).is_empty());
    assert!(st.running.values().all(|r| r.confirmed));
}

#[test]
fn state_and_actions_round_trip_through_json() {
    let s = sched(json!({"overlapPolicy": "BUFFER_ALL", "shardTotal": 2}));
    let mut st = s.initial_state(T0);
    let a = s.tick(&mut st, T0 + MIN);
    s.tick(&mut st, T0 + 2 * MIN);
    s.pause(&mut st, T0 + 2 * MIN, Some("x".into()));
    let text = serde_json::to_string(&st).expect("writes");
    let back: ScheduleState = serde_json::from_str(&text).expect("reads");
    assert_eq!(back, st);
    let j = serde_json::to_value(&a[0]).expect("writes");
    assert_eq!(j["type"], "START");
    assert_eq!(j["shardTotal"], 2);
    assert_eq!(j["request"]["name"], "wf");
    let back: Action = serde_json::from_value(j).expect("reads");
    assert_eq!(back, a[0]);
}

#[test]
fn a_schedule_past_its_end_stops_waking() {
    let s = sched(json!({"scheduleEndTime": T0 + 2 * MIN}));
    let mut st = s.initial_state(T0);
    s.tick(&mut st, T0 + MIN);
    let a = s.tick(&mut st, T0 + 2 * MIN);
    assert_eq!(slots_started(&a), vec![T0 + 2 * MIN]);
    assert_eq!(wake(&a), None);
    assert_eq!(st.next_slot_ms, None);
}

#[test]
fn extreme_clock_values_do_not_panic() {
    let s = sched(json!({"misfirePolicy": "RUN_ALL", "jitterMs": 1000}));
    let mut st = s.initial_state(i64::MIN / 2);
    let a = s.tick(&mut st, i64::MAX / 2);
    assert!(starts(&a).is_empty());
    assert!(!recorded(&a, Outcome::Missed).is_empty());
    let mut st = s.initial_state(i64::MAX - 1);
    assert!(s.tick(&mut st, i64::MAX).is_empty());
}

#[test]
fn resuming_a_running_schedule_keeps_its_failure_count() {
    let s = sched(json!({"overlapPolicy": "ALLOW_ALL"}));
    let mut st = s.initial_state(T0);
    let a = s.tick(&mut st, T0 + MIN);
    s.workflow_ended(&mut st, &ids(&a)[0], false, T0 + MIN + 1);
    s.resume(&mut st, T0 + MIN + 2, None);
    assert_eq!(st.consecutive_failures, 1);
}

#[test]
fn a_slot_within_the_threshold_runs_even_with_no_catchup_window() {
    let s = sched(json!({"catchupWindowSeconds": 0, "misfirePolicy": "SKIP"}));
    let mut st = s.initial_state(T0);
    let a = s.tick(&mut st, T0 + MIN + 3_000);
    assert_eq!(slots_started(&a), vec![T0 + MIN]);
    let a = s.tick(&mut st, T0 + 2 * MIN + 6_000);
    assert_eq!(recorded(&a, Outcome::Missed), vec![Some(T0 + 2 * MIN)]);
}

#[test]
fn a_backfill_over_an_open_slot_does_not_start_it_again() {
    let s = sched(json!({}));
    let mut st = s.initial_state(T0);
    let a = s.tick(&mut st, T0 + MIN);
    assert_eq!(slots_started(&a), vec![T0 + MIN]);
    let b = s.backfill(
        &mut st,
        T0 + MIN,
        T0 + MIN,
        Some(OverlapPolicy::AllowAll),
        T0 + MIN + 5,
    );
    assert!(starts(&b).is_empty());
    assert_eq!(
        recorded(&b, Outcome::SkippedByOverlap),
        vec![Some(T0 + MIN)]
    );
}

#[test]
fn upcoming_fire_times_follow_the_state() {
    let s = sched(json!({"jitterMs": 10_000}));
    let mut st = s.initial_state(T0);
    let up = s.upcoming(&st, 3);
    let slots: Vec<i64> = up.iter().map(|(slot, _)| slot.at_ms).collect();
    assert_eq!(slots, vec![T0 + MIN, T0 + 2 * MIN, T0 + 3 * MIN]);
    for (slot, fire) in &up {
        assert_eq!(*fire, slot.at_ms + jitter_for("s", slot.at_ms, 10_000));
    }
    s.tick(&mut st, T0 + MIN + 10_000);
    assert_eq!(s.upcoming(&st, 1)[0].0.at_ms, T0 + 2 * MIN);
    assert_eq!(s.upcoming(&st, usize::MAX).len(), MAX_PREVIEW);
    s.pause(&mut st, T0 + MIN + 10_000, None);
    assert!(s.upcoming(&st, 3).is_empty());
}
