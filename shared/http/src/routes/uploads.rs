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
/// Parts sent straight to storage: 80 of them for the largest export (S3 takes 5 MiB to
/// 5 GiB a part, 10,000 parts).
pub const DIRECT_PART_BYTES: u64 = 64 << 20;
/// How long a part's URL works; `GET /uploads/{id}` gives fresh ones.
const PART_URL_LIFETIME: std::time::Duration = std::time::Duration::from_secs(3600);
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
    /// Straight to storage: where to `PUT` each part not yet received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_urls: Option<Vec<PartUrl>>,
    /// Storage's id of a direct upload (kept in the manifest, not shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_upload_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartUrl {
    pub part: u32,
    pub url: String,
}

/// Where a direct upload becomes the export: the import it starts takes the upload's id, so
/// the export needs no copy.
pub fn direct_export(user: &UserId, id: &str) -> Result<BlobKey, ApiError> {
    Ok(soulprint_core::stages::import_blob(
        user,
        id,
        soulprint_core::stages::EXPORT_BLOB,
    )?)
}

/// The upload as the client sees it: fresh URLs for the parts storage lacks.
async fn shown(api: &Api, user: &UserId, mut upload: Upload) -> ApiResult<Upload> {
    if let (Some(direct), Some(storage_id)) = (&api.direct, upload.storage_upload_id.take()) {
        let key = direct_export(user, &upload.upload_id)?;
        let mut urls = Vec::new();
        for part in (1..=upload.parts).filter(|n| !upload.received.contains(n)) {
            let url = direct
                .part_url(&key, &storage_id, part, PART_URL_LIFETIME)
                .await?;
            urls.push(PartUrl { part, url });
        }
        upload.part_urls = Some(urls);
    }
    Ok(upload)
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
    let upload_id = uuid::Uuid::now_v7().simple().to_string();
    let (part_bytes, storage_upload_id) = match &api.direct {
        Some(direct) => (
            api.direct_part_bytes,
            Some(direct.begin(&direct_export(&user, &upload_id)?).await?),
        ),
        None => (api.part_bytes as u64, None),
    };
    let upload = Upload {
        upload_id,
        size_bytes: size,
        part_bytes,
        parts: size.div_ceil(part_bytes) as u32,
        received: Vec::new(),
        part_urls: None,
        storage_upload_id,
    };
    let bytes = serde_json::to_vec(&upload).expect("an upload serialises");
    api.ports
        .blobs
        .put(&manifest(&user, &upload.upload_id)?, bytes)
        .await?;
    Ok((StatusCode::CREATED, Json(shown(&api, &user, upload).await?)))
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
    upload.received = match (&api.direct, &upload.storage_upload_id) {
        (Some(direct), Some(storage_id)) => {
            let key = direct_export(user, id)?;
            match direct.received(&key, storage_id).await {
                Ok(parts) => parts,
                // Joined already (an import that then did not start): every part is in.
                Err(BlobError::NotFound(_)) if api.ports.blobs.exists(&key).await? => {
                    (1..=upload.parts).collect()
                }
                Err(e) => return Err(e.into()),
            }
        }
        _ => api
            .ports
            .blobs
            .list(user, &format!("uploads/{id}/part-"))
            .await?
            .iter()
            .filter_map(|p| p.rsplit_once("part-")?.1.parse().ok())
            .collect(),
    };
    Ok(upload)
}

pub async fn status(
    State(api): State<Arc<Api>>,
    Caller(user): Caller,
    PathOf(id): PathOf<String>,
) -> ApiResult<Json<Upload>> {
    api.limits.check(&user, Tier::Standard).await?;
    let upload = load(&api, &user, &id).await?;
    Ok(Json(shown(&api, &user, upload).await?))
}

pub async fn part(
    State(api): State<Arc<Api>>,
    Caller(user): Caller,
    PathOf((id, n)): PathOf<(String, u32)>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    api.limits.check(&user, Tier::Upload).await?;
    let upload = load(&api, &user, &id).await?;
    if upload.storage_upload_id.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "direct_upload",
            "this upload goes straight to storage: PUT each part to its URL in part_urls \
             (GET /uploads/{id} gives fresh ones)",
        ));
    }
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

/// The whole export from its parts, stored at `to` (the parts stay until [`discard`]). A
/// direct upload is joined where it is, [`direct_export`], which is then `to`.
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
    if let (Some(direct), Some(storage_id)) = (&api.direct, &upload.storage_upload_id) {
        // Joined by an earlier attempt whose import did not start: the export is there.
        if !api.ports.blobs.exists(to).await? {
            direct.complete(to, storage_id).await?;
        }
        return Ok(());
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
