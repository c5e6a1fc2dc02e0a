//! Bookkeeping shared by every handler: the clock reading, the environment and the
//! decision being built.

use super::{Decision, Effect, Env, Timer, TimerKind};
use crate::state::{TaskInstance, WorkflowInstance};

/// The context of one decision.
pub(super) struct Ctx<'e> {
    /// Ids, randomness and task definitions.
    pub env: &'e mut dyn Env,
    /// The time of this decision (epoch ms), read once.
    pub now: i64,
    /// The execution's id, for timers.
    pub workflow_id: String,
    /// The decision being built.
    pub d: Decision,
    /// The DO_WHILE iteration suffix (see [`super::iteration`]) that first attempts get
    /// while the flow schedules inside a loop body; empty outside loops.
    pub suffix: String,
    /// Task instances to drop from the execution once the decision is made (old loop
    /// iterations past `keepLastN`).
    pub prune: Vec<String>,
    /// Indices of tasks that ended as a side effect of settling another one (a loop whose
    /// body reached its end): the flow settles them next.
    pub ended: Vec<usize>,
}

impl<'e> Ctx<'e> {
    pub fn new(env: &'e mut dyn Env, workflow_id: &str) -> Self {
        let now = env.now_ms();
        Self {
            env,
            now,
            workflow_id: workflow_id.to_string(),
            d: Decision::default(),
            suffix: String::new(),
            prune: Vec::new(),
            ended: Vec::new(),
        }
    }

    /// Records that a task instance was created or changed.
    pub fn task_changed(&mut self, t: &mut TaskInstance) {
        t.update_time = self.now;
        if !self.d.changed_tasks.contains(&t.task_id) {
            self.d.changed_tasks.push(t.task_id.clone());
        }
    }

    /// Records that the workflow record changed.
    pub fn workflow_changed(&mut self, wf: &mut WorkflowInstance) {
        wf.update_time = self.now;
        self.d.workflow_changed = true;
    }

    /// Adds an effect. A Dequeue of a task enqueued earlier in the same decision takes the
    /// Enqueue back instead: the runtime never sees the task in its queue.
    pub fn effect(&mut self, e: Effect) {
        if let Effect::Dequeue { task_id, .. } = &e {
            let earlier =
                self.d.effects.iter().rposition(
                    |x| matches!(x, Effect::Enqueue { task_id: id, .. } if id == task_id),
                );
            if let Some(i) = earlier {
                self.d.effects.remove(i);
                return;
            }
        }
        self.d.effects.push(e);
    }

    fn timer(&self, due_ms: i64, kind: TimerKind) -> Timer {
        Timer {
            due_ms,
            workflow_id: self.workflow_id.clone(),
            kind,
        }
    }

    pub fn arm(&mut self, due_ms: i64, kind: TimerKind) {
        let t = self.timer(due_ms, kind);
        self.effect(Effect::ArmTimer(t));
    }

    pub fn cancel(&mut self, due_ms: i64, kind: TimerKind) {
        let t = self.timer(due_ms, kind);
        self.effect(Effect::CancelTimer(t));
    }
}

/// Seconds to milliseconds, saturating.
pub(super) fn secs(s: i64) -> i64 {
    s.saturating_mul(1000)
}
