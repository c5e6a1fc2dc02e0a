//! Search latency over a large index: builds an index of synthetic finished workflows
//! (default 1,000,000, each with 3 task documents) and times three kinds of query,
//! interleaved, reporting p50/p99/max from an HDR histogram.
//!
//! `cargo bench -p baton-search --bench search`
//!
//! Environment:
//! - `BATON_SEARCH_BENCH_DOCS`: workflows to index (default 1,000,000).
//! - `BATON_SEARCH_BENCH_QUERIES`: queries of each kind (default 1,000).
//! - `BATON_SEARCH_BENCH_DIR`: keep the index in this directory and reuse it on the next
//!   run when it holds the same number of workflows (default: a temporary directory,
//!   removed at the end).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use baton_core::query::{Entity, Query, SortSpec, TaskSummary, WorkflowSummary};
use baton_core::{TaskStatus, WorkflowStatus};
use baton_search::{Opened, SearchIndex, SearchRequest};
use hdrhistogram::Histogram;
use serde_json::json;

const WORKFLOW_TYPES: [&str; 20] = [
    "order_fulfillment",
    "payment_capture",
    "refund_request",
    "invoice_generation",
    "shipment_tracking",
    "customer_onboarding",
    "kyc_verification",
    "subscription_renewal",
    "loyalty_points",
    "inventory_sync",
    "price_update",
    "fraud_review",
    "email_campaign",
    "account_closure",
    "return_processing",
    "warehouse_pick",
    "delivery_scheduling",
    "tax_calculation",
    "report_export",
    "data_backfill",
];

const TASK_NAMES: [&str; 30] = [
    "validate_input",
    "charge_card",
    "reserve_stock",
    "create_label",
    "notify_customer",
    "fetch_profile",
    "score_risk",
    "call_bureau",
    "write_ledger",
    "send_email",
    "send_sms",
    "update_crm",
    "compute_tax",
    "render_pdf",
    "upload_s3",
    "lookup_price",
    "apply_discount",
    "sync_erp",
    "check_address",
    "book_courier",
    "refund_card",
    "close_account",
    "archive_records",
    "publish_event",
    "aggregate_rows",
    "export_csv",
    "verify_document",
    "match_sanctions",
    "allocate_bin",
    "pick_items",
];

const FIRST: [&str; 40] = [
    "Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Ava", "Elijah", "Sophia", "Mateo",
    "Isabella", "Lucas", "Mia", "Levi", "Harper", "Ezra", "Evelyn", "Asher", "Luna", "James",
    "Aiko", "Kenji", "Priya", "Arjun", "Fatima", "Omar", "Chen", "Wei", "Ingrid", "Lars", "Sofia",
    "Diego", "Chiara", "Marco", "Zanele", "Thabo", "Anya", "Dmitri", "Nora", "Felix",
];

const LAST: [&str; 40] = [
    "Smith",
    "Johnson",
    "Garcia",
    "Martinez",
    "Brown",
    "Davis",
    "Lopez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Walker",
    "Tanaka",
    "Suzuki",
    "Sharma",
    "Patel",
    "Haddad",
    "Nasser",
    "Wang",
    "Zhang",
    "Larsen",
    "Nilsson",
    "Rossi",
    "Bianchi",
    "Fernandez",
    "Gomez",
    "Dlamini",
    "Nkosi",
    "Ivanova",
    "Petrov",
    "Schmidt",
    "Weber",
];

const REASONS: [&str; 6] = [
    "card declined: insufficient funds",
    "address could not be verified",
    "courier API returned 503 Service Unavailable",
    "document expired",
    "timeout waiting for bureau response",
    "stock reservation conflict",
];

const CUSTOMERS: u64 = 100_000;
const DAY_MS: i64 = 86_400_000;
const SPAN_MS: i64 = 30 * DAY_MS;
/// 2026-11-01T00:00:00Z
const T0: i64 = 1_793_491_200_000;

/// splitmix64: deterministic and dependency free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn uuid(&mut self) -> String {
        let a = self.next();
        let b = self.next();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            (b >> 48) & 0x3fff | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }
}

fn customer_name(c: u64) -> String {
    let f = FIRST[(c % 40) as usize];
    let l = LAST[((c / 40) % 40) as usize];
    format!("{f} {l}")
}

