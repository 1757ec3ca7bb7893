//! Who is calling. Every route but health, the page and the contract needs a [`Caller`]: the
//! user id of a verified JWT's `sub`. `soulprint serve` verifies the token itself (issuer,
//! audience, expiry, signature), as API Gateway's JWT authorizer does on AWS, where the
//! functions take the authorizer's claims instead; no route takes a user id from a body or a path.

use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use soulprint_core::ports::UserId;
use time::OffsetDateTime;

use crate::error::ApiError;

/// The verified user of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller(pub UserId);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::unauthorized("sign in: send `Authorization: Bearer <JWT>`"))
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iss: String,
    aud: String,
    exp: i64,
    iat: i64,
}

/// What a verified token gives. The audience is a token's `aud` (a string or a list), or,
/// for Cognito's access tokens, which have none, its `client_id`, as API Gateway's JWT
/// authorizer accepts them.
#[derive(Debug, Deserialize)]
struct Subject {
    sub: String,
    exp: i64,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    aud: Option<Audience>,
    #[serde(default)]
    client_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Subject {
    fn names(&self, audience: &str) -> bool {
        match &self.aud {
            Some(Audience::One(a)) => a == audience,
            Some(Audience::Many(list)) => list.iter().any(|a| a == audience),
            None => self.client_id.as_deref() == Some(audience),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("no bearer token: send `Authorization: Bearer <JWT>`")]
    Missing,
    #[error("the token is not valid: {0}")]
    Invalid(String),
    #[error("the token's subject is not a user id: {0}")]
    BadSubject(String),
    /// Signed with a key this server does not have (an issuer that rotated its keys).
    #[error("the token is not valid: {0}")]
    UnknownKey(String),
}

/// The bearer token of a request's `Authorization` header.
pub fn bearer(headers: &axum::http::HeaderMap) -> Result<&str, AuthError> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or(AuthError::Missing)
}

/// Verifies and (for the local signing key) issues tokens: HS256 with the server's key
/// (`soulprint serve`), or the public keys of an identity provider's JWKS (the chat-stream
/// function on AWS, which a Function URL leaves to check its own tokens).
pub struct Tokens {
    /// Only the server's own key signs.
    encoding: Option<EncodingKey>,
    keys: Vec<VerifyingKey>,
    issuer: String,
    audience: String,
    /// The longest a token may be valid for, `iat` to `exp`: a leaked long-lived token is
    /// refused even before it expires.
    max_lifetime: time::Duration,
}

/// The longest lifetime of a token the local server issues (`soulprint token --hours`).
pub const MAX_LOCAL_LIFETIME: time::Duration = time::Duration::days(30);
/// The longest lifetime of an identity provider's token, unless told otherwise (Cognito's
/// access and ID tokens live a day at most).
pub const MAX_ISSUER_LIFETIME: time::Duration = time::Duration::days(1);

struct VerifyingKey {
    kid: Option<String>,
    key: DecodingKey,
    algorithm: Algorithm,
}

impl Tokens {
    pub fn hs256(secret: &[u8], issuer: &str, audience: &str) -> Self {
        Tokens {
            encoding: Some(EncodingKey::from_secret(secret)),
            keys: vec![VerifyingKey {
                kid: None,
                key: DecodingKey::from_secret(secret),
                algorithm: Algorithm::HS256,
            }],
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            max_lifetime: MAX_LOCAL_LIFETIME,
        }
    }

    /// Tokens valid for longer than `max` are refused.
    pub fn with_max_lifetime(mut self, max: time::Duration) -> Self {
        self.max_lifetime = max;
        self
    }

    /// The signing keys of a JWKS document (`{issuer}/.well-known/jwks.json`); keys of a kind
    /// jsonwebtoken cannot use are skipped, and none at all is an error.
    pub fn from_jwks(jwks: &str, issuer: &str, audience: &str) -> Result<Self, AuthError> {
        let set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(jwks)
            .map_err(|e| AuthError::Invalid(format!("the JWKS document is not a key set: {e}")))?;
        let keys: Vec<VerifyingKey> = set
            .keys
            .iter()
            .filter_map(|jwk| {
                let key = DecodingKey::from_jwk(jwk).ok()?;
                let algorithm = match jwk.common.key_algorithm {
                    Some(alg) => Algorithm::from_str(&alg.to_string()).ok()?,
                    None => match jwk.algorithm {
                        jsonwebtoken::jwk::AlgorithmParameters::RSA(_) => Algorithm::RS256,
                        jsonwebtoken::jwk::AlgorithmParameters::EllipticCurve(_) => {
                            Algorithm::ES256
                        }
                        _ => return None,
                    },
                };
                Some(VerifyingKey {
                    kid: jwk.common.key_id.clone(),
                    key,
                    algorithm,
                })
            })
            .collect();
        if keys.is_empty() {
            return Err(AuthError::Invalid(
                "the JWKS document has no usable signing key".into(),
            ));
        }
        Ok(Tokens {
            encoding: None,
            keys,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            max_lifetime: MAX_ISSUER_LIFETIME,
        })
    }

