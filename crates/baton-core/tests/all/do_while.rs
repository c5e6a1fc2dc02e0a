//! DO_WHILE: iterations with suffixed references, conditions through jobs, items,
//! keepLastN, nesting, operators and WAITs inside loops, retries.

use crate::common::*;
use baton_core::decider::{self, Event, Job, TimerKind};
use baton_core::state::{TaskStatus, WorkflowStatus};
use serde_json::{Value, json};

use TaskStatus::{Completed, InProgress, Scheduled};

/// Answers the loop-condition job of `loop_ref` (latest instance) with `value`.
fn condition(
    exec: &mut baton_core::state::Execution,
    env: &mut TestEnv,
    d: &decider::Decision,
    value: Value,
) -> decider::Decision {
    let (task_id, job) = jobs(d).pop().expect("a condition job");
    assert!(matches!(job, Job::Script { body: false, .. }), "{job:?}");
    job_done(
        exec,
        env,
        &task_id,
        Completed,
        json!({"result": value}),
        None,
    )
}

fn counted_loop() -> serde_json::Value {
    json!({"name": "loop", "tasks": [
        {"name": "loop", "taskReferenceName": "loop", "type": "DO_WHILE",
         "inputParameters": {"limit": "${workflow.input.limit}"},
         "loopCondition": "if ($.loop['iteration'] < $.limit) { true; } else { false; }",
         "loopOver": [
            {"name": "a", "taskReferenceName": "a", "inputParameters": {"i": "${loop.output.iteration}"}},
            {"name": "b", "taskReferenceName": "b", "inputParameters": {"prev": "${a.output.n}"}}
         ]},
        {"name": "after", "taskReferenceName": "after", "inputParameters": {"it": "${loop.output.iteration}"}}
    ]})
}

