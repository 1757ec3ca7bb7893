//! A chat turn's DynamoDB items at 10,000 facts, on moto: what one turn reads and writes must
//! not grow with the memory (one partition takes 1,000 write units a second). moto reports no
//! capacity units, so an interceptor counts the items each request writes and each answer
//! holds.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap fails it, with its line

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use serde_json::Value;
use soulprint_aws::DynamoStore;
use soulprint_core::import_state::ImportState;
use soulprint_core::memory::{consolidate, Category, Fact, Origin, Source};
use soulprint_core::ports::{Llm, UserId};
use soulprint_core::stages::{chat_turn, Chat, ChatBudget};
use soulprint_e2e::pipeline::ScriptedModel;

/// Items written by requests and held by answers, as DynamoDB bills them (one each).
#[derive(Debug, Default)]
struct Items {
    written: AtomicUsize,
    read: AtomicUsize,
}

impl Items {
    fn take(&self) -> (usize, usize) {
        (
            self.written.swap(0, Ordering::SeqCst),
            self.read.swap(0, Ordering::SeqCst),
        )
    }
}

#[derive(Debug)]
struct Counting(Arc<Items>);

fn operation(headers: &aws_sdk_dynamodb::config::http::HttpRequest) -> String {
    headers
        .headers()
        .get("x-amz-target")
        .unwrap_or_default()
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_owned()
}

impl Intercept for Counting {
    fn name(&self) -> &'static str {
        "CountingItems"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let body: Value = serde_json::from_slice(request.body().bytes().unwrap_or(b"{}"))?;
        let written = match operation(request).as_str() {
            "PutItem" | "UpdateItem" | "DeleteItem" => 1,
            "BatchWriteItem" => body["RequestItems"].as_object().map_or(0, |tables| {
                tables
                    .values()
                    .map(|w| w.as_array().map_or(0, Vec::len))
                    .sum()
            }),
            "TransactWriteItems" => body["TransactItems"].as_array().map_or(0, |items| {
                items
                    .iter()
                    .filter(|i| i.get("ConditionCheck").is_none())
                    .count()
            }),
            _ => 0,
        };
        self.0.written.fetch_add(written, Ordering::SeqCst);
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(bytes) = context.response().body().bytes() else {
            return Ok(());
        };
        let body: Value = serde_json::from_slice(bytes).unwrap_or_default();
        let read = if let Some(items) = body["Items"].as_array() {
            items.len()
        } else if body.get("Item").is_some() {
            1
        } else if let Some(tables) = body["Responses"].as_object() {
            tables
                .values()
                .map(|t| t.as_array().map_or(0, Vec::len))
                .sum()
        } else {
            0
        };
        self.0.read.fetch_add(read, Ordering::SeqCst);
        Ok(())
    }
}

const FACTS: usize = 10_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_turn_at_ten_thousand_facts_reads_and_writes_a_handful_of_items() {
    let settings = common::resources(30).await;
    let sdk = settings.sdk_config().await;
    let items = Arc::new(Items::default());
    let ddb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(Counting(Arc::clone(&items)))
            .build(),
    );
    let store = Arc::new(DynamoStore::new(ddb, settings.table.clone()));
    let mut ports = settings.ports(true).await.unwrap();
    ports.store = store;
    let llm: Arc<dyn Llm> = Arc::new(ScriptedModel::new(vec![], vec![]));
    ports.llm = Arc::clone(&llm);
    ports.fact_llm = llm;
    let user = UserId::new("remembers-a-lot").unwrap();
    let now = ports.clock.now();

    let facts: Vec<Fact> = (0..FACTS)
        .map(|i| Fact {
            category: Category::Preference,
            text: format!("I collect stamp series number {i}"),
            subject: None,
            source: Source {
                origin: Origin::Conversation,
                conversation_id: format!("c{i}"),
                message_ids: vec![format!("m{i}")],
                observed_at: Some(now),
            },
        })
        .collect();
    let memory = consolidate(facts);
    assert_eq!(memory.len(), FACTS);
    // Seeded as an import's pass writes it (batches of 25): the learning turn then writes
    // one fact into a memory it did not write.
    let mut state = ImportState::begin(None, "i1", now).unwrap();
    state.quick_ready("i1", now).unwrap();
    ports
        .store
        .put_import_state(&user, &state, None)
        .await
        .unwrap();
    ports
        .store
        .replace_memory(&user, "i1", &memory)
        .await
        .unwrap();
    let profile = soulprint_e2e::pipeline::profile("Wren", now);
    ports.store.put_profile(&user, &profile).await.unwrap();
    items.take();

    let chat = Chat::default();
    let budget = ChatBudget {
        primary: Duration::from_secs(30),
        fallback: Duration::from_secs(30),
    };
    let turn = |text: &'static str| {
        let (ports, chat, user) = (&ports, &chat, &user);
        async move {
            chat_turn(ports, chat, user, None, text, budget, &|_| {})
                .await
                .unwrap()
        }
    };

    // The first turn of a cold instance loads the memory once.
    turn("What do I collect?").await;
    let (cold_written, cold_read) = items.take();
    // A warm turn that learns a new fact, and one that learns nothing.
    let learned = turn("I moved to Porto in 2026. What should I see first?").await;
    assert!(!learned.learned.is_empty(), "the statement was learned");
    let (learning_written, learning_read) = items.take();
    turn("And what should I eat there?").await;
    let (plain_written, plain_read) = items.take();

    println!(
        "at {FACTS} facts, items per chat turn: cold {cold_read} read / {cold_written} written; \
         learning {learning_read} read / {learning_written} written; \
         plain {plain_read} read / {plain_written} written"
    );
    assert!(cold_read >= FACTS, "a cold instance reads the memory once");
    assert!(
        cold_written <= 4,
        "{cold_written} written by a turn that learned nothing"
    );
    // The turn's messages, the learned fact and the memory's revision; the reads are the
    // profile, the thread and the revision.
    assert!(
        learning_written <= 6,
        "{learning_written} written to learn one fact (replacing the memory wrote {})",
        2 * FACTS
    );
    assert!(learning_read <= 10, "{learning_read} read by a warm turn");
    assert!(plain_written <= 4 && plain_read <= 10);
    // The learned fact is in the memory, and the others are untouched.
    let after = ports.store.memory(&user).await.unwrap();
    assert_eq!(after.len(), FACTS + 1);
    assert!(after.iter().any(|f| f.text.contains("Porto")));
}
