//! Authentication over HTTP: what every route needs ([`access`]), Conductor's
//! `/api/token`, the web UI's session (`/api/session`), and API keys and the audit log
//! under `/api/admin`.

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use baton_core::auth::{Access, ApiKey, AuditEntry, AuditFilter, Outcome, Role};
use baton_server::Service;
use baton_server::auth::{Auth, AuthError, Principal, SESSION_COOKIE, SESSION_TTL_MS};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::{Body, Q, int};
use crate::model::ErrorBody;

pub(crate) fn routes() -> OpenApiRouter<Service> {
    OpenApiRouter::new()
        .routes(routes!(token))
        .routes(routes!(session, sign_in, sign_out))
        .routes(routes!(list_keys, create_key))
        .routes(routes!(revoke_key))
        .routes(routes!(audit))
}

/// The kind of access an HTTP request needs, by method and path.
pub fn access(method: &Method, path: &str) -> Access {
    let read = method == Method::GET || method == Method::HEAD;
    let Some(api) = path.strip_prefix("/api/") else {
        // The UI's files, `/health`; `/metrics` tells what the server does.
        return match path {
            "/metrics" => Access::Read,
            _ if read => Access::Public,
            _ => Access::Admin,
        };
    };
    let first = api.split('/').next().unwrap_or("");
    match first {
        "health" | "docs" | "openapi.json" | "token" | "session" => Access::Public,
        "admin" => {
            if api.starts_with("admin/keys") || api.starts_with("admin/audit") {
                Access::Admin
            } else if read {
                Access::Read
            } else {
                Access::Admin
            }
        }
        "metadata" => {
            if read || (method == Method::POST && api == "metadata/workflow/validate") {
                Access::Read
            } else {
                Access::Define
            }
        }
        "event" => {
            if read {
                Access::Read
            } else {
                Access::Define
            }
        }
        "tasks" => {
            let parts: Vec<&str> = api.split('/').collect();
            match (method, parts.as_slice()) {
                (&Method::GET, ["tasks", "poll", ..]) => Access::Work,
                (&Method::POST, ["tasks"]) | (&Method::POST, ["tasks", "update-v2"]) => {
                    Access::Work
                }
                (&Method::POST, ["tasks", _, "log"]) => Access::Work,
                _ if read => Access::Read,
                _ => Access::Operate,
            }
        }
        "scheduler" => {
            // Conductor pauses and resumes a schedule with GET.
            let steer = api.ends_with("/pause") || api.ends_with("/resume");
            if read && !steer {
                Access::Read
            } else {
                Access::Operate
            }
        }
        "workflow" => {
            if read {
                Access::Read
            } else {
                Access::Operate
            }
        }
        _ if read => Access::Read,
        _ => Access::Admin,
    }
}

/// A refusal from the guard, in this API's error shape.
pub fn refuse(status: StatusCode, message: String) -> Response {
    ApiError::new(status, message).into_response()
}

fn auth_of(svc: &Service) -> Result<&std::sync::Arc<Auth>, ApiError> {
    svc.auth().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "this server keeps no API keys or audit log",
        )
    })
}

fn auth_error(e: AuthError) -> ApiError {
    match e {
        AuthError::Unauthenticated(m) => ApiError::new(StatusCode::UNAUTHORIZED, m),
        AuthError::PermissionDenied(m) => ApiError::new(StatusCode::FORBIDDEN, m),
    }
}

/// Conductor's token request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct TokenRequest {
    /// The API key's id.
    key_id: String,
    /// The API key's secret.
    key_secret: String,
}

/// A token to send as `X-Authorization` (or `Authorization: Bearer`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct TokenResponse {
    /// The token.
    token: String,
    /// When it expires (epoch ms).
    expires_at: i64,
}

/// Exchanges an API key's id and secret for a token (Conductor's client authentication).
/// With authentication off the server needs no token and answers 404, as a server
/// without authentication does.
#[utoipa::path(
    post, path = "/api/token", tag = "auth",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "A token", body = TokenResponse),
        (status = 400, description = "Bad request", body = ErrorBody),
        (status = 401, description = "Unknown, revoked or wrong key", body = ErrorBody),
        (status = 404, description = "Authentication is off", body = ErrorBody),
    )
)]
async fn token(
    State(svc): State<Service>,
    Body(req): Body<TokenRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let auth = auth_of(&svc)?;
    if !auth.enabled() {
        return Err(ApiError::not_found(
            "authentication is off on this server: no token is needed",
        ));
    }
    let (token, expires_at) = auth
        .issue_token(&req.key_id, &req.key_secret, None)
        .map_err(auth_error)?;
    Ok(Json(TokenResponse { token, expires_at }))
}

