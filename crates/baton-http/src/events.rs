//! `/api/event`: event handlers.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use baton_server::Service;
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::{Body, Q, flag};
use crate::model::ErrorBody;

pub(crate) fn routes() -> OpenApiRouter<Service> {
    OpenApiRouter::new()
        .routes(routes!(add, update, all))
        .routes(routes!(by_event, delete))
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Adds an event handler; 409 when one has its name.
#[utoipa::path(
    post, path = "/api/event", tag = "event", operation_id = "add_event_handler",
    request_body(content = Object, description = "An event handler, as Conductor writes it"),
    responses(
        (status = 200, description = "Added"),
        (status = 400, description = "Invalid handler", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
    )
)]
async fn add(State(svc): State<Service>, Body(h): Body<Value>) -> Result<StatusCode, ApiError> {
    svc.add_event_handler(&h).await?;
    Ok(StatusCode::OK)
}

/// Replaces an event handler, found by name.
#[utoipa::path(
    put, path = "/api/event", tag = "event", operation_id = "update_event_handler",
    request_body(content = Object, description = "An event handler"),
    responses(
        (status = 200, description = "Replaced"),
        (status = 400, description = "Invalid handler", body = ErrorBody),
        (status = 404, description = "No such handler", body = ErrorBody),
    )
)]
async fn update(State(svc): State<Service>, Body(h): Body<Value>) -> Result<StatusCode, ApiError> {
    svc.update_event_handler(&h).await?;
    Ok(StatusCode::OK)
}

/// Every event handler.
#[utoipa::path(
    get, path = "/api/event", tag = "event", operation_id = "all_event_handlers",
    responses((status = 200, description = "Handlers by name", body = [Object]))
)]
async fn all(State(svc): State<Service>) -> Json<Vec<Value>> {
    Json(
        svc.event_handlers(None, false)
            .iter()
            .map(|h| to_json(&**h))
            .collect(),
    )
}

/// Query of the handlers of an event.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct ActiveQuery {
    /// Only active handlers (true when absent).
    #[param(value_type = Option<bool>)]
    active_only: Option<String>,
}

/// The handlers of one event (`provider:queue`).
#[utoipa::path(
    get, path = "/api/event/{name}", tag = "event", operation_id = "event_handlers_of",
    params(("name" = String, Path, description = "For this route, the event"), ActiveQuery),
    responses(
        (status = 200, description = "Its handlers", body = [Object]),
        (status = 400, description = "Bad request", body = ErrorBody),
    )
)]
async fn by_event(
    State(svc): State<Service>,
    Path(event): Path<String>,
    Q(q): Q<ActiveQuery>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let active = flag(q.active_only.as_deref(), "activeOnly", true)?;
    Ok(Json(
        svc.event_handlers(Some(&event), active)
            .iter()
            .map(|h| to_json(&**h))
            .collect(),
    ))
}

/// Deletes an event handler.
#[utoipa::path(
    delete, path = "/api/event/{name}", tag = "event", operation_id = "delete_event_handler",
    params(("name" = String, Path, description = "Handler name")),
    responses(
        (status = 200, description = "Deleted"),
        (status = 404, description = "No such handler", body = ErrorBody),
    )
)]
async fn delete(
    State(svc): State<Service>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    svc.delete_event_handler(&name).await?;
    Ok(StatusCode::OK)
}
