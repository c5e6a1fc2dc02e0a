//! `/api/metadata`: workflow and task definitions.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use baton_server::{EngineError, Service};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::{Body, Q, flag, int};
use crate::model::{BulkResponse, ErrorBody, ValidationError};

pub(crate) fn routes() -> OpenApiRouter<Service> {
    OpenApiRouter::new()
        .routes(routes!(
            create_workflow_def,
            update_workflow_defs,
            all_workflow_defs
        ))
        .routes(routes!(get_workflow_def))
        .routes(routes!(delete_workflow_def))
        .routes(routes!(validate_workflow_def))
        .routes(routes!(names_and_versions))
        .routes(routes!(latest_versions))
        .routes(routes!(register_task_defs, update_task_def, all_task_defs))
        .routes(routes!(get_task_def, delete_task_def))
}

fn to_json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Query of a definition's creation.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct OverwriteQuery {
    /// Replace the version when it exists (false when absent: 409 instead).
    #[param(value_type = Option<bool>)]
    overwrite: Option<String>,
}

/// Registers a workflow definition; 409 when its version exists, unless `overwrite`.
#[utoipa::path(
    post, path = "/api/metadata/workflow", tag = "metadata",
    params(OverwriteQuery),
    request_body(content = Object, description = "A workflow definition, as Conductor writes it"),
    responses(
        (status = 200, description = "Registered"),
        (status = 400, description = "Invalid definition", body = ErrorBody),
        (status = 409, description = "The version exists", body = ErrorBody),
    )
)]
async fn create_workflow_def(
    State(svc): State<Service>,
    Q(q): Q<OverwriteQuery>,
    Body(def): Body<Value>,
) -> Result<StatusCode, ApiError> {
    if flag(q.overwrite.as_deref(), "overwrite", false)? {
        svc.update_workflow_defs(std::slice::from_ref(&def)).await?;
    } else {
        svc.register_workflow_def(&def).await?;
    }
    Ok(StatusCode::OK)
}

/// Creates or replaces workflow definitions; every one is checked before any is stored.
#[utoipa::path(
    put, path = "/api/metadata/workflow", tag = "metadata",
    request_body(content = [Object], description = "Workflow definitions"),
    responses(
        (status = 200, description = "Stored, by name", body = BulkResponse),
        (status = 400, description = "An invalid definition; none stored", body = ErrorBody),
    )
)]
async fn update_workflow_defs(
    State(svc): State<Service>,
    Body(defs): Body<Vec<Value>>,
) -> Result<Json<BulkResponse>, ApiError> {
    let stored = svc.update_workflow_defs(&defs).await?;
    let mut out = BulkResponse::default();
    for d in stored {
        out.bulk_successful_results.push(d.name.clone());
    }
    out.message = format!("{} stored", out.bulk_successful_results.len());
    Ok(Json(out))
}

/// Every version of every workflow definition.
#[utoipa::path(
    get, path = "/api/metadata/workflow", tag = "metadata",
    responses((status = 200, description = "Definitions by name then version", body = [Object]))
)]
async fn all_workflow_defs(State(svc): State<Service>) -> Json<Vec<Value>> {
    Json(
        svc.workflow_defs(None, true)
            .iter()
            .map(|d| to_json(&**d))
            .collect(),
    )
}

/// Query of a definition read.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct VersionQuery {
    /// The version (the latest when absent).
    #[param(value_type = Option<i32>)]
    version: Option<String>,
}

/// A workflow definition.
#[utoipa::path(
    get, path = "/api/metadata/workflow/{name}", tag = "metadata",
    params(("name" = String, Path, description = "Definition name"), VersionQuery),
    responses(
        (status = 200, description = "The definition", body = Object),
        (status = 400, description = "Bad request", body = ErrorBody),
        (status = 404, description = "No such definition", body = ErrorBody),
    )
)]
async fn get_workflow_def(
    State(svc): State<Service>,
    Path(name): Path<String>,
    Q(q): Q<VersionQuery>,
) -> Result<Json<Value>, ApiError> {
    let version = int(q.version.as_deref(), "version")?;
    Ok(Json(to_json(&*svc.workflow_def(&name, version)?)))
}

