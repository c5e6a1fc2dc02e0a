//! `baton auth` (the first admin key, then keys over the API) and `baton audit`.

use std::path::PathBuf;

use anyhow::Context;
use baton_core::auth::Role;
use baton_proto::v1 as pb;
use baton_proto::v1::admin_service_client::AdminServiceClient;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::cli::{Conn, channel, print_json};

/// `baton auth ...`
#[derive(Subcommand)]
pub enum AuthCommand {
    /// Creates an admin key directly in the store, for a server about to run with --auth
    /// (stop the server first: the store is opened here). Prints the key on the last line;
    /// it is shown only this once.
    Bootstrap {
        /// Directory of the embedded store.
        #[arg(long, env = "BATON_DATA_DIR", default_value = "./baton-data")]
        data_dir: PathBuf,
        /// A name for the key.
        #[arg(long, default_value = "admin")]
        name: String,
    },
    /// Makes, lists and revokes API keys over the API (needs an admin key).
    #[command(subcommand)]
    Key(KeyCommand),
}

/// `baton auth key ...`
#[derive(Subcommand)]
pub enum KeyCommand {
    /// Makes a key and prints it on the last line (shown only this once).
    Create {
        /// Who or what uses it.
        #[arg(long)]
        name: String,
        /// admin, operator, worker or viewer.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        #[command(flatten)]
        conn: Conn,
    },
    /// Lists every key, revoked ones too.
    List {
        #[command(flatten)]
        conn: Conn,
    },
    /// Revokes a key: it, and every token made from it, is refused from now on.
    Revoke {
        /// The key's id.
        id: String,
        #[command(flatten)]
        conn: Conn,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

fn role_pb(r: Role) -> pb::Role {
    match r {
        Role::Admin => pb::Role::Admin,
        Role::Operator => pb::Role::Operator,
        Role::Worker => pb::Role::Worker,
        Role::Viewer => pb::Role::Viewer,
    }
}

fn role_name(r: i32) -> &'static str {
    match pb::Role::try_from(r) {
        Ok(pb::Role::Admin) => "admin",
        Ok(pb::Role::Operator) => "operator",
        Ok(pb::Role::Worker) => "worker",
        Ok(pb::Role::Viewer) => "viewer",
        _ => "-",
    }
}

fn ms(t: &Option<prost_types::Timestamp>) -> Option<i64> {
    t.as_ref()
        .map(|t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000)
}

fn when(t: &Option<prost_types::Timestamp>) -> String {
    ms(t)
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "-".into())
}

fn key_json(k: &pb::ApiKey) -> serde_json::Value {
    json!({
        "id": k.id,
        "name": k.name,
        "role": role_name(k.role),
        "createdAt": ms(&k.created_at),
        "createdBy": k.created_by,
        "revokedAt": ms(&k.revoked_at),
    })
}

/// Runs a `baton auth` command.
pub async fn run(cmd: AuthCommand) -> anyhow::Result<()> {
    match cmd {
        AuthCommand::Bootstrap { data_dir, name } => {
            let store = baton_store::SledStore::open_with(
                &data_dir,
                baton_store::SledOptions {
                    cache_capacity: 16 * 1024 * 1024,
                    ..Default::default()
                },
            )
            .with_context(|| {
                format!(
                    "cannot open the store in {} (stop the server first)",
                    data_dir.display()
                )
            })?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or_default();
            let made = baton_server::auth::bootstrap_key(&store, &name, now)?;
            println!(
                "made admin key {} ({}) in {}",
                made.key.id,
                made.key.name,
                data_dir.display()
            );
            println!(
                "it is shown only now: pass it as --api-key or BATON_API_KEY, or send it as `authorization: Bearer <key>`"
            );
            println!("{}", made.text);
            Ok(())
        }
        AuthCommand::Key(KeyCommand::Create { name, role, conn }) => {
            let mut c = AdminServiceClient::new(channel(&conn).await?);
            let r = c
                .create_api_key(pb::CreateApiKeyRequest {
                    name,
                    role: role_pb(role) as i32,
                })
                .await?
                .into_inner();
            let key = r.key.unwrap_or_default();
            if conn.json {
                let mut v = key_json(&key);
                v["keyText"] = json!(r.key_text);
                v["secret"] = json!(r.secret);
                print_json(&v);
            } else {
                println!(
                    "made {} key {} ({}); keyId {} keySecret {}",
                    role_name(key.role),
                    key.id,
                    key.name,
                    key.id,
                    r.secret
                );
                println!("{}", r.key_text);
            }
            Ok(())
        }
        AuthCommand::Key(KeyCommand::List { conn }) => {
            let mut c = AdminServiceClient::new(channel(&conn).await?);
            let keys = c
                .list_api_keys(pb::ListApiKeysRequest {})
                .await?
                .into_inner()
                .keys;
            if conn.json {
                print_json(&json!(keys.iter().map(key_json).collect::<Vec<_>>()));
            } else {
                println!(
                    "{:<18} {:<9} {:<20} {:<20} {:<18} NAME",
                    "ID", "ROLE", "CREATED", "REVOKED", "BY"
                );
                for k in &keys {
                    println!(
                        "{:<18} {:<9} {:<20} {:<20} {:<18} {}",
                        k.id,
                        role_name(k.role),
                        when(&k.created_at),
                        if k.revoked_at.is_some() {
                            when(&k.revoked_at)
                        } else {
                            "-".into()
                        },
                        k.created_by,
                        k.name
                    );
                }
            }
            Ok(())
        }
        AuthCommand::Key(KeyCommand::Revoke { id, conn }) => {
            let mut c = AdminServiceClient::new(channel(&conn).await?);
            let key = c
                .revoke_api_key(pb::RevokeApiKeyRequest { id })
                .await?
                .into_inner()
                .key
                .unwrap_or_default();
            if conn.json {
                print_json(&key_json(&key));
            } else {
                println!("revoked key {} ({})", key.id, key.name);
            }
            Ok(())
        }
    }
}

