//! Idempotency records: in progress until they expire, or done.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};
use soulprint_core::ports::store::{Claim, ClaimStore};
use soulprint_core::ports::{StoreError, UserId};
use time::OffsetDateTime;

use super::{err, SqliteStore};

#[async_trait]
impl ClaimStore for SqliteStore {
    async fn claim(
        &self,
        user: &UserId,
        key: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<Claim, StoreError> {
        let mut conn = self.db.lock();
        let tx = conn.transaction().map_err(err)?;
        let held: Option<(bool, i64)> = tx
            .query_row(
                "SELECT completed, expires_at FROM idempotency WHERE user = ?1 AND key = ?2",
                params![user.as_str(), key],
                |r| Ok((r.get::<_, i64>(0)? != 0, r.get(1)?)),
            )
            .optional()
            .map_err(err)?;
        let claim = match held {
            Some((done, until)) if until > now.unix_timestamp() => {
                if done {
                    Claim::Completed
                } else {
                    Claim::InProgress
                }
            }
            _ => {
                tx.execute(
                    "INSERT INTO idempotency (user, key, completed, expires_at) VALUES (?1, ?2, 0, ?3)
                     ON CONFLICT (user, key) DO UPDATE SET completed = 0, expires_at = excluded.expires_at",
                    params![user.as_str(), key, expires_at.unix_timestamp()],
                )
                .map_err(err)?;
                Claim::Acquired
            }
        };
        tx.commit().map_err(err)?;
        Ok(claim)
    }

    async fn complete_claim(
        &self,
        user: &UserId,
        key: &str,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let conn = self.db.lock();
        conn.execute(
            "INSERT INTO idempotency (user, key, completed, expires_at) VALUES (?1, ?2, 1, ?3)
             ON CONFLICT (user, key) DO UPDATE SET completed = 1, expires_at = excluded.expires_at",
            params![user.as_str(), key, expires_at.unix_timestamp()],
        )
        .map_err(err)?;
        Ok(())
    }

    async fn release_claim(&self, user: &UserId, key: &str) -> Result<(), StoreError> {
        let conn = self.db.lock();
        conn.execute(
            "DELETE FROM idempotency WHERE user = ?1 AND key = ?2 AND completed = 0",
            params![user.as_str(), key],
        )
        .map_err(err)?;
        Ok(())
    }
}
