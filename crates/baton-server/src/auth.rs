//! Authentication, authorization and the audit log, shared by every API.
//!
//! A caller proves who it is with an API key (`bk_{id}_{secret}`, sent as a bearer
//! token) or with a token the server signed for a key (Conductor's `/api/token`, the web
//! UI's session). Keys are stored with a SHA-256 digest of their secret only; the secret
//! is shown once, when the key is made. Tokens are HS256 JSON Web Tokens under a secret
//! kept in the store, valid until they expire and while their key is not revoked.
//!
//! Every request needs a kind of [`Access`]; the caller's [`Role`] grants it or not. The
//! audit log records every allowed request that changes something (not reads, not worker
//! results) and every refused one, with who, what, when, from where and how it ended. It
//! is written by a task of its own in batches, each flushed to disk, and holds at most
//! [`AuthConfig::audit_keep`] entries.

use std::collections::HashMap;
use std::sync::Arc;

use baton_core::auth::{Access, ApiKey, AuditEntry, AuditFilter, Role};
use baton_store::Store;
use parking_lot::RwLock;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::mpsc;

use crate::clock::SharedClock;
use crate::error::EngineError;
use crate::runtime::registry::blocking;

/// The prefix of every API key's text.
pub const KEY_PREFIX: &str = "bk_";

/// How long a token from [`Auth::issue_token`] is valid, by default.
pub const DEFAULT_TOKEN_TTL_MS: i64 = 60 * 60 * 1000;

/// Name of the web UI's session cookie.
pub const SESSION_COOKIE: &str = "baton_session";

/// How long a web UI session is valid.
pub const SESSION_TTL_MS: i64 = 12 * 60 * 60 * 1000;

/// Most audit entries one page may ask for.
pub const MAX_AUDIT_PAGE: usize = 1000;

/// Audit entries waiting for the writer before a request waits for room.
const AUDIT_QUEUE: usize = 65_536;

/// Entries the writer puts in one batch.
const AUDIT_BATCH: usize = 1000;

/// Name of the token-signing secret in the store.
const TOKEN_SECRET: &str = "token-hs256";

/// How authentication and the audit log are set up.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Whether requests must carry credentials (`baton server --auth`).
    pub enabled: bool,
    /// Whether the audit log records (on whenever auth is; may be turned on without it,
    /// when every caller is `anonymous`).
    pub audit: bool,
    /// Most audit entries kept; the oldest go beyond it.
    pub audit_keep: usize,
    /// How long tokens from `/api/token` are valid (ms).
    pub token_ttl_ms: i64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            audit: false,
            audit_keep: 1_000_000,
            token_ttl_ms: DEFAULT_TOKEN_TTL_MS,
        }
    }
}

/// Who is calling, once authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The key's id.
    pub key_id: String,
    /// The key's name.
    pub name: String,
    /// The key's role.
    pub role: Role,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No credentials, or credentials that prove nothing (unknown, malformed, revoked,
    /// expired, forged).
    #[error("{0}")]
    Unauthenticated(String),
    /// Authenticated, but the role does not allow it.
    #[error("{0}")]
    PermissionDenied(String),
}

impl From<AuthError> for EngineError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Unauthenticated(m) => EngineError::Unauthenticated(m),
            AuthError::PermissionDenied(m) => EngineError::PermissionDenied(m),
        }
    }
}

/// A key just made: its record and its text, which is shown this once.
#[derive(Debug, Clone)]
pub struct NewKey {
    /// The stored record.
    pub key: ApiKey,
    /// The whole key, `bk_{id}_{secret}`: what a client sends.
    pub text: String,
    /// The secret part alone (Conductor's `keySecret`; the id is its `keyId`).
    pub secret: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
    iat: i64,
}

