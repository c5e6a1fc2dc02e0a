//! Property tests: random workflows run against a simulated runtime (ready queue, timer heap
//! on a fake clock, workers that complete, fail, report progress, vanish, stall, repeat
//! themselves or quote bad tokens, and an operator that pauses, resumes, terminates,
//! retries and restarts). Workflows mix worker tasks (optional, permissive, with every
//! retry and timeout policy) with NOOP, SET_VARIABLE, TERMINATE, SWITCH and DECISION (each
//! picking a random case) and FORK_JOIN/JOIN, nested. Workers take random times, so fork branches
//! finish in random orders.
//!
//! Checked after every event: refused events change nothing; a task is never queued while
//! queued or held; at most one live instance per reference name; every live task is
//! queued, waiting on an armed timer, leased with an armed lease timer, or is a JOIN
//! (nothing is stuck: a RUNNING workflow with nothing pending fails the test). Checked per
//! run: a terminal status is reached within a bounded number of events; every instance
//! follows an instance of what precedes it in the definition; cases not taken never run;
//! inputs come from the instance that preceded them; a COMPLETED run ran every task on its
//! path successfully, its JOINs map their references to outputs, its variables hold what
//! SET_VARIABLE put there and its output is the output of the task that ended it; a run
//! ended by TERMINATE has the status, reason and output the TERMINATE gave.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use baton_core::WorkflowDef;
use baton_core::decider::{self, DecideError, Decision, Effect, Event, Reply, Timer, TimerKind};
use baton_core::state::{Execution, TaskInstance, TaskStatus, WorkflowStatus};
use common::*;
use proptest::prelude::*;
use serde_json::{Value, json};

#[derive(Debug, Clone)]
struct TaskSpec {
    retry_count: i32,
    retry_logic: &'static str,
    retry_delay: i64,
    scale: i32,
    jitter_ms: i64,
    timeout: i64,
    response_timeout: i64,
    timeout_policy: &'static str,
    poll_timeout: i64,
    total_timeout: i64,
    start_delay: i64,
    optional: bool,
    permissive: bool,
    wt_retry: Option<i32>,
    inline: bool,
}

fn task_spec() -> impl Strategy<Value = TaskSpec> {
    (
        (
            0..=3i32,
            prop::sample::select(vec!["FIXED", "LINEAR_BACKOFF", "EXPONENTIAL_BACKOFF"]),
            0..=2i64,
            1..=2i32,
            prop::sample::select(vec![0i64, 0, 300]),
        ),
        (
            prop::sample::select(vec![0i64, 0, 8, 20]),
            1..=5i64,
            prop::sample::select(vec!["RETRY", "TIME_OUT_WF", "ALERT_ONLY"]),
        ),
        (
            prop::sample::select(vec![0i64, 0, 6]),
            prop::sample::select(vec![0i64, 0, 0, 30]),
            0..=2i64,
        ),
        (
            prop::bool::weighted(0.2),
            prop::bool::weighted(0.1),
            prop::option::weighted(0.2, 0..=2i32),
            prop::bool::weighted(0.3),
        ),
    )
        .prop_map(
            |((rc, rl, rd, sc, j), (to, rt, tp), (pt, tt, sd), (opt, perm, wr, inline))| TaskSpec {
                retry_count: rc,
                retry_logic: rl,
                retry_delay: rd,
                scale: sc,
                jitter_ms: j,
                timeout: to,
                response_timeout: if to > 0 { rt.min(to) } else { rt },
                timeout_policy: tp,
                poll_timeout: pt,
                total_timeout: tt,
                start_delay: sd,
                optional: opt,
                permissive: perm,
                wt_retry: wr,
                inline,
            },
        )
}

/// What a worker (or the operator) does next.
#[derive(Debug, Clone, Copy)]
enum Act {
    Complete,
    Fail,
    FailTerminal,
    /// IN_PROGRESS with callbackAfterSeconds.
    Callback(i64),
    /// IN_PROGRESS without callback: the worker keeps going.
    Progress,
    Extend,
    /// The stream breaks: the runtime returns the task; maybe a late result follows.
    Vanish {
        late: bool,
    },
    /// The worker goes silent: the lease runs out; maybe a late result follows.
    Stall {
        late: bool,
    },
    /// The result is sent twice.
    CompleteTwice,
    /// A result quoting a token never issued, then the worker goes on.
    BadToken,
    Pause,
    Resume,
    Terminate,
    RetryWf,
    RestartWf,
}

