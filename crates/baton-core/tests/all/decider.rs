//! Unit tests of the decider, one rule at a time, through the public API.

use std::sync::Arc;

use crate::common::*;
use baton_core::decider::{
    self, DecideError, Effect, Event, QueueKey, Reply, StartParams, TimerKind,
};
use baton_core::state::{TaskLog, TaskStatus, WorkflowStatus};
use serde_json::{Value, json};

fn one_task() -> Arc<baton_core::WorkflowDef> {
    wf(json!({
        "name": "one",
        "tasks": [{"name": "a", "taskReferenceName": "a1", "inputParameters": {"x": "${workflow.input.x}"}}]
    }))
}

fn two_tasks() -> Arc<baton_core::WorkflowDef> {
    wf(json!({
        "name": "two",
        "tasks": [
            {"name": "a", "taskReferenceName": "a1", "inputParameters": {"x": "${workflow.input.x}"}},
            {"name": "b", "taskReferenceName": "b1", "inputParameters": {"y": "${a1.output.y}", "id": "${CPEWF_TASK_ID}"}}
        ]
    }))
}

/// Runs the current task of `exec` to COMPLETED with `output`; returns the decision.
fn complete_current(
    exec: &mut baton_core::Execution,
    env: &mut TestEnv,
    token: &str,
    output: Value,
) -> decider::Decision {
    let id = last(exec).task_id.clone();
    dispatch(exec, env, &id, token, 60_000);
    report(
        exec,
        env,
        result(&id, Some(token), TaskStatus::Completed, output),
    )
    .unwrap()
}

// ---------------------------------------------------------------- start and scheduling

#[test]
fn start_input_template_fills_null_keys_too() {
    let mut env = TestEnv::new();
    let def = wf(json!({
        "name": "w", "inputTemplate": {"x": "default", "y": [1], "z": 9},
        "tasks": [{"name": "a", "taskReferenceName": "a1"}]
    }));
    let (exec, _) = start(def, json!({"x": null, "z": 0, "extra": null}), &mut env);
    assert_eq!(
        exec.workflow.input,
        obj(json!({"x": "default", "y": [1], "z": 0, "extra": null}))
    );
}

#[test]
fn start_merges_input_template_and_schedules_the_first_task() {
    let mut env = TestEnv::new();
    let def = wf(json!({
        "name": "w", "version": 3,
        "inputTemplate": {"x": "default", "z": 9},
        "variables": {"v": 1},
        "tasks": [{"name": "a", "taskReferenceName": "a1", "inputParameters": {"x": "${workflow.input.x}", "z": "${workflow.input.z}"}}]
    }));
    let (exec, d) = decider::start(
        def,
        StartParams {
            workflow_id: "wf-9".into(),
            input: obj(json!({"x": "given"})),
            correlation_id: Some("c".into()),
            priority: 7,
            ..Default::default()
        },
        &mut env,
    )
    .unwrap();
    let w = &exec.workflow;
    assert_eq!(w.status, WorkflowStatus::Running);
    assert_eq!(w.input, obj(json!({"x": "given", "z": 9})));
    assert_eq!(w.variables, obj(json!({"v": 1})));
    assert_eq!((w.workflow_name.as_str(), w.workflow_version), ("w", 3));
    assert_eq!(
        (w.start_time, w.create_time, w.update_time),
        (env.now, env.now, env.now)
    );
    assert_eq!(w.next_seq, 2);
    assert_eq!(exec.tasks.len(), 1);
    let t = &exec.tasks[0];
    assert_eq!(t.task_id, "task-1");
    assert_eq!(t.seq, 1);
    assert_eq!(t.status, TaskStatus::Scheduled);
    assert_eq!(t.input, obj(json!({"x": "given", "z": 9})));
    assert_eq!(t.priority, 7);
    assert_eq!(t.correlation_id.as_deref(), Some("c"));
    assert_eq!(t.response_timeout_seconds, 3600);
    assert_eq!(t.first_scheduled_time, env.now);
    assert!(d.workflow_changed);
    assert_eq!(d.changed_tasks, vec!["task-1".to_string()]);
    assert_eq!(
        d.effects,
        vec![Effect::Enqueue {
            task_id: "task-1".into(),
            queue: QueueKey {
                task_type: "a".into(),
                domain: None
            },
            priority: 7
        }]
    );
}

#[test]
fn start_arms_the_workflow_timeout() {
    let mut env = TestEnv::new();
    let def = wf(
        json!({"name": "w", "timeoutSeconds": 30, "timeoutPolicy": "TIME_OUT_WF",
        "tasks": [{"name": "a", "taskReferenceName": "a1"}]}),
    );
    let (_, d) = start(def, json!({}), &mut env);
    let timers = armed(&d);
    assert_eq!(timers.len(), 1);
    assert_eq!(timers[0].due_ms, env.now + 30_000);
    assert_eq!(
        timers[0].kind,
        TimerKind::WorkflowTimeout { run_start: env.now }
    );
    assert_eq!(timers[0].workflow_id, "wf-1");
}

#[test]
fn start_refuses_a_definition_without_tasks() {
    let mut env = TestEnv::new();
    let def = Arc::new(baton_core::WorkflowDef {
        tasks: vec![],
        ..(*one_task()).clone()
    });
    let err = decider::start(def, StartParams::default(), &mut env).unwrap_err();
    assert!(matches!(err, DecideError::Invalid(_)));
}

#[test]
fn inputs_come_from_earlier_tasks_and_the_task_id() {
    let mut env = TestEnv::new();
    let (mut exec, _) = start(two_tasks(), json!({"x": 1}), &mut env);
    assert_eq!(exec.tasks[0].input, obj(json!({"x": 1})));
    let d = complete_current(&mut exec, &mut env, "k1", json!({"y": [1, 2]}));
    let b = last(&exec);
    assert_eq!(b.reference_task_name, "b1");
    assert_eq!(b.seq, 2);
    assert_eq!(b.input, obj(json!({"y": [1, 2], "id": b.task_id})));
    assert_eq!(enqueued(&d), vec![b.task_id.clone()]);
    assert_eq!(
        d.changed_tasks,
        vec!["task-1".to_string(), "task-2".to_string()]
    );
}

#[test]
fn task_def_input_template_fills_missing_and_null_keys() {
    let mut env = TestEnv::new();
    env.def(
        json!({"name": "a", "inputTemplate": {"p": "tp", "q": "tq", "r": "${workflow.input.r}"}}),
    );
    let def = wf(
        json!({"name": "w", "tasks": [{"name": "a", "taskReferenceName": "a1",
        "inputParameters": {"p": "given", "q": "${workflow.input.missing}"}}]}),
    );
    let (exec, _) = start(def, json!({"r": 5}), &mut env);
    assert_eq!(
        exec.tasks[0].input,
        obj(json!({"p": "given", "q": "tq", "r": 5}))
    );
}

#[test]
fn inline_task_definition_wins_over_the_registered_one() {
    let mut env = TestEnv::new();
    env.def(json!({"name": "a", "responseTimeoutSeconds": 10}));
    let def = wf(
        json!({"name": "w", "tasks": [{"name": "a", "taskReferenceName": "a1",
        "taskDefinition": {"name": "a", "responseTimeoutSeconds": 20}}]}),
    );
    let (exec, _) = start(def, json!({}), &mut env);
    assert_eq!(exec.tasks[0].response_timeout_seconds, 20);
    let (exec, _) = start(one_task(), json!({}), &mut env);
    assert_eq!(exec.tasks[0].response_timeout_seconds, 10);
}

