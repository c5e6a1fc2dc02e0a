//! Task domains: `taskToDomain` entries, fallback lists and `NO_DOMAIN`, decided through
//! the environment's view of which domains have workers.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use baton_core::decider::{self, Effect, Env, Event, StartParams, TaskResult};
use baton_core::model::{TaskDef, WorkflowDef};
use baton_core::state::{Execution, TaskStatus};
use baton_core::validate::{parse_task_def, parse_workflow_def};
use serde_json::json;

/// A fixed clock and a set of (task type, domain) pairs that have workers. Records every
/// question asked about active domains.
struct DomainEnv {
    next_id: u64,
    active: HashSet<(String, String)>,
    asked: RefCell<Vec<(String, Vec<String>)>>,
    defs: BTreeMap<String, Arc<TaskDef>>,
}

impl DomainEnv {
    fn new(active: &[(&str, &str)]) -> Self {
        let retry =
            parse_task_def(&json!({"name": "a", "retryCount": 1, "retryDelaySeconds": 0})).unwrap();
        Self {
            next_id: 0,
            active: active
                .iter()
                .map(|(t, d)| (t.to_string(), d.to_string()))
                .collect(),
            asked: RefCell::new(Vec::new()),
            defs: BTreeMap::from([("a".to_string(), Arc::new(retry))]),
        }
    }
}

impl Env for DomainEnv {
    fn now_ms(&self) -> i64 {
        1_000_000
    }
    fn new_task_id(&mut self, _: &str, _: i32) -> String {
        self.next_id += 1;
        format!("task-{}", self.next_id)
    }
    fn random(&mut self) -> u64 {
        0
    }
    fn task_def(&self, name: &str) -> Option<Arc<TaskDef>> {
        self.defs.get(name).cloned()
    }
    fn active_domain(&self, task_type: &str, domains: &[&str]) -> Option<usize> {
        self.asked.borrow_mut().push((
            task_type.to_string(),
            domains.iter().map(|d| d.to_string()).collect(),
        ));
        domains.iter().position(|d| {
            self.active
                .contains(&(task_type.to_string(), d.to_string()))
        })
    }
}

/// The same environment without an opinion on domains: the trait's default.
struct PlainEnv(u64);

impl Env for PlainEnv {
    fn now_ms(&self) -> i64 {
        1_000_000
    }
    fn new_task_id(&mut self, _: &str, _: i32) -> String {
        self.0 += 1;
        format!("task-{}", self.0)
    }
    fn random(&mut self) -> u64 {
        0
    }
    fn task_def(&self, _: &str) -> Option<Arc<TaskDef>> {
        None
    }
}

fn one_task() -> Arc<WorkflowDef> {
    Arc::new(
        parse_workflow_def(&json!({"name": "w", "tasks": [
            {"name": "a", "taskReferenceName": "a1"}
        ]}))
        .unwrap(),
    )
}

fn start(map: &[(&str, &str)], env: &mut dyn Env) -> (Execution, decider::Decision) {
    decider::start(
        one_task(),
        StartParams {
            workflow_id: "w".into(),
            task_to_domain: map
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        },
        env,
    )
    .unwrap()
}

fn queued_domain(d: &decider::Decision) -> Option<Option<String>> {
    d.effects.iter().find_map(|e| match e {
        Effect::Enqueue { queue, .. } => Some(queue.domain.clone()),
        _ => None,
    })
}

/// taskToDomain entries, the (task type, domain) pairs with workers, the domain expected.
type Case = (
    Vec<(&'static str, &'static str)>,
    Vec<(&'static str, &'static str)>,
    Option<&'static str>,
);

