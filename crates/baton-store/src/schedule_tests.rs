//! Tests of schedule storage: records, revisions, the wake index and history.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;

use baton_core::schedule::{Schedule, ScheduleDef, ScheduleState};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::{
    ScheduleAlert, ScheduleHistoryEntry, ScheduleWrite, SledStore, Store, StoreError,
    StoredSchedule,
};

const CREATED: i64 = 1_780_000_000_000;

fn open(dir: &Path) -> SledStore {
    SledStore::open(dir).unwrap()
}

fn sched_def(name: &str) -> ScheduleDef {
    serde_json::from_value(json!({
        "name": name,
        "cronExpression": "0 0 2 * * ?",
        "zoneId": "Europe/Berlin",
        "startWorkflowRequest": {"name": "etl", "input": {"region": "eu"}}
    }))
    .unwrap()
}

fn initial_state(def: &ScheduleDef) -> ScheduleState {
    Schedule::new(def.clone()).unwrap().initial_state(CREATED)
}

fn entry(slot_ms: i64, recorded_ms: i64, event: Value) -> ScheduleHistoryEntry {
    ScheduleHistoryEntry {
        slot_ms,
        seq: 0,
        recorded_ms,
        event,
    }
}

/// Writes `name` with its initial state; returns the new revision.
fn put(
    store: &SledStore,
    name: &str,
    wake_at: Option<i64>,
    expected_revision: Option<u64>,
    now_ms: i64,
    history: &[ScheduleHistoryEntry],
) -> Result<u64, StoreError> {
    let def = sched_def(name);
    let state = initial_state(&def);
    store.put_schedule(&ScheduleWrite {
        name,
        def: &def,
        state: &state,
        wake_at,
        expected_revision,
        now_ms,
        history,
        alerts: &[],
    })
}

/// Every key of the schedules tree, readable.
fn schedule_keys(store: &SledStore) -> Vec<String> {
    store
        .schedules
        .iter()
        .map(|item| crate::keys::display(&item.unwrap().0))
        .collect()
}

fn names(list: &[StoredSchedule]) -> Vec<&str> {
    list.iter().map(|s| s.name.as_str()).collect()
}

#[test]
fn a_schedule_round_trips_with_its_state_and_times() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let def = sched_def("nightly");
    let schedule = Schedule::new(def.clone()).unwrap();
    let mut state = schedule.initial_state(CREATED);
    schedule.tick(&mut state, CREATED);
    let first = state.clone();
    // A state with something in it: a slot started and acknowledged.
    schedule.tick(&mut state, 1_780_012_800_000);
    assert_ne!(state, first);

    let write = ScheduleWrite {
        name: "nightly",
        def: &def,
        state: &first,
        wake_at: Some(1_780_012_800_000),
        expected_revision: Some(0),
        now_ms: CREATED,
        history: &[],
        alerts: &[],
    };
    assert_eq!(store.put_schedule(&write).unwrap(), 1);
    let stored = store.load_schedule("nightly").unwrap().unwrap();
    assert_eq!(
        stored,
        StoredSchedule {
            name: "nightly".into(),
            def: def.clone(),
            state: first.clone(),
            wake_at: Some(1_780_012_800_000),
            revision: 1,
            created_ms: CREATED,
            updated_ms: CREATED,
        }
    );

    let later = CREATED + 5_000;
    let rev = store
        .put_schedule(&ScheduleWrite {
            state: &state,
            wake_at: None,
            expected_revision: Some(1),
            now_ms: later,
            ..write
        })
        .unwrap();
    assert_eq!(rev, 2);
    let stored = store.load_schedule("nightly").unwrap().unwrap();
    assert_eq!(stored.state, state);
    assert_eq!(stored.def, def);
    assert_eq!(stored.wake_at, None);
    assert_eq!(stored.revision, 2);
    assert_eq!(stored.created_ms, CREATED);
    assert_eq!(stored.updated_ms, later);
    assert!(store.load_schedule("other").unwrap().is_none());
}

