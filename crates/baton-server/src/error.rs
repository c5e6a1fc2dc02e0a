//! The runtime's error type and its mapping to gRPC status codes.

use baton_core::DecideError;
use tonic::{Code, Status};

/// Why an engine operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    /// The named thing does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The thing to create exists already.
    #[error("{0}")]
    AlreadyExists(String),
    /// The request is malformed.
    #[error("{0}")]
    InvalidArgument(String),
    /// The target is in the wrong state (or a token is stale).
    #[error("{0}")]
    FailedPrecondition(String),
    /// The server is overloaded or a limit was hit.
    #[error("{0}")]
    ResourceExhausted(String),
    /// Storage failed; nothing of the request was acknowledged.
    #[error("storage failure: {0}")]
    Storage(String),
    /// The server is shutting down.
    #[error("server is shutting down")]
    ShuttingDown,
}

impl EngineError {
    /// The gRPC code for this error.
    pub fn code(&self) -> Code {
        match self {
            Self::NotFound(_) => Code::NotFound,
            Self::AlreadyExists(_) => Code::AlreadyExists,
            Self::InvalidArgument(_) => Code::InvalidArgument,
            Self::FailedPrecondition(_) => Code::FailedPrecondition,
            Self::ResourceExhausted(_) => Code::ResourceExhausted,
            Self::Storage(_) | Self::ShuttingDown => Code::Unavailable,
        }
    }

    /// The gRPC code's name, as written in stream acknowledgements.
    pub fn code_name(&self) -> &'static str {
        code_name(self.code())
    }
}

/// The name of a gRPC code as written in stream acknowledgements (codes the server does not
/// send there read as UNAVAILABLE).
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        _ => "UNAVAILABLE",
    }
}

impl From<DecideError> for EngineError {
    fn from(e: DecideError) -> Self {
        match e {
            DecideError::UnknownTask { .. } | DecideError::UnknownReference { .. } => {
                Self::NotFound(e.to_string())
            }
            DecideError::StaleToken { .. }
            | DecideError::WrongState { .. }
            | DecideError::TaskState { .. } => Self::FailedPrecondition(e.to_string()),
            DecideError::Invalid(_) => Self::InvalidArgument(e.to_string()),
        }
    }
}

impl From<EngineError> for Status {
    fn from(e: EngineError) -> Self {
        Status::new(e.code(), e.to_string())
    }
}

impl From<baton_store::StoreError> for EngineError {
    fn from(e: baton_store::StoreError) -> Self {
        match e {
            baton_store::StoreError::AlreadyExists(what) => {
                Self::AlreadyExists(format!("{what} already exists"))
            }
            other => Self::Storage(other.to_string()),
        }
    }
}
