//! The consolidated facts.

use std::sync::Arc;

use soulprint_core::import_state::ImportState;
use soulprint_core::memory::{sort_canonically, Tombstone};
use soulprint_core::ports::store::{BatchOutcome, RunId, RunPlan};
use soulprint_core::ports::{Store, StoreError};

use super::{fact, memory_fact, t0, user};

/// Writing the memory replaces all of it, and it reads back in canonical order, however it
/// was written.
pub async fn memory_is_replaced_whole_in_order(store: Arc<dyn Store>) {
    let u = user("memory");
    let s = ImportState::begin(None, "i1", t0()).unwrap();
    store.put_import_state(&u, &s, None).await.unwrap();
    let facts = vec![memory_fact("f2"), memory_fact("f1")];
    store.replace_memory(&u, "i1", &facts).await.unwrap();
    let mut canonical = facts.clone();
    sort_canonically(&mut canonical);
    assert_eq!(store.memory(&u).await.unwrap(), canonical);
    store.replace_memory(&u, "i1", &facts[..1]).await.unwrap();
    assert_eq!(store.memory(&u).await.unwrap(), facts[..1]);
}

/// What the person says in chat writes only the facts it changes, into the memory in force,
/// whatever the imports do; the revision tells a reader when what it kept is stale.
pub async fn put_facts_write_only_those_and_move_the_revision(store: Arc<dyn Store>) {
    let u = user("put-facts");
    assert_eq!(store.memory_revision(&u).await.unwrap(), None);
    // Before any memory (chat before the first full pass ends): memory begins.
    let first = store
        .put_facts(&u, None, &[memory_fact("f1")])
        .await
        .unwrap();
    assert_eq!(
        store.memory_revision(&u).await.unwrap().as_deref(),
        Some(first.as_str())
    );
    // Written by someone else meanwhile: refused, to be learned again.
    assert!(matches!(
        store.put_facts(&u, None, &[memory_fact("f9")]).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.memory(&u).await.unwrap().len(), 1);
    let s = ImportState::begin(None, "i1", t0()).unwrap();
    store.put_import_state(&u, &s, None).await.unwrap();
    store
        .replace_memory(&u, "i1", &[memory_fact("f1"), memory_fact("f2")])
        .await
        .unwrap();
    let replaced = store.memory_revision(&u).await.unwrap().unwrap();
    assert_ne!(replaced, first);
    // f2 changed, f3 new; f1 untouched.
    let mut f2 = memory_fact("f2");
    f2.text = "Fact f2, said again".into();
    f2.stated = 2;
    let after = store
        .put_facts(&u, Some(&replaced), &[f2.clone(), memory_fact("f3")])
        .await
        .unwrap();
    assert_ne!(after, replaced);
    assert_eq!(
        store.memory_revision(&u).await.unwrap().as_deref(),
        Some(after.as_str())
    );
    assert!(matches!(
        store
            .put_facts(&u, Some(&replaced), &[memory_fact("f9")])
            .await,
        Err(StoreError::Conflict)
    ));
    let memory = store.memory(&u).await.unwrap();
    assert_eq!(memory.len(), 3);
    assert_eq!(memory.iter().find(|f| f.id == "f2").unwrap(), &f2);
    // A newer import that is not complete does not stop it (the person's own words).
    let newer = ImportState::begin(None, "i2", t0()).unwrap();
    let v = store.import_state(&u).await.unwrap().unwrap().version;
    store.put_import_state(&u, &newer, Some(v)).await.unwrap();
    store
        .put_facts(&u, Some(&after), &[memory_fact("f4")])
        .await
        .unwrap();
    assert_eq!(store.memory(&u).await.unwrap().len(), 4);
    // A deletion moves the revision too.
    store.delete_fact(&u, "f4").await.unwrap().unwrap();
    assert_ne!(store.memory_revision(&u).await.unwrap().unwrap(), after);
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
