//! What each import spent, by step.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::ports::llm::Usage;
use crate::ports::UserId;

/// Tokens and money an import has spent, by what it was spent on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportUsage {
    /// The quick pass, and writing the sections again after the full pass.
    pub quick_pass: Usage,
    /// Fact extraction over every chunk.
    pub fact_extraction: Usage,
    /// Writing MEMORY.
    pub memory: Usage,
    /// Tokens of the export's visible text (what the person and the assistant said).
    pub export_tokens: u64,
    /// Estimated tokens sent for fact extraction: with `export_tokens`, what the full pass
    /// spent per token of export.
    pub fact_input_tokens_sent: u64,
    /// The total in US dollars.
    pub cost_usd: f64,
}

impl ImportUsage {
    /// Adds `other`, field by field.
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

/// What each import spent, step by step.
#[async_trait]
pub trait UsageStore: Send + Sync {
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
    /// US dollars the person's imports spent in `month` (`"2026-12"`, UTC): every model call
    /// recorded that month, a step that ran again included (its calls were paid for again).
    async fn spent(&self, user: &UserId, month: &str) -> Result<f64, StoreError>;
}

/// The month a spend is counted in: `"2026-12"`.
pub fn month_of(at: time::OffsetDateTime) -> String {
    format!("{:04}-{:02}", at.year(), u8::from(at.month()))
}

/// A cost as the stores count it, in millionths of a dollar (adding floats loses cents).
pub fn micros(cost_usd: f64) -> u64 {
    if cost_usd.is_finite() && cost_usd > 0.0 {
        (cost_usd * 1e6).round() as u64
    } else {
        0
    }
}
