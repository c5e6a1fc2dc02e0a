//! AdminService: API keys and the audit log.

use std::sync::Arc;

use baton_core::auth::{ApiKey, AuditEntry, AuditFilter, Outcome, Role};
use baton_proto::v1 as pb;
use baton_proto::v1::admin_service_server::AdminService;
use baton_server::Service;
use baton_server::auth::{Auth, Principal};
use tonic::{Request, Response, Status};

use crate::convert::{ms, opt_ts, ts};
use crate::status;

/// Entries answered when a request asks for none in particular.
const DEFAULT_AUDIT_PAGE: usize = 100;

/// The AdminService implementation.
pub struct Admin {
    svc: Service,
}

impl Admin {
    /// Answers from `svc`.
    pub fn new(svc: Service) -> Self {
        Self { svc }
    }

    fn auth(&self) -> Result<&Arc<Auth>, Status> {
        self.svc
            .auth()
            .ok_or_else(|| Status::unavailable("this server keeps no API keys or audit log"))
    }
}

/// A role from the wire.
pub fn role_from_pb(r: i32) -> Option<Role> {
    match pb::Role::try_from(r).ok()? {
        pb::Role::Admin => Some(Role::Admin),
        pb::Role::Operator => Some(Role::Operator),
        pb::Role::Worker => Some(Role::Worker),
        pb::Role::Viewer => Some(Role::Viewer),
        pb::Role::Unspecified => None,
    }
}

/// A role on the wire.
pub fn role_to_pb(r: Role) -> pb::Role {
    match r {
        Role::Admin => pb::Role::Admin,
        Role::Operator => pb::Role::Operator,
        Role::Worker => pb::Role::Worker,
        Role::Viewer => pb::Role::Viewer,
    }
}

/// A key on the wire.
pub fn key_to_pb(k: ApiKey) -> pb::ApiKey {
    pb::ApiKey {
        id: k.id,
        name: k.name,
        role: role_to_pb(k.role) as i32,
        created_at: Some(ts(k.created_at)),
        created_by: k.created_by,
        revoked_at: opt_ts(k.revoked_at),
    }
}

fn outcome_to_pb(o: Outcome) -> pb::AuditOutcome {
    match o {
        Outcome::Ok => pb::AuditOutcome::Ok,
        Outcome::Denied => pb::AuditOutcome::Denied,
        Outcome::Failed => pb::AuditOutcome::Failed,
    }
}

/// An audit entry on the wire.
pub fn audit_to_pb(e: AuditEntry) -> pb::AuditEvent {
    pb::AuditEvent {
        seq: e.seq,
        time: Some(ts(e.time)),
        actor: e.actor,
        actor_name: e.actor_name,
        role: e.role.map_or(pb::Role::Unspecified, role_to_pb) as i32,
        action: e.action,
        access: e.access.as_str().to_string(),
        remote: e.remote,
        outcome: outcome_to_pb(e.outcome) as i32,
        status: e.status,
        reason: e.reason,
    }
}

fn who<T>(req: &Request<T>) -> String {
    req.extensions()
        .get::<Principal>()
        .map_or_else(|| "anonymous".to_string(), |p| p.key_id.clone())
}

#[tonic::async_trait]
impl AdminService for Admin {
    async fn create_api_key(
        &self,
        req: Request<pb::CreateApiKeyRequest>,
    ) -> Result<Response<pb::CreateApiKeyResponse>, Status> {
        let by = who(&req);
        let r = req.into_inner();
        let role = role_from_pb(r.role).ok_or_else(|| {
            Status::invalid_argument(format!(
                "role: must be ROLE_ADMIN, ROLE_OPERATOR, ROLE_WORKER or ROLE_VIEWER, got {}",
                r.role
            ))
        })?;
        let made = self
            .auth()?
            .create_key(&r.name, role, &by)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::CreateApiKeyResponse {
            key: Some(key_to_pb(made.key)),
            key_text: made.text,
            secret: made.secret,
        }))
    }

    async fn list_api_keys(
        &self,
        _req: Request<pb::ListApiKeysRequest>,
    ) -> Result<Response<pb::ListApiKeysResponse>, Status> {
        let keys = self.auth()?.list_keys();
        Ok(Response::new(pb::ListApiKeysResponse {
            keys: keys.into_iter().map(key_to_pb).collect(),
        }))
    }

    async fn revoke_api_key(
        &self,
        req: Request<pb::RevokeApiKeyRequest>,
    ) -> Result<Response<pb::RevokeApiKeyResponse>, Status> {
        let id = req.into_inner().id;
        if id.trim().is_empty() {
            return Err(Status::invalid_argument("id: required"));
        }
        let key = self.auth()?.revoke_key(&id).await.map_err(status)?;
        Ok(Response::new(pb::RevokeApiKeyResponse {
            key: Some(key_to_pb(key)),
        }))
    }

    async fn list_audit_events(
        &self,
        req: Request<pb::ListAuditEventsRequest>,
    ) -> Result<Response<pb::ListAuditEventsResponse>, Status> {
        let r = req.into_inner();
        let outcome = match pb::AuditOutcome::try_from(r.outcome) {
            Ok(pb::AuditOutcome::Unspecified) => None,
            Ok(pb::AuditOutcome::Ok) => Some(Outcome::Ok),
            Ok(pb::AuditOutcome::Denied) => Some(Outcome::Denied),
            Ok(pb::AuditOutcome::Failed) => Some(Outcome::Failed),
            Err(_) => {
                return Err(Status::invalid_argument(format!(
                    "outcome: unknown value {}",
                    r.outcome
                )));
            }
        };
        let limit = match r.limit {
            0 => DEFAULT_AUDIT_PAGE,
            n if n < 0 => {
                return Err(Status::invalid_argument(format!(
                    "limit: must not be negative, got {n}"
                )));
            }
            n => n as usize,
        };
        let filter = AuditFilter {
            actor: r.actor.trim().to_string(),
            action: r.action.trim().to_string(),
            outcome,
            since: r.since.as_ref().map(ms),
            until: r.until.as_ref().map(ms),
        };
        let before = (r.before > 0).then_some(r.before);
        let events = self
            .auth()?
            .audit(filter, before, limit)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListAuditEventsResponse {
            events: events.into_iter().map(audit_to_pb).collect(),
        }))
    }
}
