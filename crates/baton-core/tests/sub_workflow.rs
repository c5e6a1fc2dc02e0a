//! SUB_WORKFLOW, START_WORKFLOW and failureWorkflow in the pure decider: what it asks the
//! runtime to start, and how a child's end maps onto the parent task.

mod common;

use baton_core::decider::{self, ChildStart, Decision, Effect, Event};
use baton_core::state::{TaskStatus, WorkflowStatus};
use common::*;
use serde_json::json;

fn starts(d: &Decision) -> Vec<(Option<String>, ChildStart)> {
    d.effects
        .iter()
        .filter_map(|e| match e {
            Effect::StartWorkflow { task_id, request } => Some((task_id.clone(), request.clone())),
            _ => None,
        })
        .collect()
}

fn parent() -> serde_json::Value {
    json!({"name": "parent", "tasks": [
        {"name": "sub", "taskReferenceName": "sub", "type": "SUB_WORKFLOW",
         "inputParameters": {"x": "${workflow.input.x}"},
         "subWorkflowParam": {"name": "${workflow.input.child}", "version": "2", "priority": 7}},
        {"name": "after", "taskReferenceName": "after", "inputParameters": {"r": "${sub.output.r}"}}
    ]})
}

#[test]
fn a_sub_workflow_asks_for_its_child_and_takes_its_end() {
    let mut env = TestEnv::new();
    let (mut exec, d) = start(wf(parent()), json!({"x": 1, "child": "kid"}), &mut env);
    let sub = by_ref(&exec, "sub").clone();
    assert_eq!(sub.status, TaskStatus::InProgress);
    assert_eq!(sub.output, obj(json!({"subWorkflowId": sub.task_id})));
    let (task_id, req) = starts(&d).pop().expect("a child start");
    assert_eq!(task_id.as_deref(), Some(sub.task_id.as_str()));
    assert_eq!(req.workflow_id, sub.task_id);
    assert_eq!(
        (req.name.as_str(), req.version, req.priority),
        ("kid", Some(2), 7)
    );
    assert_eq!(req.input, obj(json!({"x": 1})));
    assert_eq!(
        req.parent,
        Some((exec.workflow.workflow_id.clone(), sub.task_id.clone()))
    );
    // Recovery asks again for the same child.
    let again: Vec<_> = decider::recover(&exec, env.now)
        .into_iter()
        .filter(|e| matches!(e, Effect::StartWorkflow { .. }))
        .collect();
    assert_eq!(
        again,
        vec![Effect::StartWorkflow {
            task_id: Some(sub.task_id.clone()),
            request: req.clone()
        }]
    );
    // A report about another child changes nothing; the child's own end completes the task.
    let ended = |child: &str, status| Event::ChildEnded {
        task_id: sub.task_id.clone(),
        child_id: child.into(),
        status,
        output: obj(json!({"r": 5})),
        reason: None,
    };
    let d = decider::decide(
        &mut exec,
        ended("someone-else", WorkflowStatus::Completed),
        &mut env,
    )
    .unwrap();
    assert!(d.changed_tasks.is_empty());
    decider::decide(
        &mut exec,
        ended(&sub.task_id, WorkflowStatus::Completed),
        &mut env,
    )
    .unwrap();
    let s = by_ref(&exec, "sub");
    assert_eq!(s.status, TaskStatus::Completed);
    assert_eq!(s.output, obj(json!({"subWorkflowId": sub.task_id, "r": 5})));
    assert_eq!(by_ref(&exec, "after").input, obj(json!({"r": 5})));
}

