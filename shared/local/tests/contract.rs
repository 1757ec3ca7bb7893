//! The local adapters pass the ports' contract.

use std::sync::Arc;

use soulprint_core::ports::{Blobs, Queue, Store};
use soulprint_local::{Database, DirBlobs, SqliteQueue, SqliteStore};

mod store {
    use super::*;
    soulprint_contract::store_contract!(async {
        Arc::new(SqliteStore::new(Database::in_memory().unwrap())) as Arc<dyn Store>
    });
}

mod queue {
    use super::*;
    soulprint_contract::queue_contract!(async {
        Arc::new(SqliteQueue::new(Database::in_memory().unwrap())) as Arc<dyn Queue>
    });
}

mod blobs {
    use super::*;
    soulprint_contract::blobs_contract!(async {
        // Leaked on purpose: the directory must outlive the test body.
        let dir = Box::leak(Box::new(tempfile::tempdir().unwrap()));
        Arc::new(DirBlobs::new(dir.path().join("blobs"), dir.path().join("tmp")).unwrap())
            as Arc<dyn Blobs>
    });
}
