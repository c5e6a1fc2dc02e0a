//! SWITCH and DECISION (value-param, caseValueParam, and script evaluators through jobs): choosing a case, running it, and
//! going on after the operator, however deeply it is nested.

use std::sync::Arc;

use crate::common::*;
use baton_core::WorkflowDef;
use baton_core::decider;
use baton_core::state::{TaskStatus, WorkflowStatus};
use serde_json::json;

use TaskStatus::{Completed, Failed, InProgress, Scheduled};

/// s1 on workflow.input.kind: "a" -> [a1, a2], "empty" -> [], default -> [d1]; then after1.
fn switch_def() -> Arc<WorkflowDef> {
    wf(json!({"name": "sw", "tasks": [
        {"name": "s", "taskReferenceName": "s1", "type": "SWITCH", "evaluatorType": "value-param",
         "expression": "kind", "inputParameters": {"kind": "${workflow.input.kind}"},
         "decisionCases": {
            "a": [{"name": "a", "taskReferenceName": "a1"},
                  {"name": "a", "taskReferenceName": "a2", "inputParameters": {"p": "${a1.output.v}"}}],
            "1": [{"name": "one", "taskReferenceName": "one1"}],
            "true": [{"name": "yes", "taskReferenceName": "yes1"}],
            "null": [{"name": "nothing", "taskReferenceName": "null1"}],
            "empty": []},
         "defaultCase": [{"name": "d", "taskReferenceName": "d1"}]},
        {"name": "after", "taskReferenceName": "after1", "inputParameters": {"case": "${s1.output.selectedCase}"}}
    ]}))
}

fn refs_of(exec: &baton_core::Execution) -> Vec<String> {
    exec.tasks
        .iter()
        .map(|t| t.reference_task_name.clone())
        .collect()
}

#[test]
fn value_param_runs_the_matching_case_then_what_follows_the_switch() {
    let mut env = TestEnv::new();
    let (mut exec, d) = start(switch_def(), json!({"kind": "a"}), &mut env);
    let s1 = by_ref(&exec, "s1");
    assert_eq!(s1.status, Completed);
    assert_eq!(s1.task_type, "SWITCH");
    assert_eq!(
        s1.output,
        obj(json!({"evaluationResult": ["a"], "selectedCase": "a"}))
    );
    assert_eq!(s1.input, obj(json!({"kind": "a", "case": "a"})));
    assert_eq!(refs_of(&exec), vec!["s1", "a1"]);
    assert_eq!(enqueued(&d), vec![by_ref(&exec, "a1").task_id.clone()]);
    complete_ref(&mut exec, &mut env, "a1", json!({"v": 5}));
    assert_eq!(by_ref(&exec, "a2").input, obj(json!({"p": 5})));
    complete_ref(&mut exec, &mut env, "a2", json!({}));
    assert_eq!(by_ref(&exec, "after1").status, Scheduled);
    assert_eq!(by_ref(&exec, "after1").input, obj(json!({"case": "a"})));
    complete_ref(&mut exec, &mut env, "after1", json!({"end": 1}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
    assert_eq!(exec.workflow.output, obj(json!({"end": 1})));
    assert_eq!(refs_of(&exec), vec!["s1", "a1", "a2", "after1"]);
}

#[test]
fn values_select_cases_by_their_text() {
    let cases = [
        (json!({"kind": 1}), "one1", "1"),
        (json!({"kind": true}), "yes1", "true"),
        (json!({}), "null1", "null"),
        (json!({"kind": "other"}), "d1", "other"),
        (json!({"kind": 2.5}), "d1", "2.5"),
    ];
    for (input, first, text) in cases {
        let mut env = TestEnv::new();
        let (exec, _) = start(switch_def(), input, &mut env);
        assert_eq!(refs_of(&exec), vec!["s1", first], "{text}");
        assert_eq!(
            by_ref(&exec, "s1").output.get("selectedCase"),
            Some(&json!(text))
        );
    }
}

#[test]
fn an_empty_case_runs_nothing_and_goes_on_after_the_switch() {
    let mut env = TestEnv::new();
    let (exec, _) = start(switch_def(), json!({"kind": "empty"}), &mut env);
    assert_eq!(refs_of(&exec), vec!["s1", "after1"]);
    assert_eq!(by_ref(&exec, "after1").input, obj(json!({"case": "empty"})));
}

#[test]
fn a_switch_as_the_last_task_ends_with_its_case() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "last", "tasks": [
        {"name": "s", "taskReferenceName": "s1", "type": "SWITCH", "evaluatorType": "value-param",
         "expression": "k", "inputParameters": {"k": "${workflow.input.k}"},
         "decisionCases": {"x": [{"name": "x", "taskReferenceName": "x1"}]}}
    ]}));
    let (mut exec, _) = start(def.clone(), json!({"k": "x"}), &mut env);
    let d = complete_ref(&mut exec, &mut env, "x1", json!({"from": "x1"}));
    assert_eq!(closed(&d), Some(WorkflowStatus::Completed));
    assert_eq!(exec.workflow.output, obj(json!({"from": "x1"})));
    // No case and no default: the switch alone ends the run, with its own output.
    let (exec, d) = start(def, json!({"k": "y"}), &mut env);
    assert_eq!(closed(&d), Some(WorkflowStatus::Completed));
    assert_eq!(
        exec.workflow.output,
        obj(json!({"evaluationResult": ["y"], "selectedCase": "y"}))
    );
}

