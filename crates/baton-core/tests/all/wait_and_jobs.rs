//! WAIT, HUMAN and the job tasks (INLINE, LAMBDA, JSON_JQ_TRANSFORM, HTTP): what the
//! decider asks of the runtime and how it takes the outcome or an update.

use crate::common::*;
use baton_core::decider::{self, Event, Job, TimerKind};
use baton_core::state::{TaskStatus, WorkflowStatus};
use serde_json::json;

use TaskStatus::{Completed, Failed, FailedWithTerminalError, InProgress, Scheduled};

fn update(
    exec: &mut baton_core::state::Execution,
    env: &mut TestEnv,
    reference: &str,
    status: TaskStatus,
    output: serde_json::Value,
) -> Result<decider::Decision, decider::DecideError> {
    let id = by_ref(exec, reference).task_id.clone();
    report(exec, env, result(&id, None, status, output))
}

#[test]
fn wait_for_a_duration_completes_on_its_timer() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "w", "tasks": [
        {"name": "w", "taskReferenceName": "w", "type": "WAIT", "inputParameters": {"duration": "1 minutes 5 seconds"}},
        {"name": "a", "taskReferenceName": "a"}
    ]}));
    let (mut exec, d) = start(def, json!({}), &mut env);
    let w = by_ref(&exec, "w").clone();
    assert_eq!(w.status, InProgress);
    let timer = armed(&d).pop().unwrap();
    assert_eq!(timer.due_ms, env.now + 65_000);
    assert!(enqueued(&d).is_empty(), "a WAIT is never queued");
    // Early or repeated timers do nothing.
    let kind = TimerKind::TaskReady {
        task_id: w.task_id.clone(),
    };
    env.advance(1000);
    fire(&mut exec, &mut env, kind.clone());
    assert_eq!(by_ref(&exec, "w").status, InProgress);
    env.advance(64_000);
    fire(&mut exec, &mut env, kind.clone());
    assert_eq!(by_ref(&exec, "w").status, Completed);
    assert_eq!(by_ref(&exec, "a").status, Scheduled);
    let again = fire(&mut exec, &mut env, kind);
    assert!(again.effects.is_empty());
}

#[test]
fn wait_until_a_time_and_past_times() {
    let mut env = TestEnv::new();
    env.now = 1_671_958_800_000 - 10_000; // ten seconds before 2022-12-25 09:00 UTC
    let def = |until: &str| {
        wf(json!({"name": "w", "tasks": [
            {"name": "w", "taskReferenceName": "w", "type": "WAIT", "inputParameters": {"until": until}}
        ]}))
    };
    let (_, d) = start(def("2022-12-25 09:00 UTC"), json!({}), &mut env);
    assert_eq!(armed(&d).pop().unwrap().due_ms, 1_671_958_800_000);
    let (exec, _) = start(def("2022-12-24 09:00 UTC"), json!({}), &mut env);
    assert_eq!(
        exec.workflow.status,
        WorkflowStatus::Completed,
        "a past time completes at once"
    );
    let (exec, _) = start(def("next tuesday"), json!({}), &mut env);
    let w = by_ref(&exec, "w");
    assert_eq!(w.status, FailedWithTerminalError);
    assert!(
        w.reason_for_incompletion
            .as_deref()
            .unwrap()
            .contains("WAIT until")
    );
}

#[test]
fn bad_wait_inputs_fail_the_task_naming_the_problem() {
    let mut env = TestEnv::new();
    for (input, text) in [
        (json!({"duration": "5 fortnights"}), "unknown unit"),
        (json!({"duration": "1s", "until": "2022-01-01"}), "not both"),
        (json!({"duration": [1]}), "must be a string"),
    ] {
        let def = wf(json!({"name": "w", "tasks": [
            {"name": "w", "taskReferenceName": "w", "type": "WAIT", "inputParameters": input}
        ]}));
        let (exec, _) = start(def, json!({}), &mut env);
        let reason = by_ref(&exec, "w").reason_for_incompletion.clone().unwrap();
        assert!(reason.contains(text), "{reason}");
        assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    }
}

