//! Downloads straight from storage: a short-lived signed link (on AWS, an S3 presigned `GET`),
//! so that a large blob never passes through a function, whose response Lambda caps at 6 MB.

use std::time::Duration;

use async_trait::async_trait;

use super::{BlobError, BlobKey};

/// Signed links to blobs.
#[async_trait]
pub trait DirectDownload: Send + Sync {
    /// A link that answers a `GET` of `key` for `valid_for`, to whoever holds it.
    async fn download_url(&self, key: &BlobKey, valid_for: Duration) -> Result<String, BlobError>;
}
