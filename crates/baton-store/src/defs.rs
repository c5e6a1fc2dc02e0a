//! Definitions stored once per distinct content. An execution's snapshot record holds the
//! SHA-256 of its definition's JSON; the JSON itself is stored once under that hash.
//! Executions loaded with the same definition share one copy in memory.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};

use baton_core::WorkflowDef;
use sha2::{Digest, Sha256};

use crate::StoreError;
use crate::codec;

/// Content hash of a definition.
pub(crate) type Hash = [u8; 32];

/// Tag that starts a snapshot record holding a hash (a JSON snapshot starts with `{`).
pub(crate) const HASH_TAG: u8 = b'#';

/// Definitions remembered by the address of the shared copy they were written from; past
/// this many, the memo starts again (it only saves hashing).
const MAX_BY_PTR: usize = 1024;

#[derive(Default)]
struct Memo {
    /// Shared copies written lately, by address (the copy is held, so the address is not
    /// reused while it is here), with their hash.
    by_ptr: HashMap<usize, (Arc<WorkflowDef>, Hash)>,
    /// Copies in memory, by hash.
    by_hash: HashMap<Hash, Weak<WorkflowDef>>,
    /// Size of `by_hash` after its last sweep of dropped copies.
    swept: usize,
    /// Hashes whose definition this process has stored (or read) already.
    stored: HashSet<Hash>,
}

/// The memo of definitions by content.
#[derive(Default)]
pub(crate) struct Defs {
    memo: Mutex<Memo>,
}

/// A definition to write: its hash, and its JSON unless it is known to be stored.
pub(crate) struct Encoded {
    pub(crate) hash: Hash,
    pub(crate) json: Option<Vec<u8>>,
}

impl std::fmt::Debug for Defs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Defs").finish_non_exhaustive()
    }
}

impl Defs {
    /// Hash of a definition (hashed once per shared copy), with its JSON when it may not
    /// be stored yet.
    pub(crate) fn encode(&self, def: &Arc<WorkflowDef>) -> Result<Encoded, StoreError> {
        let ptr = Arc::as_ptr(def) as usize;
        {
            let memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((_, h)) = memo.by_ptr.get(&ptr)
                && memo.stored.contains(h)
            {
                return Ok(Encoded {
                    hash: *h,
                    json: None,
                });
            }
        }
        let json = codec::encode_json("definition snapshot", def.as_ref())?;
        let hash: Hash = Sha256::digest(&json).into();
        let mut memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
        if memo.by_ptr.len() >= MAX_BY_PTR {
            memo.by_ptr.clear();
        }
        memo.by_ptr.insert(ptr, (def.clone(), hash));
        memo.remember(hash, def);
        Ok(Encoded {
            hash,
            json: Some(json),
        })
    }

    /// Notes that the definitions with these hashes are in the store.
    pub(crate) fn stored(&self, hashes: impl IntoIterator<Item = Hash>) {
        let mut memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
        memo.stored.extend(hashes);
    }

    /// The shared copy of the definition with this hash, decoding `json` only when no copy
    /// is in memory.
    pub(crate) fn shared(
        &self,
        hash: &Hash,
        read: impl FnOnce() -> Result<Option<Vec<u8>>, StoreError>,
        key: impl Fn() -> String,
    ) -> Result<Arc<WorkflowDef>, StoreError> {
        if let Some(d) = self.lookup(hash) {
            return Ok(d);
        }
        let Some(json) = read()? else {
            return Err(StoreError::Corrupt {
                key: key(),
                message: "the definition this execution runs is missing".into(),
            });
        };
        let def: Arc<WorkflowDef> = Arc::new(codec::decode(&json, &key)?);
        let mut memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(d) = memo.by_hash.get(hash).and_then(Weak::upgrade) {
            return Ok(d);
        }
        memo.remember(*hash, &def);
        memo.stored.insert(*hash);
        Ok(def)
    }

    fn lookup(&self, hash: &Hash) -> Option<Arc<WorkflowDef>> {
        let memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
        memo.by_hash.get(hash).and_then(Weak::upgrade)
    }
}

impl Memo {
    fn remember(&mut self, hash: Hash, def: &Arc<WorkflowDef>) {
        self.by_hash.insert(hash, Arc::downgrade(def));
        if self.by_hash.len() > 2 * self.swept.max(64) {
            self.by_hash.retain(|_, w| w.strong_count() > 0);
            self.swept = self.by_hash.len();
        }
    }
}

/// The snapshot record that points at a definition.
pub(crate) fn pointer(hash: &Hash) -> Vec<u8> {
    let mut v = Vec::with_capacity(1 + hash.len());
    v.push(HASH_TAG);
    v.extend_from_slice(hash);
    v
}

/// The hash a snapshot record points at, or None for a record holding the JSON itself.
pub(crate) fn pointed(record: &[u8]) -> Option<Hash> {
    match record.split_first() {
        Some((&HASH_TAG, rest)) => rest.try_into().ok(),
        _ => None,
    }
}
