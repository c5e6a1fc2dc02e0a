//! Retention on the engine in process, on a real store and a virtual clock: finished runs
//! go when the clock says they are old enough or when newer runs push them out, archived
//! first; a sub-workflow stays while its parent is open; a definition can keep its runs
//! forever; archived runs load back and stay.

use std::sync::Arc;
use std::time::Duration;

use baton_core::retention::Policy;
use baton_core::{Object, TaskResult, TaskStatus, WorkflowStatus};
use baton_server::runtime::retention::RetentionConfig;
use baton_server::{EngineConfig, EngineError, ManualClock, Runtime, Service, StartRequest};
use baton_store::SledStore;
use serde_json::json;

const T0: i64 = 1_800_000_000_000;
const HOUR: i64 = 3_600_000;
const PATIENCE: Duration = Duration::from_secs(30);

async fn define(svc: &Service, workflow: serde_json::Value) {
    svc.register_workflow_def(&workflow)
        .await
        .expect("workflow");
}

fn quick(name: &str, retention: serde_json::Value) -> serde_json::Value {
    json!({"name": name, "retention": retention, "tasks": [
        {"name": "s", "taskReferenceName": "s", "type": "SET_VARIABLE",
         "inputParameters": {"done": true}}]})
}

async fn run(svc: &Service, name: &str) -> String {
    let id = svc
        .start_workflow(StartRequest {
            name: name.into(),
            ..Default::default()
        })
        .await
        .expect("start");
    let status = svc.wait_closed(&id, PATIENCE).await.expect("wait");
    assert_eq!(status, WorkflowStatus::Completed, "{id}");
    id
}

async fn exists(svc: &Service, id: &str) -> bool {
    match svc.workflow(id, false).await {
        Ok(_) => true,
        Err(EngineError::NotFound(_)) => false,
        Err(e) => panic!("{e}"),
    }
}