#[test]
fn iterations_get_suffixed_references_and_outputs_per_iteration() {
    let mut env = TestEnv::new();
    let (mut exec, d) = start(wf(counted_loop()), json!({"limit": 2}), &mut env);
    let l = by_ref(&exec, "loop");
    assert_eq!(l.status, InProgress);
    assert_eq!(l.output.get("iteration"), Some(&json!(1)));
    let a1 = by_ref(&exec, "a__1");
    assert_eq!((a1.iteration, a1.input.get("i")), (1, Some(&json!(1))));
    assert_eq!(enqueued(&d), vec![a1.task_id.clone()]);
    complete_ref(&mut exec, &mut env, "a__1", json!({"n": 10}));
    assert_eq!(by_ref(&exec, "b__1").input, obj(json!({"prev": 10})));
    let d = complete_ref(&mut exec, &mut env, "b__1", json!({"m": 1}));
    // The body is over: the condition is asked for, with $ holding the loop's input, its
    // own output and this iteration's outputs.
    let (_, job) = jobs(&d).pop().expect("condition job");
    let Job::Script {
        script, bindings, ..
    } = job
    else {
        panic!()
    };
    assert!(script.contains("$.loop['iteration']"));
    assert_eq!(bindings.get("limit"), Some(&json!(2)));
    assert_eq!(bindings["loop"]["iteration"], json!(1));
    assert_eq!(bindings.get("a"), Some(&json!({"n": 10})));
    assert_eq!(bindings.get("b"), Some(&json!({"m": 1})));
    assert!(by_ref(&exec, "loop").job_pending);
    let d2 = condition(&mut exec, &mut env, &d, json!(true));
    let a2 = by_ref(&exec, "a__2");
    assert_eq!((a2.iteration, a2.input.get("i")), (2, Some(&json!(2))));
    assert_eq!(enqueued(&d2), vec![a2.task_id.clone()]);
    complete_ref(&mut exec, &mut env, "a__2", json!({"n": 20}));
    assert_eq!(by_ref(&exec, "b__2").input, obj(json!({"prev": 20})));
    let d = complete_ref(&mut exec, &mut env, "b__2", json!({"m": 2}));
    condition(&mut exec, &mut env, &d, json!(false));
    let l = by_ref(&exec, "loop");
    assert_eq!(l.status, Completed);
    assert_eq!(
        l.output,
        obj(
            json!({"iteration": 2, "1": {"a": {"n": 10}, "b": {"m": 1}}, "2": {"a": {"n": 20}, "b": {"m": 2}}})
        )
    );
    assert_eq!(by_ref(&exec, "after").input, obj(json!({"it": 2})));
    complete_ref(&mut exec, &mut env, "after", json!({}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
}

#[test]
fn a_repeated_condition_outcome_changes_nothing() {
    let mut env = TestEnv::new();
    let (mut exec, _) = start(wf(counted_loop()), json!({"limit": 2}), &mut env);
    complete_ref(&mut exec, &mut env, "a__1", json!({}));
    let d = complete_ref(&mut exec, &mut env, "b__1", json!({}));
    let (task_id, _) = jobs(&d).pop().unwrap();
    job_done(
        &mut exec,
        &mut env,
        &task_id,
        Completed,
        json!({"result": true}),
        None,
    );
    let before = exec.clone();
    let again = job_done(
        &mut exec,
        &mut env,
        &task_id,
        Completed,
        json!({"result": true}),
        None,
    );
    assert_eq!(exec, before);
    assert!(again.effects.is_empty());
}

#[test]
fn a_failing_condition_fails_the_loop_and_the_workflow() {
    let mut env = TestEnv::new();
    let (mut exec, _) = start(wf(counted_loop()), json!({"limit": 2}), &mut env);
    complete_ref(&mut exec, &mut env, "a__1", json!({}));
    let d = complete_ref(&mut exec, &mut env, "b__1", json!({}));
    let (task_id, _) = jobs(&d).pop().unwrap();
    job_done(
        &mut exec,
        &mut env,
        &task_id,
        TaskStatus::Failed,
        json!({}),
        Some("ReferenceError: x is not defined"),
    );
    let l = by_ref(&exec, "loop");
    assert_eq!(l.status, TaskStatus::FailedWithTerminalError);
    assert!(
        l.reason_for_incompletion
            .as_deref()
            .unwrap()
            .contains("ReferenceError")
    );
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
}

#[test]
fn items_drive_the_loop_without_a_condition() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "items", "tasks": [
        {"name": "loop", "taskReferenceName": "loop", "type": "DO_WHILE", "loopCondition": "",
         "inputParameters": {"items": "${workflow.input.list}"},
         "loopOver": [{"name": "a", "taskReferenceName": "a",
            "inputParameters": {"item": "${loop.output.item}", "index": "${loop.output.index}"}}]}
    ]}));
    let (mut exec, _) = start(def, json!({"list": ["x", "y", "z"]}), &mut env);
    for (i, item) in ["x", "y", "z"].iter().enumerate() {
        let r = format!("a__{}", i + 1);
        assert_eq!(
            by_ref(&exec, &r).input,
            obj(json!({"item": item, "index": i}))
        );
        let d = complete_ref(&mut exec, &mut env, &r, json!({"seen": item}));
        assert!(jobs(&d).is_empty(), "no condition job without a condition");
    }
    let l = by_ref(&exec, "loop");
    assert_eq!(l.status, Completed);
    assert_eq!(l.output["iteration"], json!(3));
    assert_eq!(l.output["3"], json!({"a": {"seen": "z"}}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
}

#[test]
fn items_beside_the_input_parameters_drive_the_loop_too() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "items", "tasks": [
        {"name": "loop", "taskReferenceName": "loop", "type": "DO_WHILE",
         "items": "${workflow.input.list}",
         "loopOver": [{"name": "a", "taskReferenceName": "a",
            "inputParameters": {"item": "${loop.output.item}"}}]}
    ]}));
    let (mut exec, _) = start(def, json!({"list": ["x", "y"]}), &mut env);
    assert_eq!(by_ref(&exec, "loop").input["items"], json!(["x", "y"]));
    for (i, item) in ["x", "y"].iter().enumerate() {
        let r = format!("a__{}", i + 1);
        assert_eq!(by_ref(&exec, &r).input, obj(json!({"item": item})));
        complete_ref(&mut exec, &mut env, &r, json!({}));
    }
    assert_eq!(by_ref(&exec, "loop").output["iteration"], json!(2));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
}

