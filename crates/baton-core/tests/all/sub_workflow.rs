//! SUB_WORKFLOW, START_WORKFLOW and failureWorkflow in the pure decider: what it asks the
//! runtime to start, and how a child's end maps onto the parent task.

use crate::common::*;
use baton_core::decider::{self, ChildStart, Decision, Effect, Event};
use baton_core::state::{TaskStatus, WorkflowStatus};
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
    // FAILED, as in Conductor; not retried.
    assert_eq!(by_ref(&exec, "s").status, TaskStatus::Failed);
    assert_eq!(by_ref(&exec, "s").retry_count, 0);
    assert_eq!(exec.tasks.len(), 1);
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
}

#[test]
fn a_failure_workflow_named_by_the_input_starts_only_when_the_input_names_one() {
    let mut def = parent();
    def["failureWorkflow"] = json!("$workflow.input.onFailure");
    let fail = |exec: &mut baton_core::state::Execution, env: &mut TestEnv| {
        let id = by_ref(exec, "sub").task_id.clone();
        decider::decide(
            exec,
            Event::ChildEnded {
                task_id: id.clone(),
                child_id: id,
                status: WorkflowStatus::Failed,
                output: obj(json!({})),
                reason: None,
            },
            env,
        )
        .unwrap()
    };
    let mut env = TestEnv::new();
    let (mut exec, _) = start(
        wf(def.clone()),
        json!({"child": "kid", "onFailure": "cleanup"}),
        &mut env,
    );
    let d = fail(&mut exec, &mut env);
    let (_, req) = starts(&d).pop().expect("the failure workflow");
    assert_eq!(req.name, "cleanup");
    assert_eq!(
        exec.workflow.output["conductor.failure_workflow"],
        json!(req.workflow_id)
    );

    // Without the key in the input, nothing starts and the output names nothing.
    let (mut exec, _) = start(wf(def), json!({"child": "kid"}), &mut env);
    let d = fail(&mut exec, &mut env);
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    assert!(starts(&d).is_empty());
    assert!(
        !exec
            .workflow
            .output
            .contains_key("conductor.failure_workflow")
    );
}

#[test]
fn retry_with_resume_subworkflow_tasks_retries_the_child_in_place() {
    let mut env = TestEnv::new();
    let (mut exec, _) = start(wf(parent()), json!({"child": "kid"}), &mut env);
    let sub = by_ref(&exec, "sub").task_id.clone();
    let ended = |status| Event::ChildEnded {
        task_id: sub.clone(),
        child_id: sub.clone(),
        status,
        output: obj(json!({"r": 9})),
        reason: Some("kid broke".into()),
    };
    decider::decide(&mut exec, ended(WorkflowStatus::Failed), &mut env).unwrap();
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);

    // Resuming: the same SUB_WORKFLOW instance waits for its child again, which is retried.
    let d = decider::decide(
        &mut exec,
        Event::Retry {
            resume_subworkflow_tasks: true,
        },
        &mut env,
    )
    .unwrap();
    assert_eq!(exec.workflow.status, WorkflowStatus::Running);
    assert!(starts(&d).is_empty(), "no new child");
    assert!(d.effects.contains(&Effect::RetryChild {
        task_id: sub.clone(),
        child_id: sub.clone(),
    }));
    let t = by_ref(&exec, "sub");
    assert_eq!(
        (t.task_id.as_str(), t.status),
        (sub.as_str(), TaskStatus::InProgress)
    );
    assert_eq!(exec.tasks.len(), 1);
    // The child's retry reports back; the task already waits, so nothing changes.
    let d = decider::decide(
        &mut exec,
        Event::ChildReopened {
            task_id: sub.clone(),
            child_id: sub.clone(),
        },
        &mut env,
    )
    .unwrap();
    assert!(d.changed_tasks.is_empty() && d.effects.is_empty());
    // The retried child completes: the flow goes on.
    decider::decide(&mut exec, ended(WorkflowStatus::Completed), &mut env).unwrap();
    assert_eq!(by_ref(&exec, "sub").status, TaskStatus::Completed);
    assert_eq!(by_ref(&exec, "after").input, obj(json!({"r": 9})));

    // Without resuming, a retry starts a new instance with a new child.
    let (mut exec, _) = start(wf(parent()), json!({"child": "kid"}), &mut env);
    let first = by_ref(&exec, "sub").task_id.clone();
    decider::decide(
        &mut exec,
        Event::ChildEnded {
            task_id: first.clone(),
            child_id: first.clone(),
            status: WorkflowStatus::Failed,
            output: obj(json!({})),
            reason: None,
        },
        &mut env,
    )
    .unwrap();
    let d = decider::decide(
        &mut exec,
        Event::Retry {
            resume_subworkflow_tasks: false,
        },
        &mut env,
    )
    .unwrap();
    let (task_id, req) = starts(&d).pop().expect("a new child");
    assert_ne!(req.workflow_id, first);
    assert_eq!(
        task_id.as_deref(),
        Some(by_ref(&exec, "sub").task_id.as_str())
    );
}

