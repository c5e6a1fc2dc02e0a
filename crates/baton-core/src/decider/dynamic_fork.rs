//! FORK_JOIN_DYNAMIC: a fork whose branches come from the task's input.
//!
//! Two forms are read from the resolved input:
//!
//! * `input[dynamicForkTasksParam]`: a list of workflow tasks (JSON objects). The input of
//!   each is its own `inputParameters` with `input[dynamicForkTasksInputParamName][ref]`
//!   (an object, when given) laid over it.
//! * `input.forkTaskInputs`, a list, comes first when present (as in Conductor, even with
//!   a `dynamicForkTasksParam`): one branch per entry, with the entry as its input (an
//!   entry that is not an object becomes `{"input": entry}`) plus `__index`, its position.
//!   With `<name>` being `input.forkTaskName`, else `input.forkTaskType` when that is a
//!   system type, else the fork's reference: a branch is a SUB_WORKFLOW of
//!   `input.forkTaskWorkflow` (version `forkTaskWorkflowVersion`, else the latest) when
//!   that is given, else a task `<name>` of type `input.forkTaskType` (SIMPLE by default).
//!   Branches are referenced `_<name>_<index>`, or `_<fork reference>_<name>_<index>` once
//!   the run already has a dynamic fork (an earlier loop iteration's, say); they are
//!   optional when the fork is.
//!
//! Each branch is a single task, of any type that needs no other task of the definition:
//! a worker task, DYNAMIC, the system tasks (INLINE, LAMBDA, JSON_JQ_TRANSFORM, HTTP,
//! EVENT, WAIT, HUMAN, SUB_WORKFLOW, START_WORKFLOW, SET_VARIABLE, NOOP, TERMINATE), each
//! run by the handler of its type as it would be in the definition. Input that is not a
//! list, entries without a name or reference, references used twice (or already used by the
//! definition) and the operators that fork, join, loop or choose (FORK_JOIN, JOIN,
//! FORK_JOIN_DYNAMIC, EXCLUSIVE_JOIN, DO_WHILE, SWITCH, DECISION: in Conductor too a forking
//! branch fails the workflow, as the JOIN it needs is not in the definition) fail the fork
//! task (FAILED) with a reason. Otherwise it completes at once and records its
//! branches in its input: `forkedTasks` (the references) and `forkedTaskDefs` (the
//! workflow tasks). The flow then schedules every branch and the JOIN after the fork,
//! which waits for exactly those references (not the definition's `joinOn`). A branch's
//! input is worked out when it is scheduled, as Conductor does: expressions in it (its
//! own `inputParameters` and the values laid over them) are evaluated then, so
//! `${CPEWF_TASK_ID}` is the branch's own task id.

use std::collections::BTreeSet;

use serde_json::Value;

use super::ctx::Ctx;
use super::flow::{self, Handler};
use super::instance::Origin;
use super::taken::{FORKED_TASK_DEFS, FORKED_TASKS};
use super::{structure, system};
use crate::model::{Object, WorkflowDef, WorkflowTask};
use crate::state::{Execution, TaskStatus};

fn nonblank(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.trim().is_empty())
}

/// The branches a fork with this (resolved) input runs, or why it cannot run.
fn branches(
    def: &WorkflowDef,
    wt: &WorkflowTask,
    input: &Object,
    another_fork: bool,
) -> Result<Vec<WorkflowTask>, String> {
    let list = match (
        input.get("forkTaskInputs"),
        nonblank(wt.dynamic_fork_tasks_param.as_deref()),
    ) {
        (Some(Value::Array(entries)), _) => from_fork_inputs(wt, input, entries, another_fork)?,
        (_, Some(param)) => from_task_list(wt, input, param)?,
        (None | Some(Value::Null), None) => {
            return Err(
                "FORK_JOIN_DYNAMIC needs dynamicForkTasksParam or a forkTaskInputs list; \
                 forkTaskInputs is missing"
                    .to_string(),
            );
        }
        (Some(other), None) => return Err(format!("forkTaskInputs is not a list: {other}")),
    };
    let mut seen = BTreeSet::new();
    for (i, b) in list.iter().enumerate() {
        if b.name.trim().is_empty() {
            return Err(format!("dynamic fork task {i} has no name"));
        }
        let r = &b.task_reference_name;
        if r.trim().is_empty() {
            return Err(format!(
                "dynamic fork task {i} ({}) has no taskReferenceName",
                b.name
            ));
        }
        if !seen.insert(r.as_str()) {
            return Err(format!(
                "dynamic fork task reference {r} is used more than once"
            ));
        }
        if r == &wt.task_reference_name || structure::locate(def, r).is_some() {
            return Err(format!(
                "dynamic fork task reference {r} is already used by the workflow definition"
            ));
        }
        if nests_tasks(flow::handler(&b.task_type)) {
            return Err(format!(
                "dynamic fork task {r} has type {}, which cannot run as a dynamic branch: a \
                 branch is a single task, and this operator forks, joins, loops over or \
                 chooses between tasks that are not part of the workflow definition",
                b.task_type
            ));
        }
    }
    Ok(list)
}

/// Whether tasks of this kind lead to other tasks of the definition (their branches, cases,
/// loop body or the JOIN that must follow them), which a dynamic branch, being a single task
/// outside the definition, does not have.
fn nests_tasks(kind: Handler) -> bool {
    matches!(
        kind,
        Handler::Fork
            | Handler::Join
            | Handler::DynamicFork
            | Handler::ExclusiveJoin
            | Handler::Switch
            | Handler::Loop
    )
}

