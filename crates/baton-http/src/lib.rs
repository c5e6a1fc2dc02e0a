//! Baton's HTTP/JSON API: Conductor's REST API under `/api`, as thin adapters over the
//! service layer (`baton_server::Service`) that the gRPC API uses too. Each route decodes
//! its request (query strings, path segments, a JSON body), calls one service operation
//! and encodes the answer in Conductor's JSON shapes; errors map from their domain kind to
//! an HTTP status here and nowhere else.
//!
//! The OpenAPI document of every route is generated from the handlers' annotations and
//! served at `/api/openapi.json`, with a browsable page at `/api/docs`.

#![warn(missing_docs)]

mod admin;
pub mod auth;
mod error;
mod events;
mod extract;
mod metadata;
pub mod model;
mod retention;
mod schedules;
mod search;
mod tasks;
pub mod telemetry;
pub mod ui;
mod views;
mod workflows;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use baton_server::Service;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use error::ApiError;

/// Room above the payload limit for a request's own fields (a result's ids, a start's
/// options) around the payload itself.
const BODY_OVERHEAD: usize = 1024 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Baton HTTP API",
        description = "Conductor's REST API served by Baton: definitions, executions, tasks, \
                       event handlers and schedules. Times are epoch milliseconds; null fields \
                       are left out; errors carry Conductor's error body.",
    ),
    tags(
        (name = "metadata", description = "Workflow and task definitions"),
        (name = "workflow", description = "Executions: start, read, steer"),
        (name = "bulk", description = "One operation over many executions"),
        (name = "tasks", description = "Workers: poll, report, logs, queues"),
        (name = "event", description = "Event handlers"),
        (name = "health", description = "Whether the server serves"),
        (name = "scheduler", description = "Schedules: Conductor's scheduler endpoints, and Baton's run-now, backfill, history and next slots"),
        (name = "admin", description = "What the server is doing (counters, latencies, queues, workers, failures), retention and archives"),
        (name = "auth", description = "API keys, tokens, the web UI's session and the audit log. With authentication on (`baton server --auth`) every route but health, the UI's files, /api/token and /api/session needs credentials (`Authorization: Bearer <key or token>`, or Conductor's `X-Authorization: <token>`) and answers 401 without good ones, 403 when the key's role does not allow the route"),
    )
)]
struct ApiDoc;

/// The routes of the HTTP API over `svc`, with the OpenAPI document of them and
/// Prometheus' `/metrics`. Installs the process's metrics recorder if none is yet (see
/// [`telemetry::prometheus`]).
pub fn router(svc: Service) -> Router {
    app(svc, ui::UiSource::Embedded)
}

/// The HTTP API of [`router`] and, at every other path, the admin web UI (from `ui`, or
/// the files embedded in the binary).
pub fn app(svc: Service, ui: ui::UiSource) -> Router {
    telemetry::prometheus();
    let limit = svc.max_payload_bytes() + BODY_OVERHEAD;
    let (api, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(metadata::routes())
        .merge(workflows::routes())
        .merge(tasks::routes())
        .merge(events::routes())
        .merge(search::routes())
        .merge(retention::routes())
        .merge(schedules::routes())
        .merge(admin::routes())
        .merge(auth::routes())
        .routes(utoipa_axum::routes!(health))
        .routes(utoipa_axum::routes!(telemetry::metrics))
        .split_for_parts();
    let doc_json = document_json(&doc);
    api.route(
        "/api/openapi.json",
        get(move || async move { ([(header::CONTENT_TYPE, "application/json")], doc_json) }),
    )
    .route("/api/docs", get(docs_page))
    .route("/api/health", get(health))
    .route_layer(axum::middleware::from_fn(telemetry::track))
    .fallback(
        move |method: axum::http::Method, headers: axum::http::HeaderMap, uri: axum::http::Uri| {
            let ui = ui.clone();
            async move {
                if ui::is_ui_request(&method, &headers, &uri) {
                    ui::serve(&ui, &headers, &uri).await
                } else {
                    error::not_found_route(headers, uri).await
                }
            }
        },
    )
    .layer(DefaultBodyLimit::max(limit))
    // Bodies go gzipped to clients that accept it (not event streams, not tiny ones).
    .layer(tower_http::compression::CompressionLayer::new())
    .with_state(svc)
}

/// The OpenAPI document as JSON text. Every optional query parameter is marked
/// `allowEmptyValue`: the routes read an empty value (`?includeTasks=`) as an absent one, as
/// Conductor does, and utoipa has no attribute for saying so.
fn document_json(doc: &utoipa::openapi::OpenApi) -> String {
    let mut value = serde_json::to_value(doc).unwrap_or_default();
    if let Some(paths) = value.get_mut("paths").and_then(|p| p.as_object_mut()) {
        for op in paths.values_mut().filter_map(|i| i.as_object_mut()) {
            for params in op
                .values_mut()
                .filter_map(|o| o.get_mut("parameters"))
                .filter_map(|p| p.as_array_mut())
            {
                for p in params.iter_mut().filter_map(|p| p.as_object_mut()) {
                    let optional_query = p.get("in").and_then(|v| v.as_str()) == Some("query")
                        && p.get("required").and_then(|v| v.as_bool()) != Some(true);
                    if optional_query {
                        p.insert("allowEmptyValue".into(), serde_json::Value::Bool(true));
                    }
                }
            }
        }
    }
    serde_json::to_string_pretty(&value).unwrap_or_else(|_| "{}".into())
}

/// Whether the server serves: 200 with `{"healthy": true}` once recovery is done, 503 with
/// `{"healthy": false}` while executions are still being adopted after a restart.
#[utoipa::path(
    get, path = "/health", tag = "health",
    responses(
        (status = 200, description = "Serving", body = model::Health),
        (status = 503, description = "Recovering after a restart", body = model::Health),
    )
)]
async fn health(State(svc): State<Service>) -> Response {
    let healthy = svc.runtime().is_ready();
    let code = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(model::Health { healthy })).into_response()
}

/// A page that renders the OpenAPI document: every route with its parameters, bodies and
/// answers, readable without any other tool.
async fn docs_page() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}
