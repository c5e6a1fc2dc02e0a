//! Tests of the sled store against its contract, across reopening.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use baton_core::{
    Execution, TaskDef, TaskInstance, Timer, TimerKind, WorkflowDef, WorkflowInstance,
    WorkflowStatus,
};
use proptest::prelude::*;
use serde_json::json;

use baton_core::retention::Finished;

use crate::keys::{self, Key};
use crate::{SledStore, Store, StoreError, StoreStats, Write, WriteBatch};

fn workflow(
    id: &str,
    name: &str,
    status: WorkflowStatus,
    correlation_id: Option<&str>,
    idempotency_key: Option<&str>,
    create_time: i64,
) -> WorkflowInstance {
    serde_json::from_value(json!({
        "workflowId": id,
        "workflowName": name,
        "workflowVersion": 1,
        "status": status.as_str(),
        "input": {"orderId": id, "amount": 12.5, "items": [1, 2, 3]},
        "correlationId": correlation_id,
        "idempotencyKey": idempotency_key,
        "createTime": create_time,
        "startTime": create_time,
        "updateTime": create_time,
        "nextSeq": 1
    }))
    .unwrap()
}

fn task(workflow_id: &str, seq: i32, task_id: &str, n: i64) -> TaskInstance {
    serde_json::from_value(json!({
        "taskId": task_id,
        "taskDefName": "charge",
        "taskType": "SIMPLE",
        "referenceTaskName": format!("charge_{seq}"),
        "status": if n % 2 == 0 { "SCHEDULED" } else { "COMPLETED" },
        "input": {"n": n, "nested": {"list": [n, "x", null, true]}},
        "output": {"result": n * 3},
        "seq": seq,
        "workflowId": workflow_id,
        "workflowType": "order",
        "responseTimeoutSeconds": 60,
        "scheduledTime": 1000 + n,
        "firstScheduledTime": 1000,
        "readyTime": 1000 + n,
        "updateTime": 1000 + n
    }))
    .unwrap()
}

fn def(name: &str, version: i32) -> WorkflowDef {
    serde_json::from_value(json!({
        "name": name,
        "version": version,
        "tasks": [{"name": "charge", "taskReferenceName": "charge_1", "type": "SIMPLE"}],
        "someFutureField": {"kept": true}
    }))
    .unwrap()
}

fn batch(writes: Vec<Write>) -> WriteBatch {
    WriteBatch { writes }
}

fn put_new(wf: &WorkflowInstance) -> Write {
    Write::PutWorkflow {
        workflow: wf.clone(),
        prev_status: None,
    }
}

fn snapshot(workflow_id: &str, d: &WorkflowDef) -> Write {
    Write::PutSnapshot {
        workflow_id: workflow_id.into(),
        def: Arc::new(d.clone()),
    }
}

/// Every key of the exec tree, readable.
/// Every record and index key of the executions (the search log aside: it has its own
/// tests).
fn exec_keys(store: &SledStore) -> Vec<String> {
    store
        .exec
        .iter()
        .map(|item| item.unwrap().0)
        .filter(|k| !k.starts_with(keys::SEARCH_LOG))
        .map(|k| keys::display(&k))
        .collect()
}

fn logged_ids(store: &SledStore) -> Vec<Vec<String>> {
    store
        .search_log(None, 100)
        .unwrap()
        .into_iter()
        .map(|e| e.workflow_ids)
        .collect()
}

#[test]
fn every_batch_logs_the_executions_it_touches_for_search() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert_eq!(store.search_log(None, 10).unwrap(), vec![]);
    store
        .apply(&batch(vec![
            Write::PutNewTask(task("b", 1, "b1", 1)),
            Write::PutNewTask(task("a", 1, "a1", 1)),
            Write::PutNewTask(task("b", 2, "b2", 2)),
        ]))
        .unwrap();
    let first = store.search_log(None, 10).unwrap();
    assert_eq!(first.len(), 1, "one entry per batch");
    assert_eq!(first[0].workflow_ids, ["a", "b"], "each execution once");

    // `a` changes again before the index takes the first entry in: the new entry stays
    // when the first goes, and its stamp is larger.
    store
        .apply(&batch(vec![Write::DeleteTask {
            workflow_id: "a".into(),
            task_id: "a1".into(),
        }]))
        .unwrap();
    let both = store.search_log(None, 10).unwrap();
    assert_eq!(both.len(), 2);
    assert!(both[1].stamp > both[0].stamp);
    assert_eq!(store.search_log(None, 1).unwrap(), both[..1], "limit");
    assert_eq!(
        store.search_log(Some(both[0].stamp), 10).unwrap(),
        both[1..],
        "a page after the first entry"
    );
    store.search_log_done(&[first[0].stamp], &[]).unwrap();
    assert_eq!(logged_ids(&store), [vec!["a".to_string()]]);

    // Taking an entry off while logging what was read but not taken in, in one write.
    store
        .search_log_done(&[both[1].stamp], &["a".into(), "z".into()])
        .unwrap();
    let left = store.search_log(None, 10).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].workflow_ids, ["a", "z"]);
    assert!(left[0].stamp > both[1].stamp);

    // Timers alone touch nothing searchable.
    store.search_log_done(&[left[0].stamp], &[]).unwrap();
    store
        .apply(&batch(vec![Write::PutTimer(Timer {
            workflow_id: "a".into(),
            due_ms: 5,
            kind: TimerKind::WorkflowTimeout { run_start: 1 },
        })]))
        .unwrap();
    assert_eq!(store.search_log(None, 10).unwrap(), vec![]);

    // The log outlives a reopening, and stamps keep growing across it.
    store
        .apply(&batch(vec![Write::DeleteWorkflow {
            workflow_id: "b".into(),
        }]))
        .unwrap();
    let before = store.search_log(None, 10).unwrap();
    let id = store.store_id().unwrap();
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.search_log(None, 10).unwrap(), before);
    assert_eq!(store.store_id().unwrap(), id, "the id is kept");
    store
        .apply(&batch(vec![Write::PutNewTask(task("b", 1, "b1", 1))]))
        .unwrap();
    assert!(store.search_log(None, 10).unwrap()[1].stamp > before[0].stamp);
}

#[test]
fn an_older_search_queue_moves_into_the_log_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for wid in ["q1", "q2"] {
        store
            .exec
            .insert(
                Key::new(keys::LEGACY_SEARCH_QUEUE).str(wid).into_vec(),
                &7u64.to_be_bytes()[..],
            )
            .unwrap();
    }
    drop(store);
    let store = open(dir.path());
    assert_eq!(logged_ids(&store), [vec!["q1".to_string(), "q2".into()]]);
    assert_eq!(
        store.exec.scan_prefix(keys::LEGACY_SEARCH_QUEUE).count(),
        0,
        "the old entries are gone"
    );
    drop(store);
    let store = open(dir.path());
    assert_eq!(logged_ids(&store).len(), 1, "moved once");
}

#[test]
fn workflow_ids_walk_every_execution_in_pages() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let names = ["a", "a/b", "ab", "b", "c\0"];
    for n in names {
        let wf = workflow(n, "order", WorkflowStatus::Running, None, None, 1);
        store
            .apply(&batch(vec![Write::PutWorkflow {
                workflow: wf,
                prev_status: None,
            }]))
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.workflow_ids_after(after.as_deref(), 2).unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().cloned();
        seen.extend(page);
    }
    let mut want: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(seen, want);
    assert_ne!(open_other_store_id(), store.store_id().unwrap());
}

fn open_other_store_id() -> String {
    let dir = tempfile::tempdir().unwrap();
    open(dir.path()).store_id().unwrap()
}

fn open(dir: &Path) -> SledStore {
    SledStore::open(dir).unwrap()
}

