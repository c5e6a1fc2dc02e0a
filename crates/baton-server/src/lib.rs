//! Baton's runtime: executors (one writer per workflow partition), the dispatcher (ready
//! queues and worker streams), timers, group commit, and the gRPC services with reflection
//! and health.

#![warn(missing_docs)]

pub mod commit;
pub mod convert;
pub mod dispatch;
pub mod engine;
pub mod error;
mod executor;
pub mod grpc;
pub mod jobs;
pub mod timers;
pub mod waiters;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use baton_proto::v1::metadata_service_server::MetadataServiceServer;
use baton_proto::v1::task_service_server::TaskServiceServer;
use baton_proto::v1::workflow_service_server::WorkflowServiceServer;
use baton_store::Store;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::TcpListenerStream;

pub use engine::{Engine, EngineConfig, IdempotencyStrategy, StartRequest};
pub use error::EngineError;

/// Current time in epoch milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

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

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on (port 0 picks a free one).
    pub listen: SocketAddr,
    /// Engine tunables.
    pub engine: EngineConfig,
}

/// Opens the engine on `store`, listens, calls `on_listening` with the bound address, and
/// serves until `shutdown` completes; then ends worker streams, drains the executors and
/// flushes.
pub async fn serve(
    store: Arc<dyn Store>,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_listening: impl FnOnce(SocketAddr),
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
    let engine = Engine::open(store, config.engine.clone()).await?;
    let limit = config.engine.max_payload_bytes + 1024 * 1024;

    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<MetadataServiceServer<grpc::metadata::Metadata>>()
        .await;
    health_reporter
        .set_serving::<WorkflowServiceServer<grpc::workflow::Workflows>>()
        .await;
    health_reporter
        .set_serving::<TaskServiceServer<grpc::task::Tasks>>()
        .await;

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

    let router = tonic::transport::Server::builder()
        .http2_keepalive_interval(Some(Duration::from_secs(10)))
        .http2_keepalive_timeout(Some(Duration::from_secs(20)))
        .tcp_nodelay(true)
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(
            MetadataServiceServer::new(grpc::metadata::Metadata::new(engine.clone()))
                .max_decoding_message_size(limit),
        )
        .add_service(
            WorkflowServiceServer::new(grpc::workflow::Workflows::new(engine.clone()))
                .max_decoding_message_size(limit)
                .max_encoding_message_size(usize::MAX),
        )
        .add_service(
            TaskServiceServer::new(grpc::task::Tasks::new(engine.clone(), stop_rx))
                .max_decoding_message_size(limit)
                .max_encoding_message_size(usize::MAX),
        );
    on_listening(addr);
    tracing::info!(%addr, "serving");
    // Small messages (pushed tasks, acks) must leave at once: without TCP_NODELAY a push can
    // wait ~40 ms for the peer's delayed ACK. The builder's own setting only covers
    // connections it accepts itself, so set it on each accepted socket here.
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
    let e = engine.clone();
    let _ = tokio::task::spawn_blocking(move || e.shutdown()).await;
    Ok(())
}
