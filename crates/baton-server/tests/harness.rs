//! The engine in process, on a real store and a virtual clock: timers, leases and retry
//! delays (a worker task's, a WAIT's) fire when the test moves the clock, never after a wall-clock sleep; a decision
//! that panics fails its own workflow only; recovery adopts many running workflows, and one
//! asked for before its turn.

use std::sync::Arc;
use std::time::Duration;

use baton_core::{Event, Object, TaskResult, TaskStatus, WorkflowStatus};
use baton_server::runtime::DecideHook;
use baton_server::service::WorkerSpec;
use baton_server::work::{Assignment, WorkerMsg};
use baton_server::{EngineConfig, ManualClock, Runtime, Service, StartRequest};
use baton_store::SledStore;
use serde_json::json;
use tokio::sync::mpsc::UnboundedReceiver;

const T0: i64 = 1_800_000_000_000;
/// A bound on waits for a state, so that a broken engine fails the test instead of hanging.
const PATIENCE: Duration = Duration::from_secs(20);

struct Harness {
    svc: Service,
    clock: Arc<ManualClock>,
}

async fn open(dir: &std::path::Path, clock: Arc<ManualClock>, hook: Option<DecideHook>) -> Service {
    let store = Arc::new(SledStore::open(dir).expect("store"));
    let rt = Runtime::open(
        store,
        EngineConfig {
            clock: clock.clone(),
            before_decide: hook,
            ..Default::default()
        },
    )
    .expect("runtime");
    Service::new(rt)
}

async fn harness(dir: &std::path::Path, hook: Option<DecideHook>) -> Harness {
    let clock = ManualClock::new(T0);
    let svc = open(dir, clock.clone(), hook).await;
    svc.runtime().recover().await.expect("recover");
    Harness { svc, clock }
}

async fn shut(svc: Service) {
    let rt = svc.runtime().clone();
    drop(svc);
    tokio::task::spawn_blocking(move || rt.shutdown())
        .await
        .unwrap();
}

async fn define(svc: &Service, task_defs: serde_json::Value, workflow: serde_json::Value) {
    let defs: Vec<_> = task_defs.as_array().unwrap().clone();
    if !defs.is_empty() {
        svc.register_task_defs(&defs).await.expect("task defs");
    }
    svc.register_workflow_def(&workflow)
        .await
        .expect("workflow");
}

async fn start(svc: &Service, name: &str) -> String {
    svc.start_workflow(StartRequest {
        name: name.into(),
        ..Default::default()
    })
    .await
    .expect("start")
}

async fn next_task(rx: &mut UnboundedReceiver<WorkerMsg>) -> Assignment {
    loop {
        match tokio::time::timeout(PATIENCE, rx.recv()).await {
            Ok(Some(WorkerMsg::Task(a))) => return *a,
            Ok(Some(_)) => continue,
            Ok(None) => panic!("worker channel closed"),
            Err(_) => panic!("no task within {PATIENCE:?}"),
        }
    }
}

fn result(a: &Assignment, status: TaskStatus) -> TaskResult {
    TaskResult {
        task_id: a.task_id.clone(),
        token: Some(a.token.clone()),
        status,
        output: Object::new(),
        reason_for_incompletion: None,
        logs: Vec::new(),
        callback_after_seconds: 0,
        worker_id: None,
    }
}

async fn ended(svc: &Service, id: &str) -> WorkflowStatus {
    let status = svc.wait_closed(id, PATIENCE).await.expect("wait");
    assert!(status.is_terminal(), "{id} still {status:?}");
    status
}

