//! Per-user rate limits in tiers (standard 60 a minute; imports and chat 20; upload parts 100),
//! over a sliding minute, answered with 429 and `Retry-After`. In-process: one server's own
//! counts (the AWS functions keep their windows in the table).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use soulprint_core::ports::UserId;

use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tier {
    Standard,
    /// Work that costs model tokens: starting imports, chat turns.
    Expensive,
    Upload,
}

impl Tier {
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
    off: bool,
}

impl RateLimits {
    /// No limits: for load tests and contract fuzzing of one's own server.
    pub fn off() -> Self {
        RateLimits {
            off: true,
            ..RateLimits::default()
        }
    }

    /// Counts a request, or refuses it with the seconds until one is allowed.
    pub fn check(&self, user: &UserId, tier: Tier) -> Result<(), ApiError> {
        self.check_at(user, tier, Instant::now())
    }

    fn check_at(&self, user: &UserId, tier: Tier, now: Instant) -> Result<(), ApiError> {
        if self.off {
            return Ok(());
        }
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
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "more than {} requests a minute of this kind; try again in {} s",
                    tier.per_minute(),
                    wait.as_secs().max(1)
                ),
            );
            e.retry_after = Some(wait.as_secs().max(1));
            return Err(e);
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
