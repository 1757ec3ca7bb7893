//! No item SoulPrint writes can pass DynamoDB's 400 KB, whatever a hostile export or model
//! gives: each kind (import state, profile, fact, memory revision, chat thread and message,
//! batch marker) is written at its largest through the domain's own bounds, on moto, and every
//! item in the table is then measured as DynamoDB counts an item's size.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap fails it, with its line

mod common;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use soulprint_core::conversation::Role;
use soulprint_core::import_state::ImportState;
use soulprint_core::memory::{consolidate, markdown, Category, Fact, Origin, Source, Subject};
use soulprint_core::ports::store::{BatchOutcome, ChatMessage, RunId, RunPlan};
use soulprint_core::ports::UserId;
use soulprint_core::profile::Profile;
use soulprint_core::sections::Sections;
use soulprint_core::stages::{fit_marker, tidy_sections, MAX_MESSAGE_CHARS};

/// DynamoDB's limit: 400 KB, names and values together.
const ITEM_LIMIT: usize = 400 * 1024;

/// An item's size as DynamoDB counts it: names and values in UTF-8 bytes, numbers by
/// digits, a map or list 3 bytes and 1 an element.
fn size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => n.len().div_ceil(2) + 1,
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(v) => v.iter().map(String::len).sum(),
        AttributeValue::Ns(v) => v.iter().map(|n| n.len().div_ceil(2) + 1).sum(),
        AttributeValue::L(v) => 3 + v.iter().map(|e| size(e) + 1).sum::<usize>(),
        AttributeValue::M(m) => 3 + m.iter().map(|(k, e)| k.len() + size(e) + 1).sum::<usize>(),
        _ => 0,
    }
}

fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter().map(|(k, v)| k.len() + size(v)).sum()
}

/// Four bytes a character: the worst case of UTF-8.
fn wide(chars: usize) -> String {
    "🜁".repeat(chars)
}

/// An id as long as an export may give one (the reader refuses longer).
fn long_id(n: usize) -> String {
    format!("{n:08}{}", "i".repeat(1_016))
}

fn fact(n: usize, text: &str) -> Fact {
    Fact {
        category: Category::Life,
        text: text.to_owned(),
        subject: Some(Subject::Location),
        source: Source {
            origin: Origin::Conversation,
            conversation_id: long_id(n),
            message_ids: vec![long_id(n + 1)],
            observed_at: None,
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_item_passes_dynamodbs_limit_at_its_largest() {
    let settings = common::resources(30).await;
    let ports = settings.ports(true).await.unwrap();
    let store = &ports.store;
    let ddb = aws_sdk_dynamodb::Client::new(&settings.sdk_config().await);
    let user = UserId::new("hostile-at-every-turn").unwrap();
    let now = ports.clock.now();

    // The control: moto refuses an item past the limit, as DynamoDB does.
    let refused = ddb
        .put_item()
        .table_name(&settings.table)
        .item("pk", AttributeValue::S("control".into()))
        .item("sk", AttributeValue::S("control".into()))
        .item("body", AttributeValue::S("x".repeat(ITEM_LIMIT)))
        .send()
        .await;
    assert!(refused.is_err(), "moto enforces the item limit");

    // An import state failed with the longest reason, and the one the writes below need.
    let failed = UserId::new("failed-at-length").unwrap();
    let mut state = ImportState::begin(None, "i0", now).unwrap();
    state.fail("i0", &wide(1_000_000), now).unwrap();
    store.put_import_state(&failed, &state, None).await.unwrap();
    let mut state = ImportState::begin(None, "i1", now).unwrap();
    state.quick_ready("i1", now).unwrap();
    store.put_import_state(&user, &state, None).await.unwrap();

    // A fact restated in 3,000 conversations, its text at the longest a model may give.
    let text = format!("Lives in Lisbon {}", wide(284));
    let restated: Vec<Fact> = (0..3_000).map(|n| fact(n * 2, &text)).collect();
    let memory = consolidate(restated);
    assert_eq!(memory.len(), 1);
    store.replace_memory(&user, "i1", &memory).await.unwrap();
    let revision = store.memory_revision(&user).await.unwrap();
    store
        .put_facts(&user, revision.as_deref(), &memory)
        .await
        .unwrap();

    // The profile: a model's sections and MEMORY at their longest, cut by the domain.
    let mut sections = Sections::default();
    for field in sections.texts_mut() {
        *field = wide(100_000);
    }
    for (list, _) in sections.lists_mut() {
        *list = vec![wide(10_000); 1_000];
    }
    let (sections, notes) = tidy_sections(sections, user.as_str());
    let mut profile = Profile {
        import_id: "i1".into(),
        sections,
        memory_md: Some(markdown::fit(wide(1_000_000))),
        chunk_index: None,
        soulprint_text: String::new(),
        written_by: wide(1_000),
        notes,
        updated_at: now,
    };
    profile.render(now);
    store.put_profile(&user, &profile).await.unwrap();

    // A chat message at the longest a person may send.
    store
        .append_chat(
            &user,
            &[ChatMessage {
                thread_id: "0193a1b2c3d4e5f60718293a4b5c6d7e".into(),
                seq: 0,
                id: long_id(7),
                role: Role::User,
                text: wide(MAX_MESSAGE_CHARS),
                answered_by: None,
                at: now,
            }],
        )
        .await
        .unwrap();

    // A batch whose pack gave as many facts as the stage keeps (16 chunks, 40 each).
    let run = RunId {
        import_id: "i1".into(),
        attempt: 1,
    };
    store
        .plan_run(
            &user,
            &run,
            RunPlan {
                batches: 2,
                chunks: 16,
            },
        )
        .await
        .unwrap();
    let mut facts: Vec<Fact> = (0..640).map(|n| fact(n, &text)).collect();
    fit_marker(&mut facts);
    assert!(!facts.is_empty());
    store
        .record_batch(
            &user,
            &run,
            1,
            &BatchOutcome {
                facts,
                chunks: 16,
                ..BatchOutcome::default()
            },
        )
        .await
        .unwrap();

    // Every item, measured.
    let mut largest: HashMap<String, usize> = HashMap::new();
    let mut start = None;
    loop {
        let page = ddb
            .scan()
            .table_name(&settings.table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        for item in page.items() {
            let kind = match item.get("sk") {
                Some(AttributeValue::S(sk)) => sk.split('#').next().unwrap_or("").to_owned(),
                _ => String::new(),
            };
            let bytes = item_size(item);
            let entry = largest.entry(kind).or_default();
            *entry = (*entry).max(bytes);
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
    }
    let mut kinds: Vec<_> = largest.into_iter().collect();
    kinds.sort();
    println!("largest item of each kind, bytes: {kinds:?}");
    for (kind, bytes) in &kinds {
        assert!(*bytes < ITEM_LIMIT, "{kind}: {bytes} bytes");
    }
    assert!(kinds.len() >= 6, "every kind was written: {kinds:?}");
}