#[test]
fn a_stale_revision_is_a_conflict_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    // Expecting a revision of a schedule that does not exist.
    let err = put(&store, "s", Some(10), Some(3), CREATED, &[]).unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(m) if m.contains("does not exist")),
        "{err}"
    );
    assert!(store.load_schedule("s").unwrap().is_none());

    assert_eq!(
        put(&store, "s", Some(10), Some(0), CREATED, &[]).unwrap(),
        1
    );
    // Create-only again: it exists now.
    let err = put(&store, "s", Some(20), Some(0), CREATED, &[]).unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)));
    assert_eq!(
        put(&store, "s", Some(20), Some(1), CREATED, &[]).unwrap(),
        2
    );
    // A writer still holding revision 1 loses, and its history is not written either.
    let err = put(
        &store,
        "s",
        Some(30),
        Some(1),
        CREATED,
        &[entry(5, 6, json!("x"))],
    )
    .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(m) if m.contains("revision 2, not 1")),
        "{err}"
    );
    assert!(err.to_string().starts_with("conflict: "));
    let stored = store.load_schedule("s").unwrap().unwrap();
    assert_eq!((stored.revision, stored.wake_at), (2, Some(20)));
    assert_eq!(
        store.schedules_due(i64::MAX, 10).unwrap(),
        vec![(20, "s".into())]
    );
    assert!(
        store
            .schedule_history("s", i64::MIN, i64::MAX, 10, false)
            .unwrap()
            .is_empty()
    );
    // No expectation: create or replace, whatever the revision.
    assert_eq!(put(&store, "s", Some(30), None, CREATED, &[]).unwrap(), 3);
}

#[test]
fn the_wake_index_follows_each_write_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert_eq!(store.next_schedule_wake().unwrap(), None);
    assert!(store.schedules_due(i64::MAX, 10).unwrap().is_empty());

    put(&store, "b", Some(300), None, CREATED, &[]).unwrap();
    put(&store, "a", Some(300), None, CREATED, &[]).unwrap();
    put(&store, "c", Some(-5), None, CREATED, &[]).unwrap();
    put(&store, "paused", None, None, CREATED, &[]).unwrap();
    put(&store, "d", Some(100), None, CREATED, &[]).unwrap();
    assert_eq!(store.next_schedule_wake().unwrap(), Some(-5));
    assert_eq!(
        store.schedules_due(i64::MAX, 100).unwrap(),
        vec![
            (-5, "c".to_string()),
            (100, "d".to_string()),
            (300, "a".to_string()),
            (300, "b".to_string()),
        ]
    );
    // Up to and including `until_ms`, at most `limit`.
    assert_eq!(
        store.schedules_due(100, 100).unwrap(),
        vec![(-5, "c".to_string()), (100, "d".to_string())]
    );
    assert_eq!(store.schedules_due(99, 100).unwrap().len(), 1);
    assert_eq!(store.schedules_due(300, 3).unwrap().len(), 3);
    assert!(store.schedules_due(-6, 100).unwrap().is_empty());
    assert!(store.schedules_due(i64::MAX, 0).unwrap().is_empty());

    // Moving a wake time leaves no old entry behind; None takes it out.
    put(&store, "c", Some(500), None, CREATED, &[]).unwrap();
    put(&store, "d", None, None, CREATED, &[]).unwrap();
    put(&store, "paused", Some(200), None, CREATED, &[]).unwrap();
    put(&store, "a", Some(300), None, CREATED, &[]).unwrap();
    assert_eq!(
        store.schedules_due(i64::MAX, 100).unwrap(),
        vec![
            (200, "paused".to_string()),
            (300, "a".to_string()),
            (300, "b".to_string()),
            (500, "c".to_string()),
        ]
    );
    assert_eq!(store.next_schedule_wake().unwrap(), Some(200));
    let wake_keys = schedule_keys(&store)
        .into_iter()
        .filter(|k| k.starts_with("sw/"))
        .count();
    assert_eq!(wake_keys, 4);
}

