//! Baton's gRPC contract, generated from `proto/baton/v1`.
//!
//! Every service, message and field is documented in the `.proto` files; the generated
//! items carry those comments.

/// The `baton.v1` package: messages, enums, clients and servers.
#[allow(missing_docs, clippy::all)]
pub mod v1 {
    tonic::include_proto!("baton.v1");
}

/// The encoded file descriptor set of every Baton proto file, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("baton_descriptor");
