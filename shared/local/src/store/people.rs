//! Forgetting a person: every row that names them, and nothing of them left readable in the
//! file or its log.

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
            "memory_revision",
            "tombstone",
            "spend",
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
        tx.commit().map_err(err)?;
        // Deleted rows are zeroed (`secure_delete`); the file's free pages and the log's old
        // page versions may still hold the person's words until they are rewritten.
        crate::Database::scrub(&conn).map_err(err)
    }
}
