//! Search end to end against the real binary: the same executions found over gRPC, HTTP
//! and the CLI; bad queries refused by position and name; the index after kill -9, after
//! its directory is lost and after it is damaged agrees with the store.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::*;
use baton_proto::v1 as pb;
use baton_proto::v1::task_service_client::TaskServiceClient;
use baton_proto::v1::workflow_service_client::WorkflowServiceClient;
use serde_json::{Value, json};
use tonic::transport::Channel;

fn search_req(query: &str) -> pb::SearchWorkflowsRequest {
    pb::SearchWorkflowsRequest {
        query: query.into(),
        size: Some(100),
        sort: vec!["workflowId:ASC".into()],
        ..Default::default()
    }
}

async fn search(ch: &Channel, req: pb::SearchWorkflowsRequest) -> pb::SearchWorkflowsResponse {
    WorkflowServiceClient::new(ch.clone())
        .search_workflows(req)
        .await
        .expect("search")
        .into_inner()
}

/// Waits until a search answers what `ready` wants (the index follows the store within a
/// moment), and returns that answer.
async fn search_until(
    ch: &Channel,
    req: pb::SearchWorkflowsRequest,
    what: &str,
    ready: impl Fn(&pb::SearchWorkflowsResponse) -> bool,
) -> pb::SearchWorkflowsResponse {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = search(ch, req.clone()).await;
        if ready(&r) {
            return r;
        }
        if Instant::now() > deadline {
            panic!("search never showed {what}: {r:#?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn ids(r: &pb::SearchWorkflowsResponse) -> Vec<String> {
    r.results.iter().map(|w| w.workflow_id.clone()).collect()
}

/// Registers `srch_charge` and two workflows of it; returns the ids started, by name.
async fn setup(ch: &Channel) {
    register_task_defs(
        ch,
        json!({"name": "srch_charge", "retryCount": 0, "responseTimeoutSeconds": 30}),
    )
    .await;
    for name in ["srch_order", "srch_invoice"] {
        register_workflow(
            ch,
            &json!({"name": name, "tasks": [
                {"name": "srch_charge", "taskReferenceName": "charge",
                 "inputParameters": {"n": "${workflow.input.n}", "customer": "${workflow.input.customer}"}}
            ], "outputParameters": {"receipt": "${charge.output.receipt}"}}),
        )
        .await;
    }
}

/// Even inputs complete with a receipt; odd ones fail for good with a reason.
fn handler() -> Handler {
    Arc::new(|t| {
        let input = input_of(t);
        let n = input["n"].as_i64().unwrap_or(0);
        if n % 2 == 0 {
            Action::Complete(json!({"receipt": format!("R-{n}")}))
        } else {
            Action::FailTerminal(format!(
                "card declined for {}",
                input["customer"].as_str().unwrap_or("?")
            ))
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_answers_over_grpc_http_and_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    setup(&ch).await;
    let (_w, _) = spawn_worker(ch.clone(), &["srch_charge"], 8, handler());

    let customers = ["ada", "grace", "edsger", "barbara", "donald", "frances"];
    let mut orders = Vec::new();
    for (n, c) in customers.iter().enumerate() {
        orders.push(start(&ch, "srch_order", json!({"n": n, "customer": c})).await);
    }
    let mut invoices = Vec::new();
    for n in 0..3 {
        invoices.push(start(&ch, "srch_invoice", json!({"n": n * 2, "customer": "zed"})).await);
    }
    let mut statuses: BTreeMap<String, pb::WorkflowStatus> = BTreeMap::new();
    for id in orders.iter().chain(&invoices) {
        statuses.insert(id.clone(), status(&wait_terminal(&ch, id, 30).await));
    }
    let failed: BTreeSet<String> = orders
        .iter()
        .filter(|id| statuses[*id] == pb::WorkflowStatus::Failed)
        .cloned()
        .collect();
    assert_eq!(failed.len(), 3);

    // The index catches up with every end.
    let all = search_until(
        &ch,
        search_req("workflowType IN (srch_order, srch_invoice)"),
        "9 ended runs",
        |r| r.total_hits == 9 && r.results.iter().all(|w| w.end_time.is_some()),
    )
    .await;
    for w in &all.results {
        assert_eq!(
            w.status, statuses[&w.workflow_id] as i32,
            "{}",
            w.workflow_id
        );
    }

    // Filters, combined.
    let r = search(
        &ch,
        search_req("workflowType = 'srch_order' AND status = FAILED"),
    )
    .await;
    assert_eq!(ids(&r).into_iter().collect::<BTreeSet<_>>(), failed);
    assert!(r.results.iter().all(|w| {
        w.reason_for_incompletion
            .as_deref()
            .unwrap_or("")
            .contains("card declined")
    }));
    assert!(
        r.results
            .iter()
            .all(|w| w.failed_reference_task_names == vec!["charge".to_string()])
    );
    let r = search(
        &ch,
        search_req("(workflowType = 'srch_invoice' OR status = FAILED) AND startTime > 0"),
    )
    .await;
    assert_eq!(r.total_hits, 6);
    let r = search(
        &ch,
        search_req("correlationId IS null AND workflowId STARTS_WITH ''"),
    )
    .await;
    assert!(r.total_hits >= 9);

    // Sort by several keys and page.
    let mut req = search_req("workflowType IN (srch_order, srch_invoice)");
    req.sort = vec!["workflowType:ASC".into(), "startTime:DESC".into()];
    let sorted = search(&ch, req.clone()).await;
    // Runs started in the same millisecond tie on startTime; ties go by id, ascending.
    let started: BTreeMap<String, (i64, i32)> = all
        .results
        .iter()
        .map(|w| {
            let t = w.start_time.unwrap_or_default();
            (w.workflow_id.clone(), (t.seconds, t.nanos))
        })
        .collect();
    let newest_first = |ids: &[String]| {
        let mut v = ids.to_vec();
        v.sort_by(|a, b| started[b].cmp(&started[a]).then_with(|| a.cmp(b)));
        v
    };
    let mut want = newest_first(&invoices);
    want.extend(newest_first(&orders));
    assert_eq!(
        ids(&sorted),
        want,
        "invoices first, newest first within a name"
    );
    req.start = 2;
    req.size = Some(3);
    let page = search(&ch, req).await;
    assert_eq!(page.total_hits, 9);
    assert_eq!(ids(&page), want[2..5].to_vec());

    // Free text: a customer in the input, a word of a failure reason, a receipt in the output.
    let mut req = search_req("");
    req.free_text = "edsger".into();
    assert_eq!(
        ids(&search(&ch, req.clone()).await),
        vec![orders[2].clone()]
    );
    req.free_text = "declined".into();
    assert_eq!(search(&ch, req.clone()).await.total_hits, 3);
    req.free_text = "R-4".into();
    let r = search(&ch, req).await;
    assert!(
        ids(&r).contains(&orders[4]) && ids(&r).contains(&invoices[2]),
        "{r:#?}"
    );

    // Tasks, and executions by their tasks.
    let tasks = TaskServiceClient::new(ch.clone())
        .search_tasks(pb::SearchTasksRequest {
            query: "taskType = 'srch_charge' AND status = FAILED_WITH_TERMINAL_ERROR".into(),
            size: Some(50),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(tasks.total_hits, 3);
    assert!(
        tasks
            .results
            .iter()
            .all(|t| failed.contains(&t.workflow_id) && t.start_time.is_some())
    );
    let mut by_tasks = search_req("status = FAILED_WITH_TERMINAL_ERROR");
    by_tasks.by_tasks = true;
    let r = search(&ch, by_tasks).await;
    assert_eq!(ids(&r).into_iter().collect::<BTreeSet<_>>(), failed);

    // Bad input over gRPC.
    for (q, want) in [
        ("status = ", "at character"),
        ("colour = 'red'", "unknown field 'colour'"),
        ("status = SLEEPING", "SLEEPING"),
        ("startTime > 'yesterday'", "epoch milliseconds"),
    ] {
        let err = WorkflowServiceClient::new(ch.clone())
            .search_workflows(search_req(q))
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument, "{q}");
        assert!(err.message().contains(want), "{q}: {}", err.message());
    }
    let mut big = search_req("");
    big.size = Some(5001);
    let err = WorkflowServiceClient::new(ch.clone())
        .search_workflows(big)
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(err.message().contains("5001"), "{}", err.message());

    // HTTP, in Conductor's shapes.
    let base = format!("{}/api", server.url());
    let client = http_client();
    let get = |path: String| {
        let client = client.clone();
        async move {
            let r = client.get(path).send().await.unwrap();
            let status = r.status();
            let text = r.text().await.unwrap();
            (
                status,
                serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text)),
            )
        }
    };
    let q = "workflowType = 'srch_order' AND status IN (FAILED)";
    let (code, body) = get(format!(
        "{base}/workflow/search?query={}&sort=startTime:ASC&size=2&freeText=*",
        urlencode(q)
    ))
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["totalHits"], 3);
    let first = &body["results"][0];
    assert_eq!(first["workflowType"], "srch_order");
    assert_eq!(first["status"], "FAILED");
    assert!(
        first["startTime"].as_str().unwrap().ends_with('Z'),
        "{first}"
    );
    assert!(
        first["input"].as_str().unwrap().contains("customer"),
        "{first}"
    );
    assert_eq!(first["failedReferenceTaskNames"], "charge");
    assert_eq!(body["results"].as_array().unwrap().len(), 2);
    let (code, body) = get(format!("{base}/workflow/search-v2?query={}", urlencode(q))).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["totalHits"], 3);
    assert!(failed.contains(body["results"][0]["workflowId"].as_str().unwrap()));
    assert_eq!(body["results"][0]["workflowName"], "srch_order");
    let (code, body) = get(format!(
        "{base}/workflow/search-by-tasks?query={}",
        urlencode("taskType = 'srch_charge' AND status = COMPLETED")
    ))
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["totalHits"], 6);
    let (code, body) = get(format!(
        "{base}/workflow/search-by-tasks-v2?query={}",
        urlencode("status = COMPLETED")
    ))
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["totalHits"], 6);
    let (code, body) = get(format!(
        "{base}/tasks/search?query={}&freeText=grace",
        urlencode("taskType = 'srch_charge'")
    ))
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["totalHits"], 1);
    assert_eq!(body["results"][0]["workflowId"], orders[1].as_str());
    assert_eq!(body["results"][0]["taskType"], "srch_charge");
    let (code, body) = get(format!(
        "{base}/tasks/search-v2?query={}",
        urlencode("status = FAILED_WITH_TERMINAL_ERROR")
    ))
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["totalHits"], 3);
    assert_eq!(body["results"][0]["referenceTaskName"], "charge");
    for (path, want) in [
        (
            format!(
                "{base}/workflow/search?query={}",
                urlencode("status IN (FAILED")
            ),
            "at character",
        ),
        (
            format!("{base}/workflow/search?query={}", urlencode("colour = 1")),
            "colour",
        ),
        (format!("{base}/tasks/search?size=5001"), "5001"),
        (format!("{base}/workflow/search?size=-1"), "size"),
        (
            format!("{base}/workflow/search?sort=shoeSize:ASC"),
            "shoeSize",
        ),
    ] {
        let (code, body) = get(path.clone()).await;
        assert_eq!(code, 400, "{path}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(want),
            "{path}: {body}"
        );
    }

    // The CLI: JSON for scripts, a table for people.
    let (ok, out, err) = cli(
        &server,
        &[
            "workflow",
            "list",
            "--name",
            "srch_order",
            "--status",
            "failed",
            "--json",
        ],
    );
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["totalHits"], 3);
    let listed: BTreeSet<String> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["workflowId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, failed);
    let (ok, out, err) = cli(
        &server,
        &[
            "workflow",
            "search",
            "workflowType = 'srch_invoice'",
            "--sort",
            "startTime:ASC",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.starts_with("WORKFLOW ID"), "{out}");
    for id in &invoices {
        assert!(out.contains(id.as_str()), "{out}");
    }
    assert!(out.trim_end().ends_with("1-3 of 3"), "{out}");
    let (ok, out, err) = cli(
        &server,
        &[
            "task",
            "search",
            "status = FAILED_WITH_TERMINAL_ERROR",
            "--json",
        ],
    );
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["totalHits"], 3);
    // A finished run keeps each attempt's times, worker and polls, shown by `workflow get`.
    let (ok, out, err) = cli(&server, &["workflow", "get", &orders[0], "--json"]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let t = &v["tasks"][0];
    for key in ["scheduledTime", "startTime", "endTime", "updateTime"] {
        assert!(t[key].as_i64().unwrap() > 0, "{key}: {t}");
    }
    assert!(t["startTime"].as_i64() <= t["endTime"].as_i64());
    assert_eq!(t["workerId"], "rust-test-worker");
    assert_eq!(t["pollCount"], 1);
    let (ok, out, err) = cli(&server, &["workflow", "get", &orders[1]]);
    assert!(ok, "{err}");
    assert!(
        out.contains("SCHEDULED")
            && out.contains("rust-test-worker")
            && out.contains("card declined"),
        "{out}"
    );
    let (ok, _, err) = cli(&server, &["workflow", "search", "status = = FAILED"]);
    assert!(!ok);
    assert!(err.contains("at character 10"), "{err}");
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Every execution the store holds, as the search index shows it, agrees with the store.
async fn index_agrees(ch: &Channel, ids: &[String]) {
    let mut want: BTreeMap<String, i32> = BTreeMap::new();
    for id in ids {
        want.insert(id.clone(), get(ch, id).await.status);
    }
    let mut req = search_req("workflowType = 'srch_order'");
    req.size = Some(5000);
    search_until(ch, req, "the store's statuses", |r| {
        r.total_hits as usize == want.len()
            && r.results
                .iter()
                .all(|w| want.get(&w.workflow_id) == Some(&w.status))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_index_agrees_with_the_store_after_kill9_loss_and_damage() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let ch = server.channel().await;
    setup(&ch).await;
    let (worker, _) = spawn_worker(ch.clone(), &["srch_charge"], 8, handler());
    let mut ids = Vec::new();
    for n in 0..150 {
        ids.push(
            start(
                &ch,
                "srch_order",
                json!({"n": n, "customer": format!("c{n}")}),
            )
            .await,
        );
    }
    // Killed while workers still report and the indexer is behind.
    server.kill9();
    worker.abort();

    let mut server = Server::start(dir.path());
    let ch = server.channel().await;
    let (worker, _) = spawn_worker(ch.clone(), &["srch_charge"], 8, handler());
    for id in &ids {
        wait_terminal(&ch, id, 60).await;
    }
    index_agrees(&ch, &ids).await;
    // More runs the index has not seen yet, then kill -9 again.
    for n in 150..200 {
        ids.push(
            start(
                &ch,
                "srch_order",
                json!({"n": n, "customer": format!("c{n}")}),
            )
            .await,
        );
    }
    server.kill9();
    worker.abort();

    // The index directory lost: rebuilt from the store.
    std::fs::remove_dir_all(dir.path().join("search")).unwrap();
    let mut server = Server::start(dir.path());
    let ch = server.channel().await;
    let (worker, _) = spawn_worker(ch.clone(), &["srch_charge"], 8, handler());
    for id in &ids {
        wait_terminal(&ch, id, 60).await;
    }
    index_agrees(&ch, &ids).await;
    server.kill9();
    worker.abort();

    // The index damaged: found at start and rebuilt, never trusted.
    std::fs::write(dir.path().join("search").join("meta.json"), b"{ damaged").unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    index_agrees(&ch, &ids).await;
}
