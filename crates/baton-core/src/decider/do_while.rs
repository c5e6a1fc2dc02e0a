//! DO_WHILE: runs its `loopOver` body once per iteration while its condition holds.
//!
//! The loop task is IN_PROGRESS while it runs. Iteration N schedules the body's first task
//! with the iteration suffix `__N` added to its reference (see [`super::iteration`]); the
//! body then runs like any task list (operators, forks, switches, inner loops, WAITs and
//! all), every instance carrying the suffix. When the body's end is reached the loop
//! records the iteration's outputs under `output["N"]` (definition reference to output)
//! and decides whether to go round again, once every task of the iteration has ended (as in
//! Conductor: a JOIN that names a SWITCH does not wait for the case's tasks, the loop
//! does):
//!
//! * With `items` (a list in its input), iteration N sees `output.item` (the Nth item)
//!   and `output.index` (N - 1); the loop ends after the last item. An empty list ends it
//!   at once with `iteration` 0. `items` that is not a list FAILS the loop.
//! * `loopCondition` (JavaScript, through a [`Job`]) is evaluated with `$` holding the
//!   loop's input, the loop's own output under its reference name, and the outputs of
//!   this iteration's tasks under theirs; a truthy value goes round again. With `items`
//!   both must allow another round. A blank condition without `items` runs the body once.
//!   A condition that cannot be evaluated ends the loop FAILED_WITH_TERMINAL_ERROR. One
//!   that asks for another round while the workflow is PAUSED starts nothing; resuming
//!   asks for it again.
//! * `keepLastN` (a positive number in its input) keeps only the task instances and
//!   outputs of the latest N iterations; older ones are removed as the loop goes on.
//!
//! The loop's output always has `iteration`, the current (or last) iteration number.
//! Loops nest without limit: an inner loop's instances carry both suffixes. A retry of a
//! run that failed inside a loop takes the loop up where it stopped (same iteration, same
//! outputs) rather than starting it over.

use std::sync::Arc;

use serde_json::Value;

use super::ctx::Ctx;
use super::flow;
use super::instance::Origin;
use super::iteration;
use super::scope::ExecScope;
use super::{Job, JobOutcome, jobs, lifecycle, system, taken};
use crate::expr;
use crate::model::{Object, WorkflowTask};
use crate::state::{Execution, TaskInstance, TaskStatus, WorkflowStatus};

const ITERATION: &str = "iteration";

/// The loop's `items`: None when absent, the list, or why it is not one.
fn items(t: &TaskInstance) -> Result<Option<&Vec<Value>>, String> {
    match t.input.get("items") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(list)) => Ok(Some(list)),
        Some(other) => Err(format!(
            "DO_WHILE items must be a list, got {}",
            kind_of(other)
        )),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The current iteration of a loop instance.
fn current(t: &TaskInstance) -> i32 {
    t.output
        .get(ITERATION)
        .and_then(Value::as_i64)
        .and_then(|n| i32::try_from(n).ok())
        .unwrap_or(0)
}

/// Schedules a DO_WHILE: IN_PROGRESS, and its body's first task in iteration 1.
pub(super) fn schedule(exec: &mut Execution, cx: &mut Ctx, wt: &WorkflowTask, origin: Origin) {
    let reopened = match origin {
        Origin::Manual { idx } => Some(exec.tasks[idx].clone()),
        _ => None,
    };
    let Some(mut t) = system::begin(exec, cx, wt, origin) else {
        return;
    };
    if let Some(old) = reopened.filter(|o| current(o) > 0) {
        reopen(exec, cx, t, &old);
        return;
    }
    // `items` may also stand beside `inputParameters`, on the task itself.
    if t.input.get("items").is_none_or(Value::is_null)
        && let Some(list) = wt.items.as_ref().filter(|v| !v.is_null())
    {
        let scope = ExecScope::new(exec, Some(&t.task_id));
        match expr::resolve_value(list, &scope) {
            Ok(v) => {
                t.input.insert("items".to_string(), v);
            }
            Err(e) => {
                let reason = format!("cannot compute items: {e}");
                system::record(
                    exec,
                    cx,
                    t,
                    TaskStatus::FailedWithTerminalError,
                    Some(reason),
                );
                return;
            }
        }
    }
    // No iteration yet (inside another loop, the instance was created with the outer
    // loop's iteration).
    t.iteration = 0;
    t.output.insert(ITERATION.to_string(), Value::from(0));
    let count = match items(&t) {
        Ok(list) => list.map(Vec::len),
        Err(reason) => {
            system::record(
                exec,
                cx,
                t,
                TaskStatus::FailedWithTerminalError,
                Some(reason),
            );
            return;
        }
    };
    if wt.loop_over.is_empty() || count == Some(0) {
        system::record(exec, cx, t, TaskStatus::Completed, None);
        return;
    }
    let idx = exec.tasks.len();
    system::record(exec, cx, t, TaskStatus::InProgress, None);
    begin_iteration(exec, cx, idx, wt, 1);
}

