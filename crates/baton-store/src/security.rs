//! API keys, the audit log and server secrets in the sled store, all in the `security`
//! tree: `k/ str(id)` -> key JSON, `a/ u64(seq)` (big-endian) -> audit entry JSON,
//! `s/ str(name)` -> secret bytes.

use baton_core::auth::{ApiKey, AuditEntry};

use crate::StoreError;
use crate::codec;
use crate::keys::Key;
use crate::sled_store::{SledStore, engine_error};

const API_KEY: &[u8] = b"k/";
const AUDIT: &[u8] = b"a/";
const SECRET: &[u8] = b"s/";

impl SledStore {
    pub(crate) fn put_api_key_impl(&self, key: &ApiKey) -> Result<(), StoreError> {
        let what = format!("storing API key {}", key.id);
        let value = codec::encode_json(&what, key)?;
        self.security
            .insert(Key::new(API_KEY).str(&key.id).into_vec(), value)
            .map_err(|e| engine_error(&what, e))?;
        self.flush_db(&what)
    }

    pub(crate) fn api_keys_impl(&self) -> Result<Vec<ApiKey>, StoreError> {
        self.security
            .scan_prefix(API_KEY)
            .map(|item| {
                let (_, v) = item.map_err(|e| engine_error("listing API keys", e))?;
                codec::decode(&v, || "an API key".to_string())
            })
            .collect()
    }

    pub(crate) fn append_audit_impl(&self, entries: &mut [AuditEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let what = "writing the audit log";
        let mut batch = sled::Batch::default();
        for e in entries.iter_mut() {
            e.seq = self
                .db
                .generate_id()
                .map_err(|err| engine_error(what, err))?;
            let value = codec::encode_json(what, &*e)?;
            batch.insert(Key::new(AUDIT).raw(&e.seq.to_be_bytes()).into_vec(), value);
        }
        self.security
            .apply_batch(batch)
            .map_err(|e| engine_error(what, e))?;
        self.flush_db(what)
    }

    pub(crate) fn audit_page_impl(
        &self,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let start = Key::new(AUDIT).into_vec();
        let end = match before {
            Some(seq) => Key::new(AUDIT).raw(&seq.to_be_bytes()).into_vec(),
            None => Key::new(b"a0").into_vec(),
        };
        let mut out = Vec::new();
        for item in self.security.range(start..end).rev() {
            if out.len() >= limit {
                break;
            }
            let (_, v) = item.map_err(|e| engine_error("reading the audit log", e))?;
            out.push(codec::decode(&v, || "an audit entry".to_string())?);
        }
        Ok(out)
    }

    pub(crate) fn trim_audit_impl(&self, keep: usize) -> Result<usize, StoreError> {
        let what = "trimming the audit log";
        let mut newest = self.security.scan_prefix(AUDIT).rev().skip(keep);
        let mut batch = sled::Batch::default();
        let mut n = 0;
        for item in newest.by_ref().take(10_000) {
            let (k, _) = item.map_err(|e| engine_error(what, e))?;
            batch.remove(k);
            n += 1;
        }
        if n > 0 {
            self.security
                .apply_batch(batch)
                .map_err(|e| engine_error(what, e))?;
            self.flush_db(what)?;
        }
        Ok(n)
    }

    pub(crate) fn secret_impl(
        &self,
        name: &str,
        make: &dyn Fn() -> Vec<u8>,
    ) -> Result<Vec<u8>, StoreError> {
        let what = format!("reading the secret {name}");
        let key = Key::new(SECRET).str(name).into_vec();
        if let Some(v) = self
            .security
            .get(&key)
            .map_err(|e| engine_error(&what, e))?
        {
            return Ok(v.to_vec());
        }
        // Whoever writes first wins; everyone reads the same secret afterwards.
        let fresh = make();
        let _ = self
            .security
            .compare_and_swap(&key, None::<&[u8]>, Some(fresh))
            .map_err(|e| engine_error(&what, e))?;
        self.flush_db(&what)?;
        Ok(self
            .security
            .get(&key)
            .map_err(|e| engine_error(&what, e))?
            .map(|v| v.to_vec())
            .unwrap_or_default())
    }
}