#[test]
fn empty_items_complete_at_once_and_bad_items_fail() {
    let mut env = TestEnv::new();
    let def = |items: Value| {
        wf(json!({"name": "items", "tasks": [
            {"name": "loop", "taskReferenceName": "loop", "type": "DO_WHILE",
             "inputParameters": {"items": items},
             "loopOver": [{"name": "a", "taskReferenceName": "a"}]}
        ]}))
    };
    let (exec, _) = start(def(json!([])), json!({}), &mut env);
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
    assert_eq!(by_ref(&exec, "loop").output, obj(json!({"iteration": 0})));
    let (exec, _) = start(def(json!("abc")), json!({}), &mut env);
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    let reason = exec.workflow.reason_for_incompletion.clone().unwrap();
    assert!(
        reason.contains("items must be a list, got a string"),
        "{reason}"
    );
}

#[test]
fn keep_last_n_drops_old_iterations() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "keep", "tasks": [
        {"name": "loop", "taskReferenceName": "loop", "type": "DO_WHILE",
         "inputParameters": {"items": [1, 2, 3, 4, 5], "keepLastN": 2},
         "loopOver": [{"name": "a", "taskReferenceName": "a"}, {"name": "n", "taskReferenceName": "n", "type": "NOOP"}]}
    ]}));
    let (mut exec, _) = start(def, json!({}), &mut env);
    let mut removed = Vec::new();
    for i in 1..=5 {
        let d = complete_ref(&mut exec, &mut env, &format!("a__{i}"), json!({"i": i}));
        removed.extend(d.removed_tasks.clone());
    }
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
    let refs: Vec<String> = exec
        .tasks
        .iter()
        .map(|t| t.reference_task_name.clone())
        .collect();
    assert_eq!(refs, ["loop", "a__4", "n__4", "a__5", "n__5"]);
    assert_eq!(removed.len(), 6, "iterations 1 to 3 dropped: {removed:?}");
    let out = &by_ref(&exec, "loop").output;
    let mut keys: Vec<&String> = out.keys().collect();
    keys.sort();
    assert_eq!(keys, ["4", "5", "index", "item", "iteration"]);
}

#[test]
fn nested_loops_keep_their_iterations_apart() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "nested", "tasks": [
        {"name": "outer", "taskReferenceName": "outer", "type": "DO_WHILE",
         "inputParameters": {"items": ["p", "q"]},
         "loopOver": [
            {"name": "inner", "taskReferenceName": "inner", "type": "DO_WHILE",
             "inputParameters": {"items": [1, 2, 3]},
             "loopOver": [{"name": "t", "taskReferenceName": "t",
                "inputParameters": {"o": "${outer.output.item}", "i": "${inner.output.item}"}}]},
            {"name": "tail", "taskReferenceName": "tail", "type": "NOOP"}
         ]}
    ]}));
    let (mut exec, _) = start(def, json!({}), &mut env);
    for o in 1..=2 {
        for i in 1..=3 {
            let r = format!("t__{o}__{i}");
            let t = by_ref(&exec, &r);
            assert_eq!(t.iteration, i);
            let item = ["p", "q"][o as usize - 1];
            assert_eq!(t.input, obj(json!({"o": item, "i": i})));
            complete_ref(&mut exec, &mut env, &r, json!({"o": o, "i": i}));
        }
        assert_eq!(by_ref(&exec, &format!("inner__{o}")).status, Completed);
        assert_eq!(by_ref(&exec, &format!("tail__{o}")).status, Completed);
    }
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
    let outer = by_ref(&exec, "outer");
    assert_eq!(outer.output["iteration"], json!(2));
    assert_eq!(
        outer.output["2"]["inner"]["3"],
        json!({"t": {"o": 2, "i": 3}})
    );
    assert_eq!(outer.output["2"]["tail"], json!({}));
}

