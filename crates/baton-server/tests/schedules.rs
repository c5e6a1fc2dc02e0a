//! The scheduler in process, on a real store and a virtual clock: a per-minute schedule
//! fires on its slots with Conductor's inputs; a restart (and a crash between a start and
//! the state write) never starts a slot twice; slots missed while the server was down
//! follow the misfire policy; SKIP records the slots that came while a run was open;
//! pause, resume, trigger and backfill; failed starts recorded, pausing the schedule after
//! enough of them; overlap policies that end the open run; runs removed while open; a
//! jittered slot, previews and history reads; and what is refused.

use std::sync::Arc;
use std::time::Duration;

use baton_core::schedule::{ScheduleDef, workflow_id};
use baton_core::{Object, TaskResult, TaskStatus, WorkflowStatus};
use baton_server::service::{PreviewOf, ScheduleView};
use baton_server::{Clock, EngineConfig, EngineError, ManualClock, Runtime, Service};
use baton_store::SledStore;
use serde_json::{Value, json};

/// On a minute.
const T0: i64 = 1_800_000_000_000;
const MINUTE: i64 = 60_000;
const PATIENCE: Duration = Duration::from_secs(20);

async fn open(dir: &std::path::Path, clock: Arc<ManualClock>) -> Service {
    let store = Arc::new(SledStore::open(dir).expect("store"));
    let rt = Runtime::open(
        store,
        EngineConfig {
            clock,
            ..Default::default()
        },
    )
    .expect("runtime");
    rt.recover().await.expect("recover");
    Service::new(rt)
}

async fn shut(svc: Service) {
    let rt = svc.runtime().clone();
    drop(svc);
    tokio::task::spawn_blocking(move || rt.shutdown())
        .await
        .unwrap();
}

/// Defines `quick` (ends at once) and `waiting` (waits until signalled).
async fn define(svc: &Service) {
    svc.register_workflow_def(&json!({"name": "quick", "tasks": [
        {"name": "s", "taskReferenceName": "s", "type": "SET_VARIABLE",
         "inputParameters": {"done": true}}]}))
        .await
        .expect("quick");
    svc.register_workflow_def(&json!({"name": "waiting", "tasks": [
        {"name": "w", "taskReferenceName": "w", "type": "WAIT"}]}))
        .await
        .expect("waiting");
}

fn schedule(v: Value) -> ScheduleDef {
    serde_json::from_value(v).expect("schedule json")
}

fn per_minute(name: &str, workflow: &str, extra: Value) -> ScheduleDef {
    let mut v = json!({
        "name": name,
        "cronExpression": "0 * * * * ?",
        "zoneId": "UTC",
        "startWorkflowRequest": {"name": workflow, "input": {"a": 1}}
    });
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    schedule(v)
}

fn slot_id(name: &str, slot_ms: i64) -> String {
    workflow_id(name, slot_ms, None, false)
}