fn from_task_list(
    wt: &WorkflowTask,
    input: &Object,
    param: &str,
) -> Result<Vec<WorkflowTask>, String> {
    let raw = match input.get(param) {
        Some(Value::Array(a)) => a,
        None | Some(Value::Null) => {
            return Err(format!(
                "dynamic fork tasks input {param:?} (dynamicForkTasksParam) is missing"
            ));
        }
        Some(other) => {
            return Err(format!(
                "dynamic fork tasks input {param:?} (dynamicForkTasksParam) is not a list: {other}"
            ));
        }
    };
    let inputs = match nonblank(wt.dynamic_fork_tasks_input_param_name.as_deref()) {
        Some(p) => match input.get(p) {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(m),
            Some(other) => {
                return Err(format!(
                    "dynamic fork inputs {p:?} (dynamicForkTasksInputParamName) is not a map \
                     of reference to input: {other}"
                ));
            }
        },
        None => None,
    };
    let mut list = Vec::with_capacity(raw.len());
    for (i, v) in raw.iter().enumerate() {
        if !v.is_object() {
            return Err(format!("dynamic fork task {i} is not an object: {v}"));
        }
        let mut b: WorkflowTask = serde_json::from_value(v.clone())
            .map_err(|e| format!("dynamic fork task {i} is not a workflow task: {e}"))?;
        if let Some(extra) = inputs.and_then(|m| m.get(&b.task_reference_name)) {
            match extra {
                Value::Object(m) => {
                    for (k, v) in m {
                        b.input_parameters.insert(k.clone(), v.clone());
                    }
                }
                Value::Null => {}
                other => {
                    return Err(format!(
                        "dynamic fork input for {} is not an object: {other}",
                        b.task_reference_name
                    ));
                }
            }
        }
        list.push(b);
    }
    Ok(list)
}

fn text_of<'i>(input: &'i Object, key: &str) -> Option<&'i str> {
    nonblank(input.get(key).and_then(Value::as_str)).map(str::trim)
}

/// The branches of the `forkTaskInputs` form (see the module docs).
fn from_fork_inputs(
    wt: &WorkflowTask,
    input: &Object,
    entries: &[Value],
    another_fork: bool,
) -> Result<Vec<WorkflowTask>, String> {
    let sub_workflow = text_of(input, "forkTaskWorkflow");
    let version = match input.get("forkTaskWorkflowVersion") {
        Some(Value::String(v)) => v.trim().parse::<i64>().ok(),
        Some(Value::Number(n)) => n.as_i64(),
        _ => None,
    };
    let task_type = match input.get("forkTaskType") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim()),
        Some(other) => return Err(format!("forkTaskType is not a task type: {other}")),
    };
    let name = text_of(input, "forkTaskName")
        .or(task_type.filter(|t| flow::handler(t) != Handler::Worker))
        .unwrap_or(&wt.task_reference_name);
    let mut list = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let mut params = match e {
            Value::Object(m) => m.clone(),
            other => Object::from_iter([("input".to_string(), other.clone())]),
        };
        params.insert("__index".to_string(), Value::from(i));
        let reference = if another_fork {
            format!("_{}_{name}_{i}", wt.task_reference_name)
        } else {
            format!("_{name}_{i}")
        };
        let mut v = match sub_workflow {
            Some(w) => serde_json::json!({
                "name": w, "type": "SUB_WORKFLOW",
                "subWorkflowParam": {"name": w, "version": version},
            }),
            None => serde_json::json!({"name": name, "type": task_type.unwrap_or("SIMPLE")}),
        };
        v["taskReferenceName"] = Value::String(reference);
        v["inputParameters"] = Value::Object(params);
        v["optional"] = Value::Bool(wt.optional);
        let b: WorkflowTask =
            serde_json::from_value(v).map_err(|e| format!("forkTaskInputs[{i}]: {e}"))?;
        list.push(b);
    }
    Ok(list)
}

/// Schedules a FORK_JOIN_DYNAMIC: works out its branches and completes at once (the flow
/// schedules them and the JOIN), or FAILS when the input does not describe valid branches.
pub(super) fn schedule(exec: &mut Execution, cx: &mut Ctx, wt: &WorkflowTask, origin: Origin) {
    let Some(mut t) = system::begin(exec, cx, wt, origin) else {
        return;
    };
    let another_fork = exec
        .tasks
        .iter()
        .any(|x| x.task_type == "FORK_JOIN_DYNAMIC" && x.task_id != t.task_id);
    match branches(&exec.def, wt, &t.input, another_fork) {
        Ok(list) => {
            let refs = list
                .iter()
                .map(|b| Value::String(b.task_reference_name.clone()))
                .collect();
            let defs = list
                .iter()
                .map(|b| serde_json::to_value(b).unwrap_or(Value::Null))
                .collect();
            t.input.insert(FORKED_TASKS.to_string(), Value::Array(refs));
            t.input
                .insert(FORKED_TASK_DEFS.to_string(), Value::Array(defs));
            system::record(exec, cx, t, TaskStatus::Completed, None);
        }
        Err(reason) => system::record(exec, cx, t, TaskStatus::Failed, Some(reason)),
    }
}
