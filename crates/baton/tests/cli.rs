//! The command-line client against the real server.

mod support;

use std::process::Command;

use serde_json::{Value, json};
use support::*;

fn baton(server: &Server, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(args)
        .env("BATON_SERVER", server.url())
        .output()
        .expect("run baton");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn cli_applies_definitions_starts_and_steers_workflows() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let defs = dir.path().join("defs.json");
    std::fs::write(
        &defs,
        json!([
            {"name": "cli_task", "retryCount": 0, "responseTimeoutSeconds": 30},
            {"name": "cli_wf", "version": 1, "tasks": [{"name": "cli_task", "taskReferenceName": "c"}]}
        ])
        .to_string(),
    )
    .unwrap();
    let (ok, out, err) = baton(&server, &["def", "apply", "-f", defs.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(
        out.contains("task cli_task applied") && out.contains("workflow cli_wf v1 applied"),
        "{out}"
    );

    let (ok, out, _) = baton(&server, &["def", "list", "--json"]);
    assert!(ok);
    let list: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list[0]["name"], "cli_wf");

    let (ok, out, _) = baton(&server, &["def", "get", "cli_task", "--task"]);
    assert!(ok);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["responseTimeoutSeconds"],
        30
    );

    let (ok, out, err) = baton(
        &server,
        &[
            "workflow",
            "start",
            "cli_wf",
            "--input",
            r#"{"a": 1}"#,
            "--json",
        ],
    );
    assert!(ok, "{err}");
    let id = serde_json::from_str::<Value>(&out).unwrap()["workflowId"]
        .as_str()
        .unwrap()
        .to_string();

    let (ok, _, err) = baton(&server, &["workflow", "pause", &id]);
    assert!(ok, "{err}");
    let (ok, out, _) = baton(&server, &["workflow", "get", &id, "--json"]);
    assert!(ok);
    let w: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(w["status"], "PAUSED");
    assert_eq!(w["input"], json!({"a": 1}));
    let (ok, _, _) = baton(&server, &["workflow", "resume", &id]);
    assert!(ok);
    let (ok, out, _) = baton(
        &server,
        &["workflow", "terminate", &id, "--reason", "enough"],
    );
    assert!(ok, "{out}");
    let (ok, out, _) = baton(&server, &["workflow", "get", &id]);
    assert!(ok);
    assert!(
        out.contains("TERMINATED") && out.contains("enough"),
        "{out}"
    );
    let (ok, _, _) = baton(&server, &["workflow", "restart", &id]);
    assert!(ok);
    let (_, out, _) = baton(&server, &["workflow", "get", &id, "--json"]);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["status"],
        "RUNNING"
    );

    // Errors: non-zero exit and one line naming the problem.
    let (ok, out, err) = baton(&server, &["workflow", "start", "missing_wf"]);
    assert!(!ok);
    assert!(out.is_empty());
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("missing_wf") && err.contains("NotFound"),
        "{err}"
    );
    let (ok, _, err) = baton(
        &server,
        &["workflow", "start", "cli_wf", "--input", "{oops"],
    );
    assert!(!ok);
    assert!(err.contains("--input is not valid JSON"), "{err}");
    let (ok, _, err) = baton(&server, &["workflow", "resume", &id]);
    assert!(!ok);
    assert!(err.contains("FailedPrecondition"), "{err}");
}