/// Waits until the schedule's view satisfies `cond`.
async fn until(svc: &Service, name: &str, what: &str, cond: impl Fn(&ScheduleView) -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let view = svc.get_schedule(name).await.expect("schedule");
        if cond(&view) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never: {what}: {view:#?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits for two more passes of the scheduler: whatever they would do is done by then.
async fn two_passes(svc: &Service) {
    let s = svc.runtime().scheduler().clone();
    let from = s.stats().passes;
    s.poke();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while s.stats().passes < from + 2 {
        assert!(tokio::time::Instant::now() < deadline, "no scheduler pass");
        s.poke();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn outcomes(svc: &Service, name: &str) -> Vec<(i64, String)> {
    let mut out: Vec<(i64, String)> = svc
        .schedule_history(name, 0, i64::MAX, 1000)
        .await
        .expect("history")
        .into_iter()
        .map(|e| {
            let kind = match e.event["type"].as_str() {
                Some("RECORD") => e.event["outcome"].as_str().unwrap_or("?").to_string(),
                Some(t) => t.to_string(),
                None => "?".into(),
            };
            (e.slot_ms, kind)
        })
        .collect();
    out.sort();
    out
}

fn signal() -> TaskResult {
    TaskResult {
        task_id: String::new(),
        token: None,
        status: TaskStatus::Completed,
        output: Object::new(),
        reason_for_incompletion: None,
        logs: Vec::new(),
        callback_after_seconds: 0,
        worker_id: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_minute_schedule_fires_on_its_slots_with_conductors_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let svc = open(dir.path(), clock.clone()).await;
    define(&svc).await;

    let view = svc
        .save_schedule(per_minute("every-minute", "quick", json!({})))
        .await
        .expect("save");
    assert_eq!(view.next_run_ms, Some(T0 + MINUTE));
    assert_eq!(view.wake_at_ms, Some(T0 + MINUTE));
    assert!(!view.paused);

    // Not yet: nothing starts a second before the slot.
    clock.advance(MINUTE - 1000);
    two_passes(&svc).await;
    assert_eq!(
        svc.get_schedule("every-minute")
            .await
            .unwrap()
            .counters
            .fired,
        0
    );

    clock.advance(1000);
    until(&svc, "every-minute", "first slot", |v| {
        v.counters.succeeded == 1
    })
    .await;
    let first = slot_id("every-minute", T0 + MINUTE);
    let (wf, _) = svc.workflow(&first, false).await.expect("first run");
    assert_eq!(wf.status, WorkflowStatus::Completed);
    assert_eq!(wf.input["a"], json!(1));
    assert_eq!(wf.input["_startedByScheduler"], json!("every-minute"));
    assert_eq!(wf.input["_scheduledTime"], json!(T0 + MINUTE));
    assert_eq!(wf.input["_executedTime"], json!(T0 + MINUTE));
    assert_eq!(wf.input["_executionId"], json!(first));
    assert_eq!(wf.input["_schedulerCron"], json!("0 * * * * ?"));

    clock.advance(MINUTE);
    until(&svc, "every-minute", "second slot", |v| {
        v.counters.succeeded == 2
    })
    .await;
    let view = svc.get_schedule("every-minute").await.unwrap();
    assert_eq!(view.counters.fired, 2);
    assert_eq!(view.last_fired_ms, Some(T0 + 2 * MINUTE));
    assert_eq!(view.next_run_ms, Some(T0 + 3 * MINUTE));
    assert!(view.open_runs.is_empty());
    svc.workflow(&slot_id("every-minute", T0 + 2 * MINUTE), false)
        .await
        .expect("second run");
    assert_eq!(
        outcomes(&svc, "every-minute").await,
        vec![
            (T0 + MINUTE, "STARTED".to_string()),
            (T0 + 2 * MINUTE, "STARTED".to_string())
        ]
    );
    // The history lists the runs with their status.
    let started = entries_of(&svc, "every-minute", "STARTED", 2).await;
    for e in &started {
        assert_eq!(e["workflowStatus"], json!("COMPLETED"), "{e}");
    }
    // The schedule's lock left the table once its changes were done.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while svc.runtime().scheduler().locks_held() > 0 {
        assert!(tokio::time::Instant::now() < deadline, "locks kept");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let listed = svc.list_schedules(Some("quick")).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(
        svc.list_schedules(Some("waiting"))
            .await
            .unwrap()
            .is_empty()
    );
    shut(svc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_or_a_crash_before_the_state_write_never_starts_a_slot_twice() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let svc = open(dir.path(), clock.clone()).await;
    define(&svc).await;
    svc.save_schedule(per_minute("once", "waiting", json!({})))
        .await
        .expect("save");

    // The first slot starts, but its state write fails as a crash would lose it.
    svc.runtime().scheduler().fail_state_writes(true);
    clock.advance(MINUTE);
    let s = svc.runtime().scheduler().clone();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while s.stats().started == 0 || s.stats().failures == 0 {
        assert!(tokio::time::Instant::now() < deadline, "no start");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    drop(s);
    let first = slot_id("once", T0 + MINUTE);
    svc.workflow(&first, false).await.expect("started");
    assert_eq!(svc.get_schedule("once").await.unwrap().counters.fired, 0);
    shut(svc).await;

    // After the restart the same slot is replayed and finds its run.
    let svc = open(dir.path(), clock.clone()).await;
    until(&svc, "once", "the slot recorded", |v| v.counters.fired == 1).await;
    let view = svc.get_schedule("once").await.unwrap();
    assert_eq!(view.open_runs, vec![first.clone()]);
    let running = svc
        .running_workflow_ids("waiting", None, None, None)
        .await
        .unwrap();
    assert_eq!(running, vec![first.clone()]);
    shut(svc).await;

    // A plain restart at the same time starts nothing more.
    let svc = open(dir.path(), clock.clone()).await;
    two_passes(&svc).await;
    let running = svc
        .running_workflow_ids("waiting", None, None, None)
        .await
        .unwrap();
    assert_eq!(running, vec![first.clone()]);
    assert_eq!(svc.get_schedule("once").await.unwrap().counters.fired, 1);

    // The run's end, after the restart, reaches the schedule.
    svc.update_task_by_ref(&first, "w", signal())
        .await
        .expect("signal");
    until(&svc, "once", "the end fed back", |v| {
        v.counters.succeeded == 1 && v.open_runs.is_empty()
    })
    .await;
    shut(svc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slots_missed_while_down_follow_the_misfire_policy() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let svc = open(dir.path(), clock.clone()).await;
    define(&svc).await;
    svc.save_schedule(per_minute("skipping", "quick", json!({})))
        .await
        .unwrap();
    svc.save_schedule(per_minute(
        "catching-up",
        "quick",
        json!({"runCatchupScheduleInstances": true}),
    ))
    .await
    .unwrap();
    shut(svc).await;

    // Down for five minutes and a half: slots 1 to 5 came meanwhile.
    clock.advance(5 * MINUTE + 30_000);
    let svc = open(dir.path(), clock.clone()).await;
    until(&svc, "skipping", "missed slots recorded", |v| {
        v.counters.missed == 5
    })
    .await;
    until(&svc, "catching-up", "every slot run", |v| {
        v.counters.succeeded == 5
    })
    .await;
    let skipping = svc.get_schedule("skipping").await.unwrap();
    assert_eq!(skipping.counters.fired, 0);
    assert_eq!(skipping.next_run_ms, Some(T0 + 6 * MINUTE));
    let missed: Vec<_> = (1..=5)
        .map(|i| (T0 + i * MINUTE, "MISSED".to_string()))
        .collect();
    let history = outcomes(&svc, "skipping").await;
    for m in &missed {
        assert!(history.contains(m), "{m:?} not in {history:?}");
    }
    assert!(history.iter().any(|(_, k)| k == "ALERT"), "{history:?}");
    let catching = svc.get_schedule("catching-up").await.unwrap();
    assert_eq!(catching.counters.fired, 5);
    assert_eq!(catching.counters.missed, 0);
    for i in 1..=5 {
        let (wf, _) = svc
            .workflow(&slot_id("catching-up", T0 + i * MINUTE), false)
            .await
            .expect("caught-up run");
        assert_eq!(wf.input["_scheduledTime"], json!(T0 + i * MINUTE));
    }
    shut(svc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_overlap_records_the_slots_that_come_while_a_run_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let svc = open(dir.path(), clock.clone()).await;
    define(&svc).await;
    svc.save_schedule(per_minute(
        "long",
        "waiting",
        json!({"overlapPolicy": "SKIP"}),
    ))
    .await
    .unwrap();

    clock.advance(MINUTE);
    until(&svc, "long", "first run open", |v| v.open_runs.len() == 1).await;
    clock.advance(MINUTE);
    until(&svc, "long", "second slot skipped", |v| {
        v.counters.skipped_by_overlap == 1
    })
    .await;
    clock.advance(MINUTE);
    until(&svc, "long", "third slot skipped", |v| {
        v.counters.skipped_by_overlap == 2
    })
    .await;
    assert_eq!(
        outcomes(&svc, "long").await,
        vec![
            (T0 + MINUTE, "STARTED".to_string()),
            (T0 + 2 * MINUTE, "SKIPPED_BY_OVERLAP".to_string()),
            (T0 + 3 * MINUTE, "SKIPPED_BY_OVERLAP".to_string()),
        ]
    );

    // Once the run ends the next slot runs again.
    let first = slot_id("long", T0 + MINUTE);
    svc.update_task_by_ref(&first, "w", signal()).await.unwrap();
    until(&svc, "long", "first run ended", |v| {
        v.open_runs.is_empty() && v.counters.succeeded == 1
    })
    .await;
    clock.advance(MINUTE);
    until(&svc, "long", "fourth slot run", |v| v.counters.fired == 2).await;
    svc.workflow(&slot_id("long", T0 + 4 * MINUTE), false)
        .await
        .expect("fourth run");
    shut(svc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_holds_the_slots_and_resume_applies_the_misfire_policy() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let svc = open(dir.path(), clock.clone()).await;
    define(&svc).await;
    svc.save_schedule(per_minute("pausable", "quick", json!({})))
        .await
        .unwrap();

    let view = svc
        .pause_schedule("pausable", Some("maintenance".into()))
        .await
        .unwrap();
    assert!(view.paused);
    assert!(view.def.paused);
    assert_eq!(view.note.as_deref(), Some("maintenance"));
    assert_eq!(view.def.paused_reason.as_deref(), Some("maintenance"));
    assert_eq!(view.next_run_ms, None);
    assert_eq!(view.wake_at_ms, None);

    clock.advance(3 * MINUTE + 30_000);
    two_passes(&svc).await;
    let view = svc.get_schedule("pausable").await.unwrap();
    assert_eq!(view.counters.fired, 0);
    assert_eq!(view.counters.missed, 0);

    let view = svc.resume_schedule("pausable", None).await.unwrap();
    assert!(!view.paused);
    assert_eq!(view.counters.missed, 3);
    assert_eq!(view.next_run_ms, Some(T0 + 4 * MINUTE));
    clock.advance(30_000);
    until(&svc, "pausable", "the slot after the pause", |v| {
        v.counters.fired == 1
    })
    .await;
    svc.workflow(&slot_id("pausable", T0 + 4 * MINUTE), false)
        .await
        .expect("run after resume");

    // Saving the definition with `paused` pauses it too; bulk resume undoes it.
    let mut def = per_minute("pausable", "quick", json!({}));
    def.paused = true;
    assert!(svc.save_schedule(def).await.unwrap().paused);
    let outcome = svc
        .bulk_pause_schedules(vec!["pausable".into(), "nope".into()], false, None)
        .await
        .unwrap();
    assert!(outcome[0].1.is_ok());
    assert!(matches!(outcome[1].1, Err(EngineError::NotFound(_))));
    assert!(!svc.get_schedule("pausable").await.unwrap().paused);
    shut(svc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trigger_runs_now_with_its_input_even_while_paused() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0 + 7_000);
    let svc = open(dir.path(), clock.clone()).await;
    define(&svc).await;
    svc.save_schedule(per_minute(
        "manual",
        "quick",
        json!({"paused": true, "pausedReason": "manual only"}),
    ))
    .await
    .unwrap();
    let mut input = Object::new();
    input.insert("b".into(), json!(2));
    input.insert("a".into(), json!(3));
    let started = svc
        .trigger_schedule("manual", Some(input), None)
        .await
        .unwrap();
    assert_eq!(started, vec![workflow_id("manual", T0 + 7_000, None, true)]);
    let status = svc.wait_closed(&started[0], PATIENCE).await.unwrap();
    assert_eq!(status, WorkflowStatus::Completed);
    let (wf, _) = svc.workflow(&started[0], false).await.unwrap();
    assert_eq!(wf.input["a"], json!(3));
    assert_eq!(wf.input["b"], json!(2));
    assert_eq!(wf.input["_startedByScheduler"], json!("manual"));
    assert_eq!(wf.input["_schedulerCron"], Value::Null);
    until(&svc, "manual", "the manual run counted", |v| {
        v.counters.manual == 1 && v.counters.succeeded == 1 && v.paused
    })
    .await;
    assert_eq!(svc.get_schedule("manual").await.unwrap().counters.fired, 0);
    shut(svc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_schedules_missing_workflows_and_unknown_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let svc = open(dir.path(), clock.clone()).await;
    define(&svc).await;

    let bad_cron = schedule(json!({"name": "bad", "cronExpression": "61 * * * *",
        "startWorkflowRequest": {"name": "quick"}}));
    assert!(matches!(
        svc.save_schedule(bad_cron).await,
        Err(EngineError::InvalidArgument(_))
    ));
    let no_zone = schedule(json!({"name": "bad", "cronExpression": "0 * * * * ?",
        "zoneId": "Mars/Olympus", "startWorkflowRequest": {"name": "quick"}}));
    assert!(matches!(
        svc.save_schedule(no_zone).await,
        Err(EngineError::InvalidArgument(_))
    ));
    match svc
        .save_schedule(per_minute("orphan", "not-defined", json!({})))
        .await
    {
        Err(EngineError::InvalidArgument(m)) => assert!(m.contains("not-defined"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        svc.get_schedule("orphan").await,
        Err(EngineError::NotFound(_))
    ));

    for result in [
        svc.get_schedule("ghost").await.map(drop),
        svc.pause_schedule("ghost", None).await.map(drop),
        svc.resume_schedule("ghost", None).await.map(drop),
        svc.trigger_schedule("ghost", None, None).await.map(drop),
        svc.backfill_schedule("ghost", T0 - MINUTE, T0, None)
            .await
            .map(drop),
        svc.schedule_history("ghost", 0, T0, 10).await.map(drop),
        svc.delete_schedule("ghost").await,
    ] {
        match result {
            Err(EngineError::NotFound(m)) => assert!(m.contains("ghost"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    let preview = svc
        .preview_schedule(
            PreviewOf::Cron {
                expression: "0 0 * * * ?".into(),
                zone: None,
            },
            T0,
            T0 + 10 * 60 * MINUTE,
            3,
        )
        .unwrap();
    assert_eq!(preview.slots.len(), 3);
    assert!(preview.truncated);
    assert!(
        svc.preview_schedule(
            PreviewOf::Cron {
                expression: "nonsense".into(),
                zone: None,
            },
            T0,
            T0 + MINUTE,
            3,
        )
        .is_err()
    );

    svc.save_schedule(per_minute("doomed", "quick", json!({})))
        .await
        .unwrap();
    svc.delete_schedule("doomed").await.unwrap();
    assert!(matches!(
        svc.get_schedule("doomed").await,
        Err(EngineError::NotFound(_))
    ));
    shut(svc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_runs_past_slots_and_finds_those_that_ran() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let svc = open(dir.path(), clock.clone()).await;
    define(&svc).await;
    svc.save_schedule(per_minute("filled", "quick", json!({})))
        .await
        .unwrap();
    clock.advance(MINUTE);
    until(&svc, "filled", "first slot", |v| v.counters.succeeded == 1).await;
    svc.pause_schedule("filled", None).await.unwrap();
    clock.advance(3 * MINUTE);

    // Slots 1 to 3: the first ran already and is found; 2 and 3 run now.
    svc.backfill_schedule("filled", T0 + MINUTE, T0 + 3 * MINUTE, None)
        .await
        .unwrap();
    until(&svc, "filled", "backfilled slots ended", |v| {
        v.counters.backfilled == 2 && v.counters.succeeded == 3 && v.open_runs.is_empty()
    })
    .await;
    for i in 1..=3 {
        svc.workflow(&slot_id("filled", T0 + i * MINUTE), false)
            .await
            .expect("slot run");
    }
    let view = svc.get_schedule("filled").await.unwrap();
    assert!(view.paused);
    assert_eq!(view.counters.fired, 1);
    assert_eq!(
        outcomes(&svc, "filled").await,
        vec![
            (T0 + MINUTE, "ALREADY_RAN".to_string()),
            (T0 + MINUTE, "STARTED".to_string()),
            (T0 + 2 * MINUTE, "STARTED".to_string()),
            (T0 + 3 * MINUTE, "STARTED".to_string()),
        ]
    );

    // The same range again: every slot ran, none runs or counts again.
    let revision = view.revision;
    svc.backfill_schedule("filled", T0 + MINUTE, T0 + 3 * MINUTE, None)
        .await
        .unwrap();
    until(&svc, "filled", "the second backfill done", |v| {
        v.revision > revision && v.open_runs.is_empty() && v.buffered == 0
    })
    .await;
    let again = svc.get_schedule("filled").await.unwrap();
    assert_eq!(again.counters, view.counters);
    let found = outcomes(&svc, "filled").await;
    assert_eq!(found.iter().filter(|(_, k)| k == "ALREADY_RAN").count(), 4);
    assert_eq!(found.iter().filter(|(_, k)| k == "STARTED").count(), 3);
    // The first start and those of slots 2 and 3.
    assert_eq!(svc.runtime().scheduler().stats().started, 3);
    assert!(matches!(
        svc.backfill_schedule("filled", T0 + MINUTE, T0, None).await,
        Err(EngineError::InvalidArgument(_))
    ));
    shut(svc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_that_fail_are_recorded_and_pause_the_schedule_after_enough() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let svc = open(dir.path(), clock.clone()).await;
    define(&svc).await;
    svc.register_workflow_def(&json!({"name": "fleeting", "tasks": [
        {"name": "s", "taskReferenceName": "s", "type": "SET_VARIABLE",
         "inputParameters": {"done": true}}]}))
        .await
        .unwrap();
    svc.save_schedule(per_minute(
        "fragile",
        "fleeting",
        json!({"pauseAfterFailures": 2}),
    ))
    .await
    .unwrap();
    svc.delete_workflow_def("fleeting", 1).await.unwrap();

    clock.advance(MINUTE);
    until(&svc, "fragile", "a failed start", |v| {
        v.counters.failed_to_start == 1
    })
    .await;
    let view = svc.get_schedule("fragile").await.unwrap();
    assert!(!view.paused);
    assert_eq!(view.consecutive_failures, 1);
    assert!(view.open_runs.is_empty());
    clock.advance(MINUTE);
    until(&svc, "fragile", "paused after two", |v| v.paused).await;
    let view = svc.get_schedule("fragile").await.unwrap();
    assert_eq!(view.counters.failed_to_start, 2);
    assert_eq!(view.wake_at_ms, None);
    assert!(view.note.unwrap_or_default().contains("2 consecutive"));
    let history = outcomes(&svc, "fragile").await;
    assert!(
        history.contains(&(T0 + MINUTE, "FAILED_TO_START".to_string())),
        "{history:?}"
    );
    assert!(
        history.iter().any(|(_, k)| k == "PAUSED_AFTER_FAILURES"),
        "{history:?}"
    );
    shut(svc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_and_cancel_other_end_the_open_run_for_the_new_slot() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let svc = open(dir.path(), clock.clone()).await;
    define(&svc).await;
    svc.save_schedule(per_minute(
        "terminating",
        "waiting",
        json!({"overlapPolicy": "TERMINATE_OTHER"}),
    ))
    .await
    .unwrap();
    svc.save_schedule(per_minute(
        "cancelling",
        "waiting",
        json!({"overlapPolicy": "CANCEL_OTHER"}),
    ))
    .await
    .unwrap();

    clock.advance(MINUTE);
    for name in ["terminating", "cancelling"] {
        until(&svc, name, "first run open", |v| v.open_runs.len() == 1).await;
    }
    clock.advance(MINUTE);
    // TERMINATE_OTHER ends the old run and starts the new one at once.
    let second = slot_id("terminating", T0 + 2 * MINUTE);
    until(&svc, "terminating", "second run open", |v| {
        v.open_runs == vec![second.clone()]
    })
    .await;
    let status = svc
        .wait_closed(&slot_id("terminating", T0 + MINUTE), PATIENCE)
        .await
        .unwrap();
    assert_eq!(status, WorkflowStatus::Terminated);

    // CANCEL_OTHER ends the old run and starts the new slot once the end is back; the
    // cancelled run counts neither as a success nor as a failure.
    let second = slot_id("cancelling", T0 + 2 * MINUTE);
    until(&svc, "cancelling", "buffered slot started", |v| {
        v.open_runs == vec![second.clone()] && v.buffered == 0
    })
    .await;
    let status = svc
        .wait_closed(&slot_id("cancelling", T0 + MINUTE), PATIENCE)
        .await
        .unwrap();
    assert_eq!(status, WorkflowStatus::Terminated);
    let view = svc.get_schedule("cancelling").await.unwrap();
    assert_eq!(view.counters.failed, 0);
    assert_eq!(view.counters.succeeded, 0);
    assert_eq!(view.counters.buffered, 1);
    shut(svc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_started_before_a_crash_and_replayed_late_is_adopted_not_missed() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let svc = open(dir.path(), clock.clone()).await;
    define(&svc).await;
    svc.save_schedule(per_minute(
        "late",
        "waiting",
        json!({"overlapPolicy": "SKIP"}),
    ))
    .await
    .unwrap();
    svc.runtime().scheduler().fail_state_writes(true);
    clock.advance(MINUTE);
    let first = slot_id("late", T0 + MINUTE);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while svc.workflow(&first, false).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "no start");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    shut(svc).await;

    // Back nine and a half minutes later: slot 1 is long past, but its run exists and is
    // adopted; slots 2 to 10 are missed (SKIP). Slot 11 then finds the adopted run open.
    clock.advance(9 * MINUTE + 30_000);
    let svc = open(dir.path(), clock.clone()).await;
    until(&svc, "late", "the late slots handled", |v| {
        v.counters.missed == 9
    })
    .await;
    let view = svc.get_schedule("late").await.unwrap();
    assert_eq!(view.counters.fired, 1);
    assert_eq!(view.open_runs, vec![first.clone()]);
    assert_eq!(view.last_fired_ms, Some(T0 + MINUTE));
    clock.advance(30_000);
    until(&svc, "late", "slot 11 skipped", |v| {
        v.counters.skipped_by_overlap == 1
    })
    .await;
    let history = outcomes(&svc, "late").await;
    assert!(
        history.contains(&(T0 + MINUTE, "STARTED".to_string())),
        "{history:?}"
    );
    assert!(!history.contains(&(T0 + MINUTE, "MISSED".to_string())));
    let running = svc
        .running_workflow_ids("waiting", None, None, None)
        .await
        .unwrap();
    assert_eq!(running, vec![first.clone()]);

    // Its end is fed back like any other run's.
    svc.update_task_by_ref(&first, "w", signal()).await.unwrap();
    until(&svc, "late", "the adopted run ended", |v| {
        v.counters.succeeded == 1 && v.open_runs.is_empty()
    })
    .await;
    shut(svc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_removed_while_open_stops_holding_the_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let svc = open(dir.path(), clock.clone()).await;
    define(&svc).await;
    svc.save_schedule(per_minute(
        "held",
        "waiting",
        json!({"overlapPolicy": "SKIP"}),
    ))
    .await
    .unwrap();
    clock.advance(MINUTE);
    until(&svc, "held", "first run open", |v| v.open_runs.len() == 1).await;
    let first = slot_id("held", T0 + MINUTE);
    svc.remove(&first).await.expect("remove");

    // The next slot finds the removed run gone and runs.
    clock.advance(MINUTE);
    let second = slot_id("held", T0 + 2 * MINUTE);
    until(&svc, "held", "second run open", |v| {
        v.open_runs == vec![second.clone()]
    })
    .await;
    let view = svc.get_schedule("held").await.unwrap();
    assert_eq!(view.counters.failed, 1);
    assert_eq!(view.counters.skipped_by_overlap, 0);
    shut(svc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jittered_slot_waits_for_its_fire_time_and_previews_and_history_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let svc = open(dir.path(), clock.clone()).await;
    define(&svc).await;
    let def = per_minute("jittery", "quick", json!({"jitterMs": 30_000}));
    let jitter = baton_core::schedule::machine::jitter_for("jittery", T0 + MINUTE, 30_000);
    let view = svc.save_schedule(def.clone()).await.unwrap();
    assert_eq!(view.next_run_ms, Some(T0 + MINUTE + jitter));
    assert_eq!(view.wake_at_ms, Some(T0 + MINUTE + jitter));

    clock.advance(MINUTE + jitter - 1);
    two_passes(&svc).await;
    assert_eq!(svc.get_schedule("jittery").await.unwrap().counters.fired, 0);
    clock.advance(1);
    until(&svc, "jittery", "the jittered slot", |v| {
        v.counters.fired == 1
    })
    .await;
    let (wf, _) = svc
        .workflow(&slot_id("jittery", T0 + MINUTE), false)
        .await
        .unwrap();
    assert_eq!(wf.input["_scheduledTime"], json!(T0 + MINUTE));
    assert_eq!(wf.input["_executedTime"], json!(T0 + MINUTE + jitter));

    // Previews of a definition and of a saved schedule.
    let preview = svc
        .preview_schedule(PreviewOf::Def(Box::new(def)), T0, T0 + 5 * MINUTE, 100)
        .unwrap();
    let slots: Vec<i64> = preview.slots.iter().map(|s| s.at_ms).collect();
    assert_eq!(slots, (1..=5).map(|i| T0 + i * MINUTE).collect::<Vec<_>>());
    assert!(!preview.truncated);
    let upcoming = svc.upcoming_slots("jittery", 3).await.unwrap();
    assert_eq!(upcoming.len(), 3);
    assert_eq!(upcoming[0].0.at_ms, T0 + 2 * MINUTE);
    assert!(upcoming[0].1 >= T0 + 2 * MINUTE);

    // History: a range and a limit, newest first.
    // Each slot has its own jitter: the clock goes to each fire time in turn (a jump
    // past one would make it a misfire).
    for fired in 2..=3 {
        let (_, at) = svc.upcoming_slots("jittery", 1).await.unwrap()[0].clone();
        clock.advance(at - clock.now_ms());
        until(&svc, "jittery", "the next slot", |v| {
            v.counters.fired == fired
        })
        .await;
    }
    let all = svc
        .schedule_history("jittery", 0, i64::MAX, 10)
        .await
        .unwrap();
    let slots: Vec<i64> = all.iter().map(|e| e.slot_ms).collect();
    assert_eq!(slots, vec![T0 + 3 * MINUTE, T0 + 2 * MINUTE, T0 + MINUTE]);
    let some = svc
        .schedule_history("jittery", T0 + 2 * MINUTE, T0 + 3 * MINUTE, 1)
        .await
        .unwrap();
    assert_eq!(some.len(), 1);
    assert_eq!(some[0].slot_ms, T0 + 3 * MINUTE);
    assert_eq!(some[0].event["type"], json!("STARTED"));
    shut(svc).await;
}

/// A webhook receiver on loopback: answers each POST with the next status of `script`
/// (200 once the script runs out), holding the first one until `release` is notified when
/// `hold_first` is set.
struct Receiver {
    url: String,
    seen: Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, Value)>>>,
    release: Arc<tokio::sync::Notify>,
}

async fn receiver(script: Vec<u16>, hold_first: bool) -> Receiver {
    use axum::http::{HeaderMap, StatusCode};
    let seen: Arc<std::sync::Mutex<Vec<(HeaderMap, Value)>>> = Arc::default();
    let release = Arc::new(tokio::sync::Notify::new());
    let script = Arc::new(std::sync::Mutex::new(std::collections::VecDeque::from(
        script,
    )));
    let (s, r) = (seen.clone(), release.clone());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(
            move |headers: HeaderMap, axum::Json(body): axum::Json<Value>| {
                let (seen, release, script) = (s.clone(), r.clone(), script.clone());
                async move {
                    let first = {
                        let mut seen = seen.lock().unwrap();
                        seen.push((headers, body));
                        seen.len() == 1
                    };
                    if first && hold_first {
                        release.notified().await;
                    }
                    let code = script.lock().unwrap().pop_front().unwrap_or(200);
                    StatusCode::from_u16(code).unwrap()
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver { url, seen, release }
}

/// Defines a workflow `name` that a test removes once a schedule names it, so that its
/// starts fail.
async fn fleeting(svc: &Service, name: &str) {
    svc.register_workflow_def(&json!({"name": name, "tasks": [
        {"name": "s", "taskReferenceName": "s", "type": "SET_VARIABLE",
         "inputParameters": {"done": true}}]}))
        .await
        .unwrap();
}

/// Waits for two more passes of the alert sender.
async fn two_alert_passes(svc: &Service) {
    let a = svc.runtime().scheduler().alerts().clone();
    let from = a.stats().passes;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while a.stats().passes < from + 2 {
        assert!(tokio::time::Instant::now() < deadline, "no alert pass");
        a.poke();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits until the history of `name` holds `n` entries of type `kind`; answers them oldest
/// first.
async fn entries_of(svc: &Service, name: &str, kind: &str, n: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let found: Vec<Value> = svc
            .schedule_history(name, 0, i64::MAX, 1000)
            .await
            .expect("history")
            .into_iter()
            .rev()
            .map(|e| e.event)
            .filter(|e| e["type"] == kind)
            .collect();
        if found.len() >= n {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never {n} {kind} entries in {name}: {found:#?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_reach_the_webhook_with_retries_and_never_hold_up_firing() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let svc = open(dir.path(), clock.clone()).await;
    define(&svc).await;
    let hook = receiver(vec![503, 503], true).await;
    fleeting(&svc, "nope").await;

    // One failed start: it raises START_FAILED (posted) and PAUSED (not asked for).
    svc.save_schedule(per_minute(
        "alerting",
        "nope",
        json!({"maxRuns": 1, "pauseAfterFailures": 1, "alertWebhook": {
            "url": hook.url, "headers": {"Authorization": "Bearer sesame"},
            "on": ["START_FAILED"]}}),
    ))
    .await
    .expect("save alerting");
    svc.delete_workflow_def("nope", 1).await.unwrap();
    svc.save_schedule(per_minute("steady", "quick", json!({})))
        .await
        .expect("save steady");

    clock.advance(MINUTE);
    until(&svc, "steady", "first slot", |v| v.counters.succeeded == 1).await;
    let raised = entries_of(&svc, "alerting", "ALERT", 2).await;
    let kinds: Vec<(&Value, &Value)> = raised.iter().map(|e| (&e["kind"], &e["webhook"])).collect();
    assert!(
        kinds.contains(&(&json!("START_FAILED"), &json!(true))),
        "{raised:#?}"
    );
    assert!(
        kinds.contains(&(&json!("PAUSED"), &json!(false))),
        "{raised:#?}"
    );

    // The first POST hangs; the schedules fire on regardless.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while hook.seen.lock().unwrap().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no POST");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    clock.advance(MINUTE);
    until(&svc, "steady", "second slot while the POST hangs", |v| {
        v.counters.succeeded == 2
    })
    .await;
    assert_eq!(hook.seen.lock().unwrap().len(), 1);

    // Answered 503: tried again a second later, then four seconds after that.
    hook.release.notify_one();
    let failed = entries_of(&svc, "alerting", "ALERT_ATTEMPT_FAILED", 1).await;
    assert_eq!(failed[0]["attempt"], json!(1));
    assert!(
        failed[0]["error"].as_str().unwrap().contains("503"),
        "{failed:#?}"
    );
    let retry_at = failed[0]["retryAt"].as_i64().unwrap();
    assert_eq!(retry_at, clock.now_ms() + 1_000);
    clock.advance(999);
    two_alert_passes(&svc).await;
    assert_eq!(hook.seen.lock().unwrap().len(), 1, "not before its time");
    clock.advance(1);
    let failed = entries_of(&svc, "alerting", "ALERT_ATTEMPT_FAILED", 2).await;
    assert_eq!(failed[1]["retryAt"], json!(clock.now_ms() + 4_000));
    clock.advance(4_000);
    let delivered = entries_of(&svc, "alerting", "ALERT_DELIVERED", 1).await;
    assert_eq!(delivered[0]["attempts"], json!(3));
    assert_eq!(delivered[0]["status"], json!(200));
    assert_eq!(delivered[0]["kind"], json!("START_FAILED"));

    let seen = hook.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    let id = delivered[0]["alertId"].as_str().unwrap().to_string();
    for (i, (headers, body)) in seen.iter().enumerate() {
        assert_eq!(headers["authorization"], "Bearer sesame");
        assert_eq!(headers["x-baton-alert-id"], id.as_str());
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(body["alertId"], json!(id));
        assert_eq!(body["attempt"], json!(i + 1));
        assert_eq!(body["schedule"], json!("alerting"));
        assert_eq!(body["kind"], json!("START_FAILED"));
        assert_eq!(body["slotTime"], json!(T0 + MINUTE));
        assert_eq!(body["workflowName"], json!("nope"));
        assert!(body["message"].as_str().unwrap().contains("nope"), "{body}");
    }
    let stats = svc.runtime().scheduler().alerts().stats();
    assert_eq!(
        (stats.delivered, stats.retried, stats.undelivered),
        (1, 2, 0)
    );
    shut(svc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_nobody_takes_is_retried_across_a_restart_then_given_up() {
    use baton_server::runtime::alerts::{MAX_ATTEMPTS, MAX_BACKOFF_MS};
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let svc = open(dir.path(), clock.clone()).await;
    define(&svc).await;
    fleeting(&svc, "nope").await;
    // A port nobody listens on.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hook", l.local_addr().unwrap())
    };
    svc.save_schedule(per_minute(
        "unheard",
        "nope",
        json!({"maxRuns": 1, "alertWebhook": {"url": dead}}),
    ))
    .await
    .expect("save");
    svc.delete_workflow_def("nope", 1).await.unwrap();
    clock.advance(MINUTE);
    let mut n = 0;
    while n < 3 {
        n = entries_of(&svc, "unheard", "ALERT_ATTEMPT_FAILED", n + 1)
            .await
            .len();
        clock.advance(MAX_BACKOFF_MS);
    }
    shut(svc).await;

    // The queue is durable: the attempts go on after a restart, counted from where they
    // were.
    let svc = open(dir.path(), clock.clone()).await;
    while n < MAX_ATTEMPTS as usize - 1 {
        let failed = entries_of(&svc, "unheard", "ALERT_ATTEMPT_FAILED", n + 1).await;
        n = failed.len();
        clock.advance(MAX_BACKOFF_MS);
    }
    let given_up = entries_of(&svc, "unheard", "ALERT_UNDELIVERED", 1).await;
    assert_eq!(given_up[0]["attempts"], json!(MAX_ATTEMPTS));
    assert!(
        given_up[0]["error"].as_str().unwrap().contains("connect"),
        "{given_up:#?}"
    );
    let failed = entries_of(&svc, "unheard", "ALERT_ATTEMPT_FAILED", 0).await;
    let attempts: Vec<i64> = failed
        .iter()
        .map(|e| e["attempt"].as_i64().unwrap())
        .collect();
    assert_eq!(attempts, (1..MAX_ATTEMPTS as i64).collect::<Vec<_>>());
    assert_eq!(
        svc.runtime().store().next_alert_due().unwrap(),
        None,
        "nothing left queued"
    );
    shut(svc).await;
}

#[tokio::test]
async fn a_webhook_must_be_a_usable_url() {
    let dir = tempfile::tempdir().unwrap();
    let svc = open(dir.path(), ManualClock::new(T0)).await;
    for (hook, problem) in [
        (json!({"url": "ftp://x/y"}), "$.alertWebhook.url"),
        (json!({"url": "http://"}), "$.alertWebhook.url"),
        (json!({"url": "http://a b/"}), "$.alertWebhook.url"),
        (
            json!({"url": "http://x/", "headers": {"bad name": "v"}}),
            "$.alertWebhook.headers['bad name']",
        ),
        (json!({"url": "http://x/", "on": ["LATE"]}), "LATE"),
    ] {
        let def = serde_json::from_value::<ScheduleDef>(json!({
            "name": "s", "cronExpression": "0 * * * * ?",
            "startWorkflowRequest": {"name": "quick"}, "alertWebhook": hook}));
        let err = match def {
            Err(e) => e.to_string(),
            Ok(def) => svc
                .save_schedule(def)
                .await
                .expect_err("refused")
                .to_string(),
        };
        assert!(err.contains(problem), "{hook}: {err}");
    }
    shut(svc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_of_one_schedule_made_at_once_each_see_the_last() {
    let dir = tempfile::tempdir().unwrap();
    let svc = open(dir.path(), ManualClock::new(T0)).await;
    define(&svc).await;
    svc.save_schedule(per_minute("busy", "quick", json!({})))
        .await
        .expect("save");
    // Every pause reads, changes and writes the same record; were two let in at once, the
    // second write would find the revision moved and fail.
    let before = svc.get_schedule("busy").await.unwrap().revision;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..40 {
        let svc = svc.clone();
        set.spawn(async move { svc.pause_schedule("busy", Some(format!("note {i}"))).await });
    }
    while let Some(done) = set.join_next().await {
        done.unwrap().expect("pause");
    }
    let view = svc.get_schedule("busy").await.unwrap();
    assert_eq!(view.revision, before + 40);
    assert!(view.paused);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while svc.runtime().scheduler().locks_held() > 0 {
        assert!(tokio::time::Instant::now() < deadline, "locks kept");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    shut(svc).await;
}
