//! The profile, written only while its import is the current one.

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
}