fn act() -> impl Strategy<Value = (Act, u16)> {
    let a = prop_oneof![
        12 => Just(Act::Complete),
        3 => Just(Act::Fail),
        1 => Just(Act::FailTerminal),
        2 => (1..=3i64).prop_map(Act::Callback),
        2 => Just(Act::Progress),
        2 => Just(Act::Extend),
        2 => any::<bool>().prop_map(|late| Act::Vanish { late }),
        2 => any::<bool>().prop_map(|late| Act::Stall { late }),
        2 => Just(Act::CompleteTwice),
        1 => Just(Act::BadToken),
        1 => Just(Act::Pause),
        1 => Just(Act::Resume),
        1 => Just(Act::Terminate),
        1 => Just(Act::RetryWf),
        1 => Just(Act::RestartWf),
    ];
    let delay = prop_oneof![3 => 0..800u16, 1 => 0..4000u16];
    (a, delay)
}

/// One step of a random workflow.
#[derive(Debug, Clone)]
enum Node {
    Worker(TaskSpec),
    Noop,
    SetVar,
    /// TERMINATE with this status.
    Terminate(&'static str),
    /// FORK_JOIN with these branches, followed by a JOIN on each branch's last task.
    Fork(Vec<Vec<Node>>),
    /// SWITCH (or DECISION) on a workflow input; `pick` is the case the input selects (an
    /// index past the cases selects nothing, hence the default case).
    Switch {
        cases: Vec<Vec<Node>>,
        default: Vec<Node>,
        pick: usize,
        decision: bool,
    },
}

fn node() -> impl Strategy<Value = Node> {
    let leaf = prop_oneof![
        20 => task_spec().prop_map(Node::Worker),
        2 => Just(Node::Noop),
        2 => Just(Node::SetVar),
        1 => prop::sample::select(vec!["COMPLETED", "FAILED", "TERMINATED"]).prop_map(Node::Terminate),
    ];
    leaf.prop_recursive(3, 14, 3, |inner| {
        let list = prop::collection::vec(inner, 0..=3);
        prop_oneof![
            prop::collection::vec(list.clone(), 1..=3).prop_map(Node::Fork),
            (
                prop::collection::vec(list.clone(), 1..=2),
                list,
                0..=2usize,
                prop::bool::weighted(0.3)
            )
                .prop_map(|(cases, default, pick, decision)| Node::Switch {
                    pick: pick.min(cases.len()),
                    cases,
                    default,
                    decision,
                }),
        ]
    })
}

/// What a reference name is, as the generator built it.
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Worker { optional: bool },
    Noop,
    SetVar,
    Terminate,
    Fork,
    Join { join_on: Vec<String> },
    Switch { value: String },
}

#[derive(Debug, Clone)]
struct RefInfo {
    kind: Kind,
    /// What must have an instance before this one is scheduled: the previous task in the
    /// same list, else the operator holding the list.
    pred: Option<String>,
    /// The previous task in the same list (read by a worker's `prev` input).
    sibling: Option<String>,
    /// Runs unless the workflow stops early: not inside a case that is not taken.
    on_path: bool,
}

/// The generated definition's references, its workflow input and the task that ends it.
#[derive(Debug, Default)]
struct Meta {
    refs: BTreeMap<String, RefInfo>,
    input: serde_json::Map<String, Value>,
    end: String,
    counter: usize,
}

impl Meta {
    fn next(&mut self) -> usize {
        self.counter += 1;
        self.counter
    }

