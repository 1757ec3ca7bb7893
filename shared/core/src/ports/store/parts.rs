//! A store assembled from one role each: how a decorator or a test double takes one role
//! (recording the import states it is given, failing one call) and leaves the others as they
//! were, without restating them.

use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{
    BatchOutcome, BatchRecord, ChatMessage, ChatStore, ChatThread, Claim, ClaimStore, ImportStore,
    ImportUsage, MemoryStore, PersonStore, ProfileStore, RunId, RunPlan, RunProgress, RunStore,
    Store, StoreError, UsageStore, Versioned,
};
use crate::import_state::ImportState;
use crate::memory::{Fact, MemoryFact, Tombstone};
use crate::ports::UserId;
use crate::profile::Profile;

/// Every role, each from its own place.
#[derive(Clone)]
pub struct StoreParts {
    /// The import's state.
    pub imports: Arc<dyn ImportStore>,
    /// Each user's profile: the soulprint.
    pub profiles: Arc<dyn ProfileStore>,
    /// The full pass's bookkeeping.
    pub runs: Arc<dyn RunStore>,
    /// The consolidated facts.
    pub memory: Arc<dyn MemoryStore>,
    /// What each import spent.
    pub usage: Arc<dyn UsageStore>,
    /// Idempotency records.
    pub claims: Arc<dyn ClaimStore>,
    /// Chat threads and their messages.
    pub chats: Arc<dyn ChatStore>,
    /// Forgetting a person.
    pub people: Arc<dyn PersonStore>,
}

impl StoreParts {
    /// Every role from `store`; replace the ones to change.
    pub fn of(store: Arc<dyn Store>) -> Self {
        StoreParts {
            imports: store.clone(),
            profiles: store.clone(),
            runs: store.clone(),
            memory: store.clone(),
            usage: store.clone(),
            claims: store.clone(),
            chats: store.clone(),
            people: store.clone(),
        }
    }
}

#[async_trait]
impl ImportStore for StoreParts {
    async fn import_state(
        &self,
        user: &UserId,
    ) -> Result<Option<Versioned<ImportState>>, StoreError> {
        self.imports.import_state(user).await
    }
    async fn put_import_state(
        &self,
        user: &UserId,
        state: &ImportState,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        self.imports.put_import_state(user, state, expected).await
    }
}

#[async_trait]
impl ProfileStore for StoreParts {
    async fn profile(&self, user: &UserId) -> Result<Option<Profile>, StoreError> {
        self.profiles.profile(user).await
    }
    async fn put_profile(&self, user: &UserId, profile: &Profile) -> Result<(), StoreError> {
        self.profiles.put_profile(user, profile).await
    }
    async fn amend_profile(&self, user: &UserId, profile: &Profile) -> Result<(), StoreError> {
        self.profiles.amend_profile(user, profile).await
    }
}

#[async_trait]
impl RunStore for StoreParts {
    async fn plan_run(&self, user: &UserId, run: &RunId, plan: RunPlan) -> Result<(), StoreError> {
        self.runs.plan_run(user, run, plan).await
    }
    async fn record_batch(
        &self,
        user: &UserId,
        run: &RunId,
        batch: u32,
        outcome: &BatchOutcome,
    ) -> Result<RunProgress, StoreError> {
        self.runs.record_batch(user, run, batch, outcome).await
    }
    async fn batch_done(&self, user: &UserId, run: &RunId, batch: u32) -> Result<bool, StoreError> {
        self.runs.batch_done(user, run, batch).await
    }
    async fn batch_record(
        &self,
        user: &UserId,
        run: &RunId,
        batch: u32,
    ) -> Result<Option<BatchRecord>, StoreError> {
        self.runs.batch_record(user, run, batch).await
    }
    async fn run_progress(
        &self,
        user: &UserId,
        run: &RunId,
    ) -> Result<Option<RunProgress>, StoreError> {
        self.runs.run_progress(user, run).await
    }
    async fn run_facts(&self, user: &UserId, run: &RunId) -> Result<Vec<Fact>, StoreError> {
        self.runs.run_facts(user, run).await
    }
}

#[async_trait]
impl MemoryStore for StoreParts {
    async fn replace_memory(
        &self,
        user: &UserId,
        import_id: &str,
        facts: &[MemoryFact],
    ) -> Result<(), StoreError> {
        self.memory.replace_memory(user, import_id, facts).await
    }
    async fn memory(&self, user: &UserId) -> Result<Vec<MemoryFact>, StoreError> {
        self.memory.memory(user).await
    }
    async fn delete_fact(&self, user: &UserId, id: &str) -> Result<Option<MemoryFact>, StoreError> {
        self.memory.delete_fact(user, id).await
    }
    async fn put_facts(
        &self,
        user: &UserId,
        expected: Option<&str>,
        facts: &[MemoryFact],
    ) -> Result<String, StoreError> {
        self.memory.put_facts(user, expected, facts).await
    }
    async fn memory_revision(&self, user: &UserId) -> Result<Option<String>, StoreError> {
        self.memory.memory_revision(user).await
    }
    async fn bury(&self, user: &UserId, tombstone: &Tombstone) -> Result<(), StoreError> {
        self.memory.bury(user, tombstone).await
    }
    async fn tombstones(&self, user: &UserId) -> Result<Vec<Tombstone>, StoreError> {
        self.memory.tombstones(user).await
    }
}

#[async_trait]
impl UsageStore for StoreParts {
    async fn record_usage(
        &self,
        user: &UserId,
        import_id: &str,
        key: &str,
        spent: &ImportUsage,
    ) -> Result<(), StoreError> {
        self.usage.record_usage(user, import_id, key, spent).await
    }
    async fn usage(&self, user: &UserId, import_id: &str) -> Result<ImportUsage, StoreError> {
        self.usage.usage(user, import_id).await
    }
    async fn spent(&self, user: &UserId, month: &str) -> Result<f64, StoreError> {
        self.usage.spent(user, month).await
    }
}

#[async_trait]
impl ClaimStore for StoreParts {
    async fn claim(
        &self,
        user: &UserId,
        key: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<Claim, StoreError> {
        self.claims.claim(user, key, now, expires_at).await
    }
    async fn complete_claim(
        &self,
        user: &UserId,
        key: &str,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.claims.complete_claim(user, key, expires_at).await
    }
    async fn release_claim(&self, user: &UserId, key: &str) -> Result<(), StoreError> {
        self.claims.release_claim(user, key).await
    }
}

#[async_trait]
impl ChatStore for StoreParts {
    async fn append_chat(&self, user: &UserId, messages: &[ChatMessage]) -> Result<(), StoreError> {
        self.chats.append_chat(user, messages).await
    }
    async fn chat_messages(
        &self,
        user: &UserId,
        thread_id: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        self.chats
            .chat_messages(user, thread_id, before, limit)
            .await
    }
    async fn chat_threads(&self, user: &UserId) -> Result<Vec<ChatThread>, StoreError> {
        self.chats.chat_threads(user).await
    }
}

#[async_trait]
impl PersonStore for StoreParts {
    async fn forget(&self, user: &UserId) -> Result<(), StoreError> {
        self.people.forget(user).await
    }
    async fn mark_forgotten(
        &self,
        user: &UserId,
        at: time::OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.people.mark_forgotten(user, at).await
    }
    async fn forgotten(&self, user: &UserId) -> Result<Option<time::OffsetDateTime>, StoreError> {
        self.people.forgotten(user).await
    }
    async fn forget_done(&self, user: &UserId) -> Result<(), StoreError> {
        self.people.forget_done(user).await
    }
}
