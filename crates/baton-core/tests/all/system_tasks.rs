//! NOOP, SET_VARIABLE and TERMINATE: system tasks the decider runs itself.

use std::sync::Arc;

use crate::common::*;
use baton_core::decider::{self, Event, MAX_VARIABLES_BYTES};
use baton_core::state::{TaskStatus, WorkflowStatus};
use serde_json::json;

use TaskStatus::{Canceled, Completed, CompletedWithErrors, Failed, Scheduled};

// ---------------------------------------------------------------- NOOP

#[test]
fn noop_completes_at_once() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "n", "tasks": [
        {"name": "n", "taskReferenceName": "n1", "type": "NOOP", "inputParameters": {"x": "${workflow.input.x}"}},
        {"name": "a", "taskReferenceName": "a1", "inputParameters": {"seen": "${n1.input.x}"}}
    ]}));
    let (exec, d) = start(def, json!({"x": 3}), &mut env);
    let n1 = by_ref(&exec, "n1");
    assert_eq!(n1.status, Completed);
    assert_eq!(n1.task_type, "NOOP");
    assert_eq!((n1.start_time, n1.end_time), (Some(env.now), Some(env.now)));
    assert!(n1.output.is_empty());
    let a1 = by_ref(&exec, "a1");
    assert_eq!(a1.input, obj(json!({"seen": 3})));
    assert_eq!(enqueued(&d), vec![a1.task_id.clone()]);
    assert_eq!(
        d.changed_tasks,
        vec![n1.task_id.clone(), a1.task_id.clone()]
    );
}

#[test]
fn a_workflow_of_system_tasks_only_completes_when_started() {
    let mut env = TestEnv::new();
    let tasks: Vec<_> = (0..50)
        .map(|i| json!({"name": "n", "taskReferenceName": format!("n{i}"), "type": "NOOP"}))
        .collect();
    let def = wf(json!({"name": "n", "tasks": tasks, "outputParameters": {"k": "${n49.status}"}}));
    let (exec, d) = start(def, json!({}), &mut env);
    assert_eq!(exec.tasks.len(), 50);
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
    assert_eq!(exec.workflow.output, obj(json!({"k": "COMPLETED"})));
    assert_eq!(closed(&d), Some(WorkflowStatus::Completed));
    assert!(enqueued(&d).is_empty());
}

#[test]
fn a_system_task_with_a_malformed_input_fails_terminally() {
    let mut env = TestEnv::new();
    let def = wf(
        json!({"name": "n", "tasks": [{"name": "n", "taskReferenceName": "n1", "type": "NOOP"}]}),
    );
    let mut raw = (*def).clone();
    raw.tasks[0].input_parameters = obj(json!({"x": "${workflow.input.x"}));
    let (exec, _) = start(Arc::new(raw), json!({}), &mut env);
    assert_eq!(
        by_ref(&exec, "n1").status,
        TaskStatus::FailedWithTerminalError
    );
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
}

// ---------------------------------------------------------------- SET_VARIABLE

#[test]
fn set_variable_merges_its_input_into_the_variables() {
    let mut env = TestEnv::new();
    let def = wf(
        json!({"name": "v", "variables": {"keep": 1, "over": "old"}, "tasks": [
            {"name": "a", "taskReferenceName": "a1"},
            {"name": "set", "taskReferenceName": "set1", "type": "SET_VARIABLE",
             "inputParameters": {"over": "${a1.output.v}", "added": {"deep": [1, 2]}}},
            {"name": "b", "taskReferenceName": "b1", "inputParameters": {"v": "${workflow.variables.over}", "all": "${workflow.variables}"}}
        ]}),
    );
    let (mut exec, _) = start(def, json!({}), &mut env);
    let d = complete_ref(&mut exec, &mut env, "a1", json!({"v": "new"}));
    assert!(d.workflow_changed);
    let want = obj(json!({"keep": 1, "over": "new", "added": {"deep": [1, 2]}}));
    assert_eq!(exec.workflow.variables, want);
    assert_eq!(by_ref(&exec, "set1").status, Completed);
    assert_eq!(
        by_ref(&exec, "b1").input,
        obj(json!({"v": "new", "all": want}))
    );
}

