//! JavaScript evaluation: Conductor-style expressions, the INLINE/LAMBDA/SWITCH task
//! functions, and every limit.

use std::time::Duration;

use baton_systask::script::{self, ScriptError, ScriptLimits};
use baton_systask::{Outcome, inline, lambda, switch_case};
use serde_json::{Map, Value, json};

fn obj(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn eval(script: &str, input: Value) -> Result<Value, ScriptError> {
    script::eval(script, &input, &ScriptLimits::default())
}

/// Limits small enough that runaway scripts are stopped quickly in tests.
fn tight() -> ScriptLimits {
    ScriptLimits {
        time: Duration::from_millis(300),
        memory_bytes: 8 * 1024 * 1024,
        max_stack_bytes: 256 * 1024,
    }
}

fn corpus(path: &str) -> Value {
    let full = format!(
        "{}/../../../shared/conductor-corpus/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// Every task of `type` anywhere in a workflow definition.
fn tasks_of_type(def: &Value, kind: &str, found: &mut Vec<Value>) {
    match def {
        Value::Object(map) => {
            if map.get("type").and_then(Value::as_str) == Some(kind) {
                found.push(def.clone());
            }
            map.values().for_each(|v| tasks_of_type(v, kind, found));
        }
        Value::Array(items) => items.iter().for_each(|v| tasks_of_type(v, kind, found)),
        _ => {}
    }
}

#[test]
fn evaluates_expressions_and_function_calls() {
    assert_eq!(
        eval("$.a + $.b", json!({"a": 1, "b": 2})).unwrap(),
        json!(3)
    );
    let conductor_doc = r#"function e() { if ($.value == 1){return {"result": true}} else { return {"result": false}}} e();"#;
    assert_eq!(
        eval(conductor_doc, json!({"value": 1})).unwrap(),
        json!({"result": true})
    );
    assert_eq!(
        eval(conductor_doc, json!({"value": 2})).unwrap(),
        json!({"result": false})
    );
    assert_eq!(
        eval(
            "JSON.stringify($.items.map(function (x) { return x * 2; }))",
            json!({"items": [1, 2, 3]})
        )
        .unwrap(),
        json!("[2,4,6]")
    );
    assert_eq!(
        eval(
            "$.items.filter(x => x.on).map(x => x.id)",
            json!({"items": [{"id": 1, "on": true}, {"id": 2, "on": false}]})
        )
        .unwrap(),
        json!([1])
    );
    // Sloppy mode: assigning an undeclared variable is allowed.
    assert_eq!(eval("x = 5; x * 2", json!({})).unwrap(), json!(10));
    // Completion value of an if statement, as DECISION caseExpressions use.
    assert_eq!(
        eval(
            r#"if ($.n > 1) { "big" } else { "small" }"#,
            json!({"n": 5})
        )
        .unwrap(),
        json!("big")
    );
}

#[test]
fn converts_results_to_json() {
    assert_eq!(eval("undefined", json!({})).unwrap(), Value::Null);
    assert_eq!(eval("(function () {})", json!({})).unwrap(), Value::Null);
    assert_eq!(eval("0 / 0", json!({})).unwrap(), Value::Null);
    assert_eq!(eval("1 / 0", json!({})).unwrap(), Value::Null);
    assert_eq!(eval("2.5 * 2", json!({})).unwrap(), json!(5));
    assert_eq!(
        eval("0.1 + 0.2", json!({})).unwrap(),
        json!(0.30000000000000004)
    );
    assert_eq!(
        eval("new Date(0)", json!({})).unwrap(),
        json!("1970-01-01T00:00:00.000Z")
    );
    assert_eq!(
        eval(
            "({a: undefined, f: function () {}, b: [undefined, NaN]})",
            json!({})
        )
        .unwrap(),
        json!({"b": [null, null]})
    );
    assert!(matches!(
        eval("var a = {}; a.self = a; a", json!({})),
        Err(ScriptError::Result(_))
    ));
    assert!(matches!(
        eval("10n", json!({})),
        Err(ScriptError::Result(_))
    ));
}

#[test]
fn input_is_a_deep_copy() {
    let input = json!({"data": {"x": 1}});
    let out = eval("$.data.x = 2; $.data.y = 3; $.data", input.clone()).unwrap();
    assert_eq!(out, json!({"x": 2, "y": 3}));
    assert_eq!(input, json!({"data": {"x": 1}}));
}

#[test]
fn arrays_answer_the_java_list_idiom() {
    let out = eval(
        "function getElement() { return $.list.get($.iterator - 1); } getElement();",
        json!({"list": [{"number": 4}, {"number": -1}], "iterator": 2}),
    )
    .unwrap();
    assert_eq!(out, json!({"number": -1}));
    assert_eq!(
        eval("$.list.size()", json!({"list": [1, 2, 3]})).unwrap(),
        json!(3)
    );
    // The added methods are not enumerable: they do not show up in iteration or JSON.
    assert_eq!(
        eval(
            "var keys = []; for (var k in $.list) keys.push(k); keys",
            json!({"list": [7]})
        )
        .unwrap(),
        json!(["0"])
    );
}

#[test]
fn each_evaluation_starts_clean() {
    eval(
        "globalThis.leak = 1; Array.prototype.extra = 1; 0",
        json!({}),
    )
    .unwrap();
    assert_eq!(eval("typeof leak", json!({})).unwrap(), json!("undefined"));
    assert_eq!(eval("[].extra", json!({})).unwrap(), Value::Null);
    // Top-level const/let do not collide across evaluations.
    eval("const x = 1; x", json!({})).unwrap();
    eval("const x = 2; x", json!({})).unwrap();
}

#[test]
fn corpus_inline_expressions_run() {
    let def = corpus("test-harness/do_while_with_decision_task.json");
    let mut inlines = Vec::new();
    tasks_of_type(&def, "INLINE", &mut inlines);
    assert!(!inlines.is_empty());
    let get = inlines
        .iter()
        .find(|t| t["taskReferenceName"] == "GetNumberAtIndex")
        .expect("GetNumberAtIndex task");
    let mut input = obj(get["inputParameters"].clone());
    input.insert("list".into(), json!([{"number": 5}, {"number": 0}]));
    input.insert("iterator".into(), json!(1));
    assert_eq!(
        inline(&input, &ScriptLimits::default()),
        Outcome::Completed(obj(json!({"result": {"number": 5}})))
    );
    let compute = inlines
        .iter()
        .find(|t| t["taskReferenceName"] == "ComputeNumber")
        .expect("ComputeNumber task");
    let mut input = obj(compute["inputParameters"].clone());
    input.insert("number".into(), json!(5));
    assert_eq!(
        inline(&input, &ScriptLimits::default()),
        Outcome::Completed(obj(json!({"result": 15})))
    );

    let def = corpus("e2e/metadata/stackoverflower.json");
    let mut inlines = Vec::new();
    tasks_of_type(&def, "INLINE", &mut inlines);
    let input = obj(inlines[0]["inputParameters"].clone());
    assert_eq!(
        inline(&input, &ScriptLimits::default()),
        Outcome::Completed(obj(json!({"result": "stackoverflowing are you?"})))
    );
}

#[test]
fn corpus_lambda_runs() {
    let def = corpus("test-harness/simple_lambda_workflow_integration_test.json");
    let mut lambdas = Vec::new();
    tasks_of_type(&def, "LAMBDA", &mut lambdas);
    let mut input = obj(lambdas[0]["inputParameters"].clone());
    input.insert("input".into(), json!({"a": 1}));
    assert_eq!(
        lambda(&input, &ScriptLimits::default()),
        Outcome::Completed(obj(json!({"result": {"testvalue": true}})))
    );
    input.insert("input".into(), json!({"a": 2}));
    assert_eq!(
        lambda(&input, &ScriptLimits::default()),
        Outcome::Completed(obj(json!({"result": {"testvalue": false}})))
    );
}

#[test]
fn lambda_bodies_behave_like_conductor() {
    let limits = ScriptLimits::default();
    let run = |body: &str, extra: Value| {
        let mut input = obj(extra);
        input.insert("scriptExpression".into(), json!(body));
        lambda(&input, &limits)
    };
    assert_eq!(
        run("return $.index - 1;", json!({"index": 3})),
        Outcome::Completed(obj(json!({"result": 2})))
    );
    assert_eq!(
        run(
            "var i = 10; if ($.lambdaValue == 1){ return {testvalue: 'Lambda value was 1', iValue: i} } else { return {testvalue: 'Lambda value was NOT 1', iValue: i + 3} }",
            json!({"lambdaValue": 2})
        ),
        Outcome::Completed(obj(
            json!({"result": {"testvalue": "Lambda value was NOT 1", "iValue": 13}})
        ))
    );
    // A body that calls a function without returning its value yields null, as in Conductor.
    assert_eq!(
        run("function e() { return {testvalue: true}; } e();", json!({})),
        Outcome::Completed(obj(json!({"result": null})))
    );
    // A trailing line comment does not swallow the wrapper.
    assert_eq!(
        run("return 1; // done", json!({})),
        Outcome::Completed(obj(json!({"result": 1})))
    );
    let Outcome::Failed {
        reason, terminal, ..
    } = run("  ", json!({}))
    else {
        panic!("blank script must fail")
    };
    assert!(reason.contains("scriptExpression"), "{reason}");
    assert!(!terminal);
    let Outcome::Failed {
        reason,
        terminal,
        output,
    } = run("throw new Error('nope')", json!({}))
    else {
        panic!("throwing script must fail")
    };
    assert!(reason.contains("nope"), "{reason}");
    assert!(!terminal, "LAMBDA failures are retryable");
    assert_eq!(output["error"], json!(reason));
}

#[test]
fn inline_evaluators_and_input_errors() {
    let limits = ScriptLimits::default();
    let run = |v: Value| inline(&obj(v), &limits);
    assert_eq!(
        run(
            json!({"evaluatorType": "graaljs", "expression": "$.value1 + $.value2", "value1": 1, "value2": 2})
        ),
        Outcome::Completed(obj(json!({"result": 3})))
    );
    // evaluatorType defaults to javascript.
    assert_eq!(
        run(json!({"expression": "'hi ' + $.name", "name": "Ada"})),
        Outcome::Completed(obj(json!({"result": "hi Ada"})))
    );
    assert_eq!(
        run(
            json!({"evaluatorType": "value-param", "expression": "switchCaseValue", "switchCaseValue": {"k": 1}})
        ),
        Outcome::Completed(obj(json!({"result": {"k": 1}})))
    );
    assert_eq!(
        run(json!({"evaluatorType": "value-param", "expression": "absent"})),
        Outcome::Completed(obj(json!({"result": null})))
    );
    for (input, needle) in [
        (
            json!({"evaluatorType": "python", "expression": "1"}),
            "python",
        ),
        (
            json!({"evaluatorType": "", "expression": "1"}),
            "evaluatorType",
        ),
        (
            json!({"evaluatorType": 3, "expression": "1"}),
            "evaluatorType",
        ),
        (json!({"evaluatorType": "javascript"}), "expression"),
        (
            json!({"evaluatorType": "javascript", "expression": " "}),
            "expression",
        ),
        (json!({"expression": "function ("}), "syntax error"),
        (json!({"expression": "null.x"}), "TypeError"),
    ] {
        match run(input.clone()) {
            Outcome::Failed {
                reason,
                output,
                terminal,
            } => {
                assert!(reason.contains(needle), "{input}: {reason}");
                assert!(
                    terminal,
                    "{input}: INLINE input and script errors are terminal"
                );
                assert_eq!(output["error"], json!(reason));
            }
            other => panic!("{input}: expected a failure, got {other:?}"),
        }
    }
}

#[test]
fn inline_time_limit_is_retryable() {
    let outcome = inline(
        &obj(
            json!({"evaluatorType": "graaljs", "expression": "function e() { while(true){} }; e();"}),
        ),
        &tight(),
    );
    let Outcome::Failed {
        reason, terminal, ..
    } = outcome
    else {
        panic!("an endless loop must fail")
    };
    assert_eq!(reason, "script ran longer than 300 ms");
    assert!(!terminal);
}

#[test]
fn switch_labels() {
    let limits = ScriptLimits::default();
    let input = obj(json!({"param": 3, "case": "two", "number": 20}));
    assert_eq!(switch_case("$.param > 0", &input, &limits).unwrap(), "true");
    assert_eq!(
        switch_case(
            "$.case == 'one' ? 'one' : ($.case == 'two' ? 'two' : ($.case == 'three' ? 'three' : 'other'))",
            &input,
            &limits
        )
        .unwrap(),
        "two"
    );
    assert_eq!(
        switch_case("$.number < 15 ? 'LONG':'SHORT'", &input, &limits).unwrap(),
        "SHORT"
    );
    assert_eq!(switch_case("$.param * 2", &input, &limits).unwrap(), "6");
    assert_eq!(switch_case("$.param / 2", &input, &limits).unwrap(), "1.5");
    assert_eq!(switch_case("$.missing", &input, &limits).unwrap(), "null");
    assert_eq!(switch_case("null", &input, &limits).unwrap(), "null");
    let decision = obj(
        json!({"availableActions": ["redeliver", "redelivery"], "requestedAction": "redelivery"}),
    );
    assert_eq!(
        switch_case(
            r#"if ($.availableActions.indexOf($.requestedAction) >= 0) { "true" } else { "false" }"#,
            &decision,
            &limits
        )
        .unwrap(),
        "true"
    );
    assert!(matches!(
        switch_case("$.param >", &input, &limits),
        Err(ScriptError::Syntax { .. })
    ));
}

#[test]
fn loop_conditions_use_conductor_truthiness() {
    let limits = ScriptLimits::default();
    let input = json!({"LoopTask": {"iteration": 2}, "list": [1, 2, 3]});
    assert!(script::eval_bool("$.LoopTask['iteration'] < $.list.length", &input, &limits).unwrap());
    assert!(
        !script::eval_bool("$.LoopTask['iteration'] > $.list.length", &input, &limits).unwrap()
    );
    assert!(script::eval_bool("$.list.length", &input, &limits).unwrap());
    assert!(!script::eval_bool("'yes'", &input, &limits).unwrap());
}

#[test]
fn endless_loop_is_stopped_by_the_time_limit() {
    let err = script::eval("while (true) {}", &json!({}), &tight()).unwrap_err();
    assert_eq!(
        err,
        ScriptError::TimeLimit {
            limit: Duration::from_millis(300)
        }
    );
    assert_eq!(err.to_string(), "script ran longer than 300 ms");
    // The interrupt cannot be caught by the script.
    let err = script::eval(
        "for (;;) { try { while (true) {} } catch (e) {} }",
        &json!({}),
        &tight(),
    )
    .unwrap_err();
    assert!(matches!(err, ScriptError::TimeLimit { .. }), "{err}");
    // A catastrophic regular expression is interrupted too.
    let err =
        script::eval("/^(a+)+$/.test('a'.repeat(40) + 'b')", &json!({}), &tight()).unwrap_err();
    assert!(matches!(err, ScriptError::TimeLimit { .. }), "{err}");
    // The thread is healthy afterwards.
    assert_eq!(eval("1 + 1", json!({})).unwrap(), json!(2));
}

#[test]
fn memory_bomb_is_stopped_by_the_memory_limit() {
    let limits = tight();
    for bomb in [
        "var a = []; while (true) { a.push('xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' + a.length); }",
        "'x'.repeat(50 * 1000 * 1000)",
        "var o = {}; for (var i = 0; ; i++) { o['k' + i] = {i: i}; }",
        "new Array(1e9).fill(0)",
    ] {
        let err = script::eval(bomb, &json!({}), &limits).unwrap_err();
        assert_eq!(
            err,
            ScriptError::MemoryLimit {
                limit: limits.memory_bytes
            },
            "{bomb}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "script exceeded its memory limit of {} bytes",
                limits.memory_bytes
            )
        );
    }
    assert_eq!(eval("[1, 2].length", json!({})).unwrap(), json!(2));
}

#[test]
fn deep_recursion_is_stopped_by_the_stack_limit() {
    let limits = tight();
    let err = script::eval(
        "function f(n) { return f(n + 1) + 1; } f(0)",
        &json!({}),
        &limits,
    )
    .unwrap_err();
    assert_eq!(
        err,
        ScriptError::StackLimit {
            limit: limits.max_stack_bytes
        }
    );
    // Deeply nested data built by the script cannot overflow the result conversion.
    let err = script::eval(
        "var o = {}; for (var i = 0; i < 20000; i++) { o = {o: o}; } o",
        &json!({}),
        &limits,
    )
    .unwrap_err();
    assert!(matches!(err, ScriptError::StackLimit { .. }), "{err}");
    assert_eq!(eval("'ok'", json!({})).unwrap(), json!("ok"));
}

#[test]
fn syntax_errors_name_the_problem_and_line() {
    let err = eval("var a = 1;\nvar b = ;\n", json!({})).unwrap_err();
    let ScriptError::Syntax { message, line } = &err else {
        panic!("expected a syntax error, got {err:?}")
    };
    assert!(!message.is_empty());
    assert_eq!(*line, Some(2));
    assert!(
        err.to_string()
            .starts_with("syntax error in script at line 2: "),
        "{err}"
    );
    // LAMBDA bodies keep their line numbers.
    let err = script::eval_lambda(
        "var a = 1;\n\nreturn )",
        &json!({}),
        &ScriptLimits::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, ScriptError::Syntax { line: Some(3), .. }),
        "{err:?}"
    );
}

#[test]
fn thrown_exceptions_carry_their_message() {
    let err = eval(
        "var x = 1;\nthrow new Error('boom ' + $.id);",
        json!({"id": 7}),
    )
    .unwrap_err();
    assert_eq!(
        err,
        ScriptError::Thrown {
            message: "Error: boom 7".into(),
            line: Some(2)
        }
    );
    assert_eq!(err.to_string(), "script threw Error: boom 7 at line 2");
    let err = eval("throw 'plain'", json!({})).unwrap_err();
    assert_eq!(err.to_string(), "script threw plain");
    let err = eval("throw {code: 4}", json!({})).unwrap_err();
    assert_eq!(err.to_string(), r#"script threw {"code":4}"#);
    let err = eval("throw null", json!({})).unwrap_err();
    assert_eq!(err.to_string(), "script threw null");
    // A SyntaxError raised while running is an exception, not a syntax error in the script.
    let err = eval("JSON.parse('{')", json!({})).unwrap_err();
    assert!(
        matches!(&err, ScriptError::Thrown { message, .. } if message.starts_with("SyntaxError")),
        "{err:?}"
    );
}
