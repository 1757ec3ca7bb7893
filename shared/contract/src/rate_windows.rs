//! What every [`RateWindows`] must do: count each request once, in its own user's, tier's and
//! window's count.

use std::sync::Arc;

use soulprint_core::ports::{RateWindows, UserId};

fn user(name: &str) -> UserId {
    UserId::new(format!("{name}-{}", std::process::id())).unwrap()
}

const START: i64 = 1_800_000_000;

/// Each request in a window raises its count by one and is given the new count.
pub async fn requests_add_up_within_a_window(windows: Arc<dyn RateWindows>) {
    let u = user("rate-count");
    assert_eq!(windows.counted(&u, "standard", START).await.unwrap(), 0);
    for expected in 1..=5 {
        let n = windows.count(&u, "standard", START, 60).await.unwrap();
        assert_eq!(n, expected);
    }
    // Reading the count counts nothing.
    assert_eq!(windows.counted(&u, "standard", START).await.unwrap(), 5);
    assert_eq!(windows.counted(&u, "standard", START).await.unwrap(), 5);
}

/// Another user, another tier or the next window has a count of its own.
pub async fn users_tiers_and_windows_are_counted_apart(windows: Arc<dyn RateWindows>) {
    let (a, b) = (user("rate-a"), user("rate-b"));
    assert_eq!(windows.count(&a, "expensive", START, 60).await.unwrap(), 1);
    assert_eq!(windows.count(&a, "expensive", START, 60).await.unwrap(), 2);
    assert_eq!(windows.count(&b, "expensive", START, 60).await.unwrap(), 1);
    assert_eq!(windows.count(&a, "upload", START, 60).await.unwrap(), 1);
    assert_eq!(
        windows
            .count(&a, "expensive", START + 60, 60)
            .await
            .unwrap(),
        1
    );
}

/// Once a window is open, nineteen more requests at once are given the counts 2 to 20, each
/// once. (The window is opened first: moto does not isolate two updates that both create an
/// item, which DynamoDB does.)
pub async fn counts_hold_when_requests_race(windows: Arc<dyn RateWindows>) {
    let u = user("rate-race");
    assert_eq!(windows.count(&u, "standard", START, 60).await.unwrap(), 1);
    let mut tasks = Vec::new();
    for _ in 1..20 {
        let (w, u) = (Arc::clone(&windows), u.clone());
        tasks.push(tokio::spawn(async move {
            w.count(&u, "standard", START, 60).await.unwrap()
        }));
    }
    let mut seen = Vec::new();
    for t in tasks {
        seen.push(t.await.unwrap());
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (2..=20).collect::<Vec<u64>>(),
        "each request counted once"
    );
}

/// Amounts add up in their window; a token quota admits calls until its minute is spent, one
/// larger than the whole quota when it is alone, and opens again the next minute.
pub async fn tokens_add_up_and_a_quota_holds_its_minute(windows: Arc<dyn RateWindows>) {
    let u = user("tokens");
    assert_eq!(
        windows.add(&u, "tokens", START, 60, 700).await.unwrap(),
        700
    );
    assert_eq!(
        windows.add(&u, "tokens", START, 60, 300).await.unwrap(),
        1_000
    );
    assert_eq!(windows.counted(&u, "tokens", START).await.unwrap(), 1_000);

    let quota = soulprint_core::ports::TokenQuota {
        windows,
        tokens_per_minute: 10_000,
    };
    let minute = time::OffsetDateTime::from_unix_timestamp(START).unwrap();
    assert!(quota.take(minute, 6_000).await.unwrap());
    assert!(
        quota.take(minute, 4_000).await.unwrap(),
        "exactly the quota"
    );
    assert!(!quota.take(minute, 1).await.unwrap(), "the minute is spent");
    let next = minute + time::Duration::seconds(60);
    assert!(
        quota.take(next, 50_000).await.unwrap(),
        "alone, a call larger than the quota"
    );
    assert!(!quota.take(next, 1).await.unwrap());
}
