//! `POST /uploads`, `GET /uploads/{id}`, `PUT /uploads/{id}/parts/{n}`: an export arrives in
//! numbered parts, each stored as it comes, so an interrupted upload continues with the parts it
//! lacks (`GET` says which). On AWS the parts go to S3 by presigned multipart URLs instead.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use soulprint_core::ports::{BlobError, BlobKey, UserId};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, PathOf};
use crate::rate_limit::Tier;
use crate::{Api, Caller};

/// Every part but the last has exactly this many bytes (unless the server says otherwise).
pub const PART_BYTES: usize = 8 << 20;
/// The largest export accepted (ChatGPT's exports reach a few gigabytes).
pub const MAX_EXPORT_BYTES: u64 = 5 << 30;

#[derive(Deserialize)]
pub struct Begin {
    size_bytes: u64,
}

/// An upload and the parts received so far.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Upload {
    pub upload_id: String,
    pub size_bytes: u64,
    pub part_bytes: u64,
    pub parts: u32,
    #[serde(default)]
    pub received: Vec<u32>,
}

fn manifest(user: &UserId, id: &str) -> Result<BlobKey, ApiError> {
    Ok(BlobKey::new(user, format!("uploads/{id}/manifest.json"))?)
}

fn part_key(user: &UserId, id: &str, n: u32) -> Result<BlobKey, ApiError> {
    Ok(BlobKey::new(user, format!("uploads/{id}/part-{n:05}"))?)
}

fn checked_id(id: &str) -> Result<&str, ApiError> {
    if super::is_hex_id(id) {
        Ok(id)
    } else {
        Err(ApiError::not_found(format!("no upload {id:?}")))
    }
}

pub async fn begin(
    State(api): State<Arc<Api>>,
    Caller(user): Caller,
    Body(body): Body<Begin>,
) -> ApiResult<(StatusCode, Json<Upload>)> {
    api.limits.check(&user, Tier::Standard).await?;
    let size = body.size_bytes;
    if size == 0 || size > MAX_EXPORT_BYTES {
        return Err(ApiError::bad_request(format!(
            "size_bytes is {size}: an export is 1 byte to {MAX_EXPORT_BYTES} bytes (5 GiB)"
        )));
    }
    let upload = Upload {
        upload_id: uuid::Uuid::now_v7().simple().to_string(),
        size_bytes: size,
        part_bytes: api.part_bytes as u64,
        parts: size.div_ceil(api.part_bytes as u64) as u32,
        received: Vec::new(),
    };
    let bytes = serde_json::to_vec(&upload).expect("an upload serialises");
    api.ports
        .blobs
        .put(&manifest(&user, &upload.upload_id)?, bytes)
        .await?;
    Ok((StatusCode::CREATED, Json(upload)))
}

/// The upload with the parts received, or 404.
pub async fn load(api: &Api, user: &UserId, id: &str) -> ApiResult<Upload> {
    let id = checked_id(id)?;
    let bytes = match api.ports.blobs.get(&manifest(user, id)?).await {
        Ok(bytes) => bytes,
        Err(BlobError::NotFound(_)) => {
            return Err(ApiError::not_found(format!("no upload {id:?}")))
        }
        Err(e) => return Err(e.into()),
    };
    let mut upload: Upload = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("upload {id:?} is unreadable: {e}"),
        )
    })?;
    upload.received = api
        .ports
        .blobs
        .list(user, &format!("uploads/{id}/part-"))
        .await?
        .iter()
        .filter_map(|p| p.rsplit_once("part-")?.1.parse().ok())
        .collect();
    Ok(upload)
}

pub async fn status(
    State(api): State<Arc<Api>>,
    Caller(user): Caller,
    PathOf(id): PathOf<String>,
) -> ApiResult<Json<Upload>> {
    api.limits.check(&user, Tier::Standard).await?;
    Ok(Json(load(&api, &user, &id).await?))
}

pub async fn part(
    State(api): State<Arc<Api>>,
    Caller(user): Caller,
    PathOf((id, n)): PathOf<(String, u32)>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    api.limits.check(&user, Tier::Upload).await?;
    let upload = load(&api, &user, &id).await?;
    if n == 0 || n > upload.parts {
        return Err(ApiError::bad_request(format!(
            "part {n}: this upload has parts 1 to {}",
            upload.parts
        )));
    }
    let expected = if n < upload.parts {
        upload.part_bytes
    } else {
        upload.size_bytes - upload.part_bytes * u64::from(upload.parts - 1)
    };
    if body.len() as u64 != expected {
        return Err(ApiError::bad_request(format!(
            "part {n} has {} bytes; it must have {expected}",
            body.len()
        )));
    }
    api.ports
        .blobs
        .put(&part_key(&user, &upload.upload_id, n)?, body.to_vec())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The whole export from its parts, stored at `to` (the parts stay until [`discard`]).
pub async fn assemble(api: &Api, user: &UserId, upload: &Upload, to: &BlobKey) -> ApiResult<()> {
    let missing: Vec<u32> = (1..=upload.parts)
        .filter(|n| !upload.received.contains(n))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "upload_incomplete",
            format!(
                "upload {} lacks {} of its {} parts (the first: {}); send them, then start the import",
                upload.upload_id,
                missing.len(),
                upload.parts,
                missing[0]
            ),
        ));
    }
    let mut file = api.ports.blobs.scratch().await?;
    for n in 1..=upload.parts {
        let bytes = api
            .ports
            .blobs
            .get(&part_key(user, &upload.upload_id, n)?)
            .await?;
        file = tokio::task::spawn_blocking(move || {
            use std::io::Write;
            file.write_all(&bytes).map(|()| file)
        })
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
        .map_err(|e| ApiError::from(BlobError::Unavailable(e.to_string())))?;
    }
    api.ports.blobs.put_file(to, file).await?;
    Ok(())
}

/// The upload's parts and manifest, gone (once its import has started).
pub async fn discard(api: &Api, user: &UserId, upload: &Upload) -> ApiResult<()> {
    for name in api
        .ports
        .blobs
        .list(user, &format!("uploads/{}/", upload.upload_id))
        .await?
    {
        api.ports.blobs.delete(&BlobKey::new(user, name)?).await?;
    }
    Ok(())
}