/// Authentication, authorization and the audit log of one server.
pub struct Auth {
    config: AuthConfig,
    store: Arc<dyn Store>,
    clock: SharedClock,
    keys: RwLock<HashMap<String, ApiKey>>,
    encoding: jsonwebtoken::EncodingKey,
    decoding: jsonwebtoken::DecodingKey,
    audit_tx: Option<mpsc::Sender<AuditEntry>>,
    /// Bumped at every revocation, so that long-lived streams can look again.
    revocations: tokio::sync::watch::Sender<u64>,
    /// Held while a key is made, so that creation times are unique and listing in their
    /// order is listing in the order the keys were made.
    creating: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("enabled", &self.config.enabled)
            .field("audit", &self.config.audit)
            .finish_non_exhaustive()
    }
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn digest(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// Splits a key's text into its id and secret.
fn parse_key(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix(KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    (!id.is_empty() && !secret.is_empty()).then_some((id, secret))
}

/// Makes a new key record and its text (not stored).
fn make_key(name: &str, role: Role, created_by: &str, now: i64) -> NewKey {
    let id = random_hex(8);
    let secret = random_hex(32);
    NewKey {
        key: ApiKey {
            id: id.clone(),
            name: name.to_string(),
            role,
            created_at: now,
            created_by: created_by.to_string(),
            revoked_at: None,
            secret_sha256: digest(&secret),
        },
        text: format!("{KEY_PREFIX}{id}_{secret}"),
        secret,
    }
}

fn check_name(name: &str) -> Result<String, EngineError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(EngineError::InvalidArgument(
            "a key needs a name (who or what uses it)".into(),
        ));
    }
    if name.chars().count() > 200 {
        return Err(EngineError::InvalidArgument(
            "a key's name must be at most 200 characters".into(),
        ));
    }
    Ok(name.to_string())
}

/// Creates an admin key directly in a store (the server not running): the first key of a
/// server that turns auth on.
pub fn bootstrap_key(store: &dyn Store, name: &str, now: i64) -> Result<NewKey, EngineError> {
    let name = check_name(name)?;
    let made = make_key(&name, Role::Admin, "bootstrap", now);
    store.put_api_key(&made.key)?;
    Ok(made)
}

impl Auth {
    /// Loads the keys and the token secret from `store` and, when the audit log records,
    /// starts its writer (on the current async runtime).
    pub fn open(
        store: Arc<dyn Store>,
        config: AuthConfig,
        clock: SharedClock,
    ) -> Result<Arc<Self>, EngineError> {
        let keys = store
            .api_keys()?
            .into_iter()
            .map(|k| (k.id.clone(), k))
            .collect();
        let secret = store.secret(TOKEN_SECRET, &|| {
            let mut b = vec![0u8; 32];
            rand::rng().fill_bytes(&mut b);
            b
        })?;
        let audit_tx = (config.audit || config.enabled).then(|| {
            let (tx, rx) = mpsc::channel(AUDIT_QUEUE);
            tokio::spawn(write_audit(store.clone(), rx, config.audit_keep));
            tx
        });
        Ok(Arc::new(Self {
            encoding: jsonwebtoken::EncodingKey::from_secret(&secret),
            decoding: jsonwebtoken::DecodingKey::from_secret(&secret),
            config,
            store,
            clock,
            keys: RwLock::new(keys),
            audit_tx,
            revocations: tokio::sync::watch::Sender::new(0),
            creating: tokio::sync::Mutex::new(()),
        }))
    }

    /// Whether requests must carry credentials.
    pub fn enabled(&self) -> bool {
        self.config.enabled
    }

    /// Whether the audit log records.
    pub fn auditing(&self) -> bool {
        self.audit_tx.is_some()
    }

