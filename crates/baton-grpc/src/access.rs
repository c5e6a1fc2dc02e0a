//! The guard in front of every route on the listener: gRPC methods, the HTTP API, the UI.
//!
//! Each request is classified by the kind of [`Access`] it needs (gRPC by method here,
//! HTTP by the face's own table), its caller authenticated from `authorization: Bearer`,
//! Conductor's `X-Authorization` or the UI's session cookie, and refused with
//! UNAUTHENTICATED / PERMISSION_DENIED (401 / 403 over HTTP) naming the reason when the
//! caller's role does not allow it. The caller is put in the request's extensions for
//! the handlers. Allowed requests that change something, worker calls that fail (a forged
//! or stale task token, a task that is gone), refusals by the public routes that check
//! credentials themselves (`/api/token`, signing in) and every refused request go to the
//! audit log with how they ended: the HTTP status, or the gRPC status of the response head
//! or, for a call answered with a body, of its trailers.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use baton_core::auth::{Access, AuditEntry, Outcome};
use baton_server::auth::{Auth, AuthError, Principal, SESSION_COOKIE};
use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use tonic::Code;

/// The HTTP face's part in the guard: what each route needs, and how a refusal reads.
#[derive(Clone, Copy)]
pub struct HttpFace {
    /// The kind of access an HTTP request needs, by method and path.
    pub access: fn(&Method, &str) -> Access,
    /// A refusal in the face's error shape.
    pub refuse: fn(StatusCode, String) -> Response<axum::body::Body>,
}

impl std::fmt::Debug for HttpFace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HttpFace")
    }
}

/// What a request that is not gRPC needs when no HTTP face says: reads to read, the rest
/// to administer.
fn default_http_access(method: &Method, _path: &str) -> Access {
    if method == Method::GET || method == Method::HEAD {
        Access::Read
    } else {
        Access::Admin
    }
}

fn default_refuse(status: StatusCode, message: String) -> Response<axum::body::Body> {
    let body = serde_json::json!({"status": status.as_u16(), "message": message}).to_string();
    let mut res = Response::new(axum::body::Body::from(body));
    *res.status_mut() = status;
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    res
}

/// The kind of access a gRPC method needs (`/package.Service/Method`). Methods this
/// table does not know need the admin role (the server answers them UNIMPLEMENTED).
pub fn grpc_access(path: &str) -> Access {
    let path = path.trim_start_matches('/');
    let Some((service, method)) = path.split_once('/') else {
        return Access::Admin;
    };
    match service {
        "grpc.health.v1.Health"
        | "grpc.reflection.v1.ServerReflection"
        | "grpc.reflection.v1alpha.ServerReflection" => Access::Public,
        "baton.v1.MonitorService" => Access::Read,
        "baton.v1.AdminService" => Access::Admin,
        "baton.v1.MetadataService" => match method {
            "GetWorkflowDef"
            | "ListWorkflowDefs"
            | "ValidateWorkflowDef"
            | "GetTaskDef"
            | "ListTaskDefs"
            | "GetEventHandler"
            | "ListEventHandlers" => Access::Read,
            _ => Access::Define,
        },
        "baton.v1.ScheduleService" => match method {
            "GetSchedule" | "ListSchedules" | "PreviewSchedule" | "GetScheduleHistory" => {
                Access::Read
            }
            _ => Access::Operate,
        },
        "baton.v1.TaskService" => match method {
            "Work" | "Poll" | "BatchPoll" | "UpdateTask" | "ExtendLease" | "AddTaskLogs" => {
                Access::Work
            }
            "GetTask" | "GetTaskLogs" | "ListQueues" | "SearchTasks" | "ListWorkers" => {
                Access::Read
            }
            "UpdateTaskByRef" => Access::Operate,
            _ => Access::Admin,
        },
        "baton.v1.WorkflowService" => match method {
            "WaitWorkflow"
            | "GetWorkflow"
            | "GetWorkflowsByCorrelationId"
            | "GetWorkflowsByCorrelationIds"
            | "ListWorkflowTasks"
            | "GetRunningWorkflows"
            | "SearchWorkflows"
            | "GetRetention" => Access::Read,
            "ImportWorkflows" => Access::Admin,
            _ => Access::Operate,
        },
        _ => Access::Admin,
    }
}

/// The layer: wraps the service that serves every route.
#[derive(Clone)]
pub struct AccessLayer {
    auth: Arc<Auth>,
    http: HttpFace,
}

impl AccessLayer {
    /// A guard deciding with `auth`, and classifying HTTP requests with `http` (or, when
    /// None, reads as reads and everything else as administration).
    pub fn new(auth: Arc<Auth>, http: Option<HttpFace>) -> Self {
        Self {
            auth,
            http: http.unwrap_or(HttpFace {
                access: default_http_access,
                refuse: default_refuse,
            }),
        }
    }
}

