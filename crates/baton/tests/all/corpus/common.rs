//! Compatibility run machinery: corpus workflows, executed by the real `baton server`
//! binary with Rust workers on the Work stream, checked against what Conductor gives for
//! them.
//!
//! Every corpus workflow definition is classified by the operators and features it uses.
//! The ones Baton runs (every operator but the optional integrations KAFKA_PUBLISH and
//! JDBC) must each have at least one row; the others are listed, by what they lack, in the
//! test's output. Rows live in `corpus/rows_*.rs`, one module per theme, each run by its
//! own test binary (`tests/corpus_*.rs`); `tests/corpus_run.rs` checks the coverage.
//!
//! A row's workflow brings along what it needs from the corpus: the definitions it starts
//! (SUB_WORKFLOW, START_WORKFLOW, `failureWorkflow`, found in the same file first, then
//! anywhere in the corpus) are registered with it, and their worker tasks are served too.
//! HTTP tasks that name a host are sent to a local test server that answers as the hosts
//! the corpus was written against would (see [`http_answer`]); the addresses the corpus
//! means to fail (a misspelt host, a bare IP) go to a loopback port where nothing listens,
//! so no call leaves the machine; relative paths are left as they are.
//! WAIT and HUMAN tasks are completed by the row's signals, through UpdateTaskByRef.
//!
//! `CORPUS_ROWS=<text>` runs only the rows whose file or workflow contains the text.
//!
//! A row names a corpus file and workflow, the start input, what the worker does per task
//! reference (by default it completes with `{"op": "<ref> op", "uuid": "<ref> uuid"}`),
//! the status Conductor ends in and JSON-pointer checks on a view of the finished
//! execution:
//!
//! ```text
//! {"status": "COMPLETED", "reason": "...", "output": {...}, "variables": {...},
//!  "refs": ["t1", "t2"],                      // reference names by first scheduling
//!  "tasks": {"t1": {"status": "COMPLETED", "input": {...}, "output": {...},
//!                   "taskId": "...", "taskType": "t1_task", "retryCount": 0,
//!                   "instances": 1, "domain": "",
//!                   "child": {...}}},    // SUB_WORKFLOW / START_WORKFLOW: the child's view
//!  "failure": {...},                         // the failure workflow's view, if one started
//!  "events": {"<name>": {...}}}              // workflows the row's event handlers started
//! ```
//!
//! Loop iterations appear under their own references (`t__1`, `t__2`, ...); worker rules
//! given for `t` apply to every iteration of `t`.
//!
//! Where Baton does not yet give what Conductor gives, the row keeps Conductor's
//! expectation and is marked with [`Row::gap`], naming the part of the view that differs:
//! checks there must still fail (the test says when they start passing, so the mark can
//! go); every other check must pass.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::support::*;
use baton_grpc::convert::{object_to_struct, struct_to_object};
use baton_proto::v1 as pb;
use baton_proto::v1::metadata_service_client::MetadataServiceClient;
use baton_proto::v1::task_service_client::TaskServiceClient;
use baton_proto::v1::workflow_service_client::WorkflowServiceClient;
use serde_json::{Value, json};
use tonic::transport::Channel;

/// Operator and system task types Baton runs today: every system type but the optional
/// integrations.
pub fn supported_system_type(ty: &str) -> bool {
    baton_core::decider::is_system_task_type(ty) && !matches!(ty, "KAFKA_PUBLISH" | "JDBC")
}

/// The corpus beside the project checkout.
pub fn corpus_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/conductor-corpus"
    ))
}

// ---------------------------------------------------------------------------------------
// Finding and classifying corpus workflows
// ---------------------------------------------------------------------------------------

/// One workflow definition found in the corpus.
pub struct CorpusWorkflow {
    /// Path relative to the corpus folder.
    file: String,
    name: String,
    version: i64,
    def: Value,
}

pub fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

/// Workflow definitions in a JSON value: objects with a `name` and a `tasks` list, found
/// at any depth outside other definitions (files hold one, a list, or start requests
/// carrying one).
pub fn defs_in(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Array(items) => items.iter().for_each(|x| defs_in(x, out)),
        Value::Object(o) => {
            if o.get("name").is_some_and(Value::is_string)
                && o.get("tasks").is_some_and(Value::is_array)
            {
                out.push(v.clone());
            } else {
                o.values().for_each(|x| defs_in(x, out));
            }
        }
        _ => {}
    }
}

pub fn corpus_workflows() -> Vec<CorpusWorkflow> {
    let root = corpus_dir();
    let mut files = Vec::new();
    json_files(&root, &mut files);
    let mut out = Vec::new();
    for p in files {
        let text = std::fs::read_to_string(&p).unwrap();
        // Some corpus files are payloads that are not JSON documents.
        let Ok(v) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let mut defs = Vec::new();
        defs_in(&v, &mut defs);
        let file = p
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        for def in defs {
            out.push(CorpusWorkflow {
                file: file.clone(),
                name: def["name"].as_str().unwrap().to_string(),
                version: def["version"].as_i64().unwrap_or(1),
                def,
            });
        }
    }
    out
}

