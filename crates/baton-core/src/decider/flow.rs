//! What is due next: scheduling what follows finished tasks (as the definition's structure
//! says, see [`super::structure`]), retrying failed ones, ending JOINs,
//! completing or failing the workflow. Each task type is scheduled by its own handler
//! (see [`schedule`]).

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use super::ctx::{Ctx, secs};
use super::instance::Origin;
use super::iteration;
use super::lifecycle;
use super::scope::ExecScope;
use super::structure::{self, After};
use super::taken;
use super::{Effect, Env, TimerKind};
use super::{
    commands, do_while, dynamic, dynamic_fork, exclusive_join, fork, jobs, noop, set_variable,
    sub_workflow, switch, terminate, wait,
};
use crate::expr;
use crate::model::{TaskDef, WorkflowDef, WorkflowTask, WorkflowTimeoutPolicy};
use crate::state::{Execution, TaskInstance, TaskStatus, WorkflowStatus};

/// Conductor's system and operator task types. Every other type is a worker task.
pub const SYSTEM_TASK_TYPES: [&str; 22] = [
    "SWITCH",
    "DECISION",
    "FORK_JOIN",
    "FORK_JOIN_DYNAMIC",
    "JOIN",
    "EXCLUSIVE_JOIN",
    "DO_WHILE",
    "SUB_WORKFLOW",
    "START_WORKFLOW",
    "DYNAMIC",
    "WAIT",
    "HUMAN",
    "TERMINATE",
    "SET_VARIABLE",
    "INLINE",
    "LAMBDA",
    "JSON_JQ_TRANSFORM",
    "HTTP",
    "EVENT",
    "NOOP",
    "KAFKA_PUBLISH",
    "JDBC",
];

/// True for Conductor's system and operator types; false for worker task types (SIMPLE
/// and any user-defined type).
pub fn is_system_task_type(task_type: &str) -> bool {
    SYSTEM_TASK_TYPES.contains(&task_type)
}

/// The handler of a task type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Handler {
    /// Queued for an external worker.
    Worker,
    /// FORK_JOIN: completes at once; its branches and JOIN follow.
    Fork,
    /// JOIN: waits for its `joinOn` references.
    Join,
    /// DYNAMIC: a worker task whose name comes from its input.
    Dynamic,
    /// FORK_JOIN_DYNAMIC: completes at once; the branches its input lists and its JOIN
    /// follow.
    DynamicFork,
    /// EXCLUSIVE_JOIN: waits for the one branch that ran.
    ExclusiveJoin,
    /// SWITCH and DECISION: pick a case.
    Switch,
    /// NOOP: completes at once.
    Noop,
    /// SET_VARIABLE: merges its input into the workflow variables.
    SetVariable,
    /// TERMINATE: ends the workflow.
    Terminate,
    /// DO_WHILE: runs its body once per iteration while its condition holds.
    Loop,
    /// INLINE, LAMBDA, JSON_JQ_TRANSFORM, HTTP: a job the runtime carries out.
    Job,
    /// WAIT: until a time, or an update.
    Wait,
    /// HUMAN: until an update.
    Human,
    /// SUB_WORKFLOW: runs a child execution.
    SubWorkflow,
    /// START_WORKFLOW: starts another execution.
    StartWorkflow,
    /// A system or operator type without a handler yet.
    Unsupported,
}

/// The handler of a task type.
pub(super) fn handler(task_type: &str) -> Handler {
    match task_type {
        "FORK_JOIN" => Handler::Fork,
        "JOIN" => Handler::Join,
        "DYNAMIC" => Handler::Dynamic,
        "FORK_JOIN_DYNAMIC" => Handler::DynamicFork,
        "EXCLUSIVE_JOIN" => Handler::ExclusiveJoin,
        "SWITCH" | "DECISION" => Handler::Switch,
        "NOOP" => Handler::Noop,
        "SET_VARIABLE" => Handler::SetVariable,
        "TERMINATE" => Handler::Terminate,
        "DO_WHILE" => Handler::Loop,
        "WAIT" => Handler::Wait,
        "HUMAN" => Handler::Human,
        "SUB_WORKFLOW" => Handler::SubWorkflow,
        "START_WORKFLOW" => Handler::StartWorkflow,
        t if jobs::JOB_TYPES.contains(&t) => Handler::Job,
        t if is_system_task_type(t) => Handler::Unsupported,
        _ => Handler::Worker,
    }
}

