//! Rate-limit windows kept where every instance of a server sees them (on AWS, items of the
//! table with a TTL): a Lambda function runs as many processes, and a limit one process keeps
//! alone would multiply by their number.

use async_trait::async_trait;

use super::{StoreError, UserId};

/// Counts per user, tier and fixed window, shared by every instance of a server: requests,
/// or tokens.
#[async_trait]
pub trait RateWindows: Send + Sync {
    /// Adds `amount` to `user`'s count in `tier`'s window that starts at `window_start` (Unix
    /// seconds) and lasts `window_seconds`; returns the count in it so far, this included.
    async fn add(
        &self,
        user: &UserId,
        tier: &str,
        window_start: i64,
        window_seconds: i64,
        amount: u64,
    ) -> Result<u64, StoreError>;
    /// Counts one request: [`RateWindows::add`] of 1.
    async fn count(
        &self,
        user: &UserId,
        tier: &str,
        window_start: i64,
        window_seconds: i64,
    ) -> Result<u64, StoreError> {
        self.add(user, tier, window_start, window_seconds, 1).await
    }
    /// The requests counted so far in that window, without counting one.
    async fn counted(
        &self,
        user: &UserId,
        tier: &str,
        window_start: i64,
    ) -> Result<u64, StoreError>;
}

/// The fact model's tokens a minute (its Bedrock quota), shared by every fact worker through
/// one count a minute: a call takes what Bedrock reserves for it (its input and its
/// `maxTokens`) before it is made, and one past the quota waits for a later minute.
#[derive(Clone)]
pub struct TokenQuota {
    /// Where the minute's count is kept (the table, on AWS).
    pub windows: std::sync::Arc<dyn RateWindows>,
    /// The quota.
    pub tokens_per_minute: u64,
}

/// The count's owner: no person (`|` keeps it apart from an issuer's subjects).
const QUOTA_OWNER: &str = "|soulprint|fact-model";

impl TokenQuota {
    /// Takes `tokens` from the minute `now` falls in; false when the minute's quota is spent
    /// (a call larger than the whole quota goes when it is alone in its minute).
    pub async fn take(&self, now: time::OffsetDateTime, tokens: u64) -> Result<bool, StoreError> {
        let owner = UserId::new(QUOTA_OWNER).expect("a valid id");
        let second = now.unix_timestamp();
        let minute = second - second.rem_euclid(60);
        let total = self
            .windows
            .add(&owner, "fact-tokens", minute, 60, tokens)
            .await?;
        Ok(total <= self.tokens_per_minute || total == tokens)
    }
}
