//! State in one DynamoDB table (`pk`, `sk`): every item of a user under `pk = U#{user}`, so
//! that a user's records are one partition and `forget` is one query.
//!
//! | `sk`                              | what                                           |
//! |-----------------------------------|------------------------------------------------|
//! | `IMPORT`                          | import state, `version`, `import_id`           |
//! | `PROFILE`                         | the profile                                    |
//! | `RUN#{import}#{attempt}`          | a full pass's plan and counters                |
//! | `RUN#{import}#{attempt}#B#{n}`    | a batch's done-marker and its facts            |
//! | `USAGE#{import}#{key}`            | what one step spent                            |
//! | `CLAIM#{key}`                     | idempotency record (`done`, `expires_at`, TTL) |
//! | `MEMORY` / `MEM#{gen}#{ord}`      | the current memory generation / its facts      |
//! | `THREAD#{id}` / `MSG#{id}#{seq}`  | a chat thread's counter / its messages         |
//! | `RATE#{tier}#{window}`            | a rate-limit window's count (TTL)              |
//!
//! Conditions the SQLite store keeps with transactions are condition expressions and
//! `TransactWriteItems` here: the version of the import state, "this import is still current"
//! beside a profile or memory write, a batch's marker with its counters and its usage.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, DeleteRequest, Put, PutRequest, ReturnValue, TransactWriteItem,
    Update, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use serde::de::DeserializeOwned;
use soulprint_core::import_state::ImportState;
use soulprint_core::memory::{Fact, MemoryFact};
use soulprint_core::ports::store::{
    BatchOutcome, ChatMessage, ChatThread, Claim, ImportUsage, RunId, RunPlan, RunProgress,
    Versioned,
};
use soulprint_core::ports::{RateWindows, Store, StoreError, UserId};
use soulprint_core::profile::Profile;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error_text::described;

type Item = HashMap<String, AttributeValue>;

/// DynamoDB's limit on the items of one `BatchWriteItem`.
const WRITE_BATCH: usize = 25;

/// Tries of a transaction that conflicts with others on the same items.
const TRANSACTION_ATTEMPTS: u32 = 6;