/// Who the caller is, for the web UI.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct SessionView {
    /// Whether the server asks for credentials.
    auth_enabled: bool,
    /// Whether the caller's credentials are good.
    signed_in: bool,
    /// The caller's key id.
    #[serde(skip_serializing_if = "Option::is_none")]
    key_id: Option<String>,
    /// The caller's key name.
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    /// The caller's role.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    role: Option<Role>,
    /// When the session ends (epoch ms), after signing in.
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
}

fn session_view(auth: &Auth, who: Option<&Principal>) -> SessionView {
    SessionView {
        auth_enabled: auth.enabled(),
        signed_in: who.is_some(),
        key_id: who.map(|p| p.key_id.clone()),
        name: who.map(|p| p.name.clone()),
        role: who.map(|p| p.role),
        expires_at: None,
    }
}

/// Who the caller is: whether the server asks for credentials, and the key the request
/// carries (an API key, a token or the session cookie), if any is good.
#[utoipa::path(
    get, path = "/api/session", tag = "auth",
    responses((status = 200, description = "The caller", body = SessionView))
)]
async fn session(
    State(svc): State<Service>,
    who: Option<Extension<Principal>>,
) -> Result<Json<SessionView>, ApiError> {
    let auth = auth_of(&svc)?;
    Ok(Json(session_view(auth, who.as_ref().map(|Extension(p)| p))))
}

/// Signing in to the web UI.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct SignIn {
    /// An API key (`bk_...`).
    key: String,
}

/// Signs the web UI in with an API key: answers who it is and sets an HttpOnly session
/// cookie (a token valid for 12 hours, refused once the key is revoked).
#[utoipa::path(
    post, path = "/api/session", tag = "auth",
    request_body = SignIn,
    responses(
        (status = 200, description = "Signed in", body = SessionView),
        (status = 400, description = "Bad request", body = ErrorBody),
        (status = 401, description = "Unknown, revoked or malformed key", body = ErrorBody),
    )
)]
async fn sign_in(
    State(svc): State<Service>,
    Body(req): Body<SignIn>,
) -> Result<Response, ApiError> {
    let auth = auth_of(&svc)?;
    let who = auth.authenticate(&req.key).map_err(auth_error)?;
    let secret = req
        .key
        .trim()
        .strip_prefix(baton_server::auth::KEY_PREFIX)
        .and_then(|rest| rest.split_once('_'))
        .map(|(_, s)| s.to_string())
        .ok_or_else(|| {
            ApiError::new(StatusCode::UNAUTHORIZED, "sign in with an API key (bk_...)")
        })?;
    let (token, expires_at) = auth
        .issue_token(&who.key_id, &secret, Some(SESSION_TTL_MS))
        .map_err(auth_error)?;
    let mut view = session_view(auth, Some(&who));
    view.expires_at = Some(expires_at);
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        SESSION_TTL_MS / 1000
    );
    let mut res = Json(view).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|e| ApiError::bad_request(e.to_string()))?,
    );
    Ok(res)
}

/// Signs the web UI out: clears the session cookie.
#[utoipa::path(
    delete, path = "/api/session", tag = "auth",
    responses((status = 204, description = "Signed out"))
)]
async fn sign_out() -> Response {
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!(
            "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
        ))
        .expect("a valid header"),
    );
    res
}

/// An API key as answered (never its secret).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct KeyView {
    /// The key's id (Conductor's `keyId`).
    id: String,
    /// Its name.
    name: String,
    /// What it may do: admin, operator, worker or viewer.
    role: String,
    /// When it was made (epoch ms).
    created_at: i64,
    /// Who made it (a key id, or `bootstrap`).
    created_by: String,
    /// When it was revoked (epoch ms), if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    revoked_at: Option<i64>,
}

fn key_view(k: ApiKey) -> KeyView {
    KeyView {
        id: k.id,
        name: k.name,
        role: k.role.as_str().to_string(),
        created_at: k.created_at,
        created_by: k.created_by,
        revoked_at: k.revoked_at,
    }
}

