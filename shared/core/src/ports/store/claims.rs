//! Idempotency records: work done once however often its message comes.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::StoreError;
use crate::ports::UserId;

/// The state of an idempotency record when a worker tries to claim it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Not seen (or its earlier claim expired): the caller does the work.
    Acquired,
    /// Another worker holds it and its claim has not expired.
    InProgress,
    /// Done before: the caller skips the work.
    Completed,
}

/// Idempotency records: a worker claims a key before work that must be done once.
#[async_trait]
pub trait ClaimStore: Send + Sync {
    /// Claims `key` until `expires_at`. A claim whose holder died expires, and the next
    /// caller acquires it.
    async fn claim(
        &self,
        user: &UserId,
        key: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<Claim, StoreError>;
    /// Marks `key` done, remembered until `expires_at`.
    async fn complete_claim(
        &self,
        user: &UserId,
        key: &str,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Gives a claim up (the work failed and may be tried again).
    async fn release_claim(&self, user: &UserId, key: &str) -> Result<(), StoreError>;
}