/// Chat messages are numbered in 10 digits, so that their keys sort as numbers.
const MAX_SEQ: u64 = 9_999_999_999;

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            table: table.into(),
        }
    }

    fn key(user: &UserId, sk: impl Into<String>) -> Item {
        HashMap::from([
            ("pk".to_owned(), pk(user)),
            ("sk".to_owned(), AttributeValue::S(sk.into())),
        ])
    }

    async fn get(&self, user: &UserId, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(user, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item)
    }

    async fn put(&self, user: &UserId, sk: &str, attrs: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(with_key(user, sk, attrs)))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Every item of the user whose `sk` starts with `prefix`, in `sk` order.
    async fn query_prefix(&self, user: &UserId, prefix: &str) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let query = self
                .client
                .query()
                .table_name(&self.table)
                .expression_attribute_values(":pk", pk(user))
                .consistent_read(true);
            // DynamoDB refuses an empty string as a value: no prefix, no condition on `sk`.
            let query = if prefix.is_empty() {
                query.key_condition_expression("pk = :pk")
            } else {
                query
                    .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                    .expression_attribute_values(":prefix", s(prefix))
            };
            let out = query
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }

    /// Writes or deletes items in batches of 25, sending again what DynamoDB left unprocessed.
    async fn write_all(&self, requests: Vec<WriteRequest>) -> Result<(), StoreError> {
        for group in requests.chunks(WRITE_BATCH) {
            let mut pending = group.to_vec();
            let mut rounds = 0u32;
            while !pending.is_empty() {
                rounds += 1;
                if rounds > 8 {
                    return Err(StoreError::Unavailable(
                        "DynamoDB left writes unprocessed eight times in a row".into(),
                    ));
                }
                if rounds > 1 {
                    tokio::time::sleep(std::time::Duration::from_millis(50 << rounds.min(6))).await;
                }
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(unavailable)?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default();
            }
        }
        Ok(())
    }

    async fn delete_items(&self, items: &[Item]) -> Result<(), StoreError> {
        let requests = items
            .iter()
            .map(|item| {
                let key = item
                    .iter()
                    .filter(|(k, _)| *k == "pk" || *k == "sk")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                WriteRequest::builder()
                    .delete_request(
                        DeleteRequest::builder()
                            .set_key(Some(key))
                            .build()
                            .expect("a key is set"),
                    )
                    .build()
            })
            .collect();
        self.write_all(requests).await
    }

    /// A condition that the user's current import is `import_id`, for a transaction.
    fn import_is_current(&self, user: &UserId, import_id: &str) -> TransactWriteItem {
        TransactWriteItem::builder()
            .condition_check(
                ConditionCheck::builder()
                    .table_name(&self.table)
                    .set_key(Some(Self::key(user, "IMPORT")))
                    .condition_expression("import_id = :import")
                    .expression_attribute_values(":import", s(import_id))
                    .build()
                    .expect("table, key and condition are set"),
            )
            .build()
    }

    fn put_item(&self, user: &UserId, sk: &str, attrs: Item) -> Put {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(with_key(user, sk, attrs)))
            .build()
            .expect("table and item are set")
    }

    /// Runs a transaction. Cancelled by a condition: which conditions failed. Cancelled by a
    /// conflict with another transaction on the same items (fact workers all count on the
    /// run's item): tried again a few times, then `Unavailable` (the job comes back).
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), Cancelled> {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let codes: Vec<String> = match result {
                Ok(_) => return Ok(()),
                Err(SdkError::ServiceError(e)) => match e.into_err() {
                    TransactWriteItemsError::TransactionCanceledException(c) => c
                        .cancellation_reasons()
                        .iter()
                        .map(|r| r.code().unwrap_or("None").to_owned())
                        .collect(),
                    other => return Err(Cancelled::Failed(unavailable(other))),
                },
                Err(e) => return Err(Cancelled::Failed(unavailable(e))),
            };
            let condition = |c: &String| c == "ConditionalCheckFailed";
            if codes.iter().any(condition) && codes.iter().all(|c| c == "None" || condition(c)) {
                return Err(Cancelled::Conditions(codes.iter().map(condition).collect()));
            }
            if attempt >= TRANSACTION_ATTEMPTS {
                return Err(Cancelled::Failed(StoreError::Unavailable(format!(
                    "a transaction was cancelled {attempt} times: {codes:?}"
                ))));
            }
            let backoff = 20u64 << attempt;
            tokio::time::sleep(std::time::Duration::from_millis(
                backoff / 2 + fastrand::u64(0..=backoff / 2),
            ))
            .await;
        }
    }

    /// The memory generation in force, if any.
    async fn memory_generation(&self, user: &UserId) -> Result<Option<String>, StoreError> {
        match self.get(user, "MEMORY").await? {
            Some(item) => Ok(Some(get_s(&item, "gen")?.to_owned())),
            None => Ok(None),
        }
    }

    async fn progress(
        &self,
        user: &UserId,
        run: &RunId,
    ) -> Result<Option<RunProgress>, StoreError> {
        let Some(item) = self.get(user, &run_sk(run)).await? else {
            return Ok(None);
        };
        Ok(Some(RunProgress {
            newly_recorded: false,
            batches_total: get_n(&item, "batches")? as u32,
            chunks_total: get_n(&item, "chunks")?,
            batches_done: get_n(&item, "batches_done")? as u32,
            chunks_done: get_n(&item, "chunks_done")?,
            failed_chunks: get_n(&item, "failed_chunks")?,
        }))
    }
}

/// Creates the table as template.yaml declares it (`pk`, `sk`, on demand), for the tests and
/// local runs against an AWS-protocol server; on AWS the stack makes it.
pub async fn create_table(client: &Client, name: &str) -> Result<(), StoreError> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let mut create = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest);
    for (attribute, kind) in [("pk", KeyType::Hash), ("sk", KeyType::Range)] {
        create = create
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(attribute)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .expect("name and type are set"),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(attribute)
                    .key_type(kind)
                    .build()
                    .expect("name and kind are set"),
            );
    }
    create.send().await.map_err(unavailable)?;
    Ok(())
}

enum Cancelled {
    /// Which of the transaction's conditions failed, in order (empty when the server did not
    /// say).
    Conditions(Vec<bool>),
    Failed(StoreError),
}

fn pk(user: &UserId) -> AttributeValue {
    AttributeValue::S(format!("U#{}", user.as_str()))
}

fn run_sk(run: &RunId) -> String {
    format!("RUN#{}#{:05}", run.import_id, run.attempt)
}

fn batch_prefix(run: &RunId) -> String {
    format!("{}#B#", run_sk(run))
}

