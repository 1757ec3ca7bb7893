//! `POST /imports`, `GET /imports/latest`, `POST /imports/latest/retry-full-pass`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use soulprint_core::import_state::ImportState;
use soulprint_core::stages::{
    import_blob, new_import_id, retry_full_pass, start_import, StartError, EXPORT_BLOB,
};
use time::format_description::well_known::Rfc3339;

use super::uploads::{assemble, discard, load};
use crate::error::{ApiError, ApiResult};
use crate::extract::Body;
use crate::rate_limit::Tier;
use crate::{Api, Caller};

#[derive(Deserialize)]
pub struct Start {
    upload_id: String,
}

/// The status as every client reads it.
pub fn status_body(state: &ImportState) -> Value {
    let time = |t: Option<time::OffsetDateTime>| t.and_then(|t| t.format(&Rfc3339).ok());
    json!({
        "import_id": state.import_id,
        "import_status": state.status,
        "progress_percent": state.progress_percent,
        "import_stage": state.stage,
        "import_error": state.error,
        "started_at": time(Some(state.started_at)),
        "updated_at": time(Some(state.updated_at)),
        "full_pass_status": state.full_pass.status,
        "full_pass_error": state.full_pass.error,
        "full_pass_started_at": time(state.full_pass.started_at),
        "chunks_done": state.full_pass.chunks_done,
        "chunks_total": state.full_pass.chunks_total,
        "full_pass_seconds_left": state.full_pass.seconds_left(),
    })
}

pub async fn start(
    State(api): State<Arc<Api>>,
    Caller(user): Caller,
    Body(body): Body<Start>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    api.admit(&user, Tier::Expensive).await?;
    let upload = load(&api, &user, &body.upload_id).await?;
    if let Some(budget) = &api.import_budget {
        budget.admit(api.ports.store.as_ref(), &user).await?;
    }
    // Refused before the export is moved: a second import while one runs keeps its upload.
    if let Some(current) = api.ports.store.import_state(&user).await? {
        let now = api.ports.clock.now();
        if let Err(why) = ImportState::begin(Some(&current.value), "", now) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "import_processing",
                why.to_string(),
            ));
        }
    }
    // A direct upload is already where its import's export goes: the import takes its id.
    let import_id = match upload.storage_upload_id {
        Some(_) => upload.upload_id.clone(),
        None => new_import_id(),
    };
    let key = import_blob(&user, &import_id, EXPORT_BLOB)?;
    assemble(&api, &user, &upload, &key).await?;
    // What is deleted when the import does not start: a copy, not a direct upload's export.
    let copy = upload.storage_upload_id.is_none().then_some(&key);
    match start_import(&api.ports, &user, &import_id, &key, None).await {
        Ok(state) => {
            if let Err(e) = discard(&api, &user, &upload).await {
                tracing::warn!(user = %user, error = %e.message, "could not delete an upload's parts");
            }
            Ok((StatusCode::ACCEPTED, Json(status_body(&state))))
        }
        Err(StartError::Refused(why)) => {
            if let Some(copy) = copy {
                api.ports.blobs.delete(copy).await.ok();
            }
            Err(ApiError::new(
                StatusCode::CONFLICT,
                "import_processing",
                why.to_string(),
            ))
        }
        Err(StartError::Stage(e)) => {
            // The upload stays: the client may try again with the same id.
            if let Some(copy) = copy {
                api.ports.blobs.delete(copy).await.ok();
            }
            Err(e.into())
        }
    }
}

pub async fn latest(State(api): State<Arc<Api>>, Caller(user): Caller) -> ApiResult<Json<Value>> {
    api.admit(&user, Tier::Standard).await?;
    match api.ports.store.import_state(&user).await? {
        Some(state) => {
            let mut body = status_body(&state.value);
            if let Some(budget) = &api.import_budget {
                body["budget"] = budget.standing(api.ports.store.as_ref(), &user).await?;
            }
            Ok(Json(body))
        }
        None => Err(ApiError::not_found(
            "no import yet: upload an export, then POST /imports",
        )),
    }
}

pub async fn retry(
    State(api): State<Arc<Api>>,
    Caller(user): Caller,
) -> ApiResult<(StatusCode, Json<Value>)> {
    api.admit(&user, Tier::Expensive).await?;
    if let Some(budget) = &api.import_budget {
        budget.check_spend(api.ports.store.as_ref(), &user).await?;
    }
    match retry_full_pass(&api.ports, &user, None).await {
        Ok(state) => Ok((StatusCode::ACCEPTED, Json(status_body(&state)))),
        Err(soulprint_core::stages::StageError::Transition(why)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "cannot_retry",
            why.to_string(),
        )),
        Err(e) => Err(e.into()),
    }
}
