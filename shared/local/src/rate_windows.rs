//! Rate-limit windows in the process: `soulprint serve` is one process, so its count is
//! everyone's (its requests', and its fact workers' tokens). Windows that have closed are dropped as new ones open.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use soulprint_core::ports::{RateWindows, StoreError, UserId};

/// Counts by user, tier and window start.
#[derive(Default)]
pub struct MemoryWindows {
    counts: Mutex<HashMap<(UserId, String, i64), u64>>,
}

#[async_trait]
impl RateWindows for MemoryWindows {
    async fn add(
        &self,
        user: &UserId,
        tier: &str,
        window_start: i64,
        window_seconds: i64,
        amount: u64,
    ) -> Result<u64, StoreError> {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.retain(|(_, _, start), _| *start + window_seconds > window_start - window_seconds);
        let n = counts
            .entry((user.clone(), tier.to_owned(), window_start))
            .or_default();
        *n += amount;
        Ok(*n)
    }

    async fn counted(
        &self,
        user: &UserId,
        tier: &str,
        window_start: i64,
    ) -> Result<u64, StoreError> {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        Ok(counts
            .get(&(user.clone(), tier.to_owned(), window_start))
            .copied()
            .unwrap_or(0))
    }
}
