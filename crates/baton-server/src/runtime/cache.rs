//! The executions an executor keeps in memory: a least-recently-used cache with a byte
//! budget. Every execution in it is clean once its batch is stored (the store holds what
//! memory holds), so any of them can be dropped and loaded again on demand by the executor
//! that owns it. Sizes are estimates: the structs plus the text and JSON they own.

use std::mem::size_of;

use baton_core::{Execution, Object, TaskInstance, WorkflowInstance};
use lru::LruCache;
use serde_json::Value;

/// Allocation overhead counted per owned string or map entry.
const PER_ALLOC: usize = 16;

struct Entry {
    exec: Execution,
    bytes: usize,
}

/// Executions by workflow id, least recently used first out.
pub(crate) struct ExecCache {
    map: LruCache<String, Entry>,
    bytes: usize,
    budget: usize,
    evicted: u64,
}

impl ExecCache {
    /// An empty cache that keeps at most about `budget` bytes after [`ExecCache::evict`].
    pub(crate) fn new(budget: usize) -> Self {
        Self {
            map: LruCache::unbounded(),
            bytes: 0,
            budget,
            evicted: 0,
        }
    }

    /// True when the execution is in memory; marks it recently used.
    pub(crate) fn touch(&mut self, id: &str) -> bool {
        self.map.get(id).is_some()
    }

    /// The execution, without marking it used.
    pub(crate) fn get(&self, id: &str) -> Option<&Execution> {
        self.map.peek(id).map(|e| &e.exec)
    }

    /// The execution to change; marks it used. Call [`ExecCache::resize`] after the change.
    pub(crate) fn get_mut(&mut self, id: &str) -> Option<&mut Execution> {
        self.map.get_mut(id).map(|e| &mut e.exec)
    }

    /// Adds or replaces an execution.
    pub(crate) fn insert(&mut self, id: String, exec: Execution) {
        let bytes = execution_bytes(&exec) + id.len();
        self.bytes += bytes;
        if let Some(old) = self.map.put(id, Entry { exec, bytes }) {
            self.bytes -= old.bytes;
        }
    }

    /// Drops an execution, handing it back.
    pub(crate) fn remove(&mut self, id: &str) -> Option<Execution> {
        let e = self.map.pop(id)?;
        self.bytes -= e.bytes;
        Some(e.exec)
    }

    /// Counts an execution's size again after it changed.
    pub(crate) fn resize(&mut self, id: &str) {
        if let Some(e) = self.map.peek_mut(id) {
            let bytes = execution_bytes(&e.exec) + id.len();
            self.bytes = self.bytes - e.bytes + bytes;
            e.bytes = bytes;
        }
    }

    /// Drops the least recently used executions until the cache is within its budget.
    /// Only call it when every execution in memory is stored.
    pub(crate) fn evict(&mut self) {
        while self.bytes > self.budget {
            let Some((_, e)) = self.map.pop_lru() else {
                break;
            };
            self.bytes -= e.bytes;
            self.evicted += 1;
        }
    }

    /// Number of executions in memory.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Estimated bytes held.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Executions dropped to stay within the budget so far.
    pub(crate) fn evicted(&self) -> u64 {
        self.evicted
    }
}

/// Estimated heap and inline bytes of an execution (its definition is shared, not counted).
pub(crate) fn execution_bytes(exec: &Execution) -> usize {
    size_of::<Execution>()
        + workflow_bytes(&exec.workflow)
        + exec.tasks.capacity() * size_of::<TaskInstance>()
        + exec.tasks.iter().map(task_bytes).sum::<usize>()
}

fn workflow_bytes(w: &WorkflowInstance) -> usize {
    str_bytes(&w.workflow_id)
        + str_bytes(&w.workflow_name)
        + object_bytes(&w.input)
        + object_bytes(&w.output)
        + object_bytes(&w.variables)
        + opt_bytes(&w.correlation_id)
        + opt_bytes(&w.reason_for_incompletion)
        + opt_bytes(&w.parent_workflow_id)
        + opt_bytes(&w.parent_workflow_task_id)
        + opt_bytes(&w.idempotency_key)
        + opt_bytes(&w.failed_reference_task_name)
        + w.task_to_domain
            .iter()
            .map(|(k, v)| str_bytes(k) + str_bytes(v) + PER_ALLOC)
            .sum::<usize>()
        + w.skip_tasks
            .iter()
            .map(|(k, s)| {
                str_bytes(k)
                    + object_bytes(&s.output)
                    + s.input.as_ref().map_or(0, object_bytes)
                    + PER_ALLOC
            })
            .sum::<usize>()
}

