//! End to end against the real `baton server` binary: task definitions' rate limits and
//! concurrency limits, `taskToDomain` fallback lists, and priorities.
//!
//! Timing assertions count hand-outs per window with wide margins; they never compare
//! latency figures. Window boundaries, long polls across windows, re-registered limits and
//! slots held across a restart are tested on a virtual clock in
//! `crates/baton-server/tests/harness.rs`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::*;
use baton_grpc::convert::object_to_struct;
use baton_proto::v1 as pb;
use baton_proto::v1::task_service_client::TaskServiceClient;
use baton_proto::v1::workflow_service_client::WorkflowServiceClient;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tonic::transport::Channel;

/// What a test worker does with each task it gets.
#[derive(Clone, Copy, Debug)]
enum Mode {
    /// Work on it this long, then complete it.
    Complete(Duration),
    /// Keep it and never answer.
    Stall,
}

/// Hand-outs and completions as the workers saw them.
#[derive(Default)]
struct Log {
    /// When, by which worker, what.
    got: Vec<(Instant, &'static str, pb::TaskAssignment)>,
    /// When a worker sent a COMPLETED result, and for which task.
    done: Vec<(Instant, String)>,
}

/// Tasks being worked on right now across workers, and the most at any time.
#[derive(Default)]
struct Busy {
    now: AtomicUsize,
    max: AtomicUsize,
}

/// A worker on the Work stream of `domain` ("" = default queue).
fn stream_worker(
    ch: Channel,
    name: &'static str,
    types: &[&str],
    domain: &str,
    credits: i32,
    mode: Mode,
    (log, busy): (Arc<Mutex<Log>>, Arc<Busy>),
) -> tokio::task::JoinHandle<()> {
    let sub = pb::Subscribe {
        task_types: types.iter().map(|s| s.to_string()).collect(),
        domain: domain.to_string(),
        worker_id: name.to_string(),
        credits,
        ..Default::default()
    };
    tokio::spawn(async move {
        let (tx, rx) = mpsc::unbounded_channel::<pb::WorkRequest>();
        tx.send(pb::WorkRequest {
            kind: Some(pb::work_request::Kind::Subscribe(sub)),
        })
        .unwrap();
        let resp = TaskServiceClient::new(ch)
            .work(tokio_stream::wrappers::UnboundedReceiverStream::new(rx))
            .await
            .expect("work stream");
        let mut inbound = resp.into_inner();
        while let Some(Ok(msg)) = inbound.next().await {
            let Some(pb::work_response::Kind::Task(t)) = msg.kind else {
                continue;
            };
            log.lock()
                .unwrap()
                .got
                .push((Instant::now(), name, t.clone()));
            let n = busy.now.fetch_add(1, Ordering::SeqCst) + 1;
            busy.max.fetch_max(n, Ordering::SeqCst);
            let Mode::Complete(hold) = mode else {
                continue;
            };
            let (tx, log, busy) = (tx.clone(), log.clone(), busy.clone());
            tokio::spawn(async move {
                tokio::time::sleep(hold).await;
                busy.now.fetch_sub(1, Ordering::SeqCst);
                log.lock()
                    .unwrap()
                    .done
                    .push((Instant::now(), t.task_id.clone()));
                let _ = tx.send(pb::WorkRequest {
                    kind: Some(pb::work_request::Kind::Result(result_of(
                        &t,
                        json!({"by": name}),
                    ))),
                });
                let _ = tx.send(pb::WorkRequest {
                    kind: Some(pb::work_request::Kind::Credits(pb::GrantCredits {
                        credits: 1,
                    })),
                });
            });
        }
    })
}

fn result_of(t: &pb::TaskAssignment, output: Value) -> pb::TaskResult {
    pb::TaskResult {
        task_id: t.task_id.clone(),
        token: t.token.clone(),
        workflow_id: t.workflow_id.clone(),
        status: pb::TaskStatus::Completed as i32,
        output: Some(object_to_struct(output.as_object().unwrap())),
        worker_id: "unary-test".into(),
        ..Default::default()
    }
}

fn new_log() -> (Arc<Mutex<Log>>, Arc<Busy>) {
    (Arc::default(), Arc::default())
}

/// A server with `task_defs` registered and a one-task workflow `wf` over `task`.
async fn setup(dir: &std::path::Path, task_defs: Value, wf: &str, task: &str) -> (Server, Channel) {
    let server = Server::start(dir);
    let ch = server.channel().await;
    register_task_defs(&ch, task_defs).await;
    register_one_task_workflow(&ch, wf, task).await;
    (server, ch)
}

async fn register_one_task_workflow(ch: &Channel, wf: &str, task: &str) {
    register_workflow(
        ch,
        &json!({"name": wf, "version": 1, "schemaVersion": 2, "tasks": [
            {"name": task, "taskReferenceName": "only", "inputParameters": {"n": "${workflow.input.n}"}}
        ]}),
    )
    .await;
}

async fn start_with(
    ch: &Channel,
    name: &str,
    input: Value,
    priority: i32,
    task_to_domain: &[(&str, &str)],
) -> String {
    WorkflowServiceClient::new(ch.clone())
        .start_workflow(pb::StartWorkflowRequest {
            name: name.into(),
            input: Some(object_to_struct(input.as_object().unwrap())),
            priority,
            task_to_domain: task_to_domain
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        })
        .await
        .expect("start workflow")
        .into_inner()
        .workflow_id
}

async fn batch_poll(
    ch: &Channel,
    task_type: &str,
    domain: &str,
    count: i32,
) -> Vec<pb::TaskAssignment> {
    TaskServiceClient::new(ch.clone())
        .batch_poll(pb::BatchPollRequest {
            task_type: task_type.into(),
            domain: domain.into(),
            worker_id: "unary-test".into(),
            count,
            timeout_ms: 0,
        })
        .await
        .expect("batch poll")
        .into_inner()
        .tasks
}

async fn update(ch: &Channel, t: &pb::TaskAssignment) {
    TaskServiceClient::new(ch.clone())
        .update_task(pb::UpdateTaskRequest {
            result: Some(result_of(t, json!({"by": "unary"}))),
        })
        .await
        .expect("update task");
}

/// The only task of a one-task workflow.
async fn only_task(ch: &Channel, id: &str) -> pb::Task {
    let w = get(ch, id).await;
    w.tasks.last().cloned().expect("a task")
}

/// Waits until `cond` holds on the log, or panics after `secs`.
async fn wait_log(log: &Arc<Mutex<Log>>, secs: u64, what: &str, cond: impl Fn(&Log) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond(&log.lock().unwrap()) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Hand-out times in ms after the first one.
/// Tasks waiting in the queue of `task_type` without a domain.
async fn depth(ch: &Channel, task_type: &str) -> i64 {
    TaskServiceClient::new(ch.clone())
        .list_queues(pb::ListQueuesRequest {
            task_type: task_type.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .queues
        .iter()
        .find(|q| q.domain.is_empty())
        .map_or(0, |q| q.depth)
}

/// Waits until `n` stream workers are subscribed to the queue of `task_type` in `domain`.
async fn subscribed(ch: &Channel, task_type: &str, domain: &str, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let queues = TaskServiceClient::new(ch.clone())
            .list_queues(pb::ListQueuesRequest {
                task_type: task_type.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .queues;
        let have = queues
            .iter()
            .find(|q| q.domain == domain)
            .map_or(0, |q| q.subscribers);
        if have >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{have} of {n} workers subscribed to {task_type}/{domain}: {queues:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn offsets(log: &Log) -> Vec<u128> {
    let mut at: Vec<Instant> = log.got.iter().map(|g| g.0).collect();
    at.sort();
    at.iter().map(|t| (*t - at[0]).as_millis()).collect()
}

#[tokio::test]
async fn rate_limit_hands_out_at_most_n_per_window() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, ch) = setup(
        dir.path(),
        json!([{"name": "rl_task", "rateLimitPerFrequency": 2, "rateLimitFrequencyInSeconds": 1,
                "responseTimeoutSeconds": 30}]),
        "rl_wf",
        "rl_task",
    )
    .await;
    let mut ids = Vec::new();
    for n in 0..6 {
        ids.push(start(&ch, "rl_wf", json!({"n": n})).await);
    }
    let (log, busy) = new_log();
    // Two workers with plenty of credit: the limit is across workers.
    let _a = stream_worker(
        ch.clone(),
        "a",
        &["rl_task"],
        "",
        10,
        Mode::Complete(Duration::ZERO),
        (log.clone(), busy.clone()),
    );
    let _b = stream_worker(
        ch.clone(),
        "b",
        &["rl_task"],
        "",
        10,
        Mode::Complete(Duration::ZERO),
        (log.clone(), busy.clone()),
    );
    for id in &ids {
        let wf = wait_terminal(&ch, id, 30).await;
        assert_eq!(status(&wf), pb::WorkflowStatus::Completed, "{wf:#?}");
    }
    let log = log.lock().unwrap();
    let off = offsets(&log);
    println!("hand-outs (ms after the first): {off:?}");
    assert_eq!(off.len(), 6, "each task handed out once");
    // Windows of one second: at most 2 in the first, at most 4 in the first two, and the
    // last one only in the third window.
    assert!(off.iter().filter(|t| **t < 900).count() <= 2, "{off:?}");
    assert!(off.iter().filter(|t| **t < 1900).count() <= 4, "{off:?}");
    assert!(*off.last().unwrap() >= 1500, "{off:?}");
}

#[tokio::test]
async fn concurrency_limit_keeps_one_in_progress_across_workers() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, ch) = setup(
        dir.path(),
        json!([{"name": "cl_task", "concurrentExecLimit": 1, "responseTimeoutSeconds": 30}]),
        "cl_wf",
        "cl_task",
    )
    .await;
    let (log, busy) = new_log();
    let hold = Mode::Complete(Duration::from_millis(300));
    let _a = stream_worker(
        ch.clone(),
        "a",
        &["cl_task"],
        "",
        5,
        hold,
        (log.clone(), busy.clone()),
    );
    let _b = stream_worker(
        ch.clone(),
        "b",
        &["cl_task"],
        "",
        5,
        hold,
        (log.clone(), busy.clone()),
    );
    subscribed(&ch, "cl_task", "", 2).await;
    let mut ids = Vec::new();
    for n in 0..4 {
        ids.push(start(&ch, "cl_wf", json!({"n": n})).await);
    }
    for id in &ids {
        assert_eq!(
            status(&wait_terminal(&ch, id, 30).await),
            pb::WorkflowStatus::Completed
        );
    }
    assert_eq!(
        busy.max.load(Ordering::SeqCst),
        1,
        "never two in progress at once"
    );
    let log = log.lock().unwrap();
    assert_eq!(log.got.len(), 4);
    // Each next task went out soon after the previous one completed.
    let mut got: Vec<Instant> = log.got.iter().map(|g| g.0).collect();
    got.sort();
    let mut done: Vec<Instant> = log.done.iter().map(|d| d.0).collect();
    done.sort();
    for i in 1..got.len() {
        assert!(
            got[i] >= done[i - 1],
            "handed out before the previous one finished"
        );
        let gap = got[i] - done[i - 1];
        assert!(gap < Duration::from_secs(2), "next hand-out waited {gap:?}");
    }
    let workers: std::collections::HashSet<&str> = log.got.iter().map(|g| g.1).collect();
    println!("workers used: {workers:?}");
}

#[tokio::test]
async fn concurrency_slots_free_on_terminate_lease_expiry_and_broken_stream() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, ch) = setup(
        dir.path(),
        json!([{"name": "cl_free", "concurrentExecLimit": 1, "responseTimeoutSeconds": 2,
                "retryCount": 0}]),
        "cl_free_wf",
        "cl_free",
    )
    .await;
    let (log, busy) = new_log();
    let staller = stream_worker(
        ch.clone(),
        "staller",
        &["cl_free"],
        "",
        5,
        Mode::Stall,
        (log.clone(), busy.clone()),
    );
    let a = start(&ch, "cl_free_wf", json!({"n": "a"})).await;
    wait_log(&log, 10, "a handed out", |l| l.got.len() == 1).await;
    let b = start(&ch, "cl_free_wf", json!({"n": "b"})).await;
    // A start is answered after its first task went to a worker or into its queue.
    assert_eq!(depth(&ch, "cl_free").await, 1, "b waits for a's slot");
    assert_eq!(log.lock().unwrap().got.len(), 1);
    assert_eq!(
        task_status(&only_task(&ch, &b).await),
        pb::TaskStatus::Scheduled
    );

    // 1. Terminating a's workflow cancels its task and frees the slot.
    WorkflowServiceClient::new(ch.clone())
        .terminate_workflow(pb::TerminateWorkflowRequest {
            workflow_id: a.clone(),
            reason: "make room".into(),
        })
        .await
        .unwrap();
    wait_log(&log, 5, "b handed out after terminate", |l| {
        l.got.len() == 2
    })
    .await;
    assert_eq!(log.lock().unwrap().got[1].2.workflow_id, b);

    // 2. b's lease (2 s) runs out: the timed-out task frees the slot for c.
    let c = start(&ch, "cl_free_wf", json!({"n": "c"})).await;
    assert_eq!(depth(&ch, "cl_free").await, 1, "c waits for b's slot");
    wait_log(&log, 10, "c handed out after b's lease ran out", |l| {
        l.got.len() == 3
    })
    .await;
    assert_eq!(log.lock().unwrap().got[2].2.workflow_id, c);
    let wb = wait_terminal(&ch, &b, 10).await;
    assert_ne!(status(&wb), pb::WorkflowStatus::Completed);

    // 3. The staller's stream breaks while it holds c: c goes back and its slot with it;
    //    a working worker completes c and then d.
    staller.abort();
    let (log2, busy2) = new_log();
    let _w = stream_worker(
        ch.clone(),
        "worker",
        &["cl_free"],
        "",
        5,
        Mode::Complete(Duration::ZERO),
        (log2.clone(), busy2),
    );
    assert_eq!(
        status(&wait_terminal(&ch, &c, 10).await),
        pb::WorkflowStatus::Completed
    );
    let d = start(&ch, "cl_free_wf", json!({"n": "d"})).await;
    assert_eq!(
        status(&wait_terminal(&ch, &d, 10).await),
        pb::WorkflowStatus::Completed
    );
}

#[tokio::test]
async fn domain_fallback_picks_the_first_domain_with_workers() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    register_task_defs(
        &ch,
        json!([{"name": "dom_task", "responseTimeoutSeconds": 30}]),
    )
    .await;
    register_one_task_workflow(&ch, "dom_wf", "dom_task").await;
    let list = [("dom_task", "fast,slow,NO_DOMAIN")];

    // Only "slow" has a worker: the task goes there.
    let (log, busy) = new_log();
    let _slow = stream_worker(
        ch.clone(),
        "slow",
        &["dom_task"],
        "slow",
        5,
        Mode::Complete(Duration::ZERO),
        (log.clone(), busy.clone()),
    );
    subscribed(&ch, "dom_task", "slow", 1).await;
    let id = start_with(&ch, "dom_wf", json!({"n": 1}), 0, &list).await;
    let wf = wait_terminal(&ch, &id, 10).await;
    assert_eq!(status(&wf), pb::WorkflowStatus::Completed);
    assert_eq!(wf.tasks[0].domain, "slow");
    assert_eq!(output(&wf)["by"], json!("slow"));

    // With "fast" served too, the first entry wins.
    let _fast = stream_worker(
        ch.clone(),
        "fast",
        &["dom_task"],
        "fast",
        5,
        Mode::Complete(Duration::ZERO),
        (log.clone(), busy.clone()),
    );
    subscribed(&ch, "dom_task", "fast", 1).await;
    let id = start_with(&ch, "dom_wf", json!({"n": 2}), 0, &list).await;
    let wf = wait_terminal(&ch, &id, 10).await;
    assert_eq!(wf.tasks[0].domain, "fast");
    assert_eq!(output(&wf)["by"], json!("fast"));

    // The "*" entry covers tasks without their own.
    let id = start_with(&ch, "dom_wf", json!({"n": 3}), 0, &[("*", "nobody,slow")]).await;
    let wf = wait_terminal(&ch, &id, 10).await;
    assert_eq!(wf.tasks[0].domain, "slow");
}

#[tokio::test]
async fn domain_fallback_without_workers_takes_the_last_entry_and_counts_recent_polls() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    register_task_defs(
        &ch,
        json!([{"name": "idle_task", "responseTimeoutSeconds": 30}]),
    )
    .await;
    register_one_task_workflow(&ch, "idle_wf", "idle_task").await;

