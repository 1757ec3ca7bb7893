//! `GET /profile` and `PATCH /profile` (renaming the assistant).

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use soulprint_core::profile::Profile;
use soulprint_core::stages::{rename, RenameError};
use time::format_description::well_known::Rfc3339;

use crate::error::{ApiError, ApiResult};
use crate::extract::Body;
use crate::rate_limit::Tier;
use crate::{Api, Caller};

fn body(p: &Profile) -> Value {
    json!({
        "import_id": p.import_id,
        "ai_name": p.ai_name(),
        "archetype": p.archetype(),
        "sections": p.sections,
        "memory_md": p.memory_md,
        "soulprint_text": p.soulprint_text,
        "written_by": p.written_by,
        "notes": p.notes,
        "updated_at": p.updated_at.format(&Rfc3339).ok(),
    })
}

pub async fn get(State(api): State<Arc<Api>>, Caller(user): Caller) -> ApiResult<Json<Value>> {
    api.admit(&user, Tier::Standard).await?;
    match api.ports.store.profile(&user).await? {
        Some(p) => Ok(Json(body(&p))),
        None => Err(ApiError::not_found(
            "no soulprint yet: it is written when an import reaches quick_ready",
        )),
    }
}

#[derive(Deserialize)]
pub struct Rename {
    ai_name: String,
}

pub async fn patch(
    State(api): State<Arc<Api>>,
    Caller(user): Caller,
    Body(request): Body<Rename>,
) -> ApiResult<Json<Value>> {
    api.admit(&user, Tier::Standard).await?;
    let profile = rename(&api.ports, &user, &request.ai_name)
        .await
        .map_err(|e| match e {
            RenameError::BadName(_) => ApiError::bad_request(e.to_string()),
            RenameError::NoProfile => ApiError::not_found(e.to_string()),
            RenameError::Store(e) => e.into(),
        })?;
    Ok(Json(body(&profile)))
}
