//! FORK_JOIN and JOIN: parallel branches, the JOIN's wait and outcome, failures inside
//! branches (plain, optional, permissive), retries and operator commands.

use std::sync::Arc;

use crate::common::*;
use baton_core::WorkflowDef;
use baton_core::decider::{self, DecideError, Event};
use baton_core::state::{TaskStatus, WorkflowStatus};
use serde_json::json;

use TaskStatus::{Canceled, Completed, CompletedWithErrors, Failed, InProgress, Scheduled};

/// fork [a1 -> a2] [b1], join on a2 and b1, then c1 reading both.
fn diamond() -> Arc<WorkflowDef> {
    wf(json!({"name": "diamond", "tasks": [
        {"name": "fork", "taskReferenceName": "fork1", "type": "FORK_JOIN", "forkTasks": [
            [{"name": "a", "taskReferenceName": "a1", "inputParameters": {"n": "${workflow.input.n}"}},
             {"name": "a", "taskReferenceName": "a2", "inputParameters": {"prev": "${a1.output.v}"}}],
            [{"name": "b", "taskReferenceName": "b1"}]
        ]},
        {"name": "join", "taskReferenceName": "join1", "type": "JOIN", "joinOn": ["a2", "b1"]},
        {"name": "c", "taskReferenceName": "c1", "inputParameters": {
            "fromJoin": "${join1.output.a2.v}", "fromBranch": "${b1.output.v}", "all": "${join1.output}"}}
    ]}))
}

fn refs(v: &[(&str, TaskStatus)]) -> Vec<(String, TaskStatus)> {
    v.iter().map(|(r, s)| (r.to_string(), *s)).collect()
}

#[test]
fn a_fork_completes_at_once_and_schedules_every_branch_and_its_join() {
    let mut env = TestEnv::new();
    let (exec, d) = start(diamond(), json!({"n": 7}), &mut env);
    assert_eq!(
        trail(&exec),
        refs(&[
            ("fork1", Completed),
            ("a1", Scheduled),
            ("b1", Scheduled),
            ("join1", InProgress)
        ])
    );
    let fork = by_ref(&exec, "fork1");
    assert_eq!(fork.task_type, "FORK_JOIN");
    assert_eq!(fork.start_time, Some(env.now));
    assert_eq!(fork.end_time, Some(env.now));
    let join = by_ref(&exec, "join1");
    assert_eq!(join.input.get("joinOn"), Some(&json!(["a2", "b1"])));
    assert_eq!(join.domain, None);
    assert_eq!(join.token, None);
    assert_eq!(by_ref(&exec, "a1").input, obj(json!({"n": 7})));
    // Only the worker tasks are queued.
    assert_eq!(
        enqueued(&d),
        vec![
            by_ref(&exec, "a1").task_id.clone(),
            by_ref(&exec, "b1").task_id.clone()
        ]
    );
    let seqs: Vec<i32> = exec.tasks.iter().map(|t| t.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4]);
    // The runtime has nothing to rebuild for the JOIN.
    let effects = decider::recover(&exec, env.now);
    assert_eq!(effects.len(), 2);
}

