//! What each step of an import spent.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};
use soulprint_core::ports::store::{ImportUsage, UsageStore};
use soulprint_core::ports::{StoreError, UserId};

use super::{err, read_usage, write_usage, SqliteStore};

#[async_trait]
impl UsageStore for SqliteStore {
    async fn record_usage(
        &self,
        user: &UserId,
        import_id: &str,
        key: &str,
        spent: &ImportUsage,
    ) -> Result<(), StoreError> {
        let mut conn = self.db.lock();
        let tx = conn.transaction().map_err(err)?;
        write_usage(&tx, user.as_str(), import_id, key, spent)?;
        tx.commit().map_err(err)
    }

    async fn usage(&self, user: &UserId, import_id: &str) -> Result<ImportUsage, StoreError> {
        let mut conn = self.db.lock();
        let tx = conn.transaction().map_err(err)?;
        read_usage(&tx, user.as_str(), import_id)
    }

    async fn spent(&self, user: &UserId, month: &str) -> Result<f64, StoreError> {
        let conn = self.db.lock();
        let micros: Option<i64> = conn
            .query_row(
                "SELECT micros FROM spend WHERE user = ?1 AND month = ?2",
                params![user.as_str(), month],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)?;
        Ok(micros.unwrap_or(0) as f64 / 1e6)
    }
}
