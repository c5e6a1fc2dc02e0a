use std::collections::BTreeMap;

use baton_core::query::{
    Entity, Expr, Field, FieldType, Op, Predicate, Query, SortSpec, TaskSummary, Value,
    WorkflowSummary,
};
use baton_core::{TaskStatus, WorkflowStatus};
use proptest::prelude::*;
use serde_json::json;

use super::*;

const NAMES: [&str; 3] = ["order", "invoice", "order_v2"];
const REFS: [&str; 3] = ["charge", "ship", "notify"];

fn workflow(
    i: usize,
    name: &str,
    status: WorkflowStatus,
    start: i64,
    end: Option<i64>,
) -> WorkflowSummary {
    WorkflowSummary {
        workflow_type: name.to_string(),
        version: (i % 3) as i32 + 1,
        workflow_id: format!("wf-{i:04}"),
        correlation_id: (!i.is_multiple_of(4)).then(|| format!("c{}", i % 5)),
        start_time: start,
        update_time: end.unwrap_or(start) + 1,
        end_time: end,
        status,
        input: json!({"customer": format!("cust{}", i % 7), "amount": i}),
        output: json!({}),
        reason_for_incompletion: (status == WorkflowStatus::Failed)
            .then(|| format!("card declined {}", i % 2)),
        execution_time: end.map(|e| e - start),
        event: None,
        failed_reference_task_names: if status == WorkflowStatus::Failed {
            vec![REFS[i % 3].to_string(), REFS[(i + 1) % 3].to_string()]
        } else {
            vec![]
        },
        failed_task_names: vec![],
        priority: (i % 2) as i32,
        created_by: None,
        task_to_domain: BTreeMap::new(),
        idempotency_key: i.is_multiple_of(3).then(|| format!("k{i}")),
        input_size: 10,
        output_size: 2,
    }
}

fn task(
    w: &WorkflowSummary,
    j: usize,
    status: TaskStatus,
    sched: i64,
    start: Option<i64>,
) -> TaskSummary {
    TaskSummary {
        workflow_id: w.workflow_id.clone(),
        workflow_type: w.workflow_type.clone(),
        correlation_id: w.correlation_id.clone(),
        scheduled_time: sched,
        start_time: start,
        update_time: sched + 5,
        end_time: start.map(|s| s + 3),
        status,
        reason_for_incompletion: None,
        execution_time: start.map(|_| 3),
        queue_wait_time: start.map(|s| s - sched),
        task_def_name: REFS[j % 3].to_string(),
        task_type: REFS[j % 3].to_string(),
        input: json!({"n": j}),
        output: json!({"ok": true}),
        task_id: format!("{}-t{j}", w.workflow_id),
        workflow_priority: w.priority,
        domain: None,
    }
}

/// Random records: workflows with a few tasks each.
fn corpus() -> impl Strategy<Value = Vec<(WorkflowSummary, Vec<TaskSummary>)>> {
    prop::collection::vec(
        (
            0usize..3,
            0usize..WorkflowStatus::ALL.len(),
            0i64..50,
            prop::option::of(0i64..20),
            prop::collection::vec(
                (
                    0usize..TaskStatus::ALL.len(),
                    0i64..50,
                    prop::option::of(0i64..9),
                ),
                0..3,
            ),
        ),
        0..40,
    )
    .prop_map(|rows| {
        rows.into_iter()
            .enumerate()
            .map(|(i, (name, status, start, dur, tasks))| {
                let w = workflow(
                    i,
                    NAMES[name],
                    WorkflowStatus::ALL[status],
                    start * 1000,
                    dur.map(|d| start * 1000 + d * 100),
                );
                let ts = tasks
                    .into_iter()
                    .enumerate()
                    .map(|(j, (st, sched, wait))| {
                        task(
                            &w,
                            j,
                            TaskStatus::ALL[st],
                            sched * 1000,
                            wait.map(|x| sched * 1000 + x),
                        )
                    })
                    .collect();
                (w, ts)
            })
            .collect()
    })
}