    /// Who presents `credential` (an API key, or a token from [`Auth::issue_token`],
    /// with or without a `Bearer ` prefix). Refuses unknown, malformed, revoked, expired
    /// and forged credentials, naming which.
    pub fn authenticate(&self, credential: &str) -> Result<Principal, AuthError> {
        let text = credential.trim();
        let text = text
            .strip_prefix("Bearer ")
            .or_else(|| text.strip_prefix("bearer "))
            .unwrap_or(text)
            .trim();
        if text.is_empty() {
            return Err(AuthError::Unauthenticated(
                "empty credentials: send an API key as `authorization: Bearer bk_...`".into(),
            ));
        }
        if text.starts_with(KEY_PREFIX) {
            let (id, secret) = parse_key(text).ok_or_else(|| {
                AuthError::Unauthenticated("malformed API key: expected bk_{id}_{secret}".into())
            })?;
            return Ok(principal(&self.key_with_secret(id, secret)?));
        }
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_exp = false;
        let data =
            jsonwebtoken::decode::<Claims>(text, &self.decoding, &validation).map_err(|e| {
                AuthError::Unauthenticated(format!("invalid token ({e}); sign in again"))
            })?;
        if data.claims.exp * 1000 <= self.clock.now_ms() {
            return Err(AuthError::Unauthenticated(format!(
                "token for API key {} expired; ask /api/token for a new one",
                data.claims.sub
            )));
        }
        Ok(principal(&self.live_key(&data.claims.sub)?))
    }

