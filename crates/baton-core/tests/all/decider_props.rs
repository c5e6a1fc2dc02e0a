//! Property tests: random workflows run against a simulated runtime (ready queue, timer heap
//! on a fake clock, workers that complete, fail, report progress, vanish, stall, repeat
//! themselves or quote bad tokens, and an operator that pauses, resumes, terminates,
//! retries and restarts). Workflows mix worker tasks (optional, permissive, with every
//! retry and timeout policy; some DYNAMIC, their real name taken from the workflow input)
//! with NOOP, SET_VARIABLE, TERMINATE, SWITCH and DECISION (each picking a random case),
//! FORK_JOIN/JOIN, DO_WHILE and SUB_WORKFLOW, nested without restriction: loops inside
//! loops, forks and switches inside loop bodies, loops and children inside branches and
//! cases. Workers take random times, so fork branches finish in random orders.
//!
//! The simulated runtime also plays the parts the core leaves outside: it answers loop
//! conditions (asked for as jobs, since the core has no JavaScript engine) with the value
//! the test chose for the iteration the job's bindings name (`$.<loop>['iteration'] <
//! $.limit`), after a random delay, now and then failing one or answering twice; it runs
//! the children of SUB_WORKFLOW tasks, each ending after a random delay COMPLETED, FAILED,
//! TERMINATED or TIMED_OUT, or terminated when the decider asks; and it sometimes plays a
//! restart of the runtime by calling `recover`, checking that what recovery asks again
//! (queued tasks, leases, pending jobs, child starts) matches what is pending, and taking
//! the repeated asks harmlessly. Loops iterate by condition, by `items` or by both.
//!
//! Checked after every event: refused events change nothing; a task is never queued while
//! queued or held; at most one live instance per reference name (iteration suffixes
//! `ref__N` included); nothing is scheduled while the workflow is PAUSED; every live task
//! is queued, waiting on an armed timer, leased with an armed lease timer, a JOIN, a
//! DO_WHILE waiting for its pending condition job or running a live body task of its
//! current iteration, or a SUB_WORKFLOW whose child runs; every running child belongs to a
//! live SUB_WORKFLOW instance (a cancelled one asked for its child's termination); each
//! child is started once per SUB_WORKFLOW instance, with that instance's id; a child's end
//! ends its task accordingly, and a job outcome or child end that is no longer awaited
//! changes nothing. A RUNNING workflow with nothing pending (no queued task, timer, lease,
//! pending job or running child) fails the test. Checked per run: a terminal status is
//! reached within a bounded number of events; every instance follows an instance of what
//! precedes it in the definition (in the same iteration); cases not taken never run; no
//! iteration past what the loop's condition and items allow ever runs, and a DO_WHILE that
//! completes ran exactly those iterations (its output holds each of them); inputs come from
//! the instance that preceded them, and a task in a loop body sees its iteration and item;
//! a DYNAMIC task runs under the name its input gave; a loop goes round only once every
//! task of the iteration ended (a JOIN naming a SWITCH does not wait for the case's tasks;
//! the loop does), and its output for an iteration holds its own body's tasks only, not
//! those of a loop beside it; a COMPLETED run ran every task on its path successfully, in
//! every iteration, its JOINs map their references to outputs (a joined task with an empty
//! output may be left out), its variables hold what SET_VARIABLE put there and its output
//! is the output of the task Conductor would have scheduled last; a run ended by TERMINATE
//! has the status, reason and output the TERMINATE gave.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use crate::common::*;
use baton_core::WorkflowDef;
use baton_core::decider::{
    self, ChildStart, DecideError, Decision, Effect, Event, Job, JobOutcome, Reply, Timer,
    TimerKind,
};
use baton_core::state::{Execution, TaskInstance, TaskStatus, WorkflowStatus};
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
    /// A DYNAMIC task: a worker task whose real name comes from the workflow input.
    Dynamic(TaskSpec),
    Noop,
    SetVar,
    /// TERMINATE with this status.
    Terminate(&'static str),
    /// A SUB_WORKFLOW; the simulated runtime runs its child.
    Sub {
        optional: bool,
    },
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
    /// DO_WHILE over `body`: `items` is the length of the list it iterates, `limit` the
    /// number its condition compares the iteration with; at least one is given.
    Loop {
        body: Vec<Node>,
        items: Option<usize>,
        limit: Option<i64>,
    },
}

/// How a DO_WHILE iterates: (items, limit).
fn loop_mode() -> impl Strategy<Value = (Option<usize>, Option<i64>)> {
    prop_oneof![
        4 => (1..=3i64).prop_map(|n| (None, Some(n))),
        2 => (0..=3usize).prop_map(|l| (Some(l), None)),
        2 => (1..=3usize, 1..=3i64).prop_map(|(l, n)| (Some(l), Some(n))),
    ]
}

fn node() -> impl Strategy<Value = Node> {
    let leaf = prop_oneof![
        20 => task_spec().prop_map(Node::Worker),
        4 => task_spec().prop_map(Node::Dynamic),
        2 => Just(Node::Noop),
        2 => Just(Node::SetVar),
        1 => prop::sample::select(vec!["COMPLETED", "FAILED", "TERMINATED"]).prop_map(Node::Terminate),
        4 => prop::bool::weighted(0.2).prop_map(|optional| Node::Sub { optional }),
    ];
    leaf.prop_recursive(3, 14, 3, |inner| {
        let list = prop::collection::vec(inner.clone(), 0..=3);
        let body = prop::collection::vec(inner, 1..=3);
        prop_oneof![
            2 => prop::collection::vec(list.clone(), 1..=3).prop_map(Node::Fork),
            2 => (
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
            3 => (body, loop_mode()).prop_map(|(body, (items, limit))| Node::Loop {
                body,
                items,
                limit
            }),
        ]
    })
}

/// What a reference name is, as the generator built it.
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    /// A worker task, or a DYNAMIC one; `name` is the task name it is queued under.
    Worker {
        optional: bool,
        name: String,
        dynamic: bool,
    },
    Noop,
    SetVar,
    Terminate,
    Fork,
    Join {
        join_on: Vec<String>,
    },
    Switch {
        value: String,
    },
    /// A DO_WHILE that runs `count` iterations; `first` is its body's first task.
    Loop {
        count: i64,
        items: Option<usize>,
        limit: Option<i64>,
        first: String,
    },
    Sub {
        optional: bool,
    },
}

