//! The import's state, versioned: every change is a conditional write.

use async_trait::async_trait;

use super::{StoreError, Versioned};
use crate::import_state::ImportState;
use crate::ports::UserId;

/// The import's state, written only by conditional writes.
#[async_trait]
pub trait ImportStore: Send + Sync {
    /// The user's import state and its version; none before their first import.
    async fn import_state(
        &self,
        user: &UserId,
    ) -> Result<Option<Versioned<ImportState>>, StoreError>;
    /// Writes `state` if the stored version is still `expected` (`None`: nothing stored yet);
    /// [`StoreError::Conflict`] otherwise. Returns the new version.
    async fn put_import_state(
        &self,
        user: &UserId,
        state: &ImportState,
        expected: Option<u64>,
    ) -> Result<u64, StoreError>;
}
