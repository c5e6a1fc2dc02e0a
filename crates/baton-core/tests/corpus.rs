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
