//! The person as a whole: forgetting them.

use async_trait::async_trait;

use super::StoreError;
use crate::ports::UserId;

/// The person as a whole: forgetting them takes every record.
#[async_trait]
pub trait PersonStore: Send + Sync {
    /// Every record of the user, gone.
    async fn forget(&self, user: &UserId) -> Result<(), StoreError>;
}
