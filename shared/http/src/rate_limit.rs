//! Per-user rate limits in tiers (standard 60 a minute; imports and chat 20; upload parts 100),
//! answered with 429 and `Retry-After`. `soulprint serve` counts over a sliding minute in its
//! own process; the AWS functions, many processes, count in shared minute windows
//! ([`RateWindows`], items of the table with a TTL).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use soulprint_core::ports::{RateWindows, UserId};

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

const WINDOW: Duration = Duration::from_secs(60);

#[derive(Default)]
pub struct RateLimits {
    seen: Mutex<HashMap<(UserId, Tier), VecDeque<Instant>>>,
    /// Windows every instance shares; when set, the in-process count is not used.
    shared: Option<Arc<dyn RateWindows>>,
    off: bool,
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
    /// No limits: for load tests and contract fuzzing of one's own server.
    pub fn off() -> Self {
        RateLimits {
            off: true,
            ..RateLimits::default()
        }
    }

    /// Limits counted in windows every instance shares.
    pub fn shared(windows: Arc<dyn RateWindows>) -> Self {
        RateLimits {
            shared: Some(windows),
            ..RateLimits::default()
        }
    }

    /// Counts a request, or refuses it with the seconds until one is allowed.
    pub async fn check(&self, user: &UserId, tier: Tier) -> Result<(), ApiError> {
        if self.off {
            return Ok(());
        }
        match &self.shared {
            Some(windows) => Self::check_shared(windows.as_ref(), user, tier).await,
            None => self.check_at(user, tier, Instant::now()),
        }
    }

    /// A fixed minute window. When the windows cannot be reached the request passes: a
    /// limit is not worth an outage.
    async fn check_shared(
        windows: &dyn RateWindows,
        user: &UserId,
        tier: Tier,
    ) -> Result<(), ApiError> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let window = WINDOW.as_secs() as i64;
        let start = now - now.rem_euclid(window);
        match windows.count(user, tier.as_str(), start, window).await {
            Ok(n) if n > tier.per_minute() as u64 => {
                Err(too_many(tier, (start + window - now) as u64))
            }
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, "rate windows unavailable; the request passes");
                Ok(())
            }
        }
    }

    fn check_at(&self, user: &UserId, tier: Tier, now: Instant) -> Result<(), ApiError> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let times = seen.entry((user.clone(), tier)).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            times.pop_front();
        }
        if times.len() >= tier.per_minute() {
            let oldest = *times.front().expect("full");
            let wait = WINDOW.saturating_sub(now.duration_since(oldest));
            return Err(too_many(tier, wait.as_secs()));
        }
        times.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_slides_and_users_do_not_share_it() {
        let limits = RateLimits::default();
        let (ana, bo) = (UserId::new("ana").unwrap(), UserId::new("bo").unwrap());
        let t0 = Instant::now();
        for i in 0..20 {
            limits
                .check_at(&ana, Tier::Expensive, t0 + Duration::from_secs(i))
                .unwrap();
        }
        let refused = limits
            .check_at(&ana, Tier::Expensive, t0 + Duration::from_secs(30))
            .unwrap_err();
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.retry_after, Some(30));
        limits
            .check_at(&bo, Tier::Expensive, t0 + Duration::from_secs(30))
            .unwrap();
        limits
            .check_at(&ana, Tier::Standard, t0 + Duration::from_secs(30))
            .unwrap();
        // The first request leaves the window after a minute.
        limits
            .check_at(&ana, Tier::Expensive, t0 + Duration::from_secs(60))
            .unwrap();
    }
}