#[test]
fn the_join_waits_for_every_branch_then_the_next_task_runs() {
    let mut env = TestEnv::new();
    let (mut exec, _) = start(diamond(), json!({"n": 7}), &mut env);
    let d = complete_ref(&mut exec, &mut env, "b1", json!({"v": "b"}));
    assert_eq!(by_ref(&exec, "join1").status, InProgress);
    assert!(enqueued(&d).is_empty());
    let d = complete_ref(&mut exec, &mut env, "a1", json!({"v": 1}));
    let a2 = by_ref(&exec, "a2");
    assert_eq!(a2.input, obj(json!({"prev": 1})));
    assert_eq!(enqueued(&d), vec![a2.task_id.clone()]);
    assert_eq!(by_ref(&exec, "join1").status, InProgress);
    env.advance(10);
    let d = complete_ref(&mut exec, &mut env, "a2", json!({"v": 2}));
    let join = by_ref(&exec, "join1");
    assert_eq!(join.status, Completed);
    assert_eq!(join.end_time, Some(env.now));
    assert_eq!(join.output, obj(json!({"a2": {"v": 2}, "b1": {"v": "b"}})));
    assert!(d.changed_tasks.contains(&join.task_id));
    let c1 = by_ref(&exec, "c1");
    assert_eq!(
        c1.input,
        obj(json!({"fromJoin": 2, "fromBranch": "b", "all": {"a2": {"v": 2}, "b1": {"v": "b"}}}))
    );
    assert_eq!(enqueued(&d), vec![c1.task_id.clone()]);
    let d = complete_ref(&mut exec, &mut env, "c1", json!({"done": true}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
    assert_eq!(exec.workflow.output, obj(json!({"done": true})));
    assert_eq!(closed(&d), Some(WorkflowStatus::Completed));
}

#[test]
fn branches_may_finish_in_any_order() {
    let orders: [[&str; 3]; 3] = [["a1", "a2", "b1"], ["b1", "a1", "a2"], ["a1", "b1", "a2"]];
    let mut outcomes = Vec::new();
    for order in orders {
        let mut env = TestEnv::new();
        let (mut exec, _) = start(diamond(), json!({"n": 1}), &mut env);
        for r in order {
            complete_ref(&mut exec, &mut env, r, json!({"v": r}));
        }
        assert_eq!(by_ref(&exec, "join1").status, Completed);
        assert_eq!(by_ref(&exec, "c1").status, Scheduled);
        outcomes.push((
            by_ref(&exec, "join1").output.clone(),
            by_ref(&exec, "c1").input.clone(),
        ));
    }
    assert!(outcomes.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn forks_nest_inside_branches() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "nested", "tasks": [
        {"name": "f", "taskReferenceName": "outer", "type": "FORK_JOIN", "forkTasks": [
            [{"name": "f", "taskReferenceName": "inner", "type": "FORK_JOIN", "forkTasks": [
                [{"name": "x", "taskReferenceName": "x1"}],
                [{"name": "y", "taskReferenceName": "y1"}]]},
             {"name": "j", "taskReferenceName": "inner_join", "type": "JOIN", "joinOn": ["x1", "y1"]},
             {"name": "z", "taskReferenceName": "z1", "inputParameters": {"j": "${inner_join.output}"}}],
            [{"name": "w", "taskReferenceName": "w1"}]
        ]},
        {"name": "j", "taskReferenceName": "outer_join", "type": "JOIN", "joinOn": ["z1", "w1"]},
        {"name": "end", "taskReferenceName": "end1", "inputParameters": {"z": "${outer_join.output.z1.v}"}}
    ]}));
    let (mut exec, _) = start(def, json!({}), &mut env);
    assert_eq!(
        trail(&exec),
        refs(&[
            ("outer", Completed),
            ("inner", Completed),
            ("x1", Scheduled),
            ("y1", Scheduled),
            ("inner_join", InProgress),
            ("w1", Scheduled),
            ("outer_join", InProgress),
        ])
    );
    complete_ref(&mut exec, &mut env, "y1", json!({"v": "y"}));
    complete_ref(&mut exec, &mut env, "w1", json!({"v": "w"}));
    assert_eq!(by_ref(&exec, "outer_join").status, InProgress);
    complete_ref(&mut exec, &mut env, "x1", json!({"v": "x"}));
    assert_eq!(by_ref(&exec, "inner_join").status, Completed);
    assert_eq!(
        by_ref(&exec, "z1").input,
        obj(json!({"j": {"x1": {"v": "x"}, "y1": {"v": "y"}}}))
    );
    assert_eq!(by_ref(&exec, "outer_join").status, InProgress);
    complete_ref(&mut exec, &mut env, "z1", json!({"v": "z"}));
    assert_eq!(by_ref(&exec, "outer_join").status, Completed);
    assert_eq!(by_ref(&exec, "end1").input, obj(json!({"z": "z"})));
    complete_ref(&mut exec, &mut env, "end1", json!({}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
}

#[test]
fn empty_branches_contribute_nothing() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "empty", "tasks": [
        {"name": "f", "taskReferenceName": "f1", "type": "FORK_JOIN", "forkTasks": [[], [{"name": "a", "taskReferenceName": "a1"}], []]},
        {"name": "j", "taskReferenceName": "j1", "type": "JOIN", "joinOn": ["a1"]},
        {"name": "f", "taskReferenceName": "f2", "type": "FORK_JOIN", "forkTasks": [[]]},
        {"name": "j", "taskReferenceName": "j2", "type": "JOIN"},
        {"name": "b", "taskReferenceName": "b1"}
    ]}));
    let (mut exec, _) = start(def, json!({}), &mut env);
    assert_eq!(
        trail(&exec),
        refs(&[("f1", Completed), ("a1", Scheduled), ("j1", InProgress)])
    );
    complete_ref(&mut exec, &mut env, "a1", json!({"v": 1}));
    // The second fork has only an empty branch: its JOIN (joining on nothing) ends at once.
    assert_eq!(
        trail(&exec),
        refs(&[
            ("f1", Completed),
            ("a1", Completed),
            ("j1", Completed),
            ("f2", Completed),
            ("j2", Completed),
            ("b1", Scheduled)
        ])
    );
    assert_eq!(by_ref(&exec, "j2").output, obj(json!({})));
}

