//! `baton bench --protocol http`: the same workload over Conductor's REST API, with workers
//! that poll in batches and report each result with `update-v2` (which answers the next
//! task), as Conductor's own clients do.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::bench::{Shared, TASK_TYPE, now_us};

/// An HTTP client for the benchmark, over plain HTTP/1.1 with keep-alive.
pub(crate) fn client() -> anyhow::Result<reqwest::Client> {
    // TLS is never used here, but the client needs a crypto provider chosen to build.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()
        .context("cannot build the HTTP client")
}

/// Starts workflow `name` with input `{"n": n}` over HTTP; returns its id.
pub(crate) async fn start_one(
    http: &reqwest::Client,
    base: &str,
    name: &str,
    n: u64,
) -> anyhow::Result<String> {
    let r = http
        .post(format!("{base}/api/workflow"))
        .header("content-type", "application/json")
        .body(json!({"name": name, "input": {"n": n}}).to_string())
        .send()
        .await?;
    let status = r.status();
    let text = r.text().await?;
    if !status.is_success() {
        bail!("start answered {status}: {text}");
    }
    Ok(text)
}

/// One HTTP worker: polls up to `batch` tasks (waiting up to 100 ms), completes each with
/// `update-v2` and goes on with the task that answers, until the run is over.
pub(crate) async fn worker(
    base: String,
    batch: i32,
    last_ref: String,
    shared: Arc<Shared>,
) -> anyhow::Result<()> {
    let http = client()?;
    let poll_url =
        format!("{base}/api/tasks/poll/batch/{TASK_TYPE}?workerid=bench&count={batch}&timeout=100");
    let update_url = format!("{base}/api/tasks/update-v2");
    loop {
        let r = http.get(&poll_url).send().await?;
        if !r.status().is_success() {
            bail!("poll answered {}: {}", r.status(), r.text().await?);
        }
        let mut queue: Vec<Value> = serde_json::from_slice(&r.bytes().await?)?;
        while let Some(t) = queue.pop() {
            shared.first_task.get_or_init(Instant::now);
            shared.received_tasks.fetch_add(1, Ordering::Relaxed);
            if let Some(ready_ms) = t["scheduledTime"].as_i64() {
                shared.record_dispatch(((now_us() - ready_ms * 1000).max(1)) as u64);
            }
            let result = json!({
                "taskId": t["taskId"], "workflowInstanceId": t["workflowInstanceId"],
                "status": "COMPLETED", "workerId": "bench",
                "outputData": {"n": t["inputData"]["n"]},
            });
            let r = http
                .post(&update_url)
                .header("content-type", "application/json")
                .body(result.to_string())
                .send()
                .await?;
            let status = r.status();
            let body = r.bytes().await?;
            if !status.is_success() {
                shared.refused.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            shared.completed_tasks.fetch_add(1, Ordering::Relaxed);
            if t["referenceTaskName"] == last_ref.as_str()
                && let Some(wf) = t["workflowInstanceId"].as_str()
            {
                shared.workflow_done(wf);
            }
            if status == reqwest::StatusCode::OK && !body.is_empty() {
                queue.push(serde_json::from_slice(&body)?);
            }
        }
    }
}
