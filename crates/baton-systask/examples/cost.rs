//! Prints what one small evaluation of each kind costs:
//! `cargo run --release -p baton-systask --example cost`.

use std::time::{Duration, Instant};

use baton_systask::jq::{self, JqLimits};
use baton_systask::{ScriptLimits, inline};
use serde_json::{Map, Value, json};

fn per_call(rounds: u32, mut f: impl FnMut()) -> Duration {
    f();
    let start = Instant::now();
    for _ in 0..rounds {
        f();
    }
    start.elapsed() / rounds
}

fn main() {
    let Value::Object(inline_input) = json!({
        "evaluatorType": "javascript",
        "expression": "function e() { if ($.value == 1) { return {result: true}; } else { return {result: false}; } } e();",
        "value": 1
    }) else {
        unreachable!()
    };
    let Value::Object(jq_input): Value = json!({
        "queryExpression": ".persons | map({user: {email, id}})",
        "persons": [{"email": "a@b", "id": 1}, {"email": "c@d", "id": 2}]
    }) else {
        unreachable!()
    };
    let script_limits = ScriptLimits::default();
    let jq_limits = JqLimits::default();
    let rounds = 500;
    let inline_cost = per_call(rounds, || {
        std::hint::black_box(inline(&inline_input, &script_limits));
    });
    let jq_cost = per_call(rounds, || {
        std::hint::black_box(jq::jq_transform(&jq_input, &jq_limits));
    });
    let empty = Map::new();
    let jq_identity = per_call(rounds, || {
        std::hint::black_box(jq::run(".", &Value::Object(empty.clone()), &jq_limits).ok());
    });
    println!("INLINE (small javascript):      {inline_cost:?} per evaluation");
    println!("JSON_JQ_TRANSFORM (small query): {jq_cost:?} per evaluation");
    println!("jq `.` on {{}}:                   {jq_identity:?} per evaluation");
}