#[derive(Debug, Clone)]
struct RefInfo {
    kind: Kind,
    /// What must have an instance before this one is scheduled: the previous task in the
    /// same list, else the operator holding the list.
    pred: Option<String>,
    /// `pred` is the DO_WHILE whose body this task starts: its instance carries the
    /// suffix of the enclosing iteration, without this iteration's group.
    pred_is_loop: bool,
    /// The previous task in the same list (read by a worker's `prev` input).
    sibling: Option<String>,
    /// Runs unless the workflow stops early: not inside a case that is not taken.
    on_path: bool,
    /// The DO_WHILE tasks around this one, outermost first.
    loops: Vec<String>,
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

    /// The number of iterations the loop `l` runs.
    fn count(&self, l: &str) -> i64 {
        match self.refs.get(l).map(|i| &i.kind) {
            Some(Kind::Loop { count, .. }) => *count,
            other => panic!("{l} is not a loop: {other:?}"),
        }
    }

    /// Every iteration suffix an instance of a task inside `loops` has in a run that
    /// completes: one group per loop, each from 1 to that loop's count.
    fn suffixes(&self, loops: &[String]) -> Vec<String> {
        let mut out = vec![String::new()];
        for l in loops {
            let n = self.count(l);
            out = out
                .iter()
                .flat_map(|s| (1..=n).map(move |k| format!("{s}__{k}")))
                .collect();
        }
        out
    }