fn value_for(entity: Entity, field: Field) -> BoxedStrategy<Value> {
    match field.field_type(entity) {
        FieldType::Int | FieldType::Time => prop_oneof![
            (0i64..4).prop_map(Value::Int),
            (0i64..50).prop_map(|x| Value::Int(x * 1000)),
            (0i64..60_000).prop_map(Value::Int),
        ]
        .boxed(),
        FieldType::WorkflowStatus => prop::sample::select(WorkflowStatus::ALL.to_vec())
            .prop_map(|s| Value::Str(s.as_str().to_string()))
            .boxed(),
        FieldType::TaskStatus => prop::sample::select(TaskStatus::ALL.to_vec())
            .prop_map(|s| Value::Str(s.as_str().to_string()))
            .boxed(),
        FieldType::Keyword => prop::sample::select(vec![
            "order",
            "invoice",
            "order_v2",
            "c1",
            "c2",
            "wf-0003",
            "charge",
            "ship",
            "k0",
            "card declined 1",
            "wf-0001-t0",
            "o",
        ])
        .prop_map(|s| Value::Str(s.to_string()))
        .boxed(),
    }
}

fn predicate(entity: Entity) -> BoxedStrategy<Expr> {
    prop::sample::select(Field::all(entity).to_vec())
        .prop_flat_map(move |field| {
            let v = value_for(entity, field);
            let numeric = matches!(field.field_type(entity), FieldType::Int | FieldType::Time);
            let op = if numeric {
                prop_oneof![
                    v.clone().prop_map(Op::Eq),
                    v.clone().prop_map(Op::Ne),
                    v.clone().prop_map(Op::Lt),
                    v.clone().prop_map(Op::Gt),
                    prop::collection::vec(v.clone(), 1..3).prop_map(Op::In),
                    (v.clone(), v.clone()).prop_map(|(a, b)| Op::Between(a, b)),
                    Just(Op::IsNull),
                    Just(Op::IsNotNull),
                ]
                .boxed()
            } else {
                prop_oneof![
                    v.clone().prop_map(Op::Eq),
                    v.clone().prop_map(Op::Ne),
                    prop::collection::vec(v.clone(), 1..3).prop_map(Op::In),
                    Just(Op::IsNull),
                    Just(Op::IsNotNull),
                    prop::sample::select(vec!["o", "wf-000", "c", "card", "S"])
                        .prop_map(|p| Op::StartsWith(p.to_string())),
                ]
                .boxed()
            };
            op.prop_map(move |op| Expr::Pred(Predicate { field, op }))
        })
        .boxed()
}

fn expr(entity: Entity) -> impl Strategy<Value = Expr> {
    predicate(entity).prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
            prop::collection::vec(inner, 2..4).prop_map(Expr::Or),
        ]
    })
}

fn sort(entity: Entity) -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        (
            prop::sample::select(Field::all(entity).to_vec()),
            any::<bool>(),
        ),
        0..3,
    )
    .prop_map(|keys| {
        keys.into_iter()
            .map(|(f, desc)| format!("{}:{}", f.name(), if desc { "DESC" } else { "ASC" }))
            .collect()
    })
}