#[test]
fn a_fallback_list_takes_the_first_active_domain_else_its_last_entry() {
    // (taskToDomain, active (type, domain) pairs, expected domain)
    let cases: Vec<Case> = vec![
        (
            vec![("a", "fast,slow,NO_DOMAIN")],
            vec![("a", "slow")],
            Some("slow"),
        ),
        (
            vec![("a", "fast,slow,NO_DOMAIN")],
            vec![("a", "slow"), ("a", "fast")],
            Some("fast"),
        ),
        (vec![("a", "fast,slow,NO_DOMAIN")], vec![], None),
        (vec![("a", "fast, slow")], vec![], Some("slow")),
        // Workers of another task type do not count.
        (vec![("a", "fast,slow")], vec![("b", "fast")], Some("slow")),
        // NO_DOMAIN is only the last resort: never asked about, skipped in the middle.
        (
            vec![("a", "NO_DOMAIN,fast")],
            vec![("a", "fast")],
            Some("fast"),
        ),
        (vec![("a", "NO_DOMAIN,fast")], vec![], Some("fast")),
        (vec![("a", "fast,no_domain")], vec![], None),
        // The "*" entry applies when the task has none of its own.
        (vec![("*", "x,y")], vec![("a", "x")], Some("x")),
        (vec![("b", "x,y")], vec![("a", "x")], None),
    ];
    for (map, active, want) in cases {
        let mut env = DomainEnv::new(&active);
        let (exec, d) = start(&map, &mut env);
        assert_eq!(
            exec.tasks[0].domain.as_deref(),
            want,
            "{map:?} with {active:?}"
        );
        assert_eq!(queued_domain(&d), Some(want.map(str::to_string)), "{map:?}");
    }
}

#[test]
fn the_environment_is_asked_about_named_domains_of_the_task_type_only() {
    let mut env = DomainEnv::new(&[]);
    start(&[("a", " fast ,NO_DOMAIN, slow")], &mut env);
    assert_eq!(
        env.asked.borrow().as_slice(),
        [(
            "a".to_string(),
            vec!["fast".to_string(), "slow".to_string()]
        )]
    );
    // A single entry needs no question.
    let mut env = DomainEnv::new(&[]);
    let (exec, _) = start(&[("a", "solo")], &mut env);
    assert_eq!(exec.tasks[0].domain.as_deref(), Some("solo"));
    assert!(env.asked.borrow().is_empty());
}

#[test]
fn without_knowledge_of_workers_the_first_named_domain_is_used() {
    let mut env = PlainEnv(0);
    let (exec, _) = start(&[("a", "fast,slow,NO_DOMAIN")], &mut env);
    assert_eq!(exec.tasks[0].domain.as_deref(), Some("fast"));
    let (exec, _) = start(&[("a", "NO_DOMAIN")], &mut env);
    assert_eq!(exec.tasks[0].domain, None);
}

#[test]
fn a_retry_decides_its_domain_again() {
    let mut env = DomainEnv::new(&[("a", "fast")]);
    let (mut exec, _) = start(&[("a", "fast,slow")], &mut env);
    let first = exec.tasks[0].task_id.clone();
    assert_eq!(exec.tasks[0].domain.as_deref(), Some("fast"));
    decider::decide(
        &mut exec,
        Event::Dispatched {
            task_id: first.clone(),
            token: "t1".into(),
            worker_id: "w".into(),
            lease_deadline: 2_000_000,
        },
        &mut env,
    )
    .unwrap();
    // The fast workers went away; the retry goes to the last entry.
    env.active.clear();
    let d = decider::decide(
        &mut exec,
        Event::Result(TaskResult {
            task_id: first,
            token: Some("t1".into()),
            status: TaskStatus::Failed,
            output: Default::default(),
            reason_for_incompletion: Some("boom".into()),
            logs: Vec::new(),
            callback_after_seconds: 0,
            worker_id: None,
        }),
        &mut env,
    )
    .unwrap();
    let retry = exec.tasks.last().unwrap();
    assert_eq!(retry.retry_count, 1);
    assert_eq!(retry.domain.as_deref(), Some("slow"));
    assert_eq!(queued_domain(&d), Some(Some("slow".to_string())));
}
