//! Baton's gRPC API: the `baton.v1` services as thin adapters over the service layer
//! (`baton_server::Service`), with reflection (v1 and v1alpha) and health. Each RPC
//! decodes its request, calls one service operation and encodes the answer; errors map
//! from their domain kind to a status code here and nowhere else.

#![warn(missing_docs)]

pub mod access;
pub mod admin;
pub mod convert;
pub mod metadata;
pub mod monitor;
pub mod schedule;
pub mod task;
pub mod telemetry;
pub mod tls;
mod views;
pub mod workflow;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use baton_proto::v1::admin_service_server::AdminServiceServer;
use baton_proto::v1::metadata_service_server::MetadataServiceServer;
use baton_proto::v1::monitor_service_server::MonitorServiceServer;
use baton_proto::v1::schedule_service_server::ScheduleServiceServer;
use baton_proto::v1::task_service_server::TaskServiceServer;
use baton_proto::v1::workflow_service_server::WorkflowServiceServer;
use baton_server::{EngineConfig, EngineError, ErrorKind, Runtime, Service};
use baton_store::Store;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Code, Status};

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The engine could not start.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The transport failed.
    #[error("gRPC transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// Reflection could not be set up.
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
}

/// Requests (HTTP/2 streams) one connection may have in flight at once. Beyond it the
/// client waits before sending more, so an overloaded server holds a bounded number of
/// requests instead of every one a client sends.
pub const MAX_STREAMS_PER_CONNECTION: u32 = 1024;

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on (port 0 picks a free one).
    pub listen: SocketAddr,
    /// Engine tunables.
    pub engine: EngineConfig,
    /// TLS on the listener (gRPC, HTTP and the UI alike); plain text when absent.
    pub tls: Option<Arc<tls::Tls>>,
    /// Authentication and the audit log.
    pub auth: baton_server::auth::AuthConfig,
    /// How the HTTP routes are guarded (what each needs, how a refusal reads).
    pub http_face: Option<access::HttpFace>,
}

/// The gRPC status code of an error kind.
pub fn code(kind: ErrorKind) -> Code {
    match kind {
        ErrorKind::NotFound => Code::NotFound,
        ErrorKind::AlreadyExists => Code::AlreadyExists,
        ErrorKind::InvalidArgument => Code::InvalidArgument,
        ErrorKind::FailedPrecondition => Code::FailedPrecondition,
        ErrorKind::ResourceExhausted => Code::ResourceExhausted,
        ErrorKind::Unavailable => Code::Unavailable,
        ErrorKind::Unauthenticated => Code::Unauthenticated,
        ErrorKind::PermissionDenied => Code::PermissionDenied,
    }
}

/// An engine error as a gRPC status.
pub fn status(e: EngineError) -> Status {
    Status::new(code(e.kind()), e.to_string())
}

