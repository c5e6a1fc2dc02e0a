//! `baton`: the server, a command-line client, and the benchmark.

mod auth_cli;
mod bench;
mod bench_hold;
mod bench_http;
mod bench_schedules;
mod cli;
mod schedule_cli;
mod tls;
mod top;
mod traces;

/// The server allocates and frees many small buffers per task (storage nodes, messages);
/// mimalloc handles that pattern far better than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

/// Baton: a workflow engine for Conductor's JSON workflows.
#[derive(Parser)]
#[command(name = "baton", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the server on the embedded store.
    Server(ServerArgs),
    /// Manages workflow and task definitions.
    #[command(subcommand)]
    Def(cli::DefCommand),
    /// Starts, reads and steers workflow executions.
    #[command(subcommand)]
    Workflow(cli::WorkflowCommand),
    /// Updates tasks by reference name and manages task logs.
    #[command(subcommand)]
    Task(cli::TaskCommand),
    /// Manages event handlers.
    #[command(subcommand)]
    EventHandler(cli::EventHandlerCommand),
    /// Creates, reads and steers schedules: workflows started at cron times or intervals.
    #[command(subcommand)]
    Schedule(schedule_cli::ScheduleCommand),
    /// Lists the workers the server knows of.
    #[command(subcommand)]
    Worker(cli::WorkerCommand),
    /// Retention and archives: the settings in force, and archived executions loaded back.
    #[command(subcommand)]
    Archive(cli::ArchiveCommand),
    /// Measures throughput and latency with Rust workers over the worker stream, or (with
    /// --hold) the cost of holding and recovering many running workflows.
    Bench(bench::BenchArgs),
    /// A live view of a running server: throughput, task latencies, queues, workers and
    /// recent failures (q or Esc quits; --once prints one frame).
    Top(top::TopArgs),
    /// Prints the last minutes of key figures, one line per ten-second sample: workflows
    /// started and ended, tasks ended, run times and queue waits, queue depth, workers.
    Metrics(cli::MetricsArgs),
    /// Certificates for TLS: a local certificate authority with a server and a client
    /// certificate signed by it, for trying TLS and mutual TLS out.
    #[command(subcommand)]
    Tls(tls::TlsCommand),
    /// API keys: the first admin key (bootstrap, on the store itself), then keys made,
    /// listed and revoked over the API.
    #[command(subcommand)]
    Auth(auth_cli::AuthCommand),
    /// The audit log: who did what, when, from where, and how it ended.
    Audit(auth_cli::AuditArgs),
}

