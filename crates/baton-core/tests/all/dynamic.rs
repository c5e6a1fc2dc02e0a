//! DYNAMIC: the task name comes from the input; the task then runs as a worker task of
//! that name.

use std::sync::Arc;

use crate::common::*;
use baton_core::WorkflowDef;
use baton_core::decider::QueueKey;
use baton_core::state::{TaskStatus, WorkflowStatus};
use serde_json::json;

fn dyn_def() -> Arc<WorkflowDef> {
    wf(json!({"name": "dy", "tasks": [
        {"name": "dyn", "taskReferenceName": "d1", "type": "DYNAMIC",
         "dynamicTaskNameParam": "taskToRun",
         "inputParameters": {"taskToRun": "${workflow.input.which}", "x": 1}},
        {"name": "after", "taskReferenceName": "after1", "inputParameters": {"r": "${d1.output.r}"}}
    ]}))
}

#[test]
fn runs_as_a_worker_task_of_the_named_type() {
    let mut env = TestEnv::new();
    env.def(json!({"name": "resize"}));
    let (mut exec, d) = start(dyn_def(), json!({"which": "resize"}), &mut env);
    let t = by_ref(&exec, "d1");
    assert_eq!(t.task_def_name, "resize");
    assert_eq!(t.task_type, "SIMPLE");
    assert_eq!(t.status, TaskStatus::Scheduled);
    assert_eq!(t.input, obj(json!({"taskToRun": "resize", "x": 1})));
    let queued: Vec<QueueKey> = d
        .effects
        .iter()
        .filter_map(|e| match e {
            baton_core::decider::Effect::Enqueue { queue, .. } => Some(queue.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        queued,
        vec![QueueKey {
            task_type: "resize".into(),
            domain: None
        }]
    );
    complete_ref(&mut exec, &mut env, "d1", json!({"r": 7}));
    assert_eq!(by_ref(&exec, "after1").input, obj(json!({"r": 7})));
    complete_ref(&mut exec, &mut env, "after1", json!({}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
}

#[test]
fn worker_instances_report_their_task_name_as_type() {
    // As in Conductor, a worker task instance (SIMPLE, or the one a DYNAMIC task picks)
    // shows its task's name as its type, in views and in `${ref.taskType}`; the stored
    // type the decider routes by stays SIMPLE.
    let mut env = TestEnv::new();
    env.def(json!({"name": "resize"}));
    let def = wf(json!({"name": "dy", "tasks": [
        {"name": "dyn", "taskReferenceName": "d1", "type": "DYNAMIC",
         "dynamicTaskNameParam": "taskToRun",
         "inputParameters": {"taskToRun": "${workflow.input.which}"}},
        {"name": "plain", "taskReferenceName": "p", "type": "SIMPLE",
         "inputParameters": {"dyn": "${d1.taskType}"}},
        {"name": "vars", "taskReferenceName": "v", "type": "SET_VARIABLE",
         "inputParameters": {"plain": "${p.taskType}"}}
    ]}));
    let (mut exec, _) = start(def, json!({"which": "resize"}), &mut env);
    let d1 = by_ref(&exec, "d1");
    assert_eq!(
        (d1.task_type.as_str(), d1.reported_type()),
        ("SIMPLE", "resize")
    );
    complete_ref(&mut exec, &mut env, "d1", json!({}));
    let p = by_ref(&exec, "p");
    assert_eq!(p.reported_type(), "plain");
    assert_eq!(p.input, obj(json!({"dyn": "resize"})));
    complete_ref(&mut exec, &mut env, "p", json!({}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
    assert_eq!(exec.workflow.variables, obj(json!({"plain": "plain"})));
    assert_eq!(by_ref(&exec, "v").reported_type(), "SET_VARIABLE");
}

#[test]
fn retries_follow_the_named_task_definition() {
    let mut env = TestEnv::new();
    env.def(json!({"name": "resize", "retryCount": 1, "retryDelaySeconds": 0}));
    let (mut exec, _) = start(dyn_def(), json!({"which": "resize"}), &mut env);
    run_ref(&mut exec, &mut env, "d1", TaskStatus::Failed, json!({}));
    let retry = by_ref(&exec, "d1");
    assert_eq!(retry.retry_count, 1);
    assert_eq!(retry.task_def_name, "resize");
    assert_eq!(retry.status, TaskStatus::Scheduled);
    run_ref(&mut exec, &mut env, "d1", TaskStatus::Failed, json!({}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    assert_eq!(exec.tasks.len(), 2);
}

#[test]
fn a_missing_or_empty_name_fails_the_task_naming_the_parameter() {
    for input in [json!({}), json!({"which": ""}), json!({"which": 5})] {
        let mut env = TestEnv::new();
        let (exec, d) = start(dyn_def(), input.clone(), &mut env);
        let t = by_ref(&exec, "d1");
        assert_eq!(t.status, TaskStatus::Failed, "{input}");
        assert_eq!(t.task_type, "DYNAMIC");
        let reason = t.reason_for_incompletion.as_deref().unwrap();
        assert!(reason.contains("taskToRun"), "{reason}");
        assert!(reason.contains("dynamicTaskNameParam"), "{reason}");
        assert!(enqueued(&d).is_empty());
        assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
        assert_eq!(exec.tasks.len(), 1, "a failed name is not retried");
    }
}

#[test]
fn an_optional_dynamic_task_without_a_name_lets_the_workflow_go_on() {
    let def = wf(json!({"name": "dy", "tasks": [
        {"name": "dyn", "taskReferenceName": "d1", "type": "DYNAMIC", "optional": true,
         "dynamicTaskNameParam": "taskToRun", "inputParameters": {}},
        {"name": "after", "taskReferenceName": "after1"}
    ]}));
    let mut env = TestEnv::new();
    let (exec, _) = start(def, json!({}), &mut env);
    assert_eq!(by_ref(&exec, "d1").status, TaskStatus::CompletedWithErrors);
    assert_eq!(by_ref(&exec, "after1").status, TaskStatus::Scheduled);
}

#[test]
fn a_name_without_a_task_definition_fails_the_task_unless_one_is_inline() {
    let mut env = TestEnv::new();
    let (exec, d) = start(dyn_def(), json!({"which": "unknown_task"}), &mut env);
    let t = by_ref(&exec, "d1");
    assert_eq!(t.status, TaskStatus::Failed);
    let reason = t.reason_for_incompletion.as_deref().unwrap();
    assert!(reason.contains("unknown_task"), "{reason}");
    assert!(enqueued(&d).is_empty(), "nothing is queued");
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    assert!(exec.latest_task("after1").is_none());

    // An inline task definition on the DYNAMIC task is enough.
    let inline = wf(json!({"name": "dy", "tasks": [
        {"name": "dyn", "taskReferenceName": "d1", "type": "DYNAMIC",
         "dynamicTaskNameParam": "taskToRun", "taskDefinition": {"name": "dyn", "retryCount": 0},
         "inputParameters": {"taskToRun": "${workflow.input.which}"}}
    ]}));
    let (exec, _) = start(inline, json!({"which": "unknown_task"}), &mut env);
    let t = by_ref(&exec, "d1");
    assert_eq!(
        (t.status, t.task_def_name.as_str()),
        (TaskStatus::Scheduled, "unknown_task")
    );
}
