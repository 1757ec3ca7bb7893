//! The person: nobody reaches another's records, and forgetting takes them all.

use std::sync::Arc;

use soulprint_core::import_state::ImportState;
use soulprint_core::ports::store::{BatchOutcome, Claim, RunId, RunPlan};
use soulprint_core::ports::Store;
use time::Duration;

use super::{fact, memory_fact, profile, t0, user};

/// No user reads another's records, and forgetting one user takes all theirs and leaves the
/// other's.
pub async fn no_access_across_users(store: Arc<dyn Store>) {
    let (a, b) = (user("alice"), user("bob"));
    let s = ImportState::begin(None, "ia", t0()).unwrap();
    store.put_import_state(&a, &s, None).await.unwrap();
    store.put_profile(&a, &profile("ia")).await.unwrap();
    store
        .replace_memory(&a, "ia", &[memory_fact("f1")])
        .await
        .unwrap();
    let run = RunId {
        import_id: "ia".into(),
        attempt: 1,
    };
    store
        .plan_run(
            &a,
            &run,
            RunPlan {
                batches: 1,
                chunks: 1,
            },
        )
        .await
        .unwrap();
    store
        .record_batch(
            &a,
            &run,
            0,
            &BatchOutcome {
                facts: vec![fact("x y z")],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    store
        .claim(&a, "k", t0(), t0() + Duration::hours(1))
        .await
        .unwrap();

    assert!(store.import_state(&b).await.unwrap().is_none());
    assert!(store.profile(&b).await.unwrap().is_none());
    assert!(store.memory(&b).await.unwrap().is_empty());
    assert!(store.run_progress(&b, &run).await.unwrap().is_none());
    assert!(store.run_facts(&b, &run).await.unwrap().is_empty());
    assert_eq!(
        store
            .claim(&b, "k", t0(), t0() + Duration::hours(1))
            .await
            .unwrap(),
        Claim::Acquired
    );
    // Bob's writes and his forgetting leave Alice alone.
    store.put_import_state(&b, &s, None).await.unwrap();
    store.forget(&b).await.unwrap();
    assert!(store.import_state(&b).await.unwrap().is_none());
    assert!(store.import_state(&a).await.unwrap().is_some());
    assert_eq!(store.memory(&a).await.unwrap().len(), 1);
    store.forget(&a).await.unwrap();
    assert!(store.profile(&a).await.unwrap().is_none());
    assert!(store.memory(&a).await.unwrap().is_empty());
    assert!(store.run_facts(&a, &run).await.unwrap().is_empty());
}

/// The forgotten-person marker: set once (the first time stands), kept while the records go,
/// lifted when done; another person is never marked.
pub async fn the_forgotten_marker_stays_until_lifted(store: Arc<dyn Store>) {
    let a = user("forgotten");
    let b = user("remembered");
    assert!(store.forgotten(&a).await.unwrap().is_none());
    store.mark_forgotten(&a, t0()).await.unwrap();
    store
        .mark_forgotten(&a, t0() + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(store.forgotten(&a).await.unwrap(), Some(t0()));
    assert!(store.forgotten(&b).await.unwrap().is_none());
    store.forget(&a).await.unwrap();
    assert_eq!(
        store.forgotten(&a).await.unwrap(),
        Some(t0()),
        "kept while forgetting"
    );
    store.forget_done(&a).await.unwrap();
    assert!(store.forgotten(&a).await.unwrap().is_none());
}
