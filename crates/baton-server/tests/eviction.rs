//! The execution cache changes nothing but memory: random operations run against an engine
//! that drops every execution after each batch (and loads it again for the next event) end
//! in the same states as against an engine that keeps them all.

use std::sync::Arc;

use baton_core::{Object, TaskResult, TaskStatus, WorkflowStatus};
use baton_server::{EngineConfig, ManualClock, Runtime, Service, StartRequest};
use baton_store::SledStore;
use proptest::prelude::*;
use serde_json::json;

const T0: i64 = 1_800_000_000_000;

#[derive(Debug, Clone)]
enum Op {
    Start(u8),
    /// Complete (true) or fail (false) the open worker task of workflow `w`, by reference.
    Report {
        w: usize,
        ok: bool,
        value: u8,
    },
    /// A worker polls one task and completes it with its token.
    PollAndComplete(u8),
    Pause(usize),
    Resume(usize),
    Terminate(usize),
    Retry(usize),
    Restart(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => any::<u8>().prop_map(Op::Start),
        5 => (0..8usize, any::<bool>(), any::<u8>()).prop_map(|(w, ok, value)| Op::Report { w, ok, value }),
        3 => any::<u8>().prop_map(Op::PollAndComplete),
        1 => (0..8usize).prop_map(Op::Pause),
        1 => (0..8usize).prop_map(Op::Resume),
        1 => (0..8usize).prop_map(Op::Terminate),
        1 => (0..8usize).prop_map(Op::Retry),
        1 => (0..8usize).prop_map(Op::Restart),
    ]
}

/// What a run ends with, per workflow in start order: its status and, per task instance,
/// reference, status, attempt and output.
type Outcome = Vec<(
    WorkflowStatus,
    Vec<(String, TaskStatus, i32, serde_json::Value)>,
)>;

async fn run(ops: &[Op], cache_bytes: usize) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(dir.path()).unwrap());
    let rt = Runtime::open(
        store,
        EngineConfig {
            clock: ManualClock::new(T0),
            cache_bytes,
            ..Default::default()
        },
    )
    .unwrap();
    let svc = Service::new(rt);
    svc.runtime().recover().await.unwrap();
    svc.register_task_defs(&[
        json!({"name": "step", "retryCount": 1, "retryDelaySeconds": 0, "responseTimeoutSeconds": 3600}),
    ])
    .await
    .unwrap();
    svc.register_workflow_def(&json!({
        "name": "flow",
        "tasks": [
            {"name": "step", "taskReferenceName": "first"},
            {"name": "route", "taskReferenceName": "route", "type": "SWITCH",
             "evaluatorType": "value-param", "expression": "v",
             "inputParameters": {"v": "${first.output.big}"},
             "decisionCases": {
                 "true": [{"name": "step", "taskReferenceName": "big"}]
             },
             "defaultCase": [{"name": "step", "taskReferenceName": "small"}]},
            {"name": "step", "taskReferenceName": "last",
             "inputParameters": {"from": "${first.output.value}"}}
        ]
    }))
    .await
    .unwrap();

    let mut ids: Vec<String> = Vec::new();
    for op in ops {
        match op {
            Op::Start(n) => {
                let mut input = Object::new();
                input.insert("n".into(), json!(n));
                let id = svc
                    .start_workflow(StartRequest {
                        name: "flow".into(),
                        input,
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                ids.push(id);
            }
            Op::Report { w, ok, value } => {
                let Some(id) = ids.get(*w) else { continue };
                let (_, tasks) = svc.workflow(id, true).await.unwrap();
                let Some(open) = tasks.iter().rev().find(|t| !t.status.is_terminal()) else {
                    continue;
                };
                let mut output = Object::new();
                output.insert("value".into(), json!(value));
                output.insert("big".into(), json!(value > &127));
                let result = TaskResult {
                    task_id: String::new(),
                    token: None,
                    status: if *ok {
                        TaskStatus::Completed
                    } else {
                        TaskStatus::Failed
                    },
                    output,
                    reason_for_incompletion: (!ok).then(|| "no".to_string()),
                    logs: Vec::new(),
                    callback_after_seconds: 0,
                    worker_id: None,
                };
                let _ = svc
                    .update_task_by_ref(id, &open.reference_task_name, result)
                    .await;
            }
            Op::PollAndComplete(value) => {
                let got = svc.poll("step", "", "w", 1, 0).await.unwrap();
                for a in got {
                    let mut output = Object::new();
                    output.insert("value".into(), json!(value));
                    let result = TaskResult {
                        task_id: a.task_id.clone(),
                        token: Some(a.token.clone()),
                        status: TaskStatus::Completed,
                        output,
                        reason_for_incompletion: None,
                        logs: Vec::new(),
                        callback_after_seconds: 0,
                        worker_id: None,
                    };
                    svc.update_task(&a.workflow_id, result).await.unwrap();
                }
            }
            Op::Pause(w) => {
                if let Some(id) = ids.get(*w) {
                    let _ = svc.pause(id).await;
                }
            }
            Op::Resume(w) => {
                if let Some(id) = ids.get(*w) {
                    let _ = svc.resume(id).await;
                }
            }
            Op::Terminate(w) => {
                if let Some(id) = ids.get(*w) {
                    let _ = svc.terminate(id, Some("stop".into())).await;
                }
            }
            Op::Retry(w) => {
                if let Some(id) = ids.get(*w) {
                    let _ = svc.retry(id, false).await;
                }
            }
            Op::Restart(w) => {
                if let Some(id) = ids.get(*w) {
                    let _ = svc.restart(id, false).await;
                }
            }
        }
    }
    let mut out = Vec::new();
    for id in &ids {
        let (wf, tasks) = svc.workflow(id, true).await.unwrap();
        out.push((
            wf.status,
            tasks
                .into_iter()
                .map(|t| {
                    (
                        t.reference_task_name,
                        t.status,
                        t.retry_count,
                        serde_json::Value::Object(t.output),
                    )
                })
                .collect(),
        ));
    }
    let rt = svc.runtime().clone();
    drop(svc);
    tokio::task::spawn_blocking(move || rt.shutdown())
        .await
        .unwrap();
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn a_tiny_cache_gives_the_same_outcomes_as_an_unbounded_one(
        ops in prop::collection::vec(op(), 1..40)
    ) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (tiny, unbounded) = rt.block_on(async {
            (run(&ops, 1).await, run(&ops, usize::MAX).await)
        });
        prop_assert_eq!(tiny, unbounded);
    }
}
