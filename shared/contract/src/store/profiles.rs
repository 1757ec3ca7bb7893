//! The profile, written only for the current import.

use std::sync::Arc;

use soulprint_core::import_state::ImportState;
use soulprint_core::ports::{Store, StoreError};

use super::{memory_fact, profile, t0, user};

/// A profile written for the current import reads back as written.
pub async fn a_profile_round_trips(store: Arc<dyn Store>) {
    let u = user("profile");
    let s = ImportState::begin(None, "i1", t0()).unwrap();
    store.put_import_state(&u, &s, None).await.unwrap();
    let p = profile("i1");
    store.put_profile(&u, &p).await.unwrap();
    assert_eq!(store.profile(&u).await.unwrap(), Some(p));
}

/// Profile and memory writes for an import that is no longer the current one, or with no import
/// at all, are `Stale`.
pub async fn writes_for_a_replaced_import_are_refused(store: Arc<dyn Store>) {
    let u = user("stale");
    let first = ImportState::begin(None, "old", t0()).unwrap();
    let v = store.put_import_state(&u, &first, None).await.unwrap();
    store.put_profile(&u, &profile("old")).await.unwrap();
    let second = ImportState::begin(None, "new", t0()).unwrap();
    store.put_import_state(&u, &second, Some(v)).await.unwrap();
    // The old import's late worker writes nothing.
    assert!(matches!(
        store.put_profile(&u, &profile("old")).await,
        Err(StoreError::Stale(_))
    ));
    assert!(matches!(
        store.replace_memory(&u, "old", &[memory_fact("f9")]).await,
        Err(StoreError::Stale(_))
    ));
    assert!(store.memory(&u).await.unwrap().is_empty());
    store.put_profile(&u, &profile("new")).await.unwrap();
    assert_eq!(store.profile(&u).await.unwrap().unwrap().import_id, "new");
    // No import at all: nothing to write a profile for.
    let nobody = user("nobody");
    assert!(matches!(
        store.put_profile(&nobody, &profile("x")).await,
        Err(StoreError::Stale(_))
    ));
}

/// The person's own change to their profile is written whatever the imports are doing (a
/// newer import failed, or is running), but never over a newer import's profile.
pub async fn the_person_amends_their_profile_whatever_the_imports_do(store: Arc<dyn Store>) {
    let u = user("amend");
    let first = ImportState::begin(None, "old", t0()).unwrap();
    let v = store.put_import_state(&u, &first, None).await.unwrap();
    store.put_profile(&u, &profile("old")).await.unwrap();
    // A newer import begins (and fails, say): the old profile is still the person's.
    let second = ImportState::begin(None, "new", t0()).unwrap();
    store.put_import_state(&u, &second, Some(v)).await.unwrap();
    let mut renamed = profile("old");
    renamed.sections.identity.ai_name = "Juniper".into();
    assert!(matches!(
        store.put_profile(&u, &renamed).await,
        Err(StoreError::Stale(_))
    ));
    store.amend_profile(&u, &renamed).await.unwrap();
    let stored = store.profile(&u).await.unwrap().unwrap();
    assert_eq!(stored.sections.identity.ai_name, "Juniper");
    // Once the newer import writes its profile, an amendment of the old one is refused.
    store.put_profile(&u, &profile("new")).await.unwrap();
    assert!(matches!(
        store.amend_profile(&u, &renamed).await,
        Err(StoreError::Stale(_))
    ));
    assert_eq!(store.profile(&u).await.unwrap().unwrap().import_id, "new");
    // Nothing to amend for someone without a profile.
    assert!(store
        .amend_profile(&user("amend-nobody"), &renamed)
        .await
        .is_err());
}