#[test]
fn a_signal_completes_a_wait_and_a_human_task() {
    for kind in ["WAIT", "HUMAN"] {
        let mut env = TestEnv::new();
        let def = wf(json!({"name": "h", "tasks": [
            {"name": "h", "taskReferenceName": "h", "type": kind},
            {"name": "a", "taskReferenceName": "a", "inputParameters": {"ok": "${h.output.approved}"}}
        ]}));
        let (mut exec, d) = start(def, json!({}), &mut env);
        assert_eq!(by_ref(&exec, "h").status, InProgress);
        assert!(armed(&d).is_empty() && enqueued(&d).is_empty());
        // Progress merges output; completion ends it and the flow goes on.
        update(&mut exec, &mut env, "h", InProgress, json!({"seen": 1})).unwrap();
        assert_eq!(by_ref(&exec, "h").status, InProgress);
        update(
            &mut exec,
            &mut env,
            "h",
            Completed,
            json!({"approved": true}),
        )
        .unwrap();
        let h = by_ref(&exec, "h");
        assert_eq!(
            (h.status, h.output.clone()),
            (Completed, obj(json!({"seen": 1, "approved": true})))
        );
        assert_eq!(by_ref(&exec, "a").input, obj(json!({"ok": true})));
        // A second update is ignored.
        let d = update(&mut exec, &mut env, "h", Failed, json!({})).unwrap();
        assert_eq!(d.reply, decider::Reply::Duplicate);
        assert_eq!(by_ref(&exec, "h").status, Completed);
    }
}

#[test]
fn a_failing_signal_fails_the_workflow_and_cancels_the_wait_timer() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "h", "tasks": [
        {"name": "w", "taskReferenceName": "w", "type": "WAIT", "inputParameters": {"duration": "1h"}}
    ]}));
    let (mut exec, _) = start(def, json!({}), &mut env);
    let d = update(&mut exec, &mut env, "w", Failed, json!({})).unwrap();
    assert_eq!(cancelled(&d).len(), 1);
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    let err = update(&mut exec, &mut env, "w", Completed, json!({})).unwrap_err();
    assert!(err.to_string().contains("FAILED"), "{err}");
}

#[test]
fn a_task_definition_times_out_and_retries_a_wait() {
    let mut env = TestEnv::new();
    env.def(
        json!({"name": "waitTimeout", "timeoutSeconds": 2, "responseTimeoutSeconds": 2,
                   "retryCount": 1, "timeoutPolicy": "RETRY", "retryDelaySeconds": 10}),
    );
    let def = wf(json!({"name": "wt", "tasks": [
        {"name": "waitTimeout", "taskReferenceName": "w", "type": "WAIT"},
        {"name": "a", "taskReferenceName": "a"}
    ]}));
    let (mut exec, d) = start(def, json!({}), &mut env);
    let first = by_ref(&exec, "w").task_id.clone();
    let timer = armed(&d).pop().unwrap();
    assert_eq!(timer.due_ms, env.now + 2_000);
    let kind = |id: &str| TimerKind::TaskTimeout {
        task_id: id.to_string(),
    };
    env.advance(2_000);
    fire(&mut exec, &mut env, kind(&first));
    assert_eq!(task(&exec, &first).status, TaskStatus::TimedOut);
    // The retry waits out the definition's retry delay (10 s), then waits again, with a
    // timeout of its own.
    let retry = by_ref(&exec, "w").clone();
    assert_eq!((retry.status, retry.retry_count), (Scheduled, 1));
    assert_eq!(retry.retried_task_id.as_deref(), Some(first.as_str()));
    let ready = TimerKind::TaskReady {
        task_id: retry.task_id.clone(),
    };
    env.advance(10_000);
    let d = fire(&mut exec, &mut env, ready);
    assert_eq!(by_ref(&exec, "w").status, InProgress);
    assert_eq!(armed(&d).pop().unwrap().due_ms, env.now + 2_000);
    env.advance(2_000);
    fire(&mut exec, &mut env, kind(&retry.task_id));
    assert_eq!(by_ref(&exec, "w").status, TaskStatus::TimedOut);
    assert_eq!(exec.workflow.status, WorkflowStatus::TimedOut);
    assert!(exec.latest_task("a").is_none());
    // Without a task definition of its own a WAIT neither times out nor retries.
    let def = wf(json!({"name": "plain", "tasks": [
        {"name": "plainWait", "taskReferenceName": "w", "type": "WAIT"}
    ]}));
    let (mut exec, d) = start(def, json!({}), &mut env);
    assert!(armed(&d).is_empty());
    update(&mut exec, &mut env, "w", Failed, json!({})).unwrap();
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    assert_eq!(exec.tasks.len(), 1);
}

