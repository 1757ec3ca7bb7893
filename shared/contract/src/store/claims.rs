//! Idempotency records.

use std::sync::Arc;

use soulprint_core::ports::store::{Claim, ClaimStore};
use time::{Duration, OffsetDateTime};

use super::{t0, user};

/// A claim is held until it expires, a completion is remembered until its own expiry, and a
/// released claim can be taken again.
pub async fn idempotency_records_expire(store: Arc<dyn ClaimStore>) {
    let u = user("idem");
    let k = "finalize/i1/1";
    let claim = |at: OffsetDateTime| {
        let (store, u) = (Arc::clone(&store), u.clone());
        async move {
            store
                .claim(&u, k, at, at + Duration::seconds(10))
                .await
                .unwrap()
        }
    };
    assert_eq!(claim(t0()).await, Claim::Acquired);
    assert_eq!(claim(t0() + Duration::seconds(5)).await, Claim::InProgress);
    // The holder died: its claim expires and the next worker takes it.
    assert_eq!(claim(t0() + Duration::seconds(11)).await, Claim::Acquired);
    store
        .complete_claim(&u, k, t0() + Duration::seconds(60))
        .await
        .unwrap();
    assert_eq!(claim(t0() + Duration::seconds(30)).await, Claim::Completed);
    // A completion is remembered only so long.
    assert_eq!(claim(t0() + Duration::seconds(61)).await, Claim::Acquired);
    store.release_claim(&u, k).await.unwrap();
    assert_eq!(claim(t0() + Duration::seconds(62)).await, Claim::Acquired);
}