    /// Builds the JSON of one list; returns it and the reference of its last task.
    fn list(
        &mut self,
        nodes: &[Node],
        container: Option<String>,
        on_path: bool,
        env: &mut TestEnv,
    ) -> (Vec<Value>, Option<String>) {
        let mut out = Vec::new();
        let mut sibling: Option<String> = None;
        for n in nodes {
            let pred = sibling.clone().or_else(|| container.clone());
            let i = self.next();
            let info = |kind| RefInfo {
                kind,
                pred: pred.clone(),
                sibling: sibling.clone(),
                on_path,
            };
            let last = match n {
                Node::Worker(s) => {
                    let r = format!("r{i}");
                    let name = format!("t{i}");
                    let mut td = json!({
                        "name": name, "retryCount": s.retry_count, "retryLogic": s.retry_logic,
                        "retryDelaySeconds": s.retry_delay, "backoffScaleFactor": s.scale,
                        "backoffJitterMs": s.jitter_ms, "timeoutSeconds": s.timeout,
                        "responseTimeoutSeconds": s.response_timeout, "timeoutPolicy": s.timeout_policy,
                        "pollTimeoutSeconds": s.poll_timeout, "totalTimeoutSeconds": s.total_timeout
                    });
                    let prev = match &sibling {
                        Some(p) => format!("${{{p}.output.v}}"),
                        None => "none".to_string(),
                    };
                    let mut wt = json!({
                        "name": name, "taskReferenceName": r, "startDelay": s.start_delay,
                        "optional": s.optional, "permissive": s.permissive,
                        "inputParameters": {"wf": "${workflow.input.k}", "prev": prev}
                    });
                    if let Some(rc) = s.wt_retry {
                        wt["retryCount"] = json!(rc);
                    }
                    if s.inline {
                        wt["taskDefinition"] = td.take();
                    } else {
                        env.def(td);
                    }
                    out.push(wt);
                    self.refs.insert(
                        r.clone(),
                        info(Kind::Worker {
                            optional: s.optional,
                        }),
                    );
                    r
                }
                Node::Noop => {
                    let r = format!("n{i}");
                    out.push(json!({"name": "noop", "taskReferenceName": r, "type": "NOOP"}));
                    self.refs.insert(r.clone(), info(Kind::Noop));
                    r
                }
                Node::SetVar => {
                    let r = format!("v{i}");
                    out.push(
                        json!({"name": "setvar", "taskReferenceName": r, "type": "SET_VARIABLE",
                        "inputParameters": {format!("sv_{r}"): "${workflow.input.k}"}}),
                    );
                    self.refs.insert(r.clone(), info(Kind::SetVar));
                    r
                }
                Node::Terminate(status) => {
                    let r = format!("x{i}");
                    out.push(json!({"name": "term", "taskReferenceName": r, "type": "TERMINATE",
                        "inputParameters": {"terminationStatus": status, "terminationReason": "by terminate",
                            "workflowOutput": {"t": r}}}));
                    self.refs.insert(r.clone(), info(Kind::Terminate));
                    r
                }
                Node::Fork(branches) => {
                    let f = format!("f{i}");
                    let j = format!("j{i}");
                    self.refs.insert(f.clone(), info(Kind::Fork));
                    let mut fork_tasks = Vec::new();
                    let mut join_on = Vec::new();
                    for b in branches {
                        let (tasks, last) = self.list(b, Some(f.clone()), on_path, env);
                        fork_tasks.push(Value::Array(tasks));
                        join_on.extend(last);
                    }
                    out.push(json!({"name": "fork", "taskReferenceName": f, "type": "FORK_JOIN", "forkTasks": fork_tasks}));
                    out.push(json!({"name": "join", "taskReferenceName": j, "type": "JOIN", "joinOn": join_on}));
                    self.refs.insert(
                        j.clone(),
                        RefInfo {
                            kind: Kind::Join { join_on },
                            pred: Some(f.clone()),
                            sibling: Some(f),
                            on_path,
                        },
                    );
                    j
                }
                Node::Switch {
                    cases,
                    default,
                    pick,
                    decision,
                } => {
                    let r = format!("s{i}");
                    let value = if *pick < cases.len() {
                        format!("c{pick}")
                    } else {
                        "other".to_string()
                    };
                    self.input.insert(format!("sw_{r}"), json!(value));
                    self.refs.insert(r.clone(), info(Kind::Switch { value }));
                    // DECISION runs the default case for an empty case too.
                    let taken = *pick >= cases.len() || (*decision && cases[*pick].is_empty());
                    let mut decision_cases = serde_json::Map::new();
                    for (c, list) in cases.iter().enumerate() {
                        let here = c == *pick && !taken;
                        let (tasks, _) = self.list(list, Some(r.clone()), on_path && here, env);
                        decision_cases.insert(format!("c{c}"), Value::Array(tasks));
                    }
                    let (default_tasks, _) =
                        self.list(default, Some(r.clone()), on_path && taken, env);
                    let sel = format!("${{workflow.input.sw_{r}}}");
                    out.push(if *decision {
                        json!({"name": "decision", "taskReferenceName": r, "type": "DECISION",
                            "caseValueParam": "sel", "inputParameters": {"sel": sel},
                            "decisionCases": decision_cases, "defaultCase": default_tasks})
                    } else {
                        json!({"name": "switch", "taskReferenceName": r, "type": "SWITCH",
                            "evaluatorType": "value-param", "expression": "sel",
                            "inputParameters": {"sel": sel},
                            "decisionCases": decision_cases, "defaultCase": default_tasks})
                    });
                    r
                }
            };
            sibling = Some(last);
        }
        (out, sibling)
    }
}

fn build(nodes: &[Node], wf_timeout: i64, env: &mut TestEnv) -> (Arc<WorkflowDef>, Meta) {
    let mut meta = Meta::default();
    meta.input.insert("k".into(), json!("key"));
    let (tasks, _) = meta.list(nodes, None, true, env);
    let mut def = json!({"name": "prop", "tasks": tasks});
    if wf_timeout > 0 {
        def["timeoutSeconds"] = json!(wf_timeout);
        def["timeoutPolicy"] = json!("TIME_OUT_WF");
    }
    let def = wf(def);
    meta.end = end_task_ref(&def.tasks, &meta);
    (def, meta)
}