#[test]
fn writes_applied_together_answer_each_and_a_conflict_stops_only_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    put(&store, "a", Some(100), None, CREATED, &[]).unwrap();
    put(&store, "b", Some(100), None, CREATED, &[]).unwrap();
    fn write<'x>(
        name: &'x str,
        def: &'x ScheduleDef,
        state: &'x ScheduleState,
        wake_at: Option<i64>,
        expected_revision: Option<u64>,
    ) -> ScheduleWrite<'x> {
        ScheduleWrite {
            name,
            def,
            state,
            wake_at,
            expected_revision,
            now_ms: CREATED + 1,
            history: &[],
            alerts: &[],
        }
    }
    let (da, db, dc) = (sched_def("a"), sched_def("b"), sched_def("c"));
    let (sa, sb, sc) = (initial_state(&da), initial_state(&db), initial_state(&dc));
    let history = [entry(50, CREATED + 1, json!({"type": "STARTED"}))];
    let (da, db, dc, sa, sb, sc) = (&da, &db, &dc, &sa, &sb, &sc);
    let mut first = write("a", da, sa, Some(200), Some(1));
    first.history = &history;
    let out = store
        .put_schedules(&[
            first,
            // A stale revision: refused, the others still go in.
            write("b", db, sb, Some(300), Some(7)),
            write("c", dc, sc, Some(400), Some(0)),
            // The same schedule again sees the write before it.
            write("a", da, sa, Some(500), Some(2)),
        ])
        .unwrap();
    assert_eq!(out[0].as_ref().unwrap(), &2);
    assert!(
        matches!(out[1], Err(StoreError::Conflict(_))),
        "{:?}",
        out[1]
    );
    assert_eq!(out[2].as_ref().unwrap(), &1);
    assert_eq!(out[3].as_ref().unwrap(), &3);
    assert_eq!(store.load_schedule("a").unwrap().unwrap().revision, 3);
    assert_eq!(store.load_schedule("b").unwrap().unwrap().revision, 1);
    assert_eq!(
        store.schedules_due(i64::MAX, 10).unwrap(),
        vec![
            (100, "b".to_string()),
            (400, "c".to_string()),
            (500, "a".to_string()),
        ]
    );
    let history = store
        .schedule_history("a", i64::MIN, i64::MAX, 10, false)
        .unwrap();
    assert_eq!(history.len(), 1);
    // The created schedule keeps its creation time.
    assert_eq!(
        store.load_schedule("c").unwrap().unwrap().created_ms,
        CREATED + 1
    );
}

#[test]
fn schedules_are_listed_by_name_in_pages() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    // Names that a naive prefix scan would confuse.
    let all = ["a", "a/b", "a\0", "ab", "b", "z"];
    for (i, name) in all.iter().rev().enumerate() {
        put(&store, name, Some(i as i64), None, CREATED, &[]).unwrap();
    }
    let mut want: Vec<&str> = all.to_vec();
    want.sort();
    assert_eq!(names(&store.list_schedules(None, 100).unwrap()), want);

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.list_schedules(after.as_deref(), 4).unwrap();
        assert!(page.len() <= 4);
        let Some(last) = page.last() else { break };
        after = Some(last.name.clone());
        seen.extend(page.into_iter().map(|s| s.name));
    }
    assert_eq!(seen, want);
    assert_eq!(
        names(&store.list_schedules(Some("a"), 2).unwrap()),
        ["a\0", "a/b"]
    );
    assert_eq!(
        names(&store.list_schedules(Some("aa"), 10).unwrap()),
        ["ab", "b", "z"]
    );
    assert!(store.list_schedules(Some("z"), 10).unwrap().is_empty());
    assert!(store.list_schedules(None, 0).unwrap().is_empty());
    // Every listed record is whole.
    let a = &store.list_schedules(None, 1).unwrap()[0];
    assert_eq!(a.def, sched_def("a"));
}

