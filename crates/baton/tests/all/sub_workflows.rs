//! SUB_WORKFLOW, START_WORKFLOW and failureWorkflow against the real binary: registered
//! and inline children, outcomes mapped to the parent task, a terminated parent
//! terminating its child, a crash while a child runs, and the failure workflow's input.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::*;
use baton_proto::v1 as pb;
use baton_proto::v1::workflow_service_client::WorkflowServiceClient;
use serde_json::{Value, json};

fn task<'w>(w: &'w pb::Workflow, reference: &str) -> &'w pb::Task {
    w.tasks
        .iter()
        .rev()
        .find(|t| t.reference_task_name == reference)
        .unwrap_or_else(|| panic!("no task {reference} in {w:#?}"))
}

fn child_def() -> Value {
    json!({"name": "child", "version": 1, "tasks": [
        {"name": "child_work", "taskReferenceName": "work", "inputParameters": {"x": "${workflow.input.x}"}}
    ], "outputParameters": {"doubled": "${work.output.doubled}", "parent": "${workflow.parentWorkflowId}"}})
}

/// A worker for `child_work`: doubles x, fails when x is negative.
fn child_worker(ch: tonic::transport::Channel) -> tokio::task::JoinHandle<()> {
    let (h, _) = spawn_worker(
        ch,
        &["child_work"],
        8,
        Arc::new(|t: &pb::TaskAssignment| {
            let x = input_of(t)["x"].as_i64().unwrap_or(0);
            if x < 0 {
                Action::FailTerminal("negative".into())
            } else if x == 999 {
                Action::Stall
            } else {
                Action::Complete(json!({"doubled": x * 2}))
            }
        }),
    );
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registered_and_inline_children_run_and_map_their_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    register_task_defs(&ch, json!([{"name": "child_work", "retryCount": 0}])).await;
    register_workflow(&ch, &child_def()).await;
    let parent = json!({"name": "parent", "version": 1, "tasks": [
        {"name": "sub", "taskReferenceName": "sub", "type": "SUB_WORKFLOW",
         "inputParameters": {"x": "${workflow.input.x}"},
         "subWorkflowParam": {"name": "child", "version": 1}},
        {"name": "inline", "taskReferenceName": "inline", "type": "SUB_WORKFLOW",
         "inputParameters": {"x": "${sub.output.doubled}"},
         "subWorkflowParam": {"name": "inline_child", "workflowDefinition": {
            "name": "inline_child", "version": 1, "tasks": [
                {"name": "child_work", "taskReferenceName": "w2", "inputParameters": {"x": "${workflow.input.x}"}}
            ], "outputParameters": {"final": "${w2.output.doubled}"}}}}
    ], "outputParameters": {"first": "${sub.output.doubled}", "second": "${inline.output.final}",
        "childId": "${sub.output.subWorkflowId}", "parentSeen": "${sub.output.parent}"}});
    register_workflow(&ch, &parent).await;
    let _w = child_worker(ch.clone());
    let id = start(&ch, "parent", json!({"x": 5})).await;
    let w = wait_terminal(&ch, &id, 20).await;
    assert_eq!(status(&w), pb::WorkflowStatus::Completed, "{w:#?}");
    let o = output(&w);
    assert_eq!(
        (o["first"].clone(), o["second"].clone()),
        (json!(10), json!(20))
    );
    assert_eq!(o["parentSeen"], json!(id));
    let child_id = o["childId"].as_str().unwrap().to_string();
    assert_eq!(child_id, task(&w, "sub").task_id);
    let child = get(&ch, &child_id).await;
    assert_eq!(status(&child), pb::WorkflowStatus::Completed);
    assert_eq!(child.workflow_name, "child");

    // A failing child fails its task and the parent; an unknown child fails at once.
    let id = start(&ch, "parent", json!({"x": -1})).await;
    let w = wait_terminal(&ch, &id, 20).await;
    assert_eq!(status(&w), pb::WorkflowStatus::Failed);
    let sub = task(&w, "sub");
    assert_eq!(task_status(sub), pb::TaskStatus::Failed);
    assert!(
        sub.reason_for_incompletion.contains("negative"),
        "{}",
        sub.reason_for_incompletion
    );
    let missing = json!({"name": "orphan", "version": 1, "tasks": [
        {"name": "sub", "taskReferenceName": "sub", "type": "SUB_WORKFLOW",
         "subWorkflowParam": {"name": "no_such_child"}}]});
    register_workflow(&ch, &missing).await;
    let id = start(&ch, "orphan", json!({})).await;
    let w = wait_terminal(&ch, &id, 20).await;
    assert_eq!(status(&w), pb::WorkflowStatus::Failed);
    let reason = &task(&w, "sub").reason_for_incompletion;
    assert!(
        reason.contains("no_such_child") && reason.contains("does not exist"),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminating_the_parent_terminates_the_child() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    register_task_defs(&ch, json!([{"name": "child_work", "retryCount": 0}])).await;
    register_workflow(&ch, &child_def()).await;
    register_workflow(
        &ch,
        &json!({"name": "parent", "version": 1, "tasks": [
        {"name": "sub", "taskReferenceName": "sub", "type": "SUB_WORKFLOW",
         "inputParameters": {"x": 999}, "subWorkflowParam": {"name": "child"}}]}),
    )
    .await;
    let _w = child_worker(ch.clone());
    let id = start(&ch, "parent", json!({})).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let child_id = loop {
        let w = get(&ch, &id).await;
        if let Some(t) = w.tasks.first() {
            break t.task_id.clone();
        }
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let child = loop {
        let c = WorkflowServiceClient::new(ch.clone())
            .get_workflow(pb::GetWorkflowRequest {
                workflow_id: child_id.clone(),
                include_tasks: true,
            })
            .await;
        if let Ok(c) = c {
            break c.into_inner().workflow.unwrap();
        }
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(status(&child), pb::WorkflowStatus::Running);
    WorkflowServiceClient::new(ch.clone())
        .terminate_workflow(pb::TerminateWorkflowRequest {
            workflow_id: id.clone(),
            reason: "stop".into(),
        })
        .await
        .unwrap();
    let child = wait_terminal(&ch, &child_id, 10).await;
    assert_eq!(status(&child), pb::WorkflowStatus::Terminated);
    assert!(
        child.reason_for_incompletion.contains(&id),
        "{}",
        child.reason_for_incompletion
    );
    let w = get(&ch, &id).await;
    assert_eq!(task_status(task(&w, "sub")), pb::TaskStatus::Canceled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_running_across_a_crash_still_completes_its_parent() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let ch = server.channel().await;
    register_task_defs(&ch, json!([{"name": "child_work", "retryCount": 0}])).await;
    register_workflow(&ch, &child_def()).await;
    register_workflow(
        &ch,
        &json!({"name": "parent", "version": 1, "tasks": [
        {"name": "sub", "taskReferenceName": "sub", "type": "SUB_WORKFLOW",
         "inputParameters": {"x": 21}, "subWorkflowParam": {"name": "child"}}],
        "outputParameters": {"d": "${sub.output.doubled}"}}),
    )
    .await;
    // No worker yet: the child waits on its task.
    let id = start(&ch, "parent", json!({})).await;
    wait_until(&ch, &id, 10, "the child started", |w| {
        w.tasks.iter().any(|t| {
            t.reference_task_name == "sub"
                && task_status(t) == pb::TaskStatus::InProgress
                && t.output
                    .as_ref()
                    .is_some_and(|o| o.fields.contains_key("subWorkflowId"))
        })
    })
    .await;
    server.kill9();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    let _w = child_worker(ch.clone());
    let w = wait_terminal(&ch, &id, 20).await;
    assert_eq!(status(&w), pb::WorkflowStatus::Completed, "{w:#?}");
    assert_eq!(output(&w), json!({"d": 42}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_workflow_and_the_failure_workflow() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    register_workflow(&ch, &json!({"name": "started", "version": 1, "tasks": [
        {"name": "n", "taskReferenceName": "n", "type": "INLINE",
         "inputParameters": {"evaluatorType": "javascript", "v": "${workflow.input.v}", "expression": "$.v + 1"}}]}))
    .await;
    register_workflow(&ch, &json!({"name": "starter", "version": 1, "tasks": [
        {"name": "s", "taskReferenceName": "s", "type": "START_WORKFLOW",
         "inputParameters": {"startWorkflow": {"name": "started", "input": {"v": 41}, "correlationId": "c-1"}}}],
        "outputParameters": {"id": "${s.output.workflowId}"}}))
    .await;
    let id = start(&ch, "starter", json!({})).await;
    let w = wait_terminal(&ch, &id, 20).await;
    assert_eq!(status(&w), pb::WorkflowStatus::Completed, "{w:#?}");
    let started = output(&w)["id"].as_str().unwrap().to_string();
    let s = wait_terminal(&ch, &started, 20).await;
    assert_eq!(status(&s), pb::WorkflowStatus::Completed);
    assert_eq!(output(&s), json!({"result": 42}));
    assert_eq!(s.correlation_id, "c-1");

    // Naming a workflow that is not registered fails the task (FAILED, as in Conductor).
    register_workflow(
        &ch,
        &json!({"name": "lost_starter", "version": 1, "tasks": [
        {"name": "s", "taskReferenceName": "s", "type": "START_WORKFLOW",
         "inputParameters": {"startWorkflow": {"name": "nobody_registered_this"}}}]}),
    )
    .await;
    let id = start(&ch, "lost_starter", json!({})).await;
    let w = wait_terminal(&ch, &id, 20).await;
    assert_eq!(status(&w), pb::WorkflowStatus::Failed, "{w:#?}");
    assert_eq!(task(&w, "s").status, pb::TaskStatus::Failed as i32);

    // A run ended FAILED by a TERMINATE starts its failure workflow.
    register_workflow(&ch, &json!({"name": "on_failure", "version": 1, "tasks": [
        {"name": "n", "taskReferenceName": "n", "type": "NOOP"}],
        "outputParameters": {"failed": "${workflow.input.workflowId}", "why": "${workflow.input.reason}",
            "status": "${workflow.input.failureStatus}", "name": "${workflow.input.failedWorkflow.workflowName}"}}))
    .await;
    register_workflow(
        &ch,
        &json!({"name": "doomed", "version": 1, "failureWorkflow": "on_failure", "tasks": [
        {"name": "t", "taskReferenceName": "t", "type": "TERMINATE",
         "inputParameters": {"terminationStatus": "FAILED", "terminationReason": "gave up"}}]}),
    )
    .await;
    let id = WorkflowServiceClient::new(ch.clone())
        .start_workflow(pb::StartWorkflowRequest {
            name: "doomed".into(),
            correlation_id: "doom-1".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .workflow_id;
    let w = wait_terminal(&ch, &id, 20).await;
    assert_eq!(status(&w), pb::WorkflowStatus::Failed);
    let deadline = Instant::now() + Duration::from_secs(20);
    let f = loop {
        let found = WorkflowServiceClient::new(ch.clone())
            .get_workflows_by_correlation_id(pb::GetWorkflowsByCorrelationIdRequest {
                name: "on_failure".into(),
                correlation_id: "doom-1".into(),
                include_closed: true,
                include_tasks: false,
            })
            .await
            .unwrap()
            .into_inner()
            .workflows;
        if let Some(f) = found
            .into_iter()
            .find(|f| status(f) == pb::WorkflowStatus::Completed)
        {
            break f;
        }
        assert!(Instant::now() < deadline, "no failure workflow ran");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        output(&f),
        json!({"failed": id, "why": "gave up", "status": "FAILED", "name": "doomed"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_reach_across_parent_and_child() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    register_task_defs(&ch, json!([{"name": "flaky_work", "retryCount": 0}])).await;
    register_workflow(
        &ch,
        &json!({"name": "flaky_child", "version": 1, "tasks": [
            {"name": "flaky_work", "taskReferenceName": "work"}]}),
    )
    .await;
    register_workflow(
        &ch,
        &json!({"name": "flaky_parent", "version": 1, "tasks": [
            {"name": "sub", "taskReferenceName": "sub", "type": "SUB_WORKFLOW",
             "subWorkflowParam": {"name": "flaky_child", "version": 1}},
            {"name": "after", "taskReferenceName": "after", "type": "NOOP"}]}),
    )
    .await;
    // The worker fails for good while `broken` is set.
    let broken = Arc::new(AtomicBool::new(true));
    let b = broken.clone();
    let (_worker, _) = spawn_worker(
        ch.clone(),
        &["flaky_work"],
        8,
        Arc::new(move |_: &pb::TaskAssignment| {
            if b.load(Ordering::SeqCst) {
                Action::FailTerminal("not today".into())
            } else {
                Action::Complete(json!({"ok": true}))
            }
        }),
    );
    let retry = |id: String, resume: bool| {
        let ch = ch.clone();
        async move {
            WorkflowServiceClient::new(ch)
                .retry_workflow(pb::RetryWorkflowRequest {
                    workflow_id: id,
                    resume_subworkflow_tasks: resume,
                })
                .await
                .expect("retry")
        }
    };
    let child_of = |w: &pb::Workflow| -> String {
        Value::Object(
            task(w, "sub")
                .output
                .as_ref()
                .map(baton_grpc::convert::struct_to_object)
                .unwrap_or_default(),
        )["subWorkflowId"]
            .as_str()
            .expect("a child id")
            .to_string()
    };

    // Retrying the failed child brings its failed parent back to RUNNING; both complete.
    let p1 = start(&ch, "flaky_parent", json!({})).await;
    let w = wait_terminal(&ch, &p1, 20).await;
    assert_eq!(status(&w), pb::WorkflowStatus::Failed);
    let child = child_of(&w);
    assert_eq!(status(&get(&ch, &child).await), pb::WorkflowStatus::Failed);
    broken.store(false, Ordering::SeqCst);
    retry(child.clone(), false).await;
    let w = wait_terminal(&ch, &p1, 20).await;
    assert_eq!(status(&w), pb::WorkflowStatus::Completed, "{w:#?}");
    assert_eq!(child_of(&w), child, "the same child");
    assert_eq!(
        w.tasks
            .iter()
            .filter(|t| t.reference_task_name == "sub")
            .count(),
        1
    );
    assert_eq!(
        status(&get(&ch, &child).await),
        pb::WorkflowStatus::Completed
    );

    // Retrying the parent with resumeSubworkflowTasks retries the child in place.
    broken.store(true, Ordering::SeqCst);
    let p2 = start(&ch, "flaky_parent", json!({})).await;
    let w = wait_terminal(&ch, &p2, 20).await;
    assert_eq!(status(&w), pb::WorkflowStatus::Failed);
    let child = child_of(&w);
    broken.store(false, Ordering::SeqCst);
    retry(p2.clone(), true).await;
    let w = wait_terminal(&ch, &p2, 20).await;
    assert_eq!(status(&w), pb::WorkflowStatus::Completed, "{w:#?}");
    assert_eq!(child_of(&w), child, "the same child, retried");
    let c = get(&ch, &child).await;
    let attempts: Vec<i32> = c.tasks.iter().map(|t| t.status).collect();
    assert_eq!(
        attempts,
        vec![
            pb::TaskStatus::FailedWithTerminalError as i32,
            pb::TaskStatus::Completed as i32
        ]
    );

    // Without it, the parent's retry starts a new child.
    broken.store(true, Ordering::SeqCst);
    let p3 = start(&ch, "flaky_parent", json!({})).await;
    let w = wait_terminal(&ch, &p3, 20).await;
    let first_child = child_of(&w);
    broken.store(false, Ordering::SeqCst);
    retry(p3.clone(), false).await;
    let w = wait_terminal(&ch, &p3, 20).await;
    assert_eq!(status(&w), pb::WorkflowStatus::Completed);
    assert_ne!(child_of(&w), first_child);
    assert_eq!(
        status(&get(&ch, &first_child).await),
        pb::WorkflowStatus::Failed
    );
}