fn indexed(records: &[(WorkflowSummary, Vec<TaskSummary>)]) -> SearchIndex {
    let (ix, opened) = SearchIndex::open(None, "test").unwrap();
    assert_eq!(opened, Opened::MustRebuild);
    for (w, ts) in records {
        ix.put(w, ts).unwrap();
    }
    ix.commit().unwrap();
    ix
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Random queries and sorts over random workflows: the index answers with the same ids
    /// in the same order as a straight filter and sort over the same records.
    #[test]
    fn workflow_search_agrees_with_a_brute_force_filter(
        records in corpus(),
        e in expr(Entity::Workflow),
        keys in sort(Entity::Workflow),
        start in 0usize..5,
        size in 1usize..30,
    ) {
        let ix = indexed(&records);
        let parsed = Query::parse(Entity::Workflow, &e.to_string());
        prop_assume!(parsed.is_ok(), "not a valid query: {}", e);
        let query = parsed.unwrap();
        let spec = SortSpec::parse(Entity::Workflow, &keys).unwrap();
        let mut want: Vec<&WorkflowSummary> = records.iter().map(|(w, _)| w).filter(|w| query.matches(*w)).collect();
        want.sort_by(|a, b| spec.compare(*a, *b));
        let total = want.len() as u64;
        let want: Vec<String> = want.into_iter().skip(start).take(size).map(|w| w.workflow_id.clone()).collect();
        let got = ix.search_workflows(&SearchRequest { query, free_text: String::new(), sort: spec, start, size }).unwrap();
        prop_assert_eq!(got.total_hits, total, "query {}", e);
        let ids: Vec<String> = got.results.iter().map(|w| w.workflow_id.clone()).collect();
        prop_assert_eq!(ids, want, "query {} sort {:?}", e, keys);
    }

    /// The same over task instances.
    #[test]
    fn task_search_agrees_with_a_brute_force_filter(
        records in corpus(),
        e in expr(Entity::Task),
        keys in sort(Entity::Task),
        start in 0usize..5,
        size in 1usize..30,
    ) {
        let ix = indexed(&records);
        let parsed = Query::parse(Entity::Task, &e.to_string());
        prop_assume!(parsed.is_ok(), "not a valid query: {}", e);
        let query = parsed.unwrap();
        let spec = SortSpec::parse(Entity::Task, &keys).unwrap();
        let mut want: Vec<&TaskSummary> = records.iter().flat_map(|(_, ts)| ts).filter(|t| query.matches(*t)).collect();
        want.sort_by(|a, b| spec.compare(*a, *b));
        let total = want.len() as u64;
        let want: Vec<String> = want.into_iter().skip(start).take(size).map(|t| t.task_id.clone()).collect();
        let got = ix.search_tasks(&SearchRequest { query, free_text: String::new(), sort: spec, start, size }).unwrap();
        prop_assert_eq!(got.total_hits, total, "query {}", e);
        let ids: Vec<String> = got.results.iter().map(|t| t.task_id.clone()).collect();
        prop_assert_eq!(ids, want, "query {} sort {:?}", e, keys);
    }
}

fn req(entity: Entity, query: &str, free: &str) -> SearchRequest {
    SearchRequest {
        query: Query::parse(entity, query).unwrap(),
        free_text: free.to_string(),
        sort: SortSpec::parse(entity, &["workflowId:ASC"]).unwrap(),
        start: 0,
        size: 100,
    }
}

fn ids(h: &Hits<WorkflowSummary>) -> Vec<&str> {
    h.results.iter().map(|w| w.workflow_id.as_str()).collect()
}

#[test]
fn free_text_finds_ids_inputs_outputs_and_reasons() {
    let mut a = workflow(1, "order", WorkflowStatus::Failed, 1000, Some(2000));
    a.input = json!({"customer": "ada lovelace", "sku": "X-42"});
    a.reason_for_incompletion = Some("payment gateway timed out".into());
    let mut b = workflow(2, "order", WorkflowStatus::Completed, 1000, Some(2000));
    b.output = json!({"receipt": "R-9931"});
    let ix = indexed(&[(a, vec![]), (b, vec![])]);
    let w = |free: &str| {
        ix.search_workflows(&req(Entity::Workflow, "", free))
            .unwrap()
    };
    assert_eq!(ids(&w("lovelace")), vec!["wf-0001"]);
    assert_eq!(ids(&w("gateway")), vec!["wf-0001"]);
    assert_eq!(ids(&w("R-9931")), vec!["wf-0002"]);
    assert_eq!(ids(&w("wf-0002")), vec!["wf-0002"]);
    assert_eq!(ids(&w("*")), vec!["wf-0001", "wf-0002"]);
    assert_eq!(ids(&w("")), vec!["wf-0001", "wf-0002"]);
    assert!(w("nobody").results.is_empty());
    // Free text and the query narrow together.
    let both = ix
        .search_workflows(&req(Entity::Workflow, "status = COMPLETED", "lovelace"))
        .unwrap();
    assert_eq!(both.total_hits, 0);
    // A malformed free text names itself.
    let err = ix
        .search_workflows(&req(Entity::Workflow, "", "customer:("))
        .unwrap_err();
    assert!(err.to_string().contains("freeText"), "{err}");
}

