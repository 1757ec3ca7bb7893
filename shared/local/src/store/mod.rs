//! State in SQLite. Conditional writes and the batch bookkeeping are transactions; every
//! statement names the user. One module per role of the domain's store.

mod chats;
mod claims;
mod imports;
mod memory;
mod people;
mod profiles;
mod runs;
mod usage;

use rusqlite::{params, OptionalExtension, Transaction};
use serde::de::DeserializeOwned;
use soulprint_core::ports::store::{ImportUsage, RunId, RunProgress};
use soulprint_core::ports::{StoreError, UserId};

use crate::db::Database;

#[derive(Clone)]
pub struct SqliteStore {
    db: Database,
}

impl SqliteStore {
    pub fn new(db: Database) -> Self {
        SqliteStore { db }
    }

    /// Gives up every claim still held. Only for the start of the one process that works on
    /// this database: a claim held before was held by a process now dead.
    pub fn release_held_claims(&self) -> Result<u64, StoreError> {
        let conn = self.db.lock();
        conn.execute("DELETE FROM idempotency WHERE completed = 0", [])
            .map(|n| n as u64)
            .map_err(err)
    }

    /// Every user with a record here.
    pub fn users(&self) -> Result<Vec<UserId>, StoreError> {
        let conn = self.db.lock();
        let mut stmt = conn
            // A person being forgotten has no import left, but their forgetting to finish.
            .prepare("SELECT user FROM import_state UNION SELECT user FROM forgotten ORDER BY user")
            .map_err(err)?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(err)?;
        rows.into_iter()
            .map(|u| UserId::new(u).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect()
    }
}

fn err(e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn decode<T: DeserializeOwned>(what: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn encode<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("records serialise")
}

fn progress(
    tx: &Transaction<'_>,
    user: &str,
    run: &RunId,
) -> Result<Option<RunProgress>, StoreError> {
    tx.query_row(
        "SELECT batches, chunks, batches_done, chunks_done, failed_chunks FROM run_plan
         WHERE user = ?1 AND import_id = ?2 AND attempt = ?3",
        params![user, run.import_id, run.attempt],
        |r| {
            Ok(RunProgress {
                newly_recorded: false,
                batches_total: r.get(0)?,
                chunks_total: r.get::<_, i64>(1)? as u64,
                batches_done: r.get(2)?,
                chunks_done: r.get::<_, i64>(3)? as u64,
                failed_chunks: r.get::<_, i64>(4)? as u64,
            })
        },
    )
    .optional()
    .map_err(err)
}

fn read_usage(
    tx: &Transaction<'_>,
    user: &str,
    import_id: &str,
) -> Result<ImportUsage, StoreError> {
    let mut stmt = tx
        .prepare_cached("SELECT usage FROM usage WHERE user = ?1 AND import_id = ?2")
        .map_err(err)?;
    let rows = stmt
        .query_map(params![user, import_id], |r| r.get::<_, String>(0))
        .map_err(err)?;
    let mut total = ImportUsage::default();
    for row in rows {
        total.add(&decode::<ImportUsage>("usage", &row.map_err(err)?)?);
    }
    Ok(total)
}

fn write_usage(
    tx: &Transaction<'_>,
    user: &str,
    import_id: &str,
    key: &str,
    usage: &ImportUsage,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO usage (user, import_id, key, usage) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (user, import_id, key) DO UPDATE SET usage = excluded.usage",
        params![user, import_id, key, encode(usage)],
    )
    .map_err(err)?;
    // Money spent is spent again when a step runs again: the month's total only grows.
    tx.execute(
        "INSERT INTO spend (user, month, micros) VALUES (?1, ?2, ?3)
         ON CONFLICT (user, month) DO UPDATE SET micros = micros + excluded.micros",
        params![
            user,
            soulprint_core::ports::store::month_of(time::OffsetDateTime::now_utc()),
            soulprint_core::ports::store::micros(usage.cost_usd) as i64
        ],
    )
    .map_err(err)?;
    Ok(())
}

/// Whether `import_id` is the user's current import.
fn is_current(tx: &Transaction<'_>, user: &str, import_id: &str) -> Result<bool, StoreError> {
    let current: Option<String> = tx
        .query_row(
            "SELECT json_extract(state, '$.import_id') FROM import_state WHERE user = ?1",
            params![user],
            |r| r.get(0),
        )
        .optional()
        .map_err(err)?;
    Ok(current.as_deref() == Some(import_id))
}