/// Iteration `n` of the loop at `idx`: records it and schedules the body's first task.
fn begin_iteration(exec: &mut Execution, cx: &mut Ctx, idx: usize, wt: &WorkflowTask, n: i32) {
    let t = &mut exec.tasks[idx];
    t.iteration = n;
    t.output.insert(ITERATION.to_string(), Value::from(n));
    let item = items(t)
        .ok()
        .flatten()
        .and_then(|list| list.get(usize::try_from(n - 1).ok()?).cloned());
    if let Some(item) = item {
        t.output.insert("item".to_string(), item);
        t.output.insert("index".to_string(), Value::from(n - 1));
    }
    cx.task_changed(t);
    let suffix = iteration::nested(iteration::suffix(&t.reference_task_name), n);
    if let Some(first) = wt.loop_over.first() {
        flow::schedule_in(exec, cx, first, Origin::First, &suffix);
    }
}

/// The body of the loop `wt` (whose instance has `loop_suffix`) reached its end in
/// iteration `n`: when that is the current iteration, the loop records the iteration's
/// outputs, which mark its end as reached. It goes round again (or ends) once every task
/// of the iteration has ended: the flow looks at it when the rest is settled (see
/// [`evaluate_waiting`]), as it does at JOINs.
pub(super) fn body_done(
    exec: &mut Execution,
    cx: &mut Ctx,
    wt: &WorkflowTask,
    loop_suffix: &str,
    n: i32,
) {
    let reference = format!("{}{loop_suffix}", wt.task_reference_name);
    let Some(idx) = exec.latest_index(&reference) else {
        return;
    };
    let t = &exec.tasks[idx];
    if t.status != TaskStatus::InProgress || t.job_pending || current(t) != n {
        return;
    }
    record_iteration(exec, cx, idx, wt, loop_suffix, n);
}

/// Records the outputs of iteration `n` in the loop at `idx`.
fn record_iteration(
    exec: &mut Execution,
    cx: &mut Ctx,
    idx: usize,
    wt: &WorkflowTask,
    loop_suffix: &str,
    n: i32,
) {
    let outputs = iteration_outputs(exec, wt, loop_suffix, n);
    let t = &mut exec.tasks[idx];
    t.output.insert(n.to_string(), Value::Object(outputs));
    cx.task_changed(t);
}

/// Whether the loop instance `t` reached its body's end in its current iteration and has
/// yet to go round again or end (see [`evaluate_waiting`]).
pub(super) fn is_waiting(t: &TaskInstance) -> bool {
    t.task_type == "DO_WHILE"
        && t.status == TaskStatus::InProgress
        && !t.job_pending
        && t.output.contains_key(&current(t).to_string())
}