#[test]
fn a_failed_branch_task_fails_the_workflow_and_cancels_the_other_branches() {
    let mut env = TestEnv::new();
    env.def(json!({"name": "a", "retryCount": 0}));
    let (mut exec, _) = start(diamond(), json!({}), &mut env);
    let b1 = by_ref(&exec, "b1").task_id.clone();
    let d = run_ref(&mut exec, &mut env, "a1", Failed, json!({}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    assert_eq!(closed(&d), Some(WorkflowStatus::Failed));
    assert_eq!(
        exec.workflow.failed_reference_task_name.as_deref(),
        Some("a1")
    );
    assert!(
        exec.workflow
            .reason_for_incompletion
            .as_deref()
            .unwrap()
            .starts_with("task a1 (")
    );
    assert_eq!(by_ref(&exec, "b1").status, Canceled);
    assert_eq!(by_ref(&exec, "join1").status, Canceled);
    assert_eq!(dequeued(&d), vec![b1]);
    assert!(exec.latest_task("a2").is_none());
}

#[test]
fn a_branch_task_is_retried_while_the_join_waits() {
    let mut env = TestEnv::new();
    env.def(json!({"name": "b", "retryCount": 1, "retryDelaySeconds": 0}));
    let (mut exec, _) = start(diamond(), json!({}), &mut env);
    let first = by_ref(&exec, "b1").task_id.clone();
    let d = run_ref(&mut exec, &mut env, "b1", Failed, json!({}));
    let retry = by_ref(&exec, "b1");
    assert_eq!(retry.retried_task_id.as_deref(), Some(first.as_str()));
    assert_eq!(enqueued(&d), vec![retry.task_id.clone()]);
    assert_eq!(by_ref(&exec, "join1").status, InProgress);
    complete_ref(&mut exec, &mut env, "a1", json!({}));
    complete_ref(&mut exec, &mut env, "a2", json!({}));
    assert_eq!(by_ref(&exec, "join1").status, InProgress);
    complete_ref(&mut exec, &mut env, "b1", json!({"v": "again"}));
    assert_eq!(by_ref(&exec, "join1").status, Completed);
    assert_eq!(
        by_ref(&exec, "join1").output.get("b1"),
        Some(&json!({"v": "again"}))
    );
}

#[test]
fn optional_failures_make_the_join_complete_with_errors() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "opt", "tasks": [
        {"name": "f", "taskReferenceName": "f1", "type": "FORK_JOIN", "forkTasks": [
            [{"name": "a", "taskReferenceName": "a1", "optional": true, "retryCount": 0}],
            [{"name": "b", "taskReferenceName": "b1"}]]},
        {"name": "j", "taskReferenceName": "j1", "type": "JOIN", "joinOn": ["a1", "b1"]},
        {"name": "c", "taskReferenceName": "c1"}
    ]}));
    let (mut exec, _) = start(def, json!({}), &mut env);
    run_ref(&mut exec, &mut env, "a1", Failed, json!({"err": 1}));
    assert_eq!(by_ref(&exec, "a1").status, CompletedWithErrors);
    assert_eq!(exec.workflow.status, WorkflowStatus::Running);
    complete_ref(&mut exec, &mut env, "b1", json!({"v": 2}));
    let j = by_ref(&exec, "j1");
    assert_eq!(j.status, CompletedWithErrors);
    assert_eq!(j.output, obj(json!({"a1": {"err": 1}, "b1": {"v": 2}})));
    assert!(j.reason_for_incompletion.as_deref().unwrap().contains("a1"));
    assert_eq!(by_ref(&exec, "c1").status, Scheduled);
    complete_ref(&mut exec, &mut env, "c1", json!({}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
}

fn permissive() -> Arc<WorkflowDef> {
    wf(json!({"name": "perm", "tasks": [
        {"name": "f", "taskReferenceName": "f1", "type": "FORK_JOIN", "forkTasks": [
            [{"name": "a", "taskReferenceName": "a1", "permissive": true, "retryCount": 0},
             {"name": "a", "taskReferenceName": "a2"}],
            [{"name": "b", "taskReferenceName": "b1"}, {"name": "b", "taskReferenceName": "b2"}]]},
        {"name": "j", "taskReferenceName": "j1", "type": "JOIN", "joinOn": ["a1", "b2"]},
        {"name": "c", "taskReferenceName": "c1"}
    ]}))
}

#[test]
fn a_permissive_failure_lets_the_branches_go_on_and_fails_the_join_at_the_end() {
    let mut env = TestEnv::new();
    let (mut exec, _) = start(permissive(), json!({}), &mut env);
    run_ref(&mut exec, &mut env, "a1", Failed, json!({}));
    assert_eq!(by_ref(&exec, "a1").status, Failed);
    assert_eq!(exec.workflow.status, WorkflowStatus::Running);
    // Its own branch goes on too.
    assert_eq!(by_ref(&exec, "a2").status, Scheduled);
    complete_ref(&mut exec, &mut env, "b1", json!({}));
    assert_eq!(by_ref(&exec, "j1").status, InProgress);
    complete_ref(&mut exec, &mut env, "a2", json!({}));
    let d = complete_ref(&mut exec, &mut env, "b2", json!({}));
    let j = by_ref(&exec, "j1");
    assert_eq!(j.status, Failed);
    assert!(
        j.reason_for_incompletion
            .as_deref()
            .unwrap()
            .contains("a1 broke")
    );
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    assert_eq!(closed(&d), Some(WorkflowStatus::Failed));
    assert_eq!(
        exec.workflow.failed_reference_task_name.as_deref(),
        Some("j1")
    );
    assert!(exec.latest_task("c1").is_none());
}

#[test]
fn a_permissive_failure_outside_any_join_fails_the_workflow_at_its_end() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "perm2", "tasks": [
        {"name": "a", "taskReferenceName": "a1", "permissive": true, "retryCount": 0},
        {"name": "b", "taskReferenceName": "b1"}
    ]}));
    let (mut exec, _) = start(def, json!({}), &mut env);
    run_ref(&mut exec, &mut env, "a1", Failed, json!({}));
    assert_eq!(by_ref(&exec, "b1").status, Scheduled);
    complete_ref(&mut exec, &mut env, "b1", json!({}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    let reason = exec.workflow.reason_for_incompletion.clone().unwrap();
    assert!(
        reason.starts_with("permissive tasks failed: task a1"),
        "{reason}"
    );
}

#[test]
fn retry_reschedules_the_failed_branch_task_and_the_join_waits_again() {
    let mut env = TestEnv::new();
    env.def(json!({"name": "a", "retryCount": 0}));
    let (mut exec, _) = start(diamond(), json!({}), &mut env);
    complete_ref(&mut exec, &mut env, "b1", json!({"v": "b"}));
    complete_ref(&mut exec, &mut env, "a1", json!({"v": 1}));
    run_ref(&mut exec, &mut env, "a2", Failed, json!({}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    assert_eq!(by_ref(&exec, "join1").status, Canceled);
    let old_join = by_ref(&exec, "join1").task_id.clone();
    let d = decider::decide(
        &mut exec,
        Event::Retry {
            resume_subworkflow_tasks: false,
        },
        &mut env,
    )
    .unwrap();
    assert_eq!(exec.workflow.status, WorkflowStatus::Running);
    let a2 = by_ref(&exec, "a2");
    assert_eq!((a2.status, a2.retry_count), (Scheduled, 1));
    assert_eq!(a2.input, obj(json!({"prev": 1})));
    let join = by_ref(&exec, "join1");
    assert_eq!(join.status, InProgress);
    assert_eq!(join.retried_task_id.as_deref(), Some(old_join.as_str()));
    assert_eq!(enqueued(&d), vec![a2.task_id.clone()]);
    // b1 completed before the failure: it is not run again.
    assert_eq!(
        exec.tasks
            .iter()
            .filter(|t| t.reference_task_name == "b1")
            .count(),
        1
    );
    complete_ref(&mut exec, &mut env, "a2", json!({"v": 2}));
    let join = by_ref(&exec, "join1");
    assert_eq!(join.status, Completed);
    assert_eq!(join.output, obj(json!({"a2": {"v": 2}, "b1": {"v": "b"}})));
    complete_ref(&mut exec, &mut env, "c1", json!({}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
}

#[test]
fn retry_reschedules_tasks_cancelled_in_other_branches() {
    let mut env = TestEnv::new();
    env.def(json!({"name": "a", "retryCount": 0}));
    let (mut exec, _) = start(diamond(), json!({}), &mut env);
    run_ref(&mut exec, &mut env, "a1", Failed, json!({}));
    assert_eq!(by_ref(&exec, "b1").status, Canceled);
    let d = decider::decide(
        &mut exec,
        Event::Retry {
            resume_subworkflow_tasks: false,
        },
        &mut env,
    )
    .unwrap();
    let a1 = by_ref(&exec, "a1").task_id.clone();
    let b1 = by_ref(&exec, "b1").task_id.clone();
    assert_eq!(enqueued(&d), vec![a1, b1]);
    for r in ["a1", "b1", "a2"] {
        complete_ref(&mut exec, &mut env, r, json!({}));
    }
    complete_ref(&mut exec, &mut env, "c1", json!({}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
}

#[test]
fn retry_after_a_permissive_failure_reopens_the_failed_join() {
    let mut env = TestEnv::new();
    let (mut exec, _) = start(permissive(), json!({}), &mut env);
    run_ref(&mut exec, &mut env, "a1", Failed, json!({}));
    for r in ["a2", "b1", "b2"] {
        complete_ref(&mut exec, &mut env, r, json!({}));
    }
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    decider::decide(
        &mut exec,
        Event::Retry {
            resume_subworkflow_tasks: false,
        },
        &mut env,
    )
    .unwrap();
    assert_eq!(by_ref(&exec, "a1").status, Scheduled);
    assert_eq!(by_ref(&exec, "j1").status, InProgress);
    // a2 ran after the permissive failure already: not again.
    assert_eq!(
        exec.tasks
            .iter()
            .filter(|t| t.reference_task_name == "a2")
            .count(),
        1
    );
    complete_ref(&mut exec, &mut env, "a1", json!({"ok": true}));
    assert_eq!(by_ref(&exec, "j1").status, Completed);
    complete_ref(&mut exec, &mut env, "c1", json!({}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
}

#[test]
fn a_join_takes_no_results() {
    let mut env = TestEnv::new();
    let (mut exec, _) = start(diamond(), json!({}), &mut env);
    let join = by_ref(&exec, "join1").task_id.clone();
    let before = exec.clone();
    let err = report(
        &mut exec,
        &mut env,
        result(&join, None, Completed, json!({})),
    )
    .unwrap_err();
    assert!(matches!(err, DecideError::Invalid(_)), "{err:?}");
    let err = decider::decide(
        &mut exec,
        Event::Dispatched {
            task_id: join.clone(),
            token: "t".into(),
            worker_id: "w".into(),
            lease_deadline: env.now + 1000,
        },
        &mut env,
    )
    .unwrap_err();
    assert!(matches!(err, DecideError::StaleToken { .. }), "{err:?}");
    assert_eq!(exec, before);
}

#[test]
fn a_branch_finishing_while_paused_goes_on_at_resume() {
    let mut env = TestEnv::new();
    let (mut exec, _) = start(diamond(), json!({}), &mut env);
    decider::decide(&mut exec, Event::Pause, &mut env).unwrap();
    complete_ref(&mut exec, &mut env, "a1", json!({"v": 1}));
    complete_ref(&mut exec, &mut env, "b1", json!({"v": 2}));
    assert!(exec.latest_task("a2").is_none());
    let d = decider::decide(&mut exec, Event::Resume, &mut env).unwrap();
    let a2 = by_ref(&exec, "a2").task_id.clone();
    assert_eq!(enqueued(&d), vec![a2]);
    complete_ref(&mut exec, &mut env, "a2", json!({}));
    assert_eq!(by_ref(&exec, "join1").status, Completed);
}

#[test]
fn terminate_and_restart_with_branches_in_flight() {
    let mut env = TestEnv::new();
    let (mut exec, _) = start(diamond(), json!({}), &mut env);
    let d = decider::decide(&mut exec, Event::Terminate { reason: None }, &mut env).unwrap();
    assert_eq!(dequeued(&d).len(), 2);
    assert!(exec.tasks.iter().all(|t| t.status.is_terminal()));
    assert_eq!(by_ref(&exec, "join1").status, Canceled);
    let d = decider::decide(&mut exec, Event::Restart { def: None }, &mut env).unwrap();
    assert_eq!(d.removed_tasks.len(), 4);
    assert_eq!(
        trail(&exec),
        refs(&[
            ("fork1", Completed),
            ("a1", Scheduled),
            ("b1", Scheduled),
            ("join1", InProgress)
        ])
    );
}

#[test]
fn a_joined_task_with_an_empty_output_is_left_out_of_the_join_output() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "opt", "tasks": [
        {"name": "f", "taskReferenceName": "f1", "type": "FORK_JOIN", "forkTasks": [
            [{"name": "a", "taskReferenceName": "a1", "optional": true, "retryCount": 0}],
            [{"name": "b", "taskReferenceName": "b1"}]]},
        {"name": "j", "taskReferenceName": "j1", "type": "JOIN", "joinOn": ["a1", "b1"]}
    ]}));
    let (mut exec, _) = start(def, json!({}), &mut env);
    run_ref(&mut exec, &mut env, "a1", Failed, json!({}));
    complete_ref(&mut exec, &mut env, "b1", json!({"v": 2}));
    let j = by_ref(&exec, "j1");
    assert_eq!(j.status, CompletedWithErrors);
    assert_eq!(j.output, obj(json!({"b1": {"v": 2}})));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
    assert_eq!(exec.workflow.output, obj(json!({"b1": {"v": 2}})));
}

#[test]
fn a_join_waiting_for_a_task_that_cannot_run_fails_the_workflow() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "never", "tasks": [
        {"name": "f", "taskReferenceName": "f1", "type": "FORK_JOIN", "forkTasks": [
            [{"name": "s", "taskReferenceName": "s1", "type": "SWITCH", "evaluatorType": "value-param",
              "expression": "k", "inputParameters": {"k": "${workflow.input.k}"},
              "decisionCases": {"yes": [{"name": "a", "taskReferenceName": "a1"}]}}],
            [{"name": "b", "taskReferenceName": "b1"}]]},
        {"name": "j", "taskReferenceName": "j1", "type": "JOIN", "joinOn": ["a1", "b1"]}
    ]}));
    let (mut exec, _) = start(def.clone(), json!({"k": "no"}), &mut env);
    assert_eq!(exec.workflow.status, WorkflowStatus::Running);
    let d = complete_ref(&mut exec, &mut env, "b1", json!({}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    assert_eq!(closed(&d), Some(WorkflowStatus::Failed));
    assert_eq!(
        exec.workflow.reason_for_incompletion.as_deref(),
        Some("join j1 waits for a1, which can no longer run")
    );
    // With the case taken, the same definition completes.
    let (mut exec, _) = start(def, json!({"k": "yes"}), &mut env);
    complete_ref(&mut exec, &mut env, "a1", json!({}));
    complete_ref(&mut exec, &mut env, "b1", json!({}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
    // Joined tasks with empty outputs add nothing to the JOIN's output.
    assert_eq!(by_ref(&exec, "j1").output, obj(json!({})));
}

#[test]
fn a_fork_as_the_last_step_completes_with_the_last_scheduled_task_output() {
    // As in Conductor, the output is that of the task scheduled last: the JOIN is
    // scheduled with the fork, `a2` after it.
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "last", "tasks": [
        {"name": "f", "taskReferenceName": "f1", "type": "FORK_JOIN", "forkTasks": [
            [{"name": "a", "taskReferenceName": "a1"}, {"name": "a", "taskReferenceName": "a2"}],
            [{"name": "b", "taskReferenceName": "b1"}]]},
        {"name": "j", "taskReferenceName": "j1", "type": "JOIN", "joinOn": ["a2", "b1"]}
    ]}));
    let (mut exec, _) = start(def, json!({}), &mut env);
    complete_ref(&mut exec, &mut env, "a1", json!({}));
    complete_ref(&mut exec, &mut env, "b1", json!({"b": 1}));
    let d = complete_ref(&mut exec, &mut env, "a2", json!({"a": 2}));
    assert_eq!(closed(&d), Some(WorkflowStatus::Completed));
    assert_eq!(
        by_ref(&exec, "j1").output,
        obj(json!({"a2": {"a": 2}, "b1": {"b": 1}}))
    );
    assert_eq!(exec.workflow.output, obj(json!({"a": 2})));
}

#[test]
fn join_output_feeds_the_workflow_output_parameters() {
    let mut env = TestEnv::new();
    let tag = |lang: &str| {
        json!({"name": format!("tag_{lang}"), "taskReferenceName": format!("{lang}_tag"),
               "inputParameters": {"length": "${count.output.length}"}})
    };
    let def = wf(json!({"name": "xl", "tasks": [
        {"name": "count", "taskReferenceName": "count", "inputParameters": {"text": "${workflow.input.text}"}},
        {"name": "fork", "taskReferenceName": "fork", "type": "FORK_JOIN",
         "forkTasks": [[tag("py")], [tag("go")], [tag("java")]]},
        {"name": "join", "taskReferenceName": "join", "type": "JOIN", "joinOn": ["py_tag", "go_tag", "java_tag"]}
    ], "outputParameters": {"length": "${count.output.length}", "tags": "${join.output}"}}));
    let (mut exec, _) = start(def, json!({"text": "Baton"}), &mut env);
    complete_ref(&mut exec, &mut env, "count", json!({"length": 5}));
    for lang in ["java", "py", "go"] {
        assert_eq!(
            by_ref(&exec, &format!("{lang}_tag")).input,
            obj(json!({"length": 5}))
        );
    }
    for lang in ["java", "py", "go"] {
        let r = format!("{lang}_tag");
        complete_ref(&mut exec, &mut env, &r, json!({"lang": lang, "seen": 5}));
    }
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
    assert_eq!(
        exec.workflow.output,
        obj(json!({"length": 5, "tags": {
            "py_tag": {"lang": "py", "seen": 5},
            "go_tag": {"lang": "go", "seen": 5},
            "java_tag": {"lang": "java", "seen": 5}}}))
    );
}