    // Nobody serves any domain of the list: the last entry.
    let id = start_with(&ch, "idle_wf", json!({}), 0, &[("idle_task", "alpha,beta")]).await;
    assert_eq!(only_task(&ch, &id).await.domain, "beta");
    let got = batch_poll(&ch, "idle_task", "beta", 1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].domain, "beta");
    update(&ch, &got[0]).await;

    // A last entry of NO_DOMAIN is the default queue.
    let id2 = start_with(
        &ch,
        "idle_wf",
        json!({}),
        0,
        &[("idle_task", "gamma,NO_DOMAIN")],
    )
    .await;
    assert_eq!(only_task(&ch, &id2).await.domain, "");
    let got = batch_poll(&ch, "idle_task", "", 1).await;
    assert_eq!(got.len(), 1);
    update(&ch, &got[0]).await;

    // A poll that found nothing still marks its domain as served for a while.
    assert!(batch_poll(&ch, "idle_task", "alpha", 1).await.is_empty());
    let id3 = start_with(&ch, "idle_wf", json!({}), 0, &[("idle_task", "alpha,beta")]).await;
    assert_eq!(only_task(&ch, &id3).await.domain, "alpha");
    let got = batch_poll(&ch, "idle_task", "alpha", 1).await;
    assert_eq!(got.len(), 1);
    update(&ch, &got[0]).await;
    for id in [id, id2, id3] {
        assert_eq!(
            status(&wait_terminal(&ch, &id, 10).await),
            pb::WorkflowStatus::Completed
        );
    }
}

