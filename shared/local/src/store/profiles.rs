//! The profile: written by the pipeline while its import is the current one, amended by the
//! person while it is the one stored.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};
use soulprint_core::ports::store::ProfileStore;
use soulprint_core::ports::{StoreError, UserId};
use soulprint_core::profile::Profile;

use super::{decode, encode, err, is_current, SqliteStore};

#[async_trait]
impl ProfileStore for SqliteStore {
    async fn profile(&self, user: &UserId) -> Result<Option<Profile>, StoreError> {
        let conn = self.db.lock();
        let text: Option<String> = conn
            .query_row(
                "SELECT profile FROM profile WHERE user = ?1",
                params![user.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)?;
        text.map(|t| decode("profile", &t)).transpose()
    }

    async fn put_profile(&self, user: &UserId, profile: &Profile) -> Result<(), StoreError> {
        let mut conn = self.db.lock();
        let tx = conn.transaction().map_err(err)?;
        if !is_current(&tx, user.as_str(), &profile.import_id)? {
            return Err(StoreError::Stale(profile.import_id.clone()));
        }
        tx.execute(
            "INSERT INTO profile (user, profile) VALUES (?1, ?2)
             ON CONFLICT (user) DO UPDATE SET profile = excluded.profile",
            params![user.as_str(), encode(profile)],
        )
        .map_err(err)?;
        tx.commit().map_err(err)
    }

    async fn amend_profile(&self, user: &UserId, profile: &Profile) -> Result<(), StoreError> {
        let conn = self.db.lock();
        let changed = conn
            .execute(
                "UPDATE profile SET profile = ?2
                 WHERE user = ?1 AND json_extract(profile, '$.import_id') = ?3",
                params![user.as_str(), encode(profile), profile.import_id],
            )
            .map_err(err)?;
        if changed == 0 {
            return Err(StoreError::Stale(profile.import_id.clone()));
        }
        // An amendment takes something out (a deleted fact) as often as it renames: the
        // earlier version leaves the log, as it left the file (`secure_delete`).
        crate::Database::empty_wal(&conn).map_err(err)
    }
}
