//! The consolidated facts, replaced whole while their import is current; and what the person
//! deleted, as tombstones.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};
use soulprint_core::memory::{sort_canonically, MemoryFact, Tombstone};
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
        bump(&tx, user)?;
        tx.commit().map_err(err)
    }

    async fn put_facts(
        &self,
        user: &UserId,
        expected: Option<&str>,
        facts: &[MemoryFact],
    ) -> Result<String, StoreError> {
        let mut conn = self.db.lock();
        let tx = conn.transaction().map_err(err)?;
        let now: Option<i64> = tx
            .query_row(
                "SELECT revision FROM memory_revision WHERE user = ?1",
                params![user.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)?;
        if now.map(|n| n.to_string()).as_deref() != expected {
            return Err(StoreError::Conflict);
        }
        for f in facts {
            tx.execute(
                "DELETE FROM memory_fact WHERE user = ?1 AND id = ?2",
                params![user.as_str(), f.id],
            )
            .map_err(err)?;
            tx.execute(
                "INSERT INTO memory_fact (user, ord, id, fact)
                 VALUES (?1, (SELECT COALESCE(MAX(ord), -1) + 1 FROM memory_fact WHERE user = ?1),
                         ?2, ?3)",
                params![user.as_str(), f.id, encode(f)],
            )
            .map_err(err)?;
        }
        bump(&tx, user)?;
        tx.commit().map_err(err)?;
        Ok((now.unwrap_or(0) + 1).to_string())
    }

    async fn memory_revision(&self, user: &UserId) -> Result<Option<String>, StoreError> {
        let conn = self.db.lock();
        conn.query_row(
            "SELECT revision FROM memory_revision WHERE user = ?1",
            params![user.as_str()],
            |r| r.get::<_, i64>(0),
        )
        .optional()
        .map(|r| r.map(|n| n.to_string()))
        .map_err(err)
    }

    async fn memory(&self, user: &UserId) -> Result<Vec<MemoryFact>, StoreError> {
        let conn = self.db.lock();
        let mut stmt = conn
            .prepare("SELECT fact FROM memory_fact WHERE user = ?1 ORDER BY ord")
            .map_err(err)?;
        let rows = stmt
            .query_map(params![user.as_str()], |r| r.get::<_, String>(0))
            .map_err(err)?;
        let mut facts = rows
            .map(|r| decode("fact", &r.map_err(err)?))
            .collect::<Result<Vec<MemoryFact>, StoreError>>()?;
        sort_canonically(&mut facts);
        Ok(facts)
    }

    async fn delete_fact(&self, user: &UserId, id: &str) -> Result<Option<MemoryFact>, StoreError> {
        let mut conn = self.db.lock();
        let tx = conn.transaction().map_err(err)?;
        let text: Option<String> = tx
            .query_row(
                "SELECT fact FROM memory_fact WHERE user = ?1 AND id = ?2",
                params![user.as_str(), id],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)?;
        let Some(text) = text else {
            return Ok(None);
        };
        let fact: MemoryFact = decode("fact", &text)?;
        tx.execute(
            "DELETE FROM memory_fact WHERE user = ?1 AND id = ?2",
            params![user.as_str(), id],
        )
        .map_err(err)?;
        bump(&tx, user)?;
        let tombstone = Tombstone::of_fact(&fact);
        tx.execute(
            "INSERT INTO tombstone (user, tombstone) VALUES (?1, ?2)",
            params![user.as_str(), encode(&tombstone)],
        )
        .map_err(err)?;
        // The runs' batches keep their facts word for word: those it buries go too.
        let batches: Vec<(String, i64, i64, String)> = {
            let mut stmt = tx
                .prepare("SELECT import_id, attempt, batch, facts FROM run_batch WHERE user = ?1")
                .map_err(err)?;
            let rows = stmt
                .query_map(params![user.as_str()], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .map_err(err)?;
            rows.collect::<Result<_, _>>().map_err(err)?
        };
        for (import_id, attempt, batch, text) in batches {
            let mut marker = super::runs::marker(&text)?;
            let before = marker.facts.len();
            marker.facts.retain(|f| !tombstone.buries_fact(&f.text));
            if marker.facts.len() < before {
                tx.execute(
                    "UPDATE run_batch SET facts = ?1
                     WHERE user = ?2 AND import_id = ?3 AND attempt = ?4 AND batch = ?5",
                    params![encode(&marker), user.as_str(), import_id, attempt, batch],
                )
                .map_err(err)?;
            }
        }
        tx.commit().map_err(err)?;
        // Earlier versions of the pages, the fact's words in them, leave the log.
        crate::Database::empty_wal(&conn).map_err(err)?;
        Ok(Some(fact))
    }

    async fn bury(&self, user: &UserId, tombstone: &Tombstone) -> Result<(), StoreError> {
        let conn = self.db.lock();
        conn.execute(
            "INSERT INTO tombstone (user, tombstone) VALUES (?1, ?2)",
            params![user.as_str(), encode(tombstone)],
        )
        .map_err(err)?;
        Ok(())
    }

    async fn tombstones(&self, user: &UserId) -> Result<Vec<Tombstone>, StoreError> {
        let conn = self.db.lock();
        let mut stmt = conn
            .prepare("SELECT tombstone FROM tombstone WHERE user = ?1 ORDER BY ord")
            .map_err(err)?;
        let rows = stmt
            .query_map(params![user.as_str()], |r| r.get::<_, String>(0))
            .map_err(err)?;
        rows.map(|r| decode("tombstone", &r.map_err(err)?))
            .collect()
    }
}

/// The person's memory changed: its revision moves on.
fn bump(tx: &rusqlite::Transaction<'_>, user: &UserId) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO memory_revision (user, revision) VALUES (?1, 1)
         ON CONFLICT (user) DO UPDATE SET revision = revision + 1",
        params![user.as_str()],
    )
    .map_err(err)?;
    Ok(())
}
