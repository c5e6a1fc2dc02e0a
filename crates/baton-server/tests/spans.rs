//! The span sink in process, on a virtual clock: every task instance that ends is reported
//! once (a timed-out attempt, its retry, tasks cancelled by a termination), every run of a
//! workflow once when it ends (a retried workflow twice, with two start times), each with
//! the times stored on its record.

use std::sync::Arc;
use std::time::Duration;

use baton_core::{Object, TaskInstance, TaskResult, TaskStatus, WorkflowInstance, WorkflowStatus};
use baton_server::service::WorkerSpec;
use baton_server::work::{Assignment, WorkerMsg};
use baton_server::{EngineConfig, ManualClock, Runtime, Service, SpanSink, StartRequest};
use baton_store::SledStore;
use parking_lot::Mutex;
use serde_json::json;
use tokio::sync::mpsc::UnboundedReceiver;

const T0: i64 = 1_800_000_000_000;
const PATIENCE: Duration = Duration::from_secs(20);

/// One report to the sink.
#[derive(Debug, Clone, PartialEq)]
enum Report {
    Task {
        workflow_id: String,
        run_start: i64,
        task_id: String,
        reference: String,
        status: TaskStatus,
        retry_count: i32,
        scheduled: i64,
        end: Option<i64>,
    },
    Run {
        workflow_id: String,
        status: WorkflowStatus,
        start: i64,
        end: Option<i64>,
    },
}

#[derive(Default)]
struct Recorder(Mutex<Vec<Report>>);

impl SpanSink for Recorder {
    fn task_ended(&self, w: &WorkflowInstance, t: &TaskInstance) {
        self.0.lock().push(Report::Task {
            workflow_id: w.workflow_id.clone(),
            run_start: w.start_time,
            task_id: t.task_id.clone(),
            reference: t.reference_task_name.clone(),
            status: t.status,
            retry_count: t.retry_count,
            scheduled: t.scheduled_time,
            end: t.end_time,
        });
    }

