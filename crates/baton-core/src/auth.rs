//! Who may do what: roles, the kinds of access every request needs, API key records and
//! audit entries. Pure data and rules; the server authenticates, the store keeps them.

use serde::{Deserialize, Serialize};

/// What a caller may do, by the role of its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything: definitions, keys, the audit log, and all the others may do.
    Admin,
    /// Starts and steers runs and schedules, and reads everything but keys and the audit
    /// log.
    Operator,
    /// Takes tasks and reports their results (worker streams, polls, updates, logs).
    Worker,
    /// Reads runs, definitions, queues and figures; changes nothing.
    Viewer,
}

impl Role {
    /// Every role, the strongest first.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Operator, Role::Worker, Role::Viewer];

    /// The role's name as written in keys, flags and answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Worker => "worker",
            Role::Viewer => "viewer",
        }
    }

    /// Whether this role grants `access`.
    pub fn allows(self, access: Access) -> bool {
        match access {
            Access::Public => true,
            Access::Read => matches!(self, Role::Admin | Role::Operator | Role::Viewer),
            Access::Operate => matches!(self, Role::Admin | Role::Operator),
            Access::Work => matches!(self, Role::Admin | Role::Worker),
            Access::Define | Access::Admin => self == Role::Admin,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Ok(Role::Admin),
            "operator" => Ok(Role::Operator),
            "worker" => Ok(Role::Worker),
            "viewer" => Ok(Role::Viewer),
            other => Err(format!(
                "unknown role {other:?}: expected admin, operator, worker or viewer"
            )),
        }
    }
}

/// The kind of access a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Anyone, signed in or not: health, the web UI's files, exchanging a key for a token.
    Public,
    /// Reading runs, tasks, definitions, schedules, queues, workers and figures.
    Read,
    /// Starting, steering and removing runs; schedules; completing a task by hand;
    /// sending events.
    Operate,
    /// What a worker does: taking tasks, reporting results and logs, extending leases.
    Work,
    /// Registering, changing and deleting definitions and event handlers.
    Define,
    /// Keys, the audit log, importing archives.
    Admin,
}

impl Access {
    /// Every kind of access, in the order of the documentation's table.
    pub const ALL: [Access; 6] = [
        Access::Public,
        Access::Read,
        Access::Operate,
        Access::Work,
        Access::Define,
        Access::Admin,
    ];

    /// The name used in answers and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Public => "public",
            Access::Read => "read",
            Access::Operate => "operate",
            Access::Work => "work",
            Access::Define => "define",
            Access::Admin => "admin",
        }
    }

    /// Whether a request of this kind is an action the audit log records when it is
    /// allowed (changes made by people and services; not reads, and not the stream of
    /// worker results). Refused requests of every kind are recorded.
    pub fn audited(self) -> bool {
        matches!(self, Access::Operate | Access::Define | Access::Admin)
    }
}

/// A stored API key: everything but the secret itself, of which only a digest is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// The key's id: public, part of the key text, named in the audit log.
    pub id: String,
    /// A name given at creation, for people.
    pub name: String,
    /// What the key may do.
    pub role: Role,
    /// When it was created (epoch ms).
    pub created_at: i64,
    /// Who created it (a key id, or `bootstrap`).
    pub created_by: String,
    /// When it was revoked (epoch ms); a revoked key is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
    /// SHA-256 of the secret part, lowercase hex.
    pub secret_sha256: String,
}

/// How an audited request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Done.
    Ok,
    /// Refused before anything was done: no or bad credentials, or a role that does not
    /// allow it.
    Denied,
    /// Allowed, but it failed (not found, invalid, a wrong state...).
    Failed,
}

impl Outcome {
    /// The name used in answers and filters.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
        }
    }
}

impl std::str::FromStr for Outcome {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ok" => Ok(Outcome::Ok),
            "denied" => Ok(Outcome::Denied),
            "failed" => Ok(Outcome::Failed),
            other => Err(format!(
                "unknown outcome {other:?}: expected ok, denied or failed"
            )),
        }
    }
}

