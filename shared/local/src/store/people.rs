//! Forgetting a person: every row that names them, and nothing of them left readable in the
//! file or its log.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};
use soulprint_core::ports::store::PersonStore;
use soulprint_core::ports::{StoreError, UserId};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

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
        // The queues share this database: the person's pending work goes too, but the job
        // forgetting them (which may be the one running this).
        tx.execute(
            "DELETE FROM queue WHERE json_extract(body, '$.user') = ?1
             AND json_extract(body, '$.job') IS NOT 'forget'",
            params![user.as_str()],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        // Deleted rows are zeroed (`secure_delete`); the file's free pages and the log's old
        // page versions may still hold the person's words until they are rewritten.
        crate::Database::scrub(&conn).map_err(err)
    }

    async fn mark_forgotten(&self, user: &UserId, at: OffsetDateTime) -> Result<(), StoreError> {
        let since = at
            .format(&Rfc3339)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.db
            .lock()
            .execute(
                "INSERT INTO forgotten (user, since) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                params![user.as_str(), since],
            )
            .map(drop)
            .map_err(err)
    }

    async fn forgotten(&self, user: &UserId) -> Result<Option<OffsetDateTime>, StoreError> {
        let since: Option<String> = self
            .db
            .lock()
            .query_row(
                "SELECT since FROM forgotten WHERE user = ?1",
                params![user.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)?;
        since
            .map(|s| {
                OffsetDateTime::parse(&s, &Rfc3339)
                    .map_err(|e| StoreError::Corrupt(format!("forgotten since {s:?}: {e}")))
            })
            .transpose()
    }

    async fn forget_done(&self, user: &UserId) -> Result<(), StoreError> {
        self.db
            .lock()
            .execute(
                "DELETE FROM forgotten WHERE user = ?1",
                params![user.as_str()],
            )
            .map(drop)
            .map_err(err)
    }
}
