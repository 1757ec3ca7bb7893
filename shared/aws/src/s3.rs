//! Blobs in S3, every key under `users/{user}/`. Large files go up in multipart uploads and come
//! down streamed to local scratch files (`/tmp` on Lambda), so memory stays flat whatever the
//! export's size.

use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier, Part,
};
use aws_sdk_s3::Client;
use soulprint_core::ports::{
    BlobError, BlobKey, Blobs, DirectDownload, DirectUpload, Scratch, UserId,
};
use tokio::io::AsyncWriteExt;

use crate::error_text::described;

/// Parts of a multipart upload (S3's minimum is 5 MiB); files up to this size go in one PUT.
const PART_BYTES: usize = 16 << 20;

/// The tag of raw upload parts, for the bucket's lifecycle rule.
pub const UPLOAD_TAG: &str = "soulprint-kind=upload";

pub struct S3Blobs {
    client: Client,
    bucket: String,
    /// Where scratch files live (`/tmp` on Lambda).
    scratch_dir: PathBuf,
}

impl S3Blobs {
    pub fn new(client: Client, bucket: impl Into<String>, scratch_dir: impl Into<PathBuf>) -> Self {
        S3Blobs {
            client,
            bucket: bucket.into(),
            scratch_dir: scratch_dir.into(),
        }
    }

    fn scratch_file(&self) -> Result<std::fs::File, BlobError> {
        tempfile::tempfile_in(&self.scratch_dir).map_err(unavailable)
    }

    /// The object's body, still to be read; a missing key is [`BlobError::NotFound`].
    async fn get_object(
        &self,
        key: &BlobKey,
    ) -> Result<aws_sdk_s3::operation::get_object::GetObjectOutput, BlobError> {
        self.client
            .get_object()
            .bucket(&self.bucket)
            .key(key.to_string())
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(s) if s.is_no_such_key() => BlobError::NotFound(key.to_string()),
                _ => unavailable(described(&e)),
            })
    }

    /// CRC32 throughout: the upload is created with it, the SDK sends each part's, and the
    /// completion names every part's, as S3 (and other SDKs) expect of an upload created
    /// with a checksum algorithm. (Direct uploads, whose parts a browser sends, use none.)
    async fn put_multipart(&self, key: &str, mut file: Scratch) -> Result<u64, BlobError> {
        let upload = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .send()
            .await
            .map_err(unavailable)?;
        let id = upload.upload_id().unwrap_or_default().to_owned();
        let mut parts = Vec::new();
        let mut total = 0u64;
        let result: Result<(), BlobError> = async {
            for number in 1.. {
                let (back, chunk) = tokio::task::spawn_blocking(move || {
                    let mut chunk = Vec::with_capacity(PART_BYTES);
                    let read = (&mut file).take(PART_BYTES as u64).read_to_end(&mut chunk);
                    read.map(|_| (file, chunk))
                })
                .await
                .map_err(unavailable)?
                .map_err(unavailable)?;
                file = back;
                if chunk.is_empty() {
                    break;
                }
                total += chunk.len() as u64;
                let part = self
                    .client
                    .upload_part()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(&id)
                    .part_number(number)
                    .checksum_algorithm(ChecksumAlgorithm::Crc32)
                    .body(ByteStream::from(chunk))
                    .send()
                    .await
                    .map_err(unavailable)?;
                parts.push(
                    CompletedPart::builder()
                        .part_number(number)
                        .set_e_tag(part.e_tag().map(str::to_owned))
                        .set_checksum_crc32(part.checksum_crc32().map(str::to_owned))
                        .build(),
                );
            }
            self.complete_multipart(key, &id, parts).await
        }
        .await;
        if let Err(e) = result {
            // Parts left behind cost money until the bucket's lifecycle rule clears them.
            let _ = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(&id)
                .send()
                .await;
            return Err(e);
        }
        Ok(total)
    }
}

fn unavailable(e: impl std::fmt::Display) -> BlobError {
    BlobError::Unavailable(e.to_string())
}

#[async_trait]
impl Blobs for S3Blobs {
    async fn scratch(&self) -> Result<Scratch, BlobError> {
        Ok(Box::new(self.scratch_file()?))
    }

    async fn put_file(&self, key: &BlobKey, mut file: Scratch) -> Result<u64, BlobError> {
        let size = file.seek(SeekFrom::End(0)).map_err(unavailable)?;
        file.seek(SeekFrom::Start(0)).map_err(unavailable)?;
        if size as usize > PART_BYTES {
            return self.put_multipart(&key.to_string(), file).await;
        }
        let mut bytes = Vec::with_capacity(size as usize);
        file.read_to_end(&mut bytes).map_err(unavailable)?;
        self.put(key, bytes).await?;
        Ok(size)
    }