/// Every API key, revoked ones too, oldest first.
#[utoipa::path(
    get, path = "/api/admin/keys", tag = "auth",
    responses((status = 200, description = "The keys", body = [KeyView]))
)]
async fn list_keys(State(svc): State<Service>) -> Result<Json<Vec<KeyView>>, ApiError> {
    Ok(Json(
        auth_of(&svc)?
            .list_keys()
            .into_iter()
            .map(key_view)
            .collect(),
    ))
}

/// What a key may do.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum RoleName {
    /// Everything.
    Admin,
    /// Start and steer runs and schedules; read.
    Operator,
    /// Take tasks and report results.
    Worker,
    /// Read.
    Viewer,
}

/// How an audited request ended.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum OutcomeName {
    /// Done.
    Ok,
    /// Refused.
    Denied,
    /// Allowed but failed.
    Failed,
}

/// A key to make.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct NewKeyRequest {
    /// Who or what uses it (1 to 200 characters, not only spaces).
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    name: String,
    /// admin, operator, worker or viewer.
    #[schema(value_type = RoleName)]
    role: String,
}

/// A key just made: its text is shown this once.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct NewKeyView {
    /// The stored key.
    key: KeyView,
    /// The whole key, `bk_{id}_{secret}`: send it as `Authorization: Bearer`.
    key_text: String,
    /// The secret alone (Conductor's `keySecret`; the id is its `keyId`).
    secret: String,
}

/// Makes an API key. Its text is in this answer only: the server keeps a digest.
#[utoipa::path(
    post, path = "/api/admin/keys", tag = "auth",
    request_body = NewKeyRequest,
    responses(
        (status = 200, description = "The key", body = NewKeyView),
        (status = 400, description = "Bad request", body = ErrorBody),
    )
)]
async fn create_key(
    State(svc): State<Service>,
    who: Option<Extension<Principal>>,
    Body(req): Body<NewKeyRequest>,
) -> Result<Json<NewKeyView>, ApiError> {
    let role: Role = req
        .role
        .parse()
        .map_err(|e: String| ApiError::field("role", e))?;
    let by = who.map_or_else(|| "anonymous".to_string(), |Extension(p)| p.key_id);
    let made = auth_of(&svc)?.create_key(&req.name, role, &by).await?;
    Ok(Json(NewKeyView {
        key: key_view(made.key),
        key_text: made.text,
        secret: made.secret,
    }))
}

/// Revokes an API key: it, and every token made from it, is refused from now on.
#[utoipa::path(
    delete, path = "/api/admin/keys/{id}", tag = "auth",
    params(("id" = String, Path, description = "The key's id")),
    responses(
        (status = 200, description = "The revoked key", body = KeyView),
        (status = 404, description = "No such key", body = ErrorBody),
    )
)]
async fn revoke_key(
    State(svc): State<Service>,
    Path(id): Path<String>,
) -> Result<Json<KeyView>, ApiError> {
    Ok(Json(key_view(auth_of(&svc)?.revoke_key(&id).await?)))
}

/// Filters of the audit log.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// Only this caller: a key id or a key's name.
    actor: Option<String>,
    /// Only actions containing this text.
    action: Option<String>,
    /// Only this outcome: ok, denied or failed.
    #[param(value_type = Option<OutcomeName>)]
    outcome: Option<String>,
    /// Only entries at or after this time (epoch ms).
    #[param(value_type = Option<i64>)]
    since: Option<String>,
    /// Only entries before this time (epoch ms).
    #[param(value_type = Option<i64>)]
    until: Option<String>,
    /// Only entries older than this `seq` (the next page).
    #[param(value_type = Option<i64>, minimum = 0)]
    before: Option<String>,
    /// Most entries (1 to 1000; default 100).
    #[param(value_type = Option<i32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
}

/// One audited request.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct AuditView {
    /// Its place in the log (pass the last as `before` for the next page).
    seq: i64,
    /// When it was answered (epoch ms).
    time: i64,
    /// The caller's key id, or `anonymous`.
    actor: String,
    /// The key's name.
    #[serde(skip_serializing_if = "String::is_empty")]
    actor_name: String,
    /// The caller's role.
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<String>,
    /// What was asked.
    action: String,
    /// The kind of access it needed.
    access: String,
    /// The caller's address.
    #[serde(skip_serializing_if = "String::is_empty")]
    remote: String,
    /// ok, denied or failed.
    outcome: String,
    /// The answer's status.
    status: String,
    /// Why it was refused or failed.
    #[serde(skip_serializing_if = "String::is_empty")]
    reason: String,
}