#[test]
fn flushed_batches_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let d = def("order", 1);
    let wf = workflow(
        "wf-1",
        "order",
        WorkflowStatus::Running,
        Some("c1"),
        Some("k1"),
        5,
    );
    let tasks: Vec<_> = (1..=12)
        .rev()
        .map(|seq| task("wf-1", seq, &format!("t-{seq}"), seq as i64))
        .collect();
    let timers = [
        Timer {
            due_ms: 50,
            workflow_id: "wf-1".into(),
            kind: TimerKind::TaskReady {
                task_id: "t-1".into(),
            },
        },
        Timer {
            due_ms: -3,
            workflow_id: "wf-1".into(),
            kind: TimerKind::WorkflowTimeout { run_start: 5 },
        },
    ];
    {
        let store = open(dir.path());
        let mut writes = vec![put_new(&wf), snapshot("wf-1", &d)];
        // Tasks written out of order: the store returns them by seq.
        writes.extend(tasks.iter().cloned().map(Write::PutNewTask));
        writes.extend(timers.iter().cloned().map(Write::PutTimer));
        store.apply(&batch(writes)).unwrap();
        store.flush().unwrap();
    }
    let store = open(dir.path());
    let exec = store.load_execution("wf-1").unwrap().unwrap();
    let mut expected_tasks = tasks.clone();
    expected_tasks.sort_by_key(|t| t.seq);
    assert_eq!(
        exec,
        Execution {
            workflow: wf.clone(),
            tasks: expected_tasks,
            def: Arc::new(d),
        }
    );
    assert_eq!(store.load_workflow("wf-1").unwrap(), Some(wf));
    assert_eq!(store.load_task("t-7").unwrap(), Some(tasks[5].clone()));
    assert_eq!(
        store
            .workflow_ids_by_status(WorkflowStatus::Running)
            .unwrap(),
        vec!["wf-1"]
    );
    assert_eq!(
        store.workflow_ids_by_correlation("order", "c1").unwrap(),
        vec!["wf-1"]
    );
    assert_eq!(
        store.workflow_id_by_idempotency_key("order", "k1").unwrap(),
        Some("wf-1".into())
    );
    assert_eq!(
        store.timers().unwrap(),
        vec![timers[1].clone(), timers[0].clone()]
    );
    assert_eq!(
        store.stats().unwrap(),
        StoreStats {
            workflows: 1,
            tasks: 12
        }
    );
}

#[test]
fn missing_things_are_none() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert_eq!(store.load_execution("nope").unwrap(), None);
    assert_eq!(store.load_workflow("nope").unwrap(), None);
    assert_eq!(store.load_task("nope").unwrap(), None);
    assert!(store.timers().unwrap().is_empty());
    assert_eq!(
        store.workflow_id_by_idempotency_key("a", "b").unwrap(),
        None
    );
    assert_eq!(store.stats().unwrap(), StoreStats::default());
    store.apply(&WriteBatch::default()).unwrap();
    store.flush().unwrap();
}

#[test]
fn status_index_moves_with_the_status() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut wf = workflow("wf-1", "order", WorkflowStatus::Running, None, None, 1);
    let other = workflow("wf-2", "order", WorkflowStatus::Running, None, None, 2);
    store
        .apply(&batch(vec![put_new(&wf), put_new(&other)]))
        .unwrap();
    let ids = |s| store.workflow_ids_by_status(s).unwrap();
    assert_eq!(ids(WorkflowStatus::Running), vec!["wf-1", "wf-2"]);

    for (prev, next) in [
        (WorkflowStatus::Running, WorkflowStatus::Paused),
        (WorkflowStatus::Paused, WorkflowStatus::Paused),
        (WorkflowStatus::Paused, WorkflowStatus::Running),
        (WorkflowStatus::Running, WorkflowStatus::Failed),
    ] {
        wf.status = next;
        store
            .apply(&batch(vec![Write::PutWorkflow {
                workflow: wf.clone(),
                prev_status: Some(prev),
            }]))
            .unwrap();
        for s in WorkflowStatus::ALL {
            let mut expected = Vec::new();
            if s == next {
                expected.push("wf-1".to_string());
            }
            if s == WorkflowStatus::Running {
                expected.push("wf-2".to_string());
            }
            assert_eq!(ids(s), expected, "status {s:?} after {prev:?} -> {next:?}");
        }
    }
    // Two changes in one batch.
    store
        .apply(&batch(vec![
            Write::PutWorkflow {
                workflow: {
                    let mut w = wf.clone();
                    w.status = WorkflowStatus::Running;
                    w
                },
                prev_status: Some(WorkflowStatus::Failed),
            },
            Write::PutWorkflow {
                workflow: {
                    let mut w = wf.clone();
                    w.status = WorkflowStatus::Completed;
                    w
                },
                prev_status: Some(WorkflowStatus::Running),
            },
        ]))
        .unwrap();
    assert_eq!(ids(WorkflowStatus::Completed), vec!["wf-1"]);
    assert_eq!(ids(WorkflowStatus::Running), vec!["wf-2"]);
    assert!(ids(WorkflowStatus::Failed).is_empty());
}

#[test]
fn correlation_and_idempotency_lookups() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let a = workflow(
        "wf-a",
        "order",
        WorkflowStatus::Running,
        Some("c"),
        Some("k"),
        300,
    );
    let b = workflow(
        "wf-b",
        "order",
        WorkflowStatus::Running,
        Some("c"),
        Some("k"),
        100,
    );
    let c = workflow(
        "wf-c",
        "order",
        WorkflowStatus::Running,
        Some("c/x"),
        None,
        200,
    );
    let d = workflow(
        "wf-d",
        "refund",
        WorkflowStatus::Running,
        Some("c"),
        Some("k"),
        50,
    );
    let e = workflow(
        "wf-e",
        "order",
        WorkflowStatus::Running,
        Some("c"),
        None,
        -7,
    );
    store
        .apply(&batch(vec![
            put_new(&a),
            put_new(&b),
            put_new(&c),
            put_new(&d),
            put_new(&e),
        ]))
        .unwrap();
    // Oldest first, and "c" does not match "c/x".
    assert_eq!(
        store.workflow_ids_by_correlation("order", "c").unwrap(),
        vec!["wf-e", "wf-b", "wf-a"]
    );
    assert_eq!(
        store.workflow_ids_by_correlation("order", "c/x").unwrap(),
        vec!["wf-c"]
    );
    assert_eq!(
        store.workflow_ids_by_correlation("refund", "c").unwrap(),
        vec!["wf-d"]
    );
    assert!(
        store
            .workflow_ids_by_correlation("order", "")
            .unwrap()
            .is_empty()
    );
    // The latest written with the key.
    assert_eq!(
        store.workflow_id_by_idempotency_key("order", "k").unwrap(),
        Some("wf-b".into())
    );
    assert_eq!(
        store.workflow_id_by_idempotency_key("refund", "k").unwrap(),
        Some("wf-d".into())
    );
    assert_eq!(
        store
            .workflow_id_by_idempotency_key("order", "other")
            .unwrap(),
        None
    );
    // An update does not move the idempotency key.
    let mut a2 = a.clone();
    a2.status = WorkflowStatus::Completed;
    store
        .apply(&batch(vec![Write::PutWorkflow {
            workflow: a2,
            prev_status: Some(WorkflowStatus::Running),
        }]))
        .unwrap();
    assert_eq!(
        store.workflow_id_by_idempotency_key("order", "k").unwrap(),
        Some("wf-b".into())
    );
    // Deleting an execution that no longer owns the key leaves it; the owner takes it along.
    store
        .apply(&batch(vec![Write::DeleteWorkflow {
            workflow_id: "wf-a".into(),
        }]))
        .unwrap();
    assert_eq!(
        store.workflow_id_by_idempotency_key("order", "k").unwrap(),
        Some("wf-b".into())
    );
    assert_eq!(
        store.workflow_ids_by_correlation("order", "c").unwrap(),
        vec!["wf-e", "wf-b"]
    );
    store
        .apply(&batch(vec![Write::DeleteWorkflow {
            workflow_id: "wf-b".into(),
        }]))
        .unwrap();
    assert_eq!(
        store.workflow_id_by_idempotency_key("order", "k").unwrap(),
        None
    );
}