/// Waits until the execution's task `reference` has an instance in `status`.
async fn task_reaches(svc: &Service, id: &str, reference: &str, status: TaskStatus) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (_, tasks) = svc.workflow(id, true).await.unwrap();
        if tasks
            .iter()
            .any(|t| t.reference_task_name == reference && t.status == status)
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{reference} never became {status:?}: {tasks:?}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_ends_when_the_virtual_clock_passes_it() {
    let dir = tempfile::tempdir().unwrap();
    let h = harness(dir.path(), None).await;
    define(
        &h.svc,
        json!([]),
        json!({"name": "nap", "tasks": [{"name": "w", "taskReferenceName": "w", "type": "WAIT",
               "inputParameters": {"duration": "1 hours"}}]}),
    )
    .await;
    let id = start(&h.svc, "nap").await;
    task_reaches(&h.svc, &id, "w", TaskStatus::InProgress).await;
    h.clock.advance(3_600_000 - 1);
    assert_eq!(
        h.svc.workflow(&id, false).await.unwrap().0.status,
        WorkflowStatus::Running
    );
    h.clock.advance(1);
    assert_eq!(ended(&h.svc, &id).await, WorkflowStatus::Completed);
    let (wf, tasks) = h.svc.workflow(&id, true).await.unwrap();
    // Every time the engine recorded is virtual.
    assert_eq!(wf.start_time, T0);
    assert_eq!(wf.end_time, Some(T0 + 3_600_000));
    assert_eq!(tasks[0].end_time, Some(T0 + 3_600_000));
    shut(h.svc).await;
}

/// Waits until the runtime holds `n` timers in memory.
async fn timers_held(svc: &Service, n: usize) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while svc.runtime().armed_timers() != n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} timers in memory, not {n}",
            svc.runtime().armed_timers()
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timers_beyond_the_horizon_stay_in_the_store_until_time_reaches_them() {
    let dir = tempfile::tempdir().unwrap();
    let h = harness(dir.path(), None).await;
    define(
        &h.svc,
        json!([]),
        json!({"name": "naps", "tasks": [{"name": "w", "taskReferenceName": "w", "type": "WAIT",
               "inputParameters": {"duration": "${workflow.input.d}"}}]}),
    )
    .await;
    let mut ids = Vec::new();
    for d in ["30 seconds", "1 hours", "1 hours", "2 hours"] {
        let mut input = Object::new();
        input.insert("d".into(), json!(d));
        let id = h
            .svc
            .start_workflow(StartRequest {
                name: "naps".into(),
                input,
                ..Default::default()
            })
            .await
            .unwrap();
        task_reaches(&h.svc, &id, "w", TaskStatus::InProgress).await;
        ids.push(id);
    }
    // The horizon is a minute ahead: only the 30-second wait is in memory.
    timers_held(&h.svc, 1).await;
    h.clock.advance(30_000);
    assert_eq!(ended(&h.svc, &ids[0]).await, WorkflowStatus::Completed);
    timers_held(&h.svc, 0).await;
    // Within a minute of the hour the two hour-long waits are read back from the store.
    h.clock.advance(3_600_000 - 30_000 - 20_000);
    timers_held(&h.svc, 2).await;
    h.clock.advance(20_000);
    assert_eq!(ended(&h.svc, &ids[1]).await, WorkflowStatus::Completed);
    assert_eq!(ended(&h.svc, &ids[2]).await, WorkflowStatus::Completed);
    assert_eq!(
        h.svc.workflow(&ids[3], false).await.unwrap().0.status,
        WorkflowStatus::Running
    );
    // After a restart the last one comes back from the store, too.
    let clock = h.clock.clone();
    shut(h.svc).await;
    let svc = open(dir.path(), clock.clone(), None).await;
    svc.runtime().recover().await.unwrap();
    timers_held(&svc, 0).await;
    clock.advance(3_600_000);
    assert_eq!(ended(&svc, &ids[3]).await, WorkflowStatus::Completed);
    shut(svc).await;
}

