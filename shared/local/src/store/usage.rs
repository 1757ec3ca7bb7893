//! What each step of an import spent.

use async_trait::async_trait;
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
}