/// Deletes one version of a workflow definition.
#[utoipa::path(
    delete, path = "/api/metadata/workflow/{name}/{version}", tag = "metadata",
    params(
        ("name" = String, Path, description = "Definition name"),
        ("version" = i32, Path, description = "Version"),
    ),
    responses(
        (status = 200, description = "Deleted"),
        (status = 400, description = "Bad request", body = ErrorBody),
        (status = 404, description = "No such definition", body = ErrorBody),
    )
)]
async fn delete_workflow_def(
    State(svc): State<Service>,
    Path((name, version)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let version: i32 = int(Some(&version), "version")?.unwrap_or(0);
    svc.delete_workflow_def(&name, version).await?;
    Ok(StatusCode::OK)
}

/// Checks a workflow definition without storing it: 200 when valid, else 400 listing
/// every problem.
#[utoipa::path(
    post, path = "/api/metadata/workflow/validate", tag = "metadata",
    request_body(content = Object, description = "A workflow definition"),
    responses(
        (status = 200, description = "Valid"),
        (status = 400, description = "Its problems", body = ErrorBody),
    )
)]
async fn validate_workflow_def(
    State(svc): State<Service>,
    Body(def): Body<Value>,
) -> Result<StatusCode, ApiError> {
    let problems = svc.validate_workflow_defs(std::slice::from_ref(&def));
    if problems.is_empty() {
        return Ok(StatusCode::OK);
    }
    let list: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    let mut e = ApiError::bad_request(format!("invalid workflow definition: {}", list.join("; ")));
    e.set_validation(
        problems
            .iter()
            .map(|p| ValidationError {
                path: p.path.clone(),
                message: p.message.clone(),
                invalid_value: None,
            })
            .collect(),
    );
    Err(e)
}

/// One version of a definition, as listed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DefSummary {
    /// Name.
    name: String,
    /// Version.
    version: i32,
    /// When it was created (epoch ms), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    create_time: Option<i64>,
}

/// Every definition name with its versions.
#[utoipa::path(
    get, path = "/api/metadata/workflow/names-and-versions", tag = "metadata",
    responses((status = 200, description = "Name to its versions, oldest first", body = BTreeMap<String, Vec<DefSummary>>))
)]
async fn names_and_versions(State(svc): State<Service>) -> Json<BTreeMap<String, Vec<DefSummary>>> {
    let mut out: BTreeMap<String, Vec<DefSummary>> = BTreeMap::new();
    for d in svc.workflow_defs(None, true) {
        out.entry(d.name.clone()).or_default().push(DefSummary {
            name: d.name.clone(),
            version: d.version,
            create_time: d.create_time,
        });
    }
    Json(out)
}

/// The latest version of every workflow definition.
#[utoipa::path(
    get, path = "/api/metadata/workflow/latest-versions", tag = "metadata",
    responses((status = 200, description = "Definitions by name", body = [Object]))
)]
async fn latest_versions(State(svc): State<Service>) -> Json<Vec<Value>> {
    Json(
        svc.workflow_defs(None, false)
            .iter()
            .map(|d| to_json(&**d))
            .collect(),
    )
}

/// Creates or replaces task definitions; every one is checked before any is stored.
#[utoipa::path(
    post, path = "/api/metadata/taskdefs", tag = "metadata",
    request_body(content = [Object], description = "Task definitions"),
    responses(
        (status = 200, description = "Stored"),
        (status = 400, description = "An invalid definition; none stored", body = ErrorBody),
    )
)]
async fn register_task_defs(
    State(svc): State<Service>,
    Body(defs): Body<Vec<Value>>,
) -> Result<StatusCode, ApiError> {
    svc.register_task_defs(&defs).await?;
    Ok(StatusCode::OK)
}

/// Replaces one task definition; 404 when none has its name.
#[utoipa::path(
    put, path = "/api/metadata/taskdefs", tag = "metadata",
    request_body(content = Object, description = "A task definition"),
    responses(
        (status = 200, description = "Stored"),
        (status = 400, description = "Invalid definition", body = ErrorBody),
        (status = 404, description = "No such task definition", body = ErrorBody),
    )
)]
async fn update_task_def(
    State(svc): State<Service>,
    Body(def): Body<Value>,
) -> Result<StatusCode, ApiError> {
    let parsed = svc.parse_task_def(&def)?;
    svc.task_def(&parsed.name)?;
    svc.register_task_defs(std::slice::from_ref(&def)).await?;
    Ok(StatusCode::OK)
}

/// Every task definition.
#[utoipa::path(
    get, path = "/api/metadata/taskdefs", tag = "metadata",
    responses((status = 200, description = "Task definitions by name", body = [Object]))
)]
async fn all_task_defs(State(svc): State<Service>) -> Json<Vec<Value>> {
    Json(svc.task_defs().iter().map(|d| to_json(&**d)).collect())
}

/// A task definition.
#[utoipa::path(
    get, path = "/api/metadata/taskdefs/{taskType}", tag = "metadata",
    params(("taskType" = String, Path, description = "Task definition name")),
    responses(
        (status = 200, description = "The definition", body = Object),
        (status = 404, description = "No such task definition", body = ErrorBody),
    )
)]
async fn get_task_def(
    State(svc): State<Service>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(to_json(&*svc.task_def(&name)?)))
}

/// Deletes a task definition.
#[utoipa::path(
    delete, path = "/api/metadata/taskdefs/{taskType}", tag = "metadata",
    params(("taskType" = String, Path, description = "Task definition name")),
    responses(
        (status = 200, description = "Deleted"),
        (status = 404, description = "No such task definition", body = ErrorBody),
    )
)]
async fn delete_task_def(
    State(svc): State<Service>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    svc.delete_task_def(&name)
        .await
        .map_err(|e: EngineError| e)?;
    Ok(StatusCode::OK)
}