/// Opens the engine on `store`, listens, calls `on_listening` with the bound address, and
/// serves until `shutdown` completes. gRPC and whatever `http` routes (made over the same
/// service) share the listener: a request goes by its path, over HTTP/1.1 or HTTP/2.
/// On shutdown it then ends worker streams, drains the executors and
/// flushes. While executions that were running are adopted again after a restart, the
/// server already serves and health answers NOT_SERVING; it turns SERVING once recovery
/// is done.
pub async fn serve(
    store: Arc<dyn Store>,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_listening: impl FnOnce(SocketAddr),
    http: impl FnOnce(Service) -> axum::Router,
) -> Result<(), ServeError> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: config.listen,
        source,
    })?;
    let limit = config.engine.max_payload_bytes + 1024 * 1024;
    let runtime = {
        let (store, engine) = (store.clone(), config.engine.clone());
        let handle = tokio::runtime::Handle::current();
        // Opening reads definitions from the store: off the async threads.
        tokio::task::spawn_blocking(move || {
            let _guard = handle.enter();
            Runtime::open(store, engine)
        })
        .await
        .map_err(|e| EngineError::Storage(format!("cannot open the engine: {e}")))??
    };
    let auth = {
        let (store, auth, clock) = (
            store.clone(),
            config.auth.clone(),
            config.engine.clock.clone(),
        );
        let handle = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let _guard = handle.enter();
            baton_server::auth::Auth::open(store, auth, clock)
        })
        .await
        .map_err(|e| EngineError::Storage(format!("cannot open the key store: {e}")))??
    };
    let service = Service::new(runtime.clone()).with_auth(auth.clone());

    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    let set_health = move |serving: bool| {
        let h = health_reporter.clone();
        async move {
            if serving {
                h.set_service_status("", tonic_health::ServingStatus::Serving)
                    .await;
                h.set_serving::<MetadataServiceServer<metadata::Metadata>>()
                    .await;
                h.set_serving::<WorkflowServiceServer<workflow::Workflows>>()
                    .await;
                h.set_serving::<TaskServiceServer<task::Tasks>>().await;
                h.set_serving::<MonitorServiceServer<monitor::Monitor>>()
                    .await;
                h.set_serving::<ScheduleServiceServer<schedule::Schedules>>()
                    .await;
                h.set_serving::<AdminServiceServer<admin::Admin>>().await;
            } else {
                h.set_service_status("", tonic_health::ServingStatus::NotServing)
                    .await;
                h.set_not_serving::<MetadataServiceServer<metadata::Metadata>>()
                    .await;
                h.set_not_serving::<WorkflowServiceServer<workflow::Workflows>>()
                    .await;
                h.set_not_serving::<TaskServiceServer<task::Tasks>>().await;
                h.set_not_serving::<MonitorServiceServer<monitor::Monitor>>()
                    .await;
                h.set_not_serving::<ScheduleServiceServer<schedule::Schedules>>()
                    .await;
                h.set_not_serving::<AdminServiceServer<admin::Admin>>()
                    .await;
            }
        }
    };
    set_health(false).await;

    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(baton_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(baton_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down");
        let _ = stop_tx.send(true);
    };

    let routes = tonic::service::Routes::from(http(service.clone()))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(
            MetadataServiceServer::new(metadata::Metadata::new(service.clone()))
                .max_decoding_message_size(limit),
        )
        .add_service(
            WorkflowServiceServer::new(workflow::Workflows::new(service.clone()))
                .max_decoding_message_size(limit)
                .max_encoding_message_size(usize::MAX),
        )
        .add_service(
            TaskServiceServer::new(task::Tasks::new(service.clone(), stop_rx, limit))
                .max_decoding_message_size(limit)
                .max_encoding_message_size(usize::MAX),
        )
        .add_service(MonitorServiceServer::new(monitor::Monitor::new(
            service.clone(),
        )))
        .add_service(
            ScheduleServiceServer::new(schedule::Schedules::new(service.clone()))
                .max_decoding_message_size(limit),
        )
        .add_service(AdminServiceServer::new(admin::Admin::new(service.clone())));
    let router = tonic::transport::Server::builder()
        .accept_http1(true)
        .max_concurrent_streams(Some(MAX_STREAMS_PER_CONNECTION))
        .http2_keepalive_interval(Some(Duration::from_secs(10)))
        .http2_keepalive_timeout(Some(Duration::from_secs(20)))
        .tcp_nodelay(true)
        .layer(telemetry::GrpcMetricsLayer)
        .layer(access::AccessLayer::new(auth, config.http_face))
        .add_routes(routes);
    on_listening(addr);
    tracing::info!(%addr, tls = config.tls.is_some(), "serving");
    // Recovery runs while the server serves; health turns SERVING when it is done.
    let recovering = runtime.clone();
    tokio::spawn(async move {
        match recovering.recover().await {
            Ok(()) => set_health(true).await,
            Err(e) => tracing::error!(error = %e, "recovery failed; health stays NOT_SERVING"),
        }
    });
    // Small messages (pushed tasks, acks) must leave at once: without TCP_NODELAY a push can
    // wait ~40 ms for the peer's delayed ACK. The builder's own setting only covers
    // connections it accepts itself, so set it on each accepted socket here (the TLS
    // acceptor does the same).
    match config.tls {
        Some(tls) => {
            let incoming = tokio_stream::wrappers::ReceiverStream::new(tls::accept(listener, tls));
            router
                .serve_with_incoming_shutdown(incoming, signal)
                .await?;
        }
        None => {
            let incoming = TcpListenerStream::new(listener).map(|conn| {
                conn.inspect(|s| {
                    if let Err(e) = s.set_nodelay(true) {
                        tracing::warn!(error = %e, "cannot set TCP_NODELAY");
                    }
                })
            });
            router
                .serve_with_incoming_shutdown(incoming, signal)
                .await?;
        }
    }
    let rt = runtime.clone();
    let _ = tokio::task::spawn_blocking(move || rt.shutdown()).await;
    Ok(())
}