    /// The key id an API key's text names (whether or not the key is good): who a refused
    /// caller claimed to be, for the audit log. None for anything but an API key.
    pub fn claimed_key_id(credential: &str) -> Option<String> {
        let text = credential.trim();
        let text = text
            .strip_prefix("Bearer ")
            .or_else(|| text.strip_prefix("bearer "))
            .unwrap_or(text)
            .trim();
        let (id, _) = parse_key(text)?;
        (id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit())).then(|| id.to_string())
    }

    /// The live key `id`, when `secret` is its secret (compared by digest, in constant
    /// time).
    fn key_with_secret(&self, id: &str, secret: &str) -> Result<ApiKey, AuthError> {
        let key = self.live_key(id)?;
        if !bool::from(
            digest(secret)
                .as_bytes()
                .ct_eq(key.secret_sha256.as_bytes()),
        ) {
            return Err(AuthError::Unauthenticated(format!(
                "wrong secret for API key {id}"
            )));
        }
        Ok(key)
    }

    fn live_key(&self, id: &str) -> Result<ApiKey, AuthError> {
        let key = self
            .keys
            .read()
            .get(id)
            .cloned()
            .ok_or_else(|| AuthError::Unauthenticated(format!("unknown API key {id}")))?;
        if key.revoked_at.is_some() {
            return Err(AuthError::Unauthenticated(format!(
                "API key {id} ({}) was revoked",
                key.name
            )));
        }
        Ok(key)
    }

    /// Whether `who` may make a request needing `access` (`what` names it in the
    /// refusal). With auth off everything is allowed.
    pub fn authorize(
        &self,
        who: Option<&Principal>,
        access: Access,
        what: &str,
    ) -> Result<(), AuthError> {
        if !self.config.enabled || access == Access::Public {
            return Ok(());
        }
        let Some(p) = who else {
            return Err(AuthError::Unauthenticated(format!(
                "{what} needs credentials: send an API key as `authorization: Bearer bk_...`"
            )));
        };
        if p.role.allows(access) {
            return Ok(());
        }
        let roles: Vec<&str> = Role::ALL
            .iter()
            .filter(|r| r.allows(access))
            .map(|r| r.as_str())
            .collect();
        let needs = match roles.as_slice() {
            [one] => format!("the {one} role"),
            [rest @ .., last] => format!("the {} or {last} role", rest.join(", ")),
            [] => "a role no key has".to_string(),
        };
        Err(AuthError::PermissionDenied(format!(
            "API key {} has the {} role, which may not {}: {what} needs {needs}",
            p.key_id,
            p.role,
            access.as_str()
        )))
    }

    /// A token for the key `key_id` whose secret is `secret` (Conductor's `/api/token`),
    /// valid for the configured time (or `ttl_ms`), and when it expires (epoch ms).
    pub fn issue_token(
        &self,
        key_id: &str,
        secret: &str,
        ttl_ms: Option<i64>,
    ) -> Result<(String, i64), AuthError> {
        let key = self.key_with_secret(key_id.trim(), secret.trim())?;
        let now = self.clock.now_ms();
        let expires = now + ttl_ms.unwrap_or(self.config.token_ttl_ms);
        let claims = Claims {
            sub: key.id.clone(),
            iat: now / 1000,
            exp: expires / 1000,
        };
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &self.encoding,
        )
        .map_err(|e| AuthError::Unauthenticated(format!("cannot sign a token: {e}")))?;
        Ok((token, (expires / 1000) * 1000))
    }

    /// Makes and stores a key; the text is in the answer only.
    pub async fn create_key(
        &self,
        name: &str,
        role: Role,
        created_by: &str,
    ) -> Result<NewKey, EngineError> {
        let name = check_name(name)?;
        let _one_at_a_time = self.creating.lock().await;
        // Later than every key there is, even within one millisecond.
        let latest = self.keys.read().values().map(|k| k.created_at).max();
        let now = self.clock.now_ms().max(latest.map_or(i64::MIN, |t| t + 1));
        let made = make_key(&name, role, created_by, now);
        let store = self.store.clone();
        let key = made.key.clone();
        blocking(move || store.put_api_key(&key)).await?;
        self.keys
            .write()
            .insert(made.key.id.clone(), made.key.clone());
        Ok(made)
    }

    /// Whether the key `id` exists and is not revoked.
    pub fn is_live(&self, id: &str) -> bool {
        self.live_key(id).is_ok()
    }

    /// Changes at every revocation: a stream opened with a key watches it and ends when
    /// its key is no longer live.
    pub fn revocations(&self) -> tokio::sync::watch::Receiver<u64> {
        self.revocations.subscribe()
    }

    /// Every key, revoked ones too, oldest first.
    pub fn list_keys(&self) -> Vec<ApiKey> {
        let mut keys: Vec<ApiKey> = self.keys.read().values().cloned().collect();
        keys.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        keys
    }

    /// Revokes a key: it, and every token made from it, is refused from now on.
    /// Revoking a revoked key changes nothing.
    pub async fn revoke_key(&self, id: &str) -> Result<ApiKey, EngineError> {
        let Some(mut key) = self.keys.read().get(id.trim()).cloned() else {
            return Err(EngineError::NotFound(format!("no API key {}", id.trim())));
        };
        if key.revoked_at.is_some() {
            return Ok(key);
        }
        key.revoked_at = Some(self.clock.now_ms());
        let store = self.store.clone();
        let stored = key.clone();
        blocking(move || store.put_api_key(&stored)).await?;
        self.keys.write().insert(key.id.clone(), key.clone());
        self.revocations.send_modify(|n| *n += 1);
        Ok(key)
    }

    /// Records an audit entry (its time is set here). Waits while the writer is
    /// behind by [`AUDIT_QUEUE`] entries; does nothing when the log does not record.
    pub async fn record(&self, mut entry: AuditEntry) {
        if let Some(tx) = &self.audit_tx {
            entry.time = self.clock.now_ms();
            if tx.send(entry).await.is_err() {
                tracing::error!("the audit writer has stopped; an entry was not recorded");
            }
        }
    }

    /// Audit entries matching `filter`, newest first, older than `before` (a `seq`)
    /// when given, at most `limit` (1 to [`MAX_AUDIT_PAGE`]).
    pub async fn audit(
        &self,
        filter: AuditFilter,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, EngineError> {
        if limit == 0 || limit > MAX_AUDIT_PAGE {
            return Err(EngineError::InvalidArgument(format!(
                "limit must be between 1 and {MAX_AUDIT_PAGE}, got {limit}"
            )));
        }
        let store = self.store.clone();
        blocking(move || {
            let mut out = Vec::new();
            let mut cursor = before;
            loop {
                let page = store.audit_page(cursor, 1000)?;
                let Some(last) = page.last() else {
                    break;
                };
                cursor = Some(last.seq);
                for e in page {
                    // Entries are newest first: once before `since`, none later matches.
                    if filter.since.is_some_and(|t| e.time < t) {
                        return Ok(out);
                    }
                    if filter.matches(&e) {
                        out.push(e);
                        if out.len() >= limit {
                            return Ok(out);
                        }
                    }
                }
            }
            Ok(out)
        })
        .await
    }
}

