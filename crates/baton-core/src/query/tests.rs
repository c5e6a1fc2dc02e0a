use std::cmp::Ordering;
use std::collections::HashMap;

use proptest::prelude::*;
use serde_json::json;

use super::*;

// ---------------------------------------------------------------------------------------
// Helpers

/// A record made of whatever fields a test gives it; the rest are null.
#[derive(Debug, Clone, Default)]
struct Rec(HashMap<Field, FieldValue>);

impl Rec {
    fn with(mut self, f: Field, v: FieldValue) -> Self {
        self.0.insert(f, v);
        self
    }
}

impl Record for Rec {
    fn field(&self, field: Field) -> FieldValue {
        self.0.get(&field).cloned().unwrap_or(FieldValue::Null)
    }
}

fn s(x: &str) -> FieldValue {
    FieldValue::Str(x.to_string())
}

fn vs(x: &str) -> Value {
    Value::Str(x.to_string())
}

fn wf(text: &str) -> Query {
    Query::parse(Entity::Workflow, text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn tq(text: &str) -> Query {
    Query::parse(Entity::Task, text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn werr(text: &str) -> QueryError {
    match Query::parse(Entity::Workflow, text) {
        Ok(q) => panic!("{text} parsed as {q:?}"),
        Err(e) => e,
    }
}

fn pred(field: Field, op: Op) -> Expr {
    Expr::Pred(Predicate { field, op })
}

/// A workflow record with the usual fields.
fn sample() -> Rec {
    Rec::default()
        .with(Field::WorkflowType, s("order"))
        .with(Field::WorkflowId, s("w1"))
        .with(Field::Status, s("FAILED"))
        .with(Field::Version, FieldValue::Int(2))
        .with(Field::StartTime, FieldValue::Int(1_700_000_000_000))
        .with(Field::CorrelationId, s("c-42"))
        .with(
            Field::FailedReferenceTaskNames,
            FieldValue::Many(vec!["pay".into(), "ship".into()]),
        )
}

// ---------------------------------------------------------------------------------------
// Fields

#[test]
fn fields_per_entity() {
    assert_eq!(Field::all(Entity::Workflow).len(), 13);
    assert_eq!(Field::all(Entity::Task).len(), 14);
    for e in [Entity::Workflow, Entity::Task] {
        for &f in Field::all(e) {
            assert_eq!(Field::parse(e, f.name()), Some(f));
        }
    }
    assert_eq!(Field::WorkflowType.name(), "workflowType");
    assert_eq!(Field::parse(Entity::Workflow, "taskId"), None);
    assert_eq!(Field::parse(Entity::Task, "version"), None);
    assert_eq!(
        Field::parse(Entity::Task, "queueWaitTime"),
        Some(Field::QueueWaitTime)
    );
    assert_eq!(
        Field::Status.field_type(Entity::Workflow),
        FieldType::WorkflowStatus
    );
    assert_eq!(
        Field::Status.field_type(Entity::Task),
        FieldType::TaskStatus
    );
    assert_eq!(Field::StartTime.field_type(Entity::Task), FieldType::Time);
    assert_eq!(Field::Version.field_type(Entity::Workflow), FieldType::Int);
}

// ---------------------------------------------------------------------------------------
// Operators

#[test]
fn eq_and_ne() {
    let r = sample();
    assert!(wf("workflowType = 'order'").matches(&r));
    assert!(!wf("workflowType = 'orders'").matches(&r));
    assert!(wf("workflowType != 'orders'").matches(&r));
    assert!(!wf("workflowType != 'order'").matches(&r));
    assert!(wf("version = 2").matches(&r));
    assert!(!wf("version = 3").matches(&r));
    // Null: = false, != true.
    assert!(!wf("event = 'x'").matches(&r));
    assert!(wf("event != 'x'").matches(&r));
}

#[test]
fn lt_gt_between_numeric() {
    let r = sample();
    assert!(wf("version > 1").matches(&r));
    assert!(!wf("version > 2").matches(&r));
    assert!(wf("version < 3").matches(&r));
    assert!(!wf("version < 2").matches(&r));
    // Numeric, not textual: 10 > 2.
    assert!(wf("version < 10").matches(&r));
    assert!(wf("version BETWEEN 2 AND 2").matches(&r));
    assert!(wf("version BETWEEN 1 AND 2").matches(&r));
    assert!(wf("version BETWEEN 2 AND 5").matches(&r));
    assert!(!wf("version BETWEEN 3 AND 5").matches(&r));
    assert!(!wf("version BETWEEN 5 AND 1").matches(&r));
    assert!(wf("startTime > 1699999999999").matches(&r));
    assert!(!wf("endTime > 0").matches(&r));
    assert!(!wf("endTime < 0").matches(&r));
    assert!(!wf("endTime BETWEEN -10 AND 10").matches(&r));
    assert_eq!(
        wf("version > -5").root(),
        Some(&pred(Field::Version, Op::Gt(Value::Int(-5))))
    );
}

#[test]
fn in_list() {
    let r = sample();
    let q = wf("status IN (RUNNING, FAILED)");
    assert_eq!(
        q.root(),
        Some(&pred(
            Field::Status,
            Op::In(vec![vs("RUNNING"), vs("FAILED")])
        ))
    );
    assert!(q.matches(&r));
    assert!(!wf("status IN ('COMPLETED')").matches(&r));
    assert!(wf("version IN (1,2,3)").matches(&r));
    assert!(!wf("event IN ('a','b')").matches(&r));
}

#[test]
fn null_tests() {
    let r = sample();
    assert!(wf("event IS NULL").matches(&r));
    assert!(!wf("event IS NOT NULL").matches(&r));
    assert!(wf("correlationId IS NOT NULL").matches(&r));
    assert!(!wf("correlationId IS NULL").matches(&r));
    // An empty list counts as null.
    let empty = Rec::default().with(Field::FailedReferenceTaskNames, FieldValue::Many(vec![]));
    assert!(wf("failedReferenceTaskNames IS NULL").matches(&empty));
    assert!(!wf("failedReferenceTaskNames IS NOT NULL").matches(&empty));
    assert!(!wf("failedReferenceTaskNames = 'pay'").matches(&empty));
    assert!(wf("failedReferenceTaskNames != 'pay'").matches(&empty));
}

#[test]
fn starts_with() {
    let r = sample();
    assert!(wf("correlationId STARTS_WITH 'c-'").matches(&r));
    assert!(wf("correlationId STARTS_WITH ''").matches(&r));
    assert!(!wf("correlationId STARTS_WITH 'x'").matches(&r));
    assert!(!wf("event STARTS_WITH ''").matches(&r));
    assert!(wf("workflowType starts_with ord").matches(&r));
}

#[test]
fn multi_valued_field() {
    let r = sample();
    assert!(wf("failedReferenceTaskNames = 'pay'").matches(&r));
    assert!(wf("failedReferenceTaskNames = 'ship'").matches(&r));
    assert!(!wf("failedReferenceTaskNames = 'pay,ship'").matches(&r));
    assert!(!wf("failedReferenceTaskNames != 'pay'").matches(&r));
    assert!(wf("failedReferenceTaskNames != 'cook'").matches(&r));
    assert!(wf("failedReferenceTaskNames IN (cook, ship)").matches(&r));
    assert!(wf("failedReferenceTaskNames STARTS_WITH 'sh'").matches(&r));
    assert!(wf("failedReferenceTaskNames IS NOT NULL").matches(&r));
}

// ---------------------------------------------------------------------------------------
// Structure: precedence, parentheses, keywords

#[test]
fn and_binds_tighter_than_or() {
    let q = wf("version = 1 OR version = 2 AND event IS NULL");
    assert_eq!(
        q.root(),
        Some(&Expr::Or(vec![
            pred(Field::Version, Op::Eq(Value::Int(1))),
            Expr::And(vec![
                pred(Field::Version, Op::Eq(Value::Int(2))),
                pred(Field::Event, Op::IsNull),
            ]),
        ]))
    );
    let q = wf("version = 1 AND version = 2 OR event IS NULL");
    assert!(matches!(q.root(), Some(Expr::Or(xs)) if matches!(xs[0], Expr::And(_))));
    // Evaluated with AND first: false AND x OR true.
    assert!(q.matches(&sample()));
}

#[test]
fn parentheses_group() {
    let q = wf("(version = 1 OR version = 2) AND event IS NOT NULL");
    assert_eq!(
        q.root(),
        Some(&Expr::And(vec![
            Expr::Or(vec![
                pred(Field::Version, Op::Eq(Value::Int(1))),
                pred(Field::Version, Op::Eq(Value::Int(2))),
            ]),
            pred(Field::Event, Op::IsNotNull),
        ]))
    );
    assert!(!q.matches(&sample()));
    assert!(wf("version = 1 OR (version = 2 AND event IS NULL)").matches(&sample()));
    // Redundant parentheses vanish.
    assert_eq!(wf("((version = 2))"), wf("version = 2"));
    // Chains flatten; parenthesized groups stay nested.
    assert!(
        matches!(wf("version = 1 AND version = 2 AND version = 3").root(), Some(Expr::And(xs)) if xs.len() == 3)
    );
    assert!(
        matches!(wf("(version = 1 AND version = 2) AND version = 3").root(), Some(Expr::And(xs)) if xs.len() == 2)
    );
}

#[test]
fn keywords_ignore_case() {
    let a = wf(
        "version between 1 and 3 and status in (running) or event is not null Or correlationId starts_with 'x' AND event Is Null",
    );
    let b = wf(
        "version BETWEEN 1 AND 3 AND status IN (RUNNING) OR event IS NOT NULL OR correlationId STARTS_WITH 'x' AND event IS NULL",
    );
    assert_eq!(a, b);
}

#[test]
fn conductor_ui_query() {
    let q = wf("workflowType IN (a,b) AND status IN (RUNNING,FAILED) AND startTime>1700000000000");
    assert_eq!(
        q.conjuncts(),
        &[
            pred(Field::WorkflowType, Op::In(vec![vs("a"), vs("b")])),
            pred(Field::Status, Op::In(vec![vs("RUNNING"), vs("FAILED")])),
            pred(Field::StartTime, Op::Gt(Value::Int(1_700_000_000_000))),
        ]
    );
}

#[test]
fn bare_and_quoted_values() {
    assert_eq!(wf("workflowId=abc-1.2:x"), wf("workflowId = 'abc-1.2:x'"));
    assert_eq!(wf("workflowId = \"abc\""), wf("workflowId = 'abc'"));
    assert_eq!(
        wf(r#"reasonForIncompletion = 'it\'s \\ \"fine\"'"#).root(),
        Some(&pred(
            Field::ReasonForIncompletion,
            Op::Eq(vs(r#"it's \ "fine""#))
        ))
    );
    assert_eq!(
        wf(r#"reasonForIncompletion = "say \"hi\" (or 'bye')""#).root(),
        Some(&pred(
            Field::ReasonForIncompletion,
            Op::Eq(vs(r#"say "hi" (or 'bye')"#))
        ))
    );
    // A number for a keyword field is text; a quoted integer for an integer field is a number.
    assert_eq!(
        wf("workflowId = 42").root(),
        Some(&pred(Field::WorkflowId, Op::Eq(vs("42"))))
    );
    assert_eq!(wf("version = '7'"), wf("version = 7"));
    // Other keywords are values where a value is due; AND and OR must be quoted.
    assert_eq!(
        wf("workflowType IN (in, Null, between) OR workflowType = 'and'").root(),
        Some(&Expr::Or(vec![
            pred(
                Field::WorkflowType,
                Op::In(vec![vs("in"), vs("Null"), vs("between")])
            ),
            pred(Field::WorkflowType, Op::Eq(vs("and"))),
        ]))
    );
    // Status names are kept in upper case.
    assert_eq!(wf("status = running"), wf("status = 'RUNNING'"));
    assert_eq!(tq("status = in_progress"), tq("status = IN_PROGRESS"));
}

#[test]
fn empty_query_matches_all() {
    for text in ["", "   ", "\t\n"] {
        let q = wf(text);
        assert!(q.is_match_all());
        assert!(q.root().is_none());
        assert!(q.conjuncts().is_empty());
        assert!(q.matches(&Rec::default()));
        assert_eq!(q.to_string(), "");
    }
    assert!(!wf("version = 1").is_match_all());
    assert_eq!(wf("version = 1").conjuncts().len(), 1);
    assert_eq!(wf("version = 1 OR version = 2").conjuncts().len(), 1);
}

#[test]
fn display_round_trips() {
    for text in [
        "workflowType IN (a,b) AND status IN (RUNNING,FAILED) AND startTime>1700000000000",
        "(version = 1 OR version = 2) AND event IS NOT NULL",
        "version = 1 OR version = 2 AND event IS NULL",
        r"reasonForIncompletion STARTS_WITH 'it\'s' OR idempotencyKey != '\\'",
        "endTime BETWEEN 1 AND 2",
    ] {
        let q = wf(text);
        let printed = q.to_string();
        assert_eq!(wf(&printed), q, "{text} -> {printed}");
    }
    assert_eq!(
        wf("status in (running,failed) and startTime>5").to_string(),
        "status IN ('RUNNING', 'FAILED') AND startTime > 5"
    );
}

// ---------------------------------------------------------------------------------------
// Errors

#[test]
fn error_missing_value() {
    let e = werr("correlationId = ");
    assert_eq!(e.position, 17);
    assert_eq!(
        e.to_string(),
        "at character 17: expected a value after '=', found end of query"
    );
    let e = werr("version > AND");
    assert_eq!(e.position, 11);
    assert_eq!(e.message, "expected a value after '>', found 'AND'");
    let e = werr("workflowType = or status = RUNNING");
    assert_eq!(e.position, 16);
    assert!(e.message.contains("expected a value after '='"), "{e}");
}

#[test]
fn error_positions_and_expectations() {
    let cases: &[(&str, usize, &str)] = &[
        ("version", 8, "expected an operator"),
        ("version 5", 9, "expected an operator"),
        ("version = 1 AND", 16, "expected a field name or '('"),
        (
            "version = 1 version = 2",
            13,
            "expected AND, OR or the end of the query",
        ),
        ("(version = 1", 13, "expected AND, OR or ')'"),
        ("version = 1)", 12, "no matching '('"),
        ("()", 2, "expected a field name or '('"),
        ("'version' = 1", 1, "expected a field name"),
        ("version IN 1", 12, "expected '(' after IN"),
        ("version IN ()", 13, "expected a value after 'IN ('"),
        ("version IN (1 2)", 15, "expected ',' or ')' in the IN list"),
        ("version IN (1,", 15, "expected a value after ','"),
        (
            "version BETWEEN 1 2",
            19,
            "expected AND between the two bounds",
        ),
        (
            "version BETWEEN 1 AND",
            22,
            "expected a value after BETWEEN ... AND",
        ),
        ("event IS", 9, "expected NULL or NOT NULL after IS"),
        ("event IS NOT", 13, "expected NULL after IS NOT"),
        ("event IS 'x'", 10, "expected NULL or NOT NULL"),
        ("version >= 1", 9, "'>=' is not supported"),
        ("version <= 1", 9, "'<=' is not supported"),
        ("version ! 1", 9, "expected '=' after '!'"),
        ("event = 'abc", 9, "has no closing '"),
        ("event = \"abc", 9, "has no closing \""),
        ("event = 'ab\\", 13, "expected a character after '\\'"),
        (
            "workflowType > 'a'",
            14,
            "'>' applies to integer and time fields only",
        ),
        (
            "status BETWEEN 1 AND 2",
            8,
            "BETWEEN applies to integer and time fields only",
        ),
        (
            "version STARTS_WITH 1",
            9,
            "STARTS_WITH applies to keyword fields only",
        ),
        (
            "status STARTS_WITH R",
            8,
            "STARTS_WITH applies to keyword fields only",
        ),
        ("version = 1.5", 11, "version is an integer field"),
        (
            "startTime > '2024-01-01T00:00:00Z'",
            13,
            "startTime is a time field: give epoch milliseconds",
        ),
        ("startTime BETWEEN 1 AND yesterday", 25, "found 'yesterday'"),
    ];
    for &(text, pos, msg) in cases {
        let e = werr(text);
        assert_eq!(e.position, pos, "{text}: {e}");
        assert!(e.message.contains(msg), "{text}: {e}");
        assert!(e.to_string().starts_with(&format!("at character {pos}: ")));
    }
}

#[test]
fn error_positions_count_characters() {
    // Multi-byte characters count once.
    let e = werr("event = 'é' AND");
    assert_eq!(e.position, 16);
}

#[test]
fn unknown_field_lists_the_fields() {
    let e = werr("version = 1 AND taskId = 'x'");
    assert_eq!(e.position, 17);
    assert!(
        e.message
            .starts_with("unknown field 'taskId' for workflows"),
        "{e}"
    );
    for f in Field::all(Entity::Workflow) {
        assert!(e.message.contains(f.name()), "{e}");
    }
    let e = Query::parse(Entity::Task, "version = 1").unwrap_err();
    assert_eq!(e.position, 1);
    assert!(
        e.message.contains("unknown field 'version' for tasks"),
        "{e}"
    );
    assert!(e.message.contains("queueWaitTime"), "{e}");
}

#[test]
fn unknown_status_lists_the_statuses() {
    let e = werr("status IN (RUNNING, DONE)");
    assert_eq!(e.position, 21);
    assert!(e.message.contains("unknown workflow status 'DONE'"), "{e}");
    assert!(e.message.contains("TIMED_OUT"), "{e}");
    // A task status is not a workflow status, and the other way round.
    assert!(
        werr("status = IN_PROGRESS")
            .message
            .contains("unknown workflow status")
    );
    let e = Query::parse(Entity::Task, "status = PAUSED").unwrap_err();
    assert!(e.message.contains("unknown task status 'PAUSED'"), "{e}");
    assert!(e.message.contains("COMPLETED_WITH_ERRORS"), "{e}");
}

// ---------------------------------------------------------------------------------------
// Sorting

#[test]
fn sort_spec_parsing() {
    let spec = SortSpec::parse(Entity::Workflow, &["startTime:DESC|workflowType"]).unwrap();
    assert_eq!(
        spec.keys(),
        &[
            (Field::StartTime, Order::Desc),
            (Field::WorkflowType, Order::Asc)
        ]
    );
    let spec = SortSpec::parse(
        Entity::Workflow,
        &["startTime:desc, version:asc", "endTime"],
    )
    .unwrap();
    assert_eq!(
        spec.keys(),
        &[
            (Field::StartTime, Order::Desc),
            (Field::Version, Order::Asc),
            (Field::EndTime, Order::Asc)
        ]
    );
    let none: [&str; 0] = [];
    assert!(
        SortSpec::parse(Entity::Task, &none)
            .unwrap()
            .keys()
            .is_empty()
    );
    assert!(
        SortSpec::parse(Entity::Task, &["", "|"])
            .unwrap()
            .keys()
            .is_empty()
    );
    let owned = vec![String::from("queueWaitTime:DESC")];
    assert_eq!(
        SortSpec::parse(Entity::Task, &owned).unwrap().keys(),
        &[(Field::QueueWaitTime, Order::Desc)]
    );

    let e = SortSpec::parse(Entity::Workflow, &["startTime:DESC|taskId"]).unwrap_err();
    assert_eq!(e.position, 16);
    assert!(
        e.message
            .contains("unknown sort field 'taskId' for workflows"),
        "{e}"
    );
    let e = SortSpec::parse(Entity::Workflow, &["version:UP"]).unwrap_err();
    assert_eq!(e.position, 9);
    assert!(
        e.message
            .contains("expected ASC or DESC after 'version:', found 'UP'"),
        "{e}"
    );
}

fn wrec(id: &str, start: Option<i64>) -> Rec {
    let r = Rec::default().with(Field::WorkflowId, s(id));
    match start {
        Some(t) => r.with(Field::StartTime, FieldValue::Int(t)),
        None => r,
    }
}

fn sorted_ids(spec: &SortSpec, mut recs: Vec<Rec>) -> Vec<String> {
    recs.sort_by(|a, b| spec.compare(a, b));
    recs.iter()
        .map(|r| match r.field(Field::WorkflowId) {
            FieldValue::Str(s) => s,
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn sort_nulls_last_and_ties_by_id() {
    let recs = vec![
        wrec("c", Some(5)),
        wrec("a", None),
        wrec("b", Some(5)),
        wrec("d", Some(1)),
        wrec("e", Some(10)),
    ];
    let asc = SortSpec::parse(Entity::Workflow, &["startTime:ASC"]).unwrap();
    assert_eq!(sorted_ids(&asc, recs.clone()), ["d", "b", "c", "e", "a"]);
    let desc = SortSpec::parse(Entity::Workflow, &["startTime:DESC"]).unwrap();
    assert_eq!(sorted_ids(&desc, recs.clone()), ["e", "b", "c", "d", "a"]);
    let by_id = SortSpec::parse(Entity::Workflow, &[""]).unwrap();
    assert_eq!(sorted_ids(&by_id, recs), ["a", "b", "c", "d", "e"]);
}

#[test]
fn sort_multi_valued() {
    let r = |id: &str, xs: &[&str]| {
        Rec::default().with(Field::WorkflowId, s(id)).with(
            Field::FailedReferenceTaskNames,
            FieldValue::Many(xs.iter().map(|x| x.to_string()).collect()),
        )
    };
    let recs = vec![r("1", &["b", "z"]), r("2", &["c"]), r("3", &[])];
    let asc = SortSpec::parse(Entity::Workflow, &["failedReferenceTaskNames"]).unwrap();
    assert_eq!(sorted_ids(&asc, recs.clone()), ["1", "2", "3"]);
    let desc = SortSpec::parse(Entity::Workflow, &["failedReferenceTaskNames:DESC"]).unwrap();
    assert_eq!(sorted_ids(&desc, recs), ["1", "2", "3"]);
}

// ---------------------------------------------------------------------------------------
// Summaries

fn instance() -> WorkflowInstance {
    serde_json::from_value(json!({
        "workflowId": "w-1",
        "workflowName": "order",
        "workflowVersion": 3,
        "status": "FAILED",
        "input": {"n": 1},
        "output": {},
        "correlationId": "c-1",
        "priority": 7,
        "reasonForIncompletion": "boom",
        "taskToDomain": {"*": "blue"},
        "createTime": 1000,
        "startTime": 1500,
        "endTime": 4000,
        "updateTime": 4000,
        "idempotencyKey": "k",
        "failedReferenceTaskName": "ship"
    }))
    .unwrap()
}

fn task(
    id: &str,
    reference: &str,
    ty: &str,
    status: &str,
    extra: serde_json::Value,
) -> TaskInstance {
    let mut v = json!({
        "taskId": id,
        "taskDefName": format!("def_{reference}"),
        "taskType": ty,
        "referenceTaskName": reference,
        "status": status,
        "seq": 1,
        "workflowId": "w-1",
        "workflowType": "order",
        "responseTimeoutSeconds": 60,
        "scheduledTime": 1100,
        "firstScheduledTime": 1100,
        "readyTime": 1100,
        "updateTime": 1200,
        "input": {"a": "b"},
        "output": {"ok": true}
    });
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    serde_json::from_value(v).unwrap()
}

#[test]
fn workflow_summary_from_instance() {
    let w = instance();
    let tasks = vec![
        task("t1", "pay", "SIMPLE", "COMPLETED", json!({})),
        task("t2", "ship", "SIMPLE", "FAILED", json!({"retried": true})),
        task("t3", "ship", "SIMPLE", "FAILED", json!({})),
        task("t4", "call", "HTTP", "TIMED_OUT", json!({})),
        task("t5", "maybe", "SIMPLE", "FAILED", json!({"optional": true})),
        task("t6", "stop", "SIMPLE", "CANCELED", json!({})),
    ];
    let sm = WorkflowSummary::new(&w, &tasks);
    assert_eq!(sm.workflow_type, "order");
    assert_eq!(sm.version, 3);
    assert_eq!(sm.workflow_id, "w-1");
    assert_eq!(sm.start_time, 1000);
    assert_eq!(sm.end_time, Some(4000));
    assert_eq!(sm.execution_time, Some(3000));
    assert_eq!(sm.status, WorkflowStatus::Failed);
    assert_eq!(sm.failed_reference_task_names, ["ship", "call"]);
    assert_eq!(sm.failed_task_names, ["def_ship", "HTTP"]);
    assert_eq!(sm.input, json!({"n": 1}));
    assert_eq!(sm.input_size, r#"{"n":1}"#.len() as i64);
    assert_eq!(sm.output_size, 2);
    assert_eq!(sm.priority, 7);

    // Record view.
    assert_eq!(sm.field(Field::Status), s("FAILED"));
    assert_eq!(sm.field(Field::Version), FieldValue::Int(3));
    assert_eq!(sm.field(Field::Event), FieldValue::Null);
    assert_eq!(sm.field(Field::TaskId), FieldValue::Null);
    let q = wf(
        "failedReferenceTaskNames = call AND status = FAILED AND executionTime > 2999 AND idempotencyKey = k",
    );
    assert!(q.matches(&sm));

    // JSON shape.
    let j = serde_json::to_value(&sm).unwrap();
    assert_eq!(j["failedReferenceTaskNames"], json!("ship,call"));
    assert_eq!(j["failedTaskNames"], json!(["def_ship", "HTTP"]));
    assert_eq!(j["workflowType"], json!("order"));
    assert_eq!(j["status"], json!("FAILED"));
    assert_eq!(j["inputSize"], json!(7));
    assert_eq!(j["taskToDomain"], json!({"*": "blue"}));
    assert!(j.get("event").is_none());
    let back: WorkflowSummary = serde_json::from_value(j).unwrap();
    assert_eq!(back, sm);
}

#[test]
fn workflow_summary_of_a_running_workflow() {
    let mut w = instance();
    w.status = WorkflowStatus::Running;
    w.end_time = None;
    w.failed_reference_task_name = None;
    w.reason_for_incompletion = None;
    let tasks = vec![task("t2", "ship", "SIMPLE", "FAILED", json!({}))];
    let sm = WorkflowSummary::new(&w, &tasks);
    assert!(sm.failed_reference_task_names.is_empty());
    assert!(sm.failed_task_names.is_empty());
    assert_eq!(sm.execution_time, None);
    assert!(
        wf("failedReferenceTaskNames IS NULL AND endTime IS NULL AND executionTime IS NULL")
            .matches(&sm)
    );
    let j = serde_json::to_value(&sm).unwrap();
    assert_eq!(j["failedReferenceTaskNames"], json!(""));
    assert_eq!(serde_json::from_value::<WorkflowSummary>(j).unwrap(), sm);
}

#[test]
fn task_summary_from_instance() {
    let w = instance();
    let t = task(
        "t9",
        "fetch",
        "SIMPLE",
        "COMPLETED",
        json!({"startTime": 1150, "endTime": 1900, "domain": "blue", "reasonForIncompletion": "x"}),
    );
    let sm = TaskSummary::new(&w, &t);
    assert_eq!(sm.task_id, "t9");
    assert_eq!(sm.workflow_id, "w-1");
    assert_eq!(sm.workflow_type, "order");
    assert_eq!(sm.correlation_id.as_deref(), Some("c-1"));
    assert_eq!(sm.task_type, "def_fetch");
    assert_eq!(sm.task_def_name, "def_fetch");
    assert_eq!(sm.queue_wait_time, Some(50));
    assert_eq!(sm.execution_time, Some(750));
    assert_eq!(sm.workflow_priority, 7);
    assert_eq!(sm.domain.as_deref(), Some("blue"));
    assert_eq!(sm.output, json!({"ok": true}));
    assert!(tq("taskType = def_fetch AND status = COMPLETED AND queueWaitTime < 51 AND scheduledTime = 1100").matches(&sm));
    assert_eq!(sm.field(Field::Version), FieldValue::Null);

    let j = serde_json::to_value(&sm).unwrap();
    assert_eq!(j["queueWaitTime"], json!(50));
    assert_eq!(j["taskDefName"], json!("def_fetch"));
    assert_eq!(serde_json::from_value::<TaskSummary>(j).unwrap(), sm);

    // Not started yet: no wait, no execution time; a fork shows as FORK.
    let t = task("t10", "f", "FORK_JOIN", "SCHEDULED", json!({}));
    let sm = TaskSummary::new(&w, &t);
    assert_eq!(sm.queue_wait_time, None);
    assert_eq!(sm.execution_time, None);
    assert_eq!(sm.task_type, "FORK");
    assert_eq!(sm.task_def_name, "FORK");
    assert!(tq("startTime IS NULL AND queueWaitTime IS NULL AND taskType = FORK").matches(&sm));
}

// ---------------------------------------------------------------------------------------
// Properties

const KEYWORDS: [&str; 4] = ["a", "ab", "b", "a'b\\"];

fn entity_strategy() -> impl Strategy<Value = Entity> {
    prop_oneof![Just(Entity::Workflow), Just(Entity::Task)]
}

fn status_names(entity: Entity) -> Vec<&'static str> {
    match entity {
        Entity::Workflow => WorkflowStatus::ALL.iter().map(|s| s.as_str()).collect(),
        Entity::Task => TaskStatus::ALL.iter().map(|s| s.as_str()).collect(),
    }
}

/// A value of the field's type: from a small set when `small` (so records hit), else any.
fn value_strategy(entity: Entity, field: Field, small: bool) -> BoxedStrategy<Value> {
    match field.field_type(entity) {
        FieldType::Keyword if small => prop::sample::select(&KEYWORDS[..])
            .prop_map(|x| Value::Str(x.to_string()))
            .boxed(),
        FieldType::Keyword => any::<String>().prop_map(Value::Str).boxed(),
        FieldType::Int | FieldType::Time if small => (-3i64..4).prop_map(Value::Int).boxed(),
        FieldType::Int | FieldType::Time => any::<i64>().prop_map(Value::Int).boxed(),
        FieldType::WorkflowStatus | FieldType::TaskStatus => {
            prop::sample::select(status_names(entity))
                .prop_map(|x| Value::Str(x.to_string()))
                .boxed()
        }
    }
}

/// An operator that parsing accepts for the field.
fn op_strategy(entity: Entity, field: Field, small: bool) -> BoxedStrategy<Op> {
    let ty = field.field_type(entity);
    let v = || value_strategy(entity, field, small);
    let mut ops: Vec<BoxedStrategy<Op>> = vec![
        v().prop_map(Op::Eq).boxed(),
        v().prop_map(Op::Ne).boxed(),
        prop::collection::vec(v(), 1..4).prop_map(Op::In).boxed(),
        Just(Op::IsNull).boxed(),
        Just(Op::IsNotNull).boxed(),
    ];
    if ty.is_numeric() {
        ops.push(v().prop_map(Op::Lt).boxed());
        ops.push(v().prop_map(Op::Gt).boxed());
        ops.push((v(), v()).prop_map(|(a, b)| Op::Between(a, b)).boxed());
    }
    if ty == FieldType::Keyword {
        ops.push(
            v().prop_map(move |x| match x {
                Value::Str(s) if small => Op::StartsWith(s.chars().take(1).collect()),
                Value::Str(s) => Op::StartsWith(s),
                Value::Int(_) => unreachable!(),
            })
            .boxed(),
        );
    }
    prop::strategy::Union::new(ops).boxed()
}

fn pred_strategy(entity: Entity, small: bool) -> BoxedStrategy<Expr> {
    prop::sample::select(Field::all(entity))
        .prop_flat_map(move |f| {
            op_strategy(entity, f, small).prop_map(move |op| Expr::Pred(Predicate { field: f, op }))
        })
        .boxed()
}

fn expr_strategy(entity: Entity, small: bool) -> BoxedStrategy<Expr> {
    pred_strategy(entity, small)
        .prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
                prop::collection::vec(inner, 2..4).prop_map(Expr::Or),
            ]
        })
        .boxed()
}

fn query_strategy(small: bool) -> impl Strategy<Value = Query> {
    entity_strategy().prop_flat_map(move |entity| {
        prop::option::weighted(0.95, expr_strategy(entity, small))
            .prop_map(move |root| Query { entity, root })
    })
}

/// A field value of a random record: null or a value from the small sets.
fn field_value_strategy(entity: Entity, field: Field) -> BoxedStrategy<FieldValue> {
    if field == Field::FailedReferenceTaskNames {
        return prop::collection::vec(prop::sample::select(&KEYWORDS[..]), 0..3)
            .prop_map(|xs| FieldValue::Many(xs.into_iter().map(str::to_string).collect()))
            .boxed();
    }
    let value = value_strategy(entity, field, true).prop_map(|v| match v {
        Value::Str(s) => FieldValue::Str(s),
        Value::Int(n) => FieldValue::Int(n),
    });
    prop_oneof![1 => Just(FieldValue::Null), 3 => value].boxed()
}

fn record_strategy(entity: Entity) -> BoxedStrategy<Rec> {
    let fields = Field::all(entity);
    fields
        .iter()
        .map(|&f| field_value_strategy(entity, f))
        .collect::<Vec<_>>()
        .prop_map(move |vals| Rec(fields.iter().copied().zip(vals).collect()))
        .boxed()
}

/// Records with distinct ids (the sort's tie-break).
fn records_strategy(entity: Entity) -> BoxedStrategy<Vec<Rec>> {
    prop::collection::vec(record_strategy(entity), 0..10)
        .prop_map(move |mut recs| {
            for (i, r) in recs.iter_mut().enumerate() {
                let id = Field::all(entity)[if entity == Entity::Workflow { 1 } else { 0 }];
                r.0.insert(id, FieldValue::Str(format!("id{}", (i * 7) % 10)));
            }
            recs
        })
        .boxed()
}

/// The query semantics written out plainly: a field is a list of its values (none for null).
fn oracle(e: &Expr, r: &Rec) -> bool {
    match e {
        Expr::And(xs) => {
            for x in xs {
                if !oracle(x, r) {
                    return false;
                }
            }
            true
        }
        Expr::Or(xs) => {
            for x in xs {
                if oracle(x, r) {
                    return true;
                }
            }
            false
        }
        Expr::Pred(p) => {
            let mut texts: Vec<String> = Vec::new();
            let mut ints: Vec<i64> = Vec::new();
            match r.0.get(&p.field) {
                None | Some(FieldValue::Null) => {}
                Some(FieldValue::Str(s)) => texts.push(s.clone()),
                Some(FieldValue::Int(n)) => ints.push(*n),
                Some(FieldValue::Many(xs)) => texts.extend(xs.iter().cloned()),
            }
            let has = |v: &Value| match v {
                Value::Str(s) => texts.contains(s),
                Value::Int(n) => ints.contains(n),
            };
            let int = |v: &Value| match v {
                Value::Int(n) => *n,
                Value::Str(_) => panic!("numeric op with text"),
            };
            match &p.op {
                Op::Eq(v) => has(v),
                Op::Ne(v) => !has(v),
                Op::In(vs) => vs.iter().any(has),
                Op::Lt(v) => ints.iter().any(|&n| n < int(v)),
                Op::Gt(v) => ints.iter().any(|&n| n > int(v)),
                Op::Between(a, b) => ints.iter().any(|&n| int(a) <= n && n <= int(b)),
                Op::IsNull => texts.is_empty() && ints.is_empty(),
                Op::IsNotNull => !texts.is_empty() || !ints.is_empty(),
                Op::StartsWith(pre) => texts.iter().any(|t| t.starts_with(pre.as_str())),
            }
        }
    }
}

fn id_of(entity: Entity, r: &Rec) -> FieldValue {
    match entity {
        Entity::Workflow => r.field(Field::WorkflowId),
        Entity::Task => r.field(Field::TaskId),
    }
}

fn sort_case() -> impl Strategy<Value = (SortSpec, Vec<Rec>, Vec<Rec>)> {
    entity_strategy().prop_flat_map(|entity| {
        let keys = prop::collection::vec(
            (
                prop::sample::select(Field::all(entity)),
                prop_oneof![Just(Order::Asc), Just(Order::Desc)],
            ),
            0..4,
        );
        (keys, records_strategy(entity)).prop_flat_map(move |(keys, recs)| {
            let spec = SortSpec { entity, keys };
            let a = Just(recs.clone()).prop_shuffle();
            let b = Just(recs).prop_shuffle();
            (Just(spec), a, b)
        })
    })
}

proptest! {
    // Shrinking these nested strategies can run for many minutes; a bounded shrink still
    // gives a readable case.
    #![proptest_config(ProptestConfig {
        cases: 512,
        max_shrink_time: 20_000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn display_then_parse_gives_the_same_query(q in query_strategy(false)) {
        let text = q.to_string();
        let back = Query::parse(q.entity, &text);
        prop_assert_eq!(back.as_ref(), Ok(&q), "text: {}", text);
    }

    #[test]
    fn matches_agrees_with_the_plain_evaluator(
        (q, recs) in query_strategy(true).prop_flat_map(|q| {
            let e = q.entity;
            (Just(q), prop::collection::vec(record_strategy(e), 1..8))
        })
    ) {
        // Go through text, so the parsed query is what is evaluated.
        let parsed = Query::parse(q.entity, &q.to_string()).unwrap();
        for r in &recs {
            let want = q.root.as_ref().is_none_or(|e| oracle(e, r));
            prop_assert_eq!(parsed.matches(r), want, "query {} on {:?}", q, r);
        }
    }

    #[test]
    fn sort_is_a_total_order((spec, a, b) in sort_case()) {
        let mut a = a;
        let mut b = b;
        a.sort_by(|x, y| spec.compare(x, y));
        b.sort_by(|x, y| spec.compare(x, y));
        let ids_a: Vec<FieldValue> = a.iter().map(|r| id_of(spec.entity, r)).collect();
        let ids_b: Vec<FieldValue> = b.iter().map(|r| id_of(spec.entity, r)).collect();
        prop_assert_eq!(&ids_a, &ids_b);
        for x in &a {
            prop_assert_eq!(spec.compare(x, x), Ordering::Equal);
            for y in &a {
                prop_assert_eq!(spec.compare(x, y), spec.compare(y, x).reverse());
                for z in &a {
                    if spec.compare(x, y) != Ordering::Greater && spec.compare(y, z) != Ordering::Greater {
                        prop_assert_ne!(spec.compare(x, z), Ordering::Greater);
                    }
                }
            }
        }
        // Sorted: each neighbour pair in order, nulls after values on the first key.
        for w in a.windows(2) {
            prop_assert_ne!(spec.compare(&w[0], &w[1]), Ordering::Greater);
        }
        if let Some(&(f, _)) = spec.keys.first() {
            let mut seen_null = false;
            for r in &a {
                let null = match r.field(f) {
                    FieldValue::Null => true,
                    FieldValue::Many(xs) => xs.is_empty(),
                    _ => false,
                };
                prop_assert!(null || !seen_null, "a value after a null on {}", f);
                seen_null |= null;
            }
        }
    }
}