#[test]
fn pages_beyond_the_limits_are_refused() {
    let ix = indexed(&[]);
    let mut r = req(Entity::Workflow, "", "");
    r.size = MAX_PAGE_SIZE + 1;
    let err = ix.search_workflows(&r).unwrap_err();
    assert!(err.to_string().contains("size 5001"), "{err}");
    r.size = 10;
    r.start = MAX_START + 1;
    let err = ix.search_workflows(&r).unwrap_err();
    assert!(err.to_string().contains("narrow the query"), "{err}");
    r.start = 0;
    r.size = 0;
    assert_eq!(ix.search_workflows(&r).unwrap().total_hits, 0);
}

#[test]
fn put_replaces_and_delete_removes_an_execution_with_its_tasks() {
    let w = workflow(1, "order", WorkflowStatus::Running, 1000, None);
    let t = task(&w, 0, TaskStatus::Scheduled, 1000, None);
    let ix = indexed(&[(w.clone(), vec![t.clone()])]);
    let mut done = w.clone();
    done.status = WorkflowStatus::Completed;
    let mut t2 = t.clone();
    t2.status = TaskStatus::Completed;
    ix.put(&done, &[t2]).unwrap();
    ix.commit().unwrap();
    let all = ix.search_workflows(&req(Entity::Workflow, "", "")).unwrap();
    assert_eq!(all.total_hits, 1);
    assert_eq!(all.results[0].status, WorkflowStatus::Completed);
    let tasks = ix
        .search_tasks(&req(Entity::Task, "status = COMPLETED", ""))
        .unwrap();
    assert_eq!(tasks.total_hits, 1);
    ix.delete(&w.workflow_id);
    ix.commit().unwrap();
    assert_eq!(ix.workflow_count().unwrap(), 0);
    assert_eq!(
        ix.search_tasks(&req(Entity::Task, "", ""))
            .unwrap()
            .total_hits,
        0
    );
}

#[test]
fn an_index_is_reused_only_by_its_own_store_and_only_when_complete() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("search");
    let w = workflow(1, "order", WorkflowStatus::Running, 1000, None);
    {
        let (ix, opened) = SearchIndex::open(Some(&path), "store-a").unwrap();
        assert_eq!(opened, Opened::MustRebuild);
        ix.put(&w, &[]).unwrap();
        // A rebuild cut short: its commits do not make the index usable.
        ix.commit_rebuilding().unwrap();
    }
    {
        let (ix, opened) = SearchIndex::open(Some(&path), "store-a").unwrap();
        assert_eq!(opened, Opened::MustRebuild);
        assert_eq!(
            ix.workflow_count().unwrap(),
            0,
            "a half-built index is wiped"
        );
        ix.put(&w, &[]).unwrap();
        ix.commit().unwrap();
    }
    {
        let (ix, opened) = SearchIndex::open(Some(&path), "store-a").unwrap();
        assert_eq!(opened, Opened::Current);
        assert_eq!(ix.workflow_count().unwrap(), 1);
    }
    {
        let (ix, opened) = SearchIndex::open(Some(&path), "store-b").unwrap();
        assert_eq!(
            opened,
            Opened::MustRebuild,
            "another store's index is not used"
        );
        assert_eq!(ix.workflow_count().unwrap(), 0);
    }
    // A damaged index is rebuilt, not trusted.
    {
        let (ix, _) = SearchIndex::open(Some(&path), "store-c").unwrap();
        ix.put(&w, &[]).unwrap();
        ix.commit().unwrap();
    }
    std::fs::write(path.join("meta.json"), b"{ not json").unwrap();
    let (ix, opened) = SearchIndex::open(Some(&path), "store-c").unwrap();
    assert_eq!(opened, Opened::MustRebuild);
    assert_eq!(ix.workflow_count().unwrap(), 0);
}