fn principal(key: &ApiKey) -> Principal {
    Principal {
        key_id: key.id.clone(),
        name: key.name.clone(),
        role: key.role,
    }
}

/// The audit writer: takes what is queued, writes it as one flushed batch, and trims the
/// log now and then.
async fn write_audit(store: Arc<dyn Store>, mut rx: mpsc::Receiver<AuditEntry>, keep: usize) {
    let mut since_trim = 0usize;
    let mut batch = Vec::with_capacity(AUDIT_BATCH);
    while rx.recv_many(&mut batch, AUDIT_BATCH).await > 0 {
        let mut entries = std::mem::take(&mut batch);
        let n = entries.len();
        let s = store.clone();
        let trim = {
            since_trim += n;
            since_trim >= 10_000
        };
        if trim {
            since_trim = 0;
        }
        let result = blocking(move || {
            let mut tries = 0;
            loop {
                match s.append_audit(&mut entries) {
                    Ok(()) => break,
                    Err(e) if tries < 5 => {
                        tries += 1;
                        tracing::warn!(error = %e, "cannot write the audit log; trying again");
                        std::thread::sleep(std::time::Duration::from_millis(100 << tries));
                    }
                    Err(e) => return Err(e),
                }
            }
            if trim {
                while s.trim_audit(keep)? > 0 {}
            }
            Ok(())
        })
        .await;
        if let Err(e) = result {
            tracing::error!(error = %e, entries = n, "audit entries were not written");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn open(store: &Arc<dyn Store>, clock: Arc<ManualClock>) -> Arc<Auth> {
        Auth::open(
            store.clone(),
            AuthConfig {
                enabled: true,
                ..Default::default()
            },
            clock,
        )
        .unwrap()
    }

    fn store(dir: &std::path::Path) -> Arc<dyn Store> {
        Arc::new(baton_store::SledStore::open(dir).unwrap())
    }

    #[tokio::test]
    async fn keys_list_in_the_order_they_were_made_even_within_one_millisecond() {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(1_000);
        let store = store(dir.path());
        let auth = open(&store, clock.clone());
        let mut made = Vec::new();
        for i in 0..40 {
            made.push(
                auth.create_key(&format!("k{i}"), Role::Worker, "t")
                    .await
                    .unwrap()
                    .key
                    .id,
            );
        }
        let listed: Vec<String> = auth.list_keys().into_iter().map(|k| k.id).collect();
        assert_eq!(listed, made);
        drop(auth);
        // And as loaded again from the store.
        let auth = open(&store, clock);
        let listed: Vec<String> = auth.list_keys().into_iter().map(|k| k.id).collect();
        assert_eq!(listed, made);
    }

    #[tokio::test]
    async fn tokens_expire_on_the_clock_and_end_with_their_key() {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(1_000_000);
        let auth = open(&store(dir.path()), clock.clone());
        let key = auth.create_key("svc", Role::Operator, "t").await.unwrap();
        let (token, expires) = auth
            .issue_token(&key.key.id, &key.secret, Some(60_000))
            .unwrap();
        assert_eq!(expires, 1_060_000);
        assert_eq!(auth.authenticate(&token).unwrap().role, Role::Operator);
        assert!(matches!(
            auth.issue_token(&key.key.id, "nope", None),
            Err(AuthError::Unauthenticated(_))
        ));
        clock.advance(59_999);
        assert!(auth.authenticate(&format!("Bearer {token}")).is_ok());
        clock.advance(1);
        let e = auth.authenticate(&token).unwrap_err();
        assert!(e.to_string().contains("expired"), "{e}");
        // A fresh token, then the key revoked: both the key and the token are refused.
        let (token, _) = auth.issue_token(&key.key.id, &key.secret, None).unwrap();
        auth.revoke_key(&key.key.id).await.unwrap();
        assert!(
            auth.authenticate(&token)
                .unwrap_err()
                .to_string()
                .contains("revoked")
        );
        assert!(
            auth.authenticate(&key.text)
                .unwrap_err()
                .to_string()
                .contains("revoked")
        );
        assert!(!auth.is_live(&key.key.id));
    }
}
