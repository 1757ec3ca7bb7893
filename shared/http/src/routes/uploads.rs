//! `POST /uploads`, `GET /uploads/{id}`, `PUT /uploads/{id}/parts/{n}`: an export arrives in
//! numbered parts, each stored as it comes, so an interrupted upload continues with the parts it
//! lacks (`GET` says which). On AWS the parts go to S3 by presigned multipart URLs instead.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use soulprint_core::ports::{BlobError, BlobKey, UserId};
use soulprint_core::stages::StageError;

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
/// A part's body is written to disk in pieces of at most this many bytes.
const PART_BUFFER: usize = 1 << 20;

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
    api.admit(&user, Tier::Standard).await?;
    let size = body.size_bytes;
    if size == 0 || size > MAX_EXPORT_BYTES {
        return Err(ApiError::bad_request(format!(
            "size_bytes is {size}: an export is 1 byte to {MAX_EXPORT_BYTES} bytes (5 GiB)"
        )));
    }
    check_quota(&api, &user, size).await?;
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

/// A person's unfinished uploads are bounded in number and in bytes (an upload is finished
/// when its import starts; an abandoned one is swept a day after its last part).
async fn check_quota(api: &Api, user: &UserId, size: u64) -> ApiResult<()> {
    let names = api.ports.blobs.list(user, "uploads/").await?;
    let mut open = 0u32;
    let mut held = 0u64;
    for name in names.iter().filter(|n| n.ends_with("/manifest.json")) {
        let Ok(bytes) = api
            .ports
            .blobs
            .get(&BlobKey::new(user, name.as_str())?)
            .await
        else {
            continue;
        };
        if let Ok(upload) = serde_json::from_slice::<Upload>(&bytes) {
            open += 1;
            held = held.saturating_add(upload.size_bytes);
        }
    }
    let quota = &api.upload_quota;
    if open >= quota.open_uploads || held.saturating_add(size) > quota.bytes {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "upload_quota",
            format!(
                "you have {open} unfinished upload(s) holding {held} bytes; at most {} uploads \
                 and {} bytes may be unfinished at once. Finish one (start its import) or wait \
                 a day for abandoned ones to be swept",
                quota.open_uploads, quota.bytes
            ),
        ));
    }
    Ok(())
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
        ApiError::from(StageError::Corrupt(format!(
            "upload {id:?}'s manifest is unreadable: {e}"
        )))
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
    api.admit(&user, Tier::Standard).await?;
    let upload = load(&api, &user, &id).await?;
    Ok(Json(shown(&api, &user, upload).await?))
}

pub async fn part(
    State(api): State<Arc<Api>>,
    Caller(user): Caller,
    PathOf((id, n)): PathOf<(String, u32)>,
    body: axum::body::Body,
) -> ApiResult<StatusCode> {
    api.admit(&user, Tier::Upload).await?;
    let _slot = api.parts_in_flight.take(&user)?;
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
    let file = to_disk(&api, body, n, expected).await?;
    api.ports
        .blobs
        .put_file(&part_key(&user, &upload.upload_id, n)?, file)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A part's body written to scratch space as it arrives, a piece at a time: memory holds at
/// most one piece, however large the part or slow its sender. Exactly `expected` bytes.
async fn to_disk(
    api: &Api,
    body: axum::body::Body,
    n: u32,
    expected: u64,
) -> ApiResult<soulprint_core::ports::Scratch> {
    use http_body_util::BodyExt;
    let mut file = api.ports.blobs.scratch().await?;
    let mut body = body;
    let mut received = 0u64;
    let mut piece: Vec<u8> = Vec::with_capacity(PART_BUFFER.min(expected as usize));
    loop {
        let frame = match body.frame().await {
            None => None,
            Some(Ok(frame)) => Some(frame),
            Some(Err(e)) if crate::request_guard::timed_out(&e) => {
                return Err(crate::request_guard::too_slow())
            }
            Some(Err(e)) => {
                return Err(ApiError::bad_request(format!(
                    "part {n}: the body broke off: {e}"
                )))
            }
        };
        let data = frame.as_ref().and_then(|f| f.data_ref());
        if let Some(data) = data {
            received += data.len() as u64;
            if received > expected {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    format!("part {n} must have {expected} bytes; more arrived"),
                ));
            }
            piece.extend_from_slice(data);
        }
        if piece.len() >= PART_BUFFER || (frame.is_none() && !piece.is_empty()) {
            let full = std::mem::replace(&mut piece, Vec::with_capacity(PART_BUFFER));
            file = tokio::task::spawn_blocking(move || {
                use std::io::Write;
                file.write_all(&full).map(|()| file)
            })
            .await
            .map_err(|e| internal(e.to_string()))?
            .map_err(|e| ApiError::from(BlobError::Unavailable(e.to_string())))?;
        }
        if frame.is_none() {
            break;
        }
    }
    if received != expected {
        return Err(ApiError::bad_request(format!(
            "part {n} has {received} bytes; it must have {expected}"
        )));
    }
    Ok(file)
}

fn internal(message: String) -> ApiError {
    StageError::Join(message).into()
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
        .map_err(|e| internal(e.to_string()))?
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