    async fn put(&self, key: &BlobKey, bytes: Vec<u8>) -> Result<(), BlobError> {
        let mut put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key.to_string())
            .body(ByteStream::from(bytes));
        // Raw upload parts expire by the bucket's lifecycle rule (template.yaml), which
        // matches this tag: the keys' per-user prefix cannot be matched by a prefix rule.
        if key.path().starts_with("uploads/") {
            put = put.tagging(UPLOAD_TAG);
        }
        put.send().await.map_err(|e| unavailable(described(&e)))?;
        Ok(())
    }

    async fn open(&self, key: &BlobKey) -> Result<Scratch, BlobError> {
        let object = self.get_object(key).await?;
        let mut body = object.body;
        let mut file = tokio::fs::File::from_std(self.scratch_file()?);
        while let Some(bytes) = body.try_next().await.map_err(unavailable)? {
            file.write_all(&bytes).await.map_err(unavailable)?;
        }
        file.flush().await.map_err(unavailable)?;
        let mut file = file.into_std().await;
        file.seek(SeekFrom::Start(0)).map_err(unavailable)?;
        Ok(Box::new(file))
    }

    async fn get(&self, key: &BlobKey) -> Result<Vec<u8>, BlobError> {
        let object = self.get_object(key).await?;
        let bytes = object.body.collect().await.map_err(unavailable)?;
        Ok(bytes.into_bytes().to_vec())
    }

    async fn exists(&self, key: &BlobKey) -> Result<bool, BlobError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key.to_string())
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
            Err(e) => Err(unavailable(described(&e))),
        }
    }

    async fn list(&self, user: &UserId, prefix: &str) -> Result<Vec<String>, BlobError> {
        let base = BlobKey::user_prefix(user);
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(format!("{base}{prefix}"))
            .into_paginator()
            .send();
        let mut found = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| unavailable(described(&e)))?;
            for object in page.contents() {
                if let Some(path) = object.key().and_then(|k| k.strip_prefix(&base)) {
                    found.push(path.to_owned());
                }
            }
        }
        found.sort();
        Ok(found)
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key.to_string())
            .send()
            .await
            .map_err(|e| unavailable(described(&e)))?;
        Ok(())
    }

    /// DeleteObjects, a thousand keys a call.
    async fn delete_prefix(&self, user: &UserId, prefix: &str) -> Result<(), BlobError> {
        let base = BlobKey::user_prefix(user);
        let paths = self.list(user, prefix).await?;
        // DeleteObjects takes at most 1,000 keys.
        for batch in paths.chunks(1_000) {
            let objects = batch
                .iter()
                .map(|p| {
                    ObjectIdentifier::builder()
                        .key(format!("{base}{p}"))
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(unavailable)?;
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(unavailable)?;
            self.client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| unavailable(described(&e)))?;
        }
        Ok(())
    }
}

/// Presigned multipart uploads: the client PUTs each part to S3 itself. No checksum algorithm:
/// a browser sends raw parts (TLS guards them), so the completion names none either.
#[async_trait]
impl DirectUpload for S3Blobs {
    async fn begin(&self, key: &BlobKey) -> Result<String, BlobError> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key.to_string())
            .send()
            .await
            .map_err(|e| unavailable(described(&e)))?;
        created
            .upload_id
            .ok_or_else(|| unavailable("S3 started a multipart upload without an id"))
    }

    async fn part_url(
        &self,
        key: &BlobKey,
        upload: &str,
        part: u32,
        valid_for: Duration,
    ) -> Result<String, BlobError> {
        let presigning = PresigningConfig::expires_in(valid_for).map_err(unavailable)?;
        let request = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key.to_string())
            .upload_id(upload)
            .part_number(part as i32)
            .presigned(presigning)
            .await
            .map_err(|e| unavailable(described(&e)))?;
        Ok(request.uri().to_owned())
    }

    async fn received(&self, key: &BlobKey, upload: &str) -> Result<Vec<u32>, BlobError> {
        Ok(self
            .parts(key, upload)
            .await?
            .iter()
            .filter_map(|p| p.part_number().map(|n| n as u32))
            .collect())
    }

    async fn complete(&self, key: &BlobKey, upload: &str) -> Result<(), BlobError> {
        let parts = self
            .parts(key, upload)
            .await?
            .into_iter()
            .map(|p| {
                CompletedPart::builder()
                    .set_part_number(p.part_number)
                    .set_e_tag(p.e_tag)
                    .build()
            })
            .collect();
        self.complete_multipart(&key.to_string(), upload, parts)
            .await
    }
}

#[async_trait]
impl DirectDownload for S3Blobs {
    async fn download_url(&self, key: &BlobKey, valid_for: Duration) -> Result<String, BlobError> {
        let presigning = PresigningConfig::expires_in(valid_for).map_err(unavailable)?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key.to_string())
            .presigned(presigning)
            .await
            .map_err(|e| unavailable(described(&e)))?;
        Ok(request.uri().to_owned())
    }
}

impl S3Blobs {
    /// Joins a multipart upload's parts into its object.
    async fn complete_multipart(
        &self,
        key: &str,
        upload: &str,
        parts: Vec<CompletedPart>,
    ) -> Result<(), BlobError> {
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| unavailable(described(&e)))?;
        Ok(())
    }

    /// Every part S3 holds of a multipart upload (ListParts pages by 1,000).
    async fn parts(&self, key: &BlobKey, upload: &str) -> Result<Vec<Part>, BlobError> {
        let mut parts = Vec::new();
        let mut marker = None;
        loop {
            let page = self
                .client
                .list_parts()
                .bucket(&self.bucket)
                .key(key.to_string())
                .upload_id(upload)
                .set_part_number_marker(marker)
                .send()
                .await
                .map_err(|e| match e.as_service_error() {
                    Some(s) if s.meta().code() == Some("NoSuchUpload") => {
                        BlobError::NotFound(format!("{key} (upload {upload})"))
                    }
                    _ => unavailable(described(&e)),
                })?;
            parts.extend(page.parts.unwrap_or_default());
            match page.next_part_number_marker {
                Some(next) if page.is_truncated == Some(true) => marker = Some(next),
                _ => {
                    parts.sort_by_key(|p| p.part_number);
                    return Ok(parts);
                }
            }
        }
    }
}