/// Whether tasks of this type take results from workers; the ones the engine runs
/// itself do not (WAIT, HUMAN and asynchronously completed HTTP tasks take updates
/// through [`super::wait::update`] instead).
pub(super) fn takes_results(task_type: &str) -> bool {
    matches!(handler(task_type), Handler::Worker | Handler::Unsupported)
}

/// A task definition in effect for a task: inline, registered, or the defaults.
pub(super) enum DefRef<'a> {
    Borrowed(&'a TaskDef),
    Shared(Arc<TaskDef>),
}

impl std::ops::Deref for DefRef<'_> {
    type Target = TaskDef;
    fn deref(&self) -> &TaskDef {
        match self {
            DefRef::Borrowed(d) => d,
            DefRef::Shared(d) => d,
        }
    }
}

fn default_task_def() -> &'static TaskDef {
    static DEFAULT: OnceLock<TaskDef> = OnceLock::new();
    DEFAULT.get_or_init(|| TaskDef::named(""))
}

/// The task definition for a workflow task: its inline `taskDefinition`, else the one
/// registered under its name, else every default.
pub(super) fn task_def_for<'a>(
    wt: Option<&'a WorkflowTask>,
    name: &str,
    env: &dyn Env,
) -> DefRef<'a> {
    if let Some(d) = wt.and_then(|w| w.task_definition.as_ref()) {
        return DefRef::Borrowed(d);
    }
    match env.task_def(name) {
        Some(d) => DefRef::Shared(d),
        None => DefRef::Borrowed(default_task_def()),
    }
}

/// The workflow task with this reference name, anywhere in the definition.
pub(super) fn find_task<'d>(
    tasks: &'d [WorkflowTask],
    reference: &str,
) -> Option<&'d WorkflowTask> {
    for t in tasks {
        if t.task_reference_name == reference {
            return Some(t);
        }
        let nested = t
            .fork_tasks
            .iter()
            .map(Vec::as_slice)
            .chain(t.decision_cases.values().map(Vec::as_slice))
            .chain([t.default_case.as_slice(), t.loop_over.as_slice()]);
        for list in nested {
            if let Some(found) = find_task(list, reference) {
                return Some(found);
            }
        }
    }
    None
}

/// The workflow task of an instance reference (iteration suffix and all): from the
/// definition `def`, else the dynamic fork branch that made it (dynamic branches are not in
/// the definition).
pub(super) fn find_for<'d>(
    def: &'d WorkflowDef,
    exec: &Execution,
    reference: &str,
) -> Option<Cow<'d, WorkflowTask>> {
    let base = iteration::base(reference);
    match find_task(&def.tasks, base) {
        Some(wt) => Some(Cow::Borrowed(wt)),
        None => taken::find_branch(exec, base).map(Cow::Owned),
    }
}

/// Like [`find_for`], owned: the workflow task of an instance reference.
pub(super) fn find_any(exec: &Execution, reference: &str) -> Option<WorkflowTask> {
    find_for(&exec.def, exec, reference).map(Cow::into_owned)
}

/// Does whatever is due after the changes made so far in this decision: retries or fails
/// tasks that ended unsuccessfully, schedules what follows tasks that ended, ends JOINs
/// whose references are done, and completes (or fails) the workflow once nothing is left
/// to run. Only the tasks changed in this decision are looked at (what is due can only
/// follow from a change); see [`advance_all`]. Does nothing unless the workflow is
/// RUNNING.
pub(super) fn advance(exec: &mut Execution, cx: &mut Ctx) {
    let changed: Vec<usize> =
        cx.d.changed_tasks
            .iter()
            .filter_map(|id| exec.task_index(id))
            .collect();
    run(exec, cx, changed);
}

/// Like [`advance`], looking at every task: after a resume (results taken while paused
/// were not acted on) and after a retry.
///
/// A TERMINATE that already ran (a retried run it had ended) ends the run again first.
pub(super) fn advance_all(exec: &mut Execution, cx: &mut Ctx) {
    if exec.workflow.status != WorkflowStatus::Running || end_again(exec, cx) {
        return;
    }
    let all = (0..exec.tasks.len()).collect();
    run(exec, cx, all);
}