/// One audited request: who, what, when, from where, and how it ended. Never holds a
/// secret or a request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Its place in the log: later entries have larger ones (set by the store).
    #[serde(default)]
    pub seq: u64,
    /// When the request was answered (epoch ms).
    pub time: i64,
    /// The key id of the caller; `anonymous` without credentials (or with auth off).
    pub actor: String,
    /// The key's name, when known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub actor_name: String,
    /// The caller's role, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// What was asked: the gRPC method (`baton.v1.WorkflowService/StartWorkflow`) or the
    /// HTTP method and path (`POST /api/workflow`).
    pub action: String,
    /// The kind of access it needed.
    pub access: Access,
    /// The caller's address.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub remote: String,
    /// How it ended.
    pub outcome: Outcome,
    /// The answer's status: the gRPC code name or the HTTP status number.
    pub status: String,
    /// Why it was refused or failed, when known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

/// Which audit entries a search wants. Empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// The actor (key id) or its name, exactly.
    pub actor: String,
    /// A part of the action, case-insensitively.
    pub action: String,
    /// The outcome.
    pub outcome: Option<Outcome>,
    /// Entries at or after this time (epoch ms).
    pub since: Option<i64>,
    /// Entries before this time (epoch ms).
    pub until: Option<i64>,
}

impl AuditFilter {
    /// Whether `e` passes the filter.
    pub fn matches(&self, e: &AuditEntry) -> bool {
        (self.actor.is_empty() || e.actor == self.actor || e.actor_name == self.actor)
            && (self.action.is_empty()
                || e.action
                    .to_ascii_lowercase()
                    .contains(&self.action.to_ascii_lowercase()))
            && self.outcome.is_none_or(|o| e.outcome == o)
            && self.since.is_none_or(|t| e.time >= t)
            && self.until.is_none_or(|t| e.time < t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_grant_what_the_table_says() {
        use Access::*;
        let table = [
            (Role::Admin, [true, true, true, true, true, true]),
            (Role::Operator, [true, true, true, false, false, false]),
            (Role::Worker, [true, false, false, true, false, false]),
            (Role::Viewer, [true, true, false, false, false, false]),
        ];
        for (role, row) in table {
            for (access, want) in [Public, Read, Operate, Work, Define, Admin]
                .into_iter()
                .zip(row)
            {
                assert_eq!(role.allows(access), want, "{role} {access:?}");
            }
        }
    }

    #[test]
    fn roles_and_outcomes_parse_and_name_bad_input() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert_eq!(" Admin ".parse::<Role>().unwrap(), Role::Admin);
        let e = "root".parse::<Role>().unwrap_err();
        assert!(e.contains("\"root\"") && e.contains("viewer"), "{e}");
        assert_eq!("denied".parse::<Outcome>().unwrap(), Outcome::Denied);
        assert!("maybe".parse::<Outcome>().is_err());
    }

    #[test]
    fn the_filter_matches_each_field() {
        let e = AuditEntry {
            seq: 1,
            time: 1_000,
            actor: "k1".into(),
            actor_name: "deploy bot".into(),
            role: Some(Role::Operator),
            action: "POST /api/workflow".into(),
            access: Access::Operate,
            remote: "127.0.0.1:5".into(),
            outcome: Outcome::Ok,
            status: "200".into(),
            reason: String::new(),
        };
        assert!(AuditFilter::default().matches(&e));
        let f = |f: AuditFilter| f.matches(&e);
        assert!(f(AuditFilter {
            actor: "k1".into(),
            ..Default::default()
        }));
        assert!(f(AuditFilter {
            actor: "deploy bot".into(),
            ..Default::default()
        }));
        assert!(!f(AuditFilter {
            actor: "k2".into(),
            ..Default::default()
        }));
        assert!(f(AuditFilter {
            action: "api/WORKFLOW".into(),
            ..Default::default()
        }));
        assert!(!f(AuditFilter {
            action: "schedule".into(),
            ..Default::default()
        }));
        assert!(f(AuditFilter {
            outcome: Some(Outcome::Ok),
            ..Default::default()
        }));
        assert!(!f(AuditFilter {
            outcome: Some(Outcome::Denied),
            ..Default::default()
        }));
        assert!(f(AuditFilter {
            since: Some(1_000),
            until: Some(1_001),
            ..Default::default()
        }));
        assert!(!f(AuditFilter {
            since: Some(1_001),
            ..Default::default()
        }));
        assert!(!f(AuditFilter {
            until: Some(1_000),
            ..Default::default()
        }));
    }
}
