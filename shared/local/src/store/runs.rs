//! A run's plan and counters, each batch's done-marker and facts, in one transaction a batch.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};
use soulprint_core::memory::Fact;
use soulprint_core::ports::store::{
    BatchOutcome, BatchRecord, ImportUsage, RunId, RunPlan, RunProgress, RunStore,
};
use soulprint_core::ports::{StoreError, UserId};

use super::{decode, encode, err, progress, write_usage, SqliteStore};

/// A batch's done-marker: its facts and what it read. One written before the counts were kept
/// is its facts alone.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct Marker {
    pub(super) facts: Vec<Fact>,
    chunks: Option<u64>,
    failed_chunks: Option<u64>,
}

pub(super) fn marker(text: &str) -> Result<Marker, StoreError> {
    if text.trim_start().starts_with('[') {
        return Ok(Marker {
            facts: decode("batch facts", text)?,
            chunks: None,
            failed_chunks: None,
        });
    }
    decode("batch marker", text)
}

#[async_trait]
impl RunStore for SqliteStore {
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
                params![
                    u,
                    run.import_id,
                    run.attempt,
                    batch,
                    encode(&Marker {
                        facts: outcome.facts.clone(),
                        chunks: Some(outcome.chunks),
                        failed_chunks: Some(outcome.failed_chunks),
                    })
                ],
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

    async fn batch_record(
        &self,
        user: &UserId,
        run: &RunId,
        batch: u32,
    ) -> Result<Option<BatchRecord>, StoreError> {
        let conn = self.db.lock();
        let row: Option<String> = conn
            .query_row(
                "SELECT facts FROM run_batch WHERE user = ?1 AND import_id = ?2 AND attempt = ?3 AND batch = ?4",
                params![user.as_str(), run.import_id, run.attempt, batch],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)?;
        row.map(|text| {
            let m = marker(&text)?;
            Ok(BatchRecord {
                facts: m.facts,
                chunks: m.chunks.unwrap_or(0),
                failed_chunks: m.failed_chunks,
            })
        })
        .transpose()
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
            facts.extend(marker(&row.map_err(err)?)?.facts);
        }
        Ok(facts)
    }
}