/// Ends a RUNNING workflow again when a TERMINATE task already ran in it (a run it ended,
/// being retried). Returns true when it did.
pub(super) fn end_again(exec: &mut Execution, cx: &mut Ctx) -> bool {
    let fired = exec.tasks.iter().position(|t| {
        !t.retried
            && t.status == TaskStatus::Completed
            && handler(&t.task_type) == Handler::Terminate
    });
    match fired {
        Some(idx) if exec.workflow.status == WorkflowStatus::Running => {
            terminate::end_run(exec, cx, idx);
            true
        }
        _ => false,
    }
}

/// Settles the tasks in `work` and whatever they lead to, in scheduling order.
fn run(exec: &mut Execution, cx: &mut Ctx, mut work: Vec<usize>) {
    if exec.workflow.status != WorkflowStatus::Running {
        return;
    }
    if exec.tasks.is_empty() {
        let def = Arc::clone(&exec.def);
        match def.tasks.first() {
            Some(wt) => schedule(exec, cx, wt, Origin::First),
            None => {
                let reason = "the workflow definition has no tasks".to_string();
                close(exec, cx, WorkflowStatus::Failed, Some(reason), None);
                return;
            }
        }
        if exec.workflow.status != WorkflowStatus::Running {
            return;
        }
        work.extend(0..exec.tasks.len());
    }
    let mut next = 0;
    loop {
        while let Some(&idx) = work.get(next) {
            next += 1;
            let before = exec.tasks.len();
            settle(exec, cx, idx);
            if exec.workflow.status != WorkflowStatus::Running {
                return;
            }
            work.extend(before..exec.tasks.len());
            work.append(&mut cx.ended);
        }
        // JOINs wait on other tasks, and so do loops whose body reached its end while
        // tasks of the iteration still ran: look at every waiting one once the rest is
        // settled.
        let mut others_live = false;
        let mut joins = Vec::new();
        let mut loops = Vec::new();
        for (i, t) in exec.tasks.iter().enumerate() {
            if fork::is_waiting_join(t) || exclusive_join::is_waiting(t) {
                joins.push(i);
            } else if !t.status.is_terminal() {
                others_live = true;
                if do_while::is_waiting(t) {
                    loops.push(i);
                }
            }
        }
        let before = exec.tasks.len();
        for l in loops {
            do_while::evaluate_waiting(exec, cx, l);
            if exec.workflow.status != WorkflowStatus::Running {
                return;
            }
        }
        work.extend(before..exec.tasks.len());
        work.append(&mut cx.ended);
        if next < work.len() {
            continue;
        }
        let mut waiting = Vec::new();
        for j in joins {
            let ended = if exclusive_join::is_waiting(&exec.tasks[j]) {
                exclusive_join::evaluate(exec, cx, j, others_live)
            } else {
                fork::evaluate_join(exec, cx, j)
            };
            if ended {
                work.push(j);
            } else {
                waiting.push(j);
            }
        }
        if next < work.len() {
            continue;
        }
        if !waiting.is_empty() {
            if !others_live {
                fork::stuck(exec, cx, &waiting);
            }
            return;
        }
        if !others_live {
            finish_run(exec, cx);
        }
        return;
    }
}

