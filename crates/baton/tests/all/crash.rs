//! SIGKILL the server while workflows run, restart it on the same data dir, and check that
//! every acknowledged start and result survived and every workflow finished exactly once.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::*;
use baton_proto::v1 as pb;
use serde_json::{Value, json};

const WORKFLOWS: usize = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let ch = server.channel().await;
    register_task_defs(&ch, json!({"name": "crash_task", "retryCount": 3, "retryDelaySeconds": 0, "responseTimeoutSeconds": 2})).await;
    register_workflow(&ch, &json!({"name": "crash_wf", "tasks": [
        {"name": "crash_task", "taskReferenceName": "a", "inputParameters": {"n": "${workflow.input.n}"}},
        {"name": "crash_task", "taskReferenceName": "b", "inputParameters": {"n": "${a.output.n}"}},
        {"name": "crash_task", "taskReferenceName": "c", "inputParameters": {"n": "${b.output.n}"}}
    ], "outputParameters": {"n": "${c.output.n}"}})).await;

    // Each task answers with its input plus one, so outputs prove which result was kept.
    let handler: Handler = Arc::new(|t| {
        let n = input_of(t)["n"].as_i64().unwrap_or(-1000);
        Action::Complete(json!({"n": n + 1, "by": t.token}))
    });
    let (worker1, seen1) = spawn_worker(ch.clone(), &["crash_task"], 16, handler.clone());

    // Start workflows until the server dies under us.
    let mut started: Vec<(String, i64)> = Vec::new();
    let kill_after = Instant::now() + Duration::from_millis(700);
    for n in 0..WORKFLOWS as i64 {
        if Instant::now() > kill_after && started.len() >= 50 {
            break;
        }
        started.push((start(&ch, "crash_wf", json!({"n": n * 10})).await, n * 10));
    }
    // Kill mid-flight: the worker is still completing tasks.
    server.kill9();
    worker1.abort();
    let acked_before: Vec<pb::Ack> = seen1
        .lock()
        .unwrap()
        .acks
        .iter()
        .filter(|a| a.ok)
        .cloned()
        .collect();
    let tasks_before: HashMap<String, pb::TaskAssignment> = seen1
        .lock()
        .unwrap()
        .tasks
        .iter()
        .map(|t| (t.task_id.clone(), t.clone()))
        .collect();
    assert!(
        !acked_before.is_empty(),
        "some results were acknowledged before the kill"
    );

    let server = Server::start(dir.path());
    let ch = server.channel().await;
    let (_worker2, seen2) = spawn_worker(ch.clone(), &["crash_task"], 16, handler);

    for (id, n) in &started {
        let wf = wait_terminal(&ch, id, 60).await;
        assert_eq!(
            status(&wf),
            pb::WorkflowStatus::Completed,
            "workflow {id}: {wf:#?}"
        );
        assert_eq!(
            output(&wf)["n"],
            json!(n + 3),
            "each step ran once on the kept path"
        );
        // Exactly one completed instance per reference name.
        for r in ["a", "b", "c"] {
            let done = wf
                .tasks
                .iter()
                .filter(|t| {
                    t.reference_task_name == r && task_status(t) == pb::TaskStatus::Completed
                })
                .count();
            assert_eq!(done, 1, "{id} ref {r}: {wf:#?}");
        }
    }

    // Every result acknowledged before the kill is there, with the output that was sent.
    let acked_ids: HashSet<String> = acked_before.iter().map(|a| a.task_id.clone()).collect();
    let mut checked = 0;
    for (id, _) in &started {
        let wf = get(&ch, id).await;
        for t in &wf.tasks {
            if acked_ids.contains(&t.task_id) {
                assert_eq!(task_status(t), pb::TaskStatus::Completed);
                let out = Value::Object(baton_grpc::convert::struct_to_object(
                    t.output.as_ref().unwrap(),
                ));
                assert_eq!(out["by"], json!(tasks_before[&t.task_id].token));
                checked += 1;
            }
        }
    }
    assert_eq!(
        checked,
        acked_ids.len(),
        "every acknowledged result belongs to a started workflow"
    );
    // Nothing acknowledged was handed out again after the restart.
    let again: Vec<String> = seen2
        .lock()
        .unwrap()
        .tasks
        .iter()
        .map(|t| t.task_id.clone())
        .filter(|id| acked_ids.contains(id))
        .collect();
    assert!(again.is_empty(), "acknowledged tasks ran again: {again:?}");
    eprintln!(
        "{} workflows started before the kill, {} results acknowledged before it",
        started.len(),
        acked_ids.len()
    );
}
