//! Operator commands beyond pause, resume, terminate, restart and retry: rerun from a task,
//! skip a task, reset callbacks, decide, results by reference name and task logs.

use std::sync::Arc;

use crate::common::*;
use baton_core::decider::{self, DecideError, Decision, Event, Reply, TimerKind};
use baton_core::state::{Execution, TaskLog, TaskStatus, WorkflowStatus};
use serde_json::{Value, json};

/// a1 -> b1 -> c1, each feeding the next.
fn chain() -> Arc<baton_core::WorkflowDef> {
    wf(json!({
        "name": "chain",
        "inputTemplate": {"mode": "normal"},
        "tasks": [
            {"name": "a", "taskReferenceName": "a1",
             "inputParameters": {"x": "${workflow.input.x}"}},
            {"name": "b", "taskReferenceName": "b1",
             "inputParameters": {"y": "${a1.output.y}"}},
            {"name": "c", "taskReferenceName": "c1",
             "inputParameters": {"z": "${b1.output.z}"}}
        ],
        "outputParameters": {"z": "${c1.output.z}"}
    }))
}

/// Environment whose task definitions never retry.
fn no_retries() -> TestEnv {
    let mut env = TestEnv::new();
    for name in ["a", "b", "c", "d"] {
        env.def(json!({"name": name, "retryCount": 0}));
    }
    env
}

fn decide(exec: &mut Execution, env: &mut TestEnv, event: Event) -> Result<Decision, DecideError> {
    decider::decide(exec, event, env)
}

fn rerun(task_id: &str, task_input: Option<Value>, workflow_input: Option<Value>) -> Event {
    Event::Rerun {
        task_id: task_id.into(),
        task_input: task_input.map(obj),
        workflow_input: workflow_input.map(obj),
    }
}

fn skip(reference: &str, output: Value) -> Event {
    Event::SkipTask {
        reference: reference.into(),
        input: None,
        output: obj(output),
    }
}

fn refs(exec: &Execution) -> Vec<(&str, TaskStatus)> {
    exec.tasks
        .iter()
        .map(|t| (t.reference_task_name.as_str(), t.status))
        .collect()
}

// ------------------------------------------------------------------------------- rerun

