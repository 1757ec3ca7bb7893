//! Errors as the API answers them: a status and `{"error": {"code", "message"}}`, the message
//! saying what to do.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use soulprint_core::stages::StageError;
use tracing::{error, warn};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds, for 429.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
}

/// What failed inside is logged whole, under an id the answer gives; the answer says only what
/// to do. Internals (a database's words, a file's path) are for the operator, not the client.
impl From<StageError> for ApiError {
    fn from(e: StageError) -> Self {
        if let StageError::NoImport = e {
            return ApiError::not_found("no import yet: upload an export first");
        }
        let request_id = uuid::Uuid::now_v7().simple().to_string();
        if e.is_retryable() {
            warn!(%request_id, error = %e, "request failed; the client may try again");
            return ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                format!("the service could not answer just now; try again shortly (request {request_id})"),
            );
        }
        error!(%request_id, error = %e, "request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("something went wrong on our side (request {request_id}); it has been logged"),
        )
    }
}

impl From<soulprint_core::ports::StoreError> for ApiError {
    fn from(e: soulprint_core::ports::StoreError) -> Self {
        StageError::from(e).into()
    }
}

impl From<soulprint_core::ports::BlobError> for ApiError {
    fn from(e: soulprint_core::ports::BlobError) -> Self {
        StageError::from(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_internal_failure_is_answered_with_an_id_not_its_insides() {
        let e = ApiError::from(StageError::Corrupt(
            "/home/ana/.local/share/soulprint/soulprint.db: row 7 is not JSON".into(),
        ));
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!e.message.contains("soulprint.db"), "{}", e.message);
        assert!(e.message.contains("request "), "{}", e.message);
        let busy = ApiError::from(StageError::Store(
            soulprint_core::ports::StoreError::Unavailable("database is locked at /x".into()),
        ));
        assert_eq!(busy.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(!busy.message.contains("/x"), "{}", busy.message);
    }
}
