//! Shared helpers for the decider tests: a deterministic environment and shorthands.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;

use baton_core::decider::{
    self, Decision, Effect, Env, Event, StartParams, TaskResult, Timer, TimerKind,
};
use baton_core::model::{Object, TaskDef, WorkflowDef};
use baton_core::state::{Execution, TaskInstance, TaskStatus};
use baton_core::validate::{parse_task_def, parse_workflow_def};
use serde_json::Value;

/// A settable clock, counter ids, a fixed random number and a map of task definitions.
pub struct TestEnv {
    pub now: i64,
    pub next_id: u64,
    pub random: u64,
    pub defs: HashMap<String, Arc<TaskDef>>,
}

impl TestEnv {
    pub fn new() -> Self {
        Self {
            now: 1_000_000,
            next_id: 0,
            random: 0,
            defs: HashMap::new(),
        }
    }

    /// Registers a task definition given as JSON.
    pub fn def(&mut self, v: Value) -> &mut Self {
        let d = parse_task_def(&v).expect("valid task def");
        self.defs.insert(d.name.clone(), Arc::new(d));
        self
    }

    pub fn advance(&mut self, ms: i64) {
        self.now += ms;
    }
}

impl Env for TestEnv {
    fn now_ms(&self) -> i64 {
        self.now
    }
    fn new_task_id(&mut self, _: &str, _: i32) -> String {
        self.next_id += 1;
        format!("task-{}", self.next_id)
    }
    fn random(&mut self) -> u64 {
        self.random
    }
    fn task_def(&self, name: &str) -> Option<Arc<TaskDef>> {
        self.defs.get(name).cloned()
    }
}

pub fn wf(v: Value) -> Arc<WorkflowDef> {
    Arc::new(parse_workflow_def(&v).expect("valid workflow def"))
}

pub fn obj(v: Value) -> Object {
    v.as_object().expect("an object").clone()
}

pub fn start(def: Arc<WorkflowDef>, input: Value, env: &mut TestEnv) -> (Execution, Decision) {
    decider::start(
        def,
        StartParams {
            workflow_id: "wf-1".into(),
            input: obj(input),
            ..Default::default()
        },
        env,
    )
    .expect("started")
}

/// The task instance with this id.
pub fn task<'a>(exec: &'a Execution, id: &str) -> &'a TaskInstance {
    exec.task(id).expect("task exists")
}

/// The last task instance.
pub fn last(exec: &Execution) -> &TaskInstance {
    exec.tasks.last().expect("a task")
}

pub fn enqueued(d: &Decision) -> Vec<String> {
    d.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Enqueue { task_id, .. } => Some(task_id.clone()),
            _ => None,
        })
        .collect()
}

pub fn dequeued(d: &Decision) -> Vec<String> {
    d.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Dequeue { task_id, .. } => Some(task_id.clone()),
            _ => None,
        })
        .collect()
}

pub fn armed(d: &Decision) -> Vec<Timer> {
    d.effects
        .iter()
        .filter_map(|e| match e {
            Effect::ArmTimer(t) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

pub fn cancelled(d: &Decision) -> Vec<Timer> {
    d.effects
        .iter()
        .filter_map(|e| match e {
            Effect::CancelTimer(t) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

pub fn closed(d: &Decision) -> Option<baton_core::state::WorkflowStatus> {
    d.effects.iter().find_map(|e| match e {
        Effect::WorkflowClosed { status } => Some(*status),
        _ => None,
    })
}

/// Hands a task to `worker` with `token`, lease of `lease_ms` from now.
pub fn dispatch(
    exec: &mut Execution,
    env: &mut TestEnv,
    id: &str,
    token: &str,
    lease_ms: i64,
) -> Decision {
    let lease_deadline = env.now + lease_ms;
    decider::decide(
        exec,
        Event::Dispatched {
            task_id: id.into(),
            token: token.into(),
            worker_id: "w1".into(),
            lease_deadline,
        },
        env,
    )
    .expect("dispatched")
}

pub fn result(id: &str, token: Option<&str>, status: TaskStatus, output: Value) -> TaskResult {
    TaskResult {
        task_id: id.into(),
        token: token.map(str::to_string),
        status,
        output: obj(output),
        reason_for_incompletion: None,
        logs: Vec::new(),
        callback_after_seconds: 0,
        worker_id: None,
    }
}

pub fn report(
    exec: &mut Execution,
    env: &mut TestEnv,
    r: TaskResult,
) -> Result<Decision, decider::DecideError> {
    decider::decide(exec, Event::Result(r), env)
}

pub fn fire(exec: &mut Execution, env: &mut TestEnv, kind: TimerKind) -> Decision {
    decider::decide(exec, Event::Timer(kind), env).expect("timers never fail")
}

/// The latest instance of a reference name.
pub fn by_ref<'a>(exec: &'a Execution, reference: &str) -> &'a TaskInstance {
    exec.latest_task(reference)
        .unwrap_or_else(|| panic!("no instance of {reference}"))
}

/// Hands the latest instance of `reference` to a worker and reports `status` with `output`.
pub fn run_ref(
    exec: &mut Execution,
    env: &mut TestEnv,
    reference: &str,
    status: TaskStatus,
    output: Value,
) -> Decision {
    let id = by_ref(exec, reference).task_id.clone();
    let token = format!("tok-{id}");
    dispatch(exec, env, &id, &token, 60_000);
    let mut r = result(&id, Some(&token), status, output);
    if status != TaskStatus::Completed {
        r.reason_for_incompletion = Some(format!("{reference} broke"));
    }
    report(exec, env, r).expect("result taken")
}

/// Completes the latest instance of `reference` with `output`.
pub fn complete_ref(
    exec: &mut Execution,
    env: &mut TestEnv,
    reference: &str,
    output: Value,
) -> Decision {
    run_ref(exec, env, reference, TaskStatus::Completed, output)
}

/// Reference names of the task instances, in scheduling order, with their statuses.
pub fn trail(exec: &Execution) -> Vec<(String, TaskStatus)> {
    exec.tasks
        .iter()
        .map(|t| (t.reference_task_name.clone(), t.status))
        .collect()
}

/// The jobs a decision asks the runtime for: (task id, job).
pub fn jobs(d: &Decision) -> Vec<(String, decider::Job)> {
    d.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Run { task_id, job } => Some((task_id.clone(), job.clone())),
            _ => None,
        })
        .collect()
}

/// Reports a job's outcome for a task.
pub fn job_done(
    exec: &mut Execution,
    env: &mut TestEnv,
    task_id: &str,
    status: TaskStatus,
    output: Value,
    reason: Option<&str>,
) -> Decision {
    decider::decide(
        exec,
        Event::JobDone {
            task_id: task_id.into(),
            outcome: decider::JobOutcome {
                status,
                output: obj(output),
                reason: reason.map(str::to_string),
            },
        },
        env,
    )
    .expect("job outcome taken")
}