#[test]
fn forks_and_switches_inside_a_loop_use_their_iteration() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "ops", "tasks": [
        {"name": "loop", "taskReferenceName": "loop", "type": "DO_WHILE",
         "inputParameters": {"items": ["left", "right"]},
         "loopOver": [
            {"name": "fork", "taskReferenceName": "fork", "type": "FORK_JOIN", "forkTasks": [
                [{"name": "x", "taskReferenceName": "x"}],
                [{"name": "y", "taskReferenceName": "y"}]
            ]},
            {"name": "join", "taskReferenceName": "join", "type": "JOIN", "joinOn": ["x", "y"]},
            {"name": "sw", "taskReferenceName": "sw", "type": "SWITCH", "evaluatorType": "value-param",
             "expression": "side", "inputParameters": {"side": "${loop.output.item}"},
             "decisionCases": {"left": [{"name": "l", "taskReferenceName": "l"}]},
             "defaultCase": [{"name": "r", "taskReferenceName": "r"}]}
         ]}
    ]}));
    let (mut exec, _) = start(def, json!({}), &mut env);
    complete_ref(&mut exec, &mut env, "x__1", json!({"x": 1}));
    assert_eq!(by_ref(&exec, "join__1").status, InProgress);
    complete_ref(&mut exec, &mut env, "y__1", json!({"y": 1}));
    assert_eq!(
        by_ref(&exec, "join__1").output,
        obj(json!({"x__1": {"x": 1}, "y__1": {"y": 1}}))
    );
    complete_ref(&mut exec, &mut env, "l__1", json!({}));
    complete_ref(&mut exec, &mut env, "x__2", json!({}));
    complete_ref(&mut exec, &mut env, "y__2", json!({}));
    assert_eq!(by_ref(&exec, "join__2").status, Completed);
    complete_ref(&mut exec, &mut env, "r__2", json!({}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
    assert!(exec.latest_task("l__2").is_none());
}

#[test]
fn a_wait_inside_a_loop_waits_each_iteration() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "w", "tasks": [
        {"name": "loop", "taskReferenceName": "loop", "type": "DO_WHILE",
         "inputParameters": {"items": [1, 2]},
         "loopOver": [{"name": "w", "taskReferenceName": "w", "type": "WAIT", "inputParameters": {"duration": "2s"}}]}
    ]}));
    let (mut exec, d) = start(def, json!({}), &mut env);
    let w1 = by_ref(&exec, "w__1").clone();
    assert_eq!(w1.status, InProgress);
    let timer = armed(&d)
        .into_iter()
        .find(|t| matches!(t.kind, TimerKind::TaskReady { .. }))
        .unwrap();
    assert_eq!(timer.due_ms, env.now + 2000);
    env.advance(2000);
    let d = fire(
        &mut exec,
        &mut env,
        TimerKind::TaskReady {
            task_id: w1.task_id.clone(),
        },
    );
    assert_eq!(by_ref(&exec, "w__1").status, Completed);
    let w2 = by_ref(&exec, "w__2").clone();
    assert_eq!(w2.status, InProgress);
    assert_eq!(armed(&d).len(), 1);
    env.advance(2000);
    fire(
        &mut exec,
        &mut env,
        TimerKind::TaskReady {
            task_id: w2.task_id,
        },
    );
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
}

