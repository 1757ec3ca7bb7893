//! The person as a whole: forgetting them.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::StoreError;
use crate::ports::UserId;

/// The person as a whole: forgetting them takes every record. Forgetting is a job: from the
/// moment it is accepted a marker (holding only the user id and when) makes every read refuse
/// the person, until the job has deleted the rest and lifts it.
#[async_trait]
pub trait PersonStore: Send + Sync {
    /// Every record of the user, gone, but the forgotten-person marker. Safe to run again
    /// after it stopped partway.
    async fn forget(&self, user: &UserId) -> Result<(), StoreError>;
    /// Marks the user as being forgotten (again: the first time stands).
    async fn mark_forgotten(&self, user: &UserId, at: OffsetDateTime) -> Result<(), StoreError>;
    /// Since when the user is being forgotten; none when they are not.
    async fn forgotten(&self, user: &UserId) -> Result<Option<OffsetDateTime>, StoreError>;
    /// Lifts the marker: the forgetting is done, and the id may start again from nothing.
    async fn forget_done(&self, user: &UserId) -> Result<(), StoreError>;
}