/// Waits until `cond` holds, looking again after every retention pass.
async fn until<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !cond().await {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits for two more retention passes: whatever they would remove is gone by then.
async fn two_passes(svc: &Service) {
    let r = svc.runtime().retention().clone();
    let from = r.stats().passes;
    until("two retention passes", || {
        let r = r.clone();
        async move { r.stats().passes >= from + 2 }
    })
    .await;
}

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
async fn finished_runs_go_by_age_and_count_archived_first_and_load_back() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let clock = ManualClock::new(T0);
    let store = Arc::new(SledStore::open(dir.path().join("data")).unwrap());
    let rt = Runtime::open(
        store,
        EngineConfig {
            clock: clock.clone(),
            retention: RetentionConfig {
                default: Policy {
                    max_age_ms: Some(HOUR),
                    keep_last: None,
                },
                max_removals_per_sec: 2,
                archive_dir: Some(archive.clone()),
            },
            ..Default::default()
        },
    )
    .unwrap();
    rt.recover().await.unwrap();
    let svc = Service::new(rt);

    define(&svc, quick("aged", json!(null))).await;
    define(
        &svc,
        quick("counted", json!({"keepLast": 2, "maxAge": "100d"})),
    )
    .await;
    define(&svc, quick("forever", json!({"keepForever": true}))).await;
    define(
        &svc,
        json!({"name": "parent", "tasks": [
            {"name": "c", "taskReferenceName": "c", "type": "SUB_WORKFLOW",
             "subWorkflowParam": {"name": "aged"}},
            {"name": "w", "taskReferenceName": "w", "type": "WAIT"}]}),
    )
    .await;

    let mut aged = Vec::new();
    for _ in 0..3 {
        aged.push(run(&svc, "aged").await);
    }
    let mut counted = Vec::new();
    for _ in 0..5 {
        counted.push(run(&svc, "counted").await);
        clock.advance(1);
    }
    let forever = vec![run(&svc, "forever").await, run(&svc, "forever").await];
    let parent = svc
        .start_workflow(StartRequest {
            name: "parent".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let child = {
        let mut found = None;
        until("the child has ended and the parent waits", || {
            let svc = svc.clone();
            let parent = parent.clone();
            async move {
                let (_, tasks) = svc.workflow(&parent, true).await.unwrap();
                tasks
                    .iter()
                    .any(|t| t.reference_task_name == "w" && t.status == TaskStatus::InProgress)
            }
        })
        .await;
        let (_, tasks) = svc.workflow(&parent, true).await.unwrap();
        for t in tasks {
            if t.reference_task_name == "c" {
                found = t
                    .output
                    .get("subWorkflowId")
                    .and_then(|v| v.as_str())
                    .map(str::to_string);
            }
        }
        found.expect("child id")
    };

    // Count alone: the three oldest "counted" runs go at once, two at most per pass.
    until("all but the newest two counted runs are removed", || {
        let svc = svc.clone();
        let counted = counted.clone();
        async move {
            let mut left = Vec::new();
            for id in &counted {
                if exists(&svc, id).await {
                    left.push(id.clone());
                }
            }
            left == counted[3..]
        }
    })
    .await;
    // Nothing is an hour old yet.
    two_passes(&svc).await;
    for id in aged.iter().chain(&forever).chain([&child, &parent]) {
        assert!(exists(&svc, id).await, "{id} removed too early");
    }

    // The clock moves past the hour: the aged runs go, the child only once its parent ends.
    clock.advance(HOUR + 10);
    until("the aged runs are removed", || {
        let svc = svc.clone();
        let aged = aged.clone();
        async move {
            for id in &aged {
                if exists(&svc, id).await {
                    return false;
                }
            }
            true
        }
    })
    .await;
    two_passes(&svc).await;
    assert!(
        exists(&svc, &child).await,
        "the child of an open parent was removed"
    );
    assert!(svc.runtime().retention().stats().held_by_parent > 0);
    for id in forever.iter().chain(&counted[3..]) {
        assert!(exists(&svc, id).await, "{id} should be kept");
    }
    svc.update_task_by_ref(&parent, "w", signal(TaskStatus::Completed))
        .await
        .unwrap();
    assert_eq!(
        svc.wait_closed(&parent, PATIENCE).await.unwrap(),
        WorkflowStatus::Completed
    );
    until("the child goes once its parent has ended", || {
        let svc = svc.clone();
        let child = child.clone();
        async move { !exists(&svc, &child).await }
    })
    .await;
    // The parent itself ended just now: kept for its hour.
    assert!(exists(&svc, &parent).await);

    // Everything removed is in the archive, each once.
    let mut lines = Vec::new();
    let mut ids = Vec::new();
    for entry in std::fs::read_dir(&archive).unwrap() {
        let path = entry.unwrap().path();
        assert!(path.to_string_lossy().ends_with(".jsonl.zst"), "{path:?}");
        baton_server::archive::read_file(&path, |n, line| {
            let exec = baton_server::archive::parse_line(line, n)?;
            ids.push(exec.workflow.workflow_id.clone());
            lines.push(line.to_vec());
            Ok(())
        })
        .unwrap();
    }
    let mut expected: Vec<String> = aged
        .iter()
        .chain(&counted[..3])
        .chain([&child])
        .cloned()
        .collect();
    expected.sort();
    ids.sort();
    assert_eq!(ids, expected);
    let stats = svc.runtime().retention().stats();
    assert_eq!((stats.removed, stats.archived), (7, 7));

    // Loaded back: readable with their tasks, and not removed again however old they are.
    let summary = svc.import_archived(lines.clone()).await.unwrap();
    assert_eq!((summary.imported, summary.present), (7, 0));
    let (wf, tasks) = svc.workflow(&aged[0], true).await.unwrap();
    assert_eq!(wf.status, WorkflowStatus::Completed);
    assert_eq!(tasks.len(), 1);
    clock.advance(10 * HOUR);
    two_passes(&svc).await;
    for id in &expected {
        assert!(exists(&svc, id).await, "restored {id} was removed again");
    }
    // The parent, finished in this store, goes by the default policy.
    until("the parent is removed after its hour", || {
        let svc = svc.clone();
        let parent = parent.clone();
        async move { !exists(&svc, &parent).await }
    })
    .await;
    // A second import finds them all present; a bad line is refused by number.
    let again = svc.import_archived(lines.clone()).await.unwrap();
    assert_eq!((again.imported, again.present), (0, 7));
    let mut bad = lines[..2].to_vec();
    bad.push(b"{\"workflow\": {}}".to_vec());
    match svc.import_archived(bad).await {
        Err(EngineError::InvalidArgument(m)) => assert!(m.starts_with("line 3:"), "{m}"),
        other => panic!("{other:?}"),
    }

    let rt = svc.runtime().clone();
    drop(svc);
    tokio::task::spawn_blocking(move || rt.shutdown())
        .await
        .unwrap();
}