/// The reference whose output becomes the workflow's: the last task; for a SWITCH whose
/// taken case has tasks, the end of that case.
fn end_task_ref(list: &[baton_core::WorkflowTask], meta: &Meta) -> String {
    let last = list.last().expect("non-empty list");
    let r = &last.task_reference_name;
    if let Some(RefInfo {
        kind: Kind::Switch { value },
        ..
    }) = meta.refs.get(r)
    {
        let case = match last.decision_cases.get(value) {
            Some(c) if !c.is_empty() || last.task_type == "SWITCH" => c,
            _ => &last.default_case,
        };
        if !case.is_empty() {
            return end_task_ref(case, meta);
        }
    }
    r.clone()
}

/// A worker's pending action on an assignment.
#[derive(Debug, Clone)]
struct Pending {
    at: i64,
    task_id: String,
    token: String,
    /// A late result from a worker that lost the task: sent once, no follow-up.
    late: bool,
}

struct Sim {
    env: TestEnv,
    exec: Execution,
    acts: VecDeque<(Act, u16)>,
    queue: VecDeque<String>,
    queued: HashSet<String>,
    /// Task id -> token of the worker holding it.
    held: HashMap<String, String>,
    timers: BTreeMap<(i64, u64), Timer>,
    timer_seq: u64,
    pending: Vec<Pending>,
    tokens: u64,
    events: usize,
    log: Vec<String>,
}

const MAX_EVENTS: usize = 20_000;

impl Sim {
    fn next_act(&mut self) -> (Act, u16) {
        self.acts.pop_front().unwrap_or((Act::Complete, 100))
    }

    fn apply(&mut self, d: &Decision) {
        let mut seen = HashSet::new();
        for id in &d.changed_tasks {
            assert!(
                seen.insert(id.clone()),
                "task {id} listed twice in changed_tasks"
            );
            let t = self
                .exec
                .task(id)
                .unwrap_or_else(|| panic!("changed task {id} missing"));
            assert_eq!(
                t.update_time, self.env.now,
                "update_time of changed task {id}"
            );
        }
        if d.workflow_changed {
            assert_eq!(self.exec.workflow.update_time, self.env.now);
        }
        for id in &d.removed_tasks {
            assert!(self.exec.task(id).is_none());
            self.queued.remove(id);
            self.held.remove(id);
        }
        for e in &d.effects {
            match e {
                Effect::Enqueue { task_id, queue, .. } => {
                    assert!(
                        !self.queued.contains(task_id),
                        "{task_id} enqueued while queued\n{}",
                        self.log.join("\n")
                    );
                    assert!(
                        !self.held.contains_key(task_id),
                        "{task_id} enqueued while held\n{}",
                        self.log.join("\n")
                    );
                    let t = self.exec.task(task_id).expect("enqueued task exists");
                    assert_eq!(t.status, TaskStatus::Scheduled);
                    assert_eq!(queue.task_type, t.task_def_name);
                    self.queued.insert(task_id.clone());
                    self.queue.push_back(task_id.clone());
                }
                Effect::Dequeue { task_id, .. } => {
                    if self.queued.remove(task_id) {
                        self.queue.retain(|q| q != task_id);
                    }
                }
                Effect::ArmTimer(t) => {
                    assert_eq!(t.workflow_id, self.exec.workflow.workflow_id);
                    self.timer_seq += 1;
                    self.timers.insert((t.due_ms, self.timer_seq), t.clone());
                }
                Effect::CancelTimer(t) => {
                    self.timers.retain(|_, x| x != t);
                }
                Effect::WorkflowClosed { status } => {
                    assert_eq!(*status, self.exec.workflow.status);
                    assert!(status.is_terminal());
                }
                Effect::Run { task_id, .. } => {
                    panic!("job asked for {task_id}, yet these workflows have no job tasks")
                }
                Effect::StartWorkflow { .. } | Effect::TerminateWorkflow { .. } => {
                    panic!("these workflows have no sub-workflows")
                }
            }
        }
        // Tasks that ended are no longer held by anyone.
        let exec = &self.exec;
        self.held.retain(|id, tok| {
            exec.task(id).is_some_and(|t| {
                t.status == TaskStatus::InProgress && t.token.as_deref() == Some(tok.as_str())
            })
        });
    }