/// Depth of the ready queue of `task_type` (no domain).
fn depth(svc: &Service, task_type: &str) -> usize {
    svc.queue_depths(Some(task_type))
        .into_iter()
        .find(|d| d.queue.domain.is_none())
        .map_or(0, |d| d.depth)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_follow_the_virtual_clock_for_polls_and_re_registrations() {
    let dir = tempfile::tempdir().unwrap();
    let h = harness(dir.path(), None).await;
    define(
        &h.svc,
        json!([{"name": "rl", "rateLimitPerFrequency": 2, "rateLimitFrequencyInSeconds": 2,
                "responseTimeoutSeconds": 30}]),
        json!({"name": "limited", "tasks": [{"name": "rl", "taskReferenceName": "r"}]}),
    )
    .await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(start(&h.svc, "limited").await);
    }
    let first = h.svc.poll("rl", "", "p", 10, 0).await.unwrap();
    assert_eq!(first.len(), 2, "two per window");
    assert!(h.svc.poll("rl", "", "p", 10, 0).await.unwrap().is_empty());
    // The rest wait in their queue, scheduled.
    assert_eq!(depth(&h.svc, "rl"), 3);
    for a in &first {
        h.svc
            .update_task(&a.workflow_id, result(a, TaskStatus::Completed))
            .await
            .unwrap();
    }
    // The window ends on the virtual clock, not before.
    h.clock.advance(1_999);
    assert!(h.svc.poll("rl", "", "p", 10, 0).await.unwrap().is_empty());
    h.clock.advance(1);
    let second = h.svc.poll("rl", "", "p", 10, 0).await.unwrap();
    assert_eq!(second.len(), 2);
    // A long poll is answered when the clock opens the next window.
    let svc = h.svc.clone();
    let long = tokio::spawn(async move { svc.poll("rl", "", "p", 5, 60_000).await });
    h.clock.advance(2_000);
    let third = long.await.unwrap().unwrap();
    assert_eq!(third.len(), 1);
    for a in second.iter().chain(&third) {
        h.svc
            .update_task(&a.workflow_id, result(a, TaskStatus::Completed))
            .await
            .unwrap();
    }
    for id in &ids {
        assert_eq!(ended(&h.svc, id).await, WorkflowStatus::Completed);
    }

    // A re-registered definition applies to the next hand-out: once the current window
    // ends, the held tasks all go out, not two per window.
    h.clock.advance(2_000);
    let mut more = Vec::new();
    for _ in 0..6 {
        more.push(start(&h.svc, "limited").await);
    }
    assert_eq!(h.svc.poll("rl", "", "p", 10, 0).await.unwrap().len(), 2);
    h.svc
        .register_task_defs(&[json!({"name": "rl", "responseTimeoutSeconds": 30})])
        .await
        .unwrap();
    assert_eq!(h.svc.poll("rl", "", "p", 10, 0).await.unwrap().len(), 4);
    shut(h.svc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_slots_held_before_a_restart_still_count_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let h = harness(dir.path(), None).await;
    define(
        &h.svc,
        json!([{"name": "one", "concurrentExecLimit": 1, "responseTimeoutSeconds": 120,
                "retryCount": 0}]),
        json!({"name": "single", "tasks": [{"name": "one", "taskReferenceName": "o"}]}),
    )
    .await;
    let a = start(&h.svc, "single").await;
    let held = h.svc.poll("one", "", "p", 1, 0).await.unwrap();
    assert_eq!(held.len(), 1);
    task_reaches(&h.svc, &a, "o", TaskStatus::InProgress).await;
    let b = start(&h.svc, "single").await;
    let clock = h.clock.clone();
    shut(h.svc).await;

    let svc = open(dir.path(), clock.clone(), None).await;
    let (_session, mut rx) = svc
        .connect_worker(WorkerSpec {
            task_types: vec!["one".into()],
            credits: 5,
            ..Default::default()
        })
        .unwrap();
    svc.runtime().recover().await.unwrap();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while svc.runtime().dispatcher().recovering() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "recovery never ended"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // a is still out with the worker from before the restart: b waits although a worker
    // with credit is connected.
    assert_eq!(svc.runtime().dispatcher().in_progress("one"), 1);
    assert_eq!(depth(&svc, "one"), 1);
    assert!(
        rx.try_recv().is_err(),
        "b went out while a held the only slot"
    );
    // a's worker answers with its token from before the restart; the slot goes to b.
    svc.update_task(&a, result(&held[0], TaskStatus::Completed))
        .await
        .unwrap();
    assert_eq!(ended(&svc, &a).await, WorkflowStatus::Completed);
    let got = next_task(&mut rx).await;
    assert_eq!(got.workflow_id, b);
    shut(svc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lapsed_lease_and_a_retry_delay_follow_the_virtual_clock() {
    let dir = tempfile::tempdir().unwrap();
    let h = harness(dir.path(), None).await;
    define(
        &h.svc,
        json!([{"name": "slow", "responseTimeoutSeconds": 5, "retryCount": 2,
                "retryDelaySeconds": 30, "retryLogic": "FIXED"}]),
        json!({"name": "leases", "tasks": [{"name": "slow", "taskReferenceName": "s"}]}),
    )
    .await;
    let id = start(&h.svc, "leases").await;
    let (_session, mut rx) = h
        .svc
        .connect_worker(WorkerSpec {
            task_types: vec!["slow".into()],
            credits: 10,
            ..Default::default()
        })
        .unwrap();
    let first = next_task(&mut rx).await;
    assert_eq!(first.lease_deadline, T0 + 5_000);
    // The worker says nothing; the lease lapses only when the clock reaches it.
    h.clock.advance(5_000);
    task_reaches(&h.svc, &id, "s", TaskStatus::TimedOut).await;
    // The retry waits out its delay on the virtual clock.
    h.clock.advance(29_000);
    assert!(rx.try_recv().is_err(), "retried before its delay");
    h.clock.advance(1_000);
    let second = next_task(&mut rx).await;
    assert_eq!(second.retry_count, 1);
    assert_ne!(second.task_id, first.task_id);
    h.svc
        .update_task(&id, result(&second, TaskStatus::Completed))
        .await
        .unwrap();
    assert_eq!(ended(&h.svc, &id).await, WorkflowStatus::Completed);
    // The late worker's result for the first attempt is refused.
    let late = h
        .svc
        .update_task(&id, result(&first, TaskStatus::Completed))
        .await;
    assert!(late.is_err());
    shut(h.svc).await;
}

/// A result without a token, for a task updated by its reference.
fn signal(status: TaskStatus) -> TaskResult {
    TaskResult {
        task_id: String::new(),
        token: None,
        status,
        output: Object::new(),
        reason_for_incompletion: None,
        logs: Vec::new(),
        callback_after_seconds: 0,
        worker_id: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_wait_waits_out_its_backoff_on_the_virtual_clock() {
    let dir = tempfile::tempdir().unwrap();
    let h = harness(dir.path(), None).await;
    define(
        &h.svc,
        json!([{"name": "hold", "timeoutSeconds": 5, "responseTimeoutSeconds": 5,
                "timeoutPolicy": "RETRY", "retryCount": 2,
                "retryDelaySeconds": 30, "retryLogic": "EXPONENTIAL_BACKOFF"}]),
        json!({"name": "holds", "tasks": [{"name": "hold", "taskReferenceName": "w", "type": "WAIT"}]}),
    )
    .await;
    let id = start(&h.svc, "holds").await;
    task_reaches(&h.svc, &id, "w", TaskStatus::InProgress).await;
    // The first attempt times out; its retry waits 30 s SCHEDULED, then waits for a signal.
    h.clock.advance(5_000);
    task_reaches(&h.svc, &id, "w", TaskStatus::TimedOut).await;
    task_reaches(&h.svc, &id, "w", TaskStatus::Scheduled).await;
    h.clock.advance(29_999);
    let refused = h
        .svc
        .update_task_by_ref(&id, "w", signal(TaskStatus::Completed))
        .await;
    assert!(refused.is_err(), "a retry still in its delay took a signal");
    h.clock.advance(1);
    task_reaches(&h.svc, &id, "w", TaskStatus::InProgress).await;
    // It times out too; the next retry waits twice as long.
    h.clock.advance(5_000);
    task_reaches(&h.svc, &id, "w", TaskStatus::Scheduled).await;
    h.clock.advance(59_999);
    let (_, tasks) = h.svc.workflow(&id, true).await.unwrap();
    assert_eq!(tasks[2].status, TaskStatus::Scheduled, "{tasks:?}");
    h.clock.advance(1);
    task_reaches(&h.svc, &id, "w", TaskStatus::InProgress).await;
    h.svc
        .update_task_by_ref(&id, "w", signal(TaskStatus::Completed))
        .await
        .unwrap();
    assert_eq!(ended(&h.svc, &id).await, WorkflowStatus::Completed);
    let (_, tasks) = h.svc.workflow(&id, true).await.unwrap();
    let attempts: Vec<_> = tasks
        .iter()
        .map(|t| (t.status, t.retry_count, t.start_time))
        .collect();
    assert_eq!(
        attempts,
        [
            (TaskStatus::TimedOut, 0, Some(T0)),
            (TaskStatus::TimedOut, 1, Some(T0 + 35_000)),
            (TaskStatus::Completed, 2, Some(T0 + 100_000)),
        ]
    );
    shut(h.svc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_decision_fails_only_its_own_workflow() {
    let dir = tempfile::tempdir().unwrap();
    let victim = Arc::new(parking_lot::Mutex::new(String::new()));
    let v = victim.clone();
    let hook: DecideHook = Arc::new(move |id: &str, event: &Event| {
        if matches!(event, Event::Result(_)) && *v.lock() == id {
            panic!("boom in the decider");
        }
    });
    let h = harness(dir.path(), Some(hook)).await;
    define(
        &h.svc,
        json!([{"name": "work"}]),
        json!({"name": "one", "tasks": [{"name": "work", "taskReferenceName": "w"}]}),
    )
    .await;
    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(start(&h.svc, "one").await);
    }
    *victim.lock() = ids[2].clone();
    let (_session, mut rx) = h
        .svc
        .connect_worker(WorkerSpec {
            task_types: vec!["work".into()],
            credits: 100,
            ..Default::default()
        })
        .unwrap();
    let mut refused = 0;
    for _ in 0..ids.len() {
        let a = next_task(&mut rx).await;
        if h.svc
            .update_task(&a.workflow_id, result(&a, TaskStatus::Completed))
            .await
            .is_err()
        {
            assert_eq!(a.workflow_id, ids[2]);
            refused += 1;
        }
    }
    assert_eq!(refused, 1);
    for (i, id) in ids.iter().enumerate() {
        let status = ended(&h.svc, id).await;
        if i == 2 {
            assert_eq!(status, WorkflowStatus::Failed);
            let (wf, tasks) = h.svc.workflow(id, true).await.unwrap();
            let reason = wf.reason_for_incompletion.unwrap_or_default();
            assert!(reason.contains("boom in the decider"), "{reason}");
            assert_eq!(tasks[0].status, TaskStatus::Canceled);
        } else {
            assert_eq!(status, WorkflowStatus::Completed, "{id}");
        }
    }
    // The partitions go on: new workflows run to the end.
    let after = start(&h.svc, "one").await;
    let a = next_task(&mut rx).await;
    assert_eq!(a.workflow_id, after);
    h.svc
        .update_task(&after, result(&a, TaskStatus::Completed))
        .await
        .unwrap();
    assert_eq!(ended(&h.svc, &after).await, WorkflowStatus::Completed);
    shut(h.svc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_adopts_many_running_workflows_and_one_asked_for_early() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let svc = open(dir.path(), clock.clone(), None).await;
    svc.runtime().recover().await.unwrap();
    define(
        &svc,
        json!([{"name": "work"}]),
        json!({"name": "one", "tasks": [{"name": "work", "taskReferenceName": "w"}]}),
    )
    .await;
    const N: usize = 500;
    let mut ids = Vec::new();
    for _ in 0..N {
        ids.push(start(&svc, "one").await);
    }
    shut(svc).await;

    let svc = open(dir.path(), clock.clone(), None).await;
    assert!(!svc.runtime().is_ready());
    // Asked for before recovery reaches it: adopted on the spot, and terminated.
    svc.terminate(&ids[0], Some("early".into())).await.unwrap();
    svc.runtime().recover().await.unwrap();
    assert!(svc.runtime().is_ready());
    let (_session, mut rx) = svc
        .connect_worker(WorkerSpec {
            task_types: vec!["work".into()],
            credits: 1000,
            ..Default::default()
        })
        .unwrap();
    let mut seen = std::collections::HashSet::new();
    for _ in 1..N {
        let a = next_task(&mut rx).await;
        assert_ne!(
            a.workflow_id, ids[0],
            "a terminated workflow's task went out"
        );
        assert!(
            seen.insert(a.task_id.clone()),
            "task {} handed out twice",
            a.task_id
        );
        svc.update_task(&a.workflow_id, result(&a, TaskStatus::Completed))
            .await
            .unwrap();
    }
    assert_eq!(ended(&svc, &ids[0]).await, WorkflowStatus::Terminated);
    for id in &ids[1..] {
        assert_eq!(ended(&svc, id).await, WorkflowStatus::Completed);
    }
    shut(svc).await;
}