#[test]
fn domains_come_from_task_to_domain() {
    let cases = [
        (vec![("a", "d1")], Some("d1")),
        (vec![("*", "star")], Some("star")),
        (vec![("a", "NO_DOMAIN"), ("*", "star")], None),
        (vec![("a", " first , second")], Some("first")),
        (vec![("other", "x")], None),
    ];
    for (map, want) in cases {
        let mut env = TestEnv::new();
        let (exec, d) = decider::start(
            one_task(),
            StartParams {
                workflow_id: "w".into(),
                task_to_domain: map
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                ..Default::default()
            },
            &mut env,
        )
        .unwrap();
        assert_eq!(exec.tasks[0].domain.as_deref(), want, "{map:?}");
        assert!(
            matches!(&d.effects[0], Effect::Enqueue { queue, .. } if queue.domain.as_deref() == want)
        );
    }
}

#[test]
fn start_delay_hides_the_task_until_its_timer() {
    let mut env = TestEnv::new();
    let def = wf(
        json!({"name": "w", "tasks": [{"name": "a", "taskReferenceName": "a1", "startDelay": 5}]}),
    );
    let t0 = env.now;
    let (mut exec, d) = start(def, json!({}), &mut env);
    assert!(enqueued(&d).is_empty());
    let id = exec.tasks[0].task_id.clone();
    assert_eq!(exec.tasks[0].ready_time, t0 + 5000);
    assert_eq!(
        armed(&d)[0].kind,
        TimerKind::TaskReady {
            task_id: id.clone()
        }
    );
    assert_eq!(armed(&d)[0].due_ms, t0 + 5000);
    // Too early: nothing.
    env.advance(1000);
    let before = exec.clone();
    let d = fire(
        &mut exec,
        &mut env,
        TimerKind::TaskReady {
            task_id: id.clone(),
        },
    );
    assert!(d.effects.is_empty() && exec == before);
    env.advance(4000);
    let d = fire(
        &mut exec,
        &mut env,
        TimerKind::TaskReady {
            task_id: id.clone(),
        },
    );
    assert_eq!(enqueued(&d), vec![id.clone()]);
    // A repeated timer does not queue it twice.
    let d = fire(
        &mut exec,
        &mut env,
        TimerKind::TaskReady {
            task_id: id.clone(),
        },
    );
    assert!(d.effects.is_empty());
    // Unknown tasks: nothing either.
    let d = fire(
        &mut exec,
        &mut env,
        TimerKind::TaskReady {
            task_id: "nope".into(),
        },
    );
    assert_eq!(d, decider::Decision::default());
}

#[test]
fn poll_timeout_times_a_waiting_task_out_and_retries_it() {
    let mut env = TestEnv::new();
    env.def(
        json!({"name": "a", "pollTimeoutSeconds": 10, "retryCount": 1, "retryDelaySeconds": 0}),
    );
    let (mut exec, d) = start(one_task(), json!({}), &mut env);
    let id = exec.tasks[0].task_id.clone();
    let poll = armed(&d);
    assert_eq!(
        poll[0].kind,
        TimerKind::PollTimeout {
            task_id: id.clone()
        }
    );
    assert_eq!(poll[0].due_ms, env.now + 10_000);
    env.advance(10_000);
    let d = fire(
        &mut exec,
        &mut env,
        TimerKind::PollTimeout {
            task_id: id.clone(),
        },
    );
    assert_eq!(task(&exec, &id).status, TaskStatus::TimedOut);
    assert!(dequeued(&d).contains(&id));
    let retry = last(&exec).clone();
    assert_eq!(retry.retried_task_id.as_deref(), Some(id.as_str()));
    assert_eq!(enqueued(&d), vec![retry.task_id.clone()]);
    // Dispatching the retry disarms its poll timeout.
    let d = dispatch(&mut exec, &mut env, &retry.task_id, "k", 1000);
    assert!(cancelled(&d).iter().any(|t| t.kind
        == TimerKind::PollTimeout {
            task_id: retry.task_id.clone()
        }));
    let before = exec.clone();
    env.advance(20_000);
    let d = fire(
        &mut exec,
        &mut env,
        TimerKind::PollTimeout {
            task_id: retry.task_id.clone(),
        },
    );
    assert!(
        d.effects.is_empty() && exec == before,
        "an IN_PROGRESS task has no poll timeout"
    );
}

#[test]
fn malformed_expression_fails_the_task_without_retry() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "w", "tasks": [{"name": "a", "taskReferenceName": "a1"}]}));
    // Validation refuses a malformed expression, so build the definition by hand.
    let mut raw = (*def).clone();
    raw.tasks[0].input_parameters = obj(json!({"x": "${workflow.input.x"}));
    let (exec, d) = start(Arc::new(raw.clone()), json!({}), &mut env);
    assert_eq!(exec.tasks[0].status, TaskStatus::FailedWithTerminalError);
    assert!(
        exec.tasks[0]
            .reason_for_incompletion
            .as_ref()
            .unwrap()
            .contains("unbalanced")
    );
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    assert_eq!(
        exec.workflow.failed_reference_task_name.as_deref(),
        Some("a1")
    );
    assert_eq!(closed(&d), Some(WorkflowStatus::Failed));
    assert_eq!(exec.tasks.len(), 1);
    // Optional: the workflow goes on.
    raw.tasks[0].optional = true;
    raw.tasks
        .push(serde_json::from_value(json!({"name": "b", "taskReferenceName": "b1"})).unwrap());
    let (exec, _) = start(Arc::new(raw), json!({}), &mut env);
    assert_eq!(exec.tasks[0].status, TaskStatus::CompletedWithErrors);
    assert_eq!(exec.tasks[1].status, TaskStatus::Scheduled);
    assert_eq!(exec.workflow.status, WorkflowStatus::Running);
}

