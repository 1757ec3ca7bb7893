//! `GET /memory/facts`, `GET /memory/chunks` (`?q=` searches, else pages through them),
//! `DELETE /memory/facts/{id}` and `DELETE /memory/chunks/{id}`: memory in the person's hands.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use soulprint_core::relevance::{Doc, DocKind};
use soulprint_core::stages::{delete_memory, recall};

use crate::error::{ApiError, ApiResult};
use crate::extract::{PathOf, QueryOf};
use crate::pages::{self, PageQuery};
use crate::rate_limit::Tier;
use crate::{Api, Caller};

pub async fn facts(
    State(api): State<Arc<Api>>,
    Caller(user): Caller,
    QueryOf(query): QueryOf<PageQuery>,
) -> ApiResult<Json<Value>> {
    api.admit(&user, Tier::Standard).await?;
    let (offset, limit) = query.offset_and_limit(500, 2_000)?;
    let facts = api.ports.store.memory(&user).await?;
    let (page, next) = pages::page(&facts, offset, limit);
    Ok(Json(
        json!({ "facts": page, "next": next, "total": facts.len() }),
    ))
}

#[derive(Deserialize)]
pub struct ChunkQuery {
    q: Option<String>,
    #[serde(default)]
    offset: usize,
    limit: Option<usize>,
}

fn chunk_body(d: &Doc, score: Option<f64>) -> Value {
    json!({
        "id": d.id,
        "text": d.text,
        "conversation_id": d.conversation_id,
        "message_ids": d.message_ids,
        "at": d.at.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok()),
        "score": score,
    })
}

pub async fn chunks(
    State(api): State<Arc<Api>>,
    Caller(user): Caller,
    QueryOf(query): QueryOf<ChunkQuery>,
) -> ApiResult<Json<Value>> {
    api.admit(&user, Tier::Standard).await?;
    let limit = query.limit.unwrap_or(20).clamp(1, 100);
    if let Some(q) = query.q.as_deref().filter(|q| !q.trim().is_empty()) {
        if q.chars().count() > 1_000 {
            return Err(ApiError::bad_request("q is at most 1000 characters"));
        }
        // Facts rank with the chunks (as chat sees them); only chunks are listed here.
        let hits = recall(&api.ports, &api.chat.index, &user, q, limit * 4).await?;
        let bodies: Vec<Value> = hits
            .iter()
            .filter(|(d, _)| d.kind == DocKind::Chunk)
            .take(limit)
            .map(|(d, s)| chunk_body(d, Some(*s)))
            .collect();
        let (chunks, _) = pages::page(&bodies, 0, limit);
        return Ok(Json(json!({ "chunks": chunks, "total": chunks.len() })));
    }
    let Some(profile) = api.ports.store.profile(&user).await? else {
        return Ok(Json(json!({ "chunks": [], "total": 0 })));
    };
    let index = api.chat.index.get(&api.ports, &user, &profile).await?;
    let bodies: Vec<Value> = index
        .docs()
        .iter()
        .skip(query.offset)
        .take(limit)
        .map(|d| chunk_body(d, None))
        .collect();
    let (chunks, _) = pages::page(&bodies, 0, limit);
    Ok(Json(
        json!({ "chunks": chunks, "total": index.docs().len() }),
    ))
}

pub async fn delete(
    State(api): State<Arc<Api>>,
    Caller(user): Caller,
    PathOf(id): PathOf<String>,
) -> ApiResult<StatusCode> {
    api.admit(&user, Tier::Standard).await?;
    match delete_memory(&api.ports, &api.chat.index, &user, &id).await? {
        Some(_) => Ok(StatusCode::NO_CONTENT),
        None => Err(ApiError::not_found(format!("no fact or excerpt {id:?}"))),
    }
}