/// One finished workflow and its three task instances.
fn record(rng: &mut Rng, i: u64) -> (WorkflowSummary, Vec<TaskSummary>) {
    let ty = rng.below(WORKFLOW_TYPES.len() as u64) as usize;
    let roll = rng.below(100);
    let status = match roll {
        0..=89 => WorkflowStatus::Completed,
        90..=96 => WorkflowStatus::Failed,
        _ => WorkflowStatus::Terminated,
    };
    let start = T0 + rng.below(SPAN_MS as u64) as i64;
    let customer = rng.below(CUSTOMERS);
    let id = rng.uuid();
    let amount = rng.below(100_000) as f64 / 100.0;
    let currency = ["EUR", "USD", "GBP", "JPY"][(customer % 4) as usize];
    let input = json!({
        "customerId": format!("cust-{customer}"),
        "customerName": customer_name(customer),
        "orderId": format!("ord-{i}"),
        "amount": amount,
        "currency": currency,
        "items": 1 + rng.below(9),
    });
    let failed_at = (status != WorkflowStatus::Completed).then(|| rng.below(3) as usize);
    let reason = (status == WorkflowStatus::Failed)
        .then(|| REASONS[rng.below(REASONS.len() as u64) as usize].to_string());
    let mut tasks = Vec::with_capacity(3);
    let mut t = start;
    let mut failed_refs = Vec::new();
    let mut failed_names = Vec::new();
    for j in 0..3usize {
        let name = TASK_NAMES[(ty * 3 + j) % TASK_NAMES.len()];
        let sched = t + 1 + rng.below(20) as i64;
        let wait = rng.below(200) as i64;
        let run = 5 + rng.below(2_000) as i64;
        let (tstatus, started, ended, treason) = match failed_at {
            Some(k) if j == k && status == WorkflowStatus::Failed => (
                TaskStatus::Failed,
                Some(sched + wait),
                Some(sched + wait + run),
                reason.clone(),
            ),
            Some(k) if j == k => (
                TaskStatus::Canceled,
                Some(sched + wait),
                Some(sched + wait + run),
                Some("workflow terminated".to_string()),
            ),
            Some(k) if j > k => (TaskStatus::Canceled, None, Some(sched + 1), None),
            _ => (
                TaskStatus::Completed,
                Some(sched + wait),
                Some(sched + wait + run),
                None,
            ),
        };
        if tstatus == TaskStatus::Failed {
            failed_refs.push(format!("{name}_ref"));
            failed_names.push(name.to_string());
        }
        let end = ended.unwrap_or(sched);
        t = end;
        tasks.push(TaskSummary {
            workflow_id: id.clone(),
            workflow_type: WORKFLOW_TYPES[ty].to_string(),
            correlation_id: Some(format!("ord-{i}")),
            scheduled_time: sched,
            start_time: started,
            update_time: end,
            end_time: ended,
            status: tstatus,
            reason_for_incompletion: treason,
            execution_time: started.zip(ended).map(|(s, e)| e - s),
            queue_wait_time: started.map(|s| s - sched),
            task_def_name: name.to_string(),
            task_type: name.to_string(),
            input: json!({"customerId": format!("cust-{customer}"), "step": j}),
            output: if tstatus == TaskStatus::Completed {
                json!({"ok": true, "ref": format!("r{:x}", rng.next() >> 40)})
            } else {
                json!({})
            },
            task_id: rng.uuid(),
            workflow_priority: 0,
            domain: None,
        });
    }
    let end = t + 1;
    let output = if status == WorkflowStatus::Completed {
        json!({"result": "ok", "receipt": format!("rcpt-{i}")})
    } else {
        json!({})
    };
    let input_size = input.to_string().len() as i64;
    let output_size = output.to_string().len() as i64;
    let w = WorkflowSummary {
        workflow_type: WORKFLOW_TYPES[ty].to_string(),
        version: 1 + (ty % 3) as i32,
        workflow_id: id,
        correlation_id: Some(format!("ord-{i}")),
        start_time: start,
        update_time: end,
        end_time: Some(end),
        status,
        input,
        output,
        reason_for_incompletion: reason,
        execution_time: Some(end - start),
        event: None,
        failed_reference_task_names: failed_refs,
        failed_task_names: failed_names,
        priority: 0,
        created_by: None,
        task_to_domain: BTreeMap::new(),
        idempotency_key: None,
        input_size,
        output_size,
    };
    (w, tasks)
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// Bytes of the segments the last commit lists, and their number (files left by merges
/// that a dropped writer cut short are not counted: the next commit removes them).
fn dir_size(dir: &Path) -> (u64, usize) {
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("meta.json")).expect("read meta.json"))
            .expect("parse meta.json");
    let live: std::collections::BTreeSet<String> = meta["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .filter_map(|s| s["segment_id"].as_str())
        .map(|id| id.replace('-', ""))
        .collect();
    let mut bytes = 0;
    for e in std::fs::read_dir(dir).expect("read index dir").flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if let Some((stem, _)) = name.split_once('.')
            && live.contains(stem)
            && let Ok(m) = e.metadata()
        {
            bytes += m.len();
        }
    }
    (bytes, live.len())
}