#[test]
fn rerun_of_a_failed_run_starts_again_from_the_task() {
    let mut env = no_retries();
    let (mut exec, _) = start(chain(), json!({"x": 1}), &mut env);
    complete_ref(&mut exec, &mut env, "a1", json!({"y": 2}));
    run_ref(&mut exec, &mut env, "b1", TaskStatus::Failed, json!({}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    let failed_b = by_ref(&exec, "b1").task_id.clone();
    let a = by_ref(&exec, "a1").task_id.clone();

    env.advance(5_000);
    let d = decide(&mut exec, &mut env, rerun(&failed_b, None, None)).unwrap();
    assert_eq!(d.removed_tasks, vec![failed_b.clone()]);
    assert_eq!(exec.workflow.status, WorkflowStatus::Running);
    assert_eq!(exec.workflow.reason_for_incompletion, None);
    assert_eq!(exec.workflow.end_time, None);
    assert_eq!(exec.workflow.start_time, env.now);
    let b = by_ref(&exec, "b1");
    assert_ne!(b.task_id, failed_b);
    assert_eq!(b.status, TaskStatus::Scheduled);
    assert_eq!(b.input, obj(json!({"y": 2})));
    assert_eq!(b.retry_count, 0);
    assert_eq!(enqueued(&d), vec![b.task_id.clone()]);
    assert_eq!(exec.tasks[0].task_id, a, "tasks before the rerun task stay");
    assert!(exec.task(&failed_b).is_none());

    complete_ref(&mut exec, &mut env, "b1", json!({"z": 3}));
    complete_ref(&mut exec, &mut env, "c1", json!({"z": 4}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
    assert_eq!(exec.workflow.output, obj(json!({"z": 4})));
}

#[test]
fn rerun_with_new_inputs_replaces_the_workflow_input_and_the_task_input() {
    let mut env = no_retries();
    let (mut exec, _) = start(chain(), json!({"x": 1}), &mut env);
    complete_ref(&mut exec, &mut env, "a1", json!({"y": 2}));
    complete_ref(&mut exec, &mut env, "b1", json!({"z": 3}));
    complete_ref(&mut exec, &mut env, "c1", json!({"z": 3}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
    let a = by_ref(&exec, "a1").task_id.clone();
    let all: Vec<String> = exec.tasks.iter().map(|t| t.task_id.clone()).collect();

    // From the first task with a new workflow input: the input is computed from it, and
    // the definition's inputTemplate fills what it lacks.
    let d = decide(&mut exec, &mut env, rerun(&a, None, Some(json!({"x": 10})))).unwrap();
    assert_eq!(d.removed_tasks, all);
    assert_eq!(exec.workflow.input, obj(json!({"x": 10, "mode": "normal"})));
    assert_eq!(refs(&exec), vec![("a1", TaskStatus::Scheduled)]);
    assert_eq!(by_ref(&exec, "a1").input, obj(json!({"x": 10})));
    assert!(exec.workflow.output.is_empty());

    // From b1 with a given task input: it wins over the computed one.
    complete_ref(&mut exec, &mut env, "a1", json!({"y": 20}));
    let b = by_ref(&exec, "b1").task_id.clone();
    decide(
        &mut exec,
        &mut env,
        rerun(&b, Some(json!({"y": "given"})), None),
    )
    .unwrap();
    assert_eq!(by_ref(&exec, "b1").input, obj(json!({"y": "given"})));
    assert_eq!(exec.workflow.input, obj(json!({"x": 10, "mode": "normal"})));
    // The sequence numbers keep growing: no stored slot is reused.
    let seqs: Vec<i32> = exec.tasks.iter().map(|t| t.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
}

#[test]
fn rerun_of_a_running_workflow_takes_back_the_live_tasks() {
    let mut env = no_retries();
    let (mut exec, _) = start(chain(), json!({"x": 1}), &mut env);
    complete_ref(&mut exec, &mut env, "a1", json!({"y": 2}));
    // b1 waits in its queue: the rerun takes it out.
    let a = by_ref(&exec, "a1").task_id.clone();
    let b = by_ref(&exec, "b1").task_id.clone();
    let d = decide(&mut exec, &mut env, rerun(&a, None, None)).unwrap();
    assert_eq!(d.removed_tasks, vec![a.clone(), b.clone()]);
    assert_eq!(dequeued(&d), vec![b.clone()]);
    assert_eq!(exec.workflow.status, WorkflowStatus::Running);
    assert_eq!(refs(&exec), vec![("a1", TaskStatus::Scheduled)]);

    // b1 held by a worker: removed, and that worker's result is refused.
    complete_ref(&mut exec, &mut env, "a1", json!({"y": 2}));
    let a = by_ref(&exec, "a1").task_id.clone();
    let b = by_ref(&exec, "b1").task_id.clone();
    dispatch(&mut exec, &mut env, &b, "tok", 60_000);
    let d = decide(&mut exec, &mut env, rerun(&a, None, None)).unwrap();
    assert_eq!(d.removed_tasks, vec![a, b.clone()]);
    assert!(exec.task(&b).is_none());
    let err = report(
        &mut exec,
        &mut env,
        result(&b, Some("tok"), TaskStatus::Completed, json!({})),
    )
    .unwrap_err();
    assert!(matches!(err, DecideError::UnknownTask { .. }), "{err:?}");
}

#[test]
fn rerun_reschedules_what_the_end_of_the_run_cancelled_in_other_branches() {
    let mut env = no_retries();
    let def = wf(json!({
        "name": "forked",
        "tasks": [
            {"name": "f", "taskReferenceName": "fork", "type": "FORK_JOIN",
             "forkTasks": [[{"name": "a", "taskReferenceName": "a1"}],
                           [{"name": "b", "taskReferenceName": "b1"}]]},
            {"name": "j", "taskReferenceName": "join", "type": "JOIN", "joinOn": ["a1", "b1"]}
        ]
    }));
    let (mut exec, _) = start(def, json!({}), &mut env);
    // b1 fails while a1 is still queued: the run fails and a1 is cancelled.
    run_ref(&mut exec, &mut env, "b1", TaskStatus::Failed, json!({}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    assert_eq!(by_ref(&exec, "a1").status, TaskStatus::Canceled);
    let b = by_ref(&exec, "b1").task_id.clone();

    decide(&mut exec, &mut env, rerun(&b, None, None)).unwrap();
    assert_eq!(exec.workflow.status, WorkflowStatus::Running);
    assert_eq!(by_ref(&exec, "a1").status, TaskStatus::Scheduled);
    assert_eq!(by_ref(&exec, "b1").status, TaskStatus::Scheduled);
    complete_ref(&mut exec, &mut env, "a1", json!({"a": 1}));
    complete_ref(&mut exec, &mut env, "b1", json!({"b": 2}));
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
}

#[test]
fn rerun_refusals_leave_the_execution_unchanged() {
    let mut env = no_retries();
    let (mut exec, _) = start(chain(), json!({"x": 1}), &mut env);
    let a = by_ref(&exec, "a1").task_id.clone();

    let before = exec.clone();
    let err = decide(&mut exec, &mut env, rerun("nope", None, None)).unwrap_err();
    assert!(matches!(err, DecideError::UnknownTask { .. }), "{err:?}");
    assert!(err.to_string().contains("nope"));
    assert_eq!(exec, before);

    decide(&mut exec, &mut env, Event::Pause).unwrap();
    let before = exec.clone();
    let err = decide(&mut exec, &mut env, rerun(&a, None, None)).unwrap_err();
    assert!(
        matches!(&err, DecideError::WrongState { status, .. } if status == "PAUSED"),
        "{err:?}"
    );
    assert_eq!(exec, before);

    // A new input only for worker tasks.
    let def = wf(json!({
        "name": "sv",
        "tasks": [{"name": "s", "taskReferenceName": "s1", "type": "SET_VARIABLE",
                   "inputParameters": {"k": 1}}]
    }));
    let (mut exec, _) = start(def, json!({}), &mut env);
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
    let s = exec.tasks[0].task_id.clone();
    let before = exec.clone();
    let err = decide(&mut exec, &mut env, rerun(&s, Some(json!({"k": 2})), None)).unwrap_err();
    assert!(
        matches!(&err, DecideError::Invalid(m) if m.contains("SET_VARIABLE")),
        "{err:?}"
    );
    assert_eq!(exec, before);
    // Without one it runs again from its definition.
    decide(&mut exec, &mut env, rerun(&s, None, None)).unwrap();
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
    assert_eq!(exec.tasks.len(), 1);
    assert_ne!(exec.tasks[0].task_id, s);
}

// -------------------------------------------------------------------------------- skip

#[test]
fn skipping_a_queued_task_ends_it_at_once_and_the_flow_goes_on() {
    let mut env = no_retries();
    let (mut exec, _) = start(chain(), json!({"x": 1}), &mut env);
    let a = by_ref(&exec, "a1").task_id.clone();
    let d = decide(&mut exec, &mut env, skip("a1", json!({"y": "skipped"}))).unwrap();
    assert_eq!(d.reply, Reply::Done);
    let t = task(&exec, &a);
    assert_eq!(t.status, TaskStatus::Skipped);
    assert_eq!(t.output, obj(json!({"y": "skipped"})));
    assert_eq!(t.end_time, Some(env.now));
    assert_eq!(dequeued(&d), vec![a.clone()]);
    // The next task sees the skipped task's output.
    let b = by_ref(&exec, "b1");
    assert_eq!(b.status, TaskStatus::Scheduled);
    assert_eq!(b.input, obj(json!({"y": "skipped"})));
    assert_eq!(enqueued(&d), vec![b.task_id.clone()]);
}

#[test]
fn skipping_a_running_task_ends_its_lease_and_refuses_its_workers_result() {
    let mut env = no_retries();
    let (mut exec, _) = start(chain(), json!({"x": 1}), &mut env);
    let a = by_ref(&exec, "a1").task_id.clone();
    dispatch(&mut exec, &mut env, &a, "tok", 60_000);
    let d = decide(
        &mut exec,
        &mut env,
        Event::SkipTask {
            reference: "a1".into(),
            input: Some(obj(json!({"given": true}))),
            output: obj(json!({"y": 7})),
        },
    )
    .unwrap();
    let t = task(&exec, &a);
    assert_eq!(t.status, TaskStatus::Skipped);
    assert_eq!(t.lease_deadline, None);
    assert_eq!(t.input, obj(json!({"given": true})));
    assert!(d.changed_tasks.contains(&a));
    assert_eq!(by_ref(&exec, "b1").input, obj(json!({"y": 7})));
    let err = report(
        &mut exec,
        &mut env,
        result(&a, Some("tok"), TaskStatus::Completed, json!({})),
    )
    .unwrap_err();
    assert!(matches!(err, DecideError::StaleToken { .. }), "{err:?}");
}

#[test]
fn skipping_a_task_not_reached_yet_is_recorded_for_later() {
    let mut env = no_retries();
    let (mut exec, _) = start(chain(), json!({"x": 1}), &mut env);
    let d = decide(&mut exec, &mut env, skip("c1", json!({"z": "none"}))).unwrap();
    assert_eq!(d.reply, Reply::Deferred);
    assert!(d.workflow_changed);
    assert!(d.changed_tasks.is_empty());
    let pending = &exec.workflow.skip_tasks["c1"];
    assert_eq!(pending.output, obj(json!({"z": "none"})));
    assert_eq!(pending.input, None);
    assert_eq!(exec.tasks.len(), 1);
}

#[test]
fn a_skip_recorded_earlier_takes_effect_when_the_flow_reaches_the_task() {
    let mut env = no_retries();
    let (mut exec, _) = start(chain(), json!({"x": 1}), &mut env);
    decide(&mut exec, &mut env, skip("b1", json!({"z": "from skip"}))).unwrap();
    complete_ref(&mut exec, &mut env, "a1", json!({"y": 2}));
    let b = by_ref(&exec, "b1");
    assert_eq!(b.status, TaskStatus::Skipped);
    assert_eq!(b.output, obj(json!({"z": "from skip"})));
    assert_eq!(
        b.input,
        obj(json!({"y": 2})),
        "computed when none was given"
    );
    assert!(exec.workflow.skip_tasks.is_empty(), "used once");
    assert_eq!(by_ref(&exec, "c1").input, obj(json!({"z": "from skip"})));
    assert_eq!(by_ref(&exec, "c1").status, TaskStatus::Scheduled);
}

#[test]
fn a_skipped_last_task_ends_the_run_with_its_output() {
    let mut env = no_retries();
    let def = wf(json!({
        "name": "two",
        "tasks": [{"name": "a", "taskReferenceName": "a1"},
                  {"name": "b", "taskReferenceName": "b1"}]
    }));
    let (mut exec, _) = start(def, json!({}), &mut env);
    let d = decide(
        &mut exec,
        &mut env,
        Event::SkipTask {
            reference: "b1".into(),
            input: Some(obj(json!({"in": 1}))),
            output: obj(json!({"out": 2})),
        },
    )
    .unwrap();
    assert_eq!(d.reply, Reply::Deferred);
    let d = complete_ref(&mut exec, &mut env, "a1", json!({}));
    assert!(enqueued(&d).is_empty(), "the skipped task is never queued");
    let b = by_ref(&exec, "b1");
    assert_eq!(
        (b.status, &b.input),
        (TaskStatus::Skipped, &obj(json!({"in": 1})))
    );
    assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
    assert_eq!(exec.workflow.output, obj(json!({"out": 2})));
    assert_eq!(closed(&d), Some(WorkflowStatus::Completed));
}

#[test]
fn skip_refusals_name_the_problem() {
    let mut env = no_retries();
    let (mut exec, _) = start(chain(), json!({"x": 1}), &mut env);
    complete_ref(&mut exec, &mut env, "a1", json!({"y": 2}));
    let before = exec.clone();

    let err = decide(&mut exec, &mut env, skip("nope", json!({}))).unwrap_err();
    assert!(
        matches!(err, DecideError::UnknownReference { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("nope"), "{err}");

    let err = decide(&mut exec, &mut env, skip("a1", json!({}))).unwrap_err();
    assert!(
        matches!(&err, DecideError::TaskState { status, .. } if status == "COMPLETED"),
        "{err:?}"
    );
    assert!(err.to_string().contains("a1") && err.to_string().contains("COMPLETED"));
    assert_eq!(exec, before);

    decide(&mut exec, &mut env, Event::Pause).unwrap();
    let err = decide(&mut exec, &mut env, skip("b1", json!({}))).unwrap_err();
    assert!(
        matches!(&err, DecideError::WrongState { status, .. } if status == "PAUSED"),
        "{err:?}"
    );

    let def = wf(json!({
        "name": "forked",
        "tasks": [
            {"name": "f", "taskReferenceName": "fork", "type": "FORK_JOIN",
             "forkTasks": [[{"name": "a", "taskReferenceName": "x1"}]]},
            {"name": "j", "taskReferenceName": "join", "type": "JOIN", "joinOn": ["x1"]}
        ]
    }));
    let (mut exec, _) = start(def, json!({}), &mut env);
    let err = decide(&mut exec, &mut env, skip("join", json!({}))).unwrap_err();
    assert!(
        matches!(&err, DecideError::Invalid(m) if m.contains("JOIN")),
        "{err:?}"
    );
}

#[test]
fn restart_forgets_pending_skips() {
    let mut env = no_retries();
    let (mut exec, _) = start(chain(), json!({"x": 1}), &mut env);
    decide(&mut exec, &mut env, skip("c1", json!({}))).unwrap();
    decide(&mut exec, &mut env, Event::Terminate { reason: None }).unwrap();
    decide(&mut exec, &mut env, Event::Restart { def: None }).unwrap();
    assert!(exec.workflow.skip_tasks.is_empty());
}

// ---------------------------------------------------------------------- reset callbacks

#[test]
fn reset_callbacks_makes_hidden_tasks_ready_now() {
    let mut env = no_retries();
    let def = wf(json!({
        "name": "two",
        "tasks": [
            {"name": "a", "taskReferenceName": "a1"},
            {"name": "b", "taskReferenceName": "b1", "startDelay": 600}
        ]
    }));
    let (mut exec, _) = start(def, json!({}), &mut env);
    let a = by_ref(&exec, "a1").task_id.clone();
    dispatch(&mut exec, &mut env, &a, "tok", 60_000);
    let mut r = result(&a, Some("tok"), TaskStatus::InProgress, json!({"p": 1}));
    r.callback_after_seconds = 3600;
    report(&mut exec, &mut env, r).unwrap();
    let due = task(&exec, &a).ready_due.expect("hidden");

    env.advance(1_000);
    let d = decide(&mut exec, &mut env, Event::ResetCallbacks).unwrap();
    let t = task(&exec, &a);
    assert_eq!(t.status, TaskStatus::Scheduled);
    assert_eq!(t.ready_due, None);
    assert_eq!(t.callback_after_seconds, 0);
    assert_eq!(t.ready_time, env.now);
    assert_eq!(enqueued(&d), vec![a.clone()]);
    assert_eq!(
        cancelled(&d),
        vec![baton_core::Timer {
            due_ms: due,
            workflow_id: "wf-1".into(),
            kind: TimerKind::TaskReady { task_id: a.clone() }
        }]
    );
    // Its late timer does nothing now.
    let d = fire(
        &mut exec,
        &mut env,
        TimerKind::TaskReady { task_id: a.clone() },
    );
    assert!(enqueued(&d).is_empty());

    // A start delay is not a callback: it stays.
    complete_ref(&mut exec, &mut env, "a1", json!({}));
    let b = by_ref(&exec, "b1").task_id.clone();
    assert!(task(&exec, &b).ready_due.is_some());
    let d = decide(&mut exec, &mut env, Event::ResetCallbacks).unwrap();
    assert!(enqueued(&d).is_empty() && d.changed_tasks.is_empty());
    assert!(task(&exec, &b).ready_due.is_some());

    decide(&mut exec, &mut env, Event::Terminate { reason: None }).unwrap();
    let err = decide(&mut exec, &mut env, Event::ResetCallbacks).unwrap_err();
    assert!(
        matches!(&err, DecideError::WrongState { status, .. } if status == "TERMINATED"),
        "{err:?}"
    );
}

// ------------------------------------------------------------------------------ decide

#[test]
fn decide_changes_nothing_when_nothing_is_due() {
    let mut env = no_retries();
    let (mut exec, _) = start(chain(), json!({"x": 1}), &mut env);
    complete_ref(&mut exec, &mut env, "a1", json!({"y": 2}));
    let before = exec.clone();
    let d = decide(&mut exec, &mut env, Event::Decide).unwrap();
    assert_eq!(d, Decision::default());
    assert_eq!(exec, before);
    decide(&mut exec, &mut env, Event::Terminate { reason: None }).unwrap();
    let before = exec.clone();
    let d = decide(&mut exec, &mut env, Event::Decide).unwrap();
    assert_eq!(d, Decision::default());
    assert_eq!(exec, before);
}

#[test]
fn decide_acts_on_what_a_pause_held_back() {
    let mut env = no_retries();
    let (mut exec, _) = start(chain(), json!({"x": 1}), &mut env);
    decide(&mut exec, &mut env, Event::Pause).unwrap();
    complete_ref(&mut exec, &mut env, "a1", json!({"y": 2}));
    assert_eq!(exec.tasks.len(), 1, "nothing scheduled while paused");
    // Decide does nothing while paused; once running again it schedules what is due.
    let d = decide(&mut exec, &mut env, Event::Decide).unwrap();
    assert_eq!(d, Decision::default());
    exec.workflow.status = WorkflowStatus::Running;
    let d = decide(&mut exec, &mut env, Event::Decide).unwrap();
    assert_eq!(enqueued(&d), vec![by_ref(&exec, "b1").task_id.clone()]);
}

// ------------------------------------------------------------- results by reference name

#[test]
fn a_result_by_reference_goes_to_the_latest_instance() {
    let mut env = TestEnv::new();
    env.def(json!({"name": "a", "retryCount": 1, "retryDelaySeconds": 0}));
    let (mut exec, _) = start(chain(), json!({"x": 1}), &mut env);
    run_ref(&mut exec, &mut env, "a1", TaskStatus::Failed, json!({}));
    let latest = by_ref(&exec, "a1").task_id.clone();
    assert_eq!(exec.tasks.len(), 2);

    let mut r = result("ignored", None, TaskStatus::Completed, json!({"y": 5}));
    r.logs = vec![TaskLog {
        log: "done by hand".into(),
        created_time: 1,
    }];
    let d = decide(
        &mut exec,
        &mut env,
        Event::ResultByRef {
            reference: "a1".into(),
            result: r,
        },
    )
    .unwrap();
    assert_eq!(
        d.reply,
        Reply::TaskUpdated {
            task_id: latest.clone()
        }
    );
    let t = task(&exec, &latest);
    assert_eq!(t.status, TaskStatus::Completed);
    assert_eq!(t.logs.len(), 1);
    assert_eq!(by_ref(&exec, "b1").input, obj(json!({"y": 5})));

    let by_ref_event = |reference: &str| Event::ResultByRef {
        reference: reference.into(),
        result: result("", None, TaskStatus::Completed, json!({})),
    };
    let err = decide(&mut exec, &mut env, by_ref_event("zzz")).unwrap_err();
    assert!(
        matches!(err, DecideError::UnknownReference { .. }),
        "{err:?}"
    );
    let err = decide(&mut exec, &mut env, by_ref_event("c1")).unwrap_err();
    assert!(
        matches!(&err, DecideError::WrongState { action, .. } if action.contains("not been scheduled")),
        "{err:?}"
    );
    let err = decide(
        &mut exec,
        &mut env,
        Event::ResultByRef {
            reference: "a1".into(),
            result: result("", None, TaskStatus::Failed, json!({})),
        },
    )
    .unwrap_err();
    assert!(matches!(err, DecideError::StaleToken { .. }), "{err:?}");
    assert!(err.to_string().contains("COMPLETED"), "{err}");
}

// ---------------------------------------------------------------------------- task logs

#[test]
fn logs_are_appended_to_any_task() {
    let mut env = no_retries();
    let (mut exec, _) = start(chain(), json!({"x": 1}), &mut env);
    complete_ref(&mut exec, &mut env, "a1", json!({"y": 2}));
    let a = by_ref(&exec, "a1").task_id.clone();
    let line = |s: &str| TaskLog {
        log: s.into(),
        created_time: 7,
    };
    let d = decide(
        &mut exec,
        &mut env,
        Event::AddLogs {
            task_id: a.clone(),
            logs: vec![line("one"), line("two")],
        },
    )
    .unwrap();
    assert_eq!(d.changed_tasks, vec![a.clone()]);
    assert_eq!(task(&exec, &a).logs, vec![line("one"), line("two")]);
    let err = decide(
        &mut exec,
        &mut env,
        Event::AddLogs {
            task_id: "nope".into(),
            logs: vec![line("x")],
        },
    )
    .unwrap_err();
    assert!(matches!(err, DecideError::UnknownTask { .. }), "{err:?}");
}

#[test]
fn a_result_by_reference_signals_a_human_task() {
    let mut env = no_retries();
    let def = wf(json!({"name": "approve", "tasks": [
        {"name": "h", "taskReferenceName": "approval", "type": "HUMAN"},
        {"name": "a", "taskReferenceName": "a1", "inputParameters": {"ok": "${approval.output.ok}"}}
    ]}));
    let (mut exec, _) = start(def, json!({}), &mut env);
    let h = by_ref(&exec, "approval").task_id.clone();
    let signal = |status| Event::ResultByRef {
        reference: "approval".into(),
        result: result("", None, status, json!({"ok": true})),
    };
    let d = decide(&mut exec, &mut env, signal(TaskStatus::Completed)).unwrap();
    assert_eq!(d.reply, Reply::TaskUpdated { task_id: h.clone() });
    assert_eq!(task(&exec, &h).status, TaskStatus::Completed);
    assert_eq!(by_ref(&exec, "a1").input, obj(json!({"ok": true})));
    // A repeat names the same task and changes nothing.
    let before = exec.clone();
    let d = decide(&mut exec, &mut env, signal(TaskStatus::Failed)).unwrap();
    assert_eq!(d.reply, Reply::TaskUpdated { task_id: h });
    assert_eq!(exec, before);
}
