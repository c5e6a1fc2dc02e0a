//! Parsing and validation of definitions. Every problem names the JSON path where it is.
//!
//! Paths are written `$.tasks[2].taskReferenceName`; map keys that are not plain words are
//! bracketed (`$.tasks[3].decisionCases['case A'][0]`). Parsing reports type errors at the
//! path of the offending value; validation then checks the rules Conductor enforces:
//!
//! * a workflow has a `name` and at least one task; `version` >= 1; `timeoutSeconds` >= 0;
//!   `schemaVersion` is 2 (1, the legacy value, is accepted and runs as 2);
//! * every task has a `name` and a `taskReferenceName` unique across the whole workflow,
//!   nesting included; `retryCount` and `startDelay` are not negative;
//! * operators carry their fields: SWITCH `evaluatorType` (value-param, javascript or
//!   graaljs) and `expression`; DECISION `caseValueParam` or `caseExpression`; FORK_JOIN
//!   non-empty `forkTasks` and a JOIN right after it; JOIN right after a fork; `joinOn`
//!   naming existing refs; DO_WHILE `loopOver` and `loopCondition` (or `items`);
//!   SUB_WORKFLOW `subWorkflowParam` with `name` or `workflowDefinition` (an inline
//!   definition is validated too); DYNAMIC `dynamicTaskNameParam`; FORK_JOIN_DYNAMIC
//!   `dynamicForkTasksParam` or `forkTaskName` / `forkTaskType` / `forkTaskWorkflow` inputs;
//!   LAMBDA `scriptExpression` (`items`, `scriptExpression` may also be given as inputs);
//! * `${...}` expressions in inputs and outputs are well formed;
//! * nesting is at most [`MAX_DEPTH`] levels deep;
//! * task definitions (registered or inline): `name`, `retryCount` >= 0, timeouts >= 0,
//!   `responseTimeoutSeconds` >= 1 and, for registered definitions when `timeoutSeconds` > 0,
//!   not above it; `backoffScaleFactor` >= 1; rate and concurrency limits not negative.
//!
//! Task types this module does not know are user-defined worker tasks, not errors; unknown
//! JSON fields are kept in the model's `extra` maps.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::expr;
use crate::model::{TaskDef, WorkflowDef, WorkflowTask};

/// Deepest nesting of task lists (operators inside operators) a definition may have.
pub const MAX_DEPTH: usize = 32;

/// One problem in a definition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct Problem {
    /// JSON path of the offending value, such as `$.tasks[2].taskReferenceName`.
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

impl Problem {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Parses and validates a workflow definition from JSON.
pub fn parse_workflow_def(value: &Value) -> Result<WorkflowDef, Vec<Problem>> {
    let def: WorkflowDef = parse(value)?;
    let problems = validate_workflow_def(&def);
    if problems.is_empty() {
        Ok(def)
    } else {
        Err(problems)
    }
}

/// Validates a parsed workflow definition; empty when valid.
pub fn validate_workflow_def(def: &WorkflowDef) -> Vec<Problem> {
    let mut v = Validator::default();
    v.workflow(def, "$", 0);
    v.problems
}

/// Parses and validates a task definition from JSON.
pub fn parse_task_def(value: &Value) -> Result<TaskDef, Vec<Problem>> {
    let def: TaskDef = parse(value)?;
    let problems = validate_task_def(&def);
    if problems.is_empty() {
        Ok(def)
    } else {
        Err(problems)
    }
}

/// Validates a parsed task definition; empty when valid.
pub fn validate_task_def(def: &TaskDef) -> Vec<Problem> {
    let mut problems = Vec::new();
    task_def(def, "$", true, &mut problems);
    problems
}

/// Deserializes with the JSON path of the first type error.
fn parse<T: DeserializeOwned>(value: &Value) -> Result<T, Vec<Problem>> {
    if !value.is_object() {
        return Err(vec![Problem::new("$", "expected a JSON object")]);
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = json_path(e.path());
        vec![Problem::new(path, e.into_inner().to_string())]
    })
}