#[derive(clap::Args)]
struct ServerArgs {
    /// Read settings from this TOML file: each key is one of these long flags without the
    /// dashes (`listen = "0.0.0.0:7070"`, `tls-cert = "/etc/baton/server.pem"`). A flag on
    /// the command line, then its environment variable, wins over the file.
    #[arg(long, env = "BATON_CONFIG")]
    config: Option<PathBuf>,
    /// Directory of the embedded store.
    #[arg(long, env = "BATON_DATA_DIR", default_value = "./baton-data")]
    data_dir: PathBuf,
    /// Address to listen on (port 0 picks a free port and prints it).
    #[arg(long, env = "BATON_LISTEN", default_value = "127.0.0.1:7070")]
    listen: SocketAddr,
    /// Executor partitions (threads that own workflows).
    #[arg(long, env = "BATON_PARTITIONS", default_value_t = 2)]
    partitions: usize,
    /// Largest accepted input, output or definition, in bytes.
    #[arg(long, env = "BATON_MAX_PAYLOAD_BYTES", default_value_t = 4 * 1024 * 1024)]
    max_payload_bytes: usize,
    /// MiB of running executions kept in memory (the rest are read from the store when an
    /// event needs them).
    #[arg(long, env = "BATON_CACHE_MB", default_value_t = 256)]
    cache_mb: usize,
    /// MiB of the store's page cache.
    #[arg(long, env = "BATON_STORE_CACHE_MB", default_value_t = 256)]
    store_cache_mb: u64,
    /// Default retention: finished executions are removed this long after they end
    /// (`30d`, `12h`, `90s`); a definition's `retention` settings override it. Unset keeps
    /// them forever.
    #[arg(long, env = "BATON_RETENTION_MAX_AGE", value_parser = parse_age)]
    retention_max_age: Option<i64>,
    /// Default retention: only the newest N finished executions of each workflow name are
    /// kept. Unset keeps any number.
    #[arg(long, env = "BATON_RETENTION_KEEP_LAST", value_parser = clap::value_parser!(u64).range(1..))]
    retention_keep_last: Option<u64>,
    /// Most finished executions retention removes per second.
    #[arg(long, env = "BATON_RETENTION_RATE", default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(1..))]
    retention_rate: u32,
    /// Archive expired executions to zstd JSON-lines files in this directory before they
    /// are removed (`baton archive import` loads them back).
    #[arg(long, env = "BATON_ARCHIVE_DIR")]
    archive_dir: Option<PathBuf>,
    /// How log lines (on standard error) are written: readable text, or one JSON object
    /// per line (`timestamp`, `level`, `target`, `fields`, `spans`).
    #[arg(long, env = "BATON_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// OTLP/gRPC endpoint to export traces to, such as `http://localhost:4317`: a span per
    /// workflow run and per task instance. Nothing is exported when unset.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    otlp_endpoint: Option<String>,
    /// Service name of the exported traces.
    #[arg(long, env = "OTEL_SERVICE_NAME", default_value = "baton")]
    otel_service_name: String,
    /// Serve the web UI's files from this directory (a build of `ui/`) instead of those
    /// built into the binary.
    #[arg(long, env = "BATON_UI_DIR")]
    ui_dir: Option<PathBuf>,
    /// Serve gRPC, the HTTP API and the UI over TLS with this certificate chain (PEM, the
    /// server's certificate first). Needs --tls-key. SIGHUP reads both files again.
    #[arg(long, env = "BATON_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, env = "BATON_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Mutual TLS: every client must present a certificate signed by a certificate
    /// authority in this PEM file. Needs --tls-cert.
    #[arg(long, env = "BATON_TLS_CLIENT_CA", requires = "tls_cert")]
    tls_client_ca: Option<PathBuf>,
    /// Require credentials on every request (API keys or tokens; see `baton auth`), and
    /// record operator actions in the audit log.
    #[arg(long, env = "BATON_AUTH")]
    auth: bool,
    /// Record the audit log even with --auth off (every caller is then `anonymous`).
    #[arg(long, env = "BATON_AUDIT")]
    audit: bool,
    /// Most audit entries kept; the oldest go beyond it.
    #[arg(long, env = "BATON_AUDIT_KEEP", default_value_t = 1_000_000,
          value_parser = clap::value_parser!(u64).range(1000..))]
    audit_keep: u64,
    /// Serve on an address other than loopback without --auth. Without this flag the
    /// server refuses to, since anyone who reaches it could then run and change workflows.
    #[arg(long, env = "BATON_INSECURE_NO_AUTH")]
    insecure_no_auth: bool,
}

fn parse_age(text: &str) -> Result<i64, String> {
    baton_core::retention::parse_age(text).map_err(|e| e.to_string())
}

/// The format of the server's log lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// Readable text.
    Text,
    /// One JSON object per line.
    Json,
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BATON_LOG")
        // tantivy warns when a merge finishes for segments that were dropped meanwhile
        // (every document in them deleted, as retention does): expected, and not a fault.
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tantivy=error"));
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => fmt.init(),
        LogFormat::Json => fmt.json().with_current_span(false).init(),
    }
}

/// Resolves when SIGTERM or Ctrl-C arrives. The handlers are installed at the call, not
/// when the future is first polled, so a signal sent as soon as the server says it listens
/// shuts it down cleanly rather than killing it.
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait(term) => {},
                _ = wait(int) => {},
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Whether the store holds a live admin key.
fn auth_has_admin(store: &baton_store::SledStore) -> anyhow::Result<bool> {
    use baton_store::Store;
    Ok(store
        .api_keys()
        .context("cannot read the API keys")?
        .iter()
        .any(|k| k.role == baton_core::auth::Role::Admin && k.revoked_at.is_none()))
}