#[test]
fn nested_cases_go_on_outward_when_they_end() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "nest", "tasks": [
        {"name": "s", "taskReferenceName": "outer", "type": "SWITCH", "evaluatorType": "value-param",
         "expression": "a", "inputParameters": {"a": "${workflow.input.a}"},
         "decisionCases": {"go": [
            {"name": "s", "taskReferenceName": "inner", "type": "SWITCH", "evaluatorType": "value-param",
             "expression": "b", "inputParameters": {"b": "${workflow.input.b}"},
             "decisionCases": {"go": [{"name": "deep", "taskReferenceName": "deep1"}]}},
            {"name": "mid", "taskReferenceName": "mid1"}]}},
        {"name": "tail", "taskReferenceName": "tail1"}
    ]}));
    let (mut exec, _) = start(def.clone(), json!({"a": "go", "b": "go"}), &mut env);
    assert_eq!(refs_of(&exec), vec!["outer", "inner", "deep1"]);
    complete_ref(&mut exec, &mut env, "deep1", json!({}));
    assert_eq!(refs_of(&exec), vec!["outer", "inner", "deep1", "mid1"]);
    complete_ref(&mut exec, &mut env, "mid1", json!({}));
    assert_eq!(
        refs_of(&exec),
        vec!["outer", "inner", "deep1", "mid1", "tail1"]
    );
    // The inner switch picks nothing: straight on to mid1.
    let (exec, _) = start(def.clone(), json!({"a": "go", "b": "stop"}), &mut env);
    assert_eq!(refs_of(&exec), vec!["outer", "inner", "mid1"]);
    // The outer one picks nothing: straight on to tail1.
    let (exec, _) = start(def, json!({"a": "stop"}), &mut env);
    assert_eq!(refs_of(&exec), vec!["outer", "tail1"]);
}

#[test]
fn decision_uses_case_value_param_and_falls_back_for_empty_cases() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "dec", "tasks": [
        {"name": "d", "taskReferenceName": "d1", "type": "DECISION", "caseValueParam": "c",
         "inputParameters": {"c": "${workflow.input.c}"},
         "decisionCases": {"x": [{"name": "x", "taskReferenceName": "x1"}], "e": []},
         "defaultCase": [{"name": "z", "taskReferenceName": "z1"}]},
        {"name": "n", "taskReferenceName": "n1"}
    ]}));
    let (exec, _) = start(def.clone(), json!({"c": "x"}), &mut env);
    assert_eq!(refs_of(&exec), vec!["d1", "x1"]);
    let d1 = by_ref(&exec, "d1");
    assert_eq!(d1.task_type, "DECISION");
    assert_eq!(d1.output, obj(json!({"caseOutput": ["x"]})));
    let (exec, _) = start(def.clone(), json!({"c": "e"}), &mut env);
    assert_eq!(refs_of(&exec), vec!["d1", "z1"]);
    let (mut exec, _) = start(def, json!({"c": "q"}), &mut env);
    assert_eq!(refs_of(&exec), vec!["d1", "z1"]);
    complete_ref(&mut exec, &mut env, "z1", json!({}));
    assert_eq!(refs_of(&exec), vec!["d1", "z1", "n1"]);
}

