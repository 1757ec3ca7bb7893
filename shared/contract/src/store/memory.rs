//! The consolidated facts.

use std::sync::Arc;

use soulprint_core::import_state::ImportState;
use soulprint_core::memory::Tombstone;
use soulprint_core::ports::store::{BatchOutcome, RunId, RunPlan};
use soulprint_core::ports::Store;

use super::{fact, memory_fact, t0, user};

/// Writing the memory replaces all of it, and it reads back in the order written.
pub async fn memory_is_replaced_whole_in_order(store: Arc<dyn Store>) {
    let u = user("memory");
    let s = ImportState::begin(None, "i1", t0()).unwrap();
    store.put_import_state(&u, &s, None).await.unwrap();
    let facts = vec![memory_fact("f2"), memory_fact("f1")];
    store.replace_memory(&u, "i1", &facts).await.unwrap();
    assert_eq!(store.memory(&u).await.unwrap(), facts, "order kept");
    store.replace_memory(&u, "i1", &facts[1..]).await.unwrap();
    assert_eq!(store.memory(&u).await.unwrap(), facts[1..]);
}

/// A fact is deleted by its id, once, and only by its own user.
pub async fn facts_are_deleted_one_by_one(store: Arc<dyn Store>) {
    let u = user("delete");
    let s = ImportState::begin(None, "i1", t0()).unwrap();
    store.put_import_state(&u, &s, None).await.unwrap();
    store
        .replace_memory(&u, "i1", &[memory_fact("f1"), memory_fact("f2")])
        .await
        .unwrap();
    let gone = store.delete_fact(&u, "f1").await.unwrap().unwrap();
    assert_eq!(gone.id, "f1");
    assert!(store.delete_fact(&u, "f1").await.unwrap().is_none());
    assert!(store
        .delete_fact(&user("delete-other"), "f2")
        .await
        .unwrap()
        .is_none());
    let left: Vec<_> = store
        .memory(&u)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.id)
        .collect();
    assert_eq!(left, ["f2"]);
}

/// A deleted fact leaves a tombstone that knows it again, and no copy of its words in the
/// runs' batches (which keep facts word for word): a later pass cannot bring it back.
pub async fn a_deleted_fact_leaves_a_tombstone_and_no_copy_in_the_runs(store: Arc<dyn Store>) {
    let u = user("tomb");
    let s = ImportState::begin(None, "i1", t0()).unwrap();
    store.put_import_state(&u, &s, None).await.unwrap();
    let run = RunId {
        import_id: "i1".into(),
        attempt: 1,
    };
    store
        .plan_run(
            &u,
            &run,
            RunPlan {
                batches: 1,
                chunks: 1,
            },
        )
        .await
        .unwrap();
    let outcome = BatchOutcome {
        facts: vec![fact("I live in Reykjavik"), fact("I play the cello")],
        chunks: 1,
        ..BatchOutcome::default()
    };
    store.record_batch(&u, &run, 0, &outcome).await.unwrap();
    let mut remembered = memory_fact("f-reykjavik");
    remembered.text = "Lives in Reykjavik".into();
    store
        .replace_memory(&u, "i1", &[remembered, memory_fact("f2")])
        .await
        .unwrap();
    assert!(store.tombstones(&u).await.unwrap().is_empty());
    store.delete_fact(&u, "f-reykjavik").await.unwrap().unwrap();
    let tombstones = store.tombstones(&u).await.unwrap();
    assert_eq!(tombstones.len(), 1);
    assert!(tombstones[0].buries_fact("Lives in Reykjavik, Iceland"));
    let kept: Vec<String> = store
        .run_facts(&u, &run)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.text)
        .collect();
    assert_eq!(kept, ["I play the cello"]);
    // An excerpt's tombstone is kept as given; others have none.
    let excerpt = Tombstone::Excerpt { id: "c1#3".into() };
    store.bury(&u, &excerpt).await.unwrap();
    assert_eq!(store.tombstones(&u).await.unwrap()[1], excerpt);
    assert!(store
        .tombstones(&user("tomb-other"))
        .await
        .unwrap()
        .is_empty());
}
