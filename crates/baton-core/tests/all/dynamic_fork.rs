//! FORK_JOIN_DYNAMIC: branches from the input, and the JOIN that waits for them.

use std::sync::Arc;

use crate::common::*;
use baton_core::WorkflowDef;
use baton_core::state::{TaskStatus, WorkflowStatus};
use serde_json::{Value, json};

fn fork_def() -> Arc<WorkflowDef> {
    wf(json!({"name": "fd", "tasks": [
        {"name": "fork", "taskReferenceName": "f1", "type": "FORK_JOIN_DYNAMIC",
         "dynamicForkTasksParam": "dynamicTasks",
         "dynamicForkTasksInputParamName": "dynamicTasksInput",
         "inputParameters": {"dynamicTasks": "${workflow.input.tasks}",
                             "dynamicTasksInput": "${workflow.input.inputs}"}},
        {"name": "join", "taskReferenceName": "j1", "type": "JOIN"},
        {"name": "after", "taskReferenceName": "after1", "inputParameters": {"all": "${j1.output}"}}
    ]}))
}

fn refs_of(exec: &baton_core::Execution) -> Vec<String> {
    exec.tasks
        .iter()
        .map(|t| t.reference_task_name.clone())
        .collect()
}

#[test]
fn branches_run_and_the_join_waits_for_all_of_them() {
    let mut env = TestEnv::new();
    let input = json!({
        "tasks": [{"name": "img", "taskReferenceName": "b1"},
                  {"name": "txt", "taskReferenceName": "b2", "inputParameters": {"k": "own"}}],
        "inputs": {"b1": {"size": 3}, "b2": {"from": "${workflow.input.tag}"}},
        "tag": "t"
    });
    let (mut exec, d) = start(fork_def(), input, &mut env);
    assert_eq!(refs_of(&exec), vec!["f1", "b1", "b2", "j1"]);
    let f1 = by_ref(&exec, "f1");
    assert_eq!(f1.status, TaskStatus::Completed);
    assert_eq!(f1.input.get("forkedTasks"), Some(&json!(["b1", "b2"])));
    assert_eq!(by_ref(&exec, "b1").task_def_name, "img");
    assert_eq!(by_ref(&exec, "b1").input, obj(json!({"size": 3})));
    assert_eq!(
        by_ref(&exec, "b2").input,
        obj(json!({"k": "own", "from": "t"}))
    );
    assert_eq!(enqueued(&d).len(), 2);
    let j1 = by_ref(&exec, "j1");
    assert_eq!(j1.status, TaskStatus::InProgress);
    assert_eq!(j1.input.get("joinOn"), Some(&json!(["b1", "b2"])));
    complete_ref(&mut exec, &mut env, "b2", json!({"v": 2}));
    assert_eq!(by_ref(&exec, "j1").status, TaskStatus::InProgress);
    complete_ref(&mut exec, &mut env, "b1", json!({"v": 1}));
    assert_eq!(by_ref(&exec, "j1").status, TaskStatus::Completed);
    assert_eq!(
        by_ref(&exec, "after1").input,
        obj(json!({"all": {"b1": {"v": 1}, "b2": {"v": 2}}}))
    );
    complete_ref(&mut exec, &mut env, "after1", json!({"done": true}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
}

#[test]
fn a_branch_input_is_evaluated_when_the_branch_is_scheduled() {
    let mut env = TestEnv::new();
    // The list comes from an earlier step's output, expressions and all (Conductor's
    // corpus builds it in a script); they are evaluated for each branch, like inputs
    // written in the definition.
    let input = json!({
        "tasks": [{"name": "img", "taskReferenceName": "b1",
                   "inputParameters": {"task_id": "${CPEWF_TASK_ID}", "tag": "${workflow.input.tag}"}}],
        "inputs": {"b1": {"also": "${workflow.input.tag}"}},
        "tag": "t"
    });
    let (exec, _) = start(fork_def(), input, &mut env);
    let b1 = by_ref(&exec, "b1");
    assert_eq!(
        b1.input,
        obj(json!({"task_id": b1.task_id.clone(), "tag": "t", "also": "t"}))
    );
}

#[test]
fn a_failing_branch_is_retried_by_its_own_definition_then_fails_the_workflow() {
    let mut env = TestEnv::new();
    env.def(json!({"name": "img", "retryCount": 1, "retryDelaySeconds": 0}));
    let input = json!({"tasks": [{"name": "img", "taskReferenceName": "b1"}]});
    let (mut exec, _) = start(fork_def(), input, &mut env);
    run_ref(&mut exec, &mut env, "b1", TaskStatus::Failed, json!({}));
    assert_eq!(by_ref(&exec, "b1").retry_count, 1);
    assert_eq!(by_ref(&exec, "b1").status, TaskStatus::Scheduled);
    run_ref(&mut exec, &mut env, "b1", TaskStatus::Failed, json!({}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    assert_eq!(by_ref(&exec, "j1").status, TaskStatus::Canceled);
}

#[test]
fn an_optional_branch_failure_makes_the_join_complete_with_errors() {
    let mut env = TestEnv::new();
    env.def(json!({"name": "img", "retryCount": 0}));
    let input = json!({"tasks": [{"name": "img", "taskReferenceName": "b1", "optional": true},
                                  {"name": "img", "taskReferenceName": "b2"}]});
    let (mut exec, _) = start(fork_def(), input, &mut env);
    run_ref(&mut exec, &mut env, "b1", TaskStatus::Failed, json!({}));
    complete_ref(&mut exec, &mut env, "b2", json!({}));
    assert_eq!(by_ref(&exec, "j1").status, TaskStatus::CompletedWithErrors);
    assert_eq!(by_ref(&exec, "after1").status, TaskStatus::Scheduled);
}

#[test]
fn an_empty_list_completes_the_join_at_once() {
    let mut env = TestEnv::new();
    let (exec, _) = start(fork_def(), json!({"tasks": []}), &mut env);
    assert_eq!(refs_of(&exec), vec!["f1", "j1", "after1"]);
    assert_eq!(by_ref(&exec, "j1").status, TaskStatus::Completed);
}

#[test]
fn fork_task_name_makes_one_branch_per_input() {
    let def = wf(json!({"name": "fd", "tasks": [
        {"name": "fork", "taskReferenceName": "f1", "type": "FORK_JOIN_DYNAMIC",
         "inputParameters": {"forkTaskName": "resize", "forkTaskInputs": "${workflow.input.items}"}},
        {"name": "join", "taskReferenceName": "j1", "type": "JOIN"}
    ]}));
    let mut env = TestEnv::new();
    let (mut exec, _) = start(def, json!({"items": [{"n": 1}, {"n": 2}]}), &mut env);
    assert_eq!(refs_of(&exec), vec!["f1", "_resize_0", "_resize_1", "j1"]);
    assert_eq!(by_ref(&exec, "_resize_1").task_def_name, "resize");
    assert_eq!(
        by_ref(&exec, "_resize_1").input,
        obj(json!({"n": 2, "__index": 1}))
    );
    complete_ref(&mut exec, &mut env, "_resize_0", json!({"o": 0}));
    complete_ref(&mut exec, &mut env, "_resize_1", json!({"o": 1}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
    assert_eq!(
        exec.workflow.output,
        obj(json!({"_resize_0": {"o": 0}, "_resize_1": {"o": 1}}))
    );
}

#[test]
fn invalid_input_fails_the_fork_with_a_reason() {
    let cases: Vec<(Value, &str)> = vec![
        (json!({}), "is missing"),
        (json!({"tasks": {"a": 1}}), "is not a list"),
        (
            json!({"tasks": [{"taskReferenceName": "b1"}]}),
            "has no name",
        ),
        (
            json!({"tasks": [{"name": "x"}]}),
            "has no taskReferenceName",
        ),
        (
            json!({"tasks": [{"name": "x", "taskReferenceName": "b"},
                             {"name": "y", "taskReferenceName": "b"}]}),
            "used more than once",
        ),
        (
            json!({"tasks": [{"name": "x", "taskReferenceName": "after1"}]}),
            "already used",
        ),
        (
            json!({"tasks": [{"name": "x", "taskReferenceName": "b", "type": "FORK_JOIN"}]}),
            "cannot run as a dynamic branch",
        ),
        (
            json!({"tasks": [{"name": "x", "taskReferenceName": "b"}], "inputs": [1]}),
            "is not a map",
        ),
    ];
    for (input, want) in cases {
        let mut env = TestEnv::new();
        let (exec, d) = start(fork_def(), input.clone(), &mut env);
        let f1 = by_ref(&exec, "f1");
        assert_eq!(f1.status, TaskStatus::Failed, "{input}");
        let reason = f1.reason_for_incompletion.as_deref().unwrap();
        assert!(reason.contains(want), "{input}: {reason}");
        assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
        assert_eq!(closed(&d), Some(WorkflowStatus::Failed));
        assert_eq!(refs_of(&exec), vec!["f1"]);
    }
}

#[test]
fn a_manual_retry_reruns_a_failed_dynamic_branch() {
    let mut env = TestEnv::new();
    env.def(json!({"name": "img", "retryCount": 0}));
    let input = json!({"tasks": [{"name": "img", "taskReferenceName": "b1"},
                                  {"name": "img", "taskReferenceName": "b2"}]});
    let (mut exec, _) = start(fork_def(), input, &mut env);
    complete_ref(&mut exec, &mut env, "b2", json!({"v": 2}));
    run_ref(&mut exec, &mut env, "b1", TaskStatus::Failed, json!({}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    baton_core::decider::decide(
        &mut exec,
        baton_core::decider::Event::Retry {
            resume_subworkflow_tasks: false,
        },
        &mut env,
    )
    .expect("retry");
    assert_eq!(exec.workflow.status, WorkflowStatus::Running);
    assert_eq!(by_ref(&exec, "b1").status, TaskStatus::Scheduled);
    assert_eq!(by_ref(&exec, "j1").status, TaskStatus::InProgress);
    complete_ref(&mut exec, &mut env, "b1", json!({"v": 1}));
    assert_eq!(by_ref(&exec, "j1").status, TaskStatus::Completed);
}

#[test]
fn a_branch_inline_task_definition_sets_its_poll_and_task_timeouts_and_callbacks() {
    use baton_core::decider::TimerKind;
    let mut env = TestEnv::new();
    // The registered definition would allow everything: the inline one must win.
    env.def(json!({"name": "img", "retryCount": 3, "retryDelaySeconds": 0}));
    let inline = |extra: Value| {
        let mut td = json!({"name": "img", "retryCount": 0, "responseTimeoutSeconds": 60});
        for (k, v) in extra.as_object().unwrap() {
            td[k] = v.clone();
        }
        td
    };
    let input = json!({"tasks": [
        {"name": "img", "taskReferenceName": "b1",
         "taskDefinition": inline(json!({"pollTimeoutSeconds": 5}))},
        {"name": "img", "taskReferenceName": "b2",
         "taskDefinition": inline(json!({"timeoutSeconds": 10, "timeoutPolicy": "RETRY"}))}
    ]});
    let (mut exec, d) = start(fork_def(), input, &mut env);
    let b1 = by_ref(&exec, "b1").clone();
    let poll = TimerKind::PollTimeout {
        task_id: b1.task_id.clone(),
    };
    assert!(
        armed(&d)
            .iter()
            .any(|t| t.kind == poll && t.due_ms == env.now + 5000),
        "{:?}",
        armed(&d)
    );
    // A worker takes b1, reports progress with a callback: b1 waits again, with the
    // inline poll timeout counted from when it is visible again.
    dispatch(&mut exec, &mut env, &b1.task_id, "t1", 60_000);
    let mut r = result(&b1.task_id, Some("t1"), TaskStatus::InProgress, json!({}));
    r.callback_after_seconds = 2;
    let d = report(&mut exec, &mut env, r).unwrap();
    assert!(
        armed(&d)
            .iter()
            .any(|t| t.kind == poll && t.due_ms == env.now + 7000),
        "{:?}",
        armed(&d)
    );
    // b2's attempt times out after its inline timeoutSeconds; RETRY with no retries left
    // (inline retryCount 0) times the workflow out.
    let b2 = by_ref(&exec, "b2").task_id.clone();
    let d = dispatch(&mut exec, &mut env, &b2, "t2", 60_000);
    let timeout = TimerKind::TaskTimeout {
        task_id: b2.clone(),
    };
    assert!(
        armed(&d)
            .iter()
            .any(|t| t.kind == timeout && t.due_ms == env.now + 10_000),
        "{:?}",
        armed(&d)
    );
    env.advance(10_000);
    fire(&mut exec, &mut env, timeout);
    assert_eq!(by_ref(&exec, "b2").status, TaskStatus::TimedOut);
    assert_eq!(exec.workflow.status, WorkflowStatus::TimedOut);
}

#[test]
fn a_branch_left_waiting_past_its_inline_poll_timeout_times_out() {
    use baton_core::decider::TimerKind;
    let mut env = TestEnv::new();
    env.def(json!({"name": "img", "retryCount": 3, "retryDelaySeconds": 0}));
    let input = json!({"tasks": [
        {"name": "img", "taskReferenceName": "b1",
         "taskDefinition": {"name": "img", "retryCount": 0, "pollTimeoutSeconds": 5}}
    ]});
    let (mut exec, _) = start(fork_def(), input, &mut env);
    let b1 = by_ref(&exec, "b1").task_id.clone();
    env.advance(5000);
    fire(&mut exec, &mut env, TimerKind::PollTimeout { task_id: b1 });
    assert_eq!(by_ref(&exec, "b1").status, TaskStatus::TimedOut);
    assert_eq!(
        by_ref(&exec, "b1").retry_count,
        0,
        "no retry: the inline retryCount is 0"
    );
    assert_eq!(exec.workflow.status, WorkflowStatus::TimedOut);
}

#[test]
fn a_sub_workflow_branch_runs_its_child_and_the_join_takes_its_output() {
    let mut env = TestEnv::new();
    let input = json!({
        "tasks": [{"name": "task_1", "taskReferenceName": "b1"},
                  {"name": "sub_workflow_4", "taskReferenceName": "wf_dyn", "type": "SUB_WORKFLOW",
                   "subWorkflowParam": {"name": "child_flow"}}],
        "inputs": {"b1": {}, "wf_dyn": {"k": 1}}
    });
    let (mut exec, d) = start(fork_def(), input, &mut env);
    assert_eq!(refs_of(&exec), vec!["f1", "b1", "wf_dyn", "j1"]);
    let sub = by_ref(&exec, "wf_dyn").clone();
    assert_eq!(sub.status, TaskStatus::InProgress);
    let (task_id, req) = d
        .effects
        .iter()
        .find_map(|e| match e {
            baton_core::decider::Effect::StartWorkflow { task_id, request } => {
                Some((task_id.clone(), request.clone()))
            }
            _ => None,
        })
        .expect("the branch asks for its child");
    assert_eq!(task_id.as_deref(), Some(sub.task_id.as_str()));
    assert_eq!((req.name.as_str(), req.version), ("child_flow", None));
    assert_eq!(req.input, obj(json!({"k": 1})));
    complete_ref(&mut exec, &mut env, "b1", json!({"v": 1}));
    assert_eq!(by_ref(&exec, "j1").status, TaskStatus::InProgress);
    baton_core::decider::decide(
        &mut exec,
        baton_core::decider::Event::ChildEnded {
            task_id: sub.task_id.clone(),
            child_id: sub.task_id.clone(),
            status: WorkflowStatus::Completed,
            output: obj(json!({"r": 5})),
            reason: None,
        },
        &mut env,
    )
    .unwrap();
    assert_eq!(by_ref(&exec, "wf_dyn").status, TaskStatus::Completed);
    assert_eq!(
        by_ref(&exec, "j1").output,
        obj(json!({"b1": {"v": 1}, "wf_dyn": {"subWorkflowId": sub.task_id, "r": 5}}))
    );
}

#[test]
fn fork_task_inputs_win_over_the_task_list_and_scalars_become_input() {
    // As in Conductor: a `forkTaskInputs` list is read first, even with a
    // `dynamicForkTasksParam`; an entry that is not an object is handed over as `input`.
    let def = wf(json!({"name": "fd", "tasks": [
        {"name": "fork", "taskReferenceName": "f1", "type": "FORK_JOIN_DYNAMIC",
         "dynamicForkTasksParam": "forkedTasks",
         "dynamicForkTasksInputParamName": "forkedTasksInputs",
         "inputParameters": {"forkTaskName": "w", "forkTaskInputs": [1, "two"]}},
        {"name": "join", "taskReferenceName": "j1", "type": "JOIN"}
    ]}));
    let mut env = TestEnv::new();
    let (mut exec, _) = start(def, json!({}), &mut env);
    assert_eq!(refs_of(&exec), vec!["f1", "_w_0", "_w_1", "j1"]);
    assert_eq!(
        by_ref(&exec, "_w_0").input,
        obj(json!({"input": 1, "__index": 0}))
    );
    assert_eq!(
        by_ref(&exec, "_w_1").input,
        obj(json!({"input": "two", "__index": 1}))
    );
    complete_ref(&mut exec, &mut env, "_w_0", json!({"o": 0}));
    complete_ref(&mut exec, &mut env, "_w_1", json!({"o": 1}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
}

#[test]
fn fork_task_workflow_makes_sub_workflow_branches_named_after_the_fork() {
    // Without forkTaskName a branch is named after the fork's reference.
    let def = wf(json!({"name": "fd", "tasks": [
        {"name": "fork", "taskReferenceName": "f1", "type": "FORK_JOIN_DYNAMIC",
         "inputParameters": {"forkTaskWorkflow": "child", "forkTaskWorkflowVersion": "2",
                             "forkTaskInputs": [{"value": "a"}]}},
        {"name": "join", "taskReferenceName": "j1", "type": "JOIN"}
    ]}));
    let mut env = TestEnv::new();
    let (exec, _) = start(def, json!({}), &mut env);
    assert_eq!(refs_of(&exec), vec!["f1", "_f1_0", "j1"]);
    let b = by_ref(&exec, "_f1_0");
    assert_eq!(
        (b.task_type.as_str(), b.status),
        ("SUB_WORKFLOW", TaskStatus::InProgress)
    );
    assert_eq!(
        by_ref(&exec, "f1").input["forkedTaskDefs"][0]["subWorkflowParam"],
        json!({"name": "child", "version": 2})
    );
}

#[test]
fn a_second_dynamic_fork_names_its_branches_after_itself_too() {
    // As in Conductor: once the run has a dynamic fork, the next one's `forkTaskInputs`
    // branches are `_<fork reference>_<name>_<index>`.
    let fork = |r: &str| {
        json!({"name": "fork", "taskReferenceName": r, "type": "FORK_JOIN_DYNAMIC",
               "inputParameters": {"forkTaskName": "w", "forkTaskInputs": [{}]}})
    };
    let def = wf(json!({"name": "fd", "tasks": [
        fork("f1"), {"name": "join", "taskReferenceName": "j1", "type": "JOIN"},
        fork("f2"), {"name": "join", "taskReferenceName": "j2", "type": "JOIN"}
    ]}));
    let mut env = TestEnv::new();
    let (mut exec, _) = start(def, json!({}), &mut env);
    complete_ref(&mut exec, &mut env, "_w_0", json!({}));
    assert_eq!(
        refs_of(&exec),
        vec!["f1", "_w_0", "j1", "f2", "_f2_w_0", "j2"]
    );
    complete_ref(&mut exec, &mut env, "_f2_w_0", json!({}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
}

#[test]
fn every_leaf_task_type_runs_as_a_dynamic_branch() {
    // As in Conductor, a branch is scheduled by the handler of its type: system tasks run
    // in the engine, worker tasks are queued; the JOIN waits for all of them.
    let mut env = TestEnv::new();
    let input = json!({"tasks": [
        {"name": "w", "taskReferenceName": "worker", "type": "SIMPLE"},
        {"name": "i", "taskReferenceName": "inline", "type": "INLINE",
         "inputParameters": {"evaluatorType": "javascript", "expression": "1 + 1"}},
        {"name": "l", "taskReferenceName": "lambda", "type": "LAMBDA",
         "inputParameters": {"scriptExpression": "return 2;"}},
        {"name": "q", "taskReferenceName": "jq", "type": "JSON_JQ_TRANSFORM",
         "inputParameters": {"queryExpression": ".a", "a": 3}},
        {"name": "h", "taskReferenceName": "http", "type": "HTTP",
         "inputParameters": {"http_request": {"uri": "http://localhost/x"}}},
        {"name": "e", "taskReferenceName": "event", "type": "EVENT", "sink": "conductor"},
        {"name": "wa", "taskReferenceName": "wait", "type": "WAIT",
         "inputParameters": {"duration": "5s"}},
        {"name": "hu", "taskReferenceName": "human", "type": "HUMAN"},
        {"name": "s", "taskReferenceName": "setvar", "type": "SET_VARIABLE",
         "inputParameters": {"seen": true}},
        {"name": "n", "taskReferenceName": "noop", "type": "NOOP"}
    ]});
    let (mut exec, d) = start(fork_def(), input, &mut env);
    let refs = [
        "worker", "inline", "lambda", "jq", "http", "event", "wait", "human", "setvar", "noop",
    ];
    let mut want: Vec<&str> = vec!["f1"];
    want.extend(refs);
    want.push("j1");
    assert_eq!(refs_of(&exec), want);
    assert_eq!(by_ref(&exec, "j1").input.get("joinOn"), Some(&json!(refs)));
    let types: Vec<&str> = refs
        .iter()
        .map(|r| by_ref(&exec, r).task_type.as_str())
        .collect();
    assert_eq!(
        types,
        [
            "SIMPLE",
            "INLINE",
            "LAMBDA",
            "JSON_JQ_TRANSFORM",
            "HTTP",
            "EVENT",
            "WAIT",
            "HUMAN",
            "SET_VARIABLE",
            "NOOP"
        ]
    );
    assert_eq!(enqueued(&d), vec![by_ref(&exec, "worker").task_id.clone()]);
    let asked: Vec<String> = jobs(&d).into_iter().map(|(id, _)| id).collect();
    let job_refs: Vec<&str> = asked
        .iter()
        .map(|id| task(&exec, id).reference_task_name.as_str())
        .collect();
    assert_eq!(job_refs, ["inline", "lambda", "jq", "http", "event"]);
    assert_eq!(by_ref(&exec, "setvar").status, TaskStatus::Completed);
    assert_eq!(exec.workflow.variables, obj(json!({"seen": true})));
    assert_eq!(by_ref(&exec, "noop").status, TaskStatus::Completed);
    assert_eq!(by_ref(&exec, "wait").status, TaskStatus::InProgress);
    assert_eq!(by_ref(&exec, "human").status, TaskStatus::InProgress);

    for (i, id) in asked.iter().enumerate() {
        job_done(
            &mut exec,
            &mut env,
            id,
            TaskStatus::Completed,
            json!({"result": i}),
            None,
        );
    }
    complete_ref(&mut exec, &mut env, "worker", json!({"w": 1}));
    let human = by_ref(&exec, "human").task_id.clone();
    report(
        &mut exec,
        &mut env,
        result(&human, None, TaskStatus::Completed, json!({"ok": true})),
    )
    .unwrap();
    assert_eq!(by_ref(&exec, "j1").status, TaskStatus::InProgress);
    env.advance(5_000);
    let wait = by_ref(&exec, "wait").task_id.clone();
    fire(
        &mut exec,
        &mut env,
        baton_core::decider::TimerKind::TaskReady { task_id: wait },
    );
    assert_eq!(by_ref(&exec, "wait").status, TaskStatus::Completed);
    assert_eq!(by_ref(&exec, "j1").status, TaskStatus::Completed);
    assert_eq!(
        by_ref(&exec, "j1").output.get("human"),
        Some(&json!({"ok": true}))
    );
    complete_ref(&mut exec, &mut env, "after1", json!({}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
}

#[test]
fn a_system_fork_task_type_makes_branches_of_that_type() {
    let def = wf(json!({"name": "fd", "tasks": [
        {"name": "fork", "taskReferenceName": "f1", "type": "FORK_JOIN_DYNAMIC",
         "inputParameters": {"forkTaskType": "INLINE", "forkTaskInputs": "${workflow.input.items}"}},
        {"name": "join", "taskReferenceName": "j1", "type": "JOIN"}
    ]}));
    let mut env = TestEnv::new();
    let items = json!({"items": [
        {"evaluatorType": "javascript", "expression": "$.n * 2", "n": 1},
        {"evaluatorType": "javascript", "expression": "$.n * 2", "n": 2}
    ]});
    let (mut exec, d) = start(def, items, &mut env);
    assert_eq!(refs_of(&exec), vec!["f1", "_INLINE_0", "_INLINE_1", "j1"]);
    let asked = jobs(&d);
    assert_eq!(asked.len(), 2);
    for (id, _) in &asked {
        assert_eq!(task(&exec, id).task_type, "INLINE");
    }
    for (n, (id, _)) in asked.iter().enumerate() {
        job_done(
            &mut exec,
            &mut env,
            id,
            TaskStatus::Completed,
            json!({"result": (n + 1) * 2}),
            None,
        );
    }
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
    assert_eq!(
        exec.workflow.output,
        obj(json!({"_INLINE_0": {"result": 2}, "_INLINE_1": {"result": 4}}))
    );
}

#[test]
fn a_failed_system_branch_fails_the_workflow_and_a_terminate_branch_ends_it() {
    let mut env = TestEnv::new();
    let input = json!({"tasks": [
        {"name": "w", "taskReferenceName": "b1"},
        {"name": "q", "taskReferenceName": "jq", "type": "JSON_JQ_TRANSFORM",
         "inputParameters": {"queryExpression": ".a +"}}
    ]});
    let (mut exec, d) = start(fork_def(), input, &mut env);
    let (id, _) = jobs(&d).pop().unwrap();
    job_done(
        &mut exec,
        &mut env,
        &id,
        TaskStatus::Failed,
        json!({}),
        Some("bad query"),
    );
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    assert!(
        exec.workflow
            .reason_for_incompletion
            .as_deref()
            .unwrap()
            .contains("bad query")
    );

    let mut env = TestEnv::new();
    let input = json!({"tasks": [
        {"name": "w", "taskReferenceName": "b1"},
        {"name": "t", "taskReferenceName": "stop", "type": "TERMINATE",
         "inputParameters": {"terminationStatus": "COMPLETED", "workflowOutput": {"why": "done"}}}
    ]});
    let (exec, _) = start(fork_def(), input, &mut env);
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
    assert_eq!(exec.workflow.output, obj(json!({"why": "done"})));
    assert_eq!(by_ref(&exec, "b1").status, TaskStatus::Canceled);
}

#[test]
fn operators_that_nest_or_join_tasks_cannot_be_dynamic_branches() {
    let branches = [
        json!({"name": "x", "taskReferenceName": "b", "type": "FORK_JOIN",
               "forkTasks": [[{"name": "y", "taskReferenceName": "y"}]]}),
        json!({"name": "x", "taskReferenceName": "b", "type": "FORK_JOIN_DYNAMIC",
               "dynamicForkTasksParam": "t"}),
        json!({"name": "x", "taskReferenceName": "b", "type": "JOIN"}),
        json!({"name": "x", "taskReferenceName": "b", "type": "EXCLUSIVE_JOIN"}),
        json!({"name": "x", "taskReferenceName": "b", "type": "DO_WHILE",
               "loopCondition": "false", "loopOver": [{"name": "y", "taskReferenceName": "y"}]}),
        json!({"name": "x", "taskReferenceName": "b", "type": "SWITCH",
               "evaluatorType": "value-param", "expression": "c",
               "decisionCases": {"a": [{"name": "y", "taskReferenceName": "y"}]}}),
        json!({"name": "x", "taskReferenceName": "b", "type": "DECISION",
               "caseValueParam": "c",
               "decisionCases": {"a": [{"name": "y", "taskReferenceName": "y"}]}}),
    ];
    for b in branches {
        let mut env = TestEnv::new();
        let ty = b["type"].as_str().unwrap().to_string();
        let (exec, d) = start(fork_def(), json!({"tasks": [b]}), &mut env);
        let f1 = by_ref(&exec, "f1");
        assert_eq!(f1.status, TaskStatus::Failed, "{ty}");
        let reason = f1.reason_for_incompletion.as_deref().unwrap();
        assert!(
            reason.contains(&format!(
                "has type {ty}, which cannot run as a dynamic branch"
            )),
            "{ty}: {reason}"
        );
        assert_eq!(closed(&d), Some(WorkflowStatus::Failed), "{ty}");
        assert_eq!(refs_of(&exec), vec!["f1"], "{ty}");
    }
}
