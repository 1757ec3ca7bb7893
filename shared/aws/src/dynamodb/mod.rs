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

//!
//! The store's roles are one module each ([`soulprint_core::ports::store`] names them); the
//! item codec is `codec`, the table's creation [`table`], rate-limit windows
//! [`rate_windows`].

mod chats;
mod claims;
pub(crate) mod codec;
mod imports;
mod memory;
mod people;
mod profiles;
pub mod rate_windows;
mod runs;
pub mod table;
mod usage;

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, DeleteRequest, Put, TransactWriteItem, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use soulprint_core::ports::store::{RunId, RunProgress};
use soulprint_core::ports::{StoreError, UserId};

use crate::error_text::described;
use codec::{get_n, get_s, s};

pub use table::create_table;

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
