//! The person's consolidated facts: what MEMORY is written from and chat recalls.

use async_trait::async_trait;

use super::StoreError;
use crate::memory::MemoryFact;
use crate::ports::UserId;

/// The consolidated facts: what SoulPrint remembers about the person.
#[async_trait]
pub trait MemoryStore: Send + Sync {
    /// Replaces the person's consolidated facts, if `import_id` is still the user's current
    /// import ([`StoreError::Stale`] otherwise).
    async fn replace_memory(
        &self,
        user: &UserId,
        import_id: &str,
        facts: &[MemoryFact],
    ) -> Result<(), StoreError>;
    /// The consolidated facts, in the order they were written.
    async fn memory(&self, user: &UserId) -> Result<Vec<MemoryFact>, StoreError>;
    /// Deletes one consolidated fact; false when there was none with this id.
    async fn delete_fact(&self, user: &UserId, id: &str) -> Result<bool, StoreError>;
}