/// Reads the TLS files again at every SIGHUP. A reload that fails keeps the certificate
/// in use and logs why.
fn reload_on_hangup(tls: Arc<baton_grpc::tls::Tls>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hangup) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot watch for SIGHUP; TLS files will not be reloaded");
            return;
        };
        tokio::spawn(async move {
            while hangup.recv().await.is_some() {
                let files = tls.files().clone();
                match tls.reload() {
                    Ok(()) => tracing::info!(
                        cert = %files.cert.display(),
                        key = %files.key.display(),
                        "TLS certificate reloaded"
                    ),
                    Err(e) => tracing::error!(
                        error = %e,
                        "TLS reload failed; the previous certificate stays in use"
                    ),
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = tls;
}

/// Runs a server until `shutdown` resolves.
pub(crate) async fn run_server(
    args: &ServerArgs,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    on_listening: impl FnOnce(SocketAddr),
) -> anyhow::Result<()> {
    if !args.auth && !args.insecure_no_auth && !args.listen.ip().is_loopback() {
        anyhow::bail!(
            "refusing to listen on {} without --auth: anyone who can reach that address could \
             start, change and remove workflows. Turn authentication on (--auth, with a key from \
             `baton auth bootstrap`), listen on a loopback address, or pass --insecure-no-auth \
             to serve without it anyway",
            args.listen
        );
    }
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create data dir {}", args.data_dir.display()))?;
    let options = baton_store::SledOptions {
        cache_capacity: args.store_cache_mb * 1024 * 1024,
        ..Default::default()
    };
    let store = baton_store::SledStore::open_with(&args.data_dir, options)
        .with_context(|| format!("cannot open store in {}", args.data_dir.display()))?;
    let traces = match args.otlp_endpoint.as_deref().map(str::trim) {
        Some(endpoint) if !endpoint.is_empty() => {
            Some(traces::Traces::start(endpoint, &args.otel_service_name)?)
        }
        _ => None,
    };
    if args.auth && !auth_has_admin(&store)? {
        tracing::warn!(
            "authentication is on but no admin key exists yet: make one with `baton auth bootstrap --data-dir {}` (with the server stopped)",
            args.data_dir.display()
        );
    }
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let tls = baton_grpc::tls::Tls::load(baton_grpc::tls::TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
                client_ca: args.tls_client_ca.clone(),
            })?;
            reload_on_hangup(tls.clone());
            Some(tls)
        }
        _ => None,
    };
    let ui_dir = args.ui_dir.clone();
    let config = baton_grpc::ServerConfig {
        listen: args.listen,
        tls,
        auth: baton_server::auth::AuthConfig {
            enabled: args.auth,
            audit: args.auth || args.audit,
            audit_keep: usize::try_from(args.audit_keep).unwrap_or(usize::MAX),
            ..Default::default()
        },
        http_face: Some(baton_grpc::access::HttpFace {
            access: baton_http::auth::access,
            refuse: baton_http::auth::refuse,
        }),
        engine: baton_server::EngineConfig {
            partitions: args.partitions,
            max_payload_bytes: args.max_payload_bytes,
            cache_bytes: args.cache_mb * 1024 * 1024,
            search_dir: Some(args.data_dir.join("search")),
            retention: baton_server::runtime::retention::RetentionConfig {
                default: baton_core::retention::Policy {
                    max_age_ms: args.retention_max_age,
                    keep_last: args.retention_keep_last,
                },
                max_removals_per_sec: args.retention_rate,
                archive_dir: args.archive_dir.clone(),
            },
            spans: traces.as_ref().map(traces::Traces::sink),
            ..Default::default()
        },
    };
    let served = baton_grpc::serve(
        Arc::new(store),
        config,
        shutdown,
        on_listening,
        move |svc| {
            let ui = match ui_dir {
                Some(dir) => baton_http::ui::UiSource::Dir(dir),
                None => baton_http::ui::UiSource::Embedded,
            };
            baton_http::app(svc, ui)
        },
    )
    .await;
    // The executors have stopped: what they reported is exported before the exit.
    if let Some(t) = traces {
        t.shutdown().await;
    }
    served?;
    Ok(())
}

