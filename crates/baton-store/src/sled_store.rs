//! The sled implementation of [`crate::Store`].

/// A [`crate::Store`] on an embedded sled database in one directory.
#[derive(Debug)]
pub struct SledStore {
    _db: sled::Db,
}