/// Does what one task instance calls for, if anything: a failed one is retried, excused
/// (optional, permissive) or fails the workflow; a finished one has what follows it
/// scheduled, unless that happened already; a COMPLETED TERMINATE ends the workflow.
fn settle(exec: &mut Execution, cx: &mut Ctx, idx: usize) {
    let t = &exec.tasks[idx];
    if exec.workflow.status != WorkflowStatus::Running || !t.status.is_terminal() || t.retried {
        return;
    }
    let def = Arc::clone(&exec.def);
    let (base, suffix) = iteration::split(&t.reference_task_name);
    let suffix = suffix.to_string();
    let Some(loc) = structure::locate(&def, base) else {
        // A dynamic fork branch: a single task, after which its JOIN takes over.
        if let Some(wt) = taken::find_branch(exec, base) {
            if !t.status.is_successful() {
                on_unsuccessful(exec, cx, idx, &wt);
            }
            return;
        }
        let reason = format!(
            "task {} is not part of the workflow definition",
            t.reference_task_name
        );
        close(exec, cx, WorkflowStatus::Failed, Some(reason), None);
        return;
    };
    let wt = loc.task();
    if !t.status.is_successful() && on_unsuccessful(exec, cx, idx, wt) == Unsuccessful::Handled {
        return;
    }
    let t = &exec.tasks[idx];
    let kind = handler(&wt.task_type);
    if kind == Handler::Terminate && t.status == TaskStatus::Completed {
        terminate::end_run(exec, cx, idx);
        return;
    }
    let dynamic_branches = match kind {
        Handler::DynamicFork => taken::branch_tasks(t),
        _ => Vec::new(),
    };
    let mut next: Vec<&WorkflowTask> = dynamic_branches.iter().collect();
    let mut then_after = true;
    match kind {
        Handler::Fork if t.status.is_successful() => {
            next.extend(wt.fork_tasks.iter().filter_map(|b| b.first()));
        }
        Handler::Switch => {
            if let Some(first) = taken::chosen_case(wt, t).and_then(<[_]>::first) {
                next.push(first);
                then_after = false;
            }
        }
        _ => {}
    }
    if then_after {
        match loc.after() {
            After::Task(n) => next.push(n),
            After::LoopEnd(owner) if next.is_empty() => {
                let n = iteration::innermost(&suffix);
                do_while::body_done(exec, cx, owner, iteration::outer(&suffix), n);
                return;
            }
            _ => {}
        }
    }
    if next.is_empty() {
        return;
    }
    let from = chain_start(exec, idx);
    for wt in next {
        let reference = format!("{}{suffix}", wt.task_reference_name);
        if !scheduled_after(exec, from, &reference) {
            schedule_in(exec, cx, wt, Origin::First, &suffix);
            if exec.workflow.status != WorkflowStatus::Running {
                return;
            }
        }
    }
}

/// Index of the first instance in the retry chain that ends with the instance at `idx`.
fn chain_start(exec: &Execution, mut idx: usize) -> usize {
    while let Some(prev) = exec.tasks[idx].retried_task_id.as_deref() {
        match exec.tasks[..idx].iter().rposition(|t| t.task_id == prev) {
            Some(i) => idx = i,
            None => break,
        }
    }
    idx
}

/// Whether `reference` has an instance after position `from`. What follows a task is
/// scheduled after the task's first instance, so looking there is enough.
fn scheduled_after(exec: &Execution, from: usize, reference: &str) -> bool {
    exec.tasks[from + 1..]
        .iter()
        .any(|t| t.reference_task_name == reference)
}

/// Schedules one workflow task through the handler of its type. A TERMINATE that runs
/// ends the workflow at once. A FORK_JOIN or SWITCH that completes schedules its first
/// nested tasks at once (and a fork its JOIN), so that they follow it in the task list, as
/// in Conductor; the recursion is only as deep as the definition's nesting.
pub(super) fn schedule(exec: &mut Execution, cx: &mut Ctx, wt: &WorkflowTask, origin: Origin) {
    let suffix = match origin {
        Origin::First => cx.suffix.clone(),
        Origin::Retry { idx, .. } | Origin::Manual { idx } => {
            iteration::suffix(&exec.tasks[idx].reference_task_name).to_string()
        }
    };
    schedule_in(exec, cx, wt, origin, &suffix);
}

/// [`schedule`] inside the loop iteration with this suffix (empty outside loops): a first
/// attempt's reference gets the suffix, and so do the nested tasks scheduled with it.
pub(super) fn schedule_in(
    exec: &mut Execution,
    cx: &mut Ctx,
    wt: &WorkflowTask,
    origin: Origin,
    suffix: &str,
) {
    let saved = std::mem::replace(&mut cx.suffix, suffix.to_string());
    schedule_nested(exec, cx, wt, origin);
    cx.suffix = saved;
}

