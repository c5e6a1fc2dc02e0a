//! EXCLUSIVE_JOIN: ends with the output of the branch that ran.

use std::sync::Arc;

use crate::common::*;
use baton_core::WorkflowDef;
use baton_core::state::{TaskStatus, WorkflowStatus};
use serde_json::json;

fn def() -> Arc<WorkflowDef> {
    wf(json!({"name": "xj", "tasks": [
        {"name": "s", "taskReferenceName": "s1", "type": "SWITCH", "evaluatorType": "value-param",
         "expression": "kind", "inputParameters": {"kind": "${workflow.input.kind}"},
         "decisionCases": {
            "a": [{"name": "a", "taskReferenceName": "a1"}],
            "b": [{"name": "b", "taskReferenceName": "b1"}],
            "none": []},
         "defaultCase": [{"name": "d", "taskReferenceName": "d1"}]},
        {"name": "xj", "taskReferenceName": "x1", "type": "EXCLUSIVE_JOIN",
         "joinOn": ["a1", "b1"], "defaultExclusiveJoinTask": ["d1"]}
    ]}))
}

#[test]
fn completes_with_the_output_of_the_branch_that_ran() {
    for (kind, reference) in [("a", "a1"), ("b", "b1"), ("zzz", "d1")] {
        let mut env = TestEnv::new();
        let (mut exec, _) = start(def(), json!({"kind": kind}), &mut env);
        assert!(exec.latest_task("x1").is_none(), "waits for the case");
        complete_ref(&mut exec, &mut env, reference, json!({"from": reference}));
        let x1 = by_ref(&exec, "x1");
        assert_eq!(x1.status, TaskStatus::Completed, "{kind}");
        assert_eq!(x1.output, obj(json!({"from": reference})));
        assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
        assert_eq!(exec.workflow.output, obj(json!({"from": reference})));
    }
}

#[test]
fn fails_when_no_branch_ran() {
    let mut env = TestEnv::new();
    let (exec, d) = start(def(), json!({"kind": "none"}), &mut env);
    let x1 = by_ref(&exec, "x1");
    assert_eq!(x1.status, TaskStatus::Failed);
    let reason = x1.reason_for_incompletion.as_deref().unwrap();
    assert!(reason.contains("none of joinOn [a1, b1]"), "{reason}");
    assert_eq!(closed(&d), Some(WorkflowStatus::Failed));
}

#[test]
fn a_permissive_branch_failure_fails_it() {
    let d = wf(json!({"name": "xj", "tasks": [
        {"name": "s", "taskReferenceName": "s1", "type": "SWITCH", "evaluatorType": "value-param",
         "expression": "kind", "inputParameters": {"kind": "a"},
         "decisionCases": {"a": [{"name": "a", "taskReferenceName": "a1", "permissive": true}]}},
        {"name": "xj", "taskReferenceName": "x1", "type": "EXCLUSIVE_JOIN", "joinOn": ["a1"]}
    ]}));
    let mut env = TestEnv::new();
    env.def(json!({"name": "a", "retryCount": 0}));
    let (mut exec, _) = start(d, json!({}), &mut env);
    run_ref(
        &mut exec,
        &mut env,
        "a1",
        TaskStatus::Failed,
        json!({"e": 1}),
    );
    let x1 = by_ref(&exec, "x1");
    assert_eq!(x1.status, TaskStatus::Failed);
    assert!(
        x1.reason_for_incompletion
            .as_deref()
            .unwrap()
            .contains("joined task a1")
    );
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
}

#[test]
fn waits_while_a_fork_branch_it_joins_on_runs() {
    let d = wf(json!({"name": "xj", "tasks": [
        {"name": "f", "taskReferenceName": "f1", "type": "FORK_JOIN",
         "forkTasks": [[{"name": "a", "taskReferenceName": "a1"},
                        {"name": "xj", "taskReferenceName": "x1", "type": "EXCLUSIVE_JOIN",
                         "joinOn": ["b1"]}],
                       [{"name": "b", "taskReferenceName": "b1"}]]},
        {"name": "j", "taskReferenceName": "j1", "type": "JOIN", "joinOn": ["x1", "b1"]}
    ]}));
    let mut env = TestEnv::new();
    let (mut exec, _) = start(d, json!({}), &mut env);
    complete_ref(&mut exec, &mut env, "a1", json!({}));
    assert_eq!(by_ref(&exec, "x1").status, TaskStatus::InProgress);
    complete_ref(&mut exec, &mut env, "b1", json!({"v": 9}));
    assert_eq!(by_ref(&exec, "x1").status, TaskStatus::Completed);
    assert_eq!(by_ref(&exec, "x1").output, obj(json!({"v": 9})));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
}
