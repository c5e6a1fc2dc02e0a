//! `/api/admin/retention` and `/api/admin/archive/import`: what retention keeps and has
//! done, and archived executions loaded back.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use baton_server::Service;
use baton_server::service::MAX_IMPORT;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::model::ErrorBody;

pub(crate) fn routes() -> OpenApiRouter<Service> {
    OpenApiRouter::new()
        .routes(routes!(retention))
        .routes(routes!(import))
}

/// Largest archive body once decompressed.
const MAX_IMPORT_BYTES: usize = 256 * 1024 * 1024;

/// A workflow name's own retention.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RetentionOverride {
    /// Workflow name.
    workflow_name: String,
    /// Age after which its finished executions are removed, in seconds; absent when unbounded.
    max_age_seconds: Option<i64>,
    /// Number of its finished executions kept; absent when unbounded.
    keep_last: Option<u64>,
}

/// Retention's settings and what it has done since the server started.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Retention {
    /// Default age after which a finished execution is removed, in seconds; absent when
    /// unbounded.
    max_age_seconds: Option<i64>,
    /// Default number of finished executions kept per workflow name; absent when unbounded.
    keep_last: Option<u64>,
    /// Most executions removed per second.
    max_removals_per_sec: u32,
    /// Where expired executions are archived; absent when they are removed outright.
    archive_dir: Option<String>,
    /// Passes run.
    passes: u64,
    /// Executions removed.
    removed: u64,
    /// Executions archived.
    archived: u64,
    /// Executions chosen but kept because they changed meanwhile.
    changed: u64,
    /// Times a sub-workflow was kept because its parent was still open.
    held_by_parent: u64,
    /// Passes that failed.
    failures: u64,
    /// Workflow names whose definitions set their own retention.
    overrides: Vec<RetentionOverride>,
}

/// What retention keeps by default, where it archives, and what it has done.
#[utoipa::path(
    get, path = "/api/admin/retention", tag = "admin",
    responses((status = 200, description = "Retention", body = Retention))
)]
async fn retention(State(svc): State<Service>) -> Json<Retention> {
    let r = svc.retention();
    let secs = |p: &baton_core::retention::Policy| p.max_age_secs();
    Json(Retention {
        max_age_seconds: secs(&r.config.default),
        keep_last: r.config.default.keep_last,
        max_removals_per_sec: r.config.max_removals_per_sec,
        archive_dir: r.config.archive_dir.map(|d| d.display().to_string()),
        passes: r.stats.passes,
        removed: r.stats.removed,
        archived: r.stats.archived,
        changed: r.stats.changed,
        held_by_parent: r.stats.held_by_parent,
        failures: r.stats.failures,
        overrides: r
            .overrides
            .iter()
            .map(|(name, p)| RetentionOverride {
                workflow_name: name.clone(),
                max_age_seconds: secs(p),
                keep_last: p.keep_last,
            })
            .collect(),
    })
}

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ImportResult {
    /// Executions written.
    imported: u64,
    /// Executions skipped because their id is stored already.
    already_present: u64,
}

/// Loads archived executions back: the body is archive lines (JSON lines, one execution
/// each), plain or zstd-compressed as retention writes them, at most 1,000 lines. Every
/// line is checked before anything is written; ids stored already are skipped.
#[utoipa::path(
    post, path = "/api/admin/archive/import", tag = "admin",
    request_body(content = String, content_type = "text/plain",
        description = "Archive lines (JSON, one execution each), plain or zstd"),
    responses(
        (status = 200, description = "Imported", body = ImportResult),
        (status = 400, description = "A line is not an archived execution", body = ErrorBody),
    )
)]
async fn import(State(svc): State<Service>, body: Bytes) -> Result<Json<ImportResult>, ApiError> {
    let plain = baton_server::archive::maybe_decompress(&body, MAX_IMPORT_BYTES)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let lines: Vec<Vec<u8>> = plain
        .split(|b| *b == b'\n')
        .map(|l| l.trim_ascii())
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    if lines.is_empty() {
        return Err(ApiError::bad_request(
            "the body holds no archive lines (one archived execution per line)",
        ));
    }
    if lines.len() > MAX_IMPORT {
        return Err(ApiError::bad_request(format!(
            "{} lines in one import; at most {MAX_IMPORT} (send the rest in more requests)",
            lines.len()
        )));
    }
    let s = svc.import_archived(lines).await?;
    Ok(Json(ImportResult {
        imported: s.imported,
        already_present: s.present,
    }))
}
