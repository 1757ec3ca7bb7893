//! Blob storage: exports, normalised conversations, chunk batches.
//!
//! The domain opens no files: when it needs local, seekable bytes (the export reader does) it
//! asks for them here. A local adapter hands out files in its directory; an S3 adapter streams
//! the object to `/tmp` first.

use std::fmt;
use std::io::{Read, Seek, Write};

use async_trait::async_trait;

use super::UserId;

/// Local bytes a stage can read, write and seek: a blob fetched for reading, or scratch space
/// to fill and then store.
pub trait ScratchFile: Read + Write + Seek + Send {}
impl<T: Read + Write + Seek + Send> ScratchFile for T {}

/// What `scratch` and `open` hand out.
pub type Scratch = Box<dyn ScratchFile>;

/// Where a blob lives: always under its user's prefix, `users/{user}/{path}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobKey {
    user: UserId,
    path: String,
}

impl BlobKey {
    /// `path` is made of `/`-separated segments of letters, digits, `-`, `_` and `.` (no
    /// empty, `.` or `..` segment): no key can climb out of its user's prefix.
    pub fn new(user: &UserId, path: impl Into<String>) -> Result<Self, BlobError> {
        let path = path.into();
        let ok = !path.is_empty()
            && path.len() <= 512
            && path.split('/').all(|seg| {
                !seg.is_empty()
                    && seg != "."
                    && seg != ".."
                    && seg
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            });
        if !ok {
            return Err(BlobError::BadKey(path));
        }
        Ok(BlobKey {
            user: user.clone(),
            path,
        })
    }

    /// Whose blob it is.
    pub fn user(&self) -> &UserId {
        &self.user
    }

    /// The path under the user's prefix.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The prefix every blob of `user` lives under.
    pub fn user_prefix(user: &UserId) -> String {
        format!("users/{user}/")
    }
}

impl fmt::Display for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "users/{}/{}", self.user, self.path)
    }
}

/// Why a blob operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// Nothing is stored at the key (shown whole).
    #[error("no blob at {0}")]
    NotFound(String),
    /// The path breaks the rules of [`BlobKey::new`].
    #[error("{0:?} is not a blob path")]
    BadKey(String),
    /// Worth trying again (a network error, a full disk being cleared).
    #[error("blob storage failed: {0}")]
    Unavailable(String),
}

/// Each user's blobs, under their prefix.
#[async_trait]
pub trait Blobs: Send + Sync {
    /// Empty scratch space (a temporary file) for a stage to fill.
    async fn scratch(&self) -> Result<Scratch, BlobError>;
    /// Stores the whole of `file` (from its start) at `key`, replacing what was there.
    /// Returns the bytes stored.
    async fn put_file(&self, key: &BlobKey, file: Scratch) -> Result<u64, BlobError>;
    /// Stores `bytes` at `key`, replacing what was there.
    async fn put(&self, key: &BlobKey, bytes: Vec<u8>) -> Result<(), BlobError>;
    /// The blob as local, seekable bytes, positioned at its start.
    async fn open(&self, key: &BlobKey) -> Result<Scratch, BlobError>;
    /// The whole blob, in memory.
    async fn get(&self, key: &BlobKey) -> Result<Vec<u8>, BlobError>;
    /// Whether a blob is stored at `key`.
    async fn exists(&self, key: &BlobKey) -> Result<bool, BlobError>;
    /// Paths (relative to the user's prefix) of the user's blobs under `prefix`, sorted.
    async fn list(&self, user: &UserId, prefix: &str) -> Result<Vec<String>, BlobError>;
    /// The blob gone (nothing if it was not there).
    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError>;
    /// Every blob of the user under `prefix` (paths as [`Blobs::list`] gives them), gone.
    async fn delete_prefix(&self, user: &UserId, prefix: &str) -> Result<(), BlobError>;
    /// Every blob of the user, gone.
    async fn delete_user(&self, user: &UserId) -> Result<(), BlobError> {
        self.delete_prefix(user, "").await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_under_their_users_prefix() {
        let u = UserId::new("u-1").unwrap();
        let k = BlobKey::new(&u, "imports/abc/export.zip").unwrap();
        assert_eq!(k.to_string(), "users/u-1/imports/abc/export.zip");
        for bad in ["", "../x", "a//b", "a/./b", "/abs", "a/b/", "a b", "a\\b"] {
            assert!(BlobKey::new(&u, bad).is_err(), "{bad:?}");
        }
        assert!(UserId::new("..").is_err());
        assert!(UserId::new("a/b").is_err());
    }
}
