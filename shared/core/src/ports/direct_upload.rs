//! Uploads that go straight to storage: the client sends each part to a URL the server signed
//! (on AWS, S3's presigned multipart upload), so that gigabytes never pass through a function
//! and an interrupted upload continues with the parts storage does not have yet.

use std::time::Duration;

use async_trait::async_trait;

use super::{BlobError, BlobKey};

/// Multipart uploads straight to storage, part by part through signed URLs.
#[async_trait]
pub trait DirectUpload: Send + Sync {
    /// Starts a multipart upload that will become `key`; returns its id.
    async fn begin(&self, key: &BlobKey) -> Result<String, BlobError>;
    /// Where the client sends part `part` (from 1) with a `PUT`, for `valid_for`.
    async fn part_url(
        &self,
        key: &BlobKey,
        upload: &str,
        part: u32,
        valid_for: Duration,
    ) -> Result<String, BlobError>;
    /// The parts storage has received, in order.
    async fn received(&self, key: &BlobKey, upload: &str) -> Result<Vec<u32>, BlobError>;
    /// Joins the received parts into `key`.
    async fn complete(&self, key: &BlobKey, upload: &str) -> Result<(), BlobError>;
}