#[test]
fn timers_come_back_in_due_order() {
    let dir = tempfile::tempdir().unwrap();
    let dues = [
        i64::MAX,
        0,
        -1,
        1,
        i64::MIN,
        -1_000_000,
        1_700_000_000_000,
        255,
        256,
    ];
    let mut timers = Vec::new();
    for (i, due) in dues.iter().enumerate() {
        for wid in ["w\0", "w", "w/x"] {
            timers.push(Timer {
                due_ms: *due,
                workflow_id: wid.into(),
                kind: TimerKind::TaskTimeout {
                    task_id: format!("t{i}"),
                },
            });
            timers.push(Timer {
                due_ms: *due,
                workflow_id: wid.into(),
                kind: TimerKind::WorkflowTimeout {
                    run_start: *due / 3,
                },
            });
        }
    }
    {
        let store = open(dir.path());
        store
            .apply(&batch(
                timers.iter().cloned().map(Write::PutTimer).collect(),
            ))
            .unwrap();
        store.flush().unwrap();
    }
    let store = open(dir.path());
    let mut expected = timers.clone();
    expected.sort();
    let got = store.timers().unwrap();
    assert_eq!(got, expected);
    assert!(got.windows(2).all(|w| w[0].due_ms <= w[1].due_ms));
    assert_eq!(got.first().unwrap().due_ms, i64::MIN);
    assert_eq!(got.last().unwrap().due_ms, i64::MAX);

    // Deleting a timer deletes exactly it; deleting an absent one is harmless.
    store
        .apply(&batch(vec![
            Write::DeleteTimer(timers[0].clone()),
            Write::DeleteTimer(Timer {
                due_ms: 1,
                workflow_id: "nobody".into(),
                kind: TimerKind::PollTimeout {
                    task_id: "x".into(),
                },
            }),
        ]))
        .unwrap();
    expected.retain(|t| *t != timers[0]);
    assert_eq!(store.timers().unwrap(), expected);

    // A window of due times: after `a`, up to and with `b`.
    for (a, b) in [
        (i64::MIN, i64::MAX),
        (i64::MIN, 0),
        (-1, 1),
        (0, 10),
        (5, 5),
        (10, i64::MAX),
        (i64::MAX - 1, i64::MAX),
    ] {
        let want: Vec<Timer> = expected
            .iter()
            .filter(|t| t.due_ms > a && t.due_ms <= b)
            .cloned()
            .collect();
        assert_eq!(store.timers_due(a, b).unwrap(), want, "({a}, {b}]");
    }
}

#[test]
fn delete_task_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let wf = workflow("wf", "order", WorkflowStatus::Running, None, None, 1);
    store
        .apply(&batch(vec![
            put_new(&wf),
            snapshot("wf", &def("order", 1)),
            Write::PutNewTask(task("wf", 1, "t1", 1)),
        ]))
        .unwrap();
    let before = exec_keys(&store);
    store
        .apply(&batch(vec![Write::PutNewTask(task("wf", 2, "t2", 2))]))
        .unwrap();
    assert_eq!(exec_keys(&store).len(), before.len() + 2);
    store
        .apply(&batch(vec![Write::DeleteTask {
            workflow_id: "wf".into(),
            task_id: "t2".into(),
        }]))
        .unwrap();
    assert_eq!(exec_keys(&store), before);
    assert_eq!(store.load_task("t2").unwrap(), None);

    // A delete naming another execution does nothing.
    store
        .apply(&batch(vec![Write::DeleteTask {
            workflow_id: "other".into(),
            task_id: "t1".into(),
        }]))
        .unwrap();
    assert_eq!(exec_keys(&store), before);

    // Put and delete in one batch: nothing is written.
    store
        .apply(&batch(vec![
            Write::PutNewTask(task("wf", 3, "t3", 3)),
            Write::DeleteTask {
                workflow_id: "wf".into(),
                task_id: "t3".into(),
            },
        ]))
        .unwrap();
    assert_eq!(exec_keys(&store), before);
}

#[test]
fn ids_that_name_their_slot_need_no_index_entry() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let named = task("wf.x", 1, &baton_core::ids::task_id("wf.x", 1, 7), 1);
    let plain = task("wf.x", 2, "plain", 2);
    // Of the named form, but naming another slot: found through the index.
    let elsewhere = task("wf.x", 3, &baton_core::ids::task_id("other", 9, 7), 3);
    store
        .apply(&batch(vec![
            Write::PutNewTask(named.clone()),
            Write::PutNewTask(plain.clone()),
            Write::PutNewTask(elsewhere.clone()),
        ]))
        .unwrap();
    let index: Vec<String> = exec_keys(&store)
        .into_iter()
        .filter(|k| k.starts_with("ti/"))
        .collect();
    assert_eq!(index.len(), 2, "{index:?}");
    for t in [&named, &plain, &elsewhere] {
        assert_eq!(store.load_task(&t.task_id).unwrap().as_ref(), Some(t));
    }
    // A restart gives seq 1 to another task: the old id finds nothing.
    let again = task("wf.x", 1, &baton_core::ids::task_id("wf.x", 1, 8), 4);
    store
        .apply(&batch(vec![Write::PutNewTask(again.clone())]))
        .unwrap();
    assert_eq!(store.load_task(&named.task_id).unwrap(), None);
    assert_eq!(
        store.load_task(&again.task_id).unwrap(),
        Some(again.clone())
    );
    // Deleting the old id leaves the new task; deleting the new one removes it.
    for (id, left) in [(&named.task_id, 5), (&again.task_id, 4)] {
        store
            .apply(&batch(vec![Write::DeleteTask {
                workflow_id: "wf.x".into(),
                task_id: id.clone(),
            }]))
            .unwrap();
        assert_eq!(exec_keys(&store).len(), left, "after deleting {id}");
    }
    assert_eq!(store.load_task(&again.task_id).unwrap(), None);
    store
        .apply(&batch(vec![Write::DeleteWorkflow {
            workflow_id: "wf.x".into(),
        }]))
        .unwrap();
    assert_eq!(exec_keys(&store), Vec::<String>::new());
}

#[test]
fn a_reused_slot_keeps_its_new_task() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let old = task("wf", 1, "old", 1);
    let new = task("wf", 1, "new", 2);
    store.apply(&batch(vec![Write::PutNewTask(old)])).unwrap();
    store
        .apply(&batch(vec![Write::PutNewTask(new.clone())]))
        .unwrap();
    assert_eq!(store.load_task("old").unwrap(), None);
    assert_eq!(store.load_task("new").unwrap(), Some(new.clone()));
    store
        .apply(&batch(vec![Write::DeleteTask {
            workflow_id: "wf".into(),
            task_id: "old".into(),
        }]))
        .unwrap();
    assert_eq!(store.load_task("new").unwrap(), Some(new));
    assert_eq!(exec_keys(&store).len(), 2);
}

#[test]
fn a_definition_is_stored_once_and_shared_by_the_executions_loaded_with_it() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        let shared = Arc::new(def("order", 1));
        for (i, id) in ["a", "b", "c"].iter().enumerate() {
            let wf = workflow(id, "order", WorkflowStatus::Running, None, None, i as i64);
            // Two copies with the same content, and one shared copy used twice.
            let d = if i == 0 {
                Arc::new(def("order", 1))
            } else {
                shared.clone()
            };
            store
                .apply(&batch(vec![
                    put_new(&wf),
                    Write::PutSnapshot {
                        workflow_id: (*id).into(),
                        def: d,
                    },
                ]))
                .unwrap();
        }
        let other = workflow("x", "order", WorkflowStatus::Running, None, None, 9);
        store
            .apply(&batch(vec![
                put_new(&other),
                snapshot("x", &def("order", 2)),
            ]))
            .unwrap();
        store.flush().unwrap();
        let defs = exec_keys(&store)
            .into_iter()
            .filter(|k| k.starts_with("d/"))
            .count();
        assert_eq!(defs, 2, "one record per distinct definition");
    }
    let store = open(dir.path());
    let a = store.load_execution("a").unwrap().unwrap();
    let b = store.load_execution("b").unwrap().unwrap();
    let x = store.load_execution("x").unwrap().unwrap();
    assert_eq!(*a.def, def("order", 1));
    assert!(
        Arc::ptr_eq(&a.def, &b.def),
        "loaded executions share one copy"
    );
    assert_eq!(x.def.version, 2);
    // Removing an execution keeps the definition others run.
    store
        .apply(&batch(vec![Write::DeleteWorkflow {
            workflow_id: "a".into(),
        }]))
        .unwrap();
    drop((a, b));
    let c = store.load_execution("c").unwrap().unwrap();
    assert_eq!(*c.def, def("order", 1));
}

#[test]
fn a_snapshot_written_as_json_by_an_older_store_still_loads() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let wf = workflow("old", "order", WorkflowStatus::Running, None, None, 1);
    store.apply(&batch(vec![put_new(&wf)])).unwrap();
    store
        .exec
        .insert(
            keys::Key::new(keys::SNAPSHOT).str("old").into_vec(),
            serde_json::to_vec(&def("order", 3)).unwrap(),
        )
        .unwrap();
    let exec = store.load_execution("old").unwrap().unwrap();
    assert_eq!(*exec.def, def("order", 3));
}

