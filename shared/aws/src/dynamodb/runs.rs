//! A run's plan and counters (`RUN#…`), each batch's done-marker and facts (`RUN#…#B#n`).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use soulprint_core::memory::Fact;
use soulprint_core::ports::store::{
    BatchOutcome, BatchRecord, ImportUsage, RunId, RunPlan, RunProgress, RunStore,
};
use soulprint_core::ports::{StoreError, UserId};

use super::codec::{body, get_n, get_s, n};
use super::{
    batch_prefix, condition_failed, run_sk, unavailable, with_key, Cancelled, DynamoStore,
};

#[async_trait]
impl RunStore for DynamoStore {
    async fn plan_run(&self, user: &UserId, run: &RunId, plan: RunPlan) -> Result<(), StoreError> {
        let attrs = HashMap::from([
            ("batches".to_owned(), n(plan.batches.into())),
            ("chunks".to_owned(), n(plan.chunks)),
            ("batches_done".to_owned(), n(0)),
            ("chunks_done".to_owned(), n(0)),
            ("failed_chunks".to_owned(), n(0)),
        ]);
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(with_key(user, &run_sk(run), attrs)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // Planned before: the first plan stands.
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn record_batch(
        &self,
        user: &UserId,
        run: &RunId,
        batch: u32,
        outcome: &BatchOutcome,
    ) -> Result<RunProgress, StoreError> {
        let marker = Put::builder()
            .table_name(&self.table)
            .set_item(Some(with_key(
                user,
                &format!("{}{batch:08}", batch_prefix(run)),
                HashMap::from([
                    ("facts".to_owned(), body(&outcome.facts)),
                    ("chunks".to_owned(), n(outcome.chunks)),
                    ("failed_chunks".to_owned(), n(outcome.failed_chunks)),
                ]),
            )))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("table and item are set");
        let counters = Update::builder()
            .table_name(&self.table)
            .set_key(Some(Self::key(user, run_sk(run))))
            .update_expression("ADD batches_done :one, chunks_done :chunks, failed_chunks :failed")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":chunks", n(outcome.chunks))
            .expression_attribute_values(":failed", n(outcome.failed_chunks))
            .build()
            .expect("table, key and expression are set");
        let spent = ImportUsage {
            fact_extraction: outcome.usage,
            fact_input_tokens_sent: outcome.input_tokens_sent,
            cost_usd: outcome.usage.cost_usd,
            ..ImportUsage::default()
        };
        let usage = self.put_item(
            user,
            &format!("USAGE#{}#batch/{}/{batch}", run.import_id, run.attempt),
            HashMap::from([("body".to_owned(), body(&spent))]),
        );
        let no_plan = || {
            StoreError::Refused(format!(
                "no plan for full pass {} of import {}",
                run.attempt, run.import_id
            ))
        };
        let newly_recorded = match self
            .transact(vec![
                TransactWriteItem::builder().put(marker).build(),
                TransactWriteItem::builder().update(counters).build(),
                TransactWriteItem::builder().put(usage).build(),
                TransactWriteItem::builder()
                    .update(self.spend(user, spent.cost_usd))
                    .build(),
            ])
            .await
        {
            Ok(()) => true,
            Err(Cancelled::Conditions(failed)) => {
                if failed.get(1) == Some(&true) {
                    return Err(no_plan());
                }
                // The marker was there: a redelivery, nothing counted again.
                false
            }
            Err(Cancelled::Failed(e)) => return Err(e),
        };
        let progress = self.progress(user, run).await?.ok_or_else(no_plan)?;
        Ok(RunProgress {
            newly_recorded,
            ..progress
        })
    }

    async fn batch_done(&self, user: &UserId, run: &RunId, batch: u32) -> Result<bool, StoreError> {
        Ok(self
            .get(user, &format!("{}{batch:08}", batch_prefix(run)))
            .await?
            .is_some())
    }

    async fn batch_record(
        &self,
        user: &UserId,
        run: &RunId,
        batch: u32,
    ) -> Result<Option<BatchRecord>, StoreError> {
        let Some(item) = self
            .get(user, &format!("{}{batch:08}", batch_prefix(run)))
            .await?
        else {
            return Ok(None);
        };
        let facts: Vec<Fact> = serde_json::from_str(get_s(&item, "facts")?)
            .map_err(|e| StoreError::Corrupt(format!("batch facts: {e}")))?;
        // A marker written before these were kept says nothing of its chunks.
        let number = |name: &str| {
            item.contains_key(name)
                .then(|| get_n(&item, name))
                .transpose()
        };
        Ok(Some(BatchRecord {
            facts,
            chunks: number("chunks")?.unwrap_or(0),
            failed_chunks: number("failed_chunks")?,
        }))
    }

    async fn run_progress(
        &self,
        user: &UserId,
        run: &RunId,
    ) -> Result<Option<RunProgress>, StoreError> {
        self.progress(user, run).await
    }

    async fn run_facts(&self, user: &UserId, run: &RunId) -> Result<Vec<Fact>, StoreError> {
        let mut facts = Vec::new();
        for item in self.query_prefix(user, &batch_prefix(run)).await? {
            let batch: Vec<Fact> = serde_json::from_str(get_s(&item, "facts")?)
                .map_err(|e| StoreError::Corrupt(format!("batch facts: {e}")))?;
            facts.extend(batch);
        }
        Ok(facts)
    }
}
