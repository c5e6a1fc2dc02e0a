//! Decider throughput on a long sequential workflow and on wide forks. Measurements,
//! ignored by default:
//! `cargo test --release -p baton-core --test all throughput:: -- --ignored --nocapture`.

use std::time::Instant;

use crate::common::*;
use baton_core::decider::{self, Event};
use baton_core::state::{TaskStatus, WorkflowStatus};
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

/// Decider throughput on wide forks: 50 branches of 8 tasks (400 worker tasks) joined by
/// one JOIN, branches completing interleaved (a task from each live branch in turn, in a
/// shuffled order). A measurement, ignored by default:
/// `cargo test --release -p baton-core --test all throughput:: -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement; run in release mode"]
fn wide_fork_throughput() {
    const BRANCHES: usize = 50;
    const DEPTH: usize = 8;
    const RUNS: usize = 25;
    let branches: Vec<Vec<_>> = (0..BRANCHES)
        .map(|b| {
            (0..DEPTH)
                .map(|d| {
                    let prev = if d > 0 {
                        format!("${{b{b}_{}.output.n}}", d - 1)
                    } else {
                        "${workflow.input.a}".to_string()
                    };
                    json!({"name": format!("t{}", d % 10), "taskReferenceName": format!("b{b}_{d}"),
                        "inputParameters": {"prev": prev}})
                })
                .collect()
        })
        .collect();
    let join_on: Vec<String> = (0..BRANCHES)
        .map(|b| format!("b{b}_{}", DEPTH - 1))
        .collect();
    let def = wf(json!({"name": "wide", "tasks": [
        {"name": "fork", "taskReferenceName": "fork", "type": "FORK_JOIN", "forkTasks": branches},
        {"name": "join", "taskReferenceName": "join", "type": "JOIN", "joinOn": join_on},
        {"name": "t0", "taskReferenceName": "after", "inputParameters": {"all": "${join.output}"}}
    ]}));
    let mut env = TestEnv::new();
    for i in 0..10 {
        env.def(json!({"name": format!("t{i}"), "retryCount": 3, "responseTimeoutSeconds": 60, "timeoutSeconds": 600}));
    }
    let started = Instant::now();
    let mut events = 0usize;
    let mut completions = 0usize;
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    for run in 0..RUNS {
        let (mut exec, _) = start(def.clone(), json!({"a": run}), &mut env);
        while exec.workflow.status == WorkflowStatus::Running {
            let live: Vec<String> = exec
                .tasks
                .iter()
                .filter(|t| t.status == TaskStatus::Scheduled)
                .map(|t| t.task_id.clone())
                .collect();
            assert!(!live.is_empty());
            // A cheap shuffle: xorshift.
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let id = live[(rng % live.len() as u64) as usize].clone();
            decider::decide(
                &mut exec,
                Event::Dispatched {
                    task_id: id.clone(),
                    token: id.clone(),
                    worker_id: "w".into(),
                    lease_deadline: env.now + 60_000,
                },
                &mut env,
            )
            .unwrap();
            let r = result(&id, Some(&id), TaskStatus::Completed, json!({"n": events}));
            decider::decide(&mut exec, Event::Result(r), &mut env).unwrap();
            events += 2;
            completions += 1;
            env.now += 1;
        }
        assert_eq!(exec.workflow.status, WorkflowStatus::Completed);
        assert_eq!(exec.tasks.len(), BRANCHES * DEPTH + 3);
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "wide fork: {} task completions ({} events) in {:.3}s: {:.0} completions/s, {:.2} us per event",
        completions,
        events,
        secs,
        completions as f64 / secs,
        secs * 1e6 / events as f64
    );
}
