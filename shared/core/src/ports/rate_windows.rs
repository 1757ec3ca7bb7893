//! Rate-limit windows kept where every instance of a server sees them (on AWS, items of the
//! table with a TTL): a Lambda function runs as many processes, and a limit one process keeps
//! alone would multiply by their number.

use async_trait::async_trait;

use super::{StoreError, UserId};

/// Request counts per user, tier and fixed window, shared by every instance of a server.
#[async_trait]
pub trait RateWindows: Send + Sync {
    /// Counts one request of `user` in `tier`'s window that starts at `window_start` (Unix
    /// seconds) and lasts `window_seconds`; returns the requests counted in it so far.
    async fn count(
        &self,
        user: &UserId,
        tier: &str,
        window_start: i64,
        window_seconds: i64,
    ) -> Result<u64, StoreError>;
    /// The requests counted so far in that window, without counting one.
    async fn counted(
        &self,
        user: &UserId,
        tier: &str,
        window_start: i64,
    ) -> Result<u64, StoreError>;
}