    /// Builds the JSON of one list; returns it and the reference of its last task.
    /// `container` is the operator holding the list (and whether it is a DO_WHILE).
    fn list(
        &mut self,
        nodes: &[Node],
        container: Option<(&str, bool)>,
        loops: &[String],
        on_path: bool,
        env: &mut TestEnv,
    ) -> (Vec<Value>, Option<String>) {
        let mut out = Vec::new();
        let mut sibling: Option<String> = None;
        for n in nodes {
            let (pred, pred_is_loop) = match (&sibling, container) {
                (Some(s), _) => (Some(s.clone()), false),
                (None, Some((c, is_loop))) => (Some(c.to_string()), is_loop),
                (None, None) => (None, false),
            };
            let i = self.next();
            let info = |kind| RefInfo {
                kind,
                pred: pred.clone(),
                pred_is_loop,
                sibling: sibling.clone(),
                on_path,
                loops: loops.to_vec(),
            };
            // What worker tasks and children get: the workflow input, the previous task's
            // output and, inside a loop, the iteration (and item) of the innermost one.
            let prev = match &sibling {
                Some(p) => format!("${{{p}.output.v}}"),
                None => "none".to_string(),
            };
            let mut inputs = json!({"wf": "${workflow.input.k}", "prev": prev});
            if let Some(l) = loops.last() {
                inputs["it"] = json!(format!("${{{l}.output.iteration}}"));
                if let Some(Kind::Loop { items: Some(_), .. }) = self.refs.get(l).map(|i| &i.kind) {
                    inputs["item"] = json!(format!("${{{l}.output.item}}"));
                }
            }
            let last = match n {
                Node::Worker(s) | Node::Dynamic(s) => {
                    let dynamic = matches!(n, Node::Dynamic(_));
                    let r = if dynamic {
                        format!("d{i}")
                    } else {
                        format!("r{i}")
                    };
                    let name = format!("t{i}");
                    let mut td = json!({
                        "name": name, "retryCount": s.retry_count, "retryLogic": s.retry_logic,
                        "retryDelaySeconds": s.retry_delay, "backoffScaleFactor": s.scale,
                        "backoffJitterMs": s.jitter_ms, "timeoutSeconds": s.timeout,
                        "responseTimeoutSeconds": s.response_timeout, "timeoutPolicy": s.timeout_policy,
                        "pollTimeoutSeconds": s.poll_timeout, "totalTimeoutSeconds": s.total_timeout
                    });
                    let mut wt = if dynamic {
                        self.input.insert(format!("dyn_{r}"), json!(name));
                        inputs["taskToExecute"] = json!(format!("${{workflow.input.dyn_{r}}}"));
                        json!({"name": "dyn", "taskReferenceName": r, "type": "DYNAMIC",
                            "dynamicTaskNameParam": "taskToExecute"})
                    } else {
                        json!({"name": name, "taskReferenceName": r})
                    };
                    wt["startDelay"] = json!(s.start_delay);
                    wt["optional"] = json!(s.optional);
                    wt["permissive"] = json!(s.permissive);
                    wt["inputParameters"] = inputs;
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
                            name,
                            dynamic,
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
                Node::Sub { optional } => {
                    let r = format!("w{i}");
                    out.push(
                        json!({"name": "sub", "taskReferenceName": r, "type": "SUB_WORKFLOW",
                        "optional": optional, "inputParameters": inputs,
                        "subWorkflowParam": {"name": "child", "version": 1}}),
                    );
                    self.refs.insert(
                        r.clone(),
                        info(Kind::Sub {
                            optional: *optional,
                        }),
                    );
                    r
                }
                Node::Fork(branches) => {
                    let f = format!("f{i}");
                    let j = format!("j{i}");
                    self.refs.insert(f.clone(), info(Kind::Fork));
                    let mut fork_tasks = Vec::new();
                    let mut join_on = Vec::new();
                    for b in branches {
                        let (tasks, last) = self.list(b, Some((&f, false)), loops, on_path, env);
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
                            pred_is_loop: false,
                            sibling: Some(f),
                            on_path,
                            loops: loops.to_vec(),
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
                        let (tasks, _) =
                            self.list(list, Some((&r, false)), loops, on_path && here, env);
                        decision_cases.insert(format!("c{c}"), Value::Array(tasks));
                    }
                    let (default_tasks, _) =
                        self.list(default, Some((&r, false)), loops, on_path && taken, env);
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
                Node::Loop { body, items, limit } => {
                    let r = format!("l{i}");
                    let count = match (items, limit) {
                        (Some(len), Some(n)) => (*len as i64).min(*n),
                        (Some(len), None) => *len as i64,
                        (None, Some(n)) => *n,
                        (None, None) => 1,
                    };
                    // Registered before the body, whose tasks read whether it has items.
                    self.refs.insert(
                        r.clone(),
                        info(Kind::Loop {
                            count,
                            items: *items,
                            limit: *limit,
                            first: String::new(),
                        }),
                    );
                    let mut params = serde_json::Map::new();
                    if let Some(n) = limit {
                        self.input.insert(format!("lim_{r}"), json!(n));
                        params.insert(
                            "limit".into(),
                            json!(format!("${{workflow.input.lim_{r}}}")),
                        );
                    }
                    if let Some(len) = items {
                        let list: Vec<Value> =
                            (0..*len).map(|x| json!(format!("{r}-{x}"))).collect();
                        self.input.insert(format!("items_{r}"), Value::Array(list));
                        params.insert(
                            "items".into(),
                            json!(format!("${{workflow.input.items_{r}}}")),
                        );
                    }
                    let mut inner = loops.to_vec();
                    inner.push(r.clone());
                    let (tasks, _) = self.list(body, Some((&r, true)), &inner, on_path, env);
                    let first = tasks[0]["taskReferenceName"]
                        .as_str()
                        .expect("a body task")
                        .to_string();
                    if let Some(RefInfo {
                        kind: Kind::Loop { first: f, .. },
                        ..
                    }) = self.refs.get_mut(&r)
                    {
                        *f = first;
                    }
                    let mut task = json!({"name": "loop", "taskReferenceName": r, "type": "DO_WHILE",
                        "inputParameters": params, "loopOver": tasks});
                    if limit.is_some() {
                        task["loopCondition"] = json!(format!(
                            "if ($.{r}['iteration'] < $.limit) {{ true; }} else {{ false; }}"
                        ));
                    }
                    out.push(task);
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
    let (tasks, _) = meta.list(nodes, None, &[], true, env);
    let mut def = json!({"name": "prop", "tasks": tasks});
    if wf_timeout > 0 {
        def["timeoutSeconds"] = json!(wf_timeout);
        def["timeoutPolicy"] = json!("TIME_OUT_WF");
    }
    let def = wf(def);
    meta.end = end_task_ref(&def.tasks, &meta);
    (def, meta)
}

/// The instance Conductor schedules last in a completed run, whose output the run takes.
/// Conductor schedules a loop's body after the loop, and a fork's JOIN with the first
/// batch of every branch (a first SWITCH with its case's first batch, a first fork with its
/// branches' and its JOIN); the rest of a branch comes after the JOIN.
fn conductor_last(exec: &Execution) -> &TaskInstance {
    type Wt = baton_core::WorkflowTask;
    fn at<'e>(exec: &'e Execution, wt: &Wt, sfx: &str) -> Option<&'e TaskInstance> {
        exec.latest_task(&format!("{}{sfx}", wt.task_reference_name))
    }
    fn case<'w>(wt: &'w Wt, t: &TaskInstance) -> &'w [Wt] {
        let c = t.input.get("case").and_then(Value::as_str).unwrap_or("");
        match wt.decision_cases.get(c) {
            Some(l) if wt.task_type == "SWITCH" || !l.is_empty() => l,
            _ => &wt.default_case,
        }
    }
    fn body<'e>(
        exec: &'e Execution,
        wt: &Wt,
        t: &TaskInstance,
        sfx: &str,
    ) -> Option<&'e TaskInstance> {
        let n = t
            .output
            .get("iteration")
            .and_then(Value::as_i64)
            .filter(|n| *n > 0)?;
        last(exec, &wt.loop_over, &format!("{sfx}__{n}"))
    }
    fn later<'e>(exec: &'e Execution, forks: &[Vec<Wt>], sfx: &str) -> Option<&'e TaskInstance> {
        forks
            .iter()
            .filter_map(|b| after_batch(exec, b, sfx))
            .max_by_key(|t| t.seq)
    }
    fn after_batch<'e>(exec: &'e Execution, list: &[Wt], sfx: &str) -> Option<&'e TaskInstance> {
        let first = list.first()?;
        let batch = if first.task_type == "FORK_JOIN" { 2 } else { 1 };
        if list.len() > batch {
            return last(exec, list, sfx);
        }
        let t = at(exec, first, sfx)?;
        match first.task_type.as_str() {
            "SWITCH" | "DECISION" => after_batch(exec, case(first, t), sfx),
            "DO_WHILE" => body(exec, first, t, sfx),
            "FORK_JOIN" => later(exec, &first.fork_tasks, sfx),
            _ => None,
        }
    }
    fn last<'e>(exec: &'e Execution, list: &[Wt], sfx: &str) -> Option<&'e TaskInstance> {
        let (wt, before) = list.split_last()?;
        let t = at(exec, wt, sfx)?;
        let inner = match wt.task_type.as_str() {
            "SWITCH" | "DECISION" => last(exec, case(wt, t), sfx),
            "DO_WHILE" => body(exec, wt, t, sfx),
            "JOIN" => match before.last() {
                Some(f) if f.task_type == "FORK_JOIN" => later(exec, &f.fork_tasks, sfx),
                _ => None,
            },
            _ => None,
        };
        Some(inner.unwrap_or(t))
    }
    last(exec, &exec.def.tasks, "").expect("the last task ran")
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