#[test]
fn a_failed_body_task_is_retried_in_its_iteration_and_a_workflow_retry_resumes_the_loop() {
    let mut env = TestEnv::new();
    env.def(json!({"name": "a", "retryCount": 1, "retryDelaySeconds": 0}));
    let def = wf(json!({"name": "r", "tasks": [
        {"name": "loop", "taskReferenceName": "loop", "type": "DO_WHILE",
         "inputParameters": {"items": [1, 2, 3]},
         "loopOver": [{"name": "a", "taskReferenceName": "a"}]}
    ]}));
    let (mut exec, _) = start(def, json!({}), &mut env);
    complete_ref(&mut exec, &mut env, "a__1", json!({}));
    run_ref(&mut exec, &mut env, "a__2", TaskStatus::Failed, json!({}));
    let retry = by_ref(&exec, "a__2");
    assert_eq!((retry.status, retry.retry_count), (Scheduled, 1));
    run_ref(&mut exec, &mut env, "a__2", TaskStatus::Failed, json!({}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    assert_eq!(by_ref(&exec, "loop").status, TaskStatus::Canceled);
    decider::decide(
        &mut exec,
        Event::Retry {
            resume_subworkflow_tasks: false,
        },
        &mut env,
    )
    .unwrap();
    assert_eq!(exec.workflow.status, WorkflowStatus::Running);
    let l = by_ref(&exec, "loop");
    assert_eq!(
        (l.status, l.output["iteration"].clone()),
        (InProgress, json!(2))
    );
    assert_eq!(by_ref(&exec, "a__2").status, Scheduled);
    assert!(
        exec.latest_task("a__1").is_some_and(|t| !t.retried),
        "iteration 1 is kept"
    );
    complete_ref(&mut exec, &mut env, "a__2", json!({}));
    complete_ref(&mut exec, &mut env, "a__3", json!({}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
    assert_eq!(by_ref(&exec, "loop").output["iteration"], json!(3));
}

#[test]
fn a_terminate_inside_a_loop_ends_the_workflow() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "t", "tasks": [
        {"name": "loop", "taskReferenceName": "loop", "type": "DO_WHILE",
         "inputParameters": {"items": ["a", "b", "c"]},
         "loopOver": [
            {"name": "n", "taskReferenceName": "n", "type": "NOOP"},
            {"name": "t", "taskReferenceName": "t", "type": "TERMINATE",
             "inputParameters": {"terminationStatus": "TERMINATED", "terminationReason": "stop"}}
         ]}
    ]}));
    let (exec, _) = start(def, json!({}), &mut env);
    assert_eq!(exec.workflow.status, WorkflowStatus::Terminated);
    assert_eq!(
        exec.workflow.reason_for_incompletion.as_deref(),
        Some("stop")
    );
    assert!(exec.latest_task("n__2").is_none());
}

#[test]
fn a_restart_recovers_the_pending_condition_job() {
    let mut env = TestEnv::new();
    let (mut exec, _) = start(wf(counted_loop()), json!({"limit": 3}), &mut env);
    complete_ref(&mut exec, &mut env, "a__1", json!({}));
    complete_ref(&mut exec, &mut env, "b__1", json!({}));
    let effects = decider::recover(&exec, env.now);
    let runs: Vec<_> = effects
        .iter()
        .filter(|e| matches!(e, decider::Effect::Run { .. }))
        .collect();
    assert_eq!(runs.len(), 1, "{effects:?}");
}