    /// Feeds one event; a refused event must leave the execution unchanged.
    fn feed(&mut self, ev: Event) -> Result<Decision, DecideError> {
        self.events += 1;
        self.log.push(format!("{} {:?}", self.env.now, ev));
        if self.log.len() > 60 {
            self.log.remove(0);
        }
        let before = self.exec.clone();
        match decider::decide(&mut self.exec, ev, &mut self.env) {
            Ok(d) => {
                if d.reply == Reply::Duplicate {
                    assert_eq!(self.exec, before, "a duplicate changed the execution");
                    assert!(d.effects.is_empty() && d.changed_tasks.is_empty());
                }
                if d.effects.is_empty()
                    && d.changed_tasks.is_empty()
                    && !d.workflow_changed
                    && d.removed_tasks.is_empty()
                {
                    assert_eq!(self.exec, before, "a no-op decision changed the execution");
                }
                self.apply(&d);
                self.check();
                Ok(d)
            }
            Err(e) => {
                assert_eq!(self.exec, before, "refused event {e} changed the execution");
                Err(e)
            }
        }
    }

    fn has_timer(&self, due: i64, kind: &TimerKind) -> bool {
        self.timers
            .iter()
            .any(|((d, _), t)| *d == due && t.kind == *kind)
    }

    /// Invariants that hold after every event.
    fn check(&self) {
        let exec = &self.exec;
        let mut live = HashSet::new();
        for t in &exec.tasks {
            if !t.status.is_terminal() {
                assert!(
                    live.insert(t.reference_task_name.clone()),
                    "two live instances of {}",
                    t.reference_task_name
                );
            }
        }
        for id in &self.queued {
            let t = exec.task(id).expect("queued task exists");
            assert_eq!(
                t.status,
                TaskStatus::Scheduled,
                "queued task {id} is {:?}",
                t.status
            );
            assert!(t.ready_due.is_none());
        }
        let status = exec.workflow.status;
        if status.is_terminal() {
            assert!(
                exec.tasks.iter().all(|t| t.status.is_terminal()),
                "live task in a closed workflow"
            );
            assert!(exec.workflow.end_time.is_some());
            return;
        }
        for t in exec.tasks.iter().filter(|t| !t.status.is_terminal()) {
            match t.status {
                TaskStatus::Scheduled => match t.ready_due {
                    None => assert!(
                        self.queued.contains(&t.task_id),
                        "SCHEDULED task {} is neither queued nor delayed\n{}",
                        t.task_id,
                        self.log.join("\n")
                    ),
                    Some(due) => assert!(
                        self.has_timer(
                            due,
                            &TimerKind::TaskReady {
                                task_id: t.task_id.clone()
                            }
                        ),
                        "delayed task {} has no timer",
                        t.task_id
                    ),
                },
                TaskStatus::InProgress if t.task_type == "JOIN" => {
                    // Waits for its references; the decider ends it.
                    assert!(t.token.is_none() && t.lease_deadline.is_none());
                }
                TaskStatus::InProgress => {
                    let token = t.token.clone().expect("leased task has a token");
                    let deadline = t.lease_deadline.expect("leased task has a deadline");
                    assert!(
                        self.has_timer(
                            deadline,
                            &TimerKind::LeaseExpired {
                                task_id: t.task_id.clone(),
                                token
                            }
                        ),
                        "no lease timer for {}",
                        t.task_id
                    );
                }
                _ => unreachable!(),
            }
        }
        if status == WorkflowStatus::Running {
            assert!(
                exec.tasks.iter().any(|t| !t.status.is_terminal()),
                "RUNNING with nothing to run\n{}",
                self.log.join("\n")
            );
        }
    }

    fn dispatch_one(&mut self) {
        let id = self.queue.pop_front().expect("queue not empty");
        self.queued.remove(&id);
        self.tokens += 1;
        let token = format!("tok-{}", self.tokens);
        let lease = self
            .exec
            .task(&id)
            .expect("queued task")
            .response_timeout_seconds
            * 1000;
        let ev = Event::Dispatched {
            task_id: id.clone(),
            token: token.clone(),
            worker_id: "w".into(),
            lease_deadline: self.env.now + lease,
        };
        self.feed(ev)
            .expect("a queued task can always be dispatched");
        self.held.insert(id.clone(), token.clone());
        self.operator_acts();
        let (_, delay) = self.acts.front().copied().unwrap_or((Act::Complete, 100));
        self.pending.push(Pending {
            at: self.env.now + i64::from(delay),
            task_id: id,
            token,
            late: false,
        });
    }

    /// Operator commands at the head of the script run now.
    fn operator_acts(&mut self) {
        while let Some((a, _)) = self.acts.front().copied() {
            let ev = match a {
                Act::Pause => Event::Pause,
                Act::Resume => Event::Resume,
                Act::Terminate => Event::Terminate {
                    reason: Some("operator".into()),
                },
                Act::RetryWf => Event::Retry {
                    resume_subworkflow_tasks: false,
                },
                Act::RestartWf => Event::Restart { def: None },
                _ => return,
            };
            self.acts.pop_front();
            let _ = self.feed(ev);
        }
    }