#[test]
fn delete_removes_the_record_its_wake_entry_and_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let history = [
        entry(1, 2, json!({"started": "wf-1"})),
        entry(1, 3, json!("x")),
    ];
    put(&store, "gone", Some(50), None, CREATED, &history).unwrap();
    put(&store, "gone", Some(60), None, CREATED, &history).unwrap();
    // Neighbours whose keys share a prefix with it stay.
    put(&store, "gone/2", Some(50), None, CREATED, &history).unwrap();
    put(&store, "gon", Some(40), None, CREATED, &history).unwrap();
    let before = schedule_keys(&store);
    assert!(store.delete_schedule("gone").unwrap());
    assert!(!store.delete_schedule("gone").unwrap());
    assert!(store.load_schedule("gone").unwrap().is_none());
    let after = schedule_keys(&store);
    let removed: Vec<&String> = before.iter().filter(|k| !after.contains(k)).collect();
    assert_eq!(removed.len(), 1 + 1 + 4, "{removed:?}");
    assert!(
        after
            .iter()
            .all(|k| !k.contains("gone/") || k.contains("gone/2"))
    );
    assert_eq!(
        store.schedules_due(i64::MAX, 10).unwrap(),
        vec![(40, "gon".to_string()), (50, "gone/2".to_string())]
    );
    assert!(
        store
            .schedule_history("gone", i64::MIN, i64::MAX, 10, false)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .schedule_history("gone/2", i64::MIN, i64::MAX, 10, false)
            .unwrap()
            .len(),
        2
    );
    // A deleted schedule starts again at revision 1.
    assert_eq!(put(&store, "gone", None, Some(0), CREATED, &[]).unwrap(), 1);
}

#[test]
fn history_is_ordered_by_slot_then_write_order_and_read_by_range() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    put(
        &store,
        "s",
        Some(1),
        None,
        CREATED,
        &[
            entry(200, 10, json!({"kind": "started", "workflowId": "s-200"})),
            entry(100, 11, json!({"kind": "missed"})),
            entry(200, 12, json!({"kind": "alert"})),
            entry(-50, 13, json!({"kind": "buffered"})),
        ],
    )
    .unwrap();
    put(
        &store,
        "s",
        Some(2),
        None,
        CREATED,
        &[
            entry(100, 20, json!({"kind": "skipped"})),
            entry(300, 21, json!(null)),
        ],
    )
    .unwrap();
    put(
        &store,
        "t",
        Some(2),
        None,
        CREATED,
        &[entry(150, 1, json!("t"))],
    )
    .unwrap();

    let recorded = |list: Vec<ScheduleHistoryEntry>| -> Vec<i64> {
        list.iter().map(|e| e.recorded_ms).collect()
    };
    let all = store
        .schedule_history("s", i64::MIN, i64::MAX, 100, false)
        .unwrap();
    assert_eq!(recorded(all.clone()), [13, 11, 20, 10, 12, 21]);
    assert_eq!(
        all.iter().map(|e| e.slot_ms).collect::<Vec<_>>(),
        [-50, 100, 100, 200, 200, 300]
    );
    assert!(
        all.windows(2)
            .all(|w| (w[0].slot_ms, w[0].seq) < (w[1].slot_ms, w[1].seq))
    );
    assert_eq!(
        all[3].event,
        json!({"kind": "started", "workflowId": "s-200"})
    );
    assert_eq!(
        recorded(
            store
                .schedule_history("s", i64::MIN, i64::MAX, 100, true)
                .unwrap()
        ),
        [21, 12, 10, 20, 11, 13]
    );
    // Inclusive range, limit, from either end.
    assert_eq!(
        recorded(store.schedule_history("s", 100, 200, 100, false).unwrap()),
        [11, 20, 10, 12]
    );
    assert_eq!(
        recorded(store.schedule_history("s", 100, 200, 3, false).unwrap()),
        [11, 20, 10]
    );
    assert_eq!(
        recorded(store.schedule_history("s", 100, 200, 3, true).unwrap()),
        [12, 10, 20]
    );
    assert_eq!(
        recorded(store.schedule_history("s", 101, 199, 10, false).unwrap()),
        [] as [i64; 0]
    );
    assert!(
        store
            .schedule_history("s", 300, 100, 10, false)
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .schedule_history("s", i64::MIN, i64::MAX, 0, true)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        recorded(store.schedule_history("t", 0, 1000, 10, false).unwrap()),
        [1]
    );
    assert!(
        store
            .schedule_history("u", i64::MIN, i64::MAX, 10, false)
            .unwrap()
            .is_empty()
    );

    // Trimming keeps the newest entries (by slot, then write order).
    assert_eq!(store.trim_schedule_history("s", 10).unwrap(), 0);
    assert_eq!(store.trim_schedule_history("s", 4).unwrap(), 2);
    assert_eq!(
        recorded(
            store
                .schedule_history("s", i64::MIN, i64::MAX, 100, false)
                .unwrap()
        ),
        [20, 10, 12, 21]
    );
    assert_eq!(store.trim_schedule_history("s", 0).unwrap(), 4);
    assert!(
        store
            .schedule_history("s", i64::MIN, i64::MAX, 100, false)
            .unwrap()
            .is_empty()
    );
    // The other schedule's history and the record itself stay.
    assert_eq!(
        store
            .schedule_history("t", 0, 1000, 10, false)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(store.load_schedule("s").unwrap().unwrap().revision, 2);
}

