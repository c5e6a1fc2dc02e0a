//! The engine's error type: a kind and a message, in domain terms. Protocol adapters map
//! the kind to their own codes (gRPC status codes, HTTP statuses).

use baton_core::DecideError;

/// What kind of failure an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The named thing does not exist.
    NotFound,
    /// The thing to create exists already.
    AlreadyExists,
    /// The request is malformed.
    InvalidArgument,
    /// The target is in the wrong state (or a token is stale).
    FailedPrecondition,
    /// The server is overloaded or a limit was hit.
    ResourceExhausted,
    /// The server cannot serve now (storage failed, shutting down, recovering).
    Unavailable,
    /// No credentials, or credentials that prove nothing.
    Unauthenticated,
    /// The caller's role does not allow the request.
    PermissionDenied,
}

impl ErrorKind {
    /// The kind's name as written in stream acknowledgements and bulk results
    /// (`NOT_FOUND`, `FAILED_PRECONDITION`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "NOT_FOUND",
            Self::AlreadyExists => "ALREADY_EXISTS",
            Self::InvalidArgument => "INVALID_ARGUMENT",
            Self::FailedPrecondition => "FAILED_PRECONDITION",
            Self::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Self::Unavailable => "UNAVAILABLE",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::PermissionDenied => "PERMISSION_DENIED",
        }
    }
}

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
    /// No credentials, or credentials that prove nothing.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller's role does not allow the request.
    #[error("{0}")]
    PermissionDenied(String),
}

impl EngineError {
    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::AlreadyExists(_) => ErrorKind::AlreadyExists,
            Self::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Self::FailedPrecondition(_) => ErrorKind::FailedPrecondition,
            Self::ResourceExhausted(_) => ErrorKind::ResourceExhausted,
            Self::Storage(_) | Self::ShuttingDown => ErrorKind::Unavailable,
            Self::Unauthenticated(_) => ErrorKind::Unauthenticated,
            Self::PermissionDenied(_) => ErrorKind::PermissionDenied,
        }
    }

    /// The kind's name (`NOT_FOUND`, ...).
    pub fn code_name(&self) -> &'static str {
        self.kind().as_str()
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

impl From<baton_store::StoreError> for EngineError {
    fn from(e: baton_store::StoreError) -> Self {
        match e {
            baton_store::StoreError::AlreadyExists(what) => {
                Self::AlreadyExists(format!("{what} already exists"))
            }
            // A write raced another on the same record: the caller may read and try again.
            baton_store::StoreError::Conflict(what) => {
                Self::FailedPrecondition(format!("conflict: {what}"))
            }
            other => Self::Storage(other.to_string()),
        }
    }
}