impl<S> tower_layer::Layer<S> for AccessLayer {
    type Service = Guarded<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Guarded {
            inner,
            auth: self.auth.clone(),
            http: self.http,
        }
    }
}

/// The service the layer makes.
#[derive(Clone)]
pub struct Guarded<S> {
    inner: S,
    auth: Arc<Auth>,
    http: HttpFace,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
}

/// The credentials of a request: `authorization`, then `x-authorization`, then the
/// session cookie.
fn credential(headers: &HeaderMap) -> Option<String> {
    for name in [http::header::AUTHORIZATION.as_str(), "x-authorization"] {
        if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok())
            && !v.trim().is_empty()
        {
            return Some(v.trim().to_string());
        }
    }
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            let (name, value) = c.trim().split_once('=')?;
            (name == SESSION_COOKIE && !value.is_empty()).then(|| value.to_string())
        })
}

fn remote<B>(req: &Request<B>) -> String {
    use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
    let ext = req.extensions();
    ext.get::<TcpConnectInfo>()
        .and_then(|c| c.remote_addr())
        .or_else(|| {
            ext.get::<TlsConnectInfo<TcpConnectInfo>>()
                .and_then(|c| c.get_ref().remote_addr())
        })
        .map(|a| a.to_string())
        .unwrap_or_default()
}

fn grpc_code(headers: &HeaderMap) -> Option<Code> {
    let v = headers.get("grpc-status")?.to_str().ok()?;
    Some(Code::from_i32(v.trim().parse().ok()?))
}

fn grpc_message(headers: &HeaderMap) -> String {
    headers
        .get("grpc-message")
        .and_then(|v| v.to_str().ok())
        .map(percent_decode)
        .unwrap_or_default()
}

/// gRPC percent-encodes its messages; the audit log keeps them readable.
fn percent_decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

struct Pending {
    auth: Arc<Auth>,
    entry: AuditEntry,
    grpc: bool,
    done: bool,
    /// Which outcomes are recorded.
    mode: Mode,
}

/// Which outcomes of an allowed request the audit log records.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Every one (actions that change something).
    All,
    /// Failures only, not when the caller went away (worker calls: a forged or stale task
    /// token, a task that is gone).
    Failures,
    /// Refusals only (the public routes that check credentials themselves: a token
    /// asked for with a wrong secret, a sign-in with a revoked key).
    Refusals,
}

impl Pending {
    fn finish_grpc(&mut self, code: Code, message: String) {
        self.entry.status = format!("{code:?}");
        self.entry.outcome = if code == Code::Ok {
            Outcome::Ok
        } else {
            Outcome::Failed
        };
        self.entry.reason = message;
        self.done = true;
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if self.grpc && !self.done {
            // The body ended without trailers (the client went away).
            self.entry.status = "Cancelled".into();
            self.entry.outcome = Outcome::Failed;
        }
        match self.mode {
            Mode::All => {}
            Mode::Failures => {
                if self.entry.outcome == Outcome::Ok || self.entry.status == "Cancelled" {
                    return;
                }
            }
            Mode::Refusals => {
                let refused = matches!(
                    self.entry.status.as_str(),
                    "401" | "403" | "Unauthenticated" | "PermissionDenied"
                );
                if !refused {
                    return;
                }
                self.entry.outcome = Outcome::Denied;
            }
        }
        let auth = self.auth.clone();
        let entry = std::mem::replace(
            &mut self.entry,
            AuditEntry {
                seq: 0,
                time: 0,
                actor: String::new(),
                actor_name: String::new(),
                role: None,
                action: String::new(),
                access: Access::Public,
                remote: String::new(),
                outcome: Outcome::Ok,
                status: String::new(),
                reason: String::new(),
            },
        );
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move { auth.record(entry).await });
        }
    }
}

