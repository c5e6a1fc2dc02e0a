//! Monitoring against the real binary: `/metrics` scraped and parsed while workflows run,
//! the worker list over gRPC, HTTP and the CLI, and JSON log lines.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::*;
use baton_proto::v1 as pb;
use baton_proto::v1::task_service_client::TaskServiceClient;
use baton_proto::v1::workflow_service_client::WorkflowServiceClient;
use serde_json::{Value, json};

/// One sample of the text exposition: name, labels, value.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses Prometheus' text format (version 0.0.4): comments, then `name{labels} value`.
/// Panics on a line it cannot read, so a malformed exposition fails the test.
fn parse_exposition(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, rest) = match line.find(['{', ' ']) {
            Some(i) => line.split_at(i),
            None => panic!("no value on line {line:?}"),
        };
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name on line {line:?}"
        );
        let mut labels = BTreeMap::new();
        let rest = if let Some(body) = rest.strip_prefix('{') {
            let mut chars = body.char_indices();
            let end;
            loop {
                // key
                let mut key = String::new();
                let mut c = chars.next();
                while let Some((_, ch)) = c {
                    if ch == '=' || ch == '}' {
                        break;
                    }
                    if ch != ',' && ch != ' ' {
                        key.push(ch);
                    }
                    c = chars.next();
                }
                match c {
                    Some((i, '}')) => {
                        end = i;
                        break;
                    }
                    Some((_, '=')) => {}
                    _ => panic!("unterminated labels on line {line:?}"),
                }
                assert_eq!(chars.next().map(|x| x.1), Some('"'), "line {line:?}");
                let mut value = String::new();
                loop {
                    match chars.next() {
                        Some((_, '\\')) => match chars.next() {
                            Some((_, 'n')) => value.push('\n'),
                            Some((_, ch)) => value.push(ch),
                            None => panic!("bad escape on line {line:?}"),
                        },
                        Some((_, '"')) => break,
                        Some((_, ch)) => value.push(ch),
                        None => panic!("unterminated label value on line {line:?}"),
                    }
                }
                labels.insert(key, value);
            }
            &body[end + 1..]
        } else {
            rest
        };
        let value = rest.split_whitespace().next().expect("a value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("bad value on line {line:?}")),
        };
        out.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    out
}

/// The parsed metrics of one scrape.
struct Scrape {
    text: String,
    samples: Vec<Sample>,
}

impl Scrape {
    /// The sum of the samples of `name` whose labels include `labels` (None: no such
    /// sample).
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let matching: Vec<f64> = self
            .samples
            .iter()
            .filter(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
            .collect();
        (!matching.is_empty()).then(|| matching.iter().sum())
    }

    fn val(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels).unwrap_or(0.0)
    }

    /// The label sets of a series.
    fn label_keys(&self, name: &str) -> Vec<Vec<String>> {
        let mut v: Vec<Vec<String>> = self
            .samples
            .iter()
            .filter(|s| s.name == name)
            .map(|s| s.labels.keys().cloned().collect())
            .collect();
        v.dedup();
        v
    }
}

async fn scrape(c: &reqwest::Client, server: &Server) -> Scrape {
    let r = c
        .get(format!("{}/metrics", server.url()))
        .send()
        .await
        .expect("scrape");
    assert_eq!(r.status(), 200);
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(ct.starts_with("text/plain"), "{ct}");
    let text = r.text().await.expect("body");
    let samples = parse_exposition(&text);
    Scrape { text, samples }
}