#[test]
fn system_task_types_are_not_supported_yet() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "w", "tasks": [
        {"name": "a", "taskReferenceName": "a1"},
        {"name": "s", "taskReferenceName": "s1", "type": "KAFKA_PUBLISH"}
    ]}));
    let (mut exec, _) = start(def, json!({}), &mut env);
    let d = complete_current(&mut exec, &mut env, "k", json!({}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    assert_eq!(
        exec.workflow.reason_for_incompletion.as_deref(),
        Some("task type KAFKA_PUBLISH is not supported yet")
    );
    assert_eq!(closed(&d), Some(WorkflowStatus::Failed));
    assert_eq!(exec.tasks.len(), 1);
    // A user-defined type is a worker task.
    let def = wf(
        json!({"name": "w", "tasks": [{"name": "a", "taskReferenceName": "a1", "type": "MY_TYPE"}]}),
    );
    let (exec, d) = start(def, json!({}), &mut env);
    assert_eq!(enqueued(&d).len(), 1);
    assert_eq!(exec.tasks[0].task_type, "MY_TYPE");
    assert!(decider::is_system_task_type("HTTP") && !decider::is_system_task_type("SIMPLE"));
}

// ---------------------------------------------------------------- dispatch and results

#[test]
fn dispatch_leases_the_task_and_arms_its_timers() {
    let mut env = TestEnv::new();
    env.def(json!({"name": "a", "timeoutSeconds": 100, "responseTimeoutSeconds": 10}));
    let (mut exec, _) = start(one_task(), json!({}), &mut env);
    let id = exec.tasks[0].task_id.clone();
    let d = dispatch(&mut exec, &mut env, &id, "tok1", 10_000);
    let t = task(&exec, &id);
    assert_eq!(t.status, TaskStatus::InProgress);
    assert_eq!(t.poll_count, 1);
    assert_eq!(t.worker_id.as_deref(), Some("w1"));
    assert_eq!(t.start_time, Some(env.now));
    assert_eq!(t.token.as_deref(), Some("tok1"));
    assert_eq!(t.past_tokens, vec!["tok1".to_string()]);
    assert_eq!(t.lease_deadline, Some(env.now + 10_000));
    let timers = armed(&d);
    assert!(timers.iter().any(|x| x.kind
        == TimerKind::LeaseExpired {
            task_id: id.clone(),
            token: "tok1".into()
        }
        && x.due_ms == env.now + 10_000));
    assert!(timers.iter().any(|x| x.kind
        == TimerKind::TaskTimeout {
            task_id: id.clone()
        }
        && x.due_ms == env.now + 100_000));
    assert!(timers.iter().any(|x| !x.is_durable()));
    // Dispatching again is refused and changes nothing.
    let before = exec.clone();
    let err = decider::decide(
        &mut exec,
        Event::Dispatched {
            task_id: id.clone(),
            token: "tok2".into(),
            worker_id: "w2".into(),
            lease_deadline: 0,
        },
        &mut env,
    )
    .unwrap_err();
    assert!(matches!(err, DecideError::StaleToken { .. }));
    assert_eq!(exec, before);
    let err = decider::decide(
        &mut exec,
        Event::Dispatched {
            task_id: "zz".into(),
            token: "t".into(),
            worker_id: "w".into(),
            lease_deadline: 0,
        },
        &mut env,
    )
    .unwrap_err();
    assert!(matches!(err, DecideError::UnknownTask { .. }));
}

#[test]
fn completing_the_last_task_completes_the_workflow() {
    let mut env = TestEnv::new();
    env.def(json!({"name": "a", "timeoutSeconds": 100, "responseTimeoutSeconds": 10}));
    let (mut exec, _) = start(one_task(), json!({"x": 1}), &mut env);
    let id = exec.tasks[0].task_id.clone();
    dispatch(&mut exec, &mut env, &id, "k", 10_000);
    env.advance(50);
    let mut r = result(&id, Some("k"), TaskStatus::Completed, json!({"out": 5}));
    r.logs.push(TaskLog {
        log: "hello".into(),
        created_time: 1,
    });
    let d = report(&mut exec, &mut env, r).unwrap();
    let t = task(&exec, &id);
    assert_eq!(t.status, TaskStatus::Completed);
    assert_eq!(t.output, obj(json!({"out": 5})));
    assert_eq!(t.end_time, Some(env.now));
    assert_eq!(t.logs.len(), 1);
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
    assert_eq!(exec.workflow.output, obj(json!({"out": 5})));
    assert_eq!(exec.workflow.end_time, Some(env.now));
    assert_eq!(closed(&d), Some(WorkflowStatus::Completed));
    assert_eq!(d.reply, Reply::Done);
    // The task timeout is disarmed.
    let c = cancelled(&d);
    assert_eq!(c.len(), 1);
    assert_eq!(
        c[0].kind,
        TimerKind::TaskTimeout {
            task_id: id.clone()
        }
    );
    assert_eq!(c[0].due_ms, env.now - 50 + 100_000);
}

#[test]
fn output_parameters_shape_the_workflow_output() {
    let mut env = TestEnv::new();
    let def = wf(
        json!({"name": "w", "outputParameters": {"r": "${a1.output.v}", "in": "${workflow.input.x}", "s": "v=${a1.output.v}"},
        "tasks": [{"name": "a", "taskReferenceName": "a1"}]}),
    );
    let (mut exec, _) = start(def, json!({"x": "X"}), &mut env);
    complete_current(&mut exec, &mut env, "k", json!({"v": [1]}));
    assert_eq!(
        exec.workflow.output,
        obj(json!({"r": [1], "in": "X", "s": "v=[1]"}))
    );
}

#[test]
fn a_run_that_fails_or_is_terminated_still_works_out_its_output() {
    let mut env = TestEnv::new();
    env.def(json!({"name": "a", "retryCount": 0}));
    env.def(json!({"name": "b", "retryCount": 0}));
    // With outputParameters: they are evaluated over what ran.
    let def = wf(
        json!({"name": "w", "outputParameters": {"r": "${a1.output.v}", "in": "${workflow.input.x}"},
        "tasks": [{"name": "a", "taskReferenceName": "a1"}, {"name": "b", "taskReferenceName": "b1"}]}),
    );
    let (mut exec, _) = start(def, json!({"x": "X"}), &mut env);
    complete_current(&mut exec, &mut env, "k1", json!({"v": 1}));
    run_ref(
        &mut exec,
        &mut env,
        "b1",
        TaskStatus::Failed,
        json!({"err": "e"}),
    );
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    assert_eq!(exec.workflow.output, obj(json!({"r": 1, "in": "X"})));
    // Without: the output of the last task scheduled, the failed one here.
    let (mut exec, _) = start(two_tasks(), json!({}), &mut env);
    complete_current(&mut exec, &mut env, "k2", json!({"y": 1}));
    run_ref(
        &mut exec,
        &mut env,
        "b1",
        TaskStatus::Failed,
        json!({"err": "e"}),
    );
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    assert_eq!(exec.workflow.output, obj(json!({"err": "e"})));
    // An operator's terminate too: the running task's output so far.
    let (mut exec, _) = start(two_tasks(), json!({}), &mut env);
    complete_current(&mut exec, &mut env, "k3", json!({"y": 2}));
    decider::decide(&mut exec, Event::Terminate { reason: None }, &mut env).unwrap();
    assert_eq!(exec.workflow.status, WorkflowStatus::Terminated);
    assert_eq!(exec.workflow.output, obj(json!({})));
}

#[test]
fn duplicate_results_are_acknowledged_without_change() {
    let mut env = TestEnv::new();
    let (mut exec, _) = start(two_tasks(), json!({}), &mut env);
    let id = exec.tasks[0].task_id.clone();
    complete_current(&mut exec, &mut env, "k", json!({"y": 1}));
    let before = exec.clone();
    let d = report(
        &mut exec,
        &mut env,
        result(&id, Some("k"), TaskStatus::Completed, json!({"y": 1})),
    )
    .unwrap();
    assert_eq!(d.reply, Reply::Duplicate);
    assert!(d.effects.is_empty() && d.changed_tasks.is_empty() && !d.workflow_changed);
    assert_eq!(exec, before);
    // Unfenced and identical: also a duplicate.
    let d = report(
        &mut exec,
        &mut env,
        result(&id, None, TaskStatus::Completed, json!({"y": 1})),
    )
    .unwrap();
    assert_eq!(d.reply, Reply::Duplicate);
    // A different outcome is refused.
    let err = report(
        &mut exec,
        &mut env,
        result(&id, Some("k"), TaskStatus::Failed, json!({})),
    )
    .unwrap_err();
    assert_eq!(
        err,
        DecideError::StaleToken {
            task_id: id.clone(),
            reason: "task already COMPLETED".into()
        }
    );
    let err = report(
        &mut exec,
        &mut env,
        result(&id, None, TaskStatus::Completed, json!({"y": 2})),
    )
    .unwrap_err();
    assert!(matches!(err, DecideError::StaleToken { .. }));
    // Another token is refused.
    let err = report(
        &mut exec,
        &mut env,
        result(&id, Some("other"), TaskStatus::Completed, json!({"y": 1})),
    )
    .unwrap_err();
    assert!(matches!(err, DecideError::StaleToken { .. }));
    assert_eq!(exec, before);
}

#[test]
fn stale_and_unknown_tokens_are_refused() {
    let mut env = TestEnv::new();
    let (mut exec, _) = start(one_task(), json!({}), &mut env);
    let id = exec.tasks[0].task_id.clone();
    dispatch(&mut exec, &mut env, &id, "k1", 1000);
    decider::decide(
        &mut exec,
        Event::Returned {
            task_id: id.clone(),
            token: "k1".into(),
        },
        &mut env,
    )
    .unwrap();
    dispatch(&mut exec, &mut env, &id, "k2", 1000);
    let before = exec.clone();
    let err = report(
        &mut exec,
        &mut env,
        result(&id, Some("k1"), TaskStatus::Completed, json!({})),
    )
    .unwrap_err();
    assert_eq!(
        err,
        DecideError::StaleToken {
            task_id: id.clone(),
            reason: "the task was handed to another worker since".into()
        }
    );
    let err = report(
        &mut exec,
        &mut env,
        result(&id, Some("never"), TaskStatus::Completed, json!({})),
    )
    .unwrap_err();
    assert_eq!(
        err,
        DecideError::StaleToken {
            task_id: id.clone(),
            reason: "the token was never issued for this task".into()
        }
    );
    let err = report(
        &mut exec,
        &mut env,
        result("nope", Some("k2"), TaskStatus::Completed, json!({})),
    )
    .unwrap_err();
    assert!(matches!(err, DecideError::UnknownTask { .. }));
    assert_eq!(exec, before);
    // Unfenced results are taken.
    report(
        &mut exec,
        &mut env,
        result(&id, None, TaskStatus::Completed, json!({})),
    )
    .unwrap();
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
}

#[test]
fn workers_may_only_report_worker_statuses() {
    let mut env = TestEnv::new();
    let (mut exec, _) = start(one_task(), json!({}), &mut env);
    let id = exec.tasks[0].task_id.clone();
    dispatch(&mut exec, &mut env, &id, "k", 1000);
    let before = exec.clone();
    for s in [
        TaskStatus::Scheduled,
        TaskStatus::Canceled,
        TaskStatus::TimedOut,
        TaskStatus::Skipped,
        TaskStatus::CompletedWithErrors,
    ] {
        let err = report(&mut exec, &mut env, result(&id, Some("k"), s, json!({}))).unwrap_err();
        assert!(
            matches!(&err, DecideError::Invalid(m) if m.contains(s.as_str())),
            "{err}"
        );
    }
    let mut r = result(&id, Some("k"), TaskStatus::InProgress, json!({}));
    r.callback_after_seconds = -1;
    assert!(matches!(
        report(&mut exec, &mut env, r),
        Err(DecideError::Invalid(_))
    ));
    assert_eq!(exec, before);
}

#[test]
fn a_returned_task_still_takes_its_old_workers_result() {
    let mut env = TestEnv::new();
    let (mut exec, _) = start(one_task(), json!({}), &mut env);
    let id = exec.tasks[0].task_id.clone();
    dispatch(&mut exec, &mut env, &id, "k1", 1000);
    let d = decider::decide(
        &mut exec,
        Event::Returned {
            task_id: id.clone(),
            token: "k1".into(),
        },
        &mut env,
    )
    .unwrap();
    assert_eq!(enqueued(&d), vec![id.clone()]);
    assert_eq!(task(&exec, &id).status, TaskStatus::Scheduled);
    assert_eq!(task(&exec, &id).lease_deadline, None);
    assert_eq!(task(&exec, &id).retry_count, 0);
    let d = report(
        &mut exec,
        &mut env,
        result(&id, Some("k1"), TaskStatus::Completed, json!({"a": 1})),
    )
    .unwrap();
    assert_eq!(dequeued(&d), vec![id.clone()]);
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
}

#[test]
fn returned_with_a_stale_token_does_nothing() {
    let mut env = TestEnv::new();
    let (mut exec, _) = start(one_task(), json!({}), &mut env);
    let id = exec.tasks[0].task_id.clone();
    dispatch(&mut exec, &mut env, &id, "k1", 1000);
    let before = exec.clone();
    let d = decider::decide(
        &mut exec,
        Event::Returned {
            task_id: id.clone(),
            token: "old".into(),
        },
        &mut env,
    )
    .unwrap();
    assert_eq!(d, decider::Decision::default());
    assert_eq!(exec, before);
}

#[test]
fn in_progress_with_callback_hides_the_task() {
    let mut env = TestEnv::new();
    let (mut exec, _) = start(one_task(), json!({}), &mut env);
    let id = exec.tasks[0].task_id.clone();
    dispatch(&mut exec, &mut env, &id, "k1", 1000);
    let mut r = result(&id, Some("k1"), TaskStatus::InProgress, json!({"p": 1}));
    r.callback_after_seconds = 30;
    let d = report(&mut exec, &mut env, r).unwrap();
    let t = task(&exec, &id);
    assert_eq!(t.status, TaskStatus::Scheduled);
    assert_eq!(t.lease_deadline, None);
    assert_eq!(t.callback_after_seconds, 30);
    assert_eq!(t.ready_time, env.now + 30_000);
    assert_eq!(t.output, obj(json!({"p": 1})));
    assert!(enqueued(&d).is_empty());
    assert_eq!(
        armed(&d),
        vec![baton_core::Timer {
            due_ms: env.now + 30_000,
            workflow_id: "wf-1".into(),
            kind: TimerKind::TaskReady {
                task_id: id.clone()
            }
        }]
    );
    env.advance(30_000);
    let d = fire(
        &mut exec,
        &mut env,
        TimerKind::TaskReady {
            task_id: id.clone(),
        },
    );
    assert_eq!(enqueued(&d), vec![id.clone()]);
    dispatch(&mut exec, &mut env, &id, "k2", 1000);
    assert_eq!(task(&exec, &id).poll_count, 2);
    // Outputs of IN_PROGRESS reports merge; the final result replaces them.
    let mut r = result(&id, Some("k2"), TaskStatus::InProgress, json!({"q": 2}));
    r.callback_after_seconds = 0;
    report(&mut exec, &mut env, r).unwrap();
    assert_eq!(task(&exec, &id).output, obj(json!({"p": 1, "q": 2})));
    report(
        &mut exec,
        &mut env,
        result(
            &id,
            Some("k2"),
            TaskStatus::Completed,
            json!({"done": true}),
        ),
    )
    .unwrap();
    assert_eq!(task(&exec, &id).output, obj(json!({"done": true})));
}

#[test]
fn in_progress_without_callback_renews_the_lease() {
    let mut env = TestEnv::new();
    env.def(json!({"name": "a", "responseTimeoutSeconds": 20}));
    let (mut exec, _) = start(one_task(), json!({}), &mut env);
    let id = exec.tasks[0].task_id.clone();
    dispatch(&mut exec, &mut env, &id, "k1", 20_000);
    env.advance(15_000);
    let d = report(
        &mut exec,
        &mut env,
        result(&id, Some("k1"), TaskStatus::InProgress, json!({})),
    )
    .unwrap();
    assert_eq!(task(&exec, &id).status, TaskStatus::InProgress);
    assert_eq!(task(&exec, &id).lease_deadline, Some(env.now + 20_000));
    assert_eq!(
        armed(&d)[0].kind,
        TimerKind::LeaseExpired {
            task_id: id.clone(),
            token: "k1".into()
        }
    );
    // The first lease timer no longer applies.
    env.advance(5_000);
    let before = exec.clone();
    let d = fire(
        &mut exec,
        &mut env,
        TimerKind::LeaseExpired {
            task_id: id.clone(),
            token: "k1".into(),
        },
    );
    assert!(d.effects.is_empty() && exec == before);
}

// ---------------------------------------------------------------- retries

#[test]
fn a_failed_task_is_retried_after_its_delay() {
    let mut env = TestEnv::new();
    env.def(json!({"name": "a", "retryCount": 2, "retryDelaySeconds": 3}));
    let (mut exec, _) = start(one_task(), json!({"x": 1}), &mut env);
    let id = exec.tasks[0].task_id.clone();
    dispatch(&mut exec, &mut env, &id, "k", 1000);
    exec.workflow.input.insert("x".into(), json!(2)); // inputs are recomputed for the retry
    let mut r = result(&id, Some("k"), TaskStatus::Failed, json!({}));
    r.reason_for_incompletion = Some("boom".into());
    let d = report(&mut exec, &mut env, r).unwrap();
    let old = task(&exec, &id);
    assert_eq!(old.status, TaskStatus::Failed);
    assert_eq!(old.reason_for_incompletion.as_deref(), Some("boom"));
    assert!(old.retried);
    let new = last(&exec);
    assert_ne!(new.task_id, id);
    assert_eq!(new.retry_count, 1);
    assert_eq!(new.retried_task_id.as_deref(), Some(id.as_str()));
    assert_eq!(new.seq, 2);
    assert_eq!(new.input, obj(json!({"x": 2})));
    assert_eq!(new.first_scheduled_time, old.first_scheduled_time);
    assert_eq!(new.status, TaskStatus::Scheduled);
    assert_eq!(new.ready_time, env.now + 3000);
    assert!(enqueued(&d).is_empty());
    assert_eq!(
        armed(&d)[0].kind,
        TimerKind::TaskReady {
            task_id: new.task_id.clone()
        }
    );
    assert_eq!(exec.workflow.status, WorkflowStatus::Running);
    assert_eq!(d.changed_tasks.len(), 2);
}

fn retry_delays(def: Value, random: u64) -> Vec<i64> {
    let mut env = TestEnv::new();
    env.random = random;
    env.def(def);
    let (mut exec, _) = start(one_task(), json!({}), &mut env);
    let mut delays = Vec::new();
    while exec.workflow.status == WorkflowStatus::Running {
        let id = last(&exec).task_id.clone();
        if last(&exec).ready_time > env.now {
            env.now = last(&exec).ready_time;
            fire(
                &mut exec,
                &mut env,
                TimerKind::TaskReady {
                    task_id: id.clone(),
                },
            );
        }
        dispatch(&mut exec, &mut env, &id, &format!("k{id}"), 1000);
        report(
            &mut exec,
            &mut env,
            result(&id, Some(&format!("k{id}")), TaskStatus::Failed, json!({})),
        )
        .unwrap();
        if exec.workflow.status == WorkflowStatus::Running {
            delays.push(last(&exec).ready_time - env.now);
        }
    }
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    delays
}

#[test]
fn retry_delays_follow_the_retry_logic() {
    assert_eq!(
        retry_delays(
            json!({"name": "a", "retryCount": 3, "retryDelaySeconds": 2}),
            0
        ),
        vec![2000, 2000, 2000]
    );
    assert_eq!(
        retry_delays(
            json!({"name": "a", "retryCount": 3, "retryDelaySeconds": 2, "retryLogic": "LINEAR_BACKOFF", "backoffScaleFactor": 3}),
            0
        ),
        vec![6000, 12000, 18000]
    );
    assert_eq!(
        retry_delays(
            json!({"name": "a", "retryCount": 4, "retryDelaySeconds": 1, "retryLogic": "EXPONENTIAL_BACKOFF"}),
            0
        ),
        vec![1000, 2000, 4000, 8000]
    );
    assert_eq!(
        retry_delays(
            json!({"name": "a", "retryCount": 4, "retryDelaySeconds": 1, "retryLogic": "EXPONENTIAL_BACKOFF", "maxRetryDelaySeconds": 3}),
            0
        ),
        vec![1000, 2000, 3000, 3000]
    );
    // Jitter: random % (backoffJitterMs + 1).
    assert_eq!(
        retry_delays(
            json!({"name": "a", "retryCount": 2, "retryDelaySeconds": 1, "backoffJitterMs": 100}),
            250
        ),
        vec![1048, 1048]
    );
    assert_eq!(
        retry_delays(
            json!({"name": "a", "retryCount": 2, "retryDelaySeconds": 0}),
            0
        ),
        vec![0, 0]
    );
}

#[test]
fn retries_used_up_fail_the_workflow() {
    let mut env = TestEnv::new();
    env.def(json!({"name": "a", "retryCount": 0}));
    let def = wf(json!({"name": "w", "tasks": [
        {"name": "a", "taskReferenceName": "a1"}, {"name": "b", "taskReferenceName": "b1"}]}));
    let (mut exec, _) = start(def, json!({}), &mut env);
    let id = exec.tasks[0].task_id.clone();
    dispatch(&mut exec, &mut env, &id, "k", 1000);
    let mut r = result(&id, Some("k"), TaskStatus::Failed, json!({}));
    r.reason_for_incompletion = Some("disk full".into());
    let d = report(&mut exec, &mut env, r).unwrap();
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    let reason = exec.workflow.reason_for_incompletion.clone().unwrap();
    assert!(
        reason.contains("a1") && reason.contains("disk full") && reason.contains("FAILED"),
        "{reason}"
    );
    assert_eq!(
        exec.workflow.failed_reference_task_name.as_deref(),
        Some("a1")
    );
    assert_eq!(closed(&d), Some(WorkflowStatus::Failed));
    assert_eq!(exec.tasks.len(), 1);
}

#[test]
fn terminal_errors_are_never_retried() {
    let mut env = TestEnv::new();
    env.def(json!({"name": "a", "retryCount": 5, "retryDelaySeconds": 0}));
    let (mut exec, _) = start(one_task(), json!({}), &mut env);
    let id = exec.tasks[0].task_id.clone();
    dispatch(&mut exec, &mut env, &id, "k", 1000);
    report(
        &mut exec,
        &mut env,
        result(
            &id,
            Some("k"),
            TaskStatus::FailedWithTerminalError,
            json!({}),
        ),
    )
    .unwrap();
    assert_eq!(exec.tasks.len(), 1);
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
}

#[test]
fn workflow_task_retry_count_overrides_the_task_def() {
    let mut env = TestEnv::new();
    env.def(json!({"name": "a", "retryCount": 5, "retryDelaySeconds": 0}));
    let def = wf(
        json!({"name": "w", "tasks": [{"name": "a", "taskReferenceName": "a1", "retryCount": 1}]}),
    );
    let (mut exec, _) = start(def, json!({}), &mut env);
    for round in 0..2 {
        assert_eq!(
            exec.workflow.status,
            WorkflowStatus::Running,
            "round {round}"
        );
        let id = last(&exec).task_id.clone();
        dispatch(&mut exec, &mut env, &id, "k", 1000);
        report(
            &mut exec,
            &mut env,
            result(&id, Some("k"), TaskStatus::Failed, json!({})),
        )
        .unwrap();
        // One retry (the workflow task's retryCount), not five.
        assert_eq!(exec.tasks.len(), 2);
    }
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
}

#[test]
fn an_optional_task_that_fails_lets_the_workflow_go_on() {
    let mut env = TestEnv::new();
    env.def(json!({"name": "a", "retryCount": 1, "retryDelaySeconds": 0}));
    let def = wf(json!({"name": "w", "tasks": [
        {"name": "a", "taskReferenceName": "a1", "optional": true}, {"name": "b", "taskReferenceName": "b1"}]}));
    let (mut exec, _) = start(def, json!({}), &mut env);
    for _ in 0..2 {
        let id = last(&exec).task_id.clone();
        dispatch(&mut exec, &mut env, &id, "k", 1000);
        report(
            &mut exec,
            &mut env,
            result(&id, Some("k"), TaskStatus::Failed, json!({})),
        )
        .unwrap();
    }
    assert_eq!(exec.tasks[0].status, TaskStatus::Failed);
    assert_eq!(exec.tasks[1].status, TaskStatus::CompletedWithErrors);
    assert_eq!(last(&exec).reference_task_name, "b1");
    assert_eq!(exec.workflow.status, WorkflowStatus::Running);
    // A duplicate FAILED for the optional task is still recognised.
    let id = exec.tasks[1].task_id.clone();
    let d = report(
        &mut exec,
        &mut env,
        result(&id, Some("k"), TaskStatus::Failed, json!({})),
    )
    .unwrap();
    assert_eq!(d.reply, Reply::Duplicate);
    complete_current(&mut exec, &mut env, "kb", json!({}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
}

#[test]
fn the_total_timeout_budget_stops_retries() {
    let mut env = TestEnv::new();
    env.def(json!({"name": "a", "retryCount": 5, "retryDelaySeconds": 0,
        "totalTimeoutSeconds": 10, "timeoutSeconds": 4, "responseTimeoutSeconds": 4, "timeoutPolicy": "RETRY"}));
    let due = env.now + 10_000;
    let budget = |d: &decider::Decision, id: &str, at: i64| {
        armed(d)
            .iter()
            .any(|t| t.kind == TimerKind::TaskTimeout { task_id: id.into() } && t.due_ms == at)
    };
    let (mut exec, d) = start(one_task(), json!({}), &mut env);
    let id = exec.tasks[0].task_id.clone();
    // The budget is armed at scheduling ...
    assert!(budget(&d, &id, due));
    env.advance(1000);
    // ... and the attempt's own, earlier timeout replaces it at dispatch.
    let d = dispatch(&mut exec, &mut env, &id, "k", 4000);
    assert!(budget(&d, &id, env.now + 4000));
    assert!(cancelled(&d).iter().any(|t| t.kind
        == TimerKind::TaskTimeout {
            task_id: id.clone()
        }
        && t.due_ms == due));
    env.advance(3000);
    report(
        &mut exec,
        &mut env,
        result(&id, Some("k"), TaskStatus::Failed, json!({})),
    )
    .unwrap();
    // The retry's budget still counts from the first attempt.
    let id2 = last(&exec).task_id.clone();
    assert_ne!(id, id2);
    assert_eq!(last(&exec).timeout_due, Some(due));
    // Dispatched at +8s: its attempt timeout (+12s) is later than the budget: kept.
    env.advance(4000);
    let d = dispatch(&mut exec, &mut env, &id2, "k2", 4000);
    assert!(
        !armed(&d)
            .iter()
            .any(|t| matches!(t.kind, TimerKind::TaskTimeout { .. }))
    );
    env.now = due;
    fire(
        &mut exec,
        &mut env,
        TimerKind::TaskTimeout {
            task_id: id2.clone(),
        },
    );
    assert_eq!(task(&exec, &id2).status, TaskStatus::TimedOut);
    assert!(
        task(&exec, &id2)
            .reason_for_incompletion
            .as_ref()
            .unwrap()
            .contains("total timeout")
    );
    assert_eq!(exec.tasks.len(), 2, "no retry once the budget is spent");
    assert_eq!(exec.workflow.status, WorkflowStatus::TimedOut);
}

#[test]
fn the_total_timeout_budget_runs_while_the_task_waits_in_its_queue() {
    let mut env = TestEnv::new();
    env.def(json!({"name": "a", "totalTimeoutSeconds": 10}));
    let def = wf(json!({"name": "w", "tasks": [
        {"name": "a", "taskReferenceName": "a1", "optional": true}, {"name": "b", "taskReferenceName": "b1"}]}));
    let (mut exec, _) = start(def, json!({}), &mut env);
    let id = exec.tasks[0].task_id.clone();
    env.advance(10_000);
    let d = fire(
        &mut exec,
        &mut env,
        TimerKind::TaskTimeout {
            task_id: id.clone(),
        },
    );
    assert_eq!(dequeued(&d), vec![id.clone()]);
    assert_eq!(task(&exec, &id).status, TaskStatus::CompletedWithErrors);
    assert_eq!(last(&exec).reference_task_name, "b1");
}

// ---------------------------------------------------------------- timers

#[test]
fn lease_expiry_times_the_task_out_and_retries_it() {
    let mut env = TestEnv::new();
    env.def(json!({"name": "a", "retryCount": 1, "retryDelaySeconds": 0, "responseTimeoutSeconds": 5, "timeoutPolicy": "TIME_OUT_WF"}));
    let (mut exec, _) = start(one_task(), json!({}), &mut env);
    let id = exec.tasks[0].task_id.clone();
    dispatch(&mut exec, &mut env, &id, "k", 5000);
    // A timer for another token does nothing.
    env.advance(5000);
    let before = exec.clone();
    fire(
        &mut exec,
        &mut env,
        TimerKind::LeaseExpired {
            task_id: id.clone(),
            token: "x".into(),
        },
    );
    assert_eq!(exec, before);
    let d = fire(
        &mut exec,
        &mut env,
        TimerKind::LeaseExpired {
            task_id: id.clone(),
            token: "k".into(),
        },
    );
    let t = task(&exec, &id);
    assert_eq!(t.status, TaskStatus::TimedOut);
    assert!(
        t.reason_for_incompletion
            .as_ref()
            .unwrap()
            .contains("response timeout")
    );
    let retry = last(&exec).task_id.clone();
    assert_eq!(enqueued(&d), vec![retry.clone()]);
    // The late worker is refused.
    let err = report(
        &mut exec,
        &mut env,
        result(&id, Some("k"), TaskStatus::Completed, json!({})),
    )
    .unwrap_err();
    assert_eq!(
        err,
        DecideError::StaleToken {
            task_id: id.clone(),
            reason: "task already TIMED_OUT".into()
        }
    );
    // The retry times out too: no retries left, the workflow times out.
    dispatch(&mut exec, &mut env, &retry, "k2", 5000);
    env.advance(5000);
    let d = fire(
        &mut exec,
        &mut env,
        TimerKind::LeaseExpired {
            task_id: retry.clone(),
            token: "k2".into(),
        },
    );
    assert_eq!(exec.workflow.status, WorkflowStatus::TimedOut);
    assert_eq!(closed(&d), Some(WorkflowStatus::TimedOut));
}

#[test]
fn extend_lease_moves_the_deadline() {
    let mut env = TestEnv::new();
    env.def(json!({"name": "a", "responseTimeoutSeconds": 10}));
    let (mut exec, _) = start(one_task(), json!({}), &mut env);
    let id = exec.tasks[0].task_id.clone();
    dispatch(&mut exec, &mut env, &id, "k", 10_000);
    env.advance(8000);
    let d = decider::decide(
        &mut exec,
        Event::ExtendLease {
            task_id: id.clone(),
            token: "k".into(),
        },
        &mut env,
    )
    .unwrap();
    assert_eq!(
        d.reply,
        Reply::LeaseExtended {
            deadline: env.now + 10_000
        }
    );
    assert_eq!(task(&exec, &id).lease_deadline, Some(env.now + 10_000));
    assert_eq!(armed(&d)[0].due_ms, env.now + 10_000);
    env.advance(2000);
    let before = exec.clone();
    fire(
        &mut exec,
        &mut env,
        TimerKind::LeaseExpired {
            task_id: id.clone(),
            token: "k".into(),
        },
    );
    assert_eq!(exec, before, "the old lease timer is moot");
    let err = decider::decide(
        &mut exec,
        Event::ExtendLease {
            task_id: id.clone(),
            token: "bad".into(),
        },
        &mut env,
    )
    .unwrap_err();
    assert!(matches!(err, DecideError::StaleToken { .. }));
    assert_eq!(exec, before);
}

#[test]
fn task_timeout_follows_the_timeout_policy() {
    for (policy, want_task, want_wf, retried) in [
        ("RETRY", TaskStatus::TimedOut, WorkflowStatus::Running, true),
        (
            "TIME_OUT_WF",
            TaskStatus::TimedOut,
            WorkflowStatus::TimedOut,
            false,
        ),
        (
            "ALERT_ONLY",
            TaskStatus::InProgress,
            WorkflowStatus::Running,
            false,
        ),
    ] {
        let mut env = TestEnv::new();
        env.def(json!({"name": "a", "timeoutSeconds": 10, "responseTimeoutSeconds": 10, "timeoutPolicy": policy, "retryCount": 1, "retryDelaySeconds": 0}));
        let (mut exec, _) = start(one_task(), json!({}), &mut env);
        let id = exec.tasks[0].task_id.clone();
        dispatch(&mut exec, &mut env, &id, "k", 10_000);
        env.advance(9_999);
        let before = exec.clone();
        fire(
            &mut exec,
            &mut env,
            TimerKind::TaskTimeout {
                task_id: id.clone(),
            },
        );
        assert_eq!(exec, before, "{policy}: not due yet");
        env.advance(1);
        fire(
            &mut exec,
            &mut env,
            TimerKind::TaskTimeout {
                task_id: id.clone(),
            },
        );
        assert_eq!(task(&exec, &id).status, want_task, "{policy}");
        assert_eq!(exec.workflow.status, want_wf, "{policy}");
        assert_eq!(exec.tasks.len() == 2, retried, "{policy}");
    }
}

#[test]
fn workflow_timeout_times_the_run_out() {
    let mut env = TestEnv::new();
    let def = wf(
        json!({"name": "w", "timeoutSeconds": 30, "timeoutPolicy": "TIME_OUT_WF",
        "tasks": [{"name": "a", "taskReferenceName": "a1"}]}),
    );
    let (mut exec, _) = start(def, json!({}), &mut env);
    let run_start = exec.workflow.start_time;
    let id = exec.tasks[0].task_id.clone();
    env.advance(30_000);
    let before = exec.clone();
    fire(
        &mut exec,
        &mut env,
        TimerKind::WorkflowTimeout {
            run_start: run_start - 1,
        },
    );
    assert_eq!(exec, before, "a timer of another run");
    let d = fire(
        &mut exec,
        &mut env,
        TimerKind::WorkflowTimeout { run_start },
    );
    assert_eq!(exec.workflow.status, WorkflowStatus::TimedOut);
    assert_eq!(task(&exec, &id).status, TaskStatus::Canceled);
    assert_eq!(dequeued(&d), vec![id.clone()]);
    assert_eq!(closed(&d), Some(WorkflowStatus::TimedOut));
    // ALERT_ONLY: nothing happens.
    let def = wf(
        json!({"name": "w", "timeoutSeconds": 30, "tasks": [{"name": "a", "taskReferenceName": "a1"}]}),
    );
    let (mut exec, _) = start(def, json!({}), &mut env);
    env.advance(30_000);
    let before = exec.clone();
    let run_start = exec.workflow.start_time;
    let d = fire(
        &mut exec,
        &mut env,
        TimerKind::WorkflowTimeout { run_start },
    );
    assert_eq!(exec, before);
    assert!(d.effects.is_empty());
}

// ---------------------------------------------------------------- operator commands

#[test]
fn pause_holds_back_the_next_task_until_resume() {
    let mut env = TestEnv::new();
    let (mut exec, _) = start(two_tasks(), json!({}), &mut env);
    decider::decide(&mut exec, Event::Pause, &mut env).unwrap();
    assert_eq!(exec.workflow.status, WorkflowStatus::Paused);
    let err = decider::decide(&mut exec, Event::Pause, &mut env).unwrap_err();
    assert!(matches!(err, DecideError::WrongState { .. }));
    let d = complete_current(&mut exec, &mut env, "k", json!({"y": 1}));
    assert!(enqueued(&d).is_empty());
    assert_eq!(exec.tasks.len(), 1);
    let d = decider::decide(&mut exec, Event::Resume, &mut env).unwrap();
    assert_eq!(exec.workflow.status, WorkflowStatus::Running);
    assert_eq!(exec.tasks.len(), 2);
    assert_eq!(enqueued(&d), vec![exec.tasks[1].task_id.clone()]);
    let err = decider::decide(&mut exec, Event::Resume, &mut env).unwrap_err();
    assert!(matches!(err, DecideError::WrongState { .. }));
}

#[test]
fn a_failure_while_paused_is_handled_on_resume() {
    let mut env = TestEnv::new();
    env.def(json!({"name": "a", "retryCount": 1, "retryDelaySeconds": 0}));
    let (mut exec, _) = start(one_task(), json!({}), &mut env);
    let id = exec.tasks[0].task_id.clone();
    decider::decide(&mut exec, Event::Pause, &mut env).unwrap();
    dispatch(&mut exec, &mut env, &id, "k", 1000);
    report(
        &mut exec,
        &mut env,
        result(&id, Some("k"), TaskStatus::Failed, json!({})),
    )
    .unwrap();
    assert_eq!(exec.tasks.len(), 1);
    let d = decider::decide(&mut exec, Event::Resume, &mut env).unwrap();
    assert_eq!(exec.tasks.len(), 2);
    assert_eq!(enqueued(&d), vec![exec.tasks[1].task_id.clone()]);
}

#[test]
fn terminate_cancels_what_is_left() {
    let mut env = TestEnv::new();
    let def = wf(
        json!({"name": "w", "timeoutSeconds": 100, "timeoutPolicy": "TIME_OUT_WF",
        "tasks": [{"name": "a", "taskReferenceName": "a1"}]}),
    );
    let (mut exec, _) = start(def, json!({}), &mut env);
    let id = exec.tasks[0].task_id.clone();
    dispatch(&mut exec, &mut env, &id, "k", 1000);
    let d = decider::decide(
        &mut exec,
        Event::Terminate {
            reason: Some("enough".into()),
        },
        &mut env,
    )
    .unwrap();
    assert_eq!(exec.workflow.status, WorkflowStatus::Terminated);
    assert_eq!(
        exec.workflow.reason_for_incompletion.as_deref(),
        Some("enough")
    );
    assert_eq!(task(&exec, &id).status, TaskStatus::Canceled);
    assert_eq!(closed(&d), Some(WorkflowStatus::Terminated));
    assert!(
        cancelled(&d)
            .iter()
            .any(|t| matches!(t.kind, TimerKind::WorkflowTimeout { .. }))
    );
    // The worker's late result is refused.
    let err = report(
        &mut exec,
        &mut env,
        result(&id, Some("k"), TaskStatus::Completed, json!({})),
    )
    .unwrap_err();
    assert!(matches!(err, DecideError::StaleToken { .. }));
    let err = decider::decide(&mut exec, Event::Terminate { reason: None }, &mut env).unwrap_err();
    assert!(matches!(err, DecideError::WrongState { .. }));
    // Timers of a closed workflow do nothing.
    let before = exec.clone();
    env.advance(1_000_000);
    for kind in [
        TimerKind::TaskTimeout {
            task_id: id.clone(),
        },
        TimerKind::PollTimeout {
            task_id: id.clone(),
        },
        TimerKind::TaskReady {
            task_id: id.clone(),
        },
        TimerKind::LeaseExpired {
            task_id: id.clone(),
            token: "k".into(),
        },
        TimerKind::WorkflowTimeout {
            run_start: before.workflow.start_time,
        },
    ] {
        let d = fire(&mut exec, &mut env, kind);
        assert_eq!(d, decider::Decision::default());
    }
    assert_eq!(exec, before);
}

#[test]
fn restart_runs_again_from_the_start() {
    let mut env = TestEnv::new();
    let (mut exec, _) = start(two_tasks(), json!({"x": 1}), &mut env);
    let err = decider::decide(&mut exec, Event::Restart { def: None }, &mut env).unwrap_err();
    assert!(matches!(err, DecideError::WrongState { .. }));
    complete_current(&mut exec, &mut env, "k1", json!({"y": 1}));
    complete_current(&mut exec, &mut env, "k2", json!({}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
    let old_ids: Vec<String> = exec.tasks.iter().map(|t| t.task_id.clone()).collect();
    env.advance(1000);
    let d = decider::decide(&mut exec, Event::Restart { def: None }, &mut env).unwrap();
    assert_eq!(d.removed_tasks, old_ids);
    assert_eq!(exec.workflow.status, WorkflowStatus::Running);
    assert_eq!(exec.workflow.start_time, env.now);
    assert_eq!(exec.workflow.end_time, None);
    assert!(exec.workflow.output.is_empty());
    assert_eq!(exec.tasks.len(), 1);
    assert_eq!(exec.tasks[0].seq, 1);
    assert_eq!(enqueued(&d), vec![exec.tasks[0].task_id.clone()]);
    // With a new definition.
    complete_current(&mut exec, &mut env, "k3", json!({"y": 1}));
    decider::decide(&mut exec, Event::Terminate { reason: None }, &mut env).unwrap();
    let newer = wf(
        json!({"name": "two", "version": 2, "tasks": [{"name": "c", "taskReferenceName": "c1"}]}),
    );
    decider::decide(&mut exec, Event::Restart { def: Some(newer) }, &mut env).unwrap();
    assert_eq!(exec.workflow.workflow_version, 2);
    assert_eq!(exec.tasks[0].reference_task_name, "c1");
    // Not restartable once COMPLETED.
    let def = wf(
        json!({"name": "w", "restartable": false, "tasks": [{"name": "a", "taskReferenceName": "a1"}]}),
    );
    let (mut exec, _) = start(def, json!({}), &mut env);
    complete_current(&mut exec, &mut env, "k", json!({}));
    let before = exec.clone();
    let err = decider::decide(&mut exec, Event::Restart { def: None }, &mut env).unwrap_err();
    assert!(matches!(err, DecideError::WrongState { .. }));
    assert_eq!(exec, before);
}

#[test]
fn retry_resumes_from_the_failed_task() {
    let mut env = TestEnv::new();
    env.def(json!({"name": "b", "retryCount": 0}));
    let def = wf(
        json!({"name": "w", "timeoutSeconds": 100, "timeoutPolicy": "TIME_OUT_WF", "tasks": [
        {"name": "a", "taskReferenceName": "a1"}, {"name": "b", "taskReferenceName": "b1"}, {"name": "c", "taskReferenceName": "c1"}]}),
    );
    let (mut exec, _) = start(def, json!({}), &mut env);
    let err = decider::decide(
        &mut exec,
        Event::Retry {
            resume_subworkflow_tasks: false,
        },
        &mut env,
    )
    .unwrap_err();
    assert!(matches!(err, DecideError::WrongState { .. }));
    complete_current(&mut exec, &mut env, "k1", json!({}));
    let b = last(&exec).task_id.clone();
    dispatch(&mut exec, &mut env, &b, "k2", 1000);
    report(
        &mut exec,
        &mut env,
        result(&b, Some("k2"), TaskStatus::Failed, json!({})),
    )
    .unwrap();
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    env.advance(5000);
    let d = decider::decide(
        &mut exec,
        Event::Retry {
            resume_subworkflow_tasks: false,
        },
        &mut env,
    )
    .unwrap();
    assert_eq!(exec.workflow.status, WorkflowStatus::Running);
    assert_eq!(exec.workflow.reason_for_incompletion, None);
    assert_eq!(exec.workflow.start_time, env.now);
    let nb = last(&exec);
    assert_eq!(nb.reference_task_name, "b1");
    assert_eq!(nb.retry_count, 1);
    assert_eq!(nb.retried_task_id.as_deref(), Some(b.as_str()));
    assert!(task(&exec, &b).retried);
    assert_eq!(enqueued(&d), vec![nb.task_id.clone()]);
    assert!(armed(&d).iter().any(
        |t| t.kind == TimerKind::WorkflowTimeout { run_start: env.now }
            && t.due_ms == env.now + 100_000
    ));
    complete_current(&mut exec, &mut env, "k3", json!({}));
    complete_current(&mut exec, &mut env, "k4", json!({"end": 1}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
    let err = decider::decide(
        &mut exec,
        Event::Retry {
            resume_subworkflow_tasks: false,
        },
        &mut env,
    )
    .unwrap_err();
    assert!(matches!(err, DecideError::WrongState { .. }));
}

#[test]
fn retry_after_terminate_reschedules_the_cancelled_task() {
    let mut env = TestEnv::new();
    let (mut exec, _) = start(one_task(), json!({}), &mut env);
    decider::decide(&mut exec, Event::Terminate { reason: None }, &mut env).unwrap();
    let d = decider::decide(
        &mut exec,
        Event::Retry {
            resume_subworkflow_tasks: false,
        },
        &mut env,
    )
    .unwrap();
    assert_eq!(exec.tasks.len(), 2);
    assert_eq!(exec.tasks[1].status, TaskStatus::Scheduled);
    assert_eq!(enqueued(&d).len(), 1);
}

// ---------------------------------------------------------------- recovery

#[test]
fn recover_rebuilds_queues_and_lease_timers() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "w", "tasks": [{"name": "a", "taskReferenceName": "a1"}]}));
    let (mut exec, _) = start(def.clone(), json!({}), &mut env);
    let id = exec.tasks[0].task_id.clone();
    assert_eq!(
        decider::recover(&exec, env.now),
        vec![Effect::Enqueue {
            task_id: id.clone(),
            queue: QueueKey {
                task_type: "a".into(),
                domain: None
            },
            priority: 0
        }]
    );
    dispatch(&mut exec, &mut env, &id, "k", 7000);
    let effects = decider::recover(&exec, env.now);
    assert_eq!(effects.len(), 1);
    assert!(
        matches!(&effects[0], Effect::ArmTimer(t) if t.due_ms == env.now + 7000 && t.kind == TimerKind::LeaseExpired { task_id: id.clone(), token: "k".into() })
    );
    // A task waiting for its delay timer is left to that timer.
    let delayed = wf(
        json!({"name": "w", "tasks": [{"name": "a", "taskReferenceName": "a1", "startDelay": 10}]}),
    );
    let (exec2, _) = start(delayed, json!({}), &mut env);
    assert!(decider::recover(&exec2, env.now + 20_000).is_empty());
    // Paused workflows keep their queue; closed ones need nothing.
    let (mut exec3, _) = start(def, json!({}), &mut env);
    decider::decide(&mut exec3, Event::Pause, &mut env).unwrap();
    assert_eq!(decider::recover(&exec3, env.now).len(), 1);
    decider::decide(&mut exec3, Event::Terminate { reason: None }, &mut env).unwrap();
    assert!(decider::recover(&exec3, env.now).is_empty());
}

#[test]
fn a_queued_task_with_no_lease_takes_a_result_whose_hand_out_was_never_recorded() {
    // After a crash the record of a hand-out can be missing while the worker still holds
    // the task: its result is taken as long as nobody else holds a lease.
    let mut env = TestEnv::new();
    let (mut exec, _) = start(one_task(), json!({}), &mut env);
    let id = exec.tasks[0].task_id.clone();
    assert_eq!(exec.tasks[0].status, TaskStatus::Scheduled);
    let d = report(
        &mut exec,
        &mut env,
        result(
            &id,
            Some("previous-boot.7"),
            TaskStatus::Completed,
            json!({"ok": true}),
        ),
    )
    .expect("taken");
    assert_eq!(task(&exec, &id).status, TaskStatus::Completed);
    assert_eq!(dequeued(&d), vec![id.clone()], "taken out of its queue");
    // Once someone holds a lease, an unknown token is refused again.
    let mut env = TestEnv::new();
    let (mut exec, _) = start(one_task(), json!({}), &mut env);
    let id = exec.tasks[0].task_id.clone();
    dispatch(&mut exec, &mut env, &id, "k1", 1000);
    let err = report(
        &mut exec,
        &mut env,
        result(
            &id,
            Some("previous-boot.7"),
            TaskStatus::Completed,
            json!({}),
        ),
    )
    .unwrap_err();
    assert!(matches!(err, DecideError::StaleToken { .. }));
}
