//! Decider throughput on a long sequential workflow. A measurement, ignored by default:
//! `cargo test --release -p baton-core --test throughput -- --ignored --nocapture`.

mod common;

use std::time::Instant;

use baton_core::decider::{self, Event};
use baton_core::state::{TaskStatus, WorkflowStatus};
use common::*;
use serde_json::json;

#[test]
#[ignore = "a measurement; run in release mode"]
fn sequential_workflow_throughput() {
    const TASKS: usize = 400;
    const RUNS: usize = 25;
    let tasks: Vec<_> = (0..TASKS)
        .map(|i| {
            json!({"name": format!("t{}", i % 10), "taskReferenceName": format!("r{i}"),
                "inputParameters": {"a": "${workflow.input.a}", "prev": if i > 0 { format!("${{r{}.output.n}}", i - 1) } else { "x".into() }}})
        })
        .collect();
    let def = wf(json!({"name": "long", "tasks": tasks}));
    let mut env = TestEnv::new();
    for i in 0..10 {
        env.def(json!({"name": format!("t{i}"), "retryCount": 3, "responseTimeoutSeconds": 60, "timeoutSeconds": 600}));
    }
    let started = Instant::now();
    let mut events = 0usize;
    for run in 0..RUNS {
        let (mut exec, _) = start(
            def.clone(),
            json!({"a": {"payload": [1, 2, 3], "run": run}}),
            &mut env,
        );
        while exec.workflow.status == WorkflowStatus::Running {
            let id = last(&exec).task_id.clone();
            let deadline = env.now + 60_000;
            decider::decide(
                &mut exec,
                Event::Dispatched {
                    task_id: id.clone(),
                    token: id.clone(),
                    worker_id: "w".into(),
                    lease_deadline: deadline,
                },
                &mut env,
            )
            .unwrap();
            let r = result(
                &id,
                Some(&id),
                TaskStatus::Completed,
                json!({"n": events, "data": "some output text"}),
            );
            decider::decide(&mut exec, Event::Result(r), &mut env).unwrap();
            events += 2;
            env.now += 1;
        }
        assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
        assert_eq!(exec.tasks.len(), TASKS);
    }
    let secs = started.elapsed().as_secs_f64();
    let completions = (TASKS * RUNS) as f64;
    println!(
        "{} task completions ({} events) in {:.3}s: {:.0} completions/s, {:.2} us per event",
        completions,
        events,
        secs,
        completions / secs,
        secs * 1e6 / events as f64
    );
}