/// Every task of a list, at any nesting (fork branches, cases, loop bodies).
pub fn all_tasks<'a>(tasks: &'a Value, out: &mut Vec<&'a Value>) {
    for t in tasks.as_array().into_iter().flatten() {
        out.push(t);
        for branch in t["forkTasks"].as_array().into_iter().flatten() {
            all_tasks(branch, out);
        }
        for case in t["decisionCases"].as_object().into_iter().flatten() {
            all_tasks(case.1, out);
        }
        all_tasks(&t["defaultCase"], out);
        all_tasks(&t["loopOver"], out);
    }
}

pub fn task_type(t: &Value) -> &str {
    t["type"].as_str().unwrap_or("SIMPLE")
}

/// The operators and features a definition uses that Baton does not run yet.
pub fn features(def: &Value) -> BTreeSet<String> {
    let mut tasks = Vec::new();
    all_tasks(&def["tasks"], &mut tasks);
    let mut out = BTreeSet::new();
    for t in tasks {
        let ty = task_type(t);
        if baton_core::decider::is_system_task_type(ty) && !supported_system_type(ty) {
            out.insert(ty.to_string());
        }
    }
    out
}

/// Names (and versions, where given) of the workflows a definition starts: SUB_WORKFLOW
/// children (registered ones, not inline definitions), START_WORKFLOW targets written as
/// literals, and the `failureWorkflow`.
pub fn started_workflows(def: &Value) -> Vec<(String, Option<i64>)> {
    let mut tasks = Vec::new();
    all_tasks(&def["tasks"], &mut tasks);
    let mut out = Vec::new();
    for t in tasks {
        let p = &t["subWorkflowParam"];
        if task_type(t) == "SUB_WORKFLOW"
            && p["workflowDefinition"].is_null()
            && let Some(n) = p["name"].as_str()
        {
            out.push((n.to_string(), p["version"].as_i64()));
        }
        let sw = &t["inputParameters"]["startWorkflow"];
        if task_type(t) == "START_WORKFLOW"
            && let Some(n) = sw["name"].as_str()
            && !n.contains("${")
        {
            out.push((n.to_string(), sw["version"].as_i64()));
        }
    }
    if let Some(n) = def["failureWorkflow"].as_str().filter(|n| !n.is_empty()) {
        out.push((n.to_string(), def["failureWorkflowVersion"].as_i64()));
    }
    out
}

/// The corpus definitions a workflow needs registered besides itself, found by name
/// (and version) in the same file first, then anywhere; transitively.
pub fn related<'a>(all: &'a [CorpusWorkflow], wf: &CorpusWorkflow) -> Vec<&'a CorpusWorkflow> {
    let mut out: Vec<&CorpusWorkflow> = Vec::new();
    let mut todo: Vec<(String, Value)> = vec![(wf.file.clone(), wf.def.clone())];
    while let Some((file, def)) = todo.pop() {
        for (name, version) in started_workflows(&def) {
            let fits =
                |c: &&CorpusWorkflow| c.name == name && version.is_none_or(|v| v == c.version);
            let found = all
                .iter()
                .filter(fits)
                .find(|c| c.file == file)
                .or_else(|| all.iter().find(fits));
            if let Some(c) = found
                && !(c.name == wf.name && c.file == wf.file && c.version == wf.version)
                && !out
                    .iter()
                    .any(|o| o.file == c.file && o.name == c.name && o.version == c.version)
            {
                out.push(c);
                todo.push((c.file.clone(), c.def.clone()));
            }
        }
    }
    out
}