#[test]
fn a_retried_wait_stays_scheduled_until_its_retry_delay_is_over() {
    // retryDelaySeconds with its retryLogic applies to a WAIT as to any retried task: the
    // retry is SCHEDULED, takes no update, and only starts waiting (its duration counted
    // from then) once the delay is over.
    for (logic, delays) in [
        ("FIXED", [4_000, 4_000]),
        ("LINEAR_BACKOFF", [8_000, 16_000]),
        ("EXPONENTIAL_BACKOFF", [4_000, 8_000]),
    ] {
        let mut env = TestEnv::new();
        env.def(
            json!({"name": "pause", "retryCount": 2, "retryDelaySeconds": 4,
                       "retryLogic": logic, "backoffScaleFactor": 2}),
        );
        let def = wf(json!({"name": "wt", "tasks": [
            {"name": "pause", "taskReferenceName": "w", "type": "WAIT",
             "inputParameters": {"duration": "3s"}}
        ]}));
        let (mut exec, _) = start(def, json!({}), &mut env);
        for (attempt, delay) in delays.into_iter().enumerate() {
            update(&mut exec, &mut env, "w", Failed, json!({})).unwrap();
            let retry = by_ref(&exec, "w").clone();
            assert_eq!(retry.retry_count, attempt as i32 + 1, "{logic}");
            assert_eq!(retry.status, Scheduled, "{logic}");
            assert_eq!(retry.ready_due, Some(env.now + delay), "{logic} {attempt}");
            assert_eq!(retry.start_time, None);
            let err = update(&mut exec, &mut env, "w", Completed, json!({})).unwrap_err();
            assert!(err.to_string().contains("retry delay"), "{err}");
            let ready = TimerKind::TaskReady {
                task_id: retry.task_id.clone(),
            };
            // A timer that fires early (a restart's reload, say) changes nothing.
            env.advance(delay - 1);
            fire(&mut exec, &mut env, ready.clone());
            assert_eq!(by_ref(&exec, "w").status, Scheduled, "{logic}");
            env.advance(1);
            let d = fire(&mut exec, &mut env, ready);
            let t = by_ref(&exec, "w");
            assert_eq!(
                (t.status, t.start_time),
                (InProgress, Some(env.now)),
                "{logic}"
            );
            assert_eq!(
                armed(&d),
                vec![decider::Timer {
                    due_ms: env.now + 3_000,
                    workflow_id: "wf-1".into(),
                    kind: TimerKind::TaskReady {
                        task_id: retry.task_id.clone()
                    }
                }],
                "{logic}"
            );
        }
        // The last retry's duration runs out: it completes and so does the workflow.
        env.advance(3_000);
        let id = by_ref(&exec, "w").task_id.clone();
        fire(&mut exec, &mut env, TimerKind::TaskReady { task_id: id });
        assert_eq!(by_ref(&exec, "w").status, Completed, "{logic}");
        assert_eq!(exec.workflow.status, WorkflowStatus::Completed, "{logic}");
    }
}

#[test]
fn a_retried_human_task_waits_out_its_delay_and_cancelling_it_disarms_the_timer() {
    let mut env = TestEnv::new();
    env.def(json!({"name": "approve", "retryCount": 1, "retryDelaySeconds": 30}));
    let def = wf(json!({"name": "hu", "tasks": [
        {"name": "approve", "taskReferenceName": "h", "type": "HUMAN"}
    ]}));
    let (mut exec, _) = start(def, json!({}), &mut env);
    let d = update(&mut exec, &mut env, "h", Failed, json!({})).unwrap();
    let retry = by_ref(&exec, "h").clone();
    assert_eq!(retry.status, Scheduled);
    let ready = TimerKind::TaskReady {
        task_id: retry.task_id.clone(),
    };
    assert!(enqueued(&d).is_empty(), "a HUMAN task is never queued");
    assert_eq!(
        armed(&d),
        vec![decider::Timer {
            due_ms: env.now + 30_000,
            workflow_id: "wf-1".into(),
            kind: ready.clone()
        }]
    );
    env.advance(30_000);
    let d = fire(&mut exec, &mut env, ready.clone());
    assert!(enqueued(&d).is_empty());
    assert_eq!(by_ref(&exec, "h").status, InProgress);
    update(&mut exec, &mut env, "h", Completed, json!({"ok": 1})).unwrap();
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);

    // Terminated while waiting out the delay: the retry is cancelled, its timer disarmed.
    let (mut exec, _) = start(
        wf(json!({"name": "hu", "tasks": [
            {"name": "approve", "taskReferenceName": "h", "type": "HUMAN"}
        ]})),
        json!({}),
        &mut env,
    );
    update(&mut exec, &mut env, "h", Failed, json!({})).unwrap();
    let retry = by_ref(&exec, "h").clone();
    let d = decider::decide(
        &mut exec,
        Event::Terminate {
            reason: Some("stop".into()),
        },
        &mut env,
    )
    .unwrap();
    assert_eq!(by_ref(&exec, "h").status, TaskStatus::Canceled);
    assert_eq!(
        cancelled(&d),
        vec![decider::Timer {
            due_ms: retry.ready_due.unwrap(),
            workflow_id: "wf-1".into(),
            kind: TimerKind::TaskReady {
                task_id: retry.task_id
            }
        }]
    );
}