#[test]
fn a_missing_definition_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let wf = workflow("lost", "order", WorkflowStatus::Running, None, None, 1);
    store
        .apply(&batch(vec![
            put_new(&wf),
            snapshot("lost", &def("gone", 1)),
        ]))
        .unwrap();
    let k: Vec<_> = store
        .exec
        .scan_prefix(keys::DEFINITION)
        .map(|i| i.unwrap().0)
        .collect();
    for key in k {
        store.exec.remove(key).unwrap();
    }
    // A fresh handle: nothing of it is in memory.
    drop(store);
    let store = open(dir.path());
    let err = store.load_execution("lost").unwrap_err().to_string();
    assert!(err.contains("lost") && err.contains("missing"), "{err}");
}

#[test]
fn delete_workflow_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    // A neighbour whose id extends the deleted one: its records must stay.
    let keep = workflow(
        "wf/2",
        "order",
        WorkflowStatus::Running,
        Some("c"),
        Some("k2"),
        2,
    );
    let mut keep_writes = vec![put_new(&keep), snapshot("wf/2", &def("order", 1))];
    keep_writes.push(Write::PutNewTask(task("wf/2", 1, "k-t1", 1)));
    keep_writes.push(Write::PutTimer(Timer {
        due_ms: 10,
        workflow_id: "wf/2".into(),
        kind: TimerKind::TaskReady {
            task_id: "k-t1".into(),
        },
    }));
    store.apply(&batch(keep_writes)).unwrap();
    let before = exec_keys(&store);

    let mut wf = workflow(
        "wf",
        "order",
        WorkflowStatus::Running,
        Some("c"),
        Some("k"),
        1,
    );
    let mut writes = vec![put_new(&wf), snapshot("wf", &def("order", 1))];
    for seq in 1..=5 {
        writes.push(Write::PutNewTask(task(
            "wf",
            seq,
            &format!("t{seq}"),
            seq as i64,
        )));
    }
    for due in [-5, 0, 7] {
        writes.push(Write::PutTimer(Timer {
            due_ms: due,
            workflow_id: "wf".into(),
            kind: TimerKind::TaskTimeout {
                task_id: "t1".into(),
            },
        }));
    }
    store.apply(&batch(writes)).unwrap();
    wf.status = WorkflowStatus::Terminated;
    store
        .apply(&batch(vec![Write::PutWorkflow {
            workflow: wf.clone(),
            prev_status: Some(WorkflowStatus::Running),
        }]))
        .unwrap();
    store.flush().unwrap();
    assert!(exec_keys(&store).len() > before.len());

    // In the same batch as a late task write: that one goes too.
    store
        .apply(&batch(vec![
            Write::PutNewTask(task("wf", 6, "t6", 6)),
            Write::DeleteWorkflow {
                workflow_id: "wf".into(),
            },
        ]))
        .unwrap();
    assert_eq!(exec_keys(&store), before);
    assert_eq!(store.load_execution("wf").unwrap(), None);
    assert_eq!(store.load_task("t1").unwrap(), None);
    assert_eq!(
        store.workflow_ids_by_correlation("order", "c").unwrap(),
        vec!["wf/2"]
    );
    assert!(store.load_execution("wf/2").unwrap().is_some());

    // Deleting an absent execution is harmless.
    store
        .apply(&batch(vec![Write::DeleteWorkflow {
            workflow_id: "ghost".into(),
        }]))
        .unwrap();
    assert_eq!(exec_keys(&store), before);
}

#[test]
fn delete_then_recreate_in_one_batch() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let wf = workflow(
        "wf",
        "order",
        WorkflowStatus::Failed,
        Some("c"),
        Some("k"),
        1,
    );
    let d = def("order", 1);
    store
        .apply(&batch(vec![
            put_new(&wf),
            snapshot("wf", &d),
            Write::PutNewTask(task("wf", 1, "t1", 1)),
        ]))
        .unwrap();
    let fresh = workflow(
        "wf",
        "order",
        WorkflowStatus::Running,
        Some("c"),
        Some("k"),
        1,
    );
    store
        .apply(&batch(vec![
            Write::DeleteWorkflow {
                workflow_id: "wf".into(),
            },
            put_new(&fresh),
            snapshot("wf", &d),
        ]))
        .unwrap();
    let exec = store.load_execution("wf").unwrap().unwrap();
    assert_eq!(exec.workflow, fresh);
    assert!(exec.tasks.is_empty());
    assert!(
        store
            .workflow_ids_by_status(WorkflowStatus::Failed)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.workflow_id_by_idempotency_key("order", "k").unwrap(),
        Some("wf".into())
    );
    assert_eq!(
        store.workflow_ids_by_correlation("order", "c").unwrap(),
        vec!["wf"]
    );
}

#[test]
fn workflow_definitions() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        for (name, version) in [
            ("b", 1),
            ("a", 10),
            ("a", 2),
            ("a", -1),
            ("a/b", 1),
            ("ab", 3),
        ] {
            store.put_workflow_def(&def(name, version), false).unwrap();
        }
        let err = store.put_workflow_def(&def("a", 2), false).unwrap_err();
        assert!(matches!(err, StoreError::AlreadyExists(_)), "{err:?}");
        assert!(err.to_string().contains("a version 2"), "{err}");
        let mut changed = def("a", 2);
        changed.description = Some("second".into());
        store.put_workflow_def(&changed, true).unwrap();
    }
    let store = open(dir.path());
    let listed: Vec<_> = store
        .list_workflow_defs()
        .unwrap()
        .into_iter()
        .map(|d| (d.name, d.version))
        .collect();
    let names = |v: &[(&str, i32)]| -> Vec<(String, i32)> {
        v.iter().map(|(n, v)| (n.to_string(), *v)).collect()
    };
    assert_eq!(
        listed,
        names(&[
            ("a", -1),
            ("a", 2),
            ("a", 10),
            ("a/b", 1),
            ("ab", 3),
            ("b", 1)
        ])
    );
    let latest = store.get_workflow_def("a", None).unwrap().unwrap();
    assert_eq!(latest.version, 10);
    assert_eq!(latest, def("a", 10));
    assert_eq!(
        store
            .get_workflow_def("a", Some(2))
            .unwrap()
            .unwrap()
            .description
            .as_deref(),
        Some("second")
    );
    assert_eq!(store.get_workflow_def("a", Some(3)).unwrap(), None);
    assert_eq!(store.get_workflow_def("zzz", None).unwrap(), None);
    assert_eq!(
        store
            .get_workflow_def("a/b", None)
            .unwrap()
            .unwrap()
            .version,
        1
    );

    assert!(store.delete_workflow_def("a", 10).unwrap());
    assert!(!store.delete_workflow_def("a", 10).unwrap());
    assert_eq!(
        store.get_workflow_def("a", None).unwrap().unwrap().version,
        2
    );
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.get_workflow_def("a", Some(10)).unwrap(), None);
    // After deletion the version may be created again.
    store.put_workflow_def(&def("a", 10), false).unwrap();
}

#[test]
fn task_definitions() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        for name in ["charge", "audit", "ship"] {
            store.put_task_def(&TaskDef::named(name)).unwrap();
        }
        let mut changed = TaskDef::named("charge");
        changed.retry_count = 9;
        store.put_task_def(&changed).unwrap();
    }
    let store = open(dir.path());
    let names: Vec<_> = store
        .list_task_defs()
        .unwrap()
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(names, ["audit", "charge", "ship"]);
    assert_eq!(
        store.get_task_def("charge").unwrap().unwrap().retry_count,
        9
    );
    assert_eq!(store.get_task_def("nope").unwrap(), None);
    assert!(store.delete_task_def("ship").unwrap());
    assert!(!store.delete_task_def("ship").unwrap());
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.get_task_def("ship").unwrap(), None);
    assert_eq!(store.list_task_defs().unwrap().len(), 2);
}

#[test]
fn epoch_increases_across_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    for _ in 0..3 {
        let store = open(dir.path());
        seen.push(store.next_epoch().unwrap());
        seen.push(store.next_epoch().unwrap());
    }
    assert_eq!(seen, [1, 2, 3, 4, 5, 6]);
}

