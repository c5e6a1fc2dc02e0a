//! Every workflow and task definition in the Conductor compatibility corpus must parse and
//! validate: Conductor accepts all of them.

use std::path::{Path, PathBuf};

use baton_core::validate::{parse_task_def, parse_workflow_def};
use serde_json::Value;

const TASK_DEF_KEYS: [&str; 12] = [
    "retryCount",
    "retryLogic",
    "retryDelaySeconds",
    "timeoutSeconds",
    "timeoutPolicy",
    "responseTimeoutSeconds",
    "pollTimeoutSeconds",
    "ownerEmail",
    "inputKeys",
    "outputKeys",
    "concurrentExecLimit",
    "rateLimitPerFrequency",
];

#[derive(Default, Debug)]
struct Counts {
    files: usize,
    unreadable: usize,
    workflow_defs: usize,
    embedded_workflow_defs: usize,
    task_defs: usize,
    payloads: usize,
    failures: Vec<String>,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conductor-corpus")
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("readable corpus folder")
        .map(|e| e.expect("readable entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "json") {
            out.push(p);
        }
    }
}

fn is_workflow_def(o: &serde_json::Map<String, Value>) -> bool {
    o.get("tasks").is_some_and(Value::is_array)
        && o.contains_key("name")
        && !o.contains_key("workflowId")
}

fn is_task_def(o: &serde_json::Map<String, Value>) -> bool {
    o.get("name").is_some_and(Value::is_string)
        && !o.contains_key("tasks")
        && TASK_DEF_KEYS.iter().any(|k| o.contains_key(*k))
}

fn check_workflow(v: &Value, what: &str, counts: &mut Counts) {
    if let Err(problems) = parse_workflow_def(v) {
        counts.failures.push(format!("{what}: {problems:?}"));
    }
}

fn classify(v: &Value, what: &str, counts: &mut Counts) {
    match v {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                classify(item, &format!("{what}[{i}]"), counts);
            }
        }
        Value::Object(o) if is_workflow_def(o) => {
            counts.workflow_defs += 1;
            check_workflow(v, what, counts);
        }
        Value::Object(o) if is_task_def(o) => {
            counts.task_defs += 1;
            if let Err(problems) = parse_task_def(v) {
                counts.failures.push(format!("{what}: {problems:?}"));
            }
        }
        Value::Object(o) => {
            // Executions carry the definition they ran as `workflowDefinition`; start
            // requests carry an inline one as `workflowDef`.
            let mut embedded = false;
            for key in ["workflowDefinition", "workflowDef"] {
                if let Some(d @ Value::Object(inner)) = o.get(key)
                    && is_workflow_def(inner)
                {
                    embedded = true;
                    counts.embedded_workflow_defs += 1;
                    check_workflow(d, &format!("{what}.{key}"), counts);
                }
            }
            if !embedded {
                counts.payloads += 1;
            }
        }
        _ => counts.payloads += 1,
    }
}

#[test]
fn corpus_definitions_parse_and_validate() {
    let dir = corpus_dir();
    if !dir.is_dir() {
        println!("corpus folder {} is absent: test skipped", dir.display());
        return;
    }
    let mut files = Vec::new();
    json_files(&dir, &mut files);
    let mut counts = Counts::default();
    for f in &files {
        counts.files += 1;
        let text = std::fs::read_to_string(f).expect("readable file");
        let what = f.strip_prefix(&dir).unwrap_or(f).display().to_string();
        match serde_json::from_str::<Value>(&text) {
            Ok(v) => classify(&v, &what, &mut counts),
            Err(_) => counts.unreadable += 1,
        }
    }
    println!(
        "corpus: {} files, {} workflow defs, {} embedded workflow defs, {} task defs, \
         {} payloads, {} not JSON",
        counts.files,
        counts.workflow_defs,
        counts.embedded_workflow_defs,
        counts.task_defs,
        counts.payloads,
        counts.unreadable
    );
    assert!(
        counts.failures.is_empty(),
        "{} definitions refused:\n{}",
        counts.failures.len(),
        counts.failures.join("\n")
    );
    // The corpus as shipped (conductor-oss commit b54f0d4): a changed count means files
    // went missing or stopped being recognised.
    assert_eq!(counts.files, 121, "{counts:?}");
    assert_eq!(counts.workflow_defs, 135, "{counts:?}");
    assert_eq!(counts.embedded_workflow_defs, 4, "{counts:?}");
    assert_eq!(counts.task_defs, 4, "{counts:?}");
    assert_eq!(counts.payloads, 4, "{counts:?}");
    assert_eq!(counts.unreadable, 1, "{counts:?}");
}

fn is_empty_default(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::String(_) => false,
    }
}

/// Every value of `original` is in `copy` at the same place (defaults may be added).
fn contained(original: &Value, copy: &Value, path: &str, missing: &mut Vec<String>) {
    match (original, copy) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                match b.get(k) {
                    Some(w) => contained(v, w, &format!("{path}.{k}"), missing),
                    // An explicit default (null, false, 0, [], {}) is left out when
                    // written back; it carries nothing.
                    None if is_empty_default(v) => {}
                    None => missing.push(format!("{path}.{k}")),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                contained(v, w, &format!("{path}[{i}]"), missing);
            }
        }
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => {}
        (a, b) if a == b => {}
        _ => missing.push(format!("{path} (changed)")),
    }
}

fn round_trip(v: &Value, what: &str, checked: &mut usize, missing: &mut Vec<String>) {
    match v {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                round_trip(item, &format!("{what}[{i}]"), checked, missing);
            }
        }
        Value::Object(o) if is_workflow_def(o) => {
            let def: baton_core::WorkflowDef = serde_json::from_value(v.clone()).unwrap();
            let copy = serde_json::to_value(&def).unwrap();
            contained(v, &copy, what, missing);
            let again: baton_core::WorkflowDef = serde_json::from_value(copy).unwrap();
            assert_eq!(again, def, "{what}: parse(serialize(def)) differs");
            *checked += 1;
        }
        Value::Object(o) if is_task_def(o) => {
            let def: baton_core::TaskDef = serde_json::from_value(v.clone()).unwrap();
            let copy = serde_json::to_value(&def).unwrap();
            contained(v, &copy, what, missing);
            *checked += 1;
        }
        _ => {}
    }
}

#[test]
fn corpus_definitions_round_trip_every_field() {
    let dir = corpus_dir();
    if !dir.is_dir() {
        println!("corpus not found at {}; skipped", dir.display());
        return;
    }
    let mut files = Vec::new();
    json_files(&dir, &mut files);
    let (mut checked, mut missing) = (0, Vec::new());
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let Ok(v) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        round_trip(&v, &f.display().to_string(), &mut checked, &mut missing);
    }
    println!("round-tripped {checked} definitions");
    assert!(checked >= 130, "only {checked} definitions found");
    assert!(missing.is_empty(), "fields lost or changed: {missing:#?}");
}

#[test]
fn unknown_fields_are_kept() {
    let v = serde_json::json!({
        "name": "x", "tasks": [{"name": "a", "taskReferenceName": "a", "futureField": {"k": 1}}],
        "someNewTopLevel": [1, 2]
    });
    let def: baton_core::WorkflowDef = serde_json::from_value(v.clone()).unwrap();
    let copy = serde_json::to_value(&def).unwrap();
    assert_eq!(copy["someNewTopLevel"], serde_json::json!([1, 2]));
    assert_eq!(copy["tasks"][0]["futureField"], serde_json::json!({"k": 1}));
}