#[test]
fn schedules_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let (stored, history) = {
        let store = open(dir.path());
        put(
            &store,
            "a",
            Some(70),
            None,
            CREATED,
            &[entry(5, 6, json!({"k": 1}))],
        )
        .unwrap();
        put(&store, "b", None, None, CREATED, &[]).unwrap();
        put(
            &store,
            "a",
            Some(80),
            Some(1),
            CREATED + 1,
            &[entry(5, 7, json!("again"))],
        )
        .unwrap();
        store.flush().unwrap();
        (
            store.list_schedules(None, 10).unwrap(),
            store
                .schedule_history("a", i64::MIN, i64::MAX, 10, false)
                .unwrap(),
        )
    };
    let store = open(dir.path());
    assert_eq!(store.list_schedules(None, 10).unwrap(), stored);
    assert_eq!(
        store
            .schedule_history("a", i64::MIN, i64::MAX, 10, false)
            .unwrap(),
        history
    );
    assert_eq!(
        store.schedules_due(i64::MAX, 10).unwrap(),
        vec![(80, "a".into())]
    );
    // Sequences keep growing across reopening: a new entry of the same slot comes last.
    put(
        &store,
        "a",
        Some(80),
        Some(2),
        CREATED + 2,
        &[entry(5, 8, json!("third"))],
    )
    .unwrap();
    let after = store.schedule_history("a", 5, 5, 10, false).unwrap();
    assert_eq!(
        after.iter().map(|e| e.recorded_ms).collect::<Vec<_>>(),
        [6, 7, 8]
    );
}

#[test]
fn a_corrupt_schedule_record_names_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    put(&store, "bad", Some(1), None, CREATED, &[]).unwrap();
    store
        .schedules
        .insert(
            crate::keys::Key::new(crate::keys::SCHEDULE)
                .str("bad")
                .into_vec(),
            &b"{oops"[..],
        )
        .unwrap();
    let err = store.load_schedule("bad").unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt { key, .. } if key == "schedules/sr/bad"),
        "{err}"
    );
    assert!(put(&store, "bad", Some(1), None, CREATED, &[]).is_err());
}