fn json_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::from("$");
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } => push_key(&mut out, key),
            Segment::Enum { variant } => push_key(&mut out, variant),
            Segment::Unknown => out.push_str(".?"),
        }
    }
    out
}

/// Appends `.key`, or `['key']` when the key is not a plain word.
fn push_key(out: &mut String, key: &str) {
    let plain = !key.is_empty()
        && !key.starts_with(|c: char| c.is_ascii_digit())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        out.push('.');
        out.push_str(key);
    } else {
        out.push_str("['");
        out.push_str(&key.replace('\\', "\\\\").replace('\'', "\\'"));
        out.push_str("']");
    }
}

fn key_path(base: &str, key: &str) -> String {
    let mut s = base.to_string();
    push_key(&mut s, key);
    s
}

/// Types that fork and must be followed by a JOIN.
fn is_fork(t: &str) -> bool {
    t == "FORK_JOIN" || t == "FORK_JOIN_DYNAMIC"
}

#[derive(Default)]
struct Validator {
    problems: Vec<Problem>,
}

/// Reference names of one workflow (an inline sub-workflow has its own).
#[derive(Default)]
struct Refs {
    seen: HashMap<String, String>,
    joins: Vec<(String, String)>,
}

impl Validator {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::new(path, message));
    }

    fn workflow(&mut self, def: &WorkflowDef, base: &str, depth: usize) {
        if def.name.trim().is_empty() {
            self.push(format!("{base}.name"), "name is required");
        }
        if def.version < 1 {
            self.push(format!("{base}.version"), "version must be at least 1");
        }
        if def.schema_version != 2 && def.schema_version != 1 {
            self.push(
                format!("{base}.schemaVersion"),
                format!(
                    "schema version {} is not supported (only 2)",
                    def.schema_version
                ),
            );
        }
        if def.timeout_seconds < 0 {
            self.push(
                format!("{base}.timeoutSeconds"),
                "timeoutSeconds must not be negative",
            );
        }
        if let Some(r) = &def.retention
            && let Err(e) = r.check()
        {
            self.push(format!("{base}.retention"), e.to_string());
        }
        if def.tasks.is_empty() {
            self.push(
                format!("{base}.tasks"),
                "a workflow needs at least one task",
            );
        }
        if let Some(out) = &def.output_parameters {
            for (k, v) in out {
                self.expressions(v, &key_path(&format!("{base}.outputParameters"), k));
            }
        }
        let mut refs = Refs::default();
        self.list(&def.tasks, &format!("{base}.tasks"), depth + 1, &mut refs);
        for (path, r) in &refs.joins {
            if !refs.seen.contains_key(r) {
                self.push(
                    path.clone(),
                    format!("names {r:?}, which is not a task of this workflow"),
                );
            }
        }
    }

    fn expressions(&mut self, v: &Value, path: &str) {
        if let Err(e) = expr::check_value(v) {
            self.push(path, e.to_string());
        }
    }

    fn list(&mut self, tasks: &[WorkflowTask], base: &str, depth: usize, refs: &mut Refs) {
        if depth > MAX_DEPTH {
            self.push(
                base,
                format!("tasks are nested more than {MAX_DEPTH} levels deep"),
            );
            return;
        }
        for (i, t) in tasks.iter().enumerate() {
            let p = format!("{base}[{i}]");
            let prev = i.checked_sub(1).map(|j| tasks[j].task_type.as_str());
            let next = tasks.get(i + 1).map(|n| n.task_type.as_str());
            self.task(t, &p, prev, next, depth, refs);
        }
    }

    fn task(
        &mut self,
        t: &WorkflowTask,
        p: &str,
        prev: Option<&str>,
        next: Option<&str>,
        depth: usize,
        refs: &mut Refs,
    ) {
        if t.name.trim().is_empty() {
            self.push(format!("{p}.name"), "name is required");
        }
        let r = &t.task_reference_name;
        if r.trim().is_empty() {
            self.push(
                format!("{p}.taskReferenceName"),
                "taskReferenceName is required",
            );
        } else if let Some(first) = refs.seen.get(r) {
            let msg = format!("taskReferenceName {r:?} is used twice: at {first} and at {p}");
            self.push(format!("{p}.taskReferenceName"), msg);
        } else {
            refs.seen.insert(r.clone(), p.to_string());
        }
        if let Some(n) = t.retry_count.filter(|n| *n < 0) {
            self.push(
                format!("{p}.retryCount"),
                format!("retryCount {n} is negative"),
            );
        }
        if t.start_delay < 0 {
            self.push(format!("{p}.startDelay"), "startDelay must not be negative");
        }
        for (k, v) in &t.input_parameters {
            self.expressions(v, &key_path(&format!("{p}.inputParameters"), k));
        }
        if let Some(def) = &t.task_definition {
            task_def(
                def,
                &format!("{p}.taskDefinition"),
                false,
                &mut self.problems,
            );
        }
        let ty = t.task_type.as_str();
        match ty {
            "SWITCH" => {
                match t.evaluator_type.as_deref() {
                    None | Some("") => self.push(
                        format!("{p}.evaluatorType"),
                        "SWITCH needs an evaluatorType",
                    ),
                    Some("value-param" | "javascript" | "graaljs") => {}
                    Some(other) => self.push(
                        format!("{p}.evaluatorType"),
                        format!(
                            "unknown evaluatorType {other:?} (value-param, javascript or graaljs)"
                        ),
                    ),
                }
                if t.expression.as_deref().is_none_or(|e| e.trim().is_empty()) {
                    self.push(format!("{p}.expression"), "SWITCH needs an expression");
                }
            }
            "DECISION" => {
                let has = |o: &Option<String>| o.as_deref().is_some_and(|s| !s.trim().is_empty());
                if !has(&t.case_value_param) && !has(&t.case_expression) {
                    self.push(
                        format!("{p}.caseValueParam"),
                        "DECISION needs caseValueParam or caseExpression",
                    );
                }
            }
            "FORK_JOIN" if t.fork_tasks.is_empty() => {
                self.push(format!("{p}.forkTasks"), "FORK_JOIN needs forkTasks");
            }
            "FORK_JOIN_DYNAMIC" => {
                let has_param = t
                    .dynamic_fork_tasks_param
                    .as_deref()
                    .is_some_and(|s| !s.is_empty())
                    || t.extra.contains_key("dynamicForkJoinTasksParam");
                let has_inputs = ["forkTaskName", "forkTaskType", "forkTaskWorkflow"]
                    .iter()
                    .any(|k| t.input_parameters.contains_key(*k));
                if !has_param && !has_inputs {
                    self.push(
                        format!("{p}.dynamicForkTasksParam"),
                        "FORK_JOIN_DYNAMIC needs dynamicForkTasksParam (with \
                         dynamicForkTasksInputParamName) or forkTaskName/forkTaskType/\
                         forkTaskWorkflow inputs",
                    );
                }
            }
            "JOIN" if !prev.is_some_and(is_fork) => {
                self.push(
                    p.to_string(),
                    "JOIN without FORK: a JOIN must follow a FORK_JOIN or FORK_JOIN_DYNAMIC",
                );
            }
            "DO_WHILE" => {
                if t.loop_over.is_empty() {
                    self.push(format!("{p}.loopOver"), "DO_WHILE needs loopOver tasks");
                }
                let cond = t
                    .loop_condition
                    .as_deref()
                    .is_some_and(|c| !c.trim().is_empty());
                let items = t.items.is_some() || t.input_parameters.contains_key("items");
                if !cond && !items {
                    self.push(
                        format!("{p}.loopCondition"),
                        "DO_WHILE needs a loopCondition (or items)",
                    );
                }
            }
            "SUB_WORKFLOW" => self.sub_workflow(t, p, depth),
            "DYNAMIC"
                if t.dynamic_task_name_param
                    .as_deref()
                    .is_none_or(|s| s.trim().is_empty()) =>
            {
                self.push(
                    format!("{p}.dynamicTaskNameParam"),
                    "DYNAMIC needs dynamicTaskNameParam",
                );
            }
            "LAMBDA" => {
                let in_field = t
                    .script_expression
                    .as_deref()
                    .is_some_and(|s| !s.trim().is_empty());
                if !in_field && !t.input_parameters.contains_key("scriptExpression") {
                    self.push(
                        format!("{p}.scriptExpression"),
                        "LAMBDA needs a scriptExpression",
                    );
                }
            }
            _ => {}
        }
        if is_fork(ty) && next != Some("JOIN") {
            self.push(p.to_string(), format!("{ty} must be followed by a JOIN"));
        }
        if matches!(ty, "JOIN" | "EXCLUSIVE_JOIN") {
            for (k, j) in t.join_on.iter().enumerate() {
                refs.joins.push((format!("{p}.joinOn[{k}]"), j.clone()));
            }
        }
        if ty == "EXCLUSIVE_JOIN" {
            for (k, j) in t.default_exclusive_join_task.iter().enumerate() {
                refs.joins
                    .push((format!("{p}.defaultExclusiveJoinTask[{k}]"), j.clone()));
            }
        }
        // Nested task lists.
        for (b, branch) in t.fork_tasks.iter().enumerate() {
            self.list(branch, &format!("{p}.forkTasks[{b}]"), depth + 1, refs);
        }
        for (case, list) in &t.decision_cases {
            self.list(
                list,
                &key_path(&format!("{p}.decisionCases"), case),
                depth + 1,
                refs,
            );
        }
        if !t.default_case.is_empty() {
            self.list(
                &t.default_case,
                &format!("{p}.defaultCase"),
                depth + 1,
                refs,
            );
        }
        if !t.loop_over.is_empty() {
            self.list(&t.loop_over, &format!("{p}.loopOver"), depth + 1, refs);
        }
    }

    fn sub_workflow(&mut self, t: &WorkflowTask, p: &str, depth: usize) {
        let Some(sw) = &t.sub_workflow_param else {
            self.push(
                format!("{p}.subWorkflowParam"),
                "SUB_WORKFLOW needs subWorkflowParam",
            );
            return;
        };
        let named = sw.name.as_deref().is_some_and(|n| !n.trim().is_empty());
        match &sw.workflow_definition {
            Some(Value::Object(_)) => {
                let base = format!("{p}.subWorkflowParam.workflowDefinition");
                if depth >= MAX_DEPTH {
                    self.push(
                        base,
                        format!("tasks are nested more than {MAX_DEPTH} levels deep"),
                    );
                    return;
                }
                let value = sw.workflow_definition.as_ref().expect("matched");
                match parse::<WorkflowDef>(value) {
                    Ok(child) => self.workflow(&child, &base, depth + 1),
                    Err(problems) => {
                        for pr in problems {
                            let sub = pr.path.strip_prefix('$').unwrap_or(&pr.path);
                            self.push(format!("{base}{sub}"), pr.message);
                        }
                    }
                }
            }
            Some(Value::String(s)) if !s.trim().is_empty() => {}
            _ if named => {}
            _ => self.push(
                format!("{p}.subWorkflowParam.name"),
                "subWorkflowParam needs a name or a workflowDefinition",
            ),
        }
    }
}