    fn holds(&self, p: &Pending) -> bool {
        self.held.get(&p.task_id) == Some(&p.token)
    }

    fn send(&mut self, p: &Pending, status: TaskStatus, cb: i64) -> Result<Decision, DecideError> {
        let holds = self.holds(p);
        let mut r = result(
            &p.task_id,
            Some(&p.token),
            status,
            json!({"v": self.events}),
        );
        r.callback_after_seconds = cb;
        r.reason_for_incompletion = Some("simulated".into());
        let out = self.feed(Event::Result(r));
        if holds {
            assert!(
                out.is_ok(),
                "the lease holder's result was refused: {out:?}\n{}",
                self.log.join("\n")
            );
        }
        out
    }

    fn worker_act(&mut self, p: Pending) {
        if p.late {
            let _ = self.send(&p, TaskStatus::Completed, 0);
            return;
        }
        self.operator_acts();
        let (a, delay) = self.next_act();
        let later = |sim: &Sim, late| Pending {
            at: sim.env.now + i64::from(delay) + 1,
            task_id: p.task_id.clone(),
            token: p.token.clone(),
            late,
        };
        match a {
            Act::Complete => {
                let _ = self.send(&p, TaskStatus::Completed, 0);
            }
            Act::Fail => {
                let _ = self.send(&p, TaskStatus::Failed, 0);
            }
            Act::FailTerminal => {
                let _ = self.send(&p, TaskStatus::FailedWithTerminalError, 0);
            }
            Act::Callback(s) => {
                let _ = self.send(&p, TaskStatus::InProgress, s);
                self.held.remove(&p.task_id);
            }
            Act::Progress => {
                if self.send(&p, TaskStatus::InProgress, 0).is_ok() {
                    let next = later(self, false);
                    self.pending.push(next);
                }
            }
            Act::Extend => {
                let holds = self.holds(&p);
                let out = self.feed(Event::ExtendLease {
                    task_id: p.task_id.clone(),
                    token: p.token.clone(),
                });
                if holds {
                    assert!(
                        matches!(
                            out,
                            Ok(Decision {
                                reply: Reply::LeaseExtended { .. },
                                ..
                            })
                        ),
                        "{out:?}"
                    );
                }
                if out.is_ok() {
                    let next = later(self, false);
                    self.pending.push(next);
                }
            }
            Act::Vanish { late } => {
                self.held.remove(&p.task_id);
                let _ = self.feed(Event::Returned {
                    task_id: p.task_id.clone(),
                    token: p.token.clone(),
                });
                if late {
                    let next = later(self, true);
                    self.pending.push(next);
                }
            }
            Act::Stall { late } => {
                if late {
                    let mut next = later(self, true);
                    next.at += 6000;
                    self.pending.push(next);
                }
            }
            Act::CompleteTwice => {
                let first = self.send(&p, TaskStatus::Completed, 0);
                let mut r = result(
                    &p.task_id,
                    Some(&p.token),
                    TaskStatus::Completed,
                    json!({"v": self.events - 1}),
                );
                r.reason_for_incompletion = Some("simulated".into());
                let second = self.feed(Event::Result(r));
                if first.is_ok() {
                    assert!(
                        matches!(
                            second,
                            Ok(Decision {
                                reply: Reply::Duplicate,
                                ..
                            })
                        ),
                        "{second:?}"
                    );
                }
            }
            Act::BadToken => {
                let mut r = result(&p.task_id, Some("forged"), TaskStatus::Completed, json!({}));
                r.worker_id = Some("intruder".into());
                let exists = self.exec.task(&p.task_id).is_some();
                let out = self.feed(Event::Result(r));
                if exists {
                    assert!(
                        matches!(out, Err(DecideError::StaleToken { .. })),
                        "{out:?}"
                    );
                } else {
                    // Removed by a restart.
                    assert!(
                        matches!(out, Err(DecideError::UnknownTask { .. })),
                        "{out:?}"
                    );
                }
                let next = later(self, false);
                self.pending.push(next);
            }
            Act::Pause | Act::Resume | Act::Terminate | Act::RetryWf | Act::RestartWf => {
                // Operator commands are taken by operator_acts; a worker acting on one is
                // just slow: try again.
                let next = later(self, false);
                self.pending.push(next);
            }
        }
    }