#[test]
fn script_evaluators_pick_the_case_from_the_script_value() {
    for (task, value, label, next) in [
        (
            json!({"name": "s", "taskReferenceName": "s1", "type": "SWITCH", "evaluatorType": "javascript",
                   "expression": "$.x > 1 ? 'big' : 'small'", "inputParameters": {"x": "${workflow.input.x}"},
                   "decisionCases": {"big": [{"name": "b", "taskReferenceName": "b1"}]},
                   "defaultCase": [{"name": "d", "taskReferenceName": "d1"}]}),
            json!("big"),
            "big",
            "b1",
        ),
        (
            json!({"name": "s", "taskReferenceName": "s1", "type": "SWITCH", "evaluatorType": "graaljs",
                   "expression": "$.x + 1", "inputParameters": {"x": 1},
                   "decisionCases": {"2": [{"name": "b", "taskReferenceName": "b1"}]}}),
            json!(2.0),
            "2",
            "b1",
        ),
        (
            json!({"name": "s", "taskReferenceName": "s1", "type": "DECISION", "caseExpression": "$.x",
                   "inputParameters": {"x": true},
                   "decisionCases": {"false": [{"name": "b", "taskReferenceName": "b1"}]},
                   "defaultCase": [{"name": "d", "taskReferenceName": "d1"}]}),
            json!(true),
            "true",
            "d1",
        ),
    ] {
        let mut env = TestEnv::new();
        let def = wf(json!({"name": "js", "tasks": [task]}));
        let (mut exec, d) = start(def, json!({"x": 5}), &mut env);
        let s1 = by_ref(&exec, "s1").clone();
        assert_eq!(s1.status, TaskStatus::InProgress);
        let (task_id, job) = jobs(&d).pop().expect("a script job");
        assert_eq!(task_id, s1.task_id);
        let decider::Job::Script { bindings, body, .. } = job else {
            panic!("{job:?}")
        };
        assert!(!body);
        assert_eq!(bindings, s1.input);
        job_done(
            &mut exec,
            &mut env,
            &task_id,
            TaskStatus::Completed,
            json!({"result": value}),
            None,
        );
        let s1 = by_ref(&exec, "s1");
        assert_eq!(s1.status, TaskStatus::Completed);
        assert_eq!(s1.input.get("case"), Some(&json!(label)));
        assert_eq!(by_ref(&exec, next).status, TaskStatus::Scheduled);
    }
}

#[test]
fn a_failing_case_script_fails_the_switch() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "js", "tasks": [
        {"name": "s", "taskReferenceName": "s1", "type": "SWITCH", "evaluatorType": "javascript",
         "expression": "$.x.y.z", "decisionCases": {}},
        {"name": "n", "taskReferenceName": "n1"}]}));
    let (mut exec, d) = start(def, json!({}), &mut env);
    let (task_id, _) = jobs(&d).pop().unwrap();
    job_done(
        &mut exec,
        &mut env,
        &task_id,
        TaskStatus::Failed,
        json!({}),
        Some("TypeError: cannot read property"),
    );
    let s1 = by_ref(&exec, "s1");
    assert_eq!(s1.status, Failed);
    assert!(
        s1.reason_for_incompletion
            .as_deref()
            .unwrap()
            .contains("TypeError")
    );
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    assert!(exec.latest_task("n1").is_none());
}

#[test]
fn a_case_inside_a_fork_branch_ends_the_branch() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "fs", "tasks": [
        {"name": "f", "taskReferenceName": "f1", "type": "FORK_JOIN", "forkTasks": [
            [{"name": "s", "taskReferenceName": "s1", "type": "SWITCH", "evaluatorType": "value-param",
              "expression": "k", "inputParameters": {"k": "${workflow.input.k}"},
              "decisionCases": {"a": [{"name": "a", "taskReferenceName": "a1"}]},
              "defaultCase": [{"name": "b", "taskReferenceName": "b1"}]},
             {"name": "c", "taskReferenceName": "c1"}],
            [{"name": "w", "taskReferenceName": "w1"}]]},
        {"name": "j", "taskReferenceName": "j1", "type": "JOIN", "joinOn": ["c1", "w1"]},
        {"name": "z", "taskReferenceName": "z1"}
    ]}));
    let (mut exec, _) = start(def, json!({"k": "a"}), &mut env);
    assert_eq!(refs_of(&exec), vec!["f1", "s1", "a1", "w1", "j1"]);
    complete_ref(&mut exec, &mut env, "a1", json!({}));
    assert_eq!(by_ref(&exec, "c1").status, Scheduled);
    complete_ref(&mut exec, &mut env, "c1", json!({"c": 1}));
    assert_eq!(by_ref(&exec, "j1").status, InProgress);
    complete_ref(&mut exec, &mut env, "w1", json!({"w": 1}));
    assert_eq!(by_ref(&exec, "j1").status, Completed);
    complete_ref(&mut exec, &mut env, "z1", json!({}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
    assert!(exec.latest_task("b1").is_none());
}
