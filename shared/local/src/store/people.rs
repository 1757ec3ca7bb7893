//! Forgetting a person: every row that names them.

use async_trait::async_trait;
use rusqlite::params;
use soulprint_core::ports::store::PersonStore;
use soulprint_core::ports::{StoreError, UserId};

use super::{err, SqliteStore};

#[async_trait]
impl PersonStore for SqliteStore {
    async fn forget(&self, user: &UserId) -> Result<(), StoreError> {
        let mut conn = self.db.lock();
        let tx = conn.transaction().map_err(err)?;
        for table in [
            "import_state",
            "profile",
            "run_plan",
            "run_batch",
            "memory_fact",
            "usage",
            "idempotency",
            "chat_message",
        ] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE user = ?1"),
                params![user.as_str()],
            )
            .map_err(err)?;
        }
        // The queues share this database: the person's pending work goes too.
        tx.execute(
            "DELETE FROM queue WHERE json_extract(body, '$.user') = ?1",
            params![user.as_str()],
        )
        .map_err(err)?;
        tx.commit().map_err(err)
    }
}