/// The loop at `idx` reached its body's end in its current iteration: once no task of the
/// iteration runs any more, it records the iteration's outputs again (with those of the
/// tasks that ended last) and goes round again, asks for its condition, or ends.
pub(super) fn evaluate_waiting(exec: &mut Execution, cx: &mut Ctx, idx: usize) {
    let t = &exec.tasks[idx];
    let n = current(t);
    let (base, loop_suffix) = iteration::split(&t.reference_task_name);
    let loop_suffix = loop_suffix.to_string();
    let def = Arc::clone(&exec.def);
    let Some(wt) = flow::find_task(&def.tasks, base) else {
        return;
    };
    if iteration_running(exec, wt, &loop_suffix, n) {
        return;
    }
    record_iteration(exec, cx, idx, wt, &loop_suffix, n);
    let t = &exec.tasks[idx];
    let count = items(t).ok().flatten().map(Vec::len);
    if count.is_some_and(|len| usize::try_from(n).unwrap_or(0) >= len) {
        end(exec, cx, idx);
        return;
    }
    let condition = wt
        .loop_condition
        .as_deref()
        .filter(|c| !c.trim().is_empty());
    match condition {
        None if count.is_some() => next_iteration(exec, cx, idx, wt),
        None => end(exec, cx, idx),
        Some(_) => {
            if let Some(job) = condition_job(exec, idx) {
                jobs::request(&mut exec.tasks[idx], cx, job);
            }
        }
    }
}

/// Whether the instance `reference` is of a task in the body of the loop `wt` (inner
/// loops included, and with `forked` the branches of dynamic forks). Its suffix alone does
/// not tell: loops side by side (in fork branches, one after the other) number their
/// iterations alike. An iteration waits for its dynamic branches too, but, as in
/// Conductor, only the tasks of the loop's definition make its outputs and are pruned by
/// `keepLastN`.
fn in_body(exec: &Execution, wt: &WorkflowTask, reference: &str, forked: bool) -> bool {
    let base = iteration::base(reference);
    let here = |r: &str| flow::find_task(&wt.loop_over, r).is_some();
    here(base)
        || forked
            && exec.tasks.iter().any(|f| {
                f.task_type == "FORK_JOIN_DYNAMIC"
                    && here(iteration::base(&f.reference_task_name))
                    && taken::forked_refs(f).iter().any(|r| r == base)
            })
}

/// Whether a task of iteration `n` of the loop `wt` whose instance has `loop_suffix`
/// (inner loops included) has not ended.
fn iteration_running(exec: &Execution, wt: &WorkflowTask, loop_suffix: &str, n: i32) -> bool {
    let prefix = iteration::nested(loop_suffix, n);
    let inner = format!("{prefix}__");
    exec.tasks.iter().any(|x| {
        let s = iteration::suffix(&x.reference_task_name);
        !x.status.is_terminal()
            && (s == prefix || s.starts_with(&inner))
            && in_body(exec, wt, &x.reference_task_name, true)
    })
}

/// Definition reference to output of the latest instances in iteration `n` of the loop
/// whose instance has `loop_suffix`.
fn iteration_outputs(exec: &Execution, wt: &WorkflowTask, loop_suffix: &str, n: i32) -> Object {
    let suffix = iteration::nested(loop_suffix, n);
    let mut outputs = Object::new();
    for x in &exec.tasks {
        let (base, s) = iteration::split(&x.reference_task_name);
        if s == suffix && in_body(exec, wt, &x.reference_task_name, false) {
            outputs.insert(base.to_string(), Value::Object(x.output.clone()));
        }
    }
    outputs
}

/// The condition job of the loop at `idx`: its `loopCondition` with `$` holding the loop's
/// input (computed now), its own output and this iteration's task outputs.
pub(super) fn condition_job(exec: &Execution, idx: usize) -> Option<Job> {
    let t = &exec.tasks[idx];
    let (base, loop_suffix) = iteration::split(&t.reference_task_name);
    let wt = flow::find_task(&exec.def.tasks, base)?;
    let script = wt.loop_condition.clone()?;
    let scope = ExecScope::new(exec, Some(&t.task_id));
    let mut bindings =
        expr::resolve(&wt.input_parameters, &scope).unwrap_or_else(|_| t.input.clone());
    for (k, v) in iteration_outputs(exec, wt, loop_suffix, current(t)) {
        bindings.insert(k, v);
    }
    bindings.insert(base.to_string(), Value::Object(t.output.clone()));
    Some(Job::Script {
        script,
        bindings,
        body: false,
    })
}