fn schedule_nested(exec: &mut Execution, cx: &mut Ctx, wt: &WorkflowTask, origin: Origin) {
    let kind = handler(&wt.task_type);
    let idx = exec.tasks.len();
    schedule_one(exec, cx, wt, origin, kind);
    if kind == Handler::Terminate
        && exec.workflow.status == WorkflowStatus::Running
        && exec
            .tasks
            .get(idx)
            .is_some_and(|t| t.status == TaskStatus::Completed)
    {
        // A TERMINATE takes effect the moment it runs, before anything else due.
        terminate::end_run(exec, cx, idx);
        return;
    }
    if !matches!(kind, Handler::Fork | Handler::DynamicFork | Handler::Switch)
        || exec.workflow.status != WorkflowStatus::Running
    {
        return;
    }
    let Some(t) = exec
        .tasks
        .get(idx)
        .filter(|t| t.status == TaskStatus::Completed)
    else {
        return;
    };
    let def = Arc::clone(&exec.def);
    let dynamic_branches = match kind {
        Handler::DynamicFork => taken::branch_tasks(t),
        _ => Vec::new(),
    };
    let mut next: Vec<&WorkflowTask> = dynamic_branches.iter().collect();
    if matches!(kind, Handler::Fork | Handler::DynamicFork) {
        next.extend(wt.fork_tasks.iter().filter_map(|b| b.first()));
        let join = structure::locate(&def, &wt.task_reference_name).map(|l| l.after());
        if let Some(After::Task(join)) = join
            && handler(&join.task_type) == Handler::Join
        {
            next.push(join);
        }
    } else if let Some(first) = taken::chosen_case(wt, t).and_then(<[_]>::first) {
        next.push(first);
    }
    let from = chain_start(exec, idx);
    for n in next {
        let reference = format!("{}{}", n.task_reference_name, cx.suffix);
        if !scheduled_after(exec, from, &reference) {
            schedule_nested(exec, cx, n, Origin::First);
            if exec.workflow.status != WorkflowStatus::Running {
                return;
            }
        }
    }
}

/// Creates the instance through the handler of the task's type.
fn schedule_one(
    exec: &mut Execution,
    cx: &mut Ctx,
    wt: &WorkflowTask,
    origin: Origin,
    kind: Handler,
) {
    // A task an operator asked to skip before the flow reached it is created SKIPPED.
    if matches!(origin, Origin::First)
        && let Some(skip) = commands::take_skip(exec, cx, wt)
    {
        commands::schedule_skipped(exec, cx, wt, origin, skip);
        return;
    }
    match kind {
        Handler::Worker => lifecycle::schedule(exec, cx, wt, origin),
        Handler::Fork => fork::schedule_fork(exec, cx, wt, origin),
        Handler::Join => fork::schedule_join(exec, cx, wt, origin),
        Handler::Dynamic => dynamic::schedule(exec, cx, wt, origin),
        Handler::DynamicFork => dynamic_fork::schedule(exec, cx, wt, origin),
        Handler::ExclusiveJoin => exclusive_join::schedule(exec, cx, wt, origin),
        Handler::Switch => switch::schedule(exec, cx, wt, origin),
        Handler::Noop => noop::schedule(exec, cx, wt, origin),
        Handler::SetVariable => set_variable::schedule(exec, cx, wt, origin),
        Handler::Terminate => terminate::schedule(exec, cx, wt, origin),
        Handler::Loop => do_while::schedule(exec, cx, wt, origin),
        Handler::Job => jobs::schedule(exec, cx, wt, origin),
        Handler::Wait | Handler::Human => wait::schedule(exec, cx, wt, origin),
        Handler::SubWorkflow | Handler::StartWorkflow => {
            sub_workflow::schedule(exec, cx, wt, origin)
        }
        Handler::Unsupported => {
            let reason = format!("task type {} is not supported yet", wt.task_type);
            let reference = wt.task_reference_name.clone();
            close(
                exec,
                cx,
                WorkflowStatus::Failed,
                Some(reason),
                Some(reference),
            );
        }
    }
}

/// What became of a task that ended unsuccessfully.
#[derive(Debug, PartialEq, Eq)]
enum Unsuccessful {
    /// Retried, or the workflow failed: nothing more to do for it.
    Handled,
    /// The workflow goes on past it: optional (now COMPLETED_WITH_ERRORS) or permissive
    /// (still failed; its JOIN, or the end of the workflow, fails later).
    GoesOn,
}