/// The arguments with the settings of `baton server --config FILE` (or `BATON_CONFIG`)
/// put in as flags, each unless the command line or its environment variable sets it.
fn with_config_file(mut args: Vec<std::ffi::OsString>) -> anyhow::Result<Vec<std::ffi::OsString>> {
    use clap::CommandFactory;
    if args.get(1).and_then(|a| a.to_str()) != Some("server") {
        return Ok(args);
    }
    let given: Vec<String> = args[2..]
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let path = given
        .iter()
        .enumerate()
        .find_map(|(i, a)| match a.strip_prefix("--config") {
            Some("") => given.get(i + 1).cloned(),
            Some(rest) => rest.strip_prefix('=').map(str::to_string),
            None => None,
        })
        .or_else(|| std::env::var("BATON_CONFIG").ok().filter(|v| !v.is_empty()));
    let Some(path) = path else {
        return Ok(args);
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the config file {path}"))?;
    let table: toml::Table = toml::from_str(&text)
        .with_context(|| format!("the config file {path} is not valid TOML"))?;
    let command = Cli::command();
    let server = command
        .find_subcommand("server")
        .context("no server command")?;
    let mut settings: Vec<std::ffi::OsString> = Vec::new();
    for (key, value) in table {
        let long = key.replace('_', "-");
        let arg = server
            .get_arguments()
            .find(|a| a.get_long() == Some(long.as_str()) && long != "config")
            .with_context(|| {
                format!("unknown setting `{key}` in {path}: settings are the long flags of `baton server` (see --help)")
            })?;
        let flag = format!("--{long}");
        let on_command_line = given
            .iter()
            .any(|a| a == &flag || a.starts_with(&format!("{flag}=")));
        let in_environment = arg
            .get_env()
            .is_some_and(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()));
        if on_command_line || in_environment {
            continue;
        }
        if !arg.get_action().takes_values() {
            // A switch (`auth = true`).
            let on = match &value {
                toml::Value::Boolean(b) => *b,
                toml::Value::String(s) if s == "true" || s == "false" => s == "true",
                other => {
                    anyhow::bail!("setting `{key}` in {path} must be true or false, got {other:?}")
                }
            };
            if on {
                settings.push(flag.into());
            }
            continue;
        }
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            other => anyhow::bail!(
                "setting `{key}` in {path} must be a string or a number, got {}",
                other.type_str()
            ),
        };
        settings.push(flag.into());
        settings.push(text.into());
    }
    let rest = args.split_off(2);
    args.extend(settings);
    args.extend(rest);
    Ok(args)
}

fn main() {
    let args = match with_config_file(std::env::args_os().collect()) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            std::process::exit(2);
        }
    };
    let cli = Cli::parse_from(args);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = rt.block_on(async {
        match cli.command {
            Command::Server(args) => {
                init_tracing(args.log_format);
                run_server(&args, shutdown_signal(), |addr| {
                    use std::io::Write;
                    println!("baton server listening on {addr}");
                    let _ = std::io::stdout().flush();
                })
                .await
            }
            Command::Def(c) => cli::run_def(c).await,
            Command::Workflow(c) => cli::run_workflow(c).await,
            Command::Task(c) => cli::run_task(c).await,
            Command::EventHandler(c) => cli::run_event_handler(c).await,
            Command::Schedule(c) => schedule_cli::run(c).await,
            Command::Worker(c) => cli::run_worker(c).await,
            Command::Archive(c) => cli::run_archive(c).await,
            Command::Bench(args) => bench::run(args).await,
            Command::Top(args) => top::run(args).await,
            Command::Metrics(args) => cli::run_metrics(args).await,
            Command::Tls(c) => tls::run(c),
            Command::Auth(c) => auth_cli::run(c).await,
            Command::Audit(args) => auth_cli::audit(args).await,
        }
    });
    if let Err(e) = result {
        eprintln!("error: {}", one_line(&e));
        std::process::exit(1);
    }
}

/// The error and its causes on one line.
fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = match cause.downcast_ref::<tonic::Status>() {
            Some(st) => format!("{:?}: {}", st.code(), st.message()),
            None => cause.to_string(),
        };
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ").replace('\n', " ")
}