impl<S, ReqBody, ResBody> tower_service::Service<Request<ReqBody>> for Guarded<S>
where
    S: tower_service::Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let grpc = is_grpc(req.headers());
        let path = req.uri().path().to_string();
        let access = if grpc {
            grpc_access(&path)
        } else {
            (self.http.access)(req.method(), &path)
        };
        let action = if grpc {
            path.trim_start_matches('/').to_string()
        } else {
            format!("{} {}", req.method(), path)
        };
        let auth = self.auth.clone();
        let mut entry = AuditEntry {
            seq: 0,
            time: 0,
            actor: "anonymous".into(),
            actor_name: String::new(),
            role: None,
            action,
            access,
            remote: remote(&req),
            outcome: Outcome::Ok,
            status: String::new(),
            reason: String::new(),
        };

        // Public routes take credentials too (to say who is signed in), but bad ones do
        // not stop them.
        let principal = match credential(req.headers()).filter(|_| auth.enabled()) {
            Some(c) => match auth.authenticate(&c) {
                Ok(p) => Some(p),
                Err(_) if access == Access::Public => None,
                Err(e) => {
                    // Who the caller claimed to be (a key's id is not a secret).
                    if let Some(id) = Auth::claimed_key_id(&c) {
                        entry.actor = id;
                    }
                    return refuse(&auth, self.http, grpc, entry, e);
                }
            },
            None => None,
        };
        if let Some(p) = &principal {
            entry.actor = p.key_id.clone();
            entry.actor_name = p.name.clone();
            entry.role = Some(p.role);
        }
        if let Err(e) = auth.authorize(principal.as_ref(), access, &entry.action) {
            return refuse(&auth, self.http, grpc, entry, e);
        }
        if let Some(p) = principal {
            req.extensions_mut().insert::<Principal>(p);
        }
        let mode = match access {
            Access::Work => Mode::Failures,
            Access::Public => Mode::Refusals,
            _ => Mode::All,
        };
        // Reading keys or the audit log is not an action (refusals are still recorded).
        let reads_admin = access == Access::Admin
            && if grpc {
                let method = path.rsplit('/').next().unwrap_or("");
                method.starts_with("List") || method.starts_with("Get")
            } else {
                req.method() == Method::GET || req.method() == Method::HEAD
            };
        let audited = auth.auditing() && !reads_admin && (access.audited() || mode != Mode::All);
        let fut = self.inner.call(req);
        Box::pin(async move {
            let res = fut.await?;
            if !audited {
                return Ok(res.map(tonic::body::Body::new));
            }
            let mut pending = Pending {
                auth,
                entry,
                grpc,
                done: false,
                mode,
            };
            if grpc {
                if let Some(code) = grpc_code(res.headers()) {
                    pending.finish_grpc(code, grpc_message(res.headers()));
                }
            } else {
                let status = res.status();
                pending.entry.status = status.as_u16().to_string();
                pending.entry.outcome = if status.is_success() || status.is_redirection() {
                    Outcome::Ok
                } else {
                    Outcome::Failed
                };
                pending.done = true;
            }
            if pending.done {
                drop(pending);
                return Ok(res.map(tonic::body::Body::new));
            }
            Ok(res.map(|body| {
                tonic::body::Body::new(Audited {
                    body,
                    pending: Some(pending),
                })
            }))
        })
    }
}

fn refuse<E: Send + 'static>(
    auth: &Arc<Auth>,
    http: HttpFace,
    grpc: bool,
    mut entry: AuditEntry,
    e: AuthError,
) -> Pin<Box<dyn Future<Output = Result<Response<tonic::body::Body>, E>> + Send>> {
    let (code, status, message) = match &e {
        AuthError::Unauthenticated(m) => {
            (Code::Unauthenticated, StatusCode::UNAUTHORIZED, m.clone())
        }
        AuthError::PermissionDenied(m) => {
            (Code::PermissionDenied, StatusCode::FORBIDDEN, m.clone())
        }
    };
    tracing::info!(action = %entry.action, remote = %entry.remote, reason = %message, "request refused");
    entry.outcome = Outcome::Denied;
    entry.reason = message.clone();
    entry.status = if grpc {
        format!("{code:?}")
    } else {
        status.as_u16().to_string()
    };
    let res = if grpc {
        tonic::Status::new(code, message).into_http::<tonic::body::Body>()
    } else {
        let mut res = (http.refuse)(status, message).map(tonic::body::Body::new);
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                http::header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Bearer"),
            );
        }
        res
    };
    let auth = auth.clone();
    Box::pin(async move {
        auth.record(entry).await;
        Ok(res)
    })
}

pin_project_lite::pin_project! {
    /// A response body that records its request in the audit log when it is done with.
    pub struct Audited<B> {
        #[pin]
        body: B,
        pending: Option<Pending>,
    }
}

impl<B: Body> Body for Audited<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let polled = this.body.poll_frame(cx);
        if let Some(p) = this.pending.as_mut() {
            match &polled {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Some(t) = frame.trailers_ref()
                        && let Some(code) = grpc_code(t)
                    {
                        p.finish_grpc(code, grpc_message(t));
                    }
                }
                Poll::Ready(Some(Err(_))) => p.finish_grpc(Code::Internal, String::new()),
                Poll::Ready(None) | Poll::Pending => {}
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
