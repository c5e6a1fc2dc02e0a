//! Value encoding.
//!
//! Execution records (workflows and tasks) are MessagePack maps with field names, preceded by
//! one format byte, [`MSGPACK`]. Field names keep the records readable by later versions that
//! add or drop fields (the model uses `default` and `skip_serializing_if`, which a positional
//! encoding would break). Definitions and snapshots are JSON: they carry unknown fields through
//! `#[serde(flatten)]` and are written rarely. A JSON value starts with `{`, so [`decode`]
//! accepts either form, whatever the record kind.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::StoreError;

/// Format byte of a MessagePack record.
pub const MSGPACK: u8 = 0x01;

/// Encodes an execution record: format byte, then MessagePack with field names.
pub fn encode<T: Serialize>(what: &str, value: &T) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::with_capacity(512);
    out.push(MSGPACK);
    rmp_serde::encode::write_named(&mut out, value)
        .map_err(|e| StoreError::Io(format!("cannot encode {what}: {e}")))?;
    Ok(out)
}

/// Encodes a definition or snapshot as JSON.
pub fn encode_json<T: Serialize>(what: &str, value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Io(format!("cannot encode {what}: {e}")))
}

/// Decodes a record written by [`encode`] or [`encode_json`]; `key` names it in errors.
pub fn decode<T: DeserializeOwned>(
    bytes: &[u8],
    key: impl FnOnce() -> String,
) -> Result<T, StoreError> {
    let result = match bytes.first() {
        Some(&MSGPACK) => rmp_serde::from_slice(&bytes[1..]).map_err(|e| e.to_string()),
        Some(b'{') => serde_json::from_slice(bytes).map_err(|e| e.to_string()),
        Some(b) => Err(format!("unknown record format byte 0x{b:02x}")),
        None => Err("empty record".to_string()),
    };
    result.map_err(|message| StoreError::Corrupt {
        key: key(),
        message,
    })
}