fn task_bytes(t: &TaskInstance) -> usize {
    str_bytes(&t.task_id)
        + str_bytes(&t.task_def_name)
        + str_bytes(&t.task_type)
        + str_bytes(&t.reference_task_name)
        + str_bytes(&t.workflow_id)
        + str_bytes(&t.workflow_type)
        + object_bytes(&t.input)
        + object_bytes(&t.output)
        + opt_bytes(&t.worker_id)
        + opt_bytes(&t.reason_for_incompletion)
        + opt_bytes(&t.domain)
        + opt_bytes(&t.retried_task_id)
        + opt_bytes(&t.correlation_id)
        + opt_bytes(&t.token)
        + t.past_tokens
            .iter()
            .map(|s| str_bytes(s) + 24)
            .sum::<usize>()
        + t.logs
            .iter()
            .map(|l| l.log.len() + 64 + PER_ALLOC)
            .sum::<usize>()
}

fn str_bytes(s: &str) -> usize {
    if s.is_empty() { 0 } else { s.len() + PER_ALLOC }
}

fn opt_bytes(s: &Option<String>) -> usize {
    s.as_deref().map_or(0, str_bytes)
}

fn object_bytes(o: &Object) -> usize {
    o.iter()
        .map(|(k, v)| str_bytes(k) + value_bytes(v) + size_of::<Value>() + PER_ALLOC)
        .sum()
}

fn value_bytes(v: &Value) -> usize {
    match v {
        Value::String(s) => str_bytes(s),
        Value::Array(a) => {
            a.iter()
                .map(|v| value_bytes(v) + size_of::<Value>())
                .sum::<usize>()
                + PER_ALLOC
        }
        Value::Object(o) => object_bytes(o) + PER_ALLOC,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn exec(id: &str, payload: usize) -> Execution {
        let mut workflow: WorkflowInstance = serde_json::from_value(serde_json::json!({
            "workflowId": id, "workflowName": "w", "workflowVersion": 1, "status": "RUNNING",
            "createTime": 0, "startTime": 0, "updateTime": 0, "nextSeq": 0
        }))
        .expect("a workflow record");
        workflow
            .input
            .insert("blob".into(), Value::String("x".repeat(payload)));
        Execution {
            workflow,
            tasks: Vec::new(),
            def: Arc::new(
                serde_json::from_value(serde_json::json!({"name": "w", "tasks": []}))
                    .expect("a definition"),
            ),
        }
    }

    #[test]
    fn evicts_least_recently_used_first_down_to_the_budget() {
        let one = execution_bytes(&exec("a", 1000)) + 1;
        let mut c = ExecCache::new(one * 2 + one / 2);
        for id in ["a", "b", "c"] {
            c.insert(id.into(), exec(id, 1000));
        }
        assert!(c.touch("a"));
        c.evict();
        assert_eq!(c.len(), 2);
        assert!(c.get("b").is_none(), "b was the least recently used");
        assert!(c.get("a").is_some() && c.get("c").is_some());
        assert_eq!(c.evicted(), 1);
        assert!(c.bytes() <= one * 2 + one / 2);
    }

    #[test]
    fn resize_counts_growth_and_remove_gives_back() {
        let mut c = ExecCache::new(usize::MAX);
        c.insert("a".into(), exec("a", 10));
        let before = c.bytes();
        c.get_mut("a")
            .unwrap()
            .workflow
            .output
            .insert("big".into(), Value::String("y".repeat(5000)));
        c.resize("a");
        assert!(c.bytes() >= before + 5000);
        assert!(c.remove("a").is_some());
        assert_eq!(c.bytes(), 0);
        assert_eq!(c.len(), 0);
    }
}