    /// Runs until the workflow closes for good. Returns false when the run did not end
    /// within the event bound.
    fn run(&mut self) -> bool {
        while self.events < MAX_EVENTS {
            if !self.queue.is_empty() {
                self.dispatch_one();
                continue;
            }
            let next_timer = self.timers.keys().next().map(|k| k.0);
            let next_worker = self.pending.iter().map(|p| p.at).min();
            let next = match (next_timer, next_worker) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(x) => x,
                    None => {
                        match self.exec.workflow.status {
                            WorkflowStatus::Paused => {
                                self.feed(Event::Resume).expect("resume a paused run");
                                continue;
                            }
                            s if s.is_terminal() => {
                                // The operator may bring it back.
                                self.operator_acts();
                                if self.exec.workflow.status.is_terminal() {
                                    return true;
                                }
                                continue;
                            }
                            _ => panic!(
                                "RUNNING workflow with nothing pending\n{}",
                                self.log.join("\n")
                            ),
                        }
                    }
                },
            };
            self.env.now = self.env.now.max(next);
            if next_timer == Some(next) {
                let key = *self.timers.keys().next().expect("timer");
                let timer = self.timers.remove(&key).expect("timer");
                let before = self.exec.clone();
                let d = self
                    .feed(Event::Timer(timer.kind.clone()))
                    .expect("timers never fail");
                let moot = match &timer.kind {
                    TimerKind::TaskReady { task_id }
                    | TimerKind::TaskTimeout { task_id }
                    | TimerKind::PollTimeout { task_id }
                    | TimerKind::LeaseExpired { task_id, .. } => {
                        before.task(task_id).is_none_or(|t| t.status.is_terminal())
                    }
                    TimerKind::WorkflowTimeout { run_start } => {
                        before.workflow.start_time != *run_start
                            || before.workflow.status.is_terminal()
                    }
                };
                if moot {
                    assert_eq!(d, Decision::default(), "a moot timer did something");
                }
                if d != Decision::default() {
                    // A timer that acted was due by the execution's own record.
                    let now = self.env.now;
                    let due = match &timer.kind {
                        TimerKind::TaskReady { task_id } => {
                            before.task(task_id).and_then(|t| t.ready_due)
                        }
                        TimerKind::TaskTimeout { task_id } => {
                            before.task(task_id).and_then(|t| t.timeout_due)
                        }
                        TimerKind::PollTimeout { task_id } => {
                            before.task(task_id).and_then(|t| t.poll_timeout_due)
                        }
                        TimerKind::LeaseExpired { task_id, token } => before
                            .task(task_id)
                            .filter(|t| t.token.as_deref() == Some(token.as_str()))
                            .and_then(|t| t.lease_deadline),
                        TimerKind::WorkflowTimeout { run_start } => {
                            Some(run_start + before.def.timeout_seconds * 1000)
                        }
                    };
                    assert!(
                        due.is_some_and(|d| d <= now),
                        "timer {timer:?} acted before its time ({due:?}, now {now})"
                    );
                }
            } else {
                let i = self
                    .pending
                    .iter()
                    .position(|p| p.at == next)
                    .expect("pending");
                let p = self.pending.swap_remove(i);
                self.worker_act(p);
            }
        }
        false
    }
}

/// The latest instance of `reference` scheduled before `seq`.
fn latest_before<'a>(exec: &'a Execution, reference: &str, seq: i32) -> Option<&'a TaskInstance> {
    exec.tasks
        .iter()
        .rev()
        .find(|t| t.reference_task_name == reference && t.seq < seq)
}

