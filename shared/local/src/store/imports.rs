//! The import's state, versioned: a write names the version it read.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};
use soulprint_core::import_state::ImportState;
use soulprint_core::ports::store::{ImportStore, Versioned};
use soulprint_core::ports::{StoreError, UserId};

use super::{decode, encode, err, SqliteStore};

#[async_trait]
impl ImportStore for SqliteStore {
    async fn import_state(
        &self,
        user: &UserId,
    ) -> Result<Option<Versioned<ImportState>>, StoreError> {
        let conn = self.db.lock();
        let row: Option<(u64, String)> = conn
            .query_row(
                "SELECT version, state FROM import_state WHERE user = ?1",
                params![user.as_str()],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
            )
            .optional()
            .map_err(err)?;
        row.map(|(version, text)| {
            Ok(Versioned {
                value: decode("import state", &text)?,
                version,
            })
        })
        .transpose()
    }

    async fn put_import_state(
        &self,
        user: &UserId,
        state: &ImportState,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        let conn = self.db.lock();
        let text = encode(state);
        let changed = match expected {
            None => conn
                .execute(
                    "INSERT INTO import_state (user, version, state) VALUES (?1, 1, ?2)
                     ON CONFLICT (user) DO NOTHING",
                    params![user.as_str(), text],
                )
                .map_err(err)?,
            Some(v) => conn
                .execute(
                    "UPDATE import_state SET version = version + 1, state = ?2
                     WHERE user = ?1 AND version = ?3",
                    params![user.as_str(), text, v as i64],
                )
                .map_err(err)?,
        };
        if changed == 0 {
            return Err(StoreError::Conflict);
        }
        Ok(expected.map_or(1, |v| v + 1))
    }
}
