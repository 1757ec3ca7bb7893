//! What one person's uploads may hold at once: unfinished uploads (by number and declared
//! bytes), and part bodies being received (each is written to disk as it comes, but every one
//! holds a connection, a buffer and a file).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use soulprint_core::ports::UserId;

use crate::error::ApiError;

/// Unfinished uploads one person may have.
#[derive(Debug, Clone, Copy)]
pub struct UploadQuota {
    pub open_uploads: u32,
    /// Their declared sizes, together.
    pub bytes: u64,
}

impl Default for UploadQuota {
    /// Two exports of the largest size, or a few smaller ones.
    fn default() -> Self {
        UploadQuota {
            open_uploads: 3,
            bytes: 10 << 30,
        }
    }
}

/// Part bodies each person is sending right now.
#[derive(Debug)]
pub struct PartsInFlight {
    each: usize,
    counts: Arc<Mutex<HashMap<UserId, usize>>>,
}

impl PartsInFlight {
    /// At most `each` parts of one person at once.
    pub fn new(each: usize) -> Self {
        PartsInFlight {
            each: each.max(1),
            counts: Arc::default(),
        }
    }

    /// A slot for one part of `user`, given back when dropped; 429 when they have `each`.
    pub fn take(&self, user: &UserId) -> Result<Slot, ApiError> {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let n = counts.entry(user.clone()).or_default();
        if *n >= self.each {
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_parts",
                format!(
                    "{} parts of yours are arriving already; send the next when one is done",
                    self.each
                ),
            );
            e.retry_after = Some(1);
            return Err(e);
        }
        *n += 1;
        Ok(Slot {
            user: user.clone(),
            counts: Arc::clone(&self.counts),
        })
    }
}

impl Default for PartsInFlight {
    fn default() -> Self {
        PartsInFlight::new(4)
    }
}

/// One part being received.
#[derive(Debug)]
pub struct Slot {
    user: UserId,
    counts: Arc<Mutex<HashMap<UserId, usize>>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = counts.get_mut(&self.user) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_person_sends_a_few_parts_at_once_and_a_finished_one_frees_its_slot() {
        let parts = PartsInFlight::new(2);
        let (ana, bo) = (UserId::new("ana").unwrap(), UserId::new("bo").unwrap());
        let first = parts.take(&ana).unwrap();
        let _second = parts.take(&ana).unwrap();
        let refused = parts.take(&ana).unwrap_err();
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.retry_after, Some(1));
        let _theirs = parts.take(&bo).unwrap();
        drop(first);
        parts.take(&ana).unwrap();
    }
}