/// Checks a task definition. Inline definitions (`taskDefinition` of a workflow task) may
/// leave the name out (the task's name is used) and, as in Conductor, are not held to the
/// rule that `responseTimeoutSeconds` must not exceed `timeoutSeconds`.
fn task_def(def: &TaskDef, base: &str, registered: bool, out: &mut Vec<Problem>) {
    let mut push =
        |field: &str, msg: String| out.push(Problem::new(format!("{base}.{field}"), msg));
    if registered && def.name.trim().is_empty() {
        push("name", "name is required".into());
    }
    if def.retry_count < 0 {
        push(
            "retryCount",
            format!("retryCount {} is negative", def.retry_count),
        );
    }
    let non_negative = [
        ("timeoutSeconds", def.timeout_seconds),
        ("retryDelaySeconds", def.retry_delay_seconds),
        ("totalTimeoutSeconds", def.total_timeout_seconds),
        ("maxRetryDelaySeconds", def.max_retry_delay_seconds),
        ("backoffJitterMs", def.backoff_jitter_ms),
        ("pollTimeoutSeconds", def.poll_timeout_seconds.unwrap_or(0)),
        (
            "concurrentExecLimit",
            def.concurrent_exec_limit.unwrap_or(0).into(),
        ),
        (
            "rateLimitPerFrequency",
            def.rate_limit_per_frequency.unwrap_or(0).into(),
        ),
        (
            "rateLimitFrequencyInSeconds",
            def.rate_limit_frequency_in_seconds.unwrap_or(0).into(),
        ),
    ];
    for (field, n) in non_negative {
        if n < 0 {
            push(field, format!("{field} {n} is negative"));
        }
    }
    if def.backoff_scale_factor < 1 {
        push(
            "backoffScaleFactor",
            format!(
                "backoffScaleFactor {} must be at least 1",
                def.backoff_scale_factor
            ),
        );
    }
    if def.response_timeout_seconds < 1 {
        push(
            "responseTimeoutSeconds",
            format!(
                "responseTimeoutSeconds {} must be at least 1",
                def.response_timeout_seconds
            ),
        );
    } else if registered
        && def.timeout_seconds > 0
        && def.response_timeout_seconds > def.timeout_seconds
    {
        push(
            "responseTimeoutSeconds",
            format!(
                "responseTimeoutSeconds {} must not exceed timeoutSeconds {}",
                def.response_timeout_seconds, def.timeout_seconds
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problems(v: Value) -> Vec<Problem> {
        parse_workflow_def(&v).expect_err("should be refused")
    }

    fn has(problems: &[Problem], path: &str, needle: &str) -> bool {
        problems
            .iter()
            .any(|p| p.path == path && p.message.contains(needle))
    }

    fn simple(r: &str) -> Value {
        json!({"name": "n", "taskReferenceName": r})
    }

    #[test]
    fn a_minimal_definition_parses_with_defaults() {
        let def = parse_workflow_def(&json!({"name": "w", "tasks": [simple("a")]})).unwrap();
        assert_eq!(def.version, 1);
        assert_eq!(def.schema_version, 2);
        assert!(def.restartable);
        assert_eq!(def.tasks[0].task_type, "SIMPLE");
    }

    #[test]
    fn type_errors_name_their_json_path() {
        let p = problems(
            json!({"name": "w", "tasks": [simple("a"), {"name": "n", "taskReferenceName": "b", "retryCount": "three"}]}),
        );
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].path, "$.tasks[1].retryCount");
        let p = problems(
            json!({"name": "w", "tasks": [{"name": "f", "taskReferenceName": "f", "type": "FORK_JOIN",
            "forkTasks": [[simple("a")], [{"name": "x", "taskReferenceName": "b", "optional": "yes"}]]}]}),
        );
        assert_eq!(p[0].path, "$.tasks[0].forkTasks[1][0].optional");
        let p =
            problems(json!({"name": "w", "timeoutPolicy": "SOMETIMES", "tasks": [simple("a")]}));
        assert_eq!(p[0].path, "$.timeoutPolicy");
        assert_eq!(problems(json!([1]))[0].path, "$");
    }

    #[test]
    fn names_and_tasks_are_required() {
        let p = problems(json!({"tasks": []}));
        assert!(has(&p, "$.name", "required"));
        assert!(has(&p, "$.tasks", "at least one task"));
        let p = problems(json!({"name": "w", "tasks": [{"type": "SIMPLE"}]}));
        assert!(has(&p, "$.tasks[0].name", "required"));
        assert!(has(&p, "$.tasks[0].taskReferenceName", "required"));
    }

    #[test]
    fn workflow_level_numbers_are_checked() {
        let p = problems(
            json!({"name": "w", "version": 0, "schemaVersion": 3, "timeoutSeconds": -1, "tasks": [simple("a")]}),
        );
        assert!(has(&p, "$.version", "at least 1"));
        assert!(has(&p, "$.schemaVersion", "not supported"));
        assert!(has(&p, "$.timeoutSeconds", "negative"));
        // The legacy schema version 1 is accepted.
        assert!(
            parse_workflow_def(&json!({"name": "w", "schemaVersion": 1, "tasks": [simple("a")]}))
                .is_ok()
        );
    }

    #[test]
    fn reference_names_are_unique_across_nesting() {
        let p = problems(json!({"name": "w", "tasks": [
            simple("a"),
            {"name": "s", "taskReferenceName": "s", "type": "SWITCH", "evaluatorType": "value-param", "expression": "x",
             "decisionCases": {"caseA": [simple("b")], "odd case": [simple("a")]}, "defaultCase": [simple("b")]}
        ]}));
        assert!(has(
            &p,
            "$.tasks[1].decisionCases['odd case'][0].taskReferenceName",
            "at $.tasks[0]"
        ));
        assert!(has(
            &p,
            "$.tasks[1].defaultCase[0].taskReferenceName",
            "at $.tasks[1].decisionCases.caseA[0]"
        ));
    }

    #[test]
    fn forks_and_joins_go_together() {
        let p = problems(
            json!({"name": "w", "tasks": [simple("a"), {"name": "j", "taskReferenceName": "j", "type": "JOIN"}]}),
        );
        assert!(has(&p, "$.tasks[1]", "JOIN without FORK"));
        let p = problems(
            json!({"name": "w", "tasks": [{"name": "f", "taskReferenceName": "f", "type": "FORK_JOIN", "forkTasks": []}, simple("a")]}),
        );
        assert!(has(&p, "$.tasks[0].forkTasks", "needs forkTasks"));
        assert!(has(&p, "$.tasks[0]", "followed by a JOIN"));
        let p = problems(json!({"name": "w", "tasks": [
            {"name": "f", "taskReferenceName": "f", "type": "FORK_JOIN", "forkTasks": [[simple("a")], [simple("b")]]},
            {"name": "j", "taskReferenceName": "j", "type": "JOIN", "joinOn": ["a", "zz"]}]}));
        assert_eq!(p.len(), 1);
        assert!(has(&p, "$.tasks[1].joinOn[1]", "\"zz\""));
        let p = problems(json!({"name": "w", "tasks": [
            {"name": "f", "taskReferenceName": "f", "type": "FORK_JOIN", "forkTasks": [[simple("a")], [simple("b")]]},
            {"name": "j", "taskReferenceName": "j", "type": "EXCLUSIVE_JOIN", "joinOn": ["a", "b"],
             "defaultExclusiveJoinTask": ["b", "nope"]}]}));
        assert!(has(
            &p,
            "$.tasks[1].defaultExclusiveJoinTask[1]",
            "\"nope\", which is not a task"
        ));
    }

    #[test]
    fn operators_need_their_fields() {
        let p = problems(json!({"name": "w", "tasks": [
            {"name": "s", "taskReferenceName": "s", "type": "SWITCH"},
            {"name": "s", "taskReferenceName": "s2", "type": "SWITCH", "evaluatorType": "python", "expression": "x"},
            {"name": "d", "taskReferenceName": "d", "type": "DECISION"},
            {"name": "l", "taskReferenceName": "l", "type": "DO_WHILE"},
            {"name": "sw", "taskReferenceName": "sw", "type": "SUB_WORKFLOW"},
            {"name": "sw", "taskReferenceName": "sw2", "type": "SUB_WORKFLOW", "subWorkflowParam": {"version": 1}},
            {"name": "dy", "taskReferenceName": "dy", "type": "DYNAMIC"},
            {"name": "fd", "taskReferenceName": "fd", "type": "FORK_JOIN_DYNAMIC"},
            {"name": "j", "taskReferenceName": "j", "type": "JOIN"},
            {"name": "la", "taskReferenceName": "la", "type": "LAMBDA"}
        ]}));
        assert!(has(
            &p,
            "$.tasks[0].evaluatorType",
            "needs an evaluatorType"
        ));
        assert!(has(&p, "$.tasks[0].expression", "needs an expression"));
        assert!(has(&p, "$.tasks[1].evaluatorType", "unknown evaluatorType"));
        assert!(has(&p, "$.tasks[2].caseValueParam", "caseExpression"));
        assert!(has(&p, "$.tasks[3].loopOver", "loopOver"));
        assert!(has(&p, "$.tasks[3].loopCondition", "loopCondition"));
        assert!(has(
            &p,
            "$.tasks[4].subWorkflowParam",
            "needs subWorkflowParam"
        ));
        assert!(has(
            &p,
            "$.tasks[5].subWorkflowParam.name",
            "name or a workflowDefinition"
        ));
        assert!(has(
            &p,
            "$.tasks[6].dynamicTaskNameParam",
            "dynamicTaskNameParam"
        ));
        assert!(has(
            &p,
            "$.tasks[7].dynamicForkTasksParam",
            "dynamicForkTasksParam"
        ));
        assert!(!has(&p, "$.tasks[7]", "followed by a JOIN"));
        assert!(has(&p, "$.tasks[9].scriptExpression", "scriptExpression"));
        // The alternatives are accepted.
        let ok = json!({"name": "w", "tasks": [
            {"name": "d", "taskReferenceName": "d", "type": "DECISION", "caseExpression": "$.x"},
            {"name": "l", "taskReferenceName": "l", "type": "DO_WHILE", "items": [1, 2], "loopOver": [simple("b")]},
            {"name": "sw", "taskReferenceName": "sw", "type": "SUB_WORKFLOW", "subWorkflowParam": {"workflowDefinition": "${workflow.input.def}"}},
            {"name": "fd", "taskReferenceName": "fd", "type": "FORK_JOIN_DYNAMIC", "inputParameters": {"forkTaskName": "t", "forkTaskInputs": []}},
            {"name": "j", "taskReferenceName": "j", "type": "JOIN"},
            {"name": "la", "taskReferenceName": "la", "type": "LAMBDA", "inputParameters": {"scriptExpression": "return 1"}}
        ]});
        assert_eq!(parse_workflow_def(&ok).err(), None);
    }

    #[test]
    fn an_inline_sub_workflow_is_validated_with_its_own_paths() {
        let p = problems(json!({"name": "w", "tasks": [
            {"name": "sw", "taskReferenceName": "sw", "type": "SUB_WORKFLOW", "subWorkflowParam": {"workflowDefinition": {
                "name": "child", "tasks": [simple("sw"), {"name": "x", "taskReferenceName": "x", "retryCount": "bad"}]}}}
        ]}));
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(
            p[0].path,
            "$.tasks[0].subWorkflowParam.workflowDefinition.tasks[1].retryCount"
        );
        let p = problems(json!({"name": "w", "tasks": [
            {"name": "sw", "taskReferenceName": "sw", "type": "SUB_WORKFLOW", "subWorkflowParam": {"workflowDefinition": {
                "name": "child", "tasks": [{"name": "j", "taskReferenceName": "j", "type": "JOIN"}]}}}
        ]}));
        assert!(has(
            &p,
            "$.tasks[0].subWorkflowParam.workflowDefinition.tasks[0]",
            "JOIN without FORK"
        ));
    }

    #[test]
    fn nesting_depth_is_capped() {
        let mut task = simple("leaf");
        for i in 0..40 {
            task = json!({"name": "l", "taskReferenceName": format!("l{i}"), "type": "DO_WHILE",
                "loopCondition": "false", "loopOver": [task]});
        }
        let p = problems(json!({"name": "w", "tasks": [task]}));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].message.contains("nested more than 32"));
        assert_eq!(p[0].path.matches(".loopOver[0]").count(), 31);
    }

    #[test]
    fn expressions_must_be_well_formed() {
        let p = problems(json!({"name": "w", "outputParameters": {"o": "${a.output"},
            "tasks": [{"name": "n", "taskReferenceName": "a", "inputParameters": {"k": {"deep": ["${workflow.input[?(]}"]}}}]}));
        assert!(has(&p, "$.outputParameters.o", "unbalanced"));
        assert!(has(&p, "$.tasks[0].inputParameters.k", "invalid path"));
    }

    #[test]
    fn unknown_types_and_fields_are_accepted() {
        let def = parse_workflow_def(&json!({"name": "w", "futureField": {"a": 1}, "tasks": [
            {"name": "n", "taskReferenceName": "a", "type": "MY_CUSTOM_TYPE", "joinMode": "x"}]}))
        .unwrap();
        assert_eq!(def.extra.get("futureField"), Some(&json!({"a": 1})));
        assert_eq!(def.tasks[0].extra.get("joinMode"), Some(&json!("x")));
        assert_eq!(def.tasks[0].task_type, "MY_CUSTOM_TYPE");
    }

    #[test]
    fn task_definitions_are_checked() {
        let d = parse_task_def(&json!({"name": "t", "retryCount": 2, "timeoutSeconds": 60, "responseTimeoutSeconds": 60})).unwrap();
        assert_eq!(d.retry_count, 2);
        let p = parse_task_def(&json!({"retryCount": -1, "responseTimeoutSeconds": 0, "rateLimitPerFrequency": -2,
            "rateLimitFrequencyInSeconds": -1, "concurrentExecLimit": -1, "backoffScaleFactor": 0, "totalTimeoutSeconds": -5})).unwrap_err();
        for path in [
            "$.name",
            "$.retryCount",
            "$.responseTimeoutSeconds",
            "$.rateLimitPerFrequency",
            "$.rateLimitFrequencyInSeconds",
            "$.concurrentExecLimit",
            "$.backoffScaleFactor",
            "$.totalTimeoutSeconds",
        ] {
            assert!(
                p.iter().any(|x| x.path == path),
                "{path} missing from {p:?}"
            );
        }
        let p = parse_task_def(
            &json!({"name": "t", "timeoutSeconds": 10, "responseTimeoutSeconds": 30}),
        )
        .unwrap_err();
        assert!(has(
            &p,
            "$.responseTimeoutSeconds",
            "must not exceed timeoutSeconds 10"
        ));
        let p = parse_task_def(&json!({"name": "t", "retryLogic": "RANDOM"})).unwrap_err();
        assert_eq!(p[0].path, "$.retryLogic");
        // Inline definitions may leave the name out and may exceed timeoutSeconds, as in
        // Conductor, but the other rules hold.
        let p = problems(
            json!({"name": "w", "tasks": [{"name": "n", "taskReferenceName": "a",
            "taskDefinition": {"timeoutSeconds": 10, "retryCount": -1}}]}),
        );
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].path, "$.tasks[0].taskDefinition.retryCount");
    }
}
