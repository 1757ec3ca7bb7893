//! The consolidated facts.

use std::sync::Arc;

use soulprint_core::import_state::ImportState;
use soulprint_core::ports::Store;

use super::{memory_fact, t0, user};

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
    assert!(store.delete_fact(&u, "f1").await.unwrap());
    assert!(!store.delete_fact(&u, "f1").await.unwrap());
    assert!(!store
        .delete_fact(&user("delete-other"), "f2")
        .await
        .unwrap());
    let left: Vec<_> = store
        .memory(&u)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.id)
        .collect();
    assert_eq!(left, ["f2"]);
}
