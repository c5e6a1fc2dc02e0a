//! The shape of a definition: where a workflow task sits (which list, inside which
//! operator) and what comes after it. "What comes next" is always read from this
//! structure: the next task in the same list; at the end of a fork branch nothing more
//! (the JOIN takes over); at the end of a SWITCH case whatever follows the SWITCH,
//! outward as far as needed; at the end of the workflow's own list, the end.

use crate::model::{WorkflowDef, WorkflowTask};

/// The list a workflow task sits in.
#[derive(Debug, Clone, Copy)]
pub(super) enum Container {
    /// The workflow's own task list.
    Top,
    /// A branch of a FORK_JOIN.
    Branch,
    /// A case (or the default case) of a SWITCH or DECISION.
    Case,
    /// The body of a DO_WHILE.
    Loop,
}

/// One level of a location: a list and a position in it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Frame<'d> {
    /// The list.
    pub list: &'d [WorkflowTask],
    /// The position in it.
    pub idx: usize,
    /// What kind of list it is.
    pub container: Container,
}

/// Where a workflow task sits: the lists from the workflow's own down to the task's.
#[derive(Debug)]
pub(super) struct Location<'d> {
    frames: Vec<Frame<'d>>,
}

impl<'d> Location<'d> {
    /// The workflow task itself.
    pub fn task(&self) -> &'d WorkflowTask {
        let f = self.frames.last().expect("a location has a frame");
        &f.list[f.idx]
    }

    /// What follows the task once it is done (for operators, after their nested tasks).
    pub fn after(&self) -> After<'d> {
        after(&self.frames)
    }
}

/// What follows a task.
#[derive(Debug, Clone, Copy)]
pub(super) enum After<'d> {
    /// This task runs next.
    Task(&'d WorkflowTask),
    /// Nothing more in this fork branch: its JOIN decides how to go on.
    BranchEnd,
    /// The end of this DO_WHILE's body: the loop decides whether to go round again.
    LoopEnd(&'d WorkflowTask),
    /// The end of the workflow.
    End,
}

fn after<'d>(frames: &[Frame<'d>]) -> After<'d> {
    for (i, f) in frames.iter().enumerate().rev() {
        if let Some(next) = f.list.get(f.idx + 1) {
            return After::Task(next);
        }
        match f.container {
            Container::Top => return After::End,
            Container::Branch => return After::BranchEnd,
            Container::Loop => {
                // A loop body's frame always has the loop's frame before it.
                let owner = &frames[i - 1];
                return After::LoopEnd(&owner.list[owner.idx]);
            }
            // The case is over: whatever follows the SWITCH follows.
            Container::Case => {}
        }
    }
    After::End
}

/// Finds the workflow task with this reference name, anywhere in the definition.
pub(super) fn locate<'d>(def: &'d WorkflowDef, reference: &str) -> Option<Location<'d>> {
    let mut frames = Vec::with_capacity(4);
    search(&def.tasks, Container::Top, reference, &mut frames).then_some(Location { frames })
}

fn search<'d>(
    list: &'d [WorkflowTask],
    container: Container,
    reference: &str,
    frames: &mut Vec<Frame<'d>>,
) -> bool {
    for (idx, t) in list.iter().enumerate() {
        frames.push(Frame {
            list,
            idx,
            container,
        });
        if t.task_reference_name == reference {
            return true;
        }
        let found = t
            .fork_tasks
            .iter()
            .any(|b| search(b, Container::Branch, reference, frames))
            || t.decision_cases
                .values()
                .any(|c| search(c, Container::Case, reference, frames))
            || search(&t.default_case, Container::Case, reference, frames)
            || search(&t.loop_over, Container::Loop, reference, frames);
        if found {
            return true;
        }
        frames.pop();
    }
    false
}

/// Whether the definition has a workflow task with this reference name, at any nesting.
pub fn has_reference(def: &WorkflowDef, reference: &str) -> bool {
    locate(def, reference).is_some()
}

/// The workflow task with this reference name (a definition reference, without a loop
/// suffix), at any nesting; None for tasks made at run time (dynamic fork branches).
pub fn workflow_task<'d>(def: &'d WorkflowDef, reference: &str) -> Option<&'d WorkflowTask> {
    locate(def, reference).map(|l| l.task())
}

/// The workflow task right before the one with this reference name in the same list;
/// None when it is first in its list or not in the definition.
pub(super) fn before<'d>(def: &'d WorkflowDef, reference: &str) -> Option<&'d WorkflowTask> {
    let loc = locate(def, reference)?;
    let f = loc.frames.last()?;
    f.idx.checked_sub(1).map(|i| &f.list[i])
}