/// A task ended unsuccessfully: retry it, let the workflow go on (optional, permissive),
/// or fail the workflow (TIMED_OUT when the task timed out). Only worker tasks, and HTTP,
/// WAIT and HUMAN tasks with a task definition of their own, are retried.
fn on_unsuccessful(
    exec: &mut Execution,
    cx: &mut Ctx,
    idx: usize,
    wt: &WorkflowTask,
) -> Unsuccessful {
    let t = &exec.tasks[idx];
    let td = task_def_for(Some(wt), &t.task_def_name, &*cx.env);
    let allowed = wt.retry_count.unwrap_or(td.retry_count);
    let budget_left = td.total_timeout_seconds <= 0
        || cx.now
            < t.first_scheduled_time
                .saturating_add(secs(td.total_timeout_seconds));
    // System tasks are retried only by a task definition of their own, as in Conductor.
    let own_def = wt.task_definition.is_some() || cx.env.task_def(&t.task_def_name).is_some();
    let retried = match handler(&t.task_type) {
        Handler::Worker => true,
        Handler::Wait | Handler::Human => own_def,
        _ => jobs::retried(&t.task_type) && own_def,
    };
    if retried && t.status.is_retriable() && t.retry_count < allowed && budget_left {
        let delay_ms = lifecycle::retry_delay_ms(&td, t.retry_count, cx.env);
        // Through the definition's handler: a DYNAMIC task works out its name again.
        let origin = Origin::Retry { idx, delay_ms };
        schedule_one(exec, cx, wt, origin, handler(&wt.task_type));
        return Unsuccessful::Handled;
    }
    let t = &mut exec.tasks[idx];
    if t.optional {
        t.status = TaskStatus::CompletedWithErrors;
        cx.task_changed(t);
        return Unsuccessful::GoesOn;
    }
    if wt.permissive {
        return Unsuccessful::GoesOn;
    }
    let status = if t.status == TaskStatus::TimedOut {
        WorkflowStatus::TimedOut
    } else {
        WorkflowStatus::Failed
    };
    let reason = failure_text(t);
    let reference = t.reference_task_name.clone();
    close(exec, cx, status, Some(reason), Some(reference));
    Unsuccessful::Handled
}

/// "task REF (ID) ended STATUS: REASON".
fn failure_text(t: &TaskInstance) -> String {
    format!(
        "task {} ({}) ended {}: {}",
        t.reference_task_name,
        t.task_id,
        t.status.as_str(),
        t.reason_for_incompletion
            .as_deref()
            .unwrap_or("no reason given")
    )
}

/// The instance that ends the run: the latest instance of the workflow's last task; when
/// that is a SWITCH whose chosen case has tasks, the end of that case, and so on inward.
fn end_task(exec: &Execution) -> Option<usize> {
    let mut list = exec.def.tasks.as_slice();
    loop {
        let wt = list.last()?;
        let idx = exec.latest_index(&wt.task_reference_name)?;
        let t = &exec.tasks[idx];
        if handler(&wt.task_type) == Handler::Switch
            && let Some(case) = taken::chosen_case(wt, t).filter(|c| !c.is_empty())
        {
            list = case;
            continue;
        }
        return Some(idx);
    }
}

/// Nothing is left to run: the workflow completes, unless permissive tasks failed on the
/// way (then it fails). Should the end not have been reached, which the flow rules out,
/// the workflow fails rather than completing.
fn finish_run(exec: &mut Execution, cx: &mut Ctx) {
    let reached = end_task(exec).is_some_and(|i| {
        let t = &exec.tasks[i];
        t.status.is_terminal() && !t.retried
    });
    if !reached {
        let reason = "nothing is left to run, yet the workflow did not reach its end".to_string();
        close(exec, cx, WorkflowStatus::Failed, Some(reason), None);
        return;
    }
    let failed: Vec<&TaskInstance> = exec
        .tasks
        .iter()
        .filter(|t| !t.retried && t.status.is_terminal() && !t.status.is_successful())
        .collect();
    if let Some(first) = failed.first() {
        let reference = first.reference_task_name.clone();
        let texts: Vec<String> = failed.iter().map(|t| failure_text(t)).collect();
        let reason = format!("permissive tasks failed: {}", texts.join("; "));
        close(
            exec,
            cx,
            WorkflowStatus::Failed,
            Some(reason),
            Some(reference),
        );
        return;
    }
    complete(exec, cx);
}

