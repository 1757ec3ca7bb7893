//! State in SQLite. Conditional writes and the batch bookkeeping are transactions; every
//! statement names the user.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension, Transaction};
use serde::de::DeserializeOwned;
use soulprint_core::import_state::ImportState;
use soulprint_core::memory::{Fact, MemoryFact};
use soulprint_core::ports::store::{
    BatchOutcome, ChatMessage, ChatThread, Claim, ImportUsage, RunId, RunPlan, RunProgress,
    Versioned,
};
use soulprint_core::ports::{Store, StoreError, UserId};
use soulprint_core::profile::Profile;
use time::OffsetDateTime;

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
            .prepare("SELECT user FROM import_state ORDER BY user")
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

#[async_trait]
impl Store for SqliteStore {
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

    async fn plan_run(&self, user: &UserId, run: &RunId, plan: RunPlan) -> Result<(), StoreError> {
        let conn = self.db.lock();
        conn.execute(
            "INSERT INTO run_plan (user, import_id, attempt, batches, chunks)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
            params![
                user.as_str(),
                run.import_id,
                run.attempt,
                plan.batches,
                plan.chunks as i64
            ],
        )
        .map_err(err)?;
        Ok(())
    }

    async fn record_batch(
        &self,
        user: &UserId,
        run: &RunId,
        batch: u32,
        outcome: &BatchOutcome,
    ) -> Result<RunProgress, StoreError> {
        let mut conn = self.db.lock();
        let tx = conn.transaction().map_err(err)?;
        let u = user.as_str();
        let Some(before) = progress(&tx, u, run)? else {
            return Err(StoreError::Refused(format!(
                "no plan for full pass {} of import {}",
                run.attempt, run.import_id
            )));
        };
        let inserted = tx
            .execute(
                "INSERT INTO run_batch (user, import_id, attempt, batch, facts)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                params![u, run.import_id, run.attempt, batch, encode(&outcome.facts)],
            )
            .map_err(err)?;
        if inserted == 0 {
            tx.commit().map_err(err)?;
            return Ok(before);
        }
        tx.execute(
            "UPDATE run_plan SET batches_done = batches_done + 1,
                 chunks_done = chunks_done + ?4, failed_chunks = failed_chunks + ?5
             WHERE user = ?1 AND import_id = ?2 AND attempt = ?3",
            params![
                u,
                run.import_id,
                run.attempt,
                outcome.chunks as i64,
                outcome.failed_chunks as i64
            ],
        )
        .map_err(err)?;
        let spent = ImportUsage {
            fact_extraction: outcome.usage,
            fact_input_tokens_sent: outcome.input_tokens_sent,
            cost_usd: outcome.usage.cost_usd,
            ..ImportUsage::default()
        };
        let key = format!("batch/{}/{batch}", run.attempt);
        write_usage(&tx, u, &run.import_id, &key, &spent)?;
        let after = progress(&tx, u, run)?.expect("the plan is there");
        tx.commit().map_err(err)?;
        Ok(RunProgress {
            newly_recorded: true,
            ..after
        })
    }

    async fn batch_done(&self, user: &UserId, run: &RunId, batch: u32) -> Result<bool, StoreError> {
        let conn = self.db.lock();
        conn.query_row(
            "SELECT 1 FROM run_batch WHERE user = ?1 AND import_id = ?2 AND attempt = ?3 AND batch = ?4",
            params![user.as_str(), run.import_id, run.attempt, batch],
            |_| Ok(()),
        )
        .optional()
        .map(|r| r.is_some())
        .map_err(err)
    }

    async fn run_progress(
        &self,
        user: &UserId,
        run: &RunId,
    ) -> Result<Option<RunProgress>, StoreError> {
        let mut conn = self.db.lock();
        let tx = conn.transaction().map_err(err)?;
        progress(&tx, user.as_str(), run)
    }

    async fn run_facts(&self, user: &UserId, run: &RunId) -> Result<Vec<Fact>, StoreError> {
        let conn = self.db.lock();
        let mut stmt = conn
            .prepare(
                "SELECT facts FROM run_batch WHERE user = ?1 AND import_id = ?2 AND attempt = ?3
                 ORDER BY batch",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map(params![user.as_str(), run.import_id, run.attempt], |r| {
                r.get::<_, String>(0)
            })
            .map_err(err)?;
        let mut facts = Vec::new();
        for row in rows {
            let batch: Vec<Fact> = decode("batch facts", &row.map_err(err)?)?;
            facts.extend(batch);
        }
        Ok(facts)
    }

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

    async fn append_chat(&self, user: &UserId, messages: &[ChatMessage]) -> Result<(), StoreError> {
        let mut conn = self.db.lock();
        let tx = conn.transaction().map_err(err)?;
        for m in messages {
            let seq: i64 = tx
                .query_row(
                    "SELECT COALESCE(MAX(seq), 0) + 1 FROM chat_message WHERE user = ?1 AND thread_id = ?2",
                    params![user.as_str(), m.thread_id],
                    |r| r.get(0),
                )
                .map_err(err)?;
            let stored = ChatMessage {
                seq: seq as u64,
                ..m.clone()
            };
            let at = stored
                .at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            tx.execute(
                "INSERT INTO chat_message (user, thread_id, seq, message, at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![user.as_str(), m.thread_id, seq, encode(&stored), at],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    async fn chat_messages(
        &self,
        user: &UserId,
        thread_id: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        let conn = self.db.lock();
        let mut stmt = conn
            .prepare(
                "SELECT message FROM chat_message WHERE user = ?1 AND thread_id = ?2 AND seq < ?3
                 ORDER BY seq DESC LIMIT ?4",
            )
            .map_err(err)?;
        let before = before.map_or(i64::MAX, |b| b as i64);
        let rows = stmt
            .query_map(
                params![user.as_str(), thread_id, before, limit as i64],
                |r| r.get::<_, String>(0),
            )
            .map_err(err)?;
        let mut out: Vec<ChatMessage> = rows
            .map(|r| decode("chat message", &r.map_err(err)?))
            .collect::<Result<_, _>>()?;
        out.reverse();
        Ok(out)
    }

    async fn chat_threads(&self, user: &UserId) -> Result<Vec<ChatThread>, StoreError> {
        let conn = self.db.lock();
        let mut stmt = conn
            .prepare(
                "SELECT thread_id, COUNT(*), MAX(at),
                        (SELECT message FROM chat_message f WHERE f.user = m.user
                           AND f.thread_id = m.thread_id ORDER BY seq LIMIT 1)
                 FROM chat_message m WHERE user = ?1 GROUP BY thread_id ORDER BY MAX(at) DESC",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map(params![user.as_str()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(err)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, n, at, first) = row.map_err(err)?;
            let first: ChatMessage = decode("chat message", &first)?;
            let updated_at =
                OffsetDateTime::parse(&at, &time::format_description::well_known::Rfc3339)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            out.push(ChatThread {
                id,
                title: first.text.chars().take(60).collect(),
                messages: n as u64,
                updated_at,
            });
        }
        Ok(out)
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

    async fn forget(&self, user: &UserId) -> Result<(), StoreError> {
        let mut conn = self.db.lock();
        let tx = conn.transaction().map_err(err)?;
        for table in [
            "import_state",
            "profile",
            "run_plan",
            "run_batch",
            "memory_fact",
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
        // The queues share this database: the person's pending work goes too.
        tx.execute(
            "DELETE FROM queue WHERE json_extract(body, '$.user') = ?1",
            params![user.as_str()],
        )
        .map_err(err)?;
        tx.commit().map_err(err)
    }
}