/// JavaScript truthiness of a JSON value.
fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

/// The loop condition was evaluated: go round again, or end.
pub(super) fn condition_done(exec: &mut Execution, cx: &mut Ctx, idx: usize, outcome: JobOutcome) {
    if outcome.status != TaskStatus::Completed {
        let reason = format!(
            "loopCondition could not be evaluated: {}",
            outcome.reason.as_deref().unwrap_or("no reason given")
        );
        lifecycle::finish(
            &mut exec.tasks[idx],
            cx,
            TaskStatus::FailedWithTerminalError,
            Some(reason),
        );
        return;
    }
    if !truthy(outcome.output.get("result")) {
        end(exec, cx, idx);
        return;
    }
    if exec.workflow.status != WorkflowStatus::Running {
        // Nothing is scheduled while PAUSED: resuming reaches the body's end again and
        // asks for the condition anew.
        return;
    }
    let def = Arc::clone(&exec.def);
    let base = iteration::base(&exec.tasks[idx].reference_task_name);
    if let Some(wt) = flow::find_task(&def.tasks, base) {
        next_iteration(exec, cx, idx, wt);
    }
}

/// Starts the next iteration, first dropping iterations past `keepLastN`.
fn next_iteration(exec: &mut Execution, cx: &mut Ctx, idx: usize, wt: &WorkflowTask) {
    let n = current(&exec.tasks[idx]) + 1;
    let keep = exec.tasks[idx]
        .input
        .get("keepLastN")
        .and_then(Value::as_i64)
        .filter(|k| *k > 0);
    if let Some(keep) = keep {
        let last_dropped = i64::from(n) - keep;
        if last_dropped >= 1 {
            prune(exec, cx, idx, wt, last_dropped);
        }
    }
    begin_iteration(exec, cx, idx, wt, n);
}

/// Drops the instances and outputs of iterations up to `last` of the loop at `idx`.
fn prune(exec: &mut Execution, cx: &mut Ctx, idx: usize, wt: &WorkflowTask, last: i64) {
    let loop_suffix = iteration::suffix(&exec.tasks[idx].reference_task_name).to_string();
    let in_dropped = |reference: &str| {
        let s = iteration::suffix(reference);
        let Some(rest) = s.strip_prefix(loop_suffix.as_str()) else {
            return false;
        };
        let Some(rest) = rest.strip_prefix("__") else {
            return false;
        };
        let n = rest.split("__").next().and_then(|d| d.parse::<i64>().ok());
        n.is_some_and(|n| n <= last)
    };
    for x in &exec.tasks {
        if x.status.is_terminal()
            && in_dropped(&x.reference_task_name)
            && in_body(exec, wt, &x.reference_task_name, false)
            && !cx.prune.contains(&x.task_id)
        {
            cx.prune.push(x.task_id.clone());
        }
    }
    let t = &mut exec.tasks[idx];
    t.output
        .retain(|k, _| k.parse::<i64>().map_or(true, |n| n > last));
    cx.task_changed(t);
}

/// The loop is over: COMPLETED with its output as it stands.
fn end(exec: &mut Execution, cx: &mut Ctx, idx: usize) {
    lifecycle::finish(&mut exec.tasks[idx], cx, TaskStatus::Completed, None);
    cx.ended.push(idx);
}

/// An operator retry takes the loop `old` up again where it stopped: the new instance `t`
/// keeps its iteration and outputs. The same command retries the failed tasks of the
/// iteration and the flow takes the body up where it stopped; once the body's end is
/// reached (or was already: the condition failed, or was pending) and no task of the
/// iteration runs, the loop goes on (see [`evaluate_waiting`]).
fn reopen(exec: &mut Execution, cx: &mut Ctx, mut t: TaskInstance, old: &TaskInstance) {
    t.output = old.output.clone();
    t.iteration = old.iteration;
    system::record(exec, cx, t, TaskStatus::InProgress, None);
}