fn with_key(user: &UserId, sk: &str, mut attrs: Item) -> Item {
    attrs.insert("pk".into(), pk(user));
    attrs.insert("sk".into(), s(sk));
    attrs
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn body<T: serde::Serialize>(value: &T) -> AttributeValue {
    AttributeValue::S(serde_json::to_string(value).expect("records serialise"))
}

fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| StoreError::Corrupt(format!("an item has no text attribute {name:?}")))
}

fn get_n(item: &Item, name: &str) -> Result<u64, StoreError> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| StoreError::Corrupt(format!("an item has no count attribute {name:?}")))
}

fn decode<T: DeserializeOwned>(what: &str, item: &Item) -> Result<T, StoreError> {
    serde_json::from_str(get_s(item, "body")?)
        .map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// A request DynamoDB refused as malformed (an item over 400 KB, a bad expression) is not
/// worth retrying; anything else (throttling, network, access being fixed) may pass.
fn unavailable<E: std::error::Error + ProvideErrorMetadata>(e: E) -> StoreError {
    let reason = described(&e);
    match e.code() {
        Some("ValidationException") => StoreError::Refused(format!(
            "DynamoDB refused the request: {}",
            e.message().unwrap_or(&reason)
        )),
        _ => StoreError::Unavailable(reason),
    }
}

/// Whether a single write lost its condition.
fn condition_failed<E: ProvideErrorMetadata>(e: &SdkError<E>) -> bool {
    e.as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

#[async_trait]
impl RateWindows for DynamoStore {
    /// The window's item expires (TTL) a window after it closes.
    async fn count(
        &self,
        user: &UserId,
        tier: &str,
        window_start: i64,
        window_seconds: i64,
    ) -> Result<u64, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(user, format!("RATE#{tier}#{window_start}"))))
            .update_expression("ADD hits :one SET #ttl = :ttl")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":ttl", n((window_start + 2 * window_seconds) as u64))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(unavailable)?;
        get_n(&out.attributes.unwrap_or_default(), "hits")
    }
}

#[async_trait]
impl Store for DynamoStore {
    async fn import_state(
        &self,
        user: &UserId,
    ) -> Result<Option<Versioned<ImportState>>, StoreError> {
        let Some(item) = self.get(user, "IMPORT").await? else {
            return Ok(None);
        };
        Ok(Some(Versioned {
            value: decode("import state", &item)?,
            version: get_n(&item, "version")?,
        }))
    }