/// The instance whose output a completed run takes (without `outputParameters`): as in
/// Conductor, the task scheduled last, read from the definition in Conductor's order. That
/// is the last task of the workflow; for a SWITCH or DECISION whose case ran, the last
/// task of that case; for a DO_WHILE, the last task of its last iteration; for the JOIN of
/// a FORK_JOIN, the JOIN, unless branch tasks were scheduled after it (Conductor schedules
/// the JOIN together with the first tasks of the branches: the first task of each, a first
/// SWITCH's case's first batch, a first FORK_JOIN's branches' first batches and its JOIN),
/// then the latest of those.
fn output_task(exec: &Execution) -> Option<usize> {
    last_of_list(exec, &exec.def.tasks, "")
}

/// The instance Conductor schedules last for the task list `list` run with `suffix`.
fn last_of_list(exec: &Execution, list: &[WorkflowTask], suffix: &str) -> Option<usize> {
    let i = list.len().checked_sub(1)?;
    let wt = &list[i];
    let idx = exec.latest_index(&format!("{}{suffix}", wt.task_reference_name))?;
    let t = &exec.tasks[idx];
    let inner = match handler(&wt.task_type) {
        Handler::Switch => {
            taken::chosen_case(wt, t).and_then(|case| last_of_list(exec, case, suffix))
        }
        Handler::Loop => body_last(exec, wt, t, suffix),
        Handler::Join if i > 0 && handler(&list[i - 1].task_type) == Handler::Fork => {
            latest_after_batch(exec, &list[i - 1].fork_tasks, suffix)
        }
        _ => None,
    };
    Some(inner.unwrap_or(idx))
}

/// The last instance of the last iteration of the loop instance `t`; None before any.
fn body_last(exec: &Execution, wt: &WorkflowTask, t: &TaskInstance, suffix: &str) -> Option<usize> {
    let n = t
        .output
        .get("iteration")
        .and_then(serde_json::Value::as_i64)?;
    let n = i32::try_from(n).ok().filter(|n| *n >= 1)?;
    last_of_list(exec, &wt.loop_over, &iteration::nested(suffix, n))
}

/// The latest (by scheduling) of the branches' instances scheduled after the fork's batch.
fn latest_after_batch(
    exec: &Execution,
    branches: &[Vec<WorkflowTask>],
    suffix: &str,
) -> Option<usize> {
    branches
        .iter()
        .filter_map(|b| after_batch(exec, b, suffix))
        .max_by_key(|&x| exec.tasks[x].seq)
}

/// The instance Conductor schedules last among the tasks of `list` that it schedules after
/// the batch holding the list's first task; None when all of them are in that batch.
fn after_batch(exec: &Execution, list: &[WorkflowTask], suffix: &str) -> Option<usize> {
    let first = list.first()?;
    let kind = handler(&first.task_type);
    // A fork's batch holds its JOIN, the task after it.
    let in_batch = if kind == Handler::Fork { 2 } else { 1 };
    if list.len() > in_batch {
        return last_of_list(exec, list, suffix);
    }
    let idx = exec.latest_index(&format!("{}{suffix}", first.task_reference_name))?;
    let t = &exec.tasks[idx];
    match kind {
        Handler::Switch => {
            taken::chosen_case(first, t).and_then(|case| after_batch(exec, case, suffix))
        }
        Handler::Loop => body_last(exec, first, t, suffix),
        Handler::Fork => latest_after_batch(exec, &first.fork_tasks, suffix),
        _ => None,
    }
}

/// Completes the workflow: output from `outputParameters` (when not empty), else the
/// output of the task Conductor would have scheduled last (see [`output_task`]).
fn complete(exec: &mut Execution, cx: &mut Ctx) {
    // An empty template counts as none, as in Conductor.
    let output = match exec
        .def
        .output_parameters
        .as_ref()
        .filter(|t| !t.is_empty())
    {
        Some(template) => {
            let scope = ExecScope::new(exec, None);
            match expr::resolve(template, &scope) {
                Ok(o) => o,
                Err(e) => {
                    let reason = format!("output parameters: {e}");
                    close(exec, cx, WorkflowStatus::Failed, Some(reason), None);
                    return;
                }
            }
        }
        None => output_task(exec)
            .map(|i| exec.tasks[i].output.clone())
            .unwrap_or_default(),
    };
    exec.workflow.output = output;
    close(exec, cx, WorkflowStatus::Completed, None, None);
}