#[test]
fn a_child_that_runs_again_reopens_its_failed_parent() {
    let mut env = TestEnv::new();
    // The child: it knows its parent and the parent's SUB_WORKFLOW task.
    let child_def = wf(json!({"name": "kid", "tasks": [
        {"name": "w", "taskReferenceName": "w"}]}));
    let (mut child, _) = start(child_def, json!({}), &mut env);
    child.workflow.parent_workflow_id = Some("P".into());
    child.workflow.parent_workflow_task_id = Some("P-sub".into());
    run_ref(
        &mut child,
        &mut env,
        "w",
        TaskStatus::FailedWithTerminalError,
        json!({}),
    );
    assert_eq!(child.workflow.status, WorkflowStatus::Failed);
    let d = decider::decide(
        &mut child,
        Event::Retry {
            resume_subworkflow_tasks: false,
        },
        &mut env,
    )
    .unwrap();
    assert!(d.effects.contains(&Effect::ReopenParent {
        workflow_id: "P".into(),
        task_id: "P-sub".into(),
    }));

    // The parent, failed by that child inside a fork, runs again: its SUB_WORKFLOW task
    // waits for the child, the cancelled branch runs again, and its own parent hears.
    let mut env = TestEnv::new();
    let def = wf(json!({"name": "parent", "tasks": [
        {"name": "f", "taskReferenceName": "f", "type": "FORK_JOIN", "forkTasks": [
            [{"name": "sub", "taskReferenceName": "sub", "type": "SUB_WORKFLOW",
              "subWorkflowParam": {"name": "kid"}}],
            [{"name": "other", "taskReferenceName": "other"}]]},
        {"name": "j", "taskReferenceName": "j", "type": "JOIN", "joinOn": ["sub", "other"]}
    ]}));
    let (mut exec, _) = start(def, json!({}), &mut env);
    exec.workflow.parent_workflow_id = Some("GP".into());
    exec.workflow.parent_workflow_task_id = Some("GP-sub".into());
    let sub = by_ref(&exec, "sub").task_id.clone();
    let other = by_ref(&exec, "other").task_id.clone();
    decider::decide(
        &mut exec,
        Event::ChildEnded {
            task_id: sub.clone(),
            child_id: sub.clone(),
            status: WorkflowStatus::Failed,
            output: obj(json!({})),
            reason: None,
        },
        &mut env,
    )
    .unwrap();
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    assert_eq!(by_ref(&exec, "other").status, TaskStatus::Canceled);
    let reopened = Event::ChildReopened {
        task_id: sub.clone(),
        child_id: sub.clone(),
    };
    // A report naming another child changes nothing.
    let d = decider::decide(
        &mut exec,
        Event::ChildReopened {
            task_id: sub.clone(),
            child_id: "someone-else".into(),
        },
        &mut env,
    )
    .unwrap();
    assert!(d.changed_tasks.is_empty());
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);

    let d = decider::decide(&mut exec, reopened.clone(), &mut env).unwrap();
    assert_eq!(exec.workflow.status, WorkflowStatus::Running);
    assert_eq!(by_ref(&exec, "sub").status, TaskStatus::InProgress);
    assert_eq!(by_ref(&exec, "sub").task_id, sub);
    let again = by_ref(&exec, "other");
    assert_ne!(again.task_id, other);
    assert_eq!(again.status, TaskStatus::Scheduled);
    assert_eq!(by_ref(&exec, "j").status, TaskStatus::InProgress);
    assert!(d.effects.contains(&Effect::ReopenParent {
        workflow_id: "GP".into(),
        task_id: "GP-sub".into(),
    }));
    assert!(starts(&d).is_empty());
    // Told twice: nothing more happens.
    let d = decider::decide(&mut exec, reopened, &mut env).unwrap();
    assert!(d.changed_tasks.is_empty() && d.effects.is_empty());
}

#[test]
fn a_child_that_cannot_start_fails_the_task_and_leaves_no_child_id() {
    let mut env = TestEnv::new();
    let (mut exec, _) = start(wf(parent()), json!({"child": "nobody"}), &mut env);
    let sub = by_ref(&exec, "sub").task_id.clone();
    decider::decide(
        &mut exec,
        Event::ChildNotStarted {
            task_id: sub.clone(),
            child_id: sub.clone(),
            reason: "no workflow definition nobody".into(),
        },
        &mut env,
    )
    .unwrap();
    let t = by_ref(&exec, "sub");
    assert_eq!(t.status, TaskStatus::Failed);
    assert!(!t.output.contains_key("subWorkflowId"), "{:?}", t.output);
    assert!(
        t.reason_for_incompletion
            .as_deref()
            .is_some_and(|r| r.contains("no workflow definition nobody"))
    );
    assert_eq!(exec.workflow.status, WorkflowStatus::Failed);
    assert!(!exec.workflow.output.contains_key("subWorkflowId"));
}