/// Splits an instance reference into the definition's reference and its iteration suffix
/// (`r4__2__1` is `r4` in `__2__1`). Generated references never contain `__` themselves.
fn split(reference: &str) -> (&str, &str) {
    match reference.find("__") {
        Some(pos) => reference.split_at(pos),
        None => (reference, ""),
    }
}

/// The iteration numbers of a suffix, outermost first.
fn groups(suffix: &str) -> Vec<i64> {
    suffix
        .split("__")
        .skip(1)
        .map(|g| g.parse().expect("an iteration number"))
        .collect()
}

/// A suffix without its innermost group.
fn outer(suffix: &str) -> &str {
    suffix.rfind("__").map_or("", |pos| &suffix[..pos])
}

/// The status a SUB_WORKFLOW task takes from its child's end.
fn child_task_status(status: WorkflowStatus) -> TaskStatus {
    match status {
        WorkflowStatus::Completed => TaskStatus::Completed,
        WorkflowStatus::TimedOut => TaskStatus::TimedOut,
        WorkflowStatus::Terminated => TaskStatus::Canceled,
        _ => TaskStatus::Failed,
    }
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

/// A job outcome the simulated runtime will report.
#[derive(Debug, Clone)]
struct PendingJob {
    at: i64,
    task_id: String,
    outcome: JobOutcome,
}

/// A child execution the simulated runtime started for a SUB_WORKFLOW instance (whose id
/// is the child's id).
#[derive(Debug, Clone)]
struct Child {
    request: ChildStart,
    /// Not ended yet (by itself or by a termination).
    running: bool,
}

/// A child's end, to be reported to its parent.
#[derive(Debug, Clone)]
struct ChildReport {
    at: i64,
    child_id: String,
    status: WorkflowStatus,
}

struct Sim {
    env: TestEnv,
    exec: Execution,
    meta: Meta,
    /// xorshift state for what the runtime decides (job and child delays and outcomes).
    rng: u64,
    jobs: Vec<PendingJob>,
    /// Child id (= its SUB_WORKFLOW instance's id) -> child.
    children: HashMap<String, Child>,
    reports: Vec<ChildReport>,
    /// Task id -> the event after which the instance first existed, and after which it
    /// first was terminal (what it could see of others, and they of it).
    born: HashMap<String, usize>,
    ended: HashMap<String, usize>,
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
    fn new(env: TestEnv, exec: Execution, meta: Meta, acts: Vec<(Act, u16)>, seed: u64) -> Self {
        Self {
            env,
            exec,
            meta,
            rng: seed | 1,
            jobs: Vec::new(),
            children: HashMap::new(),
            reports: Vec::new(),
            born: HashMap::new(),
            ended: HashMap::new(),
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
        }
    }

    /// A random number below `n`.
    fn rand(&mut self, n: u64) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x % n
    }

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
                Effect::Run { task_id, job } => self.condition_asked(task_id, job),
                Effect::StartWorkflow { task_id, request } => {
                    let task_id = task_id
                        .as_deref()
                        .expect("only SUB_WORKFLOW tasks start workflows here");
                    self.child_started(task_id, request);
                }
                Effect::TerminateWorkflow { workflow_id, .. } => {
                    let child = self.children.get_mut(workflow_id).unwrap_or_else(|| {
                        panic!("termination asked for {workflow_id}, never started")
                    });
                    let parent = self.exec.task(workflow_id);
                    assert!(
                        parent.is_none_or(|t| t.status.is_terminal()),
                        "the child of a live SUB_WORKFLOW instance is terminated"
                    );
                    if child.running {
                        // The child ends TERMINATED and tells its parent, which no longer
                        // waits for it.
                        child.running = false;
                        self.reports.retain(|r| r.child_id != *workflow_id);
                        let at = self.env.now + self.rand(300) as i64;
                        self.reports.push(ChildReport {
                            at,
                            child_id: workflow_id.clone(),
                            status: WorkflowStatus::Terminated,
                        });
                    }
                }
                other => panic!("these runs have no parent and retry no child in place: {other:?}"),
            }
        }
        for t in &self.exec.tasks {
            self.born.entry(t.task_id.clone()).or_insert(self.events);
            if t.status.is_terminal() {
                self.ended.entry(t.task_id.clone()).or_insert(self.events);
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

    /// The decider asked for a job: only loop conditions ask for one here. The answer is
    /// what the test chose for the iteration the bindings name; it comes after a random
    /// delay, and now and then the evaluation fails.
    fn condition_asked(&mut self, task_id: &str, job: &Job) {
        let t = self
            .exec
            .task(task_id)
            .unwrap_or_else(|| panic!("job asked for unknown task {task_id}"));
        assert_eq!(t.task_type, "DO_WHILE", "only loop conditions ask for jobs");
        // The same decision may have ended it since (the workflow closed): the runtime
        // runs the job all the same, and its outcome changes nothing.
        assert!(
            t.job_pending || t.status.is_terminal(),
            "job asked for a loop that does not wait for one: {t:?}"
        );
        let Job::Script {
            bindings,
            body: false,
            ..
        } = job
        else {
            panic!("a loop condition is a script expression: {job:?}")
        };
        let base = split(&t.reference_task_name).0;
        let Some(Kind::Loop { items, limit, .. }) = self.meta.refs.get(base).map(|i| &i.kind)
        else {
            panic!("{base} is not a loop")
        };
        let limit = limit.expect("only loops with a condition ask for one");
        // $ holds the loop's input and, under its reference, its own output.
        let it = bindings
            .get(base)
            .and_then(|o| o.get("iteration"))
            .and_then(Value::as_i64)
            .expect("the loop's output under its reference");
        assert_eq!(it, i64::from(t.iteration), "the condition of {base}");
        assert_eq!(bindings.get("limit"), Some(&json!(limit)));
        if let Some(len) = items {
            assert!(it < *len as i64, "condition asked after the last item");
        }
        assert!(
            !self.jobs.iter().any(|j| j.task_id == task_id),
            "a second condition job for {task_id} while one is pending"
        );
        let outcome = if self.rand(30) == 0 {
            JobOutcome {
                status: TaskStatus::Failed,
                output: Default::default(),
                reason: Some("simulated script error".into()),
            }
        } else {
            JobOutcome {
                status: TaskStatus::Completed,
                output: obj(json!({"result": it < limit})),
                reason: None,
            }
        };
        let at = self.env.now + self.rand(1500) as i64;
        self.jobs.push(PendingJob {
            at,
            task_id: task_id.to_string(),
            outcome,
        });
    }

    /// The decider asked for a SUB_WORKFLOW's child: start it, once, under the task's id;
    /// it ends by itself after a random delay with a random status.
    fn child_started(&mut self, task_id: &str, request: &ChildStart) {
        let t = self
            .exec
            .task(task_id)
            .unwrap_or_else(|| panic!("child asked for unknown task {task_id}"));
        assert_eq!(t.task_type, "SUB_WORKFLOW");
        assert_eq!(request.workflow_id, task_id, "the child's id is its task's");
        assert_eq!(
            request.parent,
            Some((self.exec.workflow.workflow_id.clone(), task_id.to_string()))
        );
        assert_eq!((request.name.as_str(), request.version), ("child", Some(1)));
        assert_eq!(request.input.get("wf"), Some(&json!("key")));
        assert!(
            !self.children.contains_key(task_id),
            "the child of {task_id} was asked for twice"
        );
        self.children.insert(
            task_id.to_string(),
            Child {
                request: request.clone(),
                running: true,
            },
        );
        let status = match self.rand(20) {
            0..=13 => WorkflowStatus::Completed,
            14..=15 => WorkflowStatus::Failed,
            16..=17 => WorkflowStatus::Terminated,
            _ => WorkflowStatus::TimedOut,
        };
        let at = self.env.now + self.rand(3000) as i64;
        self.reports.push(ChildReport {
            at,
            child_id: task_id.to_string(),
            status,
        });
    }

    /// Operator commands at the head of the script run; now and then a worker's act at
    /// the head is dropped, so that runs without workers see operators too.
    fn maybe_operator_acts(&mut self) {
        self.operator_acts();
        if !self.acts.is_empty() && self.rand(3) == 0 {
            self.acts.pop_front();
            self.operator_acts();
        }
    }

    /// Reports a loop condition's outcome.
    fn deliver_job(&mut self, j: PendingJob) {
        let before = self.exec.task(&j.task_id).cloned();
        let event = Event::JobDone {
            task_id: j.task_id.clone(),
            outcome: j.outcome.clone(),
        };
        let out = self.feed(event.clone());
        let Some(b) = before else {
            // Removed by a restart.
            assert!(
                matches!(out, Err(DecideError::UnknownTask { .. })),
                "{out:?}"
            );
            return;
        };
        let d = out.expect("a job outcome for a known task is taken");
        if !(b.job_pending && b.status == TaskStatus::InProgress) {
            assert_eq!(
                d,
                Decision::default(),
                "an outcome nobody waits for did something"
            );
            return;
        }
        let after = self.exec.task(&j.task_id).expect("the loop is still there");
        let go_on = j.outcome.output.get("result") == Some(&json!(true));
        if j.outcome.status != TaskStatus::Completed {
            assert_eq!(after.status, TaskStatus::FailedWithTerminalError);
        } else if !go_on {
            assert_eq!(
                after.status,
                TaskStatus::Completed,
                "a false condition ends the loop"
            );
            assert_eq!(after.output.get("iteration"), Some(&json!(b.iteration)));
        } else if self.exec.workflow.status == WorkflowStatus::Running {
            assert!(
                after.iteration > b.iteration || after.status.is_terminal(),
                "a true condition starts the next iteration"
            );
        }
        // Now and then the outcome comes again: it changes nothing.
        let waits_again = after.job_pending;
        if self.rand(20) == 0 && !waits_again {
            let before = self.exec.clone();
            let again = self.feed(event).expect("a repeated outcome is taken");
            assert_eq!(
                again,
                Decision::default(),
                "a repeated outcome did something"
            );
            assert_eq!(self.exec, before);
        }
    }

    /// Reports a child's end to its parent.
    fn deliver_report(&mut self, r: ChildReport) {
        let child = self.children.get_mut(&r.child_id).expect("a started child");
        let was_running = child.running;
        child.running = false;
        let before = self.exec.task(&r.child_id).cloned();
        let completed = r.status == WorkflowStatus::Completed;
        let output = json!({"v": self.events, "child": r.child_id});
        let out = self.feed(Event::ChildEnded {
            task_id: r.child_id.clone(),
            child_id: r.child_id.clone(),
            status: r.status,
            output: obj(output.clone()),
            reason: (!completed).then(|| "simulated child end".to_string()),
        });
        let d = out.expect("a child's end is always taken");
        match before.filter(|b| b.status == TaskStatus::InProgress) {
            Some(b) => {
                assert!(was_running, "a live SUB_WORKFLOW's child had ended");
                let after = self.exec.task(&r.child_id).expect("the task is there");
                let want = child_task_status(r.status);
                let excused = b.optional
                    && !want.is_successful()
                    && after.status == TaskStatus::CompletedWithErrors;
                assert!(
                    after.status == want || excused,
                    "child ended {:?}, task is {:?}",
                    r.status,
                    after.status
                );
                if completed {
                    assert_eq!(after.output.get("v"), output.get("v"));
                }
            }
            None => assert_eq!(d, Decision::default(), "a stale child end did something"),
        }
    }

    /// Plays a restart of the runtime: what `recover` asks for again must match what is
    /// pending, and the repeated asks are taken harmlessly (a pending job goes on, a
    /// repeated start finds the running child).
    fn recover_check(&mut self) {
        let effects = decider::recover(&self.exec, self.env.now);
        if self.exec.workflow.status.is_terminal() {
            assert!(effects.is_empty());
            return;
        }
        let mut enqueued = HashSet::new();
        let mut runs = HashSet::new();
        let mut starts = HashSet::new();
        for e in effects {
            match e {
                Effect::Enqueue { task_id, .. } => {
                    assert!(self.queued.contains(&task_id), "recovery queues {task_id}");
                    enqueued.insert(task_id);
                }
                Effect::ArmTimer(t) => {
                    assert!(matches!(t.kind, TimerKind::LeaseExpired { .. }), "{t:?}");
                    assert!(self.timers.values().any(|x| *x == t), "{t:?} is not armed");
                }
                Effect::Run { task_id, .. } => {
                    assert!(
                        self.jobs.iter().any(|j| j.task_id == task_id),
                        "recovery asks for a job of {task_id} that is not pending"
                    );
                    runs.insert(task_id);
                }
                Effect::StartWorkflow {
                    task_id: Some(id),
                    request,
                } => {
                    let child = self
                        .children
                        .get(&id)
                        .expect("recovery starts a known child");
                    assert!(child.running, "recovery starts an ended child");
                    assert_eq!(child.request, request, "the repeated start is the same");
                    starts.insert(id);
                }
                other => panic!("recovery asks for {other:?}"),
            }
        }
        assert_eq!(enqueued, self.queued, "recovery queues every queued task");
        for t in &self.exec.tasks {
            if t.job_pending && t.status == TaskStatus::InProgress {
                assert!(
                    runs.contains(&t.task_id),
                    "recovery asks for {}'s job",
                    t.task_id
                );
            }
            if t.task_type == "SUB_WORKFLOW" && t.status == TaskStatus::InProgress {
                assert!(
                    starts.contains(&t.task_id),
                    "recovery asks for {}'s child",
                    t.task_id
                );
            }
        }
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
                if before.workflow.status == WorkflowStatus::Paused
                    && self.exec.workflow.status == WorkflowStatus::Paused
                {
                    let known: HashSet<&str> =
                        before.tasks.iter().map(|t| t.task_id.as_str()).collect();
                    let new: Vec<&str> = self
                        .exec
                        .tasks
                        .iter()
                        .filter(|t| !known.contains(t.task_id.as_str()))
                        .map(|t| t.reference_task_name.as_str())
                        .collect();
                    assert!(
                        new.is_empty(),
                        "{new:?} scheduled while PAUSED\n{}",
                        self.log.join("\n")
                    );
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
        // A running child belongs to a live SUB_WORKFLOW instance: a cancelled one asked
        // for its child's termination.
        for (id, c) in &self.children {
            if c.running {
                assert!(
                    exec.task(id)
                        .is_some_and(|t| t.status == TaskStatus::InProgress),
                    "child {id} runs on, yet its SUB_WORKFLOW instance ended\n{}",
                    self.log.join("\n")
                );
            }
        }
        let mut live = HashSet::new();
        for t in &exec.tasks {
            if !t.status.is_terminal() {
                assert!(
                    live.insert(t.reference_task_name.clone()),
                    "two live instances of {}",
                    t.reference_task_name
                );
                // Every loop around a live task is in that task's iteration: a loop goes
                // round only once its iteration is over. (An operator's retry may re-run a
                // permissive failure of an earlier iteration: such a re-run is let be.)
                let manual = rerun_by_operator(exec, t);
                let (base, suffix) = split(&t.reference_task_name);
                let its = groups(suffix);
                let loops = &self.meta.refs[base].loops;
                for (i, l) in loops.iter().enumerate().filter(|_| !manual) {
                    let outer: String = its[..i].iter().map(|n| format!("__{n}")).collect();
                    let at = exec
                        .latest_task(&format!("{l}{outer}"))
                        .filter(|x| x.status == TaskStatus::InProgress)
                        .map(|x| i64::from(x.iteration));
                    assert_eq!(
                        at,
                        Some(its[i]),
                        "{} runs while its loop {l}{outer} is not in that iteration\n{}\n{}",
                        t.reference_task_name,
                        trail(exec),
                        self.log.join("\n")
                    );
                }
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
                TaskStatus::InProgress if t.task_type == "SUB_WORKFLOW" => {
                    assert_eq!(t.output.get("subWorkflowId"), Some(&json!(t.task_id)));
                    assert!(
                        self.children.get(&t.task_id).is_some_and(|c| c.running),
                        "SUB_WORKFLOW {} has no running child",
                        t.task_id
                    );
                }
                TaskStatus::InProgress if t.task_type == "DO_WHILE" => {
                    if t.job_pending {
                        assert!(
                            self.jobs.iter().any(|j| j.task_id == t.task_id),
                            "loop {} waits for a condition nobody evaluates",
                            t.reference_task_name
                        );
                    } else if status == WorkflowStatus::Running {
                        // Its current iteration's body runs.
                        let prefix =
                            format!("{}__{}", split(&t.reference_task_name).1, t.iteration);
                        let nested = format!("{prefix}__");
                        assert!(
                            exec.tasks.iter().any(|x| {
                                let s = split(&x.reference_task_name).1;
                                !x.status.is_terminal() && (s == prefix || s.starts_with(&nested))
                            }),
                            "loop {} runs nothing in iteration {}\n{}\n{}",
                            t.reference_task_name,
                            t.iteration,
                            trail(exec),
                            self.log.join("\n")
                        );
                    }
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
            if self.rand(100) == 0 {
                self.recover_check();
            }
            let next_timer = self.timers.keys().next().map(|k| k.0);
            let next_worker = self.pending.iter().map(|p| p.at).min();
            let next_job = self.jobs.iter().map(|j| j.at).min();
            let next_report = self.reports.iter().map(|r| r.at).min();
            let Some(next) = [next_timer, next_worker, next_job, next_report]
                .into_iter()
                .flatten()
                .min()
            else {
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
                        "RUNNING workflow with nothing pending (no queued task, timer, lease, \
                         job or child)\n{}",
                        self.log.join("\n")
                    ),
                }
            };
            self.env.now = self.env.now.max(next);
            if next_timer == Some(next) {
                self.fire_timer();
            } else if next_worker == Some(next) {
                let i = self
                    .pending
                    .iter()
                    .position(|p| p.at == next)
                    .expect("pending");
                let p = self.pending.swap_remove(i);
                self.worker_act(p);
            } else if next_job == Some(next) {
                // Operators act first, while the job is still pending.
                self.maybe_operator_acts();
                // (They may have dropped or moved it: a terminated child's end.)
                if let Some(i) = self.jobs.iter().position(|j| j.at == next) {
                    let j = self.jobs.remove(i);
                    self.deliver_job(j);
                }
            } else {
                self.maybe_operator_acts();
                if let Some(i) = self.reports.iter().position(|r| r.at == next) {
                    let r = self.reports.remove(i);
                    self.deliver_report(r);
                }
            }
        }
        false
    }

    /// Fires the earliest timer; a moot one must do nothing, one that acts must be due.
    fn fire_timer(&mut self) {
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
                before.workflow.start_time != *run_start || before.workflow.status.is_terminal()
            }
        };
        if moot {
            assert_eq!(d, Decision::default(), "a moot timer did something");
        }
        if d != Decision::default() {
            // A timer that acted was due by the execution's own record.
            let now = self.env.now;
            let due = match &timer.kind {
                TimerKind::TaskReady { task_id } => before.task(task_id).and_then(|t| t.ready_due),
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
    }
}
/// Whether `t` is (or retries) an instance an operator's retry made: that one restarts
/// the `totalTimeoutSeconds` budget, so it was first scheduled when it was scheduled.
fn rerun_by_operator(exec: &Execution, t: &TaskInstance) -> bool {
    let mut cur = t;
    while let Some(prev) = cur.retried_task_id.as_deref() {
        if cur.first_scheduled_time == cur.scheduled_time {
            return true;
        }
        match exec.task(prev) {
            Some(p) => cur = p,
            None => return false,
        }
    }
    false
}

/// The task instances of a run, one a line, for failure messages.
fn trail(exec: &Execution) -> String {
    let lines: Vec<String> = exec
        .tasks
        .iter()
        .map(|t| {
            format!(
                "{} {} {:?} retried={} {:?}",
                t.task_id, t.reference_task_name, t.status, t.retried, t.output
            )
        })
        .collect();
    lines.join("\n")
}

/// The latest instance of `reference` scheduled before `seq`.
fn latest_before<'a>(exec: &'a Execution, reference: &str, seq: i32) -> Option<&'a TaskInstance> {
    exec.tasks
        .iter()
        .rev()
        .find(|t| t.reference_task_name == reference && t.seq < seq)
}