/// Names of the worker tasks of a definition (the queues its workers serve).
pub fn worker_task_names(def: &Value) -> BTreeSet<String> {
    let mut tasks = Vec::new();
    all_tasks(&def["tasks"], &mut tasks);
    tasks
        .into_iter()
        .filter(|t| !baton_core::decider::is_system_task_type(task_type(t)))
        .filter_map(|t| t["name"].as_str().map(str::to_string))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------------------

/// What the test worker does with the tasks of one reference name.
#[derive(Clone, Debug)]
pub enum Do {
    /// Complete with this output.
    Complete(Value),
    /// Fail (retriable).
    Fail,
    /// Fail the first `n` attempts, then complete with the default output.
    FailTimes(i32),
    /// Fail with a terminal error (no retry).
    FailTerminal,
    /// Complete with the output this function makes of the task's input.
    With(fn(&Value) -> Value),
    /// Take the first `n` attempts and never answer them (their lease runs out), then
    /// complete with the default output.
    StallTimes(i32),
}

/// An update sent through UpdateTaskByRef to every IN_PROGRESS instance of a reference
/// (a WAIT or HUMAN task; its loop iterations `ref__N` too), in the row's execution and
/// in every child it starts.
#[derive(Clone, Debug)]
pub struct Signal {
    reference: &'static str,
    status: pb::TaskStatus,
    output: Value,
}

/// A check on the view of the finished execution.
#[derive(Clone, Debug)]
pub enum Check {
    /// The value at the pointer equals this (a missing value reads as null).
    Is(String, Value),
    /// The values at two pointers are equal and not null.
    Same(String, String),
    /// The text at the first pointer is the template with `{}` replaced by the text at
    /// the second (a reason naming a task id, say).
    Text(String, &'static str, String),
}

/// One run of a corpus workflow.
pub struct Row {
    file: String,
    workflow: &'static str,
    version: i64,
    /// What the row exercises.
    label: &'static str,
    input: Value,
    /// Task definitions to register instead of the default one, by name.
    task_defs: Vec<Value>,
    /// Task names to serve besides those of the definition (dynamic tasks).
    extra_types: Vec<&'static str>,
    /// Worker behaviour per reference name; others complete with the default output.
    rules: HashMap<&'static str, Do>,
    /// No worker at all.
    no_worker: bool,
    status: &'static str,
    checks: Vec<Check>,
    /// Seconds to wait for the end.
    wait: u64,
    /// Known difference from Conductor: checks under this pointer prefix fail until it is
    /// fixed; why.
    gap: Option<(&'static str, &'static str)>,
    /// Updates for WAIT and HUMAN tasks.
    signals: Vec<Signal>,
    /// Event handlers to register before the start.
    event_handlers: Vec<Value>,
    /// Corpus workflows (file, name) to register besides those found by name: children
    /// and failure workflows named only at run time (from the input).
    also: Vec<(&'static str, &'static str)>,
}

pub fn row(file: &str, workflow: &'static str) -> Row {
    Row {
        file: file.to_string(),
        workflow,
        version: 1,
        label: "",
        input: json!({}),
        task_defs: Vec::new(),
        extra_types: Vec::new(),
        rules: HashMap::new(),
        no_worker: false,
        status: "COMPLETED",
        checks: Vec::new(),
        wait: 20,
        gap: None,
        signals: Vec::new(),
        event_handlers: Vec::new(),
        also: Vec::new(),
    }
}

impl Row {
    pub fn label(mut self, l: &'static str) -> Self {
        self.label = l;
        self
    }
    pub fn version(mut self, v: i64) -> Self {
        self.version = v;
        self
    }
    pub fn input(mut self, v: Value) -> Self {
        self.input = v;
        self
    }
    pub fn task_def(mut self, v: Value) -> Self {
        self.task_defs.push(v);
        self
    }
    pub fn serve(mut self, task_type: &'static str) -> Self {
        self.extra_types.push(task_type);
        self
    }
    pub fn on(mut self, reference: &'static str, d: Do) -> Self {
        self.rules.insert(reference, d);
        self
    }
    pub fn no_worker(mut self) -> Self {
        self.no_worker = true;
        self
    }
    pub fn expect(mut self, status: &'static str) -> Self {
        self.status = status;
        self
    }
    pub fn check(mut self, pointer: &str, v: Value) -> Self {
        self.checks.push(Check::Is(pointer.to_string(), v));
        self
    }
    /// The reference never ran.
    pub fn absent(self, reference: &str) -> Self {
        self.check(&format!("/tasks/{reference}"), Value::Null)
    }
    /// The reference's latest instance ended in this status.
    pub fn task(self, reference: &str, status: &str) -> Self {
        self.check(&format!("/tasks/{reference}/status"), json!(status))
    }
    pub fn same(mut self, a: &str, b: &str) -> Self {
        self.checks.push(Check::Same(a.to_string(), b.to_string()));
        self
    }
    /// The text at `pointer` is `template` with `{}` standing for the text at `arg`.
    pub fn text(mut self, pointer: &str, template: &'static str, arg: &str) -> Self {
        self.checks
            .push(Check::Text(pointer.to_string(), template, arg.to_string()));
        self
    }
    pub fn wait(mut self, secs: u64) -> Self {
        self.wait = secs;
        self
    }
    /// Completes every IN_PROGRESS instance of `reference` (WAIT, HUMAN) with `output`;
    /// `ref__N` names one loop iteration's instance only.
    pub fn signal(mut self, reference: &'static str, output: Value) -> Self {
        self.signals.push(Signal {
            reference,
            status: pb::TaskStatus::Completed,
            output,
        });
        self
    }
    /// Fails every IN_PROGRESS instance of `reference` (WAIT, HUMAN).
    pub fn signal_fail(mut self, reference: &'static str) -> Self {
        self.signals.push(Signal {
            reference,
            status: pb::TaskStatus::Failed,
            output: json!({}),
        });
        self
    }
    /// Registers an event handler (Conductor's JSON) before the start.
    pub fn event_handler(mut self, h: Value) -> Self {
        self.event_handlers.push(h);
        self
    }
    /// Also registers the corpus workflow `name` of `file` (and what it starts): for a
    /// child or failure workflow whose name comes from the input.
    pub fn register(mut self, file: &'static str, name: &'static str) -> Self {
        self.also.push((file, name));
        self
    }
    /// Checks under `prefix` are expected to fail, for the reason given.
    pub fn gap(mut self, prefix: &'static str, why: &'static str) -> Self {
        self.gap = Some((prefix, why));
        self
    }
}

/// A reference without its loop iteration suffixes (`t__2` -> `t`, `t__1__3` -> `t`).
pub fn base_ref(reference: &str) -> &str {
    let mut r = reference;
    while let Some((head, n)) = r.rsplit_once("__")
        && !n.is_empty()
        && n.bytes().all(|b| b.is_ascii_digit())
    {
        r = head;
    }
    r
}

/// The default output of a completed task.
pub fn out(reference: &str) -> Value {
    json!({"op": format!("{reference} op"), "uuid": format!("{reference} uuid")})
}

/// A file of the test-harness folder.
pub fn th(file: &str) -> String {
    format!("test-harness/{file}")
}

// Running a row
// ---------------------------------------------------------------------------------------

pub fn status_name(s: i32, prefix: &str) -> String {
    let name = pb::WorkflowStatus::try_from(s)
        .map(|x| x.as_str_name().to_string())
        .unwrap_or_default();
    if prefix == "TASK_STATUS_" {
        let t = pb::TaskStatus::try_from(s)
            .map(|x| x.as_str_name().to_string())
            .unwrap_or_default();
        return t.trim_start_matches(prefix).to_string();
    }
    name.trim_start_matches(prefix).to_string()
}

pub fn obj(s: Option<&prost_types::Struct>) -> Value {
    Value::Object(s.map(struct_to_object).unwrap_or_default())
}

/// The view of a finished execution that checks look into.
pub fn view(w: &pb::Workflow) -> Value {
    let mut refs: Vec<String> = Vec::new();
    let mut tasks: BTreeMap<String, Value> = BTreeMap::new();
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut sorted = w.tasks.clone();
    sorted.sort_by_key(|t| t.seq);
    for t in &sorted {
        let r = t.reference_task_name.clone();
        if !refs.contains(&r) {
            refs.push(r.clone());
        }
        *counts.entry(r.clone()).or_default() += 1;
        tasks.insert(
            r.clone(),
            json!({
                "status": status_name(t.status, "TASK_STATUS_"),
                "input": obj(t.input.as_ref()),
                "output": obj(t.output.as_ref()),
                "taskId": t.task_id,
                "taskType": t.task_type,
                "retryCount": t.retry_count,
                "instances": counts[&r],
                "domain": t.domain,
            }),
        );
    }
    json!({
        "status": status_name(w.status, "WORKFLOW_STATUS_"),
        "reason": w.reason_for_incompletion,
        "output": obj(w.output.as_ref()),
        "variables": obj(w.variables.as_ref()),
        "refs": refs,
        "tasks": tasks,
    })
}

/// Ids of the executions a finished one started, by the reference of the task that
/// started them (SUB_WORKFLOW `subWorkflowId`, START_WORKFLOW `workflowId`), latest
/// instance per reference.
pub fn child_ids(v: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (r, t) in v["tasks"].as_object().into_iter().flatten() {
        let id = match t["taskType"].as_str() {
            Some("SUB_WORKFLOW") => t["output"]["subWorkflowId"].as_str(),
            Some("START_WORKFLOW") => t["output"]["workflowId"].as_str(),
            _ => None,
        };
        if let Some(id) = id {
            out.push((r.clone(), id.to_string()));
        }
    }
    out
}

/// Waits (until `deadline`) for an execution to end; returns it as it is then.
pub async fn settled(ch: &Channel, id: &str, deadline: Instant) -> Option<pb::Workflow> {
    // A workflow started by an effect (a failure workflow) may not exist yet: look for
    // it a little while before giving up.
    let missing_until = deadline.min(Instant::now() + Duration::from_secs(2));
    loop {
        let found = WorkflowServiceClient::new(ch.clone())
            .get_workflow(pb::GetWorkflowRequest {
                workflow_id: id.to_string(),
                include_tasks: true,
            })
            .await
            .ok()
            .and_then(|r| r.into_inner().workflow);
        let Some(w) = found else {
            if Instant::now() > missing_until {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let running = matches!(
            status(&w),
            pb::WorkflowStatus::Running | pb::WorkflowStatus::Paused
        );
        if !running || Instant::now() > deadline {
            return Some(w);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The view of an execution with the executions it started: each starting task gets a
/// `child` view, and a failed run that started its failure workflow gets a `failure` view
/// (both waited for until `deadline`, to `depth` levels).
pub fn full_view<'a>(
    ch: &'a Channel,
    w: &'a pb::Workflow,
    depth: u32,
    deadline: Instant,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Value> + Send + 'a>> {
    Box::pin(async move {
        let mut v = view(w);
        if depth == 0 {
            return v;
        }
        for (r, id) in child_ids(&v) {
            if let Some(c) = settled(ch, &id, deadline).await {
                v["tasks"][r.as_str()]["child"] = full_view(ch, &c, depth - 1, deadline).await;
            }
        }
        if let Some(id) = v["output"]["conductor.failure_workflow"]
            .as_str()
            .map(str::to_string)
            && let Some(f) = settled(ch, &id, deadline).await
        {
            v["failure"] = full_view(ch, &f, depth - 1, deadline).await;
        }
        v
    })
}

/// Views (with their `input`) of the workflows the row's event handlers started, by name:
/// a `start_workflow` action that gives `"correlationId": "${workflowInstanceId}"` starts
/// one correlated with the row's workflow. Each is waited for until `deadline`.
pub async fn event_started(ch: &Channel, r: &Row, root: &str, deadline: Instant) -> Value {
    let mut out = serde_json::Map::new();
    let actions = r
        .event_handlers
        .iter()
        .flat_map(|h| h["actions"].as_array().into_iter().flatten());
    for a in actions {
        let Some(name) = a["start_workflow"]["name"].as_str() else {
            continue;
        };
        let found = WorkflowServiceClient::new(ch.clone())
            .get_workflows_by_correlation_id(pb::GetWorkflowsByCorrelationIdRequest {
                name: name.into(),
                correlation_id: root.into(),
                include_closed: true,
                include_tasks: false,
            })
            .await
            .map(|x| x.into_inner().workflows)
            .unwrap_or_default();
        if let Some(first) = found.first()
            && let Some(w) = settled(ch, &first.workflow_id, deadline).await
        {
            let mut e = view(&w);
            e["input"] = obj(w.input.as_ref());
            out.insert(name.to_string(), e);
        }
    }
    Value::Object(out)
}

/// Sends a row's signals until `stop` is set: every IN_PROGRESS instance of a signalled
/// reference, in the execution and in the executions it started, is updated once.
pub async fn send_signals(ch: Channel, root: String, signals: Vec<Signal>, stop: Arc<AtomicBool>) {
    let mut done: BTreeSet<String> = BTreeSet::new();
    while !stop.load(Ordering::Relaxed) {
        let mut ids = vec![root.clone()];
        let mut i = 0;
        while i < ids.len() && i < 64 {
            let Some(w) = settled(&ch, &ids[i], Instant::now()).await else {
                i += 1;
                continue;
            };
            let v = view(&w);
            ids.extend(child_ids(&v).into_iter().map(|(_, id)| id));
            for t in &w.tasks {
                // A signal naming one loop instance (`ref__N`) wins over one naming them all.
                let Some(sig) = signals
                    .iter()
                    .find(|s| s.reference == t.reference_task_name)
                    .or_else(|| {
                        signals
                            .iter()
                            .find(|s| s.reference == base_ref(&t.reference_task_name))
                    })
                else {
                    continue;
                };
                if t.status != pb::TaskStatus::InProgress as i32 || done.contains(&t.task_id) {
                    continue;
                }
                let sent = TaskServiceClient::new(ch.clone())
                    .update_task_by_ref(pb::UpdateTaskByRefRequest {
                        workflow_id: w.workflow_id.clone(),
                        task_ref_name: t.reference_task_name.clone(),
                        status: sig.status as i32,
                        output: Some(object_to_struct(sig.output.as_object().expect("object"))),
                        reason_for_incompletion: if sig.status == pb::TaskStatus::Completed {
                            String::new()
                        } else {
                            format!("{} failed by the test", t.reference_task_name)
                        },
                        ..Default::default()
                    })
                    .await;
                if sent.is_ok() {
                    done.insert(t.task_id.clone());
                }
            }
            i += 1;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------------------
// The local HTTP server HTTP tasks are sent to
// ---------------------------------------------------------------------------------------

/// Hosts the corpus names on purpose to fail (a misspelt one).
pub const FAILING_HOSTS: &[&str] = &["cdatfact.ninja"];

/// Keeps every HTTP call on this machine: a `uri` that names a host is pointed at the
/// local server (`base`), keeping the path and query; one the corpus means to fail (a
/// misspelt host, a bare IP address such as the cloud metadata service's) is pointed at a
/// loopback port where nothing listens (`dead`), so that it fails as it would there.
/// Relative URIs stay as they are.
pub fn rewrite_uris(v: &mut Value, base: &str, dead: &str) {
    match v {
        Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                if k == "uri"
                    && let Value::String(u) = x
                    && let Some(rest) = u
                        .strip_prefix("http://")
                        .or_else(|| u.strip_prefix("https://"))
                {
                    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                    let host = authority.split(':').next().unwrap_or("");
                    let to = if host.bytes().any(|b| b.is_ascii_alphabetic())
                        && !FAILING_HOSTS.contains(&host)
                    {
                        base
                    } else {
                        dead
                    };
                    *u = format!("{to}{path}");
                } else {
                    rewrite_uris(x, base, dead);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| rewrite_uris(x, base, dead)),
        _ => {}
    }
}

/// A loopback address where nothing listens (a port taken and given back).
pub fn dead_address() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let addr = l.local_addr().expect("its address");
    format!("http://{addr}")
}

/// What the local server answers, as the services the corpus was written against would:
/// an Elasticsearch search (the kitchensink's), the API tester's echo, a hello service
/// and a population data set; anything else is 404.
pub fn http_answer(
    method: &str,
    path: &str,
    query: &BTreeMap<String, String>,
    body: &Value,
) -> (u16, Value) {
    match path {
        "/conductor/_search" => (
            200,
            json!({"took": 1, "timed_out": false, "hits": {"total": 2, "hits": [
                {"_id": "w1", "_source": {"workflowId": "w1", "status": "COMPLETED"}},
                {"_id": "w2", "_source": {"workflowId": "w2", "status": "RUNNING"}}
            ]}}),
        ),
        "/api" | "/get" => (
            200,
            json!({"method": method, "path": path, "query": query, "body": body, "message": "ok"}),
        ),
        "/api/hello" => (
            200,
            json!({"hello": query.get("name").cloned().unwrap_or_default()}),
        ),
        "/api/data" => (
            200,
            json!({"data": [
                {"ID Nation": "01000US", "Nation": "United States", "ID Year": 2022, "Year": "2022", "Population": 331097593},
                {"ID Nation": "01000US", "Nation": "United States", "ID Year": 2021, "Year": "2021", "Population": 329725481}
            ]}),
        ),
        _ => (404, json!({"error": format!("no route for {path}")})),
    }
}

/// Starts the local HTTP server; returns its base URL.
pub async fn start_http_server() -> String {
    async fn answer(
        method: axum::http::Method,
        uri: axum::http::Uri,
        axum::extract::Query(query): axum::extract::Query<BTreeMap<String, String>>,
        body: String,
    ) -> (axum::http::StatusCode, axum::Json<Value>) {
        let body = serde_json::from_str(&body).unwrap_or(Value::String(body));
        let (code, v) = http_answer(method.as_str(), uri.path(), &query, &body);
        (
            axum::http::StatusCode::from_u16(code).unwrap(),
            axum::Json(v),
        )
    }
    let app = axum::Router::new().fallback(answer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// A check that did not hold: the pointer it looked at, and what it saw.
pub struct Problem {
    pointer: String,
    message: String,
}

/// The problems a finished execution shows against a row's expectations.
pub fn problems(r: &Row, v: &Value) -> Vec<Problem> {
    let mut p = Vec::new();
    if v["status"] != json!(r.status) {
        p.push(Problem {
            pointer: "/status".into(),
            message: format!(
                "status {} (reason {}), expected {}",
                v["status"], v["reason"], r.status
            ),
        });
    }
    for c in &r.checks {
        match c {
            Check::Is(ptr, want) => {
                let got = v.pointer(ptr).cloned().unwrap_or(Value::Null);
                if &got != want {
                    p.push(Problem {
                        pointer: ptr.clone(),
                        message: format!("{ptr}: got {got}, expected {want}"),
                    });
                }
            }
            Check::Same(a, b) => {
                let (x, y) = (v.pointer(a), v.pointer(b));
                if x.is_none() || x.is_some_and(Value::is_null) || x != y {
                    p.push(Problem {
                        pointer: a.clone(),
                        message: format!("{a} ({x:?}) differs from {b} ({y:?})"),
                    });
                }
            }
            Check::Text(ptr, template, arg) => {
                let want = v
                    .pointer(arg)
                    .and_then(Value::as_str)
                    .map(|a| template.replace("{}", a));
                let got = v.pointer(ptr).and_then(Value::as_str);
                if want.is_none() || got != want.as_deref() {
                    p.push(Problem {
                        pointer: ptr.clone(),
                        message: format!("{ptr}: got {got:?}, expected {want:?}"),
                    });
                }
            }
        }
    }
    p
}

pub async fn start_version(ch: &Channel, name: &str, version: i64, input: &Value) -> String {
    WorkflowServiceClient::new(ch.clone())
        .start_workflow(pb::StartWorkflowRequest {
            name: name.into(),
            version: Some(version as i32),
            input: Some(object_to_struct(input.as_object().expect("object input"))),
            ..Default::default()
        })
        .await
        .expect("start workflow")
        .into_inner()
        .workflow_id
}

/// A worker handler following a row's rules.
pub fn handler(rules: HashMap<&'static str, Do>) -> Handler {
    Arc::new(move |t: &pb::TaskAssignment| {
        let reference = t.reference_task_name.as_str();
        // Loop iterations (`ref__N`) follow the rule of their plain reference.
        let plain = base_ref(reference);
        let rule = rules.get(reference).or_else(|| rules.get(plain));
        match rule {
            None => Action::Complete(out(plain)),
            Some(Do::Complete(v)) => Action::Complete(v.clone()),
            Some(Do::Fail) => Action::Fail(format!("{reference} failed on purpose")),
            Some(Do::FailTimes(n)) if t.retry_count < *n => {
                Action::Fail(format!("{reference} attempt {} failed", t.retry_count))
            }
            Some(Do::FailTimes(_)) => Action::Complete(out(plain)),
            Some(Do::FailTerminal) => {
                Action::FailTerminal(format!("{reference} failed for good on purpose"))
            }
            Some(Do::With(f)) => Action::Complete(f(&input_of(t))),
            Some(Do::StallTimes(n)) if t.retry_count < *n => Action::Stall,
            Some(Do::StallTimes(_)) => Action::Complete(out(plain)),
        }
    })
}

/// Where a row runs: the server, and the base URL of the local HTTP server.
pub struct Bench {
    ch: Channel,
    http: String,
    /// A loopback address where nothing listens, for the calls meant to fail.
    dead: String,
}

/// Registers a definition (with its URIs pointed at the local server) and the task
/// definitions of its worker tasks; returns those task names.
pub async fn register(b: &Bench, r: &Row, def: &Value) -> BTreeSet<String> {
    let names = worker_task_names(def);
    let defs: Vec<Value> = names
        .iter()
        .map(String::as_str)
        .chain(r.extra_types.iter().copied())
        .map(|n| {
            let given = r.task_defs.iter().find(|d| d["name"] == json!(n));
            given.cloned().unwrap_or_else(|| {
                json!({"name": n, "retryCount": 0, "retryDelaySeconds": 0, "responseTimeoutSeconds": 60})
            })
        })
        .collect();
    if !defs.is_empty() {
        // An input template may carry an HTTP request: its URI goes to the local server too.
        let mut defs = Value::Array(defs);
        rewrite_uris(&mut defs, &b.http, &b.dead);
        register_task_defs(&b.ch, defs).await;
    }
    let mut def = def.clone();
    rewrite_uris(&mut def, &b.http, &b.dead);
    register_workflow(&b.ch, &def).await;
    names
}

/// Runs one row; returns what did not match, and the view of the finished execution.
pub async fn run_row(
    b: &Bench,
    all: &[CorpusWorkflow],
    r: &Row,
    wf: &CorpusWorkflow,
) -> (Vec<Problem>, Value) {
    let mut names = BTreeSet::new();
    for &(file, name) in &r.also {
        let extra = all
            .iter()
            .find(|w| w.file == file && w.name == name)
            .unwrap_or_else(|| panic!("{file} {name}: not in the corpus"));
        for other in related(all, extra).into_iter().chain([extra]) {
            names.extend(register(b, r, &other.def).await);
        }
    }
    for other in related(all, wf) {
        names.extend(register(b, r, &other.def).await);
    }
    names.extend(register(b, r, &wf.def).await);
    for h in &r.event_handlers {
        let mut meta = MetadataServiceClient::new(b.ch.clone());
        if meta
            .add_event_handler(pb::AddEventHandlerRequest {
                handler: Some(text_def(h)),
            })
            .await
            .is_err()
        {
            meta.update_event_handler(pb::UpdateEventHandlerRequest {
                handler: Some(text_def(h)),
            })
            .await
            .expect("register event handler");
        }
    }
    let worker = (!r.no_worker).then(|| {
        let types: Vec<&str> = names
            .iter()
            .map(String::as_str)
            .chain(r.extra_types.iter().copied())
            .collect();
        spawn_worker(b.ch.clone(), &types, 8, handler(r.rules.clone())).0
    });
    let id = start_version(&b.ch, r.workflow, r.version, &r.input).await;
    let stop = Arc::new(AtomicBool::new(false));
    let signals = (!r.signals.is_empty()).then(|| {
        tokio::spawn(send_signals(
            b.ch.clone(),
            id.clone(),
            r.signals.clone(),
            stop.clone(),
        ))
    });
    let w = settled(&b.ch, &id, Instant::now() + Duration::from_secs(r.wait))
        .await
        .expect("the started workflow");
    let mut v = full_view(&b.ch, &w, 3, Instant::now() + Duration::from_secs(r.wait)).await;
    if !r.event_handlers.is_empty() {
        let deadline = Instant::now() + Duration::from_secs(r.wait);
        v["events"] = event_started(&b.ch, r, &id, deadline).await;
    }
    stop.store(true, Ordering::Relaxed);
    if let Some(h) = signals {
        let _ = h.await;
    }
    if let Some(h) = worker {
        h.abort();
        let _ = h.await;
    }
    (problems(r, &v), v)
}

// ---------------------------------------------------------------------------------------
// Running rows, and the coverage of the corpus
// ---------------------------------------------------------------------------------------

/// Checks that every row names a corpus workflow Baton runs.
fn check_rows_name_runnable_workflows(all: &[CorpusWorkflow], rows: &[Row]) {
    let mut bad_rows = Vec::new();
    for r in rows {
        match all
            .iter()
            .find(|w| w.file == r.file && w.name == r.workflow && w.version == r.version)
        {
            None => bad_rows.push(format!(
                "{} {} v{}: not in the corpus",
                r.file, r.workflow, r.version
            )),
            Some(w) if !features(&w.def).is_empty() => bad_rows.push(format!(
                "{} {}: uses {:?}, not supported",
                r.file,
                r.workflow,
                features(&w.def)
            )),
            Some(_) => {}
        }
    }
    assert!(bad_rows.is_empty(), "bad rows: {bad_rows:#?}");
}

/// Runs rows against one real server (in order; `CORPUS_ROWS` narrows them) and fails if
/// any check that is not a known gap fails, or a known gap passes.
pub async fn run_rows(rows: Vec<Row>) {
    let all = corpus_workflows();
    assert!(
        !all.is_empty(),
        "no corpus found at {}",
        corpus_dir().display()
    );
    check_rows_name_runnable_workflows(&all, &rows);
    let filter = std::env::var("CORPUS_ROWS").ok().filter(|f| !f.is_empty());
    let rows: Vec<Row> = rows
        .into_iter()
        .filter(|r| {
            filter
                .as_deref()
                .is_none_or(|f| r.file.contains(f) || r.workflow.contains(f))
        })
        .collect();

    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let bench = Bench {
        ch: server.channel().await,
        http: start_http_server().await,
        dead: dead_address(),
    };
    let mut failed = Vec::new();
    let mut gaps_fixed = Vec::new();
    let mut gaps = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let w = all
            .iter()
            .find(|w| w.file == r.file && w.name == r.workflow && w.version == r.version)
            .expect("checked above");
        let (p, v) = run_row(&bench, &all, r, w).await;
        let (in_gap, other): (Vec<&Problem>, Vec<&Problem>) = p.iter().partition(|x| {
            r.gap
                .is_some_and(|(prefix, _)| x.pointer.starts_with(prefix))
        });
        let name = format!("{} {} v{} [{}]", r.file, r.workflow, r.version, r.label);
        let mut verdict = if other.is_empty() { "ok" } else { "FAILED" }.to_string();
        if !other.is_empty() {
            let msgs: Vec<&str> = other.iter().map(|x| x.message.as_str()).collect();
            failed.push(format!("{name}: {msgs:#?}"));
            println!("    view: {}", serde_json::to_string(&v).unwrap());
        }
        if let Some((prefix, why)) = r.gap {
            if in_gap.is_empty() {
                gaps_fixed.push(format!("{name}: {prefix} ({why})"));
                verdict.push_str(&format!(
                    "; {prefix} matches Conductor now: remove the gap mark"
                ));
            } else {
                gaps.push(format!("{name}: {prefix}: {why}"));
                verdict.push_str(&format!("; known gap at {prefix}: {why}"));
            }
        }
        println!("row {:>2} {name}: {verdict}", i + 1);
        for x in &p {
            println!("    {}", x.message);
        }
    }
    println!("\n{} rows ran; known gaps: {}", rows.len(), gaps.len());
    for g in &gaps {
        println!("  {g}");
    }
    assert!(gaps_fixed.is_empty(), "gaps that pass now: {gaps_fixed:#?}");
    assert!(
        failed.is_empty(),
        "{} rows failed: {failed:#?}",
        failed.len()
    );
}

/// Checks that every runnable corpus workflow has a row, and prints what is skipped and
/// why.
pub fn check_coverage(rows: &[Row]) {
    let all = corpus_workflows();
    assert!(
        !all.is_empty(),
        "no corpus found at {}",
        corpus_dir().display()
    );
    check_rows_name_runnable_workflows(&all, rows);
    let mut skipped: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut runnable: Vec<&CorpusWorkflow> = Vec::new();
    for w in &all {
        let f = features(&w.def);
        if f.is_empty() {
            runnable.push(w);
        } else {
            for x in f {
                skipped
                    .entry(x)
                    .or_default()
                    .push(format!("{} ({} v{})", w.file, w.name, w.version));
            }
        }
    }
    let uncovered: Vec<String> = runnable
        .iter()
        .filter(|w| {
            !rows
                .iter()
                .any(|r| r.file == w.file && r.workflow == w.name && r.version == w.version)
        })
        .map(|w| format!("{} ({} v{})", w.file, w.name, w.version))
        .collect();
    println!(
        "{} rows over {} of {} runnable corpus workflows ({} definitions in the corpus)",
        rows.len(),
        runnable.len() - uncovered.len(),
        runnable.len(),
        all.len()
    );
    let n_skipped: BTreeSet<&String> = skipped.values().flatten().collect();
    println!(
        "{} corpus workflows skipped, by what they use that Baton does not run:",
        n_skipped.len()
    );
    for (feature, list) in &skipped {
        println!("  {feature} ({}):", list.len());
        for w in list {
            println!("    {w}");
        }
    }
    assert!(
        uncovered.is_empty(),
        "runnable corpus workflows without a row: {uncovered:#?}"
    );
}
