//! Prometheus: the process's recorder, `/metrics`, and the timing of HTTP requests.
//!
//! The recorder is installed once per process, the first time a router is made (a process
//! that serves several times, such as a benchmark, shares it). Histograms of times have
//! fixed buckets from 0.5 ms to 5 min (the schedules' fire lag finer ones, 1 ms to 5 min); batch sizes from 1 to 5,000 writes.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use baton_server::Service;
use baton_server::telemetry::{HTTP_REQUEST, SCHEDULE_FIRE_LAG, STORE_BATCH_WRITES};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Buckets of every `_seconds` histogram.
const SECONDS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 300.0,
];
/// Buckets of the schedules' fire lag: finer below a few seconds, where its target lies.
const FIRE_LAG: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.5,
    2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0,
];
/// Buckets of the storage batch sizes.
const WRITES: &[f64] = &[
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0,
];

/// The process's Prometheus recorder, installed on first use. If another recorder was
/// installed first, this one still renders, but only what was recorded into it: nothing.
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS)
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full(STORE_BATCH_WRITES.into()), WRITES)
            })
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full(SCHEDULE_FIRE_LAG.into()), FIRE_LAG)
            })
            .expect("bucket lists are not empty");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was installed already; /metrics will be empty");
        }
        baton_server::telemetry::describe();
        // Histogram samples are folded into their buckets at upkeep (and at each scrape);
        // without it they would pile up between scrapes.
        let upkeep = handle.clone();
        let _ = std::thread::Builder::new()
            .name("baton-metrics".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_secs(5));
                    upkeep.run_upkeep();
                }
            });
        handle
    })
}

/// The metrics in Prometheus' text format: the counters and histograms recorded so far,
/// and the gauges of matching (queues, workers, credits, last polls) read now.
#[utoipa::path(
    get, path = "/metrics", tag = "health",
    responses((status = 200, description = "Prometheus text exposition (version 0.0.4)", body = String, content_type = "text/plain"))
)]
pub(crate) async fn metrics(State(svc): State<Service>) -> Response {
    svc.observe_metrics();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        prometheus().render(),
    )
        .into_response()
}

/// Times a request to a known route, by method, route (as declared, with its parameters
/// unfilled) and status, until the response head is ready.
pub(crate) async fn track(path: MatchedPath, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_string();
    let route = path.as_str().to_string();
    let res = next.run(req).await;
    metrics::histogram!(
        HTTP_REQUEST,
        "method" => method,
        "route" => route,
        "status" => res.status().as_u16().to_string()
    )
    .record(started.elapsed().as_secs_f64());
    res
}
