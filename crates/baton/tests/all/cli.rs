//! The command-line client against the real server.

use std::process::Command;

use crate::support::*;
use serde_json::{Value, json};

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

/// Runs baton and parses its JSON output (panicking with stderr when it fails).
fn baton_json(server: &Server, args: &[&str]) -> Value {
    let (ok, out, err) = baton(server, args);
    assert!(ok, "baton {args:?} failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

#[tokio::test]
async fn cli_operations_tasks_and_event_handlers() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let defs = dir.path().join("defs.json");
    std::fs::write(
        &defs,
        json!([
            {"name": "op_a", "retryCount": 0, "responseTimeoutSeconds": 30},
            {"name": "op_b", "retryCount": 0, "responseTimeoutSeconds": 30},
            {"name": "ops_wf", "version": 1, "tasks": [
                {"name": "op_a", "taskReferenceName": "a"},
                {"name": "op_b", "taskReferenceName": "b",
                 "inputParameters": {"from_a": "${a.output.v}"}}
            ]}
        ])
        .to_string(),
    )
    .unwrap();
    let (ok, _, err) = baton(&server, &["def", "apply", "-f", defs.to_str().unwrap()]);
    assert!(ok, "{err}");
    let start = |corr: &str| {
        baton_json(
            &server,
            &[
                "workflow",
                "start",
                "ops_wf",
                "--correlation-id",
                corr,
                "--json",
            ],
        )["workflowId"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let id = start("c-1");

    // The first task waits in its queue; nobody is subscribed.
    let queues = baton_json(
        &server,
        &["task", "queues", "--task-type", "op_a", "--json"],
    );
    assert_eq!(
        queues,
        json!([{"taskType": "op_a", "domain": "", "depth": 1, "subscribers": 0}])
    );
    let (ok, out, err) = baton(&server, &["task", "queues"]);
    assert!(ok, "{err}");
    assert!(out.contains("WAITING") && out.contains("op_a"), "{out}");

    // Tasks, then completing a by reference name with a log line.
    let tasks = baton_json(&server, &["workflow", "tasks", &id, "--json"]);
    assert_eq!(tasks["total"], 1);
    assert_eq!(tasks["tasks"][0]["referenceTaskName"], "a");
    let (ok, out, err) = baton(
        &server,
        &[
            "task",
            "update-by-ref",
            &id,
            "a",
            "--status",
            "completed",
            "--output",
            r#"{"v": 7}"#,
            "--log",
            "done by hand",
        ],
    );
    assert!(ok, "{err}");
    assert!(
        out.starts_with("task ") && out.trim().ends_with("updated"),
        "{out}"
    );
    let a_id = tasks["tasks"][0]["taskId"].as_str().unwrap().to_string();
    let (ok, _, err) = baton(&server, &["task", "log", &a_id, "another line"]);
    assert!(ok, "{err}");
    let logs = baton_json(&server, &["task", "logs", &a_id, "--json"]);
    assert_eq!(logs[0]["message"], "done by hand");
    assert_eq!(logs[1]["message"], "another line");
    let (ok, out, _) = baton(
        &server,
        &["workflow", "tasks", &id, "--status", "SCHEDULED"],
    );
    assert!(ok);
    assert!(
        out.contains(" b ") && out.contains("(1 of 1 tasks)"),
        "{out}"
    );

    // Skip b now: the workflow completes with its output.
    let (ok, out, err) = baton(
        &server,
        &[
            "workflow",
            "skip-task",
            &id,
            "b",
            "--output",
            r#"{"skipped": true}"#,
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("task b skipped"), "{out}");
    let w = baton_json(&server, &["workflow", "get", &id, "--json"]);
    assert_eq!(w["status"], "COMPLETED");
    assert_eq!(w["output"], json!({"skipped": true}));

    // Rerun from a with a new workflow input: RUNNING again, a queued anew.
    let (ok, out, err) = baton(
        &server,
        &[
            "workflow",
            "rerun",
            &id,
            "--task",
            &a_id,
            "--workflow-input",
            r#"{"n": 2}"#,
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("rerun from task"), "{out}");
    let w = baton_json(&server, &["workflow", "get", &id, "--json"]);
    assert_eq!(w["status"], "RUNNING");
    assert_eq!(w["input"], json!({"n": 2}));
    assert_ne!(w["tasks"][0]["taskId"], json!(a_id));
    let (ok, _, err) = baton(&server, &["workflow", "decide", &id]);
    assert!(ok, "{err}");
    let (ok, _, err) = baton(&server, &["workflow", "reset-callbacks", &id]);
    assert!(ok, "{err}");

    // Running ids and correlation lookups.
    let other = start("c-2");
    let running = baton_json(&server, &["workflow", "running", "ops_wf", "--json"]);
    assert_eq!(running["workflowIds"], json!([id, other]));
    let (ok, out, _) = baton(
        &server,
        &[
            "workflow",
            "running",
            "ops_wf",
            "--created-after",
            "2999-01-01T00:00:00Z",
        ],
    );
    assert!(ok && out.trim().is_empty(), "{out}");
    let by = baton_json(
        &server,
        &[
            "workflow",
            "by-correlation",
            "ops_wf",
            "c-1",
            "c-2",
            "c-3",
            "--json",
        ],
    );
    assert_eq!(by["c-1"][0]["workflowId"], json!(id));
    assert_eq!(by["c-2"][0]["workflowId"], json!(other));
    assert_eq!(by["c-3"], json!([]));

    // Bulk: one line per id; a failure makes the exit non-zero.
    let (ok, out, err) = baton(&server, &["workflow", "bulk", "pause", &id, &other]);
    assert!(ok, "{err}");
    assert_eq!(
        out.lines().filter(|l| l.ends_with(" ok")).count(),
        2,
        "{out}"
    );
    let (ok, out, err) = baton(&server, &["workflow", "bulk", "resume", &id, "nope-id"]);
    assert!(!ok);
    assert!(out.contains(&format!("{id} ok")), "{out}");
    assert!(out.contains("nope-id NOT_FOUND"), "{out}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("1 of 2 operations failed"), "{err}");
    let results = baton_json(
        &server,
        &[
            "workflow",
            "bulk",
            "terminate",
            &id,
            &other,
            "--reason",
            "bulk",
            "--json",
        ],
    );
    assert_eq!(results[0]["ok"], true);
    assert_eq!(results[1]["ok"], true, "{results}");
    let (ok, out, _) = baton(&server, &["workflow", "bulk", "pause", &id, "--json"]);
    assert!(!ok);
    let results: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(results[0]["code"], "FAILED_PRECONDITION");
    assert!(
        results[0]["message"]
            .as_str()
            .unwrap()
            .contains("TERMINATED"),
        "{results}"
    );

    // Execute until a task: a has no worker here, so nothing finishes in time.
    let (ok, _, err) = baton(
        &server,
        &[
            "workflow",
            "execute",
            "ops_wf",
            "--wait",
            "1",
            "--wait-until",
            "a",
        ],
    );
    assert!(!ok);
    assert!(
        err.contains("neither task a nor the workflow finished"),
        "{err}"
    );
    let (ok, _, err) = baton(
        &server,
        &[
            "workflow",
            "execute",
            "ops_wf",
            "--wait",
            "1",
            "--wait-until",
            "zz",
        ],
    );
    assert!(!ok);
    assert!(err.contains("NotFound") && err.contains("zz"), "{err}");

    // Event handlers: apply (add, then update), list, get, delete.
    let handlers = dir.path().join("handlers.json");
    let h = |active: bool| {
        json!({"name": "notify", "event": "conductor:ops_wf:done", "active": active,
               "actions": [{"action": "start_workflow", "start_workflow": {"name": "ops_wf"}}]})
    };
    std::fs::write(&handlers, json!([h(false)]).to_string()).unwrap();
    let (ok, out, err) = baton(
        &server,
        &["event-handler", "apply", "-f", handlers.to_str().unwrap()],
    );
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "event handler notify added");
    std::fs::write(&handlers, h(true).to_string()).unwrap();
    let (ok, out, err) = baton(
        &server,
        &["event-handler", "apply", "-f", handlers.to_str().unwrap()],
    );
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "event handler notify updated");
    let (ok, out, _) = baton(&server, &["event-handler", "list"]);
    assert!(ok);
    assert_eq!(out.trim(), "notify\tconductor:ops_wf:done\tactive");
    let got = baton_json(&server, &["event-handler", "get", "notify"]);
    assert_eq!(got, h(true));
    let listed = baton_json(
        &server,
        &[
            "event-handler",
            "list",
            "--event",
            "conductor:other",
            "--json",
        ],
    );
    assert_eq!(listed, json!([]));
    let (ok, out, _) = baton(&server, &["event-handler", "delete", "notify"]);
    assert!(ok);
    assert_eq!(out.trim(), "event handler notify deleted");

    // Errors: one line naming the problem, non-zero exit.
    std::fs::write(
        &handlers,
        json!({"name": "bad", "event": "nocolon", "actions": []}).to_string(),
    )
    .unwrap();
    let (ok, out, err) = baton(
        &server,
        &["event-handler", "apply", "-f", handlers.to_str().unwrap()],
    );
    assert!(!ok && out.is_empty());
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("$.event") && err.contains("$.actions"),
        "{err}"
    );
    let (ok, _, err) = baton(&server, &["event-handler", "get", "notify"]);
    assert!(
        !ok && err.contains("NotFound") && err.contains("notify"),
        "{err}"
    );
    let (ok, _, err) = baton(
        &server,
        &["task", "update-by-ref", &id, "a", "--status", "bogus"],
    );
    assert!(
        !ok && err.contains("--status") && err.contains("bogus"),
        "{err}"
    );
    let (ok, _, err) = baton(&server, &["workflow", "skip-task", &id, "nope"]);
    assert!(!ok && err.contains("FailedPrecondition"), "{err}");
}

#[tokio::test]
async fn cli_retries_a_failed_run() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let defs = dir.path().join("defs.json");
    std::fs::write(
        &defs,
        json!([
            {"name": "r_a", "retryCount": 0, "responseTimeoutSeconds": 30},
            {"name": "retry_wf", "version": 1, "tasks": [
                {"name": "r_a", "taskReferenceName": "a"}]}
        ])
        .to_string(),
    )
    .unwrap();
    let (ok, _, err) = baton(&server, &["def", "apply", "-f", defs.to_str().unwrap()]);
    assert!(ok, "{err}");
    let id = baton_json(&server, &["workflow", "start", "retry_wf", "--json"])["workflowId"]
        .as_str()
        .unwrap()
        .to_string();
    let (ok, _, err) = baton(
        &server,
        &[
            "task",
            "update-by-ref",
            &id,
            "a",
            "--status",
            "failed",
            "--reason",
            "broke",
        ],
    );
    assert!(ok, "{err}");
    let w = baton_json(&server, &["workflow", "get", &id, "--json"]);
    assert_eq!(w["status"], "FAILED", "{w}");
    let (ok, out, err) = baton(
        &server,
        &["workflow", "retry", &id, "--resume-subworkflow-tasks"],
    );
    assert!(ok, "{err}");
    assert!(out.contains("retried"), "{out}");
    let w = baton_json(&server, &["workflow", "get", &id, "--json"]);
    assert_eq!(w["status"], "RUNNING", "{w}");
    let tasks = baton_json(&server, &["workflow", "tasks", &id, "--json"]);
    assert_eq!(tasks["total"], 2, "{tasks}");
    // A retry of a running workflow is refused with a one-line error.
    let (ok, _, err) = baton(&server, &["workflow", "retry", &id]);
    assert!(!ok);
    assert!(err.contains("RUNNING") || err.contains("retry"), "{err}");
}
