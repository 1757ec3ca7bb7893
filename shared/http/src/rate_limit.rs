//! Per-user rate limits in tiers (standard 60 a minute; imports and chat 20; upload parts 100),
//! answered with 429 and `Retry-After`. Requests are counted in fixed minute windows
//! ([`RateWindows`]): in the process for `soulprint serve`, in the table for the AWS functions,
//! whose many instances must see one count.

use std::sync::Arc;

use axum::http::StatusCode;
use soulprint_core::ports::{RateWindows, UserId};
use time::OffsetDateTime;

use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tier {
    Standard,
    /// Work that costs model tokens: starting imports, chat turns.
    Expensive,
    Upload,
}

impl Tier {
    fn as_str(self) -> &'static str {
        match self {
            Tier::Standard => "standard",
            Tier::Expensive => "expensive",
            Tier::Upload => "upload",
        }
    }

    pub fn per_minute(self) -> usize {
        match self {
            Tier::Standard => 60,
            Tier::Expensive => 20,
            Tier::Upload => 100,
        }
    }
}

/// The window's length, in seconds.
const WINDOW: i64 = 60;

pub struct RateLimits {
    /// Where requests are counted; none: no limits.
    windows: Option<Arc<dyn RateWindows>>,
}

fn too_many(tier: Tier, wait_seconds: u64) -> ApiError {
    let wait = wait_seconds.max(1);
    let mut e = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!(
            "more than {} requests a minute of this kind; try again in {wait} s",
            tier.per_minute()
        ),
    );
    e.retry_after = Some(wait);
    e
}

impl RateLimits {
    /// Limits counted in `windows`.
    pub fn new(windows: Arc<dyn RateWindows>) -> Self {
        RateLimits {
            windows: Some(windows),
        }
    }

    /// No limits: for load tests and contract fuzzing of one's own server.
    pub fn off() -> Self {
        RateLimits { windows: None }
    }

    /// Counts a request, or refuses it with the seconds until one is allowed.
    pub async fn check(&self, user: &UserId, tier: Tier) -> Result<(), ApiError> {
        match &self.windows {
            Some(windows) => {
                check_at(windows.as_ref(), user, tier, OffsetDateTime::now_utc()).await
            }
            None => Ok(()),
        }
    }
}

/// Counts in the minute window holding `now`. `Retry-After` is the time left in it, rounded
/// up: a client that waits that long lands in the next window. When the windows cannot be
/// reached the request passes: a limit is not worth an outage.
async fn check_at(
    windows: &dyn RateWindows,
    user: &UserId,
    tier: Tier,
    now: OffsetDateTime,
) -> Result<(), ApiError> {
    let second = now.unix_timestamp();
    let start = second - second.rem_euclid(WINDOW);
    match windows.count(user, tier.as_str(), start, WINDOW).await {
        Ok(n) if n > tier.per_minute() as u64 => {
            let end = OffsetDateTime::from_unix_timestamp(start + WINDOW).unwrap_or(now);
            let left = (end - now).as_seconds_f64().ceil().max(1.0);
            Err(too_many(tier, left as u64))
        }
        Ok(_) => Ok(()),
        Err(e) => {
            tracing::warn!(error = %e, "rate windows unavailable; the request passes");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::*;

    /// Windows counted in a map (the real ones are the adapters', under their contract).
    #[derive(Default)]
    struct Counted(Mutex<HashMap<(String, String, i64), u64>>);

    #[async_trait::async_trait]
    impl RateWindows for Counted {
        async fn add(
            &self,
            user: &UserId,
            tier: &str,
            window_start: i64,
            _window_seconds: i64,
            amount: u64,
        ) -> Result<u64, soulprint_core::ports::StoreError> {
            let mut counts = self.0.lock().unwrap();
            let n = counts
                .entry((user.to_string(), tier.to_owned(), window_start))
                .or_default();
            *n += amount;
            Ok(*n)
        }

        async fn counted(
            &self,
            user: &UserId,
            tier: &str,
            window_start: i64,
        ) -> Result<u64, soulprint_core::ports::StoreError> {
            let counts = self.0.lock().unwrap();
            Ok(counts
                .get(&(user.to_string(), tier.to_owned(), window_start))
                .copied()
                .unwrap_or(0))
        }
    }

    #[tokio::test]
    async fn a_full_window_says_when_the_next_begins_rounded_up() {
        let windows = Counted::default();
        let ana = UserId::new("ana").unwrap();
        let t0 = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        for _ in 0..20 {
            check_at(&windows, &ana, Tier::Expensive, t0).await.unwrap();
        }
        // 0.97 s into the window: 59.03 s are left, and the answer is 60, not 59.
        let at = t0 + time::Duration::milliseconds(970);
        let refused = check_at(&windows, &ana, Tier::Expensive, at)
            .await
            .unwrap_err();
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.retry_after, Some(60));
        // Waiting exactly that long lands in the next window.
        let later = at + time::Duration::seconds(60);
        check_at(&windows, &ana, Tier::Expensive, later)
            .await
            .unwrap();
        // Others, and other tiers, have windows of their own.
        let bo = UserId::new("bo").unwrap();
        check_at(&windows, &bo, Tier::Expensive, at).await.unwrap();
        check_at(&windows, &ana, Tier::Standard, at).await.unwrap();
    }
}