#[test]
fn child_outcomes_map_to_task_statuses() {
    for (child, task) in [
        (WorkflowStatus::Failed, TaskStatus::Failed),
        (WorkflowStatus::TimedOut, TaskStatus::TimedOut),
        (WorkflowStatus::Terminated, TaskStatus::Canceled),
    ] {
        let mut env = TestEnv::new();
        let (mut exec, _) = start(wf(parent()), json!({"child": "kid"}), &mut env);
        let id = by_ref(&exec, "sub").task_id.clone();
        decider::decide(
            &mut exec,
            Event::ChildEnded {
                task_id: id.clone(),
                child_id: id,
                status: child,
                output: obj(json!({})),
                reason: Some("boom".into()),
            },
            &mut env,
        )
        .unwrap();
        let s = by_ref(&exec, "sub");
        assert_eq!(s.status, task);
        assert!(
            s.reason_for_incompletion
                .as_deref()
                .unwrap()
                .contains("boom")
        );
        assert!(exec.workflow.status.is_terminal());
    }
}

#[test]
fn terminating_the_parent_terminates_the_child_and_failure_starts_the_failure_workflow() {
    let mut env = TestEnv::new();
    let (mut exec, _) = start(wf(parent()), json!({"child": "kid"}), &mut env);
    let id = by_ref(&exec, "sub").task_id.clone();
    let d = decider::decide(&mut exec, Event::Terminate { reason: None }, &mut env).unwrap();
    assert!(
        d.effects.iter().any(
            |e| matches!(e, Effect::TerminateWorkflow { workflow_id, .. } if *workflow_id == id)
        )
    );
    assert!(
        starts(&d).is_empty(),
        "no failure workflow for an operator's terminate"
    );

    let mut def = parent();
    def["failureWorkflow"] = json!("cleanup");
    let (mut exec, _) = start(wf(def), json!({"child": "kid"}), &mut env);
    let id = by_ref(&exec, "sub").task_id.clone();
    let d = decider::decide(
        &mut exec,
        Event::ChildEnded {
            task_id: id.clone(),
            child_id: id.clone(),
            status: WorkflowStatus::Failed,
            output: obj(json!({})),
            reason: None,
        },
        &mut env,
    )
    .unwrap();
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    let (task_id, req) = starts(&d).pop().expect("the failure workflow");
    assert_eq!(
        (task_id, req.name.as_str(), req.parent),
        (None, "cleanup", None)
    );
    assert_eq!(req.input["workflowId"], json!(exec.workflow.workflow_id));
    assert_eq!(req.input["failureStatus"], json!("FAILED"));
    assert_eq!(req.input["failureTaskId"], json!(id));
    assert_eq!(req.input["failedWorkflow"]["workflowName"], json!("parent"));
    // The failed run's own input comes along at the top level, and the failed run names
    // its failure workflow in its output.
    assert_eq!(req.input["child"], json!("kid"));
    assert_eq!(
        exec.workflow.output["conductor.failure_workflow"],
        json!(req.workflow_id)
    );
}

#[test]
fn start_workflow_completes_once_started_and_bad_input_fails() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "s", "tasks": [
        {"name": "s", "taskReferenceName": "s", "type": "START_WORKFLOW",
         "inputParameters": {"startWorkflow": {"name": "other", "version": 3, "input": {"a": 1}, "correlationId": "c"}}}
    ]}));
    let (mut exec, d) = start(def, json!({}), &mut env);
    let (task_id, req) = starts(&d).pop().unwrap();
    let task_id = task_id.unwrap();
    assert_eq!(
        (
            req.name.as_str(),
            req.version,
            req.correlation_id.as_deref()
        ),
        ("other", Some(3), Some("c"))
    );
    assert_eq!(req.parent, None);
    job_done(
        &mut exec,
        &mut env,
        &task_id,
        TaskStatus::Completed,
        json!({"workflowId": task_id}),
        None,
    );
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
    assert_eq!(
        by_ref(&exec, "s").output,
        obj(json!({"workflowId": task_id}))
    );

    let def = wf(json!({"name": "s", "tasks": [
        {"name": "s", "taskReferenceName": "s", "type": "START_WORKFLOW", "inputParameters": {"startWorkflow": "nope"}}
    ]}));
    let (exec, d) = start(def, json!({}), &mut env);
    assert!(starts(&d).is_empty());
    assert_eq!(
        by_ref(&exec, "s").status,
        TaskStatus::FailedWithTerminalError
    );
}
