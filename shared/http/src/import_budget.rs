//! What one person's imports may cost: a number a day, and model spend a calendar month.
//! Each import pays a quick pass and a full pass; without a budget, 20 imports a minute would
//! be 20 of each. Past either, a new import (or a retried full pass) is refused with 429, and
//! `GET /imports/latest` says where the person stands.

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{json, Value};
use soulprint_core::ports::store::month_of;
use soulprint_core::ports::{RateWindows, Store, UserId};
use time::OffsetDateTime;

use crate::error::{ApiError, ApiResult};

const DAY: i64 = 86_400;
const TIER: &str = "imports-day";

/// The limits, and where the day's imports are counted.
pub struct ImportBudget {
    pub windows: Arc<dyn RateWindows>,
    /// Imports started in a UTC day.
    pub per_day: u32,
    /// US dollars of model spend in a calendar month (UTC), at the configured prices.
    pub spend_per_month_usd: f64,
}

impl ImportBudget {
    fn day(now: OffsetDateTime) -> (i64, i64) {
        let second = now.unix_timestamp();
        let start = second - second.rem_euclid(DAY);
        (start, start + DAY - second)
    }

    async fn spent(&self, store: &dyn Store, user: &UserId, now: OffsetDateTime) -> ApiResult<f64> {
        Ok(store.spent(user, &month_of(now)).await?)
    }

    /// Refuses more model spend this month (a retried full pass too).
    pub async fn check_spend(&self, store: &dyn Store, user: &UserId) -> ApiResult<()> {
        let now = OffsetDateTime::now_utc();
        let spent = self.spent(store, user, now).await?;
        if spent >= self.spend_per_month_usd {
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "budget_spent",
                format!(
                    "your imports have spent ${spent:.2} on models this month, the most allowed \
                     is ${:.2}; imports start again next month",
                    self.spend_per_month_usd
                ),
            );
            e.retry_after = Some(seconds_to_next_month(now));
            return Err(e);
        }
        Ok(())
    }

    /// Counts an import against the day (after [`Self::check_spend`]); 429 past the limit.
    pub async fn admit(&self, store: &dyn Store, user: &UserId) -> ApiResult<()> {
        self.check_spend(store, user).await?;
        let now = OffsetDateTime::now_utc();
        let (start, left) = Self::day(now);
        let n = self.windows.count(user, TIER, start, DAY).await?;
        if n > u64::from(self.per_day) {
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "budget_imports",
                format!(
                    "you have started {} imports today, the most allowed is {}; try again \
                     tomorrow (UTC)",
                    n - 1,
                    self.per_day
                ),
            );
            e.retry_after = Some(left as u64);
            return Err(e);
        }
        Ok(())
    }

    /// Where the person stands, for their status.
    pub async fn standing(&self, store: &dyn Store, user: &UserId) -> ApiResult<Value> {
        let now = OffsetDateTime::now_utc();
        let (start, _) = Self::day(now);
        let today = self.windows.counted(user, TIER, start).await?;
        let spent = self.spent(store, user, now).await?;
        Ok(json!({
            "imports_today": today.min(u64::from(self.per_day)),
            "imports_per_day": self.per_day,
            "spent_this_month_usd": (spent * 100.0).round() / 100.0,
            "spend_per_month_usd": self.spend_per_month_usd,
        }))
    }
}

fn seconds_to_next_month(now: OffsetDateTime) -> u64 {
    let (year, month) = match now.month() {
        time::Month::December => (now.year() + 1, time::Month::January),
        m => (now.year(), m.next()),
    };
    let next = time::Date::from_calendar_date(year, month, 1)
        .map(|d| d.midnight().assume_utc())
        .unwrap_or(now);
    (next - now).whole_seconds().max(1) as u64
}
