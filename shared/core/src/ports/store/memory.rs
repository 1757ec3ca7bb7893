//! The person's consolidated facts: what MEMORY is written from and chat recalls.

use async_trait::async_trait;

use super::StoreError;
use crate::memory::{MemoryFact, Tombstone};
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
    /// The consolidated facts, in canonical order ([`crate::memory::sort_canonically`]).
    async fn memory(&self, user: &UserId) -> Result<Vec<MemoryFact>, StoreError>;
    /// Writes these facts (new, or replacing the fact of the same id) into the memory in
    /// force, whatever the state of the imports: what the person told SoulPrint themselves.
    /// Only these are written, if the memory is still at revision `expected` (`None`: no
    /// memory yet); [`StoreError::Conflict`] otherwise (read again, learn again). Returns the
    /// new revision.
    async fn put_facts(
        &self,
        user: &UserId,
        expected: Option<&str>,
        facts: &[MemoryFact],
    ) -> Result<String, StoreError>;
    /// Changes with every write of the memory (a replacement, put facts, a deletion): a reader
    /// that kept the facts of a revision may keep using them while it is the same. None before
    /// any memory.
    async fn memory_revision(&self, user: &UserId) -> Result<Option<String>, StoreError>;
    /// Deletes one consolidated fact, whatever the state of the imports, and returns it;
    /// `None` when there was none with this id. With it, atomically, a [`Tombstone`] is
    /// recorded, and the facts of the person's runs that it buries (their batch markers keep
    /// facts word for word) are deleted too: nothing of it stays readable, and no later pass
    /// brings it back.
    async fn delete_fact(&self, user: &UserId, id: &str) -> Result<Option<MemoryFact>, StoreError>;
    /// Records a tombstone of something else deleted (a conversation excerpt).
    async fn bury(&self, user: &UserId, tombstone: &Tombstone) -> Result<(), StoreError>;
    /// Everything the person deleted, for later passes to leave out.
    async fn tombstones(&self, user: &UserId) -> Result<Vec<Tombstone>, StoreError>;
}
