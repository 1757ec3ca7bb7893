//! The local adapters pass the ports' contract.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap fails it, with its line

use std::sync::Arc;

use soulprint_core::ports::{Blobs, Queue, RateWindows, Store};
use soulprint_local::{
    Database, DirBlobs, LocalSupervisor, MemoryWindows, SqliteQueue, SqliteStore,
};

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

mod rate_windows {
    use super::*;
    soulprint_contract::rate_windows_contract!(async {
        Arc::new(MemoryWindows::default()) as Arc<dyn RateWindows>
    });
}

mod supervisor {
    use super::*;
    soulprint_contract::supervisor_contract!(async {
        // Nobody waits on one machine: every token is as good as another.
        let supervisor: Arc<dyn soulprint_core::ports::Supervisor> = Arc::new(LocalSupervisor);
        (supervisor, vec!["local-1".to_owned(), "local-2".to_owned()])
    });
}
