//! SWITCH and DECISION: pick a case, run its tasks in sequence, then go on after the
//! operator.
//!
//! SWITCH with `evaluatorType` `value-param`: `expression` names an input key; that
//! value, as a string (null and a missing key give "null", numbers and booleans their
//! JSON text, strings themselves), selects the `decisionCases` entry, else `defaultCase`.
//! An entry present but empty runs nothing. DECISION with `caseValueParam` works the same
//! way, except that an empty entry falls back to `defaultCase` too. The task completes at
//! once; its input gets `case` (the value), its output `evaluationResult` (a list of the value) and
//! `selectedCase` (the value) for SWITCH, `caseOutput` (a list of the value) for DECISION.
//!
//! Script evaluators (SWITCH `javascript` or `graaljs` with `expression`, DECISION
//! `caseExpression`) run as a [`Job`]: the task is IN_PROGRESS until the script's value
//! comes back (with `$` holding the task input), then picks the case by that value's text
//! the same way (a whole number reads without a fraction: `2`, not `2.0`). A script that
//! fails FAILS the task with the reason.

use serde_json::{Value, json};

use super::ctx::Ctx;
use super::flow;
use super::instance::Origin;
use super::taken::CASE;
use super::{Job, JobOutcome, jobs, lifecycle, system};
use crate::model::WorkflowTask;
use crate::state::{Execution, TaskInstance, TaskStatus};

/// The value an input yields as a case key.
fn case_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "null".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn nonblank(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.trim().is_empty())
}

/// How a case is selected.
enum Selector<'w> {
    /// By the value of this input key.
    Key(&'w str),
    /// By the value of this script.
    Script(&'w str),
}

/// How the case is selected, or why no case can be selected.
fn selector(wt: &WorkflowTask) -> Result<Selector<'_>, String> {
    if wt.task_type == "DECISION" {
        if let Some(script) = nonblank(&wt.case_expression) {
            return Ok(Selector::Script(script));
        }
        return nonblank(&wt.case_value_param)
            .map(Selector::Key)
            .ok_or_else(|| "DECISION needs caseValueParam or caseExpression".to_string());
    }
    match wt.evaluator_type.as_deref().unwrap_or("value-param") {
        "value-param" => nonblank(&wt.expression)
            .map(Selector::Key)
            .ok_or_else(|| "SWITCH needs an expression naming an input key".to_string()),
        "javascript" | "graaljs" => nonblank(&wt.expression)
            .map(Selector::Script)
            .ok_or_else(|| "SWITCH needs an expression holding the script".to_string()),
        other => Err(format!(
            "unknown SWITCH evaluatorType {other:?} (value-param, javascript or graaljs)"
        )),
    }
}

/// Schedules a SWITCH or DECISION: evaluates the case at once. The chosen case's first
/// task (or, for an empty case, what follows the operator) is what follows it.
pub(super) fn schedule(exec: &mut Execution, cx: &mut Ctx, wt: &WorkflowTask, origin: Origin) {
    let Some(mut t) = system::begin(exec, cx, wt, origin) else {
        return;
    };
    let key = match selector(wt) {
        Ok(Selector::Key(k)) => k,
        Ok(Selector::Script(script)) => {
            let job = Job::Script {
                script: script.to_string(),
                bindings: t.input.clone(),
                body: false,
            };
            let idx = exec.tasks.len();
            system::record(exec, cx, t, TaskStatus::InProgress, None);
            jobs::request(&mut exec.tasks[idx], cx, job);
            return;
        }
        Err(reason) => {
            system::record(exec, cx, t, TaskStatus::Failed, Some(reason));
            return;
        }
    };
    let case = case_text(t.input.get(key));
    choose(&mut t, &wt.task_type, case);
    system::record(exec, cx, t, TaskStatus::Completed, None);
}

/// Records the chosen case value in the task's input and output.
fn choose(t: &mut TaskInstance, task_type: &str, case: String) {
    t.input.insert(CASE.to_string(), Value::from(case.as_str()));
    if task_type == "DECISION" {
        t.output.insert("caseOutput".to_string(), json!([case]));
    } else {
        t.output
            .insert("evaluationResult".to_string(), json!([case]));
        t.output
            .insert("selectedCase".to_string(), Value::from(case));
    }
}

/// The script job of the SWITCH or DECISION at `idx`, to ask for it again.
pub(super) fn script_job(exec: &Execution, idx: usize) -> Option<Job> {
    let t = &exec.tasks[idx];
    let wt = flow::find_for(&exec.def, exec, &t.reference_task_name)?;
    match selector(&wt) {
        Ok(Selector::Script(script)) => Some(Job::Script {
            script: script.to_string(),
            bindings: t.input.clone(),
            body: false,
        }),
        _ => None,
    }
}

/// The case script of the SWITCH or DECISION at `idx` came back: pick the case by its
/// value, or fail.
pub(super) fn script_done(exec: &mut Execution, cx: &mut Ctx, idx: usize, outcome: JobOutcome) {
    let t = &mut exec.tasks[idx];
    if outcome.status != TaskStatus::Completed {
        let reason = format!(
            "the case script could not be evaluated: {}",
            outcome.reason.as_deref().unwrap_or("no reason given")
        );
        lifecycle::finish(t, cx, TaskStatus::Failed, Some(reason));
        return;
    }
    let case = match outcome.output.get("result") {
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        other => case_text(other),
    };
    let task_type = t.task_type.clone();
    choose(t, &task_type, case);
    lifecycle::finish(t, cx, TaskStatus::Completed, None);
}