    async fn put_import_state(
        &self,
        user: &UserId,
        state: &ImportState,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        let version = expected.map_or(1, |v| v + 1);
        let attrs = HashMap::from([
            ("body".to_owned(), body(state)),
            ("version".to_owned(), n(version)),
            ("import_id".to_owned(), s(&state.import_id)),
        ]);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(with_key(user, "IMPORT", attrs)));
        let put = match expected {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(v) => put
                .condition_expression("version = :v")
                .expression_attribute_values(":v", n(v)),
        };
        match put.send().await {
            Ok(_) => Ok(version),
            Err(e) if condition_failed(&e) => Err(StoreError::Conflict),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn profile(&self, user: &UserId) -> Result<Option<Profile>, StoreError> {
        self.get(user, "PROFILE")
            .await?
            .map(|item| decode("profile", &item))
            .transpose()
    }

    async fn put_profile(&self, user: &UserId, profile: &Profile) -> Result<(), StoreError> {
        let put = self.put_item(
            user,
            "PROFILE",
            HashMap::from([("body".to_owned(), body(profile))]),
        );
        match self
            .transact(vec![
                self.import_is_current(user, &profile.import_id),
                TransactWriteItem::builder().put(put).build(),
            ])
            .await
        {
            Ok(()) => Ok(()),
            Err(Cancelled::Conditions(_)) => Err(StoreError::Stale(profile.import_id.clone())),
            Err(Cancelled::Failed(e)) => Err(e),
        }
    }

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
                HashMap::from([("facts".to_owned(), body(&outcome.facts))]),
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

    /// Writes the facts as a new generation, switches `MEMORY` to it if the import is still
    /// current, then deletes the old generation: a reader sees one generation or the other.
    async fn replace_memory(
        &self,
        user: &UserId,
        import_id: &str,
        facts: &[MemoryFact],
    ) -> Result<(), StoreError> {
        let gen = uuid::Uuid::now_v7().simple().to_string();
        let fresh: Vec<Item> = facts
            .iter()
            .enumerate()
            .map(|(i, f)| {
                with_key(
                    user,
                    &format!("MEM#{gen}#{i:08}"),
                    HashMap::from([("id".to_owned(), s(&f.id)), ("body".to_owned(), body(f))]),
                )
            })
            .collect();
        let puts = fresh
            .iter()
            .map(|item| {
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(item.clone()))
                            .build()
                            .expect("an item is set"),
                    )
                    .build()
            })
            .collect();
        self.write_all(puts).await?;
        let pointer = self.put_item(
            user,
            "MEMORY",
            HashMap::from([
                ("gen".to_owned(), s(&gen)),
                ("import_id".to_owned(), s(import_id)),
            ]),
        );
        match self
            .transact(vec![
                self.import_is_current(user, import_id),
                TransactWriteItem::builder().put(pointer).build(),
            ])
            .await
        {
            Ok(()) => {}
            Err(failure) => {
                self.delete_items(&fresh).await?;
                return Err(match failure {
                    Cancelled::Conditions(_) => StoreError::Stale(import_id.to_owned()),
                    Cancelled::Failed(e) => e,
                });
            }
        }
        // Every other generation: the one replaced, and any a concurrent replacement left.
        let current = format!("MEM#{gen}#");
        let stale: Vec<Item> = self
            .query_prefix(user, "MEM#")
            .await?
            .into_iter()
            .filter(|item| get_s(item, "sk").is_ok_and(|sk| !sk.starts_with(&current)))
            .collect();
        self.delete_items(&stale).await?;
        Ok(())
    }

    /// The facts of one generation: read again if `MEMORY` moved on meanwhile (its items may
    /// have been deleted under the read).
    async fn memory(&self, user: &UserId) -> Result<Vec<MemoryFact>, StoreError> {
        let mut gen = self.memory_generation(user).await?;
        for _ in 0..4 {
            let Some(current) = gen else {
                return Ok(Vec::new());
            };
            let items = self.query_prefix(user, &format!("MEM#{current}#")).await?;
            let after = self.memory_generation(user).await?;
            if after.as_deref() == Some(current.as_str()) {
                return items.iter().map(|item| decode("fact", item)).collect();
            }
            gen = after;
        }
        Err(StoreError::Unavailable(
            "the memory kept changing while it was read".into(),
        ))
    }

    async fn record_usage(
        &self,
        user: &UserId,
        import_id: &str,
        key: &str,
        spent: &ImportUsage,
    ) -> Result<(), StoreError> {
        self.put(
            user,
            &format!("USAGE#{import_id}#{key}"),
            HashMap::from([("body".to_owned(), body(spent))]),
        )
        .await
    }

    async fn usage(&self, user: &UserId, import_id: &str) -> Result<ImportUsage, StoreError> {
        let mut total = ImportUsage::default();
        for item in self
            .query_prefix(user, &format!("USAGE#{import_id}#"))
            .await?
        {
            total.add(&decode::<ImportUsage>("usage", &item)?);
        }
        Ok(total)
    }

    async fn claim(
        &self,
        user: &UserId,
        key: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<Claim, StoreError> {
        let sk = format!("CLAIM#{key}");
        let until = expires_at.unix_timestamp().max(0) as u64;
        let attrs = HashMap::from([
            ("done".to_owned(), AttributeValue::Bool(false)),
            ("expires_at".to_owned(), n(until)),
            ("ttl".to_owned(), n(until)),
        ]);
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(with_key(user, &sk, attrs)))
            // TTL deletes late: an expired record is free whether or not it is still there.
            .condition_expression("attribute_not_exists(pk) OR expires_at <= :now")
            .expression_attribute_values(":now", n(now.unix_timestamp().max(0) as u64))
            .send()
            .await
        {
            Ok(_) => Ok(Claim::Acquired),
            Err(e) if condition_failed(&e) => {
                let done = self
                    .get(user, &sk)
                    .await?
                    .and_then(|item| item.get("done").and_then(|d| d.as_bool().ok().copied()))
                    .unwrap_or(false);
                Ok(if done {
                    Claim::Completed
                } else {
                    Claim::InProgress
                })
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn complete_claim(
        &self,
        user: &UserId,
        key: &str,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let until = expires_at.unix_timestamp().max(0) as u64;
        self.put(
            user,
            &format!("CLAIM#{key}"),
            HashMap::from([
                ("done".to_owned(), AttributeValue::Bool(true)),
                ("expires_at".to_owned(), n(until)),
                ("ttl".to_owned(), n(until)),
            ]),
        )
        .await
    }

    async fn release_claim(&self, user: &UserId, key: &str) -> Result<(), StoreError> {
        match self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(user, format!("CLAIM#{key}"))))
            .condition_expression("done = :false")
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // Completed, or not there: nothing to give up.
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// The messages of a call (a turn: the person's and the reply) take their numbers from
    /// their thread's counter in one update and are written in one transaction: turns of the
    /// same thread at once never interleave, and a turn is stored whole or not at all.
    async fn append_chat(&self, user: &UserId, messages: &[ChatMessage]) -> Result<(), StoreError> {
        let mut threads: Vec<&str> = messages.iter().map(|m| m.thread_id.as_str()).collect();
        threads.dedup();
        for thread in threads {
            let turn: Vec<&ChatMessage> =
                messages.iter().filter(|m| m.thread_id == thread).collect();
            let (first, last) = (turn[0], turn[turn.len() - 1]);
            let out = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(Self::key(user, format!("THREAD#{thread}"))))
                .update_expression(
                    "ADD messages :n SET title = if_not_exists(title, :title), updated_at = :at",
                )
                .expression_attribute_values(":n", n(turn.len() as u64))
                .expression_attribute_values(
                    ":title",
                    s(&first.text.chars().take(60).collect::<String>()),
                )
                .expression_attribute_values(
                    ":at",
                    s(&last.at.format(&Rfc3339).unwrap_or_default()),
                )
                .return_values(ReturnValue::UpdatedNew)
                .send()
                .await
                .map_err(unavailable)?;
            let end = get_n(&out.attributes.unwrap_or_default(), "messages")?;
            let start = end + 1 - turn.len() as u64;
            let puts = turn
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let seq = start + i as u64;
                    let stored = ChatMessage {
                        seq,
                        ..(*m).clone()
                    };
                    let put = self.put_item(
                        user,
                        &format!("MSG#{thread}#{seq:010}"),
                        HashMap::from([("body".to_owned(), body(&stored))]),
                    );
                    TransactWriteItem::builder().put(put).build()
                })
                .collect();
            self.transact(puts).await.map_err(|c| match c {
                Cancelled::Failed(e) => e,
                Cancelled::Conditions(_) => StoreError::Conflict,
            })?;
        }
        Ok(())
    }

    async fn chat_messages(
        &self,
        user: &UserId,
        thread_id: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        let upper = before.map_or(MAX_SEQ, |b| b.saturating_sub(1).min(MAX_SEQ));
        while out.len() < limit {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk BETWEEN :low AND :high")
                .expression_attribute_values(":pk", pk(user))
                .expression_attribute_values(":low", s(&format!("MSG#{thread_id}#")))
                .expression_attribute_values(":high", s(&format!("MSG#{thread_id}#{upper:010}")))
                .scan_index_forward(false)
                .limit((limit - out.len()).min(1000) as i32)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for item in page.items.unwrap_or_default() {
                out.push(decode::<ChatMessage>("chat message", &item)?);
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        out.truncate(limit);
        out.reverse();
        Ok(out)
    }

    async fn chat_threads(&self, user: &UserId) -> Result<Vec<ChatThread>, StoreError> {
        let mut threads = Vec::new();
        for item in self.query_prefix(user, "THREAD#").await? {
            let sk = get_s(&item, "sk")?;
            let updated_at = OffsetDateTime::parse(get_s(&item, "updated_at")?, &Rfc3339)
                .map_err(|e| StoreError::Corrupt(format!("thread time: {e}")))?;
            threads.push(ChatThread {
                id: sk.trim_start_matches("THREAD#").to_owned(),
                title: get_s(&item, "title")?.to_owned(),
                messages: get_n(&item, "messages")?,
                updated_at,
            });
        }
        threads.sort_by_key(|t| std::cmp::Reverse(t.updated_at));
        Ok(threads)
    }

    async fn delete_fact(&self, user: &UserId, id: &str) -> Result<bool, StoreError> {
        let Some(gen) = self.memory_generation(user).await? else {
            return Ok(false);
        };
        let matching: Vec<Item> = self
            .query_prefix(user, &format!("MEM#{gen}#"))
            .await?
            .into_iter()
            .filter(|item| get_s(item, "id").is_ok_and(|i| i == id))
            .collect();
        self.delete_items(&matching).await?;
        Ok(!matching.is_empty())
    }

    /// Every item of the user's partition. Their queued messages stay in SQS until a worker
    /// takes them and finds no import to work on.
    async fn forget(&self, user: &UserId) -> Result<(), StoreError> {
        let items = self.query_prefix(user, "").await?;
        self.delete_items(&items).await
    }
}
