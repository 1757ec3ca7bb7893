//! Time, behind a port so that tests can move it (stuck imports, expiring records).

use time::OffsetDateTime;

/// Where the stages read the time: the machine's clock, or a test's.
pub trait Clock: Send + Sync {
    /// The time now, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The machine's clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}
