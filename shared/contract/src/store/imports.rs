//! The import's state: versions, and progress that only goes forward.

use std::sync::Arc;

use soulprint_core::import_state::{ImportState, Stage};
use soulprint_core::ports::store::ImportStore;
use soulprint_core::ports::StoreError;

use super::{t0, user};

/// A write naming a version other than the stored one (or none where one is stored) is a
/// `Conflict`; each write gives a new version.
pub async fn conditional_writes_conflict(store: Arc<dyn ImportStore>) {
    let u = user("cond");
    let s = ImportState::begin(None, "i1", t0()).unwrap();
    let v1 = store.put_import_state(&u, &s, None).await.unwrap();
    assert!(matches!(
        store.put_import_state(&u, &s, None).await,
        Err(StoreError::Conflict)
    ));
    let v2 = store.put_import_state(&u, &s, Some(v1)).await.unwrap();
    assert_ne!(v1, v2);
    assert!(matches!(
        store.put_import_state(&u, &s, Some(v1)).await,
        Err(StoreError::Conflict)
    ));
    let read = store.import_state(&u).await.unwrap().unwrap();
    assert_eq!((read.version, read.value), (v2, s));
}

/// Writers racing to advance an import, some to an earlier stage, leave it at the latest stage
/// reached.
pub async fn progress_never_goes_back_when_writers_race(store: Arc<dyn ImportStore>) {
    let u = user("race");
    let s = ImportState::begin(None, "i1", t0()).unwrap();
    store.put_import_state(&u, &s, None).await.unwrap();
    // A late writer (Parsing) and a prompt one (Generating) race, many times over.
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (store, u) = (Arc::clone(&store), u.clone());
        let stage = if i % 2 == 0 {
            Stage::GeneratingSoulprint
        } else {
            Stage::Parsing
        };
        tasks.push(tokio::spawn(async move {
            loop {
                let stored = store.import_state(&u).await.unwrap().unwrap();
                let mut next = stored.value.clone();
                next.advance("i1", stage, t0()).unwrap();
                match store
                    .put_import_state(&u, &next, Some(stored.version))
                    .await
                {
                    Ok(_) => return,
                    Err(StoreError::Conflict) => continue,
                    Err(e) => panic!("{e}"),
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let end = store.import_state(&u).await.unwrap().unwrap().value;
    assert_eq!(end.progress_percent, Stage::GeneratingSoulprint.percent());
    assert_eq!(end.stage, Stage::GeneratingSoulprint.words());
}