#[test]
fn inline_lambda_and_jq_ask_for_jobs_and_take_their_outcome() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "j", "tasks": [
        {"name": "i", "taskReferenceName": "i", "type": "INLINE",
         "inputParameters": {"evaluatorType": "javascript", "expression": "$.v * 2", "v": "${workflow.input.v}"}},
        {"name": "l", "taskReferenceName": "l", "type": "LAMBDA",
         "inputParameters": {"scriptExpression": "return $.x;", "x": "${i.output.result}"}},
        {"name": "q", "taskReferenceName": "q", "type": "JSON_JQ_TRANSFORM",
         "inputParameters": {"queryExpression": ".x", "x": "${l.output.result}"}}
    ], "outputParameters": {"r": "${q.output.result}"}}));
    let (mut exec, d) = start(def, json!({"v": 21}), &mut env);
    let (id, job) = jobs(&d).pop().unwrap();
    assert_eq!(
        job,
        Job::Script {
            script: "$.v * 2".into(),
            bindings: obj(json!({"evaluatorType": "javascript", "expression": "$.v * 2", "v": 21})),
            body: false,
        }
    );
    assert!(by_ref(&exec, "i").job_pending);
    let d = job_done(
        &mut exec,
        &mut env,
        &id,
        Completed,
        json!({"result": 42}),
        None,
    );
    let (id, job) = jobs(&d).pop().unwrap();
    assert!(matches!(job, Job::Script { body: true, .. }));
    let d = job_done(
        &mut exec,
        &mut env,
        &id,
        Completed,
        json!({"result": 42}),
        None,
    );
    let (id, job) = jobs(&d).pop().unwrap();
    assert!(matches!(&job, Job::Jq { input } if input.get("x") == Some(&json!(42))));
    job_done(
        &mut exec,
        &mut env,
        &id,
        Completed,
        json!({"result": 42, "resultList": [42]}),
        None,
    );
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
    assert_eq!(exec.workflow.output, obj(json!({"r": 42})));
}

#[test]
fn inline_value_param_needs_no_job_and_missing_scripts_fail_terminally() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "j", "tasks": [
        {"name": "i", "taskReferenceName": "i", "type": "INLINE",
         "inputParameters": {"evaluatorType": "value-param", "expression": "v", "v": [1, 2]}}
    ]}));
    let (exec, d) = start(def, json!({}), &mut env);
    assert!(jobs(&d).is_empty());
    assert_eq!(by_ref(&exec, "i").output, obj(json!({"result": [1, 2]})));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
    for (task, text) in [
        (
            json!({"name": "l", "taskReferenceName": "x", "type": "LAMBDA",
                "inputParameters": {"scriptExpression": "${workflow.input.missing}"}}),
            "scriptExpression",
        ),
        (
            json!({"name": "q", "taskReferenceName": "x", "type": "JSON_JQ_TRANSFORM",
                "inputParameters": {"queryExpression": "${workflow.input.missing}"}}),
            "queryExpression",
        ),
        (
            json!({"name": "i", "taskReferenceName": "x", "type": "INLINE",
                "inputParameters": {"evaluatorType": "python", "expression": "1"}}),
            "python",
        ),
    ] {
        let (exec, d) = start(
            wf(json!({"name": "j", "tasks": [task]})),
            json!({}),
            &mut env,
        );
        assert!(jobs(&d).is_empty());
        let x = by_ref(&exec, "x");
        assert_eq!(x.status, FailedWithTerminalError);
        assert!(x.reason_for_incompletion.as_deref().unwrap().contains(text));
    }
}