    /// A token for `user`, valid for `ttl`. Panics for verify-only tokens (from a JWKS).
    pub fn issue(&self, user: &UserId, ttl: time::Duration) -> String {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let claims = Claims {
            sub: user.to_string(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            exp: now + ttl.whole_seconds(),
        };
        let key = self
            .encoding
            .as_ref()
            .expect("only the server's own key issues tokens");
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, key)
            .expect("HS256 signing does not fail")
    }

    pub fn verify(&self, token: &str) -> Result<UserId, AuthError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| AuthError::Invalid(e.to_string()))?;
        let key = self
            .keys
            .iter()
            .find(|k| k.algorithm == header.alg && (k.kid.is_none() || k.kid == header.kid))
            .ok_or_else(|| {
                AuthError::UnknownKey(format!(
                    "no key for algorithm {:?} and key id {:?}",
                    header.alg, header.kid
                ))
            })?;
        let mut validation = Validation::new(key.algorithm);
        validation.set_issuer(&[&self.issuer]);
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        let data = jsonwebtoken::decode::<Subject>(token, &key.key, &validation)
            .map_err(|e| AuthError::Invalid(e.to_string()))?;
        let Some(iat) = data.claims.iat else {
            return Err(AuthError::Invalid(
                "the token has no iat, so its lifetime cannot be checked".into(),
            ));
        };
        let now = OffsetDateTime::now_utc().unix_timestamp();
        if iat > now + validation.leeway as i64 {
            return Err(AuthError::Invalid(
                "the token was issued in the future".into(),
            ));
        }
        let lifetime = data.claims.exp.saturating_sub(iat);
        if lifetime > self.max_lifetime.whole_seconds() {
            return Err(AuthError::Invalid(format!(
                "the token is valid for {lifetime} s, more than the {} s allowed",
                self.max_lifetime.whole_seconds()
            )));
        }
        if !data.claims.names(&self.audience) {
            return Err(AuthError::Invalid(format!(
                "the token is not for {:?} (neither its aud nor its client_id)",
                self.audience
            )));
        }
        UserId::new(data.claims.sub).map_err(|e| AuthError::BadSubject(e.to_string()))
    }
}

/// Middleware: a verified bearer token, or 401.
pub async fn require_token(
    State(tokens): State<Arc<Tokens>>,
    mut request: Request,
    next: Next,
) -> Response {
    match bearer(request.headers()).and_then(|t| tokens.verify(t)) {
        Ok(user) => {
            request.extensions_mut().insert(Caller(user));
            next.run(request).await
        }
        Err(e) => refused(&e),
    }
}

/// The 401 for a token that did not verify. Why it failed is logged, not told: the details
/// (a library's words about algorithms and claims) help an attacker more than a user.
pub fn refused(e: &AuthError) -> Response {
    tracing::info!(reason = %e, "a request's token was refused");
    let message = match e {
        AuthError::Missing => e.to_string(),
        _ => "invalid token: sign in again for a fresh one".to_owned(),
    };
    ApiError::unauthorized(message).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_checked_for_signature_issuer_audience_and_expiry() {
        let tokens = Tokens::hs256(b"k1", "soulprint-local", "soulprint");
        let user = UserId::new("ana").unwrap();
        let good = tokens.issue(&user, time::Duration::hours(1));
        assert_eq!(tokens.verify(&good).unwrap(), user);
        let other_key = Tokens::hs256(b"k2", "soulprint-local", "soulprint");
        assert!(other_key.verify(&good).is_err());
        let other_issuer = Tokens::hs256(b"k1", "evil", "soulprint");
        assert!(other_issuer.verify(&good).is_err());
        let other_audience = Tokens::hs256(b"k1", "soulprint-local", "other");
        assert!(other_audience.verify(&good).is_err());
        let expired = tokens.issue(&user, time::Duration::minutes(-5));
        assert!(tokens.verify(&expired).is_err());
        assert!(tokens.verify("not.a.jwt").is_err());
    }

    fn signed(claims: serde_json::Value) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"k1"),
        )
        .unwrap()
    }

    #[test]
    fn a_token_not_yet_valid_or_valid_for_too_long_is_refused() {
        let tokens =
            Tokens::hs256(b"k1", "iss", "aud").with_max_lifetime(time::Duration::hours(24));
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let claims = |nbf: i64, iat: Option<i64>, exp: i64| {
            let mut c = serde_json::json!({"sub": "ana", "iss": "iss", "aud": "aud", "exp": exp, "nbf": nbf});
            if let Some(iat) = iat {
                c["iat"] = iat.into();
            }
            signed(c)
        };
        assert!(tokens
            .verify(&claims(now - 10, Some(now - 10), now + 3600))
            .is_ok());
        let later = tokens
            .verify(&claims(now + 3600, Some(now), now + 7200))
            .unwrap_err();
        assert!(later.to_string().contains("ImmatureSignature"), "{later}");
        let long = tokens
            .verify(&claims(now, Some(now), now + 25 * 3600))
            .unwrap_err();
        assert!(long.to_string().contains("more than the 86400 s"), "{long}");
        assert!(
            tokens.verify(&claims(now, None, now + 60)).is_err(),
            "no iat"
        );
        assert!(
            tokens
                .verify(&claims(now, Some(now + 3600), now + 7200))
                .is_err(),
            "issued later"
        );
    }
}