#[test]
fn a_condition_that_comes_back_true_while_paused_starts_nothing_until_resumed() {
    let mut env = TestEnv::new();
    let (mut exec, _) = start(wf(counted_loop()), json!({"limit": 2}), &mut env);
    complete_ref(&mut exec, &mut env, "a__1", json!({}));
    let d = complete_ref(&mut exec, &mut env, "b__1", json!({}));
    decider::decide(&mut exec, Event::Pause, &mut env).unwrap();
    let d = condition(&mut exec, &mut env, &d, json!(true));
    assert!(enqueued(&d).is_empty(), "nothing is scheduled while PAUSED");
    assert!(exec.latest_task("a__2").is_none());
    let l = by_ref(&exec, "loop");
    assert_eq!((l.status, l.job_pending), (InProgress, false));
    // Resuming asks for the condition again; its answer goes on.
    let d = decider::decide(&mut exec, Event::Resume, &mut env).unwrap();
    let d = condition(&mut exec, &mut env, &d, json!(true));
    assert_eq!(enqueued(&d), vec![by_ref(&exec, "a__2").task_id.clone()]);
}

#[test]
fn an_iteration_ends_when_every_task_of_it_has_ended() {
    // The JOIN names the SWITCH, which ends at once: it does not wait for the case's
    // task, but the loop does before it goes round again (as Conductor's DO_WHILE).
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "straggler", "tasks": [
        {"name": "loop", "taskReferenceName": "loop", "type": "DO_WHILE",
         "inputParameters": {"items": [1, 2]},
         "loopOver": [
            {"name": "fork", "taskReferenceName": "fork", "type": "FORK_JOIN", "forkTasks": [
                [{"name": "sw", "taskReferenceName": "sw", "type": "SWITCH",
                  "evaluatorType": "value-param", "expression": "k", "inputParameters": {"k": "x"},
                  "decisionCases": {}, "defaultCase": [{"name": "a", "taskReferenceName": "a"}]}],
                [{"name": "b", "taskReferenceName": "b"}]
            ]},
            {"name": "join", "taskReferenceName": "join", "type": "JOIN", "joinOn": ["sw", "b"]}
         ]},
        {"name": "after", "taskReferenceName": "after"}
    ]}));
    let (mut exec, _) = start(def, json!({}), &mut env);
    complete_ref(&mut exec, &mut env, "b__1", json!({"b": 1}));
    assert_eq!(by_ref(&exec, "join__1").status, Completed);
    assert!(
        exec.latest_task("fork__2").is_none(),
        "a__1 still runs: iteration 1 is not over"
    );
    assert_eq!(by_ref(&exec, "loop").output["iteration"], json!(1));
    complete_ref(&mut exec, &mut env, "a__1", json!({"a": 1}));
    assert_eq!(by_ref(&exec, "loop").output["1"]["a"], json!({"a": 1}));
    assert_eq!(by_ref(&exec, "a__2").status, Scheduled);
    complete_ref(&mut exec, &mut env, "a__2", json!({}));
    assert!(exec.latest_task("after").is_none(), "b__2 still runs");
    complete_ref(&mut exec, &mut env, "b__2", json!({}));
    let l = by_ref(&exec, "loop");
    assert_eq!(
        (l.status, l.output["iteration"].clone()),
        (Completed, json!(2))
    );
    complete_ref(&mut exec, &mut env, "after", json!({}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
}

#[test]
fn loops_side_by_side_keep_their_iterations_apart() {
    // Both loops number their iterations __1, __2: each takes only its own body's tasks
    // as its iteration's (to wait for, to record, to prune).
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "beside", "tasks": [
        {"name": "fork", "taskReferenceName": "fork", "type": "FORK_JOIN", "forkTasks": [
            [{"name": "la", "taskReferenceName": "la", "type": "DO_WHILE",
              "inputParameters": {"items": [1, 2], "keepLastN": 1},
              "loopOver": [{"name": "x", "taskReferenceName": "x"}]}],
            [{"name": "lb", "taskReferenceName": "lb", "type": "DO_WHILE",
              "inputParameters": {"items": [1, 2, 3]},
              "loopOver": [{"name": "y", "taskReferenceName": "y"}]}]
        ]},
        {"name": "join", "taskReferenceName": "join", "type": "JOIN", "joinOn": ["la", "lb"]}
    ]}));
    let (mut exec, _) = start(def, json!({}), &mut env);
    complete_ref(&mut exec, &mut env, "y__1", json!({"y": 1}));
    assert_eq!(by_ref(&exec, "lb").output["1"], json!({"y": {"y": 1}}));
    // x__1 ends while y__2 runs: la goes round, records only x and prunes only its own.
    let d = complete_ref(&mut exec, &mut env, "x__1", json!({"x": 1}));
    assert_eq!(by_ref(&exec, "x__2").status, Scheduled);
    let removed: Vec<&str> = d.removed_tasks.iter().map(String::as_str).collect();
    let x1 = exec.tasks.iter().any(|t| t.reference_task_name == "x__1");
    assert!(!x1, "la keeps its last iteration only: {removed:?}");
    assert!(
        exec.latest_task("y__1").is_some(),
        "lb's iteration 1 is kept"
    );
    complete_ref(&mut exec, &mut env, "x__2", json!({"x": 2}));
    assert_eq!(by_ref(&exec, "la").output["2"], json!({"x": {"x": 2}}));
    complete_ref(&mut exec, &mut env, "y__2", json!({"y": 2}));
    complete_ref(&mut exec, &mut env, "y__3", json!({"y": 3}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
    assert_eq!(by_ref(&exec, "lb").output["2"], json!({"y": {"y": 2}}));
}

#[test]
fn a_retry_of_a_run_ended_mid_iteration_finishes_the_iteration_first() {
    let mut env = TestEnv::new();
    let (mut exec, _) = start(wf(counted_loop()), json!({"limit": 2}), &mut env);
    // a__1 completes while PAUSED (b__1 is not scheduled yet), then the run is terminated.
    decider::decide(&mut exec, Event::Pause, &mut env).unwrap();
    complete_ref(&mut exec, &mut env, "a__1", json!({"n": 1}));
    decider::decide(&mut exec, Event::Terminate { reason: None }, &mut env).unwrap();
    let d = decider::decide(
        &mut exec,
        Event::Retry {
            resume_subworkflow_tasks: false,
        },
        &mut env,
    )
    .unwrap();
    // The body goes on with b__1; the condition is not asked before the body's end.
    assert!(jobs(&d).is_empty(), "{:?}", jobs(&d));
    assert!(!by_ref(&exec, "loop").job_pending);
    assert_eq!(by_ref(&exec, "b__1").status, Scheduled);
    let d = complete_ref(&mut exec, &mut env, "b__1", json!({}));
    condition(&mut exec, &mut env, &d, json!(false));
    let l = by_ref(&exec, "loop");
    assert_eq!(
        (l.status, l.output["iteration"].clone()),
        (Completed, json!(1))
    );
    assert!(exec.latest_task("a__2").is_none());
}

#[test]
fn an_inner_loop_without_items_is_at_iteration_zero() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "empty", "tasks": [
        {"name": "outer", "taskReferenceName": "outer", "type": "DO_WHILE",
         "inputParameters": {"items": [1]},
         "loopOver": [
            {"name": "inner", "taskReferenceName": "inner", "type": "DO_WHILE",
             "inputParameters": {"items": []},
             "loopOver": [{"name": "t", "taskReferenceName": "t"}]}
         ]}
    ]}));
    let (exec, _) = start(def, json!({}), &mut env);
    let inner = by_ref(&exec, "inner__1");
    assert_eq!(inner.status, Completed);
    assert_eq!(
        (inner.iteration, inner.output["iteration"].clone()),
        (0, json!(0))
    );
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
}