#[tokio::test]
async fn higher_priority_workflows_get_their_tasks_out_first() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, ch) = setup(
        dir.path(),
        json!([{"name": "prio_task", "responseTimeoutSeconds": 30}]),
        "prio_wf",
        "prio_task",
    )
    .await;
    // Queued before any worker is there, in an order unlike their priorities.
    let mut by_id = HashMap::new();
    let mut started = Vec::new();
    for p in [10, 90, 50, 0, 50] {
        let id = start_with(&ch, "prio_wf", json!({"n": p}), p, &[]).await;
        by_id.insert(id.clone(), p);
        started.push(id);
    }
    // A stream worker taking one task at a time sees them by priority, older first on a tie.
    let (log, busy) = new_log();
    let _w = stream_worker(
        ch.clone(),
        "w",
        &["prio_task"],
        "",
        1,
        Mode::Complete(Duration::ZERO),
        (log.clone(), busy),
    );
    wait_log(&log, 10, "all five", |l| l.got.len() == 5).await;
    let order: Vec<i32> = log
        .lock()
        .unwrap()
        .got
        .iter()
        .map(|g| by_id[&g.2.workflow_id])
        .collect();
    assert_eq!(order, [90, 50, 50, 10, 0]);
    let fifties: Vec<String> = log
        .lock()
        .unwrap()
        .got
        .iter()
        .filter(|g| by_id[&g.2.workflow_id] == 50)
        .map(|g| g.2.workflow_id.clone())
        .collect();
    assert_eq!(fifties, [started[2].clone(), started[4].clone()]);

    // Batch polls honour priority too.
    register_one_task_workflow(&ch, "prio_poll_wf", "prio_poll").await;
    let mut by_id = HashMap::new();
    for p in [5, 99, 30] {
        let id = start_with(&ch, "prio_poll_wf", json!({"n": p}), p, &[]).await;
        by_id.insert(id, p);
    }
    let got = batch_poll(&ch, "prio_poll", "", 3).await;
    let order: Vec<i32> = got.iter().map(|t| by_id[&t.workflow_id]).collect();
    assert_eq!(order, [99, 30, 5]);
}
