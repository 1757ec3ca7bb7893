//! `GET /export` (everything about the person, as one JSON document: the file itself, or on
//! AWS a short-lived link to it) and `DELETE /me`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use serde_json::{json, Value};
use soulprint_core::stages::{begin_forgetting, write_export};

use super::imports::status_body;
use crate::error::ApiResult;
use crate::rate_limit::Tier;
use crate::{Api, Caller};

/// How long the link to an export answers.
const EXPORT_LINK_VALID: std::time::Duration = std::time::Duration::from_secs(15 * 60);

pub async fn export(
    State(api): State<Arc<Api>>,
    Caller(user): Caller,
) -> ApiResult<axum::response::Response> {
    api.admit(&user, Tier::Expensive).await?;
    let store = &api.ports.store;
    let mut threads = Vec::new();
    for thread in store.chat_threads(&user).await? {
        let messages = store
            .chat_messages(&user, &thread.id, None, usize::MAX >> 1)
            .await?;
        threads.push(json!({"thread": thread, "messages": messages}));
    }
    let (import, usage) = match store.import_state(&user).await? {
        Some(state) => {
            let usage = store.usage(&user, &state.value.import_id).await?;
            (status_body(&state.value), json!(usage))
        }
        None => (Value::Null, Value::Null),
    };
    let summary = json!({
        "user": user,
        "profile": store.profile(&user).await?,
        "facts": store.memory(&user).await?,
        "chats": threads,
        "import": import,
        "usage": usage,
    });
    let Value::Object(summary) = summary else {
        unreachable!("json! of an object is an object")
    };
    let (key, bytes) = write_export(&api.ports, &user, summary).await?;
    tracing::info!(user = %user, bytes, "export written");
    // Where storage signs links (S3), the export leaves from there: a function's response
    // is capped at 6 MB.
    if let Some(download) = &api.download {
        let url = download.download_url(&key, EXPORT_LINK_VALID).await?;
        return Ok((
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, url),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
        )
            .into_response());
    }
    let file = api.ports.blobs.open(&key).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"soulprint-export.json\"",
            ),
        ],
        axum::body::Body::from_stream(read_in_pieces(file)),
    )
        .into_response())
}

/// The file's bytes as a stream of pieces, read on a blocking thread.
fn read_in_pieces(
    mut file: soulprint_core::ports::Scratch,
) -> tokio_stream::wrappers::ReceiverStream<std::io::Result<bytes::Bytes>> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        let mut piece = vec![0u8; 256 << 10];
        loop {
            match std::io::Read::read(&mut file, &mut piece) {
                Ok(0) => break,
                Ok(n) => {
                    if tx
                        .blocking_send(Ok(bytes::Bytes::copy_from_slice(&piece[..n])))
                        .is_err()
                    {
                        break;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    break;
                }
            }
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

/// Accepts forgetting the caller (202): from now nothing of them is readable, and a job
/// deletes it all in the background. Asked again while it runs, accepted again.
pub async fn forget(
    State(api): State<Arc<Api>>,
    Caller(user): Caller,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    api.limits.check(&user, Tier::Standard).await?;
    begin_forgetting(&api.ports, &user).await?;
    // This instance's caches go now; another's are never read for a forgotten person.
    api.chat.index.forget(&user);
    api.chat.memory.forget(&user);
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(json!({
            "status": "forgetting",
            "message": "Everything of yours is being deleted; until it is done, nothing of it \
                        can be read."
        })),
    ))
}
