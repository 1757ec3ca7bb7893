//! The full pass's bookkeeping: a run's plan, each batch's facts and done-marker, its counters.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::memory::Fact;
use crate::ports::llm::Usage;
use crate::ports::UserId;

/// One run of the full pass: a retry is a new run, so markers of a failed run never count.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RunId {
    /// The import the run is for.
    pub import_id: String,
    /// Which run of it: the full pass's `attempt` when it started.
    pub attempt: u32,
}

/// What one batch of chunks gave.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BatchOutcome {
    /// The facts found in the batch's chunks (batch 0: the export's own).
    pub facts: Vec<Fact>,
    /// Chunks in the batch, failed ones included.
    pub chunks: u64,
    /// Chunks whose extraction failed (the model down, its answer unusable): no facts from them.
    pub failed_chunks: u64,
    /// What the batch's model calls cost.
    pub usage: Usage,
    /// Estimated tokens of what was sent to the model.
    pub input_tokens_sent: u64,
}

/// A recorded batch, as a later run of the same plan may take it over.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BatchRecord {
    /// The facts it recorded.
    pub facts: Vec<Fact>,
    /// Its chunks, failed ones included.
    pub chunks: u64,
    /// Its chunks whose extraction failed; `None` for a record that did not say (written by
    /// an earlier version): it counts as failed.
    pub failed_chunks: Option<u64>,
}

impl BatchRecord {
    /// Whether every chunk of it was read: a retry may take it over instead of asking again.
    pub fn whole(&self) -> bool {
        self.failed_chunks == Some(0)
    }
}

/// Where the run stands after recording a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunProgress {
    /// False when this batch was already recorded (a redelivery): nothing was counted again.
    pub newly_recorded: bool,
    /// Batches recorded so far.
    pub batches_done: u32,
    /// Batches in the plan.
    pub batches_total: u32,
    /// Chunks of the recorded batches, failed ones included.
    pub chunks_done: u64,
    /// Chunks in the plan.
    pub chunks_total: u64,
    /// Chunks whose extraction failed, over the recorded batches.
    pub failed_chunks: u64,
}

impl RunProgress {
    /// Whether every planned batch is recorded: the run can be finalised.
    pub fn complete(&self) -> bool {
        self.batches_done >= self.batches_total
    }
}

/// The plan of a run, written once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunPlan {
    /// Batches to record: one per stored batch of chunks, and batch 0 for the export's own facts.
    pub batches: u32,
    /// Chunks in the stored batches.
    pub chunks: u64,
}

/// The full pass's bookkeeping: a plan per run, then each batch recorded once.
#[async_trait]
pub trait RunStore: Send + Sync {
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
    /// What `batch` of the run recorded; none when it is not recorded.
    async fn batch_record(
        &self,
        user: &UserId,
        run: &RunId,
        batch: u32,
    ) -> Result<Option<BatchRecord>, StoreError>;
    /// Where the run stands; none before its plan is recorded.
    async fn run_progress(
        &self,
        user: &UserId,
        run: &RunId,
    ) -> Result<Option<RunProgress>, StoreError>;
    /// Every fact the run's batches recorded, in batch order.
    async fn run_facts(&self, user: &UserId, run: &RunId) -> Result<Vec<Fact>, StoreError>;
}
