//! State: imports, profiles, facts, full-pass bookkeeping, idempotency records.
//!
//! Operations are named for the domain and carry their conditions, so that each store can make
//! them atomic in its own way (a SQLite transaction, a DynamoDB conditional write or
//! transaction). Every operation is scoped to one user.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::llm::Usage;
use super::UserId;
use crate::import_state::ImportState;
use crate::memory::{Fact, MemoryFact};
use crate::profile::Profile;

/// A stored value and the version a conditional write must name.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    pub value: T,
    pub version: u64,
}

/// One run of the full pass: a retry is a new run, so markers of a failed run never count.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RunId {
    pub import_id: String,
    pub attempt: u32,
}

/// What one batch of chunks gave.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BatchOutcome {
    pub facts: Vec<Fact>,
    pub chunks: u64,
    /// Chunks whose extraction failed (the model down, its answer unusable): no facts from them.
    pub failed_chunks: u64,
    pub usage: Usage,
    /// Estimated tokens of what was sent to the model.
    pub input_tokens_sent: u64,
}

/// Where the run stands after recording a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunProgress {
    /// False when this batch was already recorded (a redelivery): nothing was counted again.
    pub newly_recorded: bool,
    pub batches_done: u32,
    pub batches_total: u32,
    pub chunks_done: u64,
    pub chunks_total: u64,
    pub failed_chunks: u64,
}

impl RunProgress {
    pub fn complete(&self) -> bool {
        self.batches_done >= self.batches_total
    }
}

/// The plan of a run, written once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunPlan {
    pub batches: u32,
    pub chunks: u64,
}

/// Tokens and money an import has spent, by what it was spent on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportUsage {
    pub quick_pass: Usage,
    pub fact_extraction: Usage,
    pub memory: Usage,
    /// Tokens of the export's visible text (what the person and the assistant said).
    pub export_tokens: u64,
    /// Estimated tokens sent for fact extraction: with `export_tokens`, what the full pass
    /// spent per token of export.
    pub fact_input_tokens_sent: u64,
    pub cost_usd: f64,
}

impl ImportUsage {
    pub fn add(&mut self, other: &ImportUsage) {
        self.quick_pass.add(&other.quick_pass);
        self.fact_extraction.add(&other.fact_extraction);
        self.memory.add(&other.memory);
        self.export_tokens = self.export_tokens.saturating_add(other.export_tokens);
        self.fact_input_tokens_sent = self
            .fact_input_tokens_sent
            .saturating_add(other.fact_input_tokens_sent);
        self.cost_usd += other.cost_usd;
    }
}

/// A message of a chat with SoulPrint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub thread_id: String,
    /// Order within the thread, from 1 (set by the store).
    #[serde(default)]
    pub seq: u64,
    pub id: String,
    pub role: crate::conversation::Role,
    pub text: String,
    /// Who answered (a model's label), for the assistant's messages.
    pub answered_by: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatThread {
    pub id: String,
    /// The first message, cut short.
    pub title: String,
    pub messages: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

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

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write lost a race: read again and retry.
    #[error("the record changed since it was read")]
    Conflict,
    #[error("the store failed: {0}")]
    Unavailable(String),
    #[error("a stored record is unreadable: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Refused(String),
    /// The write was for an import that is no longer the user's current one.
    #[error("import {0} is no longer the current import")]
    Stale(String),
}

#[async_trait]
pub trait Store: Send + Sync {
    // Imports ------------------------------------------------------------------------------
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

    // Profile ------------------------------------------------------------------------------
    async fn profile(&self, user: &UserId) -> Result<Option<Profile>, StoreError>;
    /// Writes the profile if its import is still the user's current one
    /// ([`StoreError::Stale`] otherwise): a replaced import's late worker cannot overwrite it.
    async fn put_profile(&self, user: &UserId, profile: &Profile) -> Result<(), StoreError>;

    // Full pass ----------------------------------------------------------------------------
    /// Records the plan of a run; a second call for the same run keeps the first plan.
    async fn plan_run(&self, user: &UserId, run: &RunId, plan: RunPlan) -> Result<(), StoreError>;
    /// Records a batch's facts, its done-marker and the run's counters at once; a batch
    /// recorded before changes nothing.
    async fn record_batch(
        &self,
        user: &UserId,
        run: &RunId,
        batch: u32,
        outcome: &BatchOutcome,
    ) -> Result<RunProgress, StoreError>;
    /// Whether `batch` of the run is recorded.
    async fn batch_done(&self, user: &UserId, run: &RunId, batch: u32) -> Result<bool, StoreError>;
    async fn run_progress(
        &self,
        user: &UserId,
        run: &RunId,
    ) -> Result<Option<RunProgress>, StoreError>;
    /// Every fact the run's batches recorded, in batch order.
    async fn run_facts(&self, user: &UserId, run: &RunId) -> Result<Vec<Fact>, StoreError>;

    // Memory -------------------------------------------------------------------------------
    /// Replaces the person's consolidated facts, if `import_id` is still the user's current
    /// import ([`StoreError::Stale`] otherwise).
    async fn replace_memory(
        &self,
        user: &UserId,
        import_id: &str,
        facts: &[MemoryFact],
    ) -> Result<(), StoreError>;
    async fn memory(&self, user: &UserId) -> Result<Vec<MemoryFact>, StoreError>;

    // Accounting ---------------------------------------------------------------------------
    /// Records what one step of the import spent, under `key` ("quick_pass",
    /// "finalize/2", …): a step that runs again replaces its record instead of adding to it.
    async fn record_usage(
        &self,
        user: &UserId,
        import_id: &str,
        key: &str,
        spent: &ImportUsage,
    ) -> Result<(), StoreError>;
    /// What the import has spent: every step's record, and every recorded batch.
    async fn usage(&self, user: &UserId, import_id: &str) -> Result<ImportUsage, StoreError>;

    // Idempotency --------------------------------------------------------------------------
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

    // Chat ---------------------------------------------------------------------------------
    /// Appends messages to a thread (created with the first), in order.
    async fn append_chat(&self, user: &UserId, messages: &[ChatMessage]) -> Result<(), StoreError>;
    /// The thread's messages, oldest first: the last `limit` before `before` (a message's
    /// `seq`), or the last `limit`.
    async fn chat_messages(
        &self,
        user: &UserId,
        thread_id: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, StoreError>;
    /// The user's threads, most recently active first.
    async fn chat_threads(&self, user: &UserId) -> Result<Vec<ChatThread>, StoreError>;
    /// Deletes one consolidated fact; false when there was none with this id.
    async fn delete_fact(&self, user: &UserId, id: &str) -> Result<bool, StoreError>;

    // The person ---------------------------------------------------------------------------
    /// Every record of the user, gone.
    async fn forget(&self, user: &UserId) -> Result<(), StoreError>;
}