#[test]
fn racing_writers_with_expected_revisions_never_lose_a_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    put(&store, "raced", Some(0), Some(0), CREATED, &[]).unwrap();
    const THREADS: i64 = 4;
    const WRITES: i64 = 25;
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let store = store.clone();
            scope.spawn(move || {
                let mut done = 0;
                while done < WRITES {
                    // Read, then write back with the revision read: a lost race retries.
                    let seen = store.load_schedule("raced").unwrap().unwrap();
                    let wake = t * 1000 + done;
                    let history = [entry(wake, t, json!({"thread": t}))];
                    match put(
                        &store,
                        "raced",
                        Some(wake),
                        Some(seen.revision),
                        CREATED,
                        &history,
                    ) {
                        Ok(rev) => {
                            assert!(rev > seen.revision);
                            done += 1;
                        }
                        Err(StoreError::Conflict(_)) => {}
                        Err(e) => panic!("{e}"),
                    }
                }
            });
        }
    });
    let stored = store.load_schedule("raced").unwrap().unwrap();
    assert_eq!(stored.revision, 1 + (THREADS * WRITES) as u64);
    // Exactly one wake entry, the last one written.
    assert_eq!(
        store.schedules_due(i64::MAX, 100).unwrap(),
        vec![(stored.wake_at.unwrap(), "raced".to_string())]
    );
    let history = store
        .schedule_history("raced", i64::MIN, i64::MAX, usize::MAX, false)
        .unwrap();
    assert_eq!(history.len() as i64, THREADS * WRITES);
}

/// Steps of the model test: put (wake time or none), delete, trim history, reopen.
#[derive(Debug, Clone)]
enum SchedOp {
    Put { name: usize, wake_at: Option<i64> },
    Delete { name: usize },
    Trim { name: usize, keep: usize },
    Reopen,
}

fn sched_op() -> impl Strategy<Value = SchedOp> {
    prop_oneof![
        6 => (0..6usize, proptest::option::of(-3..6i64))
            .prop_map(|(name, wake_at)| SchedOp::Put { name, wake_at }),
        2 => (0..6usize).prop_map(|name| SchedOp::Delete { name }),
        1 => (0..6usize, 0..4usize).prop_map(|(name, keep)| SchedOp::Trim { name, keep }),
        1 => Just(SchedOp::Reopen),
    ]
}

