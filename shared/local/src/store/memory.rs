//! The consolidated facts, replaced whole while their import is current.

use async_trait::async_trait;
use rusqlite::params;
use soulprint_core::memory::MemoryFact;
use soulprint_core::ports::store::MemoryStore;
use soulprint_core::ports::{StoreError, UserId};

use super::{decode, encode, err, is_current, SqliteStore};

#[async_trait]
impl MemoryStore for SqliteStore {
    async fn replace_memory(
        &self,
        user: &UserId,
        import_id: &str,
        facts: &[MemoryFact],
    ) -> Result<(), StoreError> {
        let mut conn = self.db.lock();
        let tx = conn.transaction().map_err(err)?;
        if !is_current(&tx, user.as_str(), import_id)? {
            return Err(StoreError::Stale(import_id.to_owned()));
        }
        tx.execute(
            "DELETE FROM memory_fact WHERE user = ?1",
            params![user.as_str()],
        )
        .map_err(err)?;
        {
            let mut insert = tx
                .prepare("INSERT INTO memory_fact (user, ord, id, fact) VALUES (?1, ?2, ?3, ?4)")
                .map_err(err)?;
            for (i, f) in facts.iter().enumerate() {
                insert
                    .execute(params![user.as_str(), i as i64, f.id, encode(f)])
                    .map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    async fn memory(&self, user: &UserId) -> Result<Vec<MemoryFact>, StoreError> {
        let conn = self.db.lock();
        let mut stmt = conn
            .prepare("SELECT fact FROM memory_fact WHERE user = ?1 ORDER BY ord")
            .map_err(err)?;
        let rows = stmt
            .query_map(params![user.as_str()], |r| r.get::<_, String>(0))
            .map_err(err)?;
        rows.map(|r| decode("fact", &r.map_err(err)?)).collect()
    }

    async fn delete_fact(&self, user: &UserId, id: &str) -> Result<bool, StoreError> {
        let conn = self.db.lock();
        conn.execute(
            "DELETE FROM memory_fact WHERE user = ?1 AND id = ?2",
            params![user.as_str(), id],
        )
        .map(|n| n > 0)
        .map_err(err)
    }
}
