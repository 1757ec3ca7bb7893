//! A circuit breaker for the chat model: after two failures in a row it stops calling it (the
//! fallback answers at once instead of after a timeout), and after 30 seconds lets one call
//! through to see whether it is back.

use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

/// Failures in a row that open the breaker.
pub const OPEN_AFTER: u32 = 2;
/// How long it stays open before one call may try again.
pub const HALF_OPEN_AFTER: Duration = Duration::seconds(30);

/// Opens after two failures in a row; after 30 seconds, one call may try again.
#[derive(Debug, Default)]
pub struct Breaker {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    failures: u32,
    opened_at: Option<OffsetDateTime>,
    /// A half-open probe is out: others wait for its outcome (they use the fallback).
    probing: bool,
}

impl Breaker {
    /// Whether to call the model now.
    pub fn allow(&self, now: OffsetDateTime) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match s.opened_at {
            None => true,
            Some(at) if now - at >= HALF_OPEN_AFTER && !s.probing => {
                s.probing = true;
                true
            }
            Some(_) => false,
        }
    }

    /// The model answered: the breaker closes and the count starts again.
    pub fn succeeded(&self) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        *s = State::default();
    }

    /// A call failed or timed out; the second in a row opens the breaker, and a failed probe opens
    /// it again.
    pub fn failed(&self, now: OffsetDateTime) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.failures += 1;
        s.probing = false;
        if s.failures >= OPEN_AFTER {
            s.opened_at = Some(now);
        }
    }

    /// Whether it is open (or half open): the model failed and has not answered since.
    pub fn is_open(&self) -> bool {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .opened_at
            .is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn opens_after_two_failures_and_half_opens_after_thirty_seconds() {
        let t = datetime!(2026-01-01 0:00 UTC);
        let b = Breaker::default();
        assert!(b.allow(t));
        b.failed(t);
        assert!(b.allow(t), "one failure is not a pattern");
        b.failed(t);
        assert!(!b.allow(t + Duration::seconds(29)));
        assert!(b.allow(t + Duration::seconds(30)), "a probe");
        assert!(!b.allow(t + Duration::seconds(31)), "one probe at a time");
        b.failed(t + Duration::seconds(31));
        assert!(
            !b.allow(t + Duration::seconds(40)),
            "the probe failed: open again"
        );
        assert!(b.allow(t + Duration::seconds(61)));
        b.succeeded();
        assert!(b.allow(t + Duration::seconds(62)) && !b.is_open());
    }
}