fn sched_name(n: usize) -> String {
    // Names that share prefixes, to catch keys that run into each other.
    ["s", "s/", "s0", "s\0", "t", "st"][n].to_string()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn schedules_match_a_model_across_reopening(ops in proptest::collection::vec(sched_op(), 1..40), until in -4..7i64) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        // name -> (wake time, revision, history entries)
        let mut model: BTreeMap<String, (Option<i64>, u64, usize)> = BTreeMap::new();
        for op in &ops {
            match op {
                SchedOp::Put { name, wake_at } => {
                    let name = sched_name(*name);
                    let rev = model.get(&name).map_or(0, |m| m.1);
                    let got = put(&store, &name, *wake_at, Some(rev), CREATED, &[entry(name.len() as i64, 0, json!(null))]).unwrap();
                    prop_assert_eq!(got, rev + 1);
                    let history = model.get(&name).map_or(0, |m| m.2) + 1;
                    model.insert(name, (*wake_at, rev + 1, history));
                }
                SchedOp::Delete { name } => {
                    let name = sched_name(*name);
                    prop_assert_eq!(store.delete_schedule(&name).unwrap(), model.remove(&name).is_some());
                }
                SchedOp::Trim { name, keep } => {
                    let name = sched_name(*name);
                    let had = model.get(&name).map_or(0, |m| m.2);
                    prop_assert_eq!(store.trim_schedule_history(&name, *keep).unwrap(), had.saturating_sub(*keep));
                    if let Some(m) = model.get_mut(&name) {
                        m.2 = m.2.min(*keep);
                    }
                }
                SchedOp::Reopen => {
                    store.flush().unwrap();
                    drop(store);
                    store = open(dir.path());
                }
            }
            let mut want: Vec<(i64, String)> = model
                .iter()
                .filter_map(|(n, (w, _, _))| w.map(|w| (w, n.clone())))
                .collect();
            want.sort();
            prop_assert_eq!(store.next_schedule_wake().unwrap(), want.first().map(|w| w.0));
            prop_assert_eq!(&store.schedules_due(i64::MAX, usize::MAX).unwrap(), &want);
            let due: Vec<(i64, String)> = want.iter().filter(|w| w.0 <= until).cloned().collect();
            prop_assert_eq!(&store.schedules_due(until, usize::MAX).unwrap(), &due);
            prop_assert_eq!(&store.schedules_due(until, 2).unwrap()[..], &due[..due.len().min(2)]);
            let listed: BTreeSet<String> = store
                .list_schedules(None, usize::MAX)
                .unwrap()
                .into_iter()
                .map(|s| s.name)
                .collect();
            prop_assert_eq!(listed, model.keys().cloned().collect::<BTreeSet<_>>());
            for (name, (wake, rev, history)) in &model {
                let s = store.load_schedule(name).unwrap().unwrap();
                prop_assert_eq!((s.wake_at, s.revision), (*wake, *rev));
                prop_assert_eq!(store.schedule_history(name, i64::MIN, i64::MAX, usize::MAX, false).unwrap().len(), *history);
            }
        }
    }
}

/// Rough figures with 100,000 schedules: writes, due reads, pages, reopening. Prints
/// timings; asserts only correctness. Run with
/// `cargo test -p baton-store -- --ignored --nocapture schedules_at_scale`.
#[test]
#[ignore = "slow: 100,000 schedules"]
fn schedules_at_scale() {
    const N: usize = 100_000;
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let def = sched_def("bulk");
    let state = initial_state(&def);
    let started = Instant::now();
    for i in 0..N {
        let name = format!("schedule-{i:06}");
        store
            .put_schedule(&ScheduleWrite {
                name: &name,
                def: &def,
                state: &state,
                wake_at: Some(CREATED + ((i * 7919) % N) as i64 * 1000),
                expected_revision: None,
                now_ms: CREATED,
                history: &[entry(CREATED, CREATED, json!({"kind": "started"}))],
                alerts: &[],
            })
            .unwrap();
    }
    store.flush().unwrap();
    println!("{N} puts and a flush: {:?}", started.elapsed());

    let t = Instant::now();
    let due = store.schedules_due(CREATED + 999_000, 1000).unwrap();
    println!("1000 due of {N}: {:?}", t.elapsed());
    assert_eq!(due.len(), 1000);
    let t = Instant::now();
    assert_eq!(store.next_schedule_wake().unwrap(), Some(CREATED));
    println!("next wake: {:?}", t.elapsed());

    let t = Instant::now();
    let mut after: Option<String> = None;
    let mut n = 0;
    loop {
        let page = store.list_schedules(after.as_deref(), 1000).unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.name.clone());
        n += page.len();
    }
    assert_eq!(n, N);
    println!("listing {N} in pages of 1000: {:?}", t.elapsed());

    let t = Instant::now();
    for (wake, name) in &due {
        store
            .put_schedule(&ScheduleWrite {
                name,
                def: &def,
                state: &state,
                wake_at: Some(wake + 86_400_000),
                expected_revision: Some(1),
                now_ms: CREATED,
                history: &[entry(*wake, CREATED, json!({"kind": "started"}))],
                alerts: &[],
            })
            .unwrap();
    }
    store.flush().unwrap();
    println!("1000 rewrites with history and a flush: {:?}", t.elapsed());
    drop(store);
    let t = Instant::now();
    let store = open(dir.path());
    println!("reopening: {:?}", t.elapsed());
    assert_eq!(
        store
            .schedules_due(CREATED + 999_000, usize::MAX)
            .unwrap()
            .len(),
        0
    );
}