/// The latest instance of the definition reference `base`, in any iteration, scheduled
/// before `seq`: what `${base...}` read when the instance `seq` was scheduled.
fn latest_base_before<'a>(exec: &'a Execution, base: &str, seq: i32) -> Option<&'a TaskInstance> {
    exec.tasks
        .iter()
        .rev()
        .find(|t| split(&t.reference_task_name).0 == base && t.seq < seq)
}

/// Checks a finished run against what the generator built.
fn check_outcome(sim: &Sim) -> Result<(), TestCaseError> {
    let (exec, meta, children) = (&sim.exec, &sim.meta, &sim.children);
    // Sequence numbers are unique and follow scheduling order.
    for w in exec.tasks.windows(2) {
        prop_assert!(w[0].seq < w[1].seq);
    }
    for t in &exec.tasks {
        let r = &t.reference_task_name;
        let (base, suffix) = split(r);
        let info = meta
            .refs
            .get(base)
            .expect("every instance is of a generated ref");
        prop_assert!(info.on_path, "{} ran in a case that was not taken", r);
        // One iteration group per enclosing loop, none past what the loop runs.
        let its = groups(suffix);
        prop_assert_eq!(its.len(), info.loops.len(), "suffix of {}", r);
        for (n, l) in its.iter().zip(&info.loops) {
            let count = meta.count(l);
            prop_assert!(
                (1..=count).contains(n),
                "{} runs in iteration {} of {}, which runs {}",
                r,
                n,
                l,
                count
            );
        }
        // A task's iteration is its innermost group's; a loop's is the one it is in.
        let iteration = match info.kind {
            Kind::Loop { .. } => t.output.get("iteration").and_then(Value::as_i64),
            _ => Some(its.last().copied().unwrap_or(0)),
        };
        prop_assert_eq!(
            Some(i64::from(t.iteration)),
            iteration,
            "iteration of {}",
            r
        );
        // What precedes it in the definition ran before it (in the same iteration).
        if let Some(p) = &info.pred {
            let p_suffix = if info.pred_is_loop {
                outer(suffix)
            } else {
                suffix
            };
            let p = format!("{p}{p_suffix}");
            prop_assert!(
                latest_before(exec, &p, t.seq).is_some(),
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
        let takes_inputs = matches!(info.kind, Kind::Worker { .. } | Kind::Sub { .. });
        if takes_inputs && t.status != TaskStatus::FailedWithTerminalError {
            let found = info
                .sibling
                .as_deref()
                .map(|s| latest_base_before(exec, s, t.seq));
            let want = match found {
                // An operator's retry re-runs a permissive failure together with what
                // was cancelled after it: then the predecessor was still running.
                Some(p) => p
                    .filter(|p| {
                        let (ended, born) = (sim.ended.get(&p.task_id), sim.born.get(&t.task_id));
                        matches!((ended, born), (Some(e), Some(b)) if e <= b)
                    })
                    .map(|p| {
                        if t.retried_task_id.is_none() {
                            // A first attempt reads its own iteration's predecessor.
                            assert_eq!(split(&p.reference_task_name).1, suffix, "{r}");
                        }
                        p.output.get("v").cloned().unwrap_or(Value::Null)
                    }),
                None => Some(json!("none")),
            };
            if let Some(want) = want {
                prop_assert_eq!(t.input.get("prev"), Some(&want), "input of {}", r);
            }
            prop_assert_eq!(t.input.get("wf"), Some(&json!("key")));
            if let (Some(l), None) = (info.loops.last(), &t.retried_task_id) {
                // A first attempt sees its loop's iteration (and item).
                let n = its.last().copied().expect("an iteration");
                prop_assert_eq!(t.input.get("it"), Some(&json!(n)), "iteration of {}", r);
                if let Some(Kind::Loop { items: Some(_), .. }) = meta.refs.get(l).map(|i| &i.kind) {
                    let item = json!(format!("{l}-{}", n - 1));
                    prop_assert_eq!(t.input.get("item"), Some(&item), "item of {}", r);
                }
            }
        }
        match &info.kind {
            Kind::Worker { name, dynamic, .. } => {
                // A DYNAMIC task runs as a SIMPLE worker task of the name its input gave.
                prop_assert_eq!(&t.task_def_name, name);
                prop_assert_eq!(t.task_type.as_str(), "SIMPLE");
                if *dynamic && t.status != TaskStatus::FailedWithTerminalError {
                    prop_assert_eq!(t.input.get("taskToExecute"), Some(&json!(name)));
                }
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
            Kind::Loop { count, first, .. } if t.status == TaskStatus::Completed => {
                // A loop that completed ran exactly the iterations asked for.
                prop_assert_eq!(t.output.get("iteration"), Some(&json!(count)), "{}", r);
                for k in 1..=*count {
                    let outputs = t.output.get(&k.to_string()).and_then(Value::as_object);
                    prop_assert!(outputs.is_some(), "{} has no output for iteration {}", r, k);
                    // Only its own body's tasks (not a loop beside it) are in there.
                    for key in outputs.into_iter().flat_map(|o| o.keys()) {
                        let inner = meta.refs.get(key).and_then(|i| i.loops.last());
                        prop_assert_eq!(
                            inner.map(String::as_str),
                            Some(base),
                            "{} output {}",
                            r,
                            k
                        );
                    }
                    let body = format!("{first}{suffix}__{k}");
                    prop_assert!(
                        latest_before(exec, &body, i32::MAX).is_some(),
                        "{} never ran {}",
                        r,
                        body
                    );
                }
            }
            Kind::Sub { .. } => {
                prop_assert_eq!(t.output.get("subWorkflowId"), Some(&json!(t.task_id)));
                let child = children.get(&t.task_id);
                prop_assert!(child.is_some(), "{} ({}) has no child", r, t.task_id);
                prop_assert!(
                    !child.is_some_and(|c| c.running),
                    "{} left its child running",
                    r
                );
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
        let base = split(&x.reference_task_name).0;
        prop_assert_eq!(&wf.output, &obj(json!({"t": base})));
        return Ok(());
    }
    match wf.status {
        WorkflowStatus::Completed => {
            for (r, info) in meta.refs.iter().filter(|(_, i)| i.on_path) {
                // In every iteration of every loop around it.
                for suffix in meta.suffixes(&info.loops) {
                    let instance = format!("{r}{suffix}");
                    let t = exec.latest_task(&instance);
                    prop_assert!(t.is_some(), "{} never ran in a COMPLETED run", instance);
                    let t = t.unwrap();
                    let ok = match &info.kind {
                        Kind::Worker { optional, .. } | Kind::Sub { optional } => {
                            t.status == TaskStatus::Completed
                                || (*optional && t.status == TaskStatus::CompletedWithErrors)
                        }
                        Kind::Join { join_on } => {
                            for j in join_on {
                                let j = format!("{j}{suffix}");
                                let out = exec
                                    .latest_task(&j)
                                    .map(|x| Value::Object(x.output.clone()));
                                let got = t.output.get(&j);
                                // A joined task with an empty output may be left out (as
                                // Conductor does).
                                let empty = out.as_ref().is_some_and(|o| o == &json!({}));
                                prop_assert!(
                                    got == out.as_ref() || (empty && got.is_none()),
                                    "join {} on {}: {:?}, not {:?}",
                                    instance,
                                    j,
                                    got,
                                    out
                                );
                            }
                            matches!(
                                t.status,
                                TaskStatus::Completed | TaskStatus::CompletedWithErrors
                            )
                        }
                        Kind::SetVar => {
                            prop_assert_eq!(
                                wf.variables.get(&format!("sv_{r}")),
                                Some(&json!("key"))
                            );
                            t.status == TaskStatus::Completed
                        }
                        _ => t.status == TaskStatus::Completed,
                    };
                    prop_assert!(ok, "{} ended {:?} in a COMPLETED run", instance, t.status);
                }
            }
            exec.latest_task(&meta.end).expect("the end ran");
            // As in Conductor, the output is the output of the task it schedules last.
            prop_assert_eq!(&wf.output, &conductor_last(exec).output);
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
        let mut sim = Sim::new(env, exec, meta, acts, seed);
        sim.apply(&d);
        sim.check();
        prop_assert!(sim.run(), "no terminal status within {} events", MAX_EVENTS);
        prop_assert!(sim.exec.workflow.status.is_terminal());
        if let Err(e) = check_outcome(&sim) {
            // The trail of instances and the last events tell what happened.
            return Err(TestCaseError::fail(format!(
                "{e}\n{}\n{}",
                trail(&sim.exec),
                sim.log.join("\n")
            )));
        }
    }
}