fn audit_view(e: AuditEntry) -> AuditView {
    AuditView {
        seq: e.seq as i64,
        time: e.time,
        actor: e.actor,
        actor_name: e.actor_name,
        role: e.role.map(|r| r.as_str().to_string()),
        action: e.action,
        access: e.access.as_str().to_string(),
        remote: e.remote,
        outcome: e.outcome.as_str().to_string(),
        status: e.status,
        reason: e.reason,
    }
}

/// The audit log, newest first: who did what, when, from where, and how it ended.
#[utoipa::path(
    get, path = "/api/admin/audit", tag = "auth",
    params(AuditQuery),
    responses(
        (status = 200, description = "Entries, newest first", body = [AuditView]),
        (status = 400, description = "Bad request", body = ErrorBody),
    )
)]
async fn audit(
    State(svc): State<Service>,
    Q(q): Q<AuditQuery>,
) -> Result<Json<Vec<AuditView>>, ApiError> {
    let outcome = match q.outcome.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(o) => Some(
            o.parse::<Outcome>()
                .map_err(|e| ApiError::field("outcome", e))?,
        ),
    };
    let before: Option<i64> = int(q.before.as_deref(), "before")?;
    let before = match before {
        Some(b) if b < 0 => return Err(ApiError::field("before", "must not be negative")),
        b => b.map(|b| b as u64),
    };
    let limit: Option<usize> = int(q.limit.as_deref(), "limit")?;
    let filter = AuditFilter {
        actor: q.actor.unwrap_or_default().trim().to_string(),
        action: q.action.unwrap_or_default().trim().to_string(),
        outcome,
        since: int(q.since.as_deref(), "since")?,
        until: int(q.until.as_deref(), "until")?,
    };
    let events = auth_of(&svc)?
        .audit(filter, before.filter(|b| *b > 0), limit.unwrap_or(100))
        .await?;
    Ok(Json(events.into_iter().map(audit_view).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_need_what_the_table_says() {
        let cases = [
            ("GET", "/", Access::Public),
            ("GET", "/execution/abc", Access::Public),
            ("GET", "/health", Access::Public),
            ("GET", "/metrics", Access::Read),
            ("GET", "/api/health", Access::Public),
            ("POST", "/api/token", Access::Public),
            ("POST", "/api/session", Access::Public),
            ("GET", "/api/admin/overview", Access::Read),
            ("GET", "/api/admin/keys", Access::Admin),
            ("POST", "/api/admin/keys", Access::Admin),
            ("GET", "/api/admin/audit", Access::Admin),
            ("POST", "/api/admin/archive/import", Access::Admin),
            ("GET", "/api/metadata/workflow", Access::Read),
            ("POST", "/api/metadata/workflow/validate", Access::Read),
            ("POST", "/api/metadata/workflow", Access::Define),
            ("DELETE", "/api/metadata/taskdefs/x", Access::Define),
            ("PUT", "/api/event", Access::Define),
            ("GET", "/api/event", Access::Read),
            ("GET", "/api/tasks/poll/batch/t", Access::Work),
            ("GET", "/api/tasks/poll/t", Access::Work),
            ("POST", "/api/tasks", Access::Work),
            ("POST", "/api/tasks/update-v2", Access::Work),
            ("POST", "/api/tasks/abc/log", Access::Work),
            ("POST", "/api/tasks/wf/ref/COMPLETED", Access::Operate),
            ("POST", "/api/tasks/queue/requeue/t", Access::Operate),
            ("GET", "/api/tasks/queue/all", Access::Read),
            ("GET", "/api/scheduler/schedules", Access::Read),
            ("GET", "/api/scheduler/schedules/s/pause", Access::Operate),
            ("PUT", "/api/scheduler/schedules/s/resume", Access::Operate),
            ("POST", "/api/scheduler/schedules", Access::Operate),
            ("POST", "/api/workflow", Access::Operate),
            ("GET", "/api/workflow/abc", Access::Read),
            ("DELETE", "/api/workflow/abc/remove", Access::Operate),
            ("GET", "/api/nothing", Access::Read),
            ("POST", "/api/nothing", Access::Admin),
            ("POST", "/", Access::Admin),
        ];
        for (m, p, want) in cases {
            assert_eq!(access(&m.parse().unwrap(), p), want, "{m} {p}");
        }
    }
}