/// Scrapes until `ready` holds (or panics after 20 s), and returns that scrape.
async fn scrape_until(
    c: &reqwest::Client,
    server: &Server,
    what: &str,
    ready: impl Fn(&Scrape) -> bool,
) -> Scrape {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = scrape(c, server).await;
        if ready(&s) {
            return s;
        }
        if Instant::now() > deadline {
            panic!("{what} did not happen; last scrape:\n{}", s.text);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn baton_cli(server: &Server, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(args)
        .env("BATON_SERVER", server.url())
        .output()
        .expect("run baton");
    assert!(
        out.status.success(),
        "baton {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn metrics_carry_the_key_series_and_change_under_load() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    let c = http_client();
    register_task_defs(
        &ch,
        json!([{"name": "m_task", "responseTimeoutSeconds": 30},
               {"name": "m_hold", "responseTimeoutSeconds": 300}]),
    )
    .await;
    // A worker task, then a script, a jq job and an HTTP call (to the server itself).
    register_workflow(
        &ch,
        &json!({"name": "m_wf", "version": 1, "tasks": [
            {"name": "m_task", "taskReferenceName": "w"},
            {"name": "inl", "taskReferenceName": "inl", "type": "INLINE",
             "inputParameters": {"evaluatorType": "javascript", "expression": "1 + 1"}},
            {"name": "jq", "taskReferenceName": "jq", "type": "JSON_JQ_TRANSFORM",
             "inputParameters": {"a": 1, "queryExpression": ".a"}},
            {"name": "call", "taskReferenceName": "call", "type": "HTTP",
             "inputParameters": {"http_request": {"uri": format!("{}/health", server.url()), "method": "GET"}}}
        ]}),
    )
    .await;
    register_workflow(
        &ch,
        &json!({"name": "m_hold_wf", "version": 1, "tasks": [
            {"name": "m_hold", "taskReferenceName": "h"}
        ]}),
    )
    .await;

    let before = scrape(&c, &server).await;
    assert_eq!(
        before.get("baton_workflow_starts_total", &[("workflow", "m_wf")]),
        None
    );

    // Five starts wait in the queue of m_task: counted, and the depth shows them.
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(start(&ch, "m_wf", json!({"i": i})).await);
    }
    let s = scrape_until(&c, &server, "five tasks queued", |s| {
        s.val(
            "baton_queue_depth",
            &[("task_type", "m_task"), ("domain", "NO_DOMAIN")],
        ) == 5.0
    })
    .await;
    assert_eq!(
        s.val("baton_workflow_starts_total", &[("workflow", "m_wf")]),
        5.0
    );
    assert_eq!(
        s.val("baton_workers_connected", &[("task_type", "m_task")]),
        0.0
    );

    // A worker runs them to the end.
    let (_w, _seen) = spawn_worker(
        ch.clone(),
        &["m_task"],
        2,
        Arc::new(|_| Action::Complete(json!({"ok": true}))),
    );
    for id in &ids {
        let w = wait_terminal(&ch, id, 30).await;
        assert_eq!(status(&w), pb::WorkflowStatus::Completed, "{w:#?}");
    }
    // A second worker holds a task of another type: it is in flight.
    let (_h, held) = spawn_worker(ch.clone(), &["m_hold"], 1, Arc::new(|_| Action::Stall));
    let hold_id = start(&ch, "m_hold_wf", json!({})).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while held.lock().unwrap().tasks.is_empty() {
        assert!(Instant::now() < deadline, "the holding worker got nothing");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Counted from durable decisions: the ends come with the run's status.
    let s = scrape_until(&c, &server, "the worker's credit back at 2", |s| {
        s.val("baton_worker_credits", &[("task_type", "m_task")]) == 2.0
    })
    .await;
    assert_eq!(
        s.val(
            "baton_workflow_ends_total",
            &[("workflow", "m_wf"), ("status", "COMPLETED")]
        ),
        5.0
    );
    assert_eq!(
        s.val("baton_workflow_starts_total", &[("workflow", "m_hold_wf")]),
        1.0
    );
    assert_eq!(
        s.get("baton_workflow_ends_total", &[("workflow", "m_hold_wf")]),
        None
    );
    let sts = "baton_task_schedule_to_start_seconds_count";
    assert_eq!(s.val(sts, &[("task_type", "m_task")]), 5.0);
    assert_eq!(s.val(sts, &[("task_type", "m_hold")]), 1.0);
    assert_eq!(
        s.val(
            "baton_task_start_to_end_seconds_count",
            &[("task_type", "m_task")]
        ),
        5.0
    );
    assert_eq!(
        s.val(
            "baton_task_ends_total",
            &[("task_type", "m_task"), ("status", "COMPLETED")]
        ),
        5.0
    );
    assert_eq!(
        s.val(
            "baton_task_start_to_end_seconds_count",
            &[("task_type", "m_hold")]
        ),
        0.0
    );
    // Histograms have buckets ending in +Inf that agree with the count.
    assert_eq!(
        s.val(
            "baton_task_schedule_to_start_seconds_bucket",
            &[("task_type", "m_task"), ("le", "+Inf")]
        ),
        5.0
    );
    // Queues, workers, credit, last polls.
    let q = [("task_type", "m_task"), ("domain", "NO_DOMAIN")];
    assert_eq!(s.val("baton_queue_depth", &q), 0.0);
    assert_eq!(s.val("baton_workers_connected", &q), 1.0);
    assert_eq!(
        s.val("baton_worker_credits", &[("task_type", "m_hold")]),
        0.0
    );
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let last_poll = s.val("baton_queue_last_poll_timestamp_seconds", &q);
    assert!(
        (now_s - 120.0..=now_s + 5.0).contains(&last_poll),
        "{last_poll} vs {now_s}"
    );
    // The store: batch sizes, apply and flush times.
    assert!(s.val("baton_store_batch_writes_count", &[]) > 0.0);
    assert!(s.val("baton_store_batch_writes_sum", &[]) >= 20.0);
    assert!(s.val("baton_store_apply_seconds_count", &[]) > 0.0);
    assert!(s.val("baton_store_flush_seconds_count", &[]) > 0.0);
    assert!(s.val("baton_store_commit_wait_seconds_count", &[]) > 0.0);
    // Jobs: scripts, jq and HTTP calls, each five times, completed.
    for kind in ["script", "jq", "http"] {
        assert_eq!(
            s.val(
                "baton_job_duration_seconds_count",
                &[("kind", kind), ("status", "COMPLETED")]
            ),
            5.0,
            "{kind}"
        );
    }
    // gRPC: by method and code.
    assert_eq!(
        s.val(
            "baton_grpc_request_duration_seconds_count",
            &[
                ("method", "/baton.v1.WorkflowService/StartWorkflow"),
                ("code", "OK")
            ]
        ),
        6.0
    );
    // Series carry exactly their documented labels.
    assert_eq!(
        s.label_keys("baton_workflow_ends_total"),
        vec![vec!["status".to_string(), "workflow".to_string()]]
    );
    assert!(
        s.text
            .contains("# TYPE baton_task_schedule_to_start_seconds histogram"),
        "{}",
        s.text
    );
    assert!(s.text.contains("# HELP baton_workflow_starts_total "));

    // An error code and HTTP routes by their template and status.
    let missing = WorkflowServiceClient::new(ch.clone())
        .get_workflow(pb::GetWorkflowRequest {
            workflow_id: "nope".into(),
            include_tasks: false,
        })
        .await;
    assert_eq!(missing.unwrap_err().code(), tonic::Code::NotFound);
    for id in [&ids[0], &"nope".to_string()] {
        c.get(format!("{}/api/workflow/{id}", server.url()))
            .send()
            .await
            .unwrap();
    }
    let s = scrape(&c, &server).await;
    assert_eq!(
        s.val(
            "baton_grpc_request_duration_seconds_count",
            &[
                ("method", "/baton.v1.WorkflowService/GetWorkflow"),
                ("code", "NotFound")
            ]
        ),
        1.0
    );
    let route = ("route", "/api/workflow/{workflowId}");
    assert_eq!(
        s.val(
            "baton_http_request_duration_seconds_count",
            &[route, ("method", "GET"), ("status", "200")]
        ),
        1.0,
        "{}",
        s.text
    );
    assert_eq!(
        s.val(
            "baton_http_request_duration_seconds_count",
            &[route, ("status", "404")]
        ),
        1.0
    );
    // The HTTP task above called /health.
    assert!(
        s.val(
            "baton_http_request_duration_seconds_count",
            &[("route", "/health")]
        ) >= 5.0
    );

    // The worker list: gRPC, HTTP and the CLI agree.
    let r = c
        .get(format!(
            "{}/api/tasks/poll/batch/m_task?workerid=poller-1&count=1&timeout=0",
            server.url()
        ))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let workers = TaskServiceClient::new(ch.clone())
        .list_workers(pb::ListWorkersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .workers;
    let stream = workers
        .iter()
        .find(|w| w.task_types == ["m_task"] && w.kind == pb::WorkerKind::Stream as i32)
        .unwrap_or_else(|| panic!("{workers:#?}"));
    assert_eq!(
        (stream.worker_id.as_str(), stream.credits, stream.in_flight),
        ("rust-test-worker", 2, 0)
    );
    assert!(stream.connected_time.is_some() && stream.last_seen_time.is_some());
    let holder = workers
        .iter()
        .find(|w| w.task_types == ["m_hold"])
        .unwrap_or_else(|| panic!("{workers:#?}"));
    assert_eq!((holder.credits, holder.in_flight), (0, 1));
    let poller = workers
        .iter()
        .find(|w| w.worker_id == "poller-1")
        .unwrap_or_else(|| panic!("{workers:#?}"));
    assert_eq!(poller.kind, pb::WorkerKind::Poll as i32);
    assert_eq!(poller.task_types, ["m_task"]);
    assert!(poller.connected_time.is_none());
    let only_hold = TaskServiceClient::new(ch.clone())
        .list_workers(pb::ListWorkersRequest {
            task_type: "m_hold".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .workers;
    assert_eq!(only_hold.len(), 1, "{only_hold:#?}");

    let list: Value = c
        .get(format!("{}/api/tasks/workers", server.url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|t| serde_json::from_str(&t).expect("JSON"))
        .unwrap();
    let list = list.as_array().expect("an array");
    assert_eq!(list.len(), workers.len(), "{list:#?}");
    let hold = list
        .iter()
        .find(|w| w["taskTypes"] == json!(["m_hold"]))
        .expect("the holding worker");
    assert_eq!(hold["kind"], "STREAM");
    assert_eq!(hold["workerId"], "rust-test-worker");
    assert_eq!(hold["inFlight"], 1);
    assert!(hold["lastSeenTime"].as_i64().unwrap() > 0);
    let polled: Value = c
        .get(format!(
            "{}/api/tasks/workers?taskType=m_task",
            server.url()
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|t| serde_json::from_str(&t).expect("JSON"))
        .unwrap();
    assert_eq!(polled.as_array().unwrap().len(), 2, "{polled:#?}");
    assert!(
        polled
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["kind"] == "POLL")
    );

    // Both routes are in the OpenAPI document.
    let doc: Value = c
        .get(format!("{}/api/openapi.json", server.url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|t| serde_json::from_str(&t).expect("JSON"))
        .unwrap();
    for p in ["/api/tasks/workers", "/metrics"] {
        assert!(
            doc["paths"][p]["get"].is_object(),
            "{p} missing from the document"
        );
    }
    assert!(
        doc["components"]["schemas"]["WorkerInfo"]["properties"]["inFlight"].is_object(),
        "{doc:#}"
    );

    let table = baton_cli(&server, &["worker", "list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("WORKER") && lines[0].contains("IN FLIGHT"),
        "{table}"
    );
    assert!(
        lines.iter().any(|l| l.contains("rust-test-worker")
            && l.contains("stream")
            && l.contains("m_hold")),
        "{table}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("poller-1") && l.contains("poll")),
        "{table}"
    );
    let json_list: Value = serde_json::from_str(&baton_cli(
        &server,
        &["worker", "list", "--task-type", "m_hold", "--json"],
    ))
    .unwrap();
    assert_eq!(json_list.as_array().unwrap().len(), 1);
    assert_eq!(json_list[0]["inFlight"], 1);
    assert_eq!(json_list[0]["kind"], "STREAM");
    let none = baton_cli(&server, &["worker", "list", "--task-type", "nobody"]);
    assert!(none.contains("(no workers)"), "{none}");

    // Terminating the held run counts its end.
    WorkflowServiceClient::new(ch.clone())
        .terminate_workflow(pb::TerminateWorkflowRequest {
            workflow_id: hold_id.clone(),
            reason: "done".into(),
        })
        .await
        .unwrap();
    scrape_until(&c, &server, "the held run ended", |s| {
        s.val(
            "baton_workflow_ends_total",
            &[("workflow", "m_hold_wf"), ("status", "TERMINATED")],
        ) == 1.0
    })
    .await;
}

/// Starts a server with extra flags and environment, reads its address, and returns the
/// child with its standard error piped.
fn start_logging(
    dir: &std::path::Path,
    flags: &[&str],
    envs: &[(&str, &str)],
) -> (std::process::Child, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_baton"));
    cmd.args(["server", "--data-dir"])
        .arg(dir)
        .args(["--listen", "127.0.0.1:0"])
        .args(flags)
        .env("BATON_LOG", "info")
        .env_remove("BATON_LOG_FORMAT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start baton server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("baton server listening on ")
        .unwrap_or_else(|| panic!("unexpected output {line:?}"))
        .to_string();
    (child, addr)
}

/// Waits until `/health` answers 200: the server's loop runs, and with it the wait for
/// SIGTERM.
fn wait_healthy(addr: &str) {
    use std::io::Write;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(mut s) = std::net::TcpStream::connect(addr) {
            let _ = write!(
                s,
                "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            );
            let mut answer = String::new();
            let _ = s.read_to_string(&mut answer);
            if answer.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        assert!(Instant::now() < deadline, "{addr} never turned healthy");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// SIGTERM, wait for the exit, and return everything written to standard error.
fn stop_and_read_stderr(mut child: std::process::Child) -> String {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    err
}

#[test]
fn log_format_json_writes_one_json_object_per_line() {
    for (flags, envs) in [
        (vec!["--log-format", "json"], vec![]),
        (vec![], vec![("BATON_LOG_FORMAT", "json")]),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (child, addr) = start_logging(dir.path(), &flags, &envs);
        wait_healthy(&addr);
        let err = stop_and_read_stderr(child);
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        // At least "serving" and "shutting down".
        assert!(lines.len() >= 2, "{err}");
        let mut messages = Vec::new();
        for l in &lines {
            let v: Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}"));
            assert!(v["timestamp"].is_string() && v["level"].is_string(), "{l}");
            assert!(v["target"].is_string(), "{l}");
            messages.push(
                v["fields"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
        }
        assert!(messages.iter().any(|m| m == "serving"), "{messages:?}");
        assert!(
            messages.iter().any(|m| m == "shutting down"),
            "{messages:?}"
        );
    }
    // The default stays readable text.
    let dir = tempfile::tempdir().unwrap();
    let (child, addr) = start_logging(dir.path(), &[], &[]);
    wait_healthy(&addr);
    let err = stop_and_read_stderr(child);
    let first = err
        .lines()
        .find(|l| !l.trim().is_empty())
        .expect("a log line");
    assert!(serde_json::from_str::<Value>(first).is_err(), "{first}");
    assert!(first.contains("INFO"), "{first}");
}