fn alert(schedule: &str, n: u64) -> ScheduleAlert {
    ScheduleAlert {
        schedule: schedule.to_string(),
        url: "http://127.0.0.1:9/hook".to_string(),
        headers: BTreeMap::from([("Authorization".to_string(), "Bearer x".to_string())]),
        body: json!({"kind": "MISSED", "n": n}),
        attempts: 0,
    }
}

#[test]
fn alerts_queue_with_the_write_that_raised_them_and_settle_one_attempt_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let def = sched_def("nightly");
    let state = initial_state(&def);
    let alerts = [alert("nightly", 1), alert("nightly", 2)];
    let create = |store: &SledStore, alerts: &[ScheduleAlert]| {
        store
            .put_schedule(&ScheduleWrite {
                name: "nightly",
                def: &def,
                state: &state,
                wake_at: None,
                expected_revision: Some(0),
                now_ms: CREATED,
                history: &[],
                alerts,
            })
            .unwrap()
    };
    create(&store, &alerts);
    assert_eq!(store.next_alert_due().unwrap(), Some(CREATED));
    assert!(store.alerts_due(CREATED - 1, 10).unwrap().is_empty());
    let due = store.alerts_due(CREATED, 10).unwrap();
    assert_eq!(due.len(), 2);
    assert_eq!(due[0].alert, alerts[0]);
    assert_eq!(due[1].alert, alerts[1]);
    assert!(due[0].id < due[1].id, "ids follow the order of the write");
    assert_eq!(store.alerts_due(CREATED, 1).unwrap().len(), 1, "limit");

    // A failed attempt queues it again later, with what the caller says, and a record.
    let mut again = due[0].clone();
    again.alert.attempts = 1;
    let note = entry(
        CREATED,
        CREATED + 5,
        json!({"type": "ALERT_ATTEMPT_FAILED"}),
    );
    store
        .settle_alert(&again, Some(CREATED + 1_000), Some(&note))
        .unwrap();
    let due = store.alerts_due(CREATED + 1_000, 10).unwrap();
    assert_eq!(due.len(), 2);
    assert_eq!(due[0].alert, alerts[1]);
    assert_eq!((due[1].due_ms, due[1].id), (CREATED + 1_000, again.id));
    assert_eq!(due[1].alert.attempts, 1);
    assert_eq!(store.next_alert_due().unwrap(), Some(CREATED));

    // Delivered: gone, with its record.
    let done = entry(CREATED, CREATED + 9, json!({"type": "ALERT_DELIVERED"}));
    store.settle_alert(&due[0], None, Some(&done)).unwrap();
    let history = store
        .schedule_history("nightly", i64::MIN, i64::MAX, 10, false)
        .unwrap();
    let types: Vec<&Value> = history.iter().map(|h| &h.event["type"]).collect();
    assert_eq!(
        types,
        [&json!("ALERT_ATTEMPT_FAILED"), &json!("ALERT_DELIVERED")]
    );

    // An alert outlives its schedule's deletion; its record then has nowhere to go.
    assert!(store.delete_schedule("nightly").unwrap());
    let left = store.alerts_due(i64::MAX, 10).unwrap();
    assert_eq!(left.len(), 1);
    store.settle_alert(&left[0], None, Some(&done)).unwrap();
    assert_eq!(store.next_alert_due().unwrap(), None);
    assert!(
        schedule_keys(&store).is_empty(),
        "{:?}",
        schedule_keys(&store)
    );

    // The queue is durable.
    create(&store, &alerts[..1]);
    store.flush().unwrap();
    drop(store);
    let store = open(dir.path());
    let due = store.alerts_due(i64::MAX, 10).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].alert, alerts[0]);
}