fn build(dir: &Path, docs: u64, identity: &str) -> SearchIndex {
    let (index, opened) = SearchIndex::open(Some(dir), identity).expect("open index");
    if opened == Opened::Current && index.workflow_count().expect("count") == docs {
        println!("reusing the index in {}", dir.display());
        return index;
    }
    println!(
        "building an index of {docs} workflows x (1 + 3 task) documents in {}",
        dir.display()
    );
    let mut rng = Rng(42);
    let started = Instant::now();
    let mut commits = Duration::ZERO;
    let batch = 100_000;
    for i in 0..docs {
        let (w, tasks) = record(&mut rng, i);
        index.put(&w, &tasks).expect("put");
        if (i + 1) % batch == 0 || i + 1 == docs {
            let c = Instant::now();
            index.commit().expect("commit");
            commits += c.elapsed();
            println!(
                "  {:>9} workflows  {:>6.1} s",
                i + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    let took = started.elapsed();
    println!(
        "built in {:.1} s ({:.0} workflows/s, {:.0} documents/s; commits {:.1} s of it)",
        took.as_secs_f64(),
        docs as f64 / took.as_secs_f64(),
        (docs * 4) as f64 / took.as_secs_f64(),
        commits.as_secs_f64()
    );
    // Reopen as a server would at start: the writer's background merges end with it.
    drop(index);
    let c = Instant::now();
    let (index, opened) = SearchIndex::open(Some(dir), identity).expect("reopen index");
    assert_eq!(opened, Opened::Current, "index not current after build");
    println!("reopened in {:.2} s", c.elapsed().as_secs_f64());
    index
}

struct Kind {
    name: &'static str,
    hist: Histogram<u64>,
    hits: u64,
    returned: u64,
}

impl Kind {
    fn new(name: &'static str) -> Kind {
        Kind {
            name,
            hist: Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram"),
            hits: 0,
            returned: 0,
        }
    }
}

fn main() {
    // cargo bench passes --bench; nothing else is taken from the command line.
    let docs = env_u64("BATON_SEARCH_BENCH_DOCS", 1_000_000);
    let queries = env_u64("BATON_SEARCH_BENCH_QUERIES", 1_000);
    let tmp;
    let dir = match std::env::var_os("BATON_SEARCH_BENCH_DIR") {
        Some(d) => std::path::PathBuf::from(d),
        None => {
            tmp = tempfile::tempdir().expect("tempdir");
            tmp.path().join("index")
        }
    };
    let identity = format!("search-bench-{docs}");
    let index = build(&dir, docs, &identity);
    let (bytes, segments) = dir_size(&dir);
    println!(
        "index: {} workflows, {:.1} MiB on disk, {segments} segments",
        index.workflow_count().expect("count"),
        bytes as f64 / (1024.0 * 1024.0)
    );

    let wf_sort = SortSpec::parse(Entity::Workflow, &["startTime:DESC"]).expect("sort");
    let task_sort = SortSpec::parse(Entity::Task, &["startTime:DESC"]).expect("sort");
    let mut rng = Rng(7);
    let mut filtered = Kind::new(
        "filtered: workflowType = X AND status IN (FAILED) AND startTime > T, startTime:DESC, 100",
    );
    let mut free =
        Kind::new("free text (names, customer ids, reasons, workflow ids), startTime:DESC, 100");
    let mut tasks = Kind::new(
        "task: taskDefName = X AND status IN (FAILED) AND startTime > T, startTime:DESC, 100",
    );
    let mut counted = Kind::new(
        "filtered, size 0 (the same query matched and counted: no sort, no stored summaries read)",
    );
    let mut kinds = [&mut filtered, &mut free, &mut tasks, &mut counted];
    // Ids of indexed workflows, for exact-id free text.
    let mut known_ids = Vec::new();
    {
        let mut g = Rng(42);
        for i in 0..docs.min(2_000) {
            known_ids.push(record(&mut g, i).0.workflow_id);
        }
    }

    let warmup = 50u64;
    for round in 0..(warmup + queries) {
        for (k, kind) in kinds.iter_mut().enumerate() {
            let since = T0 + rng.below(SPAN_MS as u64 - DAY_MS as u64) as i64;
            let (entity, req) = match k {
                0 | 3 => {
                    let x = WORKFLOW_TYPES[rng.below(20) as usize];
                    let q = format!(
                        "workflowType = {x} AND status IN (FAILED) AND startTime > {since}"
                    );
                    (
                        Entity::Workflow,
                        SearchRequest {
                            query: Query::parse(Entity::Workflow, &q).expect("query"),
                            free_text: String::new(),
                            sort: wf_sort.clone(),
                            start: 0,
                            size: if k == 3 { 0 } else { 100 },
                        },
                    )
                }
                1 => {
                    let c = rng.below(CUSTOMERS);
                    let text = match round % 5 {
                        0 => FIRST[rng.below(40) as usize].to_string(),
                        1 => customer_name(c),
                        2 => format!("\"cust-{c}\""),
                        3 => ["declined", "timeout", "503", "expired"][rng.below(4) as usize]
                            .to_string(),
                        _ => format!(
                            "\"{}\"",
                            known_ids[rng.below(known_ids.len() as u64) as usize]
                        ),
                    };
                    (
                        Entity::Workflow,
                        SearchRequest {
                            query: Query::parse(Entity::Workflow, "").expect("empty query"),
                            free_text: text,
                            sort: wf_sort.clone(),
                            start: 0,
                            size: 100,
                        },
                    )
                }
                _ => {
                    let x = TASK_NAMES[rng.below(30) as usize];
                    let q =
                        format!("taskDefName = {x} AND status IN (FAILED) AND startTime > {since}");
                    (
                        Entity::Task,
                        SearchRequest {
                            query: Query::parse(Entity::Task, &q).expect("query"),
                            free_text: String::new(),
                            sort: task_sort.clone(),
                            start: 0,
                            size: 100,
                        },
                    )
                }
            };
            let t = Instant::now();
            let (total, n) = match entity {
                Entity::Workflow => {
                    let h = index.search_workflows(&req).expect("search");
                    (h.total_hits, h.results.len() as u64)
                }
                Entity::Task => {
                    let h = index.search_tasks(&req).expect("search");
                    (h.total_hits, h.results.len() as u64)
                }
            };
            let us = t.elapsed().as_micros() as u64;
            if round >= warmup {
                kind.hist.record(us.max(1)).expect("record");
                kind.hits += total;
                kind.returned += n;
            }
        }
    }

    println!();
    println!("{queries} queries of each kind, interleaved, after {warmup} of each to warm up:");
    for k in kinds {
        let ms = |v: u64| v as f64 / 1000.0;
        println!("{}", k.name);
        println!(
            "  p50 {:>8.2} ms  p90 {:>8.2} ms  p99 {:>8.2} ms  max {:>8.2} ms  mean {:>8.2} ms  (mean totalHits {:.0}, mean returned {:.0})",
            ms(k.hist.value_at_quantile(0.50)),
            ms(k.hist.value_at_quantile(0.90)),
            ms(k.hist.value_at_quantile(0.99)),
            ms(k.hist.max()),
            k.hist.mean() / 1000.0,
            k.hits as f64 / queries as f64,
            k.returned as f64 / queries as f64,
        );
    }
}