/// Checks a finished run against what the generator built.
fn check_outcome(exec: &Execution, meta: &Meta) -> Result<(), TestCaseError> {
    // Sequence numbers are unique and follow scheduling order.
    for w in exec.tasks.windows(2) {
        prop_assert!(w[0].seq < w[1].seq);
    }
    for t in &exec.tasks {
        let r = &t.reference_task_name;
        let info = meta
            .refs
            .get(r)
            .expect("every instance is of a generated ref");
        prop_assert!(info.on_path, "{} ran in a case that was not taken", r);
        // What precedes it in the definition ran before it.
        if let Some(p) = &info.pred {
            prop_assert!(
                latest_before(exec, p, t.seq).is_some(),
                "{} was scheduled before {}",
                r,
                p
            );
        }
        if let Some(prev) = &t.retried_task_id {
            let old = exec.task(prev).expect("a retry's original exists");
            prop_assert_eq!(&old.reference_task_name, r);
            prop_assert!(old.seq < t.seq && old.retried);
        }
        match &info.kind {
            Kind::Worker { .. } if t.status != TaskStatus::FailedWithTerminalError => {
                let want = match &info.sibling {
                    // An operator's retry re-runs a permissive failure together with what
                    // was cancelled after it: then the predecessor was still running.
                    Some(s) => latest_before(exec, s, t.seq)
                        .filter(|p| p.end_time.is_some_and(|e| e <= t.scheduled_time))
                        .map(|p| p.output.get("v").cloned().unwrap_or(Value::Null)),
                    None => Some(json!("none")),
                };
                if let Some(want) = want {
                    prop_assert_eq!(t.input.get("prev"), Some(&want), "input of {}", r);
                }
                prop_assert_eq!(t.input.get("wf"), Some(&json!("key")));
            }
            Kind::Switch { value } => {
                prop_assert_eq!(t.status, TaskStatus::Completed);
                let out = if t.task_type == "DECISION" {
                    t.output.get("caseOutput")
                } else {
                    t.output.get("selectedCase")
                };
                let want = if t.task_type == "DECISION" {
                    json!([value])
                } else {
                    json!(value)
                };
                prop_assert_eq!(out, Some(&want));
            }
            Kind::Noop | Kind::SetVar | Kind::Fork => {
                prop_assert_eq!(t.status.is_successful(), true, "{} ended {:?}", r, t.status);
            }
            _ => {}
        }
    }
    let wf = &exec.workflow;
    let reason = wf.reason_for_incompletion.clone().unwrap_or_default();
    prop_assert!(!reason.contains("nothing is left to run"), "{}", reason);
    prop_assert!(!reason.contains("can no longer run"), "{}", reason);
    // A TERMINATE that fired decides the outcome.
    let fired = exec
        .tasks
        .iter()
        .find(|t| t.task_type == "TERMINATE" && t.status == TaskStatus::Completed);
    if let Some(x) = fired {
        let status = x.input.get("terminationStatus").and_then(Value::as_str);
        prop_assert_eq!(Some(wf.status.as_str()), status);
        prop_assert_eq!(reason.as_str(), "by terminate");
        prop_assert_eq!(&wf.output, &obj(json!({"t": x.reference_task_name})));
        return Ok(());
    }
    match wf.status {
        WorkflowStatus::Completed => {
            for (r, info) in meta.refs.iter().filter(|(_, i)| i.on_path) {
                let t = exec.latest_task(r);
                prop_assert!(t.is_some(), "{} never ran in a COMPLETED run", r);
                let t = t.unwrap();
                let ok = match &info.kind {
                    Kind::Worker { optional } => {
                        t.status == TaskStatus::Completed
                            || (*optional && t.status == TaskStatus::CompletedWithErrors)
                    }
                    Kind::Join { join_on } => {
                        for j in join_on {
                            let out = exec.latest_task(j).map(|x| Value::Object(x.output.clone()));
                            prop_assert_eq!(t.output.get(j), out.as_ref(), "join {} on {}", r, j);
                        }
                        matches!(
                            t.status,
                            TaskStatus::Completed | TaskStatus::CompletedWithErrors
                        )
                    }
                    Kind::SetVar => {
                        prop_assert_eq!(wf.variables.get(&format!("sv_{r}")), Some(&json!("key")));
                        t.status == TaskStatus::Completed
                    }
                    _ => t.status == TaskStatus::Completed,
                };
                prop_assert!(ok, "{} ended {:?} in a COMPLETED run", r, t.status);
            }
            let end = exec.latest_task(&meta.end).expect("the end ran");
            prop_assert_eq!(&wf.output, &end.output);
        }
        WorkflowStatus::Failed | WorkflowStatus::TimedOut => {
            prop_assert!(wf.reason_for_incompletion.is_some());
        }
        WorkflowStatus::Terminated => {
            prop_assert_eq!(reason.as_str(), "operator");
        }
        _ => unreachable!(),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        // PROPTEST_CASES raises the count for a longer hunt.
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(400),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_runs_end_and_keep_their_invariants(
        nodes in prop::collection::vec(node(), 1..=6),
        acts in prop::collection::vec(act(), 0..60),
        wf_timeout in prop::sample::select(vec![0i64, 0, 0, 40]),
        seed in any::<u64>(),
    ) {
        let mut env = TestEnv::new();
        env.random = seed;
        let (def, meta) = build(&nodes, wf_timeout, &mut env);
        let start_input = Value::Object(meta.input.clone());
        let (exec, d) = start(def, start_input, &mut env);
        let mut sim = Sim {
            env,
            exec,
            acts: acts.into_iter().collect(),
            queue: VecDeque::new(),
            queued: HashSet::new(),
            held: HashMap::new(),
            timers: BTreeMap::new(),
            timer_seq: 0,
            pending: Vec::new(),
            tokens: 0,
            events: 0,
            log: Vec::new(),
        };
        sim.apply(&d);
        sim.check();
        prop_assert!(sim.run(), "no terminal status within {} events", MAX_EVENTS);
        prop_assert!(sim.exec.workflow.status.is_terminal());
        check_outcome(&sim.exec, &meta)?;
    }
}