/// Ends the run in a terminal status: cancels every non-terminal task, disarms the
/// workflow timeout, and tells the runtime.
pub(super) fn close(
    exec: &mut Execution,
    cx: &mut Ctx,
    status: WorkflowStatus,
    reason: Option<String>,
    failed_reference: Option<String>,
) {
    debug_assert!(status.is_terminal());
    if status != WorkflowStatus::Completed {
        output_at_close(exec);
    }
    let cancel_reason = format!("workflow {}", status.as_str());
    for t in exec.tasks.iter_mut().filter(|t| !t.status.is_terminal()) {
        sub_workflow::cancel_child(t, cx, status.as_str());
        t.job_pending = false;
        lifecycle::finish(t, cx, TaskStatus::Canceled, Some(cancel_reason.clone()));
    }
    disarm_workflow_timeout(exec, cx);
    let wf = &mut exec.workflow;
    wf.status = status;
    wf.reason_for_incompletion = reason;
    wf.end_time = Some(cx.now);
    if failed_reference.is_some() {
        wf.failed_reference_task_name = failed_reference;
    }
    if let Some(start) = sub_workflow::failure_workflow(exec, status) {
        // As Conductor does, the failed run names its failure workflow in its output.
        if let Effect::StartWorkflow { request, .. } = &start {
            exec.workflow.output.insert(
                sub_workflow::FAILURE_WORKFLOW_OUTPUT_KEY.to_string(),
                serde_json::Value::from(request.workflow_id.as_str()),
            );
        }
        cx.workflow_changed(&mut exec.workflow);
        cx.effect(Effect::WorkflowClosed { status });
        cx.effect(start);
    } else {
        cx.workflow_changed(&mut exec.workflow);
        cx.effect(Effect::WorkflowClosed { status });
    }
}

/// Works out the output of a run that ends other than by completing, as Conductor does:
/// the output of a TERMINATE that ran; else the `outputParameters` (the output is left
/// as it is when they cannot be evaluated); else the output of the last task scheduled.
fn output_at_close(exec: &mut Execution) {
    let terminate = exec
        .tasks
        .iter()
        .find(|t| t.task_type == "TERMINATE" && t.status.is_terminal() && t.status.is_successful());
    let output = if let Some(t) = terminate {
        t.output.clone()
    } else if let Some(template) = exec
        .def
        .output_parameters
        .as_ref()
        .filter(|t| !t.is_empty())
    {
        let scope = ExecScope::new(exec, None);
        match expr::resolve(template, &scope) {
            Ok(o) => o,
            Err(_) => return,
        }
    } else {
        match exec.tasks.last() {
            Some(t) => t.output.clone(),
            None => return,
        }
    };
    exec.workflow.output = output;
}

/// Arms the workflow timeout for the current run, if the definition has one and the run
/// is still going.
pub(super) fn arm_workflow_timeout(exec: &Execution, cx: &mut Ctx) {
    let t = exec.def.timeout_seconds;
    if t > 0 && !exec.workflow.status.is_terminal() {
        let run_start = exec.workflow.start_time;
        cx.arm(
            run_start.saturating_add(secs(t)),
            TimerKind::WorkflowTimeout { run_start },
        );
    }
}

fn disarm_workflow_timeout(exec: &Execution, cx: &mut Ctx) {
    let t = exec.def.timeout_seconds;
    if t > 0 && !exec.workflow.status.is_terminal() {
        let run_start = exec.workflow.start_time;
        cx.cancel(
            run_start.saturating_add(secs(t)),
            TimerKind::WorkflowTimeout { run_start },
        );
    }
}

/// The workflow's `timeoutSeconds` ran out (for the run that began at `run_start`).
pub(super) fn workflow_timeout(exec: &mut Execution, cx: &mut Ctx, run_start: i64) {
    let wf = &exec.workflow;
    let limit = exec.def.timeout_seconds;
    if wf.start_time != run_start || wf.status.is_terminal() || limit <= 0 {
        return;
    }
    if cx.now < run_start.saturating_add(secs(limit)) {
        return;
    }
    match exec.def.timeout_policy {
        WorkflowTimeoutPolicy::TimeOutWf => {
            let reason = format!("workflow timed out after {limit}s");
            close(exec, cx, WorkflowStatus::TimedOut, Some(reason), None);
        }
        WorkflowTimeoutPolicy::AlertOnly => {}
    }
}