    fn workflow_ended(&self, w: &WorkflowInstance) {
        self.0.lock().push(Report::Run {
            workflow_id: w.workflow_id.clone(),
            status: w.status,
            start: w.start_time,
            end: w.end_time,
        });
    }
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

fn completed(a: &Assignment) -> TaskResult {
    TaskResult {
        task_id: a.task_id.clone(),
        token: Some(a.token.clone()),
        status: TaskStatus::Completed,
        output: Object::new(),
        reason_for_incompletion: None,
        logs: Vec::new(),
        callback_after_seconds: 0,
        worker_id: None,
    }
}

/// Waits until the recorder holds a report that satisfies `what`.
async fn reported(rec: &Recorder, what: impl Fn(&Report) -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !rec.0.lock().iter().any(&what) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not reported; got {:#?}",
            rec.0.lock()
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_ended_task_instance_and_run_is_reported_once_with_its_stored_times() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let rec = Arc::new(Recorder::default());
    let store = Arc::new(SledStore::open(dir.path()).expect("store"));
    let rt = Runtime::open(
        store,
        EngineConfig {
            clock: clock.clone(),
            spans: Some(rec.clone()),
            ..Default::default()
        },
    )
    .expect("runtime");
    let svc = Service::new(rt);
    svc.runtime().recover().await.expect("recover");
    svc.register_task_defs(&[
        json!({"name": "slow", "responseTimeoutSeconds": 5, "retryCount": 1,
               "retryDelaySeconds": 10, "retryLogic": "FIXED"}),
        json!({"name": "idle", "responseTimeoutSeconds": 5, "retryCount": 0}),
    ])
    .await
    .unwrap();
    svc.register_workflow_def(&json!({"name": "sp", "tasks": [
        {"name": "slow", "taskReferenceName": "s"}]}))
        .await
        .unwrap();
    svc.register_workflow_def(&json!({"name": "stopped", "tasks": [
        {"name": "idle", "taskReferenceName": "i"}]}))
        .await
        .unwrap();

    // An attempt times out on the virtual clock; its retry completes.
    let id = svc
        .start_workflow(StartRequest {
            name: "sp".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let (_session, mut rx) = svc
        .connect_worker(WorkerSpec {
            task_types: vec!["slow".into()],
            credits: 10,
            ..Default::default()
        })
        .unwrap();
    let first = next_task(&mut rx).await;
    clock.advance(5_000);
    reported(&rec, |r| {
        matches!(
            r,
            Report::Task {
                status: TaskStatus::TimedOut,
                ..
            }
        )
    })
    .await;
    clock.advance(10_000);
    let second = next_task(&mut rx).await;
    clock.advance(1_000);
    svc.update_task(&id, completed(&second)).await.unwrap();
    assert_eq!(
        svc.wait_closed(&id, PATIENCE).await.unwrap(),
        WorkflowStatus::Completed
    );

    // A workflow terminated while its task waits: the task is cancelled. Retried, it runs
    // again (a second run) and is terminated again.
    let stopped = svc
        .start_workflow(StartRequest {
            name: "stopped".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    clock.advance(2_000);
    svc.terminate(&stopped, Some("enough".into()))
        .await
        .unwrap();
    svc.wait_closed(&stopped, PATIENCE).await.unwrap();
    clock.advance(3_000);
    svc.retry(&stopped, false).await.unwrap();
    clock.advance(1_000);
    svc.terminate(&stopped, None).await.unwrap();
    reported(&rec, |r| {
        matches!(r, Report::Run { workflow_id, start, .. }
            if *workflow_id == stopped && *start == T0 + 21_000)
    })
    .await;

    let reports = rec.0.lock().clone();
    let tasks: Vec<&Report> = reports
        .iter()
        .filter(|r| matches!(r, Report::Task { .. }))
        .collect();
    assert_eq!(
        reports[..3],
        [
            Report::Task {
                workflow_id: id.clone(),
                run_start: T0,
                task_id: first.task_id.clone(),
                reference: "s".into(),
                status: TaskStatus::TimedOut,
                retry_count: 0,
                scheduled: T0,
                end: Some(T0 + 5_000),
            },
            Report::Task {
                workflow_id: id.clone(),
                run_start: T0,
                task_id: second.task_id.clone(),
                reference: "s".into(),
                status: TaskStatus::Completed,
                retry_count: 1,
                scheduled: T0 + 5_000,
                end: Some(T0 + 16_000),
            },
            Report::Run {
                workflow_id: id.clone(),
                status: WorkflowStatus::Completed,
                start: T0,
                end: Some(T0 + 16_000),
            },
        ]
    );
    // The terminated workflow: its task cancelled, two runs each reported once.
    let runs: Vec<&Report> = reports
        .iter()
        .filter(|r| matches!(r, Report::Run { workflow_id, .. } if *workflow_id == stopped))
        .collect();
    assert_eq!(
        runs,
        [
            &Report::Run {
                workflow_id: stopped.clone(),
                status: WorkflowStatus::Terminated,
                start: T0 + 16_000,
                end: Some(T0 + 18_000),
            },
            &Report::Run {
                workflow_id: stopped.clone(),
                status: WorkflowStatus::Terminated,
                start: T0 + 21_000,
                end: Some(T0 + 22_000),
            },
        ]
    );
    let cancelled: Vec<&Report> = tasks
        .iter()
        .copied()
        .filter(|r| matches!(r, Report::Task { workflow_id, .. } if *workflow_id == stopped))
        .collect();
    assert_eq!(cancelled.len(), 2, "{cancelled:#?}");
    assert!(cancelled.iter().all(|r| matches!(
        r,
        Report::Task { status: TaskStatus::Canceled, reference, .. } if reference == "i"
    )));
    // Each task instance once.
    let mut ids: Vec<&str> = tasks
        .iter()
        .map(|r| match r {
            Report::Task { task_id, .. } => task_id.as_str(),
            _ => unreachable!(),
        })
        .collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "a task reported twice: {tasks:#?}");
    assert_eq!(n, 4);

    let rt = svc.runtime().clone();
    drop(svc);
    tokio::task::spawn_blocking(move || rt.shutdown())
        .await
        .unwrap();
}
