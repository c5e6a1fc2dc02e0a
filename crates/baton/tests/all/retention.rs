//! Retention on the real binary with a short age: finished runs vanish from reads and
//! search, land in the archive, load back through the CLI and HTTP and are found again;
//! a definition that keeps its runs forever keeps them; the settings and counts show over
//! gRPC, HTTP, the CLI and /metrics; bad settings and bad archives are refused by name.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::*;
use baton_proto::v1 as pb;
use baton_proto::v1::workflow_service_client::WorkflowServiceClient;
use serde_json::{Value, json};
use tonic::transport::Channel;

async fn exists(ch: &Channel, id: &str) -> bool {
    match WorkflowServiceClient::new(ch.clone())
        .get_workflow(pb::GetWorkflowRequest {
            workflow_id: id.into(),
            include_tasks: false,
        })
        .await
    {
        Ok(_) => true,
        Err(s) if s.code() == tonic::Code::NotFound => false,
        Err(s) => panic!("{s}"),
    }
}

async fn hits(ch: &Channel, query: &str) -> i64 {
    WorkflowServiceClient::new(ch.clone())
        .search_workflows(pb::SearchWorkflowsRequest {
            query: query.into(),
            size: Some(100),
            ..Default::default()
        })
        .await
        .expect("search")
        .into_inner()
        .total_hits
}

async fn retention(ch: &Channel) -> pb::GetRetentionResponse {
    WorkflowServiceClient::new(ch.clone())
        .get_retention(pb::GetRetentionRequest {})
        .await
        .expect("retention")
        .into_inner()
}

async fn eventually<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond().await {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn quick(name: &str, retention: Value) -> Value {
    json!({"name": name, "retention": retention, "tasks": [
        {"name": "s", "taskReferenceName": "s", "type": "SET_VARIABLE",
         "inputParameters": {"done": "${workflow.input.n}"}}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_retention_removes_archives_and_imports_back() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let server = Server::start_with(
        &dir.path().join("data"),
        "127.0.0.1:0",
        &[
            "--retention-max-age",
            "2s",
            "--retention-rate",
            "3",
            "--archive-dir",
            archive.to_str().unwrap(),
        ],
    );
    let ch = server.channel().await;
    register_workflow(&ch, &quick("ret_short", json!(null))).await;
    register_workflow(&ch, &quick("ret_kept", json!({"keepForever": true}))).await;

    let mut short = Vec::new();
    for n in 0..5 {
        let id = start(&ch, "ret_short", json!({"n": n})).await;
        wait_terminal(&ch, &id, 30).await;
        short.push(id);
    }
    let kept = start(&ch, "ret_kept", json!({"n": 9})).await;
    wait_terminal(&ch, &kept, 30).await;
    eventually("the runs are searchable", || async {
        hits(&ch, "workflowType = ret_short").await == 5
    })
    .await;

    // Two seconds after they ended, at three a second, they go: from reads and from search.
    eventually("the short runs are removed", || async {
        for id in &short {
            if exists(&ch, id).await {
                return false;
            }
        }
        true
    })
    .await;
    eventually("search forgets them", || async {
        hits(&ch, "workflowType = ret_short").await == 0
    })
    .await;
    let r = retention(&ch).await;
    assert_eq!(
        (r.max_age_seconds, r.keep_last, r.max_removals_per_sec),
        (2, 0, 3)
    );
    assert_eq!((r.removed, r.archived), (5, 5), "{r:?}");
    assert_eq!(r.archive_dir, archive.display().to_string());
    assert_eq!(
        r.overrides,
        [pb::RetentionOverride {
            workflow_name: "ret_kept".into(),
            max_age_seconds: 0,
            keep_last: 0
        }]
    );
    // Kept forever, however old.
    let passes = r.passes;
    eventually("two more passes", || async {
        retention(&ch).await.passes >= passes + 2
    })
    .await;
    assert!(exists(&ch, &kept).await);

    // The same over HTTP, the CLI and /metrics.
    let client = http_client();
    let body: Value = client
        .get(format!("{}/api/admin/retention", server.url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    assert_eq!(body["maxAgeSeconds"], 2);
    assert_eq!(body["removed"], 5);
    assert_eq!(body["overrides"][0]["workflowName"], "ret_kept");
    let (ok, out, err) = cli(&server, &["archive", "retention"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("default: finished runs removed 2s after they end"),
        "{out}"
    );
    assert!(
        out.contains("ret_kept: finished runs kept forever"),
        "{out}"
    );
    assert!(out.contains("5 removed, 5 archived"), "{out}");
    let metrics = client
        .get(format!("{}/metrics", server.url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("baton_retention_removed_total{workflow=\"ret_short\"} 5"),
        "{metrics}"
    );
    assert!(
        metrics.contains("baton_retention_archived_total 5"),
        "{metrics}"
    );

    // Load the archive back with the CLI: readable and searchable again, and it stays.
    let files: Vec<_> = std::fs::read_dir(&archive)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!files.is_empty());
    let mut args = vec!["archive", "import", "--batch", "2"];
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    args.extend(names.iter().map(String::as_str));
    let (ok, out, err) = cli(&server, &args);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "imported 5 executions (0 already present)");
    for id in &short {
        let w = get(&ch, id).await;
        assert_eq!(status(&w), pb::WorkflowStatus::Completed);
        assert_eq!(w.tasks.len(), 1, "{w:?}");
    }
    eventually("search finds the restored runs", || async {
        hits(&ch, "workflowType = ret_short AND status = COMPLETED").await == 5
    })
    .await;
    let passes = retention(&ch).await.passes;
    eventually("two more passes", || async {
        retention(&ch).await.passes >= passes + 2
    })
    .await;
    for id in &short {
        assert!(exists(&ch, id).await, "restored {id} was removed again");
    }

    // Over HTTP, the zstd file as it is: everything is there already.
    let raw = std::fs::read(&files[0]).unwrap();
    let r = client
        .post(format!("{}/api/admin/archive/import", server.url()))
        .header("content-type", "application/zstd")
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(v["imported"], 0);
    assert!(v["alreadyPresent"].as_u64().unwrap() >= 1);

    // Bad archives are refused by line, and nothing of them is written.
    let r = client
        .post(format!("{}/api/admin/archive/import", server.url()))
        .body("{\"workflow\": {\"workflowId\": \"x\"}}\nnot json\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .starts_with("line 1: not an archived execution"),
        "{v}"
    );
    assert!(!exists(&ch, "x").await);
    let r = client
        .post(format!("{}/api/admin/archive/import", server.url()))
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let junk = dir.path().join("junk.jsonl");
    std::fs::write(&junk, "{}\n").unwrap();
    let (ok, _, err) = cli(&server, &["archive", "import", junk.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("junk.jsonl, lines from 1: line 1: not an archived execution"),
        "{err}"
    );
    let (ok, _, err) = cli(&server, &["archive", "import", "/nonexistent/a.zst"]);
    assert!(!ok);
    assert!(err.contains("/nonexistent/a.zst"), "{err}");
}

#[test]
fn bad_retention_settings_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["server", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args(["--retention-max-age", "soon"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--retention-max-age") && err.contains("\"soon\" is not a duration"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_definition_with_bad_retention_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    let e = baton_proto::v1::metadata_service_client::MetadataServiceClient::new(ch.clone())
        .update_workflow_def(pb::UpdateWorkflowDefRequest {
            definitions: vec![text_def(&quick(
                "ret_bad",
                json!({"maxAge": "3 fortnights"}),
            ))],
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert!(
        e.message().contains("$.retention") && e.message().contains("3 fortnights"),
        "{}",
        e.message()
    );
}