#[test]
fn a_failed_script_is_not_retried_but_a_failed_http_call_is() {
    let mut env = TestEnv::new();
    env.def(json!({"name": "h", "retryCount": 1, "retryDelaySeconds": 5}));
    let def = wf(json!({"name": "j", "tasks": [
        {"name": "h", "taskReferenceName": "h", "type": "HTTP",
         "inputParameters": {"http_request": {"uri": "http://127.0.0.1:1/x", "method": "GET"}}}
    ]}));
    let (mut exec, d) = start(def, json!({}), &mut env);
    let (id, job) = jobs(&d).pop().unwrap();
    assert!(matches!(job, Job::Http { .. }));
    let d = job_done(
        &mut exec,
        &mut env,
        &id,
        Failed,
        json!({"response": {"statusCode": 503}}),
        Some("status 503"),
    );
    let retry = by_ref(&exec, "h").clone();
    assert_eq!((retry.status, retry.retry_count), (Scheduled, 1));
    assert!(jobs(&d).is_empty(), "the retry waits out its delay");
    env.advance(5000);
    let d = fire(
        &mut exec,
        &mut env,
        TimerKind::TaskReady {
            task_id: retry.task_id.clone(),
        },
    );
    assert_eq!(jobs(&d).len(), 1);
    assert_eq!(by_ref(&exec, "h").status, InProgress);
    job_done(
        &mut exec,
        &mut env,
        &retry.task_id,
        Completed,
        json!({"response": {"statusCode": 200}}),
        None,
    );
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);

    let def = wf(json!({"name": "j", "tasks": [
        {"name": "i", "taskReferenceName": "i", "type": "INLINE",
         "inputParameters": {"evaluatorType": "javascript", "expression": "while(true){}"}}
    ]}));
    let (mut exec, d) = start(def, json!({}), &mut env);
    let (id, _) = jobs(&d).pop().unwrap();
    job_done(
        &mut exec,
        &mut env,
        &id,
        Failed,
        json!({}),
        Some("script ran longer than 2000 ms"),
    );
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    assert!(
        exec.workflow
            .reason_for_incompletion
            .as_deref()
            .unwrap()
            .contains("2000 ms")
    );
    assert_eq!(exec.tasks.len(), 1);
}

#[test]
fn an_async_complete_http_task_waits_for_an_update() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "j", "tasks": [
        {"name": "h", "taskReferenceName": "h", "type": "HTTP",
         "inputParameters": {"asyncComplete": true, "http_request": {"uri": "http://x", "method": "POST"}}}
    ]}));
    let (mut exec, d) = start(def, json!({}), &mut env);
    let (id, _) = jobs(&d).pop().unwrap();
    // While the call runs, updates are refused.
    let err = update(&mut exec, &mut env, "h", Completed, json!({})).unwrap_err();
    assert!(err.to_string().contains("still running"), "{err}");
    job_done(
        &mut exec,
        &mut env,
        &id,
        InProgress,
        json!({"response": {"statusCode": 202}}),
        None,
    );
    let h = by_ref(&exec, "h");
    assert_eq!((h.status, h.job_pending), (InProgress, false));
    update(&mut exec, &mut env, "h", Completed, json!({"done": true})).unwrap();
    let h = by_ref(&exec, "h");
    assert_eq!(
        h.output,
        obj(json!({"response": {"statusCode": 202}, "done": true}))
    );
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
}

#[test]
fn a_job_outcome_after_the_workflow_ended_changes_nothing_but_the_flag() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "j", "tasks": [
        {"name": "h", "taskReferenceName": "h", "type": "HTTP", "inputParameters": {"uri": "http://x"}}
    ]}));
    let (mut exec, d) = start(def, json!({}), &mut env);
    let (id, _) = jobs(&d).pop().unwrap();
    decider::decide(&mut exec, Event::Terminate { reason: None }, &mut env).unwrap();
    assert_eq!(by_ref(&exec, "h").status, TaskStatus::Canceled);
    let d = job_done(&mut exec, &mut env, &id, Completed, json!({}), None);
    assert!(d.effects.is_empty());
    assert_eq!(by_ref(&exec, "h").status, TaskStatus::Canceled);
}

#[test]
fn an_http_task_without_a_task_definition_of_its_own_is_not_retried() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "j", "tasks": [
        {"name": "plain_http", "taskReferenceName": "h", "type": "HTTP",
         "inputParameters": {"http_request": {"uri": "http://127.0.0.1:1/x", "method": "GET"}}},
        {"name": "a", "taskReferenceName": "a"}
    ]}));
    let (mut exec, d) = start(def, json!({}), &mut env);
    let (id, _) = jobs(&d).pop().unwrap();
    let d = job_done(&mut exec, &mut env, &id, Failed, json!({}), Some("refused"));
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    assert_eq!(exec.tasks.len(), 1, "no retry was scheduled");
    assert!(armed(&d).is_empty());
}