#[test]
fn corrupt_records_name_their_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let wf = workflow("wf-1", "order", WorkflowStatus::Running, None, None, 1);
    store
        .apply(&batch(vec![
            put_new(&wf),
            snapshot("wf-1", &def("order", 1)),
            Write::PutNewTask(task("wf-1", 1, "t1", 1)),
            Write::PutNewTask(task("wf-1", 2, "t2", 2)),
        ]))
        .unwrap();
    let corrupt = |key: Vec<u8>, value: &[u8]| {
        store.exec.insert(key, value).unwrap();
    };

    // A task record cut short.
    let task_key = keys::Key::new(keys::TASK).str("wf-1").i32(2).into_vec();
    let good = store.exec.get(&task_key).unwrap().unwrap();
    corrupt(task_key.clone(), &good[..good.len() / 2]);
    for err in [
        store.load_execution("wf-1").unwrap_err(),
        store.load_task("t2").unwrap_err(),
    ] {
        match err {
            StoreError::Corrupt { key, .. } => assert_eq!(key, "t/wf-1/2"),
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }
    assert_eq!(
        store.load_task("t1").unwrap(),
        Some(task("wf-1", 1, "t1", 1))
    );

    // A workflow record with an unknown format byte.
    corrupt(
        keys::Key::new(keys::WORKFLOW).str("wf-1").into_vec(),
        b"\x07junk",
    );
    match store.load_workflow("wf-1").unwrap_err() {
        StoreError::Corrupt { key, message } => {
            assert_eq!(key, "w/wf-1");
            assert!(message.contains("0x07"), "{message}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    // Deleting a corrupt execution still removes it.
    store
        .apply(&batch(vec![Write::DeleteWorkflow {
            workflow_id: "wf-1".into(),
        }]))
        .unwrap();
    assert_eq!(store.load_workflow("wf-1").unwrap(), None);

    // A workflow without its snapshot.
    let wf2 = workflow("wf-2", "order", WorkflowStatus::Running, None, None, 1);
    store.apply(&batch(vec![put_new(&wf2)])).unwrap();
    match store.load_execution("wf-2").unwrap_err() {
        StoreError::Corrupt { key, .. } => assert_eq!(key, "s/wf-2"),
        other => panic!("expected Corrupt, got {other:?}"),
    }

    // A malformed timer key.
    corrupt(b"tm/\x01".to_vec(), b"");
    assert!(matches!(
        store.timers().unwrap_err(),
        StoreError::Corrupt { .. }
    ));

    // A definition that is not JSON.
    store
        .task_defs
        .insert(b"bad".as_slice(), b"{not json".as_slice())
        .unwrap();
    match store.get_task_def("bad").unwrap_err() {
        StoreError::Corrupt { key, .. } => assert_eq!(key, "task_defs/bad"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn engine_failures_are_io_errors_that_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let _store = open(dir.path());
    // The directory is locked by the open store.
    let options = crate::SledOptions {
        lock_wait: std::time::Duration::from_millis(50),
        ..Default::default()
    };
    match SledStore::open_with(dir.path(), options).unwrap_err() {
        StoreError::Io(m) => {
            assert!(m.contains(&dir.path().display().to_string()), "{m}");
            assert!(m.contains("in use by another process"), "{m}");
        }
        other => panic!("expected Io, got {other:?}"),
    }
    // A path below a regular file cannot be a directory.
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    match SledStore::open(file.join("db")).unwrap_err() {
        StoreError::Io(m) => assert!(m.starts_with("opening store in"), "{m}"),
        other => panic!("expected Io, got {other:?}"),
    }
}

#[test]
fn full_disk_is_named() {
    let err = crate::sled_store::engine_error(
        "applying batch",
        sled::Error::Io(std::io::Error::from_raw_os_error(28)),
    );
    match err {
        StoreError::Io(m) => {
            assert!(m.starts_with("applying batch: disk full (ENOSPC)"), "{m}")
        }
        other => panic!("expected Io, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Model-based property test.

/// Workflow ids, some prefixes of others.
const IDS: [&str; 4] = ["a", "a/b", "a\0", "b"];
const NAMES: [&str; 2] = ["order", "order/x"];
const CORRS: [&str; 2] = ["c", "c\0"];
const IDEM_KEYS: [&str; 2] = ["k", "k2"];
const DUES: [i64; 6] = [i64::MIN, -1000, -1, 0, 1, i64::MAX];

/// Half the executions get ids that name their slot (no index entry), half ids that do not.
fn task_id(w: usize, seq: i32) -> String {
    if w.is_multiple_of(2) {
        baton_core::ids::task_id(IDS[w], seq, seq as u64)
    } else {
        format!("task-{}-{seq}", IDS[w])
    }
}

fn timer(w: usize, due: usize, kind: usize) -> Timer {
    let kind = match kind {
        0 => TimerKind::TaskReady {
            task_id: task_id(w, 1),
        },
        1 => TimerKind::TaskTimeout {
            task_id: task_id(w, 2),
        },
        2 => TimerKind::PollTimeout {
            task_id: task_id(w, 1),
        },
        3 => TimerKind::WorkflowTimeout { run_start: -5 },
        _ => TimerKind::LeaseExpired {
            task_id: task_id(w, 1),
            token: "tok".into(),
        },
    };
    Timer {
        due_ms: DUES[due],
        workflow_id: IDS[w].into(),
        kind,
    }
}

#[derive(Debug, Clone)]
enum Op {
    Create {
        w: usize,
        name: usize,
        corr: Option<usize>,
        idem: Option<usize>,
        status: usize,
    },
    SetStatus {
        w: usize,
        status: usize,
    },
    PutTask {
        w: usize,
        seq: i32,
        n: i64,
    },
    DeleteTask {
        w: usize,
        owner: usize,
        seq: i32,
    },
    DeleteWorkflow {
        w: usize,
    },
    PutTimer {
        w: usize,
        due: usize,
        kind: usize,
    },
    DeleteTimer {
        w: usize,
        due: usize,
        kind: usize,
    },
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let w = 0..IDS.len();
    prop_oneof![
        3 => (
            w.clone(),
            0..NAMES.len(),
            proptest::option::of(0..CORRS.len()),
            proptest::option::of(0..IDEM_KEYS.len()),
            0..WorkflowStatus::ALL.len()
        )
            .prop_map(|(w, name, corr, idem, status)| Op::Create {
                w,
                name,
                corr,
                idem,
                status
            }),
        3 => (w.clone(), 0..WorkflowStatus::ALL.len())
            .prop_map(|(w, status)| Op::SetStatus { w, status }),
        5 => (w.clone(), 1..5i32, 0..100i64).prop_map(|(w, seq, n)| Op::PutTask { w, seq, n }),
        2 => (w.clone(), w.clone(), 1..5i32)
            .prop_map(|(w, owner, seq)| Op::DeleteTask { w, owner, seq }),
        1 => w.clone().prop_map(|w| Op::DeleteWorkflow { w }),
        3 => (w.clone(), 0..DUES.len(), 0..5usize)
            .prop_map(|(w, due, kind)| Op::PutTimer { w, due, kind }),
        2 => (w, 0..DUES.len(), 0..5usize)
            .prop_map(|(w, due, kind)| Op::DeleteTimer { w, due, kind }),
    ]
}

/// What the store should hold.
#[derive(Debug, Default, Clone)]
struct Model {
    workflows: BTreeMap<String, WorkflowInstance>,
    tasks: BTreeMap<(String, i32), TaskInstance>,
    snapshots: BTreeMap<String, WorkflowDef>,
    /// Every distinct definition ever snapshotted (stored once, kept when executions go).
    definitions: BTreeSet<String>,
    timers: BTreeSet<Timer>,
    idempotency: BTreeMap<(String, String), String>,
    clock: i64,
}

impl Model {
    /// Turns an operation into writes (reading the model as the runtime would) and applies
    /// it to the model.
    fn step(&mut self, op: &Op, out: &mut Vec<Write>) {
        self.clock += 1;
        match *op {
            Op::Create {
                w,
                name,
                corr,
                idem,
                status,
            } => {
                let wid = IDS[w].to_string();
                if self.workflows.contains_key(&wid) {
                    return self.step(&Op::SetStatus { w, status }, out);
                }
                // A negative create time half of the time, to exercise the ordering.
                let create_time = if self.clock % 2 == 0 {
                    self.clock
                } else {
                    -self.clock
                };
                let wf = workflow(
                    &wid,
                    NAMES[name],
                    WorkflowStatus::ALL[status],
                    corr.map(|c| CORRS[c]),
                    idem.map(|k| IDEM_KEYS[k]),
                    create_time,
                );
                let d = def(NAMES[name], 1);
                out.push(put_new(&wf));
                out.push(snapshot(&wid, &d));
                if let Some(k) = idem {
                    self.idempotency
                        .insert((NAMES[name].into(), IDEM_KEYS[k].into()), wid.clone());
                }
                self.definitions.insert(serde_json::to_string(&d).unwrap());
                self.snapshots.insert(wid.clone(), d);
                self.workflows.insert(wid, wf);
            }
            Op::SetStatus { w, status } => {
                let Some(wf) = self.workflows.get_mut(IDS[w]) else {
                    return;
                };
                let prev = wf.status;
                wf.status = WorkflowStatus::ALL[status];
                wf.update_time = self.clock;
                out.push(Write::PutWorkflow {
                    workflow: wf.clone(),
                    prev_status: Some(prev),
                });
            }
            Op::PutTask { w, seq, n } => {
                let t = task(IDS[w], seq, &task_id(w, seq), n);
                out.push(Write::PutNewTask(t.clone()));
                self.tasks.insert((IDS[w].into(), seq), t);
            }
            Op::DeleteTask { w, owner, seq } => {
                out.push(Write::DeleteTask {
                    workflow_id: IDS[w].into(),
                    task_id: task_id(owner, seq),
                });
                if w == owner {
                    self.tasks.remove(&(IDS[w].to_string(), seq));
                }
            }
            Op::DeleteWorkflow { w } => {
                let wid = IDS[w];
                out.push(Write::DeleteWorkflow {
                    workflow_id: wid.into(),
                });
                self.workflows.remove(wid);
                self.snapshots.remove(wid);
                self.tasks.retain(|(tw, _), _| tw != wid);
                self.timers.retain(|t| t.workflow_id != wid);
                self.idempotency.retain(|_, owner| owner != wid);
            }
            Op::PutTimer { w, due, kind } => {
                let t = timer(w, due, kind);
                out.push(Write::PutTimer(t.clone()));
                self.timers.insert(t);
            }
            Op::DeleteTimer { w, due, kind } => {
                let t = timer(w, due, kind);
                out.push(Write::DeleteTimer(t.clone()));
                self.timers.remove(&t);
            }
        }
    }

    fn check(&self, store: &SledStore) -> Result<(), TestCaseError> {
        for wid in IDS {
            prop_assert_eq!(
                store.load_workflow(wid).unwrap(),
                self.workflows.get(wid).cloned()
            );
            let exec = store.load_execution(wid);
            match (self.workflows.get(wid), self.snapshots.get(wid)) {
                (None, _) => prop_assert_eq!(exec.unwrap(), None),
                (Some(wf), Some(d)) => {
                    let tasks = self
                        .tasks
                        .range((wid.to_string(), i32::MIN)..=(wid.to_string(), i32::MAX))
                        .map(|(_, t)| t.clone())
                        .collect();
                    prop_assert_eq!(
                        exec.unwrap(),
                        Some(Execution {
                            workflow: wf.clone(),
                            tasks,
                            def: Arc::new(d.clone()),
                        })
                    );
                }
                (Some(_), None) => prop_assert!(false, "model workflow without snapshot"),
            }
        }
        for (w, wid) in IDS.iter().enumerate() {
            for seq in 1..5 {
                prop_assert_eq!(
                    store.load_task(&task_id(w, seq)).unwrap(),
                    self.tasks.get(&(wid.to_string(), seq)).cloned()
                );
            }
        }
        for status in WorkflowStatus::ALL {
            let expected: Vec<String> = self
                .workflows
                .values()
                .filter(|wf| wf.status == status)
                .map(|wf| wf.workflow_id.clone())
                .collect();
            prop_assert_eq!(store.workflow_ids_by_status(status).unwrap(), expected);
        }
        for name in NAMES {
            for corr in CORRS {
                let mut matching: Vec<_> = self
                    .workflows
                    .values()
                    .filter(|wf| {
                        wf.workflow_name == name && wf.correlation_id.as_deref() == Some(corr)
                    })
                    .map(|wf| (wf.create_time, wf.workflow_id.clone()))
                    .collect();
                matching.sort();
                let expected: Vec<String> = matching.into_iter().map(|(_, id)| id).collect();
                prop_assert_eq!(
                    store.workflow_ids_by_correlation(name, corr).unwrap(),
                    expected
                );
            }
            let mut open: Vec<_> = self
                .workflows
                .values()
                .filter(|wf| wf.workflow_name == name && !wf.status.is_terminal())
                .map(|wf| (wf.create_time, wf.workflow_id.clone()))
                .collect();
            open.sort();
            let expected: Vec<String> = open.into_iter().map(|(_, id)| id).collect();
            prop_assert_eq!(
                store.open_workflow_ids(name, None, None, None).unwrap(),
                expected
            );
            let mut finished: Vec<_> = self
                .workflows
                .values()
                .filter(|wf| wf.workflow_name == name && wf.status.is_terminal())
                .map(|wf| Finished {
                    end_time: wf.end_time.unwrap_or(wf.update_time),
                    workflow_id: wf.workflow_id.clone(),
                })
                .collect();
            finished.sort();
            prop_assert_eq!(
                store.finished_runs(name, None, usize::MAX).unwrap(),
                finished.clone()
            );
            prop_assert_eq!(
                store.nth_newest_finished(name, 1).unwrap(),
                finished.last().cloned()
            );
            for key in IDEM_KEYS {
                prop_assert_eq!(
                    store.workflow_id_by_idempotency_key(name, key).unwrap(),
                    self.idempotency
                        .get(&(name.to_string(), key.to_string()))
                        .cloned()
                );
            }
        }
        prop_assert_eq!(
            store.timers().unwrap(),
            self.timers.iter().cloned().collect::<Vec<_>>()
        );
        prop_assert_eq!(
            store.stats().unwrap(),
            StoreStats {
                workflows: self.workflows.len() as u64,
                tasks: self.tasks.len() as u64,
            }
        );
        // Nothing else is stored: every key is accounted for.
        let with_corr = self
            .workflows
            .values()
            .filter(|wf| wf.correlation_id.is_some())
            .count();
        let open = self
            .workflows
            .values()
            .filter(|wf| !wf.status.is_terminal())
            .count();
        let indexed = self
            .tasks
            .iter()
            .filter(|((w, seq), t)| baton_core::ids::task_slot(&t.task_id) != Some((w, *seq)))
            .count();
        let expected_keys = self.workflows.len() * 2 // record + status entry
            + open // open-by-name entry
            + (self.workflows.len() - open) // finished entry
            + with_corr
            + self.idempotency.len()
            + self.snapshots.len()
            + self.definitions.len()
            + self.tasks.len() // records
            + indexed // id entries, for ids that do not name their slot
            + self.timers.len() * 2; // by due + by workflow
        prop_assert_eq!(
            exec_keys(store).len(),
            expected_keys,
            "{:?}",
            exec_keys(store)
        );
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn store_matches_a_model_across_reopening(
        batches in proptest::collection::vec(proptest::collection::vec(op_strategy(), 1..8), 1..10)
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut model = Model::default();
        {
            let store = open(dir.path());
            for ops in &batches {
                let mut writes = Vec::new();
                for op in ops {
                    model.step(op, &mut writes);
                }
                store.apply(&batch(writes)).unwrap();
                model.check(&store)?;
            }
            store.flush().unwrap();
        }
        let store = open(dir.path());
        model.check(&store)?;
    }
}

/// A full disk: the failing write names the problem, flushed batches survive, and the store
/// opens again once space is freed. Needs root (it mounts a 3 MiB tmpfs); run with
/// `cargo test -p baton-store -- --ignored`.
#[test]
#[ignore = "mounts a tmpfs: needs root"]
fn full_disk_fails_cleanly_and_recovers() {
    use std::process::Command;
    let mnt = tempfile::tempdir().unwrap();
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=3m", "tmpfs"])
        .arg(mnt.path())
        .status()
        .unwrap();
    assert!(status.success(), "mount failed");
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(mnt.path());
    let filler = mnt.path().join("filler");
    std::fs::write(&filler, vec![0u8; 1024 * 1024]).unwrap();
    let dir = mnt.path().join("store");

    let mut flushed = Vec::new();
    let message = {
        let store = open(&dir);
        let mut n = 0;
        loop {
            let tasks: Vec<_> = (0..20)
                .map(|i| task("wf", n + i, &format!("t{}", n + i), (n + i) as i64))
                .collect();
            n += 20;
            let result = store
                .apply(&batch(
                    tasks.iter().cloned().map(Write::PutNewTask).collect(),
                ))
                .and_then(|()| store.flush());
            match result {
                Ok(()) => flushed.extend(tasks),
                Err(StoreError::Io(m)) => break m,
                Err(other) => panic!("expected Io, got {other:?}"),
            }
            assert!(n < 100_000, "the disk never filled");
        }
    };
    assert!(message.contains("disk full (ENOSPC)"), "{message}");
    assert!(!flushed.is_empty());

    std::fs::remove_file(&filler).unwrap();
    let store = open(&dir);
    for t in &flushed {
        assert_eq!(store.load_task(&t.task_id).unwrap().as_ref(), Some(t));
    }
}

#[test]
fn replacing_a_task_keeps_its_id_index_and_an_unchanged_status_keeps_its_index_entry() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let wf = workflow("wf-r", "flow", WorkflowStatus::Running, None, None, 10);
    store
        .apply(&batch(vec![
            put_new(&wf),
            Write::PutNewTask(task("wf-r", 1, "t-r", 1)),
        ]))
        .unwrap();
    let keys_before = exec_keys(&store);
    // A later change of the same task and of the workflow, status unchanged.
    let mut t = task("wf-r", 1, "t-r", 2);
    t.poll_count = 1;
    let mut wf2 = wf.clone();
    wf2.update_time = 20;
    store
        .apply(&batch(vec![
            Write::PutTask(t.clone()),
            Write::PutWorkflow {
                workflow: wf2.clone(),
                prev_status: Some(WorkflowStatus::Running),
            },
        ]))
        .unwrap();
    store.flush().unwrap();
    assert_eq!(
        exec_keys(&store),
        keys_before,
        "no index entry added or lost"
    );
    assert_eq!(store.load_task("t-r").unwrap().unwrap().poll_count, 1);
    assert_eq!(
        store.load_workflow("wf-r").unwrap().unwrap().update_time,
        20
    );
    assert_eq!(
        store
            .workflow_ids_by_status(WorkflowStatus::Running)
            .unwrap(),
        vec!["wf-r".to_string()]
    );
}

#[test]
fn open_executions_by_name_follow_status_version_and_creation_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = workflow("wf-a", "order", WorkflowStatus::Running, None, None, 10);
    let b = workflow("wf-b", "order", WorkflowStatus::Paused, None, None, 20);
    let mut c = workflow("wf-c", "order", WorkflowStatus::Running, None, None, 30);
    c.workflow_version = 2;
    let other = workflow("wf-d", "invoice", WorkflowStatus::Running, None, None, 15);
    let done = workflow("wf-e", "order", WorkflowStatus::Completed, None, None, 25);
    {
        let store = open(dir.path());
        store
            .apply(&batch(
                [&a, &b, &c, &other, &done]
                    .into_iter()
                    .map(put_new)
                    .collect(),
            ))
            .unwrap();
        store.flush().unwrap();
    }
    let store = open(dir.path());
    let ids = |v: Option<i32>, from: Option<i64>, to: Option<i64>| {
        store.open_workflow_ids("order", v, from, to).unwrap()
    };
    assert_eq!(ids(None, None, None), ["wf-a", "wf-b", "wf-c"]);
    assert_eq!(ids(Some(2), None, None), ["wf-c"]);
    assert_eq!(ids(Some(1), None, None), ["wf-a", "wf-b"]);
    assert_eq!(ids(None, Some(20), None), ["wf-b", "wf-c"]);
    assert_eq!(ids(None, Some(11), Some(29)), ["wf-b"]);
    assert_eq!(ids(None, None, Some(10)), ["wf-a"]);
    assert!(
        store
            .open_workflow_ids("nope", None, None, None)
            .unwrap()
            .is_empty()
    );

    // Ending leaves the index; running again (a restart) comes back.
    a.status = WorkflowStatus::Failed;
    store
        .apply(&batch(vec![Write::PutWorkflow {
            workflow: a.clone(),
            prev_status: Some(WorkflowStatus::Running),
        }]))
        .unwrap();
    assert_eq!(ids(None, None, None), ["wf-b", "wf-c"]);
    a.status = WorkflowStatus::Running;
    store
        .apply(&batch(vec![
            Write::PutWorkflow {
                workflow: a.clone(),
                prev_status: Some(WorkflowStatus::Failed),
            },
            Write::DeleteWorkflow {
                workflow_id: "wf-c".into(),
            },
        ]))
        .unwrap();
    assert_eq!(ids(None, None, None), ["wf-a", "wf-b"]);
}

#[test]
fn the_open_index_is_built_for_stores_written_without_it() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        let wfs = [
            workflow("wf-1", "order", WorkflowStatus::Running, None, None, 3),
            workflow("wf-2", "order", WorkflowStatus::Paused, None, None, 1),
            workflow("wf-3", "order", WorkflowStatus::Terminated, None, None, 2),
        ];
        store
            .apply(&batch(wfs.iter().map(put_new).collect()))
            .unwrap();
        // As a store from before the index: no entries, no marker.
        let stale: Vec<_> = store
            .exec
            .scan_prefix(keys::BY_NAME_OPEN)
            .map(|item| item.unwrap().0)
            .collect();
        assert_eq!(stale.len(), 2);
        for k in stale {
            store.exec.remove(k).unwrap();
        }
        store
            .meta
            .remove(super::sled_store::OPEN_INDEX_KEY)
            .unwrap();
        store.flush().unwrap();
    }
    let store = open(dir.path());
    assert_eq!(
        store.open_workflow_ids("order", None, None, None).unwrap(),
        ["wf-2", "wf-1"]
    );
}

#[test]
fn event_handlers_are_kept_across_reopening() {
    use baton_core::event_handler::parse_event_handler;
    let dir = tempfile::tempdir().unwrap();
    let handler = |name: &str, active: bool| {
        parse_event_handler(&json!({
            "name": name,
            "event": "conductor:orders",
            "active": active,
            "actions": [{"action": "start_workflow", "start_workflow": {"name": "w"}}],
            "futureField": [1]
        }))
        .unwrap()
    };
    {
        let store = open(dir.path());
        store.put_event_handler(&handler("b", true)).unwrap();
        store.put_event_handler(&handler("a", true)).unwrap();
        store.put_event_handler(&handler("b", false)).unwrap();
    }
    let store = open(dir.path());
    assert_eq!(
        store.list_event_handlers().unwrap(),
        vec![handler("a", true), handler("b", false)]
    );
    assert!(store.delete_event_handler("a").unwrap());
    assert!(!store.delete_event_handler("a").unwrap());
    drop(store);
    let store = open(dir.path());
    assert_eq!(
        store.list_event_handlers().unwrap(),
        vec![handler("b", false)]
    );
}

#[test]
fn pending_skips_round_trip_and_records_without_them_still_load() {
    let dir = tempfile::tempdir().unwrap();
    let plain = workflow("wf-1", "order", WorkflowStatus::Running, None, None, 1);
    let mut with_skip = workflow("wf-2", "order", WorkflowStatus::Running, None, None, 2);
    with_skip.skip_tasks.insert(
        "ship".into(),
        baton_core::PendingSkip {
            input: Some(json!({"a": 1}).as_object().unwrap().clone()),
            output: json!({"skipped": true}).as_object().unwrap().clone(),
        },
    );
    with_skip
        .skip_tasks
        .insert("notify__2".into(), baton_core::PendingSkip::default());
    {
        let store = open(dir.path());
        store
            .apply(&batch(vec![put_new(&plain), put_new(&with_skip)]))
            .unwrap();
        store.flush().unwrap();
    }
    let store = open(dir.path());
    let loaded = store.load_workflow("wf-1").unwrap().unwrap();
    assert!(loaded.skip_tasks.is_empty());
    assert_eq!(loaded, plain);
    assert_eq!(store.load_workflow("wf-2").unwrap(), Some(with_skip));
}

#[test]
fn finished_executions_are_indexed_by_name_and_end_time() {
    let dir = tempfile::tempdir().unwrap();
    let ended = |id: &str, name: &str, status: WorkflowStatus, end: i64| {
        let mut wf = workflow(id, name, status, None, None, 1);
        wf.end_time = Some(end);
        wf
    };
    let f = |id: &str, end: i64| Finished {
        end_time: end,
        workflow_id: id.into(),
    };
    let store = open(dir.path());
    let running = workflow("wf-r", "order", WorkflowStatus::Running, None, None, 1);
    store
        .apply(&batch(vec![
            put_new(&ended("wf-3", "order", WorkflowStatus::Completed, 30)),
            put_new(&ended("wf-1", "order", WorkflowStatus::Failed, 10)),
            put_new(&ended("wf-2", "order", WorkflowStatus::Terminated, 10)),
            put_new(&ended("wf-x", "invoice", WorkflowStatus::Completed, 5)),
            put_new(&ended("wf-y", "order\0late", WorkflowStatus::Completed, 5)),
            put_new(&running),
        ]))
        .unwrap();
    assert_eq!(
        store.finished_names().unwrap(),
        ["invoice", "order", "order\0late"]
    );
    let all = store.finished_runs("order", None, 10).unwrap();
    assert_eq!(all, [f("wf-1", 10), f("wf-2", 10), f("wf-3", 30)]);
    assert_eq!(
        store.finished_runs("order", Some(&all[0]), 1).unwrap(),
        [f("wf-2", 10)]
    );
    assert_eq!(store.finished_runs("order", Some(&all[2]), 10).unwrap(), []);
    assert_eq!(
        store.nth_newest_finished("order", 1).unwrap(),
        Some(f("wf-3", 30))
    );
    assert_eq!(
        store.nth_newest_finished("order", 3).unwrap(),
        Some(f("wf-1", 10))
    );
    assert_eq!(store.nth_newest_finished("order", 4).unwrap(), None);
    assert_eq!(store.nth_newest_finished("nope", 1).unwrap(), None);

    // A retry reopens wf-1: it leaves the index; ending again puts it back at its new end.
    let mut wf1 = ended("wf-1", "order", WorkflowStatus::Running, 10);
    wf1.end_time = None;
    store
        .apply(&batch(vec![Write::PutWorkflow {
            workflow: wf1.clone(),
            prev_status: Some(WorkflowStatus::Failed),
        }]))
        .unwrap();
    assert_eq!(
        store.finished_runs("order", None, 10).unwrap(),
        [f("wf-2", 10), f("wf-3", 30)]
    );
    wf1.status = WorkflowStatus::Completed;
    wf1.end_time = Some(40);
    store
        .apply(&batch(vec![Write::PutWorkflow {
            workflow: wf1.clone(),
            prev_status: Some(WorkflowStatus::Running),
        }]))
        .unwrap();
    // A change to a finished run (same status, a new end time) moves its entry.
    let wf3 = ended("wf-3", "order", WorkflowStatus::Completed, 35);
    store
        .apply(&batch(vec![Write::PutWorkflow {
            workflow: wf3,
            prev_status: Some(WorkflowStatus::Completed),
        }]))
        .unwrap();
    assert_eq!(
        store.finished_runs("order", None, 10).unwrap(),
        [f("wf-2", 10), f("wf-3", 35), f("wf-1", 40)]
    );
    // Deleting removes the entry; a restored run is stored but not indexed for retention.
    store
        .apply(&batch(vec![
            Write::DeleteWorkflow {
                workflow_id: "wf-2".into(),
            },
            Write::PutRestored(ended("wf-old", "order", WorkflowStatus::Completed, 1)),
        ]))
        .unwrap();
    assert_eq!(
        store.finished_runs("order", None, 10).unwrap(),
        [f("wf-3", 35), f("wf-1", 40)]
    );
    assert_eq!(
        store.load_workflow("wf-old").unwrap().unwrap().status,
        WorkflowStatus::Completed
    );
    assert!(
        store
            .workflow_ids_by_status(WorkflowStatus::Completed)
            .unwrap()
            .contains(&"wf-old".to_string())
    );
}

#[test]
fn the_finished_index_is_built_for_stores_written_without_it() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        let mut done = workflow("wf-1", "order", WorkflowStatus::Completed, None, None, 3);
        done.end_time = Some(7);
        let wfs = [
            done,
            workflow("wf-2", "order", WorkflowStatus::Running, None, None, 1),
            workflow("wf-3", "order", WorkflowStatus::Terminated, None, None, 2),
        ];
        store
            .apply(&batch(wfs.iter().map(put_new).collect()))
            .unwrap();
        // As a store from before the index: no entries, no marker.
        let stale: Vec<_> = store
            .exec
            .scan_prefix(keys::FINISHED)
            .map(|item| item.unwrap().0)
            .collect();
        assert_eq!(stale.len(), 2);
        for k in stale {
            store.exec.remove(k).unwrap();
        }
        store
            .meta
            .remove(super::sled_store::FINISHED_INDEX_KEY)
            .unwrap();
        store.flush().unwrap();
    }
    let store = open(dir.path());
    assert_eq!(
        store.finished_runs("order", None, 10).unwrap(),
        [
            Finished {
                end_time: 2,
                workflow_id: "wf-3".into()
            },
            Finished {
                end_time: 7,
                workflow_id: "wf-1".into()
            }
        ]
    );
}

#[test]
fn api_keys_audit_entries_and_secrets_survive_a_reopen() {
    use baton_core::auth::{Access, ApiKey, AuditEntry, Outcome, Role};
    let dir = tempfile::tempdir().unwrap();
    let key = |id: &str| ApiKey {
        id: id.into(),
        name: format!("key {id}"),
        role: Role::Operator,
        created_at: 1,
        created_by: "bootstrap".into(),
        revoked_at: None,
        secret_sha256: "00".repeat(32),
    };
    let entry = |n: i64| AuditEntry {
        seq: 0,
        time: n,
        actor: "k1".into(),
        actor_name: String::new(),
        role: Some(Role::Operator),
        action: format!("POST /api/workflow/{n}"),
        access: Access::Operate,
        remote: String::new(),
        outcome: Outcome::Ok,
        status: "200".into(),
        reason: String::new(),
    };
    let secret;
    {
        let store = SledStore::open(dir.path()).unwrap();
        assert!(store.api_keys().unwrap().is_empty());
        store.put_api_key(&key("k1")).unwrap();
        store.put_api_key(&key("k2")).unwrap();
        let mut revoked = key("k1");
        revoked.revoked_at = Some(5);
        store.put_api_key(&revoked).unwrap();
        let mut entries: Vec<AuditEntry> = (0..25).map(entry).collect();
        store.append_audit(&mut entries).unwrap();
        assert!(entries.windows(2).all(|w| w[0].seq < w[1].seq));
        secret = store.secret("token", &|| vec![7; 32]).unwrap();
        assert_eq!(secret, vec![7; 32]);
        // Made once: a second maker is not used.
        assert_eq!(store.secret("token", &|| vec![9; 32]).unwrap(), secret);
    }
    let store = SledStore::open(dir.path()).unwrap();
    let keys = store.api_keys().unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0].revoked_at, Some(5));
    assert_eq!(keys[1], key("k2"));
    assert_eq!(store.secret("token", &|| vec![9; 32]).unwrap(), secret);

    // Newest first, a page at a time.
    let first = store.audit_page(None, 10).unwrap();
    assert_eq!(
        first.iter().map(|e| e.time).collect::<Vec<_>>(),
        (15..25).rev().collect::<Vec<_>>()
    );
    let second = store.audit_page(Some(first[9].seq), 10).unwrap();
    assert_eq!(second[0].time, 14);
    let all = store.audit_page(None, 100).unwrap();
    assert_eq!(all.len(), 25);

    // Trimming keeps the newest.
    assert_eq!(store.trim_audit(5).unwrap(), 20);
    assert_eq!(store.trim_audit(5).unwrap(), 0);
    let left = store.audit_page(None, 100).unwrap();
    assert_eq!(
        left.iter().map(|e| e.time).collect::<Vec<_>>(),
        vec![24, 23, 22, 21, 20]
    );
}
