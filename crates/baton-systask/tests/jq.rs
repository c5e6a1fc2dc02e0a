//! jq queries and the JSON_JQ_TRANSFORM task.

use std::time::Duration;

use baton_systask::Outcome;
use baton_systask::jq::{self, JqError, JqLimits};
use serde_json::{Map, Value, json};

fn obj(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn run(query: &str, input: Value) -> Result<Vec<Value>, JqError> {
    jq::run(query, &input, &JqLimits::default())
}

fn tight() -> JqLimits {
    JqLimits {
        time: Duration::from_millis(300),
        max_outputs: 100,
        max_stack_bytes: 1024 * 1024,
    }
}

fn corpus_tasks(path: &str) -> Vec<Value> {
    let full = format!(
        "{}/../../../shared/conductor-corpus/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    let def: Value = serde_json::from_str(&text).unwrap();
    let mut found = Vec::new();
    collect(&def, &mut found);
    found
}

fn collect(value: &Value, found: &mut Vec<Value>) {
    match value {
        Value::Object(map) => {
            if map.get("type").and_then(Value::as_str) == Some("JSON_JQ_TRANSFORM") {
                found.push(value.clone());
            }
            map.values().for_each(|v| collect(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| collect(v, found)),
        _ => {}
    }
}

#[test]
fn runs_queries_with_the_standard_library() {
    assert_eq!(run(".a", json!({"a": 1})).unwrap(), vec![json!(1)]);
    assert_eq!(
        run(
            ".persons | map({user: {email, id}})",
            json!({"persons": [{"email": "e", "id": 1, "x": 0}]})
        )
        .unwrap(),
        vec![json!([{"user": {"email": "e", "id": 1}}])]
    );
    assert_eq!(
        run("[.[] | select(. > 1)] | add", json!([1, 2, 3])).unwrap(),
        vec![json!(5)]
    );
    assert_eq!(
        run("keys", json!({"b": 1, "a": 2})).unwrap(),
        vec![json!(["a", "b"])]
    );
    assert_eq!(run("1.5 * 2", json!(null)).unwrap(), vec![json!(3.0)]);
    assert_eq!(
        run(".x // \"dflt\"", json!({})).unwrap(),
        vec![json!("dflt")]
    );
    assert_eq!(
        run("test(\"^ab\")", json!("abc")).unwrap(),
        vec![json!(true)]
    );
    assert_eq!(
        run("tojson", json!({"a": [1]})).unwrap(),
        vec![json!("{\"a\":[1]}")]
    );
    assert_eq!(run("empty", json!(1)).unwrap(), Vec::<Value>::new());
}

#[test]
fn collects_every_output_in_order() {
    assert_eq!(
        run(
            ".[] | .name",
            json!([{"name": "a"}, {"name": "b"}, {"name": "c"}])
        )
        .unwrap(),
        vec![json!("a"), json!("b"), json!("c")]
    );
    assert_eq!(
        run("range(3)", json!(null)).unwrap(),
        vec![json!(0), json!(1), json!(2)]
    );
    assert_eq!(
        run("[range(0; 10; 3)]", json!(null)).unwrap(),
        vec![json!([0, 3, 6, 9])]
    );
    assert_eq!(
        run("[range(5; 0; -2)]", json!(null)).unwrap(),
        vec![json!([5, 3, 1])]
    );
    assert_eq!(
        run("[range(1; 3)]", json!(null)).unwrap(),
        vec![json!([1, 2])]
    );
    assert!(matches!(
        run("[range(0; 3; \"a\")]", json!(null)),
        Err(JqError::Runtime(_))
    ));
}

#[test]
fn compile_errors_name_the_problem() {
    let err = run(".a | ", json!({})).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid jq query: expected term at the end of the query"
    );
    let err = run("{a: }", json!({})).unwrap_err();
    assert_eq!(
        err,
        JqError::Compile("expected term but found '}' at line 1, column 5".into())
    );
    let err = run("nosuchfilter(1)", json!({})).unwrap_err();
    assert_eq!(
        err,
        JqError::Compile("undefined filter nosuchfilter/1".into())
    );
    let err = run("$nope", json!({})).unwrap_err();
    assert!(
        err.to_string().contains("$nope") || err.to_string().contains("nope"),
        "{err}"
    );
    let err = run("[1, 2", json!({})).unwrap_err();
    assert!(matches!(err, JqError::Compile(_)), "{err:?}");
    // The server's environment is not reachable.
    assert!(matches!(run("env", json!({})), Err(JqError::Compile(_))));
    assert!(matches!(run("$ENV", json!({})), Err(JqError::Compile(_))));
}

#[test]
fn runtime_errors_carry_the_message() {
    let err = run(".a.b", json!({"a": 5})).unwrap_err();
    let JqError::Runtime(message) = &err else {
        panic!("expected a runtime error, got {err:?}")
    };
    assert!(message.contains("cannot index"), "{message}");
    let err = run("error(\"custom failure\")", json!(null)).unwrap_err();
    assert_eq!(err, JqError::Runtime("custom failure".into()));
    assert_eq!(err.to_string(), "jq query failed: custom failure");
    let err = run("error({code: 1})", json!(null)).unwrap_err();
    assert_eq!(err, JqError::Runtime("{\"code\":1}".into()));
    // `try` catches errors inside the query.
    assert_eq!(
        run("try error(\"x\") catch .", json!(null)).unwrap(),
        vec![json!("x")]
    );
    assert_eq!(
        run("halt", json!(null)).unwrap_err(),
        JqError::Halted { code: 0 }
    );
}

#[test]
fn endless_query_is_stopped_by_the_time_limit() {
    let limits = tight();
    for query in [
        "def f: f; f",
        "last(repeat(1))",
        "[limit(100; repeat(1) | select(false))]",
        "until(false; .)",
        "[range(1e10)] | length",
        "[range(0; 1; 0)] | length",
    ] {
        let err = jq::run(query, &json!(0), &limits).unwrap_err();
        assert_eq!(err, JqError::TimeLimit { limit: limits.time }, "{query}");
        assert_eq!(err.to_string(), "jq query ran longer than 300 ms");
    }
}

#[test]
fn output_count_is_bounded() {
    let limits = tight();
    let err = jq::run("repeat(1)", &json!(0), &limits).unwrap_err();
    assert_eq!(err, JqError::TooManyOutputs { limit: 100 });
    assert_eq!(err.to_string(), "jq query produced more than 100 outputs");
    assert_eq!(
        jq::run("range(100)", &json!(0), &limits).unwrap().len(),
        100
    );
}

#[test]
fn deep_recursion_is_stopped_by_the_stack_limit() {
    let limits = tight();
    let err = jq::run("def f: 1 + f; f", &json!(0), &limits).unwrap_err();
    assert_eq!(
        err,
        JqError::StackLimit {
            limit: limits.max_stack_bytes
        }
    );
    // Finite recursion fits the default limit (a few thousand levels in optimised builds,
    // a few hundred in debug builds).
    assert_eq!(
        run(
            "def f: if . < 150 then (. + 1 | f) + 0 else . end; f",
            json!(0)
        )
        .unwrap(),
        vec![json!(150)]
    );
    // The process is fine afterwards.
    assert_eq!(run(".", json!(1)).unwrap(), vec![json!(1)]);
}

#[test]
fn numbers_and_strings_round_trip() {
    let input =
        json!({"i": 9007199254740993u64, "neg": -3, "f": 0.25, "s": "ü", "n": null, "b": true});
    assert_eq!(run(".", input.clone()).unwrap(), vec![input]);
    assert_eq!(run("infinite", json!(null)).unwrap(), vec![Value::Null]);
    assert_eq!(
        run("100000000000000000000", json!(null)).unwrap(),
        vec![json!(1e20)]
    );
}

#[test]
fn transform_outputs_result_and_result_list() {
    let limits = JqLimits::default();
    let outcome = jq::jq_transform(
        &obj(json!({"queryExpression": ".in[]", "in": [1, 2]})),
        &limits,
    );
    assert_eq!(
        outcome,
        Outcome::Completed(obj(json!({"result": 1, "resultList": [1, 2]})))
    );
    let outcome = jq::jq_transform(&obj(json!({"queryExpression": "empty"})), &limits);
    assert_eq!(
        outcome,
        Outcome::Completed(obj(json!({"result": null, "resultList": []})))
    );
    // The query sees the whole input, its own text included.
    let outcome = jq::jq_transform(
        &obj(json!({"queryExpression": ".queryExpression"})),
        &limits,
    );
    assert_eq!(
        outcome,
        Outcome::Completed(obj(
            json!({"result": ".queryExpression", "resultList": [".queryExpression"]})
        ))
    );
}

#[test]
fn transform_failures() {
    let limits = JqLimits::default();
    for (input, needle) in [
        (json!({}), "queryExpression' is missing"),
        (json!({"queryExpression": ""}), "queryExpression' is empty"),
        (json!({"queryExpression": 3}), "must be a string"),
        (json!({"queryExpression": ".a |"}), "invalid jq query"),
        (json!({"queryExpression": ".a.b", "a": 1}), "cannot index"),
    ] {
        match jq::jq_transform(&obj(input.clone()), &limits) {
            Outcome::Failed {
                reason,
                output,
                terminal,
            } => {
                assert!(reason.contains(needle), "{input}: {reason}");
                assert_eq!(output, obj(json!({"error": reason})));
                assert!(!terminal);
            }
            other => panic!("{input}: expected a failure, got {other:?}"),
        }
    }
}

#[test]
fn corpus_transforms_run() {
    let limits = JqLimits::default();
    let run_task = |task: &Value, extra: Value| {
        let mut input = obj(task["inputParameters"].clone());
        for (k, v) in obj(extra) {
            input.insert(k, v);
        }
        jq::jq_transform(&input, &limits)
    };

    let tasks = corpus_tasks("test-harness/json_jq_transform_result_integration_test.json");
    let exists = tasks
        .iter()
        .find(|t| t["taskReferenceName"] == "json_jq_1")
        .unwrap();
    assert_eq!(
        run_task(exists, json!({})),
        Outcome::Completed(obj(json!({"result": "CREATE", "resultList": ["CREATE"]})))
    );
    assert_eq!(
        run_task(exists, json!({"data": [1]})),
        Outcome::Completed(obj(json!({"result": "EXISTS", "resultList": ["EXISTS"]})))
    );
    let names = tasks
        .iter()
        .find(|t| t["taskReferenceName"] == "json_jq_2")
        .unwrap();
    let expected = json!(["redeliver", "redeliver_from_validation_error", "redelivery"]);
    assert_eq!(
        run_task(names, json!({})),
        Outcome::Completed(obj(json!({"result": expected, "resultList": [expected]})))
    );

    let tasks = corpus_tasks("test-harness/simple_json_jq_transform_integration_test.json");
    let outcome = run_task(
        &tasks[0],
        json!({"input": {"in1": {"array": ["a", "b"]}, "in2": {"array": ["c", "d"]}}}),
    );
    assert_eq!(
        outcome.output()["result"],
        json!({"out": ["a", "b", "c", "d"]})
    );

    let tasks = corpus_tasks("test-harness/sequential_json_jq_transform_integration_test.json");
    let defaults = run_task(&tasks[0], json!({"input": {"method": "POST"}}));
    assert_eq!(
        defaults.output()["result"],
        json!({
            "requestTransform": ".body",
            "responseTransform": ".response.body",
            "method": "POST",
            "document": "rgt_results",
            "successExpression": "true"
        })
    );
    // The second task's query is the first one's output: `.body` over its input.
    let transformed = jq::jq_transform(
        &obj(json!({"queryExpression": ".body", "body": {"k": "v"}})),
        &limits,
    );
    assert_eq!(transformed.output()["result"], json!({"k": "v"}));
}