#[test]
fn set_variable_fails_past_the_size_cap() {
    let mut env = TestEnv::new();
    let big = "x".repeat(MAX_VARIABLES_BYTES);
    let def = wf(json!({"name": "v", "variables": {"keep": 1}, "tasks": [
        {"name": "set", "taskReferenceName": "set1", "type": "SET_VARIABLE", "inputParameters": {"big": "${workflow.input.big}"}},
        {"name": "a", "taskReferenceName": "a1"}
    ]}));
    let (exec, d) = start(def.clone(), json!({"big": big}), &mut env);
    let set1 = by_ref(&exec, "set1");
    assert_eq!(set1.status, Failed);
    let reason = set1.reason_for_incompletion.clone().unwrap();
    let size = MAX_VARIABLES_BYTES + r#"{"keep":1,"big":""}"#.len();
    assert_eq!(
        reason,
        format!(
            "the workflow variables would take {size} bytes of JSON, above the limit of 262144 bytes (256 KiB)"
        )
    );
    assert_eq!(exec.workflow.variables, obj(json!({"keep": 1})));
    // System tasks are not retried: the workflow fails.
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    assert_eq!(closed(&d), Some(WorkflowStatus::Failed));
    assert_eq!(exec.tasks.len(), 1);
    // Just under the cap is fine.
    let fits = "x".repeat(MAX_VARIABLES_BYTES - r#"{"keep":1,"big":""}"#.len());
    let (exec, _) = start(def.clone(), json!({"big": fits}), &mut env);
    assert_eq!(by_ref(&exec, "set1").status, Completed);
    assert_eq!(by_ref(&exec, "a1").status, Scheduled);
    // Optional: the workflow goes on without the change.
    let mut raw = (*def).clone();
    raw.tasks[0].optional = true;
    let (exec, _) = start(
        Arc::new(raw),
        json!({"big": "x".repeat(MAX_VARIABLES_BYTES)}),
        &mut env,
    );
    assert_eq!(by_ref(&exec, "set1").status, CompletedWithErrors);
    assert_eq!(by_ref(&exec, "a1").status, Scheduled);
    assert_eq!(exec.workflow.variables, obj(json!({"keep": 1})));
}

// ---------------------------------------------------------------- TERMINATE

fn terminating(status: &str) -> Arc<baton_core::WorkflowDef> {
    wf(
        json!({"name": "t", "outputParameters": {"ignored": true}, "tasks": [
            {"name": "a", "taskReferenceName": "a1"},
            {"name": "t", "taskReferenceName": "t1", "type": "TERMINATE", "inputParameters": {
                "terminationStatus": status, "terminationReason": "${a1.output.why}",
                "workflowOutput": {"result": "${a1.output.v}"}}},
            {"name": "never", "taskReferenceName": "never1"}
        ]}),
    )
}

#[test]
fn terminate_ends_the_workflow_with_its_status_reason_and_output() {
    for (given, status) in [
        ("COMPLETED", WorkflowStatus::Completed),
        ("FAILED", WorkflowStatus::Failed),
        ("TERMINATED", WorkflowStatus::Terminated),
    ] {
        let mut env = TestEnv::new();
        let (mut exec, _) = start(terminating(given), json!({}), &mut env);
        let d = complete_ref(&mut exec, &mut env, "a1", json!({"v": 42, "why": "enough"}));
        assert_eq!(exec.workflow.status, status, "{given}");
        assert_eq!(closed(&d), Some(status));
        assert_eq!(
            exec.workflow.reason_for_incompletion.as_deref(),
            Some("enough")
        );
        assert_eq!(exec.workflow.output, obj(json!({"result": 42})));
        let t1 = by_ref(&exec, "t1");
        assert_eq!(t1.status, Completed);
        assert_eq!(t1.output, obj(json!({"result": 42})));
        assert!(exec.latest_task("never1").is_none());
        let failed_ref = (status == WorkflowStatus::Failed).then_some("t1");
        assert_eq!(
            exec.workflow.failed_reference_task_name.as_deref(),
            failed_ref
        );
    }
}

#[test]
fn terminate_without_a_reason_names_itself_and_wraps_plain_outputs() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "t", "tasks": [
        {"name": "t", "taskReferenceName": "t1", "type": "TERMINATE",
         "inputParameters": {"terminationStatus": "TERMINATED", "workflowOutput": [1, 2]}}
    ]}));
    let (exec, _) = start(def, json!({}), &mut env);
    let t1 = by_ref(&exec, "t1");
    assert_eq!(exec.workflow.status, WorkflowStatus::Terminated);
    assert_eq!(
        exec.workflow.reason_for_incompletion,
        Some(format!(
            "Workflow is TERMINATED by TERMINATE task: {}",
            t1.task_id
        ))
    );
    assert_eq!(exec.workflow.output, obj(json!({"output": [1, 2]})));
}

#[test]
fn terminate_with_an_unknown_status_fails() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "t", "tasks": [
        {"name": "t", "taskReferenceName": "t1", "type": "TERMINATE", "inputParameters": {"terminationStatus": "DONE"}}
    ]}));
    let (exec, _) = start(def, json!({}), &mut env);
    let t1 = by_ref(&exec, "t1");
    assert_eq!(t1.status, Failed);
    assert_eq!(
        t1.reason_for_incompletion.as_deref(),
        Some("terminationStatus must be COMPLETED, FAILED or TERMINATED (given \"DONE\")")
    );
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
}

#[test]
fn terminate_in_a_branch_cancels_the_other_branches() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "t", "tasks": [
        {"name": "f", "taskReferenceName": "f1", "type": "FORK_JOIN", "forkTasks": [
            [{"name": "a", "taskReferenceName": "a1"},
             {"name": "t", "taskReferenceName": "t1", "type": "TERMINATE",
              "inputParameters": {"terminationStatus": "COMPLETED", "workflowOutput": {"early": true}}}],
            [{"name": "b", "taskReferenceName": "b1"}]]},
        {"name": "j", "taskReferenceName": "j1", "type": "JOIN", "joinOn": ["t1", "b1"]}
    ]}));
    let (mut exec, _) = start(def, json!({}), &mut env);
    let b1 = by_ref(&exec, "b1").task_id.clone();
    let d = complete_ref(&mut exec, &mut env, "a1", json!({}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
    assert_eq!(exec.workflow.output, obj(json!({"early": true})));
    assert_eq!(by_ref(&exec, "b1").status, Canceled);
    assert_eq!(by_ref(&exec, "j1").status, Canceled);
    assert_eq!(dequeued(&d), vec![b1]);
}

#[test]
fn retrying_a_run_failed_by_terminate_ends_it_again() {
    let mut env = TestEnv::new();
    let (mut exec, _) = start(terminating("FAILED"), json!({}), &mut env);
    complete_ref(&mut exec, &mut env, "a1", json!({"why": "no"}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    let d = decider::decide(
        &mut exec,
        Event::Retry {
            resume_subworkflow_tasks: false,
        },
        &mut env,
    )
    .unwrap();
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    assert_eq!(closed(&d), Some(WorkflowStatus::Failed));
    assert_eq!(exec.tasks.len(), 2);
}