/// `baton audit`
#[derive(Args)]
pub struct AuditArgs {
    /// Only this caller: a key id or a key's name.
    #[arg(long)]
    actor: Option<String>,
    /// Only actions containing this text (`StartWorkflow`, `POST /api/workflow`).
    #[arg(long)]
    action: Option<String>,
    /// Only this outcome: ok, denied or failed.
    #[arg(long, value_parser = ["ok", "denied", "failed"])]
    outcome: Option<String>,
    /// Only entries of this last stretch of time (`90s`, `15m`, `24h`, `7d`).
    #[arg(long, value_parser = parse_since)]
    since: Option<i64>,
    /// Only entries older than this `seq` (the next page).
    #[arg(long)]
    before: Option<u64>,
    /// Most entries (1 to 1000).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i32).range(1..=1000))]
    limit: i32,
    #[command(flatten)]
    conn: Conn,
}

fn parse_since(s: &str) -> Result<i64, String> {
    baton_core::retention::parse_age(s).map_err(|e| e.to_string())
}

/// Runs `baton audit`.
pub async fn audit(args: AuditArgs) -> anyhow::Result<()> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    let outcome = match args.outcome.as_deref() {
        Some("ok") => pb::AuditOutcome::Ok,
        Some("denied") => pb::AuditOutcome::Denied,
        Some("failed") => pb::AuditOutcome::Failed,
        _ => pb::AuditOutcome::Unspecified,
    };
    let since = args.since.map(|age| {
        let at = now - age;
        prost_types::Timestamp {
            seconds: at.div_euclid(1000),
            nanos: (at.rem_euclid(1000) * 1_000_000) as i32,
        }
    });
    let mut c = AdminServiceClient::new(channel(&args.conn).await?);
    let events = c
        .list_audit_events(pb::ListAuditEventsRequest {
            actor: args.actor.unwrap_or_default(),
            action: args.action.unwrap_or_default(),
            outcome: outcome as i32,
            since,
            until: None,
            before: args.before.unwrap_or(0),
            limit: args.limit,
        })
        .await?
        .into_inner()
        .events;
    if args.conn.json {
        let rows: Vec<_> = events
            .iter()
            .map(|e| {
                json!({
                    "seq": e.seq,
                    "time": ms(&e.time),
                    "actor": e.actor,
                    "actorName": e.actor_name,
                    "role": role_name(e.role),
                    "action": e.action,
                    "access": e.access,
                    "remote": e.remote,
                    "outcome": match pb::AuditOutcome::try_from(e.outcome) {
                        Ok(pb::AuditOutcome::Ok) => "ok",
                        Ok(pb::AuditOutcome::Denied) => "denied",
                        Ok(pb::AuditOutcome::Failed) => "failed",
                        _ => "-",
                    },
                    "status": e.status,
                    "reason": e.reason,
                })
            })
            .collect();
        print_json(&json!(rows));
        return Ok(());
    }
    for e in &events {
        let outcome = match pb::AuditOutcome::try_from(e.outcome) {
            Ok(pb::AuditOutcome::Ok) => "ok",
            Ok(pb::AuditOutcome::Denied) => "DENIED",
            Ok(pb::AuditOutcome::Failed) => "failed",
            _ => "-",
        };
        let who = if e.actor_name.is_empty() {
            e.actor.clone()
        } else {
            format!("{} ({})", e.actor, e.actor_name)
        };
        let reason = if e.reason.is_empty() {
            String::new()
        } else {
            format!(": {}", e.reason)
        };
        println!(
            "{} #{} {} {} from {} -> {} {}{}",
            when(&e.time),
            e.seq,
            who,
            e.action,
            if e.remote.is_empty() { "-" } else { &e.remote },
            outcome,
            e.status,
            reason
        );
    }
    if events.is_empty() {
        println!("no audit entries match");
    }
    Ok(())
}