#[test]
fn a_run_ending_with_a_loop_takes_the_output_of_the_task_scheduled_last() {
    // As in Conductor: without outputParameters the output is the last scheduled task's,
    // here the last body task of the last iteration, not the loop's own output.
    let def = json!({"name": "ends_in_loop", "tasks": [
        {"name": "loop", "taskReferenceName": "loop", "type": "DO_WHILE",
         "inputParameters": {"items": [1, 2]},
         "loopOver": [
            {"name": "a", "taskReferenceName": "a"},
            {"name": "b", "taskReferenceName": "b"}
         ]}
    ]});
    let mut env = TestEnv::new();
    let (mut exec, _) = start(wf(def), json!({}), &mut env);
    for (r, n) in [("a__1", 1), ("b__1", 2), ("a__2", 3), ("b__2", 4)] {
        complete_ref(&mut exec, &mut env, r, json!({"n": n}));
    }
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
    assert_eq!(by_ref(&exec, "loop").status, Completed);
    assert_eq!(exec.workflow.output, obj(json!({"n": 4})));
}

#[test]
fn a_run_ending_with_the_join_of_a_loop_branch_takes_the_loops_last_task_output() {
    // Conductor schedules the JOIN with the loop and the loop's body after both: the body's
    // last task is the one scheduled last. A branch done within the fork's batch (`c`)
    // does not count.
    let def = json!({"name": "loop_branch", "tasks": [
        {"name": "f", "taskReferenceName": "f", "type": "FORK_JOIN", "forkTasks": [
            [{"name": "loop", "taskReferenceName": "loop", "type": "DO_WHILE",
              "inputParameters": {"items": [1]},
              "loopOver": [{"name": "a", "taskReferenceName": "a"}]}],
            [{"name": "c", "taskReferenceName": "c"}]]},
        {"name": "j", "taskReferenceName": "j", "type": "JOIN", "joinOn": ["loop", "c"]}
    ]});
    let mut env = TestEnv::new();
    let (mut exec, _) = start(wf(def), json!({}), &mut env);
    complete_ref(&mut exec, &mut env, "a__1", json!({"n": 1}));
    complete_ref(&mut exec, &mut env, "c", json!({"n": 2}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
    assert_eq!(exec.workflow.output, obj(json!({"n": 1})));
}

#[test]
fn on_resume_the_rest_of_an_iteration_runs_before_the_condition() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "resume", "tasks": [
        {"name": "loop", "taskReferenceName": "loop", "type": "DO_WHILE",
         "inputParameters": {"limit": 1},
         "loopCondition": "if ($.loop['iteration'] < $.limit) { true; } else { false; }",
         "loopOver": [
            {"name": "fork", "taskReferenceName": "fork", "type": "FORK_JOIN", "forkTasks": [
                [{"name": "a", "taskReferenceName": "a"}],
                [{"name": "sw", "taskReferenceName": "sw", "type": "SWITCH",
                  "evaluatorType": "value-param", "expression": "k", "inputParameters": {"k": "x"},
                  "decisionCases": {}, "defaultCase": [
                      {"name": "b", "taskReferenceName": "b"},
                      {"name": "c", "taskReferenceName": "c"}]}]
            ]},
            {"name": "join", "taskReferenceName": "join", "type": "JOIN", "joinOn": ["a", "sw"]}
         ]}
    ]}));
    let (mut exec, _) = start(def, json!({}), &mut env);
    let d = complete_ref(&mut exec, &mut env, "a__1", json!({}));
    assert_eq!(by_ref(&exec, "join__1").status, Completed);
    assert!(jobs(&d).is_empty(), "b__1 still runs");
    // b__1 ends while PAUSED: c__1 is due, not scheduled yet.
    decider::decide(&mut exec, Event::Pause, &mut env).unwrap();
    complete_ref(&mut exec, &mut env, "b__1", json!({}));
    let d = decider::decide(&mut exec, Event::Resume, &mut env).unwrap();
    assert!(jobs(&d).is_empty(), "c__1 is part of the iteration");
    assert_eq!(by_ref(&exec, "c__1").status, Scheduled);
    let d = complete_ref(&mut exec, &mut env, "c__1", json!({}));
    condition(&mut exec, &mut env, &d, json!(false));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
}