#[test]
fn async_complete_on_the_workflow_task_keeps_an_http_task_waiting() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "j", "tasks": [
        {"name": "h", "taskReferenceName": "h", "type": "HTTP", "asyncComplete": true,
         "inputParameters": {"uri": "http://x/hello", "method": "GET"}}
    ]}));
    let (mut exec, d) = start(def, json!({}), &mut env);
    let (id, job) = jobs(&d).pop().unwrap();
    // The call is told to leave the task waiting, as its input shows.
    let Job::Http { input } = job else {
        panic!("an HTTP job")
    };
    assert_eq!(input.get("asyncComplete"), Some(&json!(true)));
    assert_eq!(
        by_ref(&exec, "h").input.get("asyncComplete"),
        Some(&json!(true))
    );
    job_done(
        &mut exec,
        &mut env,
        &id,
        InProgress,
        json!({"response": {"statusCode": 200}}),
        None,
    );
    assert_eq!(by_ref(&exec, "h").status, InProgress);
    update(&mut exec, &mut env, "h", Completed, json!({"done": true})).unwrap();
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
}

#[test]
fn an_event_task_outputs_its_message_and_publishes_it() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "emitter", "version": 3, "tasks": [
        {"name": "e", "taskReferenceName": "e", "type": "EVENT", "sink": "conductor",
         "inputParameters": {"amount": "${workflow.input.amount}"}}
    ]}));
    let (mut exec, d) = start(def, json!({"amount": 7}), &mut env);
    let wid = exec.workflow.workflow_id.clone();
    let e = by_ref(&exec, "e").clone();
    assert_eq!(
        e.input,
        obj(json!({"amount": 7, "sink": "conductor", "asyncComplete": false}))
    );
    let message = obj(
        json!({"amount": 7, "sink": "conductor", "asyncComplete": false,
        "workflowInstanceId": wid, "workflowType": "emitter", "workflowVersion": 3,
        "correlationId": null, "taskToDomain": {},
        "event_produced": "conductor:emitter:e"}),
    );
    assert_eq!(e.output, message);
    let (id, job) = jobs(&d).pop().unwrap();
    let Job::Publish { event, payload } = job else {
        panic!("a publication")
    };
    assert_eq!(event, "conductor:emitter:e");
    assert_eq!(payload, message);
    job_done(
        &mut exec,
        &mut env,
        &id,
        Completed,
        json!({"handlers": []}),
        None,
    );
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
    assert_eq!(
        by_ref(&exec, "e").output.get("workflowType"),
        Some(&json!("emitter"))
    );
}

#[test]
fn an_event_task_with_an_unknown_provider_fails_with_its_message_as_output() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "emitter", "tasks": [
        {"name": "e", "taskReferenceName": "e", "type": "EVENT", "sink": "sqs:somewhere"}
    ]}));
    let (exec, d) = start(def, json!({}), &mut env);
    assert!(jobs(&d).is_empty());
    let e = by_ref(&exec, "e");
    assert_eq!(e.status, Failed);
    assert!(
        e.reason_for_incompletion
            .as_deref()
            .unwrap()
            .contains("sqs")
    );
    assert_eq!(
        e.output.get("event_produced"),
        Some(&json!("sqs:somewhere"))
    );
    assert_eq!(e.output.get("workflowType"), Some(&json!("emitter")));
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    // With no output template, the failed task's output is the workflow's.
    assert_eq!(exec.workflow.output, e.output);
}

#[test]
fn a_conductor_queue_named_by_the_sink_belongs_to_the_publishing_workflow() {
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "emitter", "tasks": [
        {"name": "e", "taskReferenceName": "e", "type": "EVENT", "sink": "conductor:orders"}
    ]}));
    let (exec, d) = start(def, json!({}), &mut env);
    let (_, job) = jobs(&d).pop().unwrap();
    let Job::Publish { event, .. } = job else {
        panic!("a publication")
    };
    assert_eq!(event, "conductor:emitter:orders");
    assert_eq!(
        by_ref(&exec, "e").output.get("event_produced"),
        Some(&json!("conductor:emitter:orders"))
    );
}
