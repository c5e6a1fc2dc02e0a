//! `baton top` and the overview it reads, against the real binary: workflows run by a real
//! worker (one of them failing), then the overview over gRPC and HTTP and one frame of
//! `baton top --once`.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::*;
use baton_proto::v1 as pb;
use baton_proto::v1::monitor_service_client::MonitorServiceClient;
use serde_json::{Value, json};
use tonic::transport::Channel;

/// Runs `baton top` with `args`; returns success, stdout and stderr.
fn top(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .arg("top")
        .args(args)
        .output()
        .expect("run baton top");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Definitions, a worker for `top_task` that fails runs asked to fail, and load: five
/// completed runs, one failed, one waiting in the queue of `top_queued` (no worker).
/// Returns the failed run's id.
async fn load(ch: &Channel) -> String {
    register_task_defs(
        ch,
        json!([{"name": "top_task", "retryCount": 0, "responseTimeoutSeconds": 30},
               {"name": "top_queued", "retryCount": 0, "responseTimeoutSeconds": 30}]),
    )
    .await;
    register_workflow(
        ch,
        &json!({"name": "top_flow", "version": 1, "tasks": [
            {"name": "top_task", "taskReferenceName": "t",
             "inputParameters": {"fail": "${workflow.input.fail}"}}
        ]}),
    )
    .await;
    register_workflow(
        ch,
        &json!({"name": "top_wait_flow", "version": 1, "tasks": [
            {"name": "top_queued", "taskReferenceName": "q"}
        ]}),
    )
    .await;
    let (_w, _seen) = spawn_worker(
        ch.clone(),
        &["top_task"],
        4,
        Arc::new(|t| {
            if input_of(t)["fail"] == json!(true) {
                Action::FailTerminal("card declined by the test".into())
            } else {
                Action::Complete(json!({"ok": true}))
            }
        }),
    );
    let mut ok = Vec::new();
    for i in 0..5 {
        ok.push(start(ch, "top_flow", json!({"i": i, "fail": false})).await);
    }
    let failed = start(ch, "top_flow", json!({"fail": true})).await;
    for id in &ok {
        let w = wait_terminal(ch, id, 30).await;
        assert_eq!(status(&w), pb::WorkflowStatus::Completed, "{w:#?}");
    }
    let w = wait_terminal(ch, &failed, 30).await;
    assert_eq!(status(&w), pb::WorkflowStatus::Failed, "{w:#?}");
    start(ch, "top_wait_flow", json!({})).await;
    failed
}

/// Reads the overview over gRPC until `ready` holds (the failures come from the search
/// index, which commits about once a second).
async fn overview_until(
    ch: &Channel,
    what: &str,
    ready: impl Fn(&pb::GetOverviewResponse) -> bool,
) -> pb::GetOverviewResponse {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let o = MonitorServiceClient::new(ch.clone())
            .get_overview(pb::GetOverviewRequest { recent_failures: 0 })
            .await
            .expect("GetOverview")
            .into_inner();
        if ready(&o) {
            return o;
        }
        assert!(Instant::now() < deadline, "{what} never showed: {o:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn top_once_shows_queues_workers_throughput_and_failures() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    let failed = load(&ch).await;

    // One frame, read until the failure has reached the search index.
    let url = server.url();
    let deadline = Instant::now() + Duration::from_secs(30);
    let frame = loop {
        let (ok, out, err) = top(&["--once", "--server", &url]);
        assert!(ok, "baton top --once failed: {err}");
        if out.contains(&failed) && out.contains("top_queued") {
            break out;
        }
        assert!(Instant::now() < deadline, "no failure in the frame:\n{out}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    // Fixed size: 40 lines of at most 120 columns.
    assert_eq!(frame.lines().count(), 40, "{frame}");
    assert!(frame.lines().all(|l| l.chars().count() <= 120), "{frame}");
    for part in [
        "baton top",
        "Throughput",
        "Queues",
        "Workers (1)",
        "Recent failures",
        "rust-test-worker",
        "top_task",
        "FAILED",
        "top_flow v1",
    ] {
        assert!(frame.contains(part), "{part:?} missing from:\n{frame}");
    }

    // The failure's reason, as far as its column shows it.
    let reason = overview_until(&ch, "the failure", |o| !o.recent_failures.is_empty())
        .await
        .recent_failures[0]
        .reason
        .clone();
    assert!(reason.contains("card declined by the test"), "{reason}");
    let shown: String = reason.chars().take(30).collect();
    assert!(frame.contains(&shown), "{shown:?} missing from:\n{frame}");

    // Throughput after load: each figure is a rate then a total, both above zero.
    let figure = |name: &str| -> (f64, i64) {
        let line = frame
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("no {name:?} line in:\n{frame}"));
        let rest = &line[line.find(name).unwrap() + name.len()..];
        let mut words = rest.split_whitespace();
        let rate = words
            .next()
            .unwrap()
            .trim_end_matches("/s")
            .parse()
            .unwrap();
        assert_eq!(words.next(), Some("total"), "{line}");
        let total = words.next().unwrap().parse().unwrap();
        (rate, total)
    };
    let (rate, total) = figure("workflows started");
    assert!(rate > 0.0 && total == 7, "started: {rate}/s, {total}");
    let (rate, total) = figure("workflows ended");
    assert!(rate > 0.0 && total == 6, "ended: {rate}/s, {total}");
    let (rate, total) = figure("tasks ended");
    assert!(rate > 0.0 && total == 6, "tasks ended: {rate}/s, {total}");
    let ended = frame
        .lines()
        .find(|l| l.contains("workflows ended"))
        .unwrap();
    assert!(
        ended.contains("COMPLETED 5") && ended.contains("FAILED 1"),
        "{ended}"
    );

    // The queue row of the waiting task holds it; the worker's type has its queue too.
    let queued = frame
        .lines()
        .find(|l| l.contains("top_queued") && !l.contains("rust-test-worker"))
        .unwrap_or_else(|| panic!("no queue row for top_queued:\n{frame}"));
    let cols: Vec<&str> = queued
        .split(|c: char| c.is_whitespace() || c == '│')
        .filter(|s| !s.is_empty())
        .collect();
    let at = cols.iter().position(|c| *c == "top_queued").unwrap();
    assert_eq!(cols[at + 1..at + 4], ["-", "1", "0"], "{queued}");
    // The worker row: stream, its task type, credit back at 4, nothing in flight.
    let worker = frame
        .lines()
        .find(|l| l.contains("rust-test-worker"))
        .unwrap();
    assert!(
        worker.contains("stream") && worker.contains("top_task"),
        "{worker}"
    );

    // Sizes are checked.
    let (ok, out, _) = top(&[
        "--once", "--server", &url, "--width", "80", "--height", "20",
    ]);
    assert!(ok);
    assert_eq!(out.lines().count(), 20);
    assert!(out.lines().all(|l| l.chars().count() <= 80), "{out}");
}

#[tokio::test]
async fn overview_over_grpc_and_http() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    let failed = load(&ch).await;

    // gRPC: counters, latencies, queues, workers, the failure.
    let o = overview_until(&ch, "the failure", |o| {
        o.recent_failures.iter().any(|f| f.workflow_id == failed)
    })
    .await;
    assert_eq!(o.workflows_started, 7);
    let ended: Vec<(&str, i64)> = o
        .workflows_ended
        .iter()
        .map(|c| (c.status.as_str(), c.count))
        .collect();
    assert_eq!(ended, [("COMPLETED", 5), ("FAILED", 1)]);
    let tasks: i64 = o.tasks_ended.iter().map(|c| c.count).sum();
    assert_eq!(tasks, 6);
    let l = o
        .latencies
        .iter()
        .find(|l| l.task_type == "top_task")
        .expect("top_task latencies");
    assert_eq!(l.start_to_end.as_ref().unwrap().count, 6);
    assert_eq!(l.schedule_to_start.as_ref().unwrap().count, 6);
    let q = o
        .queues
        .iter()
        .find(|q| q.task_type == "top_queued")
        .expect("queue");
    assert_eq!((q.depth, q.subscribers), (1, 0));
    assert_eq!(o.workers.len(), 1);
    assert_eq!(o.workers[0].worker_id, "rust-test-worker");
    let f = &o.recent_failures[0];
    assert_eq!(f.status, pb::WorkflowStatus::Failed as i32);
    assert_eq!(f.workflow_type, "top_flow");
    assert!(f.reason.contains("card declined"), "{f:?}");
    assert!(o.recent_failures_available);
    assert!(o.server_time.unwrap().seconds >= o.start_time.unwrap().seconds);
    let bad = MonitorServiceClient::new(ch.clone())
        .get_overview(pb::GetOverviewRequest {
            recent_failures: 101,
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), tonic::Code::InvalidArgument, "{bad:?}");

    // HTTP: the same reading in JSON.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = reqwest::Client::new();
    let r = c
        .get(format!(
            "{}/api/admin/overview?recentFailures=5",
            server.url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    // Small enough to read every second over a slow link.
    assert!(body.len() < 4096, "{} bytes: {body}", body.len());
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(v["serverTime"].as_i64().unwrap() >= v["startTime"].as_i64().unwrap());
    assert_eq!(v["workflowsStarted"], 7);
    assert_eq!(v["workflowsEnded"], json!({"COMPLETED": 5, "FAILED": 1}));
    assert_eq!(v["tasksEnded"]["COMPLETED"], 5);
    let lat = v["latencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["taskType"] == "top_task")
        .expect("latency of top_task");
    for key in ["scheduleToStart", "startToEnd"] {
        let q = &lat[key];
        assert_eq!(q["count"], 6, "{lat}");
        for k in ["p50Ms", "p99Ms", "maxMs"] {
            assert!(q[k].as_i64().unwrap() >= 0, "{lat}");
        }
        assert!(q["p50Ms"].as_i64() <= q["p99Ms"].as_i64(), "{lat}");
    }
    let queue = v["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["taskType"] == "top_queued")
        .unwrap();
    assert_eq!(
        queue,
        &json!({"taskType": "top_queued", "depth": 1, "subscribers": 0})
    );
    let w = &v["workers"][0];
    assert_eq!(w["workerId"], "rust-test-worker");
    assert_eq!(w["kind"], "STREAM");
    assert_eq!(w["taskTypes"], json!(["top_task"]));
    assert!(w["credits"].is_i64() && w["inFlight"].is_i64() && w["lastSeenTime"].is_i64());
    let f = &v["recentFailures"][0];
    assert_eq!(f["workflowId"], failed.as_str());
    assert_eq!(f["workflowType"], "top_flow");
    assert_eq!(f["version"], 1);
    assert_eq!(f["status"], "FAILED");
    assert!(f["endTime"].is_i64());
    assert!(
        f["reason"].as_str().unwrap().contains("card declined"),
        "{f}"
    );
    assert_eq!(v["recentFailuresAvailable"], true);

    // Bad input is a 400.
    let r = c
        .get(format!(
            "{}/api/admin/overview?recentFailures=500",
            server.url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // The route is in the OpenAPI document.
    let doc = c
        .get(format!("{}/api/openapi.json", server.url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let doc: Value = serde_json::from_str(&doc).unwrap();
    assert!(
        doc["paths"]["/api/admin/overview"]["get"].is_object(),
        "overview missing from the document"
    );
    assert!(doc["components"]["schemas"]["Overview"].is_object());
}

#[test]
fn top_bad_input_is_one_clear_error() {
    // Unknown flag: clap's error names it, with a non-zero exit.
    let (ok, _, err) = top(&["--bogus"]);
    assert!(!ok);
    assert!(
        err.lines()
            .next()
            .unwrap_or_default()
            .contains("unexpected argument '--bogus'"),
        "{err}"
    );
    // A bad interval.
    let (ok, _, err) = top(&["--interval", "0", "--once"]);
    assert!(!ok);
    assert!(err.contains("--interval"), "{err}");

    // Nobody listens: one line saying so.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let (ok, out, err) = top(&["--once", "--server", &url]);
    assert!(!ok);
    assert!(out.is_empty(), "{out}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: cannot reach baton server at") && err.contains(&url),
        "{err}"
    );
    // Not a URL at all.
    let (ok, _, err) = top(&["--once", "--server", "not a url"]);
    assert!(!ok);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("bad server address"), "{err}");
}

/// The live view on a pseudo-terminal (util-linux `script`): it draws, `q` ends it with
/// success, and the terminal is given back (raw mode off, the alternate screen left).
#[tokio::test]
async fn top_live_quits_on_q_and_restores_the_terminal() {
    use std::io::{Read, Write};
    use std::process::Stdio;

    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: no `script` to give baton top a terminal");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let inner = format!(
        "stty cols 100 rows 30; exec {} top --server {} --interval 0.2",
        env!("CARGO_BIN_EXE_baton"),
        server.url()
    );
    let mut child = Command::new("script")
        .args(["-qec", &inner, "/dev/null"])
        .env("TERM", "xterm")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run script");
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    // Drawn: the alternate screen entered and the frame's blocks written.
    // (Words are written apart, with cursor moves between them.)
    let drawn = |out: &str| {
        ["\x1b[?1049h", "Throughput", "Queues", "Workers", "Recent"]
            .iter()
            .all(|p| out.contains(p))
    };
    while !drawn(&text(&seen)) {
        assert!(
            Instant::now() < deadline,
            "no frame drawn: {:?}",
            text(&seen)
        );
        if let Ok(b) = rx.recv_timeout(Duration::from_millis(100)) {
            seen.extend(b);
        }
    }
    child.stdin.as_mut().unwrap().write_all(b"q").unwrap();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "baton top did not quit on q");
        if let Ok(b) = rx.recv_timeout(Duration::from_millis(50)) {
            seen.extend(b);
        }
    };
    while let Ok(b) = rx.recv_timeout(Duration::from_millis(500)) {
        seen.extend(b);
    }
    assert!(status.success(), "exit {status:?}: {:?}", text(&seen));
    let out = text(&seen);
    let entered = out.find("\x1b[?1049h").unwrap();
    let left = out
        .rfind("\x1b[?1049l")
        .expect("alternate screen never left");
    assert!(left > entered, "{out:?}");
}

/// Runs `baton metrics` with `args`; returns success, stdout and stderr.
fn metrics_cli(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .arg("metrics")
        .args(args)
        .output()
        .expect("run baton metrics");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_metrics_history_counts_each_interval_on_every_surface() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    load(&ch).await;

    // Samples are taken every ten seconds: wait for the one that counts the load.
    let deadline = Instant::now() + Duration::from_secs(60);
    let history = loop {
        let h = MonitorServiceClient::new(ch.clone())
            .get_metrics_history(pb::GetMetricsHistoryRequest { minutes: 0 })
            .await
            .expect("GetMetricsHistory")
            .into_inner();
        let ended: i64 = h
            .samples
            .iter()
            .map(|s| s.workflows_completed + s.workflows_failed)
            .sum();
        // The run left waiting for a worker of top_queued starts after the others end:
        // the sample it is queued in may be a later one.
        let queued = h.samples.last().is_some_and(|s| s.queue_depth == 1);
        if ended == 6 && queued {
            break h;
        }
        assert!(Instant::now() < deadline, "the load never showed: {h:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(history.sample_every_ms, 10_000);
    let sum = |f: fn(&pb::MetricsSample) -> i64| history.samples.iter().map(f).sum::<i64>();
    assert_eq!(sum(|s| s.workflows_started), 7, "{history:#?}");
    assert_eq!(sum(|s| s.workflows_completed), 5);
    assert_eq!(sum(|s| s.workflows_failed), 1);
    assert_eq!(sum(|s| s.tasks_completed), 5);
    assert_eq!(sum(|s| s.tasks_failed), 1);
    let last = history.samples.last().unwrap();
    assert_eq!(last.workers, 1, "{last:#?}");
    let runs: i64 = history
        .samples
        .iter()
        .map(|s| s.run_time.unwrap_or_default().count)
        .sum();
    assert_eq!(runs, 6);
    // Consecutive samples are one interval apart.
    for pair in history.samples.windows(2) {
        let (a, b) = (pair[0].at.unwrap(), pair[1].at.unwrap());
        let gap = (b.seconds - a.seconds) * 1000 + i64::from(b.nanos - a.nanos) / 1_000_000;
        assert_eq!(gap, pair[1].interval_ms, "{pair:#?}");
    }

    // HTTP answers the same samples.
    let url = format!("{}/api/admin/metrics?minutes=60", server.url());
    let body: Value =
        serde_json::from_str(&reqwest::get(&url).await.unwrap().text().await.unwrap()).unwrap();
    let samples = body["samples"].as_array().unwrap();
    assert!(samples.len() >= history.samples.len(), "{body}");
    let total = |k: &str| samples.iter().map(|s| s[k].as_i64().unwrap()).sum::<i64>();
    assert_eq!(total("workflowsStarted"), 7, "{body}");
    assert_eq!(total("tasksFailed"), 1, "{body}");
    assert_eq!(body["sampleEveryMs"], 10_000);
    assert!(samples[0]["runTime"]["p99Ms"].is_i64(), "{body}");
    let bad = reqwest::get(format!("{}/api/admin/metrics?minutes=61", server.url()))
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("at most 60"));
    let bad = MonitorServiceClient::new(ch.clone())
        .get_metrics_history(pb::GetMetricsHistoryRequest { minutes: -1 })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    assert!(bad.message().contains("minutes"), "{bad:?}");

    // The CLI: a table and JSON.
    let url = server.url();
    let (ok, out, err) = metrics_cli(&["--server", &url, "--minutes", "60"]);
    assert!(ok, "{err}");
    assert!(out.starts_with("INTERVAL END"), "{out}");
    assert!(out.lines().count() > history.samples.len(), "{out}");
    let (ok, out, err) = metrics_cli(&["--server", &url, "--minutes", "60", "--json"]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let started: i64 = v["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["workflowsStarted"].as_i64().unwrap())
        .sum();
    assert_eq!(started, 7, "{out}");
    let (ok, _, err) = metrics_cli(&["--server", &url, "--minutes", "0"]);
    assert!(!ok && err.contains("minutes"), "{err}");
}
