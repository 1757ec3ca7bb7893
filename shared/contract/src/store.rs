//! What every [`Store`] must do.

use std::sync::Arc;

use soulprint_core::import_state::{ImportState, Stage};
use soulprint_core::memory::{Category, Fact, FactStatus, MemoryFact, Origin, Source};
use soulprint_core::ports::llm::Usage;
use soulprint_core::ports::store::{BatchOutcome, Claim, ImportUsage, RunId, RunPlan};
use soulprint_core::ports::{Store, StoreError, UserId};
use soulprint_core::profile::Profile;
use soulprint_core::sections::Sections;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

fn user(name: &str) -> UserId {
    UserId::new(format!("{name}-{}", std::process::id())).unwrap()
}

fn t0() -> OffsetDateTime {
    datetime!(2026-01-01 12:00 UTC)
}

fn fact(text: &str) -> Fact {
    Fact {
        category: Category::Life,
        text: text.into(),
        subject: None,
        source: Source {
            origin: Origin::Conversation,
            conversation_id: "c1".into(),
            message_ids: vec!["m1".into()],
            observed_at: Some(t0()),
        },
    }
}

pub async fn conditional_writes_conflict(store: Arc<dyn Store>) {
    let u = user("cond");
    let s = ImportState::begin(None, "i1", t0()).unwrap();
    let v1 = store.put_import_state(&u, &s, None).await.unwrap();
    assert!(matches!(
        store.put_import_state(&u, &s, None).await,
        Err(StoreError::Conflict)
    ));
    let v2 = store.put_import_state(&u, &s, Some(v1)).await.unwrap();
    assert_ne!(v1, v2);
    assert!(matches!(
        store.put_import_state(&u, &s, Some(v1)).await,
        Err(StoreError::Conflict)
    ));
    let read = store.import_state(&u).await.unwrap().unwrap();
    assert_eq!((read.version, read.value), (v2, s));
}

pub async fn progress_never_goes_back_when_writers_race(store: Arc<dyn Store>) {
    let u = user("race");
    let s = ImportState::begin(None, "i1", t0()).unwrap();
    store.put_import_state(&u, &s, None).await.unwrap();
    // A late writer (Parsing) and a prompt one (Generating) race, many times over.
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (store, u) = (Arc::clone(&store), u.clone());
        let stage = if i % 2 == 0 {
            Stage::GeneratingSoulprint
        } else {
            Stage::Parsing
        };
        tasks.push(tokio::spawn(async move {
            loop {
                let stored = store.import_state(&u).await.unwrap().unwrap();
                let mut next = stored.value.clone();
                next.advance("i1", stage, t0()).unwrap();
                match store
                    .put_import_state(&u, &next, Some(stored.version))
                    .await
                {
                    Ok(_) => return,
                    Err(StoreError::Conflict) => continue,
                    Err(e) => panic!("{e}"),
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let end = store.import_state(&u).await.unwrap().unwrap().value;
    assert_eq!(end.progress_percent, Stage::GeneratingSoulprint.percent());
    assert_eq!(end.stage, Stage::GeneratingSoulprint.words());
}

pub async fn a_redelivered_batch_counts_once(store: Arc<dyn Store>) {
    let u = user("batch");
    let run = RunId {
        import_id: "i1".into(),
        attempt: 1,
    };
    store
        .plan_run(
            &u,
            &run,
            RunPlan {
                batches: 2,
                chunks: 5,
            },
        )
        .await
        .unwrap();
    // A second plan for the same run changes nothing.
    store
        .plan_run(
            &u,
            &run,
            RunPlan {
                batches: 9,
                chunks: 9,
            },
        )
        .await
        .unwrap();
    let outcome = BatchOutcome {
        facts: vec![fact("I have two cats.")],
        chunks: 3,
        failed_chunks: 1,
        usage: Usage {
            calls: 3,
            input_tokens: 300,
            output_tokens: 30,
            cost_usd: 0.5,
        },
        input_tokens_sent: 300,
    };
    let first = store.record_batch(&u, &run, 1, &outcome).await.unwrap();
    assert!(first.newly_recorded);
    assert_eq!((first.batches_done, first.batches_total), (1, 2));
    assert_eq!(
        (first.chunks_done, first.chunks_total, first.failed_chunks),
        (3, 5, 1)
    );
    assert!(!first.complete());
    let again = store.record_batch(&u, &run, 1, &outcome).await.unwrap();
    assert!(!again.newly_recorded);
    assert_eq!((again.batches_done, again.chunks_done), (1, 3));
    assert!(store.batch_done(&u, &run, 1).await.unwrap());
    assert!(!store.batch_done(&u, &run, 2).await.unwrap());
    let last = store
        .record_batch(
            &u,
            &run,
            2,
            &BatchOutcome {
                chunks: 2,
                ..BatchOutcome::default()
            },
        )
        .await
        .unwrap();
    assert!(last.complete());
    assert_eq!(
        store.run_facts(&u, &run).await.unwrap(),
        vec![fact("I have two cats.")]
    );
    let usage = store.usage(&u, "i1").await.unwrap();
    assert_eq!(
        usage.fact_extraction.calls, 3,
        "a redelivery spends nothing twice"
    );
    assert_eq!(usage.fact_input_tokens_sent, 300);
    // Another run of the same import starts from nothing.
    let retry = RunId { attempt: 2, ..run };
    assert!(store.run_progress(&u, &retry).await.unwrap().is_none());
    assert!(
        store.record_batch(&u, &retry, 1, &outcome).await.is_err(),
        "no plan, no batch"
    );
}

pub async fn idempotency_records_expire(store: Arc<dyn Store>) {
    let u = user("idem");
    let k = "finalize/i1/1";
    let claim = |at: OffsetDateTime| {
        let (store, u) = (Arc::clone(&store), u.clone());
        async move {
            store
                .claim(&u, k, at, at + Duration::seconds(10))
                .await
                .unwrap()
        }
    };
    assert_eq!(claim(t0()).await, Claim::Acquired);
    assert_eq!(claim(t0() + Duration::seconds(5)).await, Claim::InProgress);
    // The holder died: its claim expires and the next worker takes it.
    assert_eq!(claim(t0() + Duration::seconds(11)).await, Claim::Acquired);
    store
        .complete_claim(&u, k, t0() + Duration::seconds(60))
        .await
        .unwrap();
    assert_eq!(claim(t0() + Duration::seconds(30)).await, Claim::Completed);
    // A completion is remembered only so long.
    assert_eq!(claim(t0() + Duration::seconds(61)).await, Claim::Acquired);
    store.release_claim(&u, k).await.unwrap();
    assert_eq!(claim(t0() + Duration::seconds(62)).await, Claim::Acquired);
}

pub async fn no_access_across_users(store: Arc<dyn Store>) {
    let (a, b) = (user("alice"), user("bob"));
    let s = ImportState::begin(None, "ia", t0()).unwrap();
    store.put_import_state(&a, &s, None).await.unwrap();
    store.put_profile(&a, &profile("ia")).await.unwrap();
    store
        .replace_memory(&a, "ia", &[memory_fact("f1")])
        .await
        .unwrap();
    let run = RunId {
        import_id: "ia".into(),
        attempt: 1,
    };
    store
        .plan_run(
            &a,
            &run,
            RunPlan {
                batches: 1,
                chunks: 1,
            },
        )
        .await
        .unwrap();
    store
        .record_batch(
            &a,
            &run,
            0,
            &BatchOutcome {
                facts: vec![fact("x y z")],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    store
        .claim(&a, "k", t0(), t0() + Duration::hours(1))
        .await
        .unwrap();

    assert!(store.import_state(&b).await.unwrap().is_none());
    assert!(store.profile(&b).await.unwrap().is_none());
    assert!(store.memory(&b).await.unwrap().is_empty());
    assert!(store.run_progress(&b, &run).await.unwrap().is_none());
    assert!(store.run_facts(&b, &run).await.unwrap().is_empty());
    assert_eq!(
        store
            .claim(&b, "k", t0(), t0() + Duration::hours(1))
            .await
            .unwrap(),
        Claim::Acquired
    );
    // Bob's writes and his forgetting leave Alice alone.
    store.put_import_state(&b, &s, None).await.unwrap();
    store.forget(&b).await.unwrap();
    assert!(store.import_state(&b).await.unwrap().is_none());
    assert!(store.import_state(&a).await.unwrap().is_some());
    assert_eq!(store.memory(&a).await.unwrap().len(), 1);
    store.forget(&a).await.unwrap();
    assert!(store.profile(&a).await.unwrap().is_none());
    assert!(store.memory(&a).await.unwrap().is_empty());
    assert!(store.run_facts(&a, &run).await.unwrap().is_empty());
}

pub async fn profile_memory_and_usage_round_trip(store: Arc<dyn Store>) {
    let u = user("round");
    let s = ImportState::begin(None, "i1", t0()).unwrap();
    store.put_import_state(&u, &s, None).await.unwrap();
    let p = profile("i1");
    store.put_profile(&u, &p).await.unwrap();
    assert_eq!(store.profile(&u).await.unwrap(), Some(p));
    let facts = vec![memory_fact("f2"), memory_fact("f1")];
    store.replace_memory(&u, "i1", &facts).await.unwrap();
    assert_eq!(store.memory(&u).await.unwrap(), facts, "order kept");
    store.replace_memory(&u, "i1", &facts[1..]).await.unwrap();
    assert_eq!(store.memory(&u).await.unwrap(), facts[1..]);
    let spent = ImportUsage {
        quick_pass: Usage {
            calls: 1,
            input_tokens: 10,
            output_tokens: 5,
            cost_usd: 0.25,
        },
        export_tokens: 1000,
        cost_usd: 0.25,
        ..ImportUsage::default()
    };
    // A step that runs again replaces its record; different steps add up.
    store
        .record_usage(&u, "i1", "quick_pass", &spent)
        .await
        .unwrap();
    store
        .record_usage(&u, "i1", "quick_pass", &spent)
        .await
        .unwrap();
    store
        .record_usage(&u, "i1", "finalize/1", &spent)
        .await
        .unwrap();
    let total = store.usage(&u, "i1").await.unwrap();
    assert_eq!(total.quick_pass.calls, 2);
    assert_eq!(total.export_tokens, 2000);
    assert!((total.cost_usd - 0.5).abs() < 1e-9);
    assert_eq!(
        store.usage(&u, "other").await.unwrap(),
        ImportUsage::default()
    );
}

pub async fn writes_for_a_replaced_import_are_refused(store: Arc<dyn Store>) {
    let u = user("stale");
    let first = ImportState::begin(None, "old", t0()).unwrap();
    let v = store.put_import_state(&u, &first, None).await.unwrap();
    store.put_profile(&u, &profile("old")).await.unwrap();
    let second = ImportState::begin(None, "new", t0()).unwrap();
    store.put_import_state(&u, &second, Some(v)).await.unwrap();
    // The old import's late worker writes nothing.
    assert!(matches!(
        store.put_profile(&u, &profile("old")).await,
        Err(StoreError::Stale(_))
    ));
    assert!(matches!(
        store.replace_memory(&u, "old", &[memory_fact("f9")]).await,
        Err(StoreError::Stale(_))
    ));
    assert!(store.memory(&u).await.unwrap().is_empty());
    store.put_profile(&u, &profile("new")).await.unwrap();
    assert_eq!(store.profile(&u).await.unwrap().unwrap().import_id, "new");
    // No import at all: nothing to write a profile for.
    let nobody = user("nobody");
    assert!(matches!(
        store.put_profile(&nobody, &profile("x")).await,
        Err(StoreError::Stale(_))
    ));
}

pub async fn chat_threads_keep_their_order_and_their_user(store: Arc<dyn Store>) {
    use soulprint_core::conversation::Role;
    use soulprint_core::ports::store::ChatMessage;
    let (u, other) = (user("chat"), user("chat-other"));
    let message = |thread: &str, text: &str, minute: i64| ChatMessage {
        thread_id: thread.into(),
        seq: 0,
        id: format!("{thread}-{text}"),
        role: if text.starts_with('q') {
            Role::User
        } else {
            Role::Assistant
        },
        text: text.into(),
        answered_by: None,
        at: t0() + Duration::minutes(minute),
    };
    store
        .append_chat(&u, &[message("t1", "q1", 0), message("t1", "a1", 1)])
        .await
        .unwrap();
    store
        .append_chat(&u, &[message("t2", "q9", 5)])
        .await
        .unwrap();
    store
        .append_chat(&u, &[message("t1", "q2", 2), message("t1", "a2", 3)])
        .await
        .unwrap();
    let all = store.chat_messages(&u, "t1", None, 10).await.unwrap();
    let texts: Vec<_> = all.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["q1", "a1", "q2", "a2"]);
    assert_eq!(all.iter().map(|m| m.seq).collect::<Vec<_>>(), [1, 2, 3, 4]);
    // Pages: the last two, then the two before.
    let last = store.chat_messages(&u, "t1", None, 2).await.unwrap();
    assert_eq!(last[0].text, "q2");
    let before = store
        .chat_messages(&u, "t1", Some(last[0].seq), 2)
        .await
        .unwrap();
    assert_eq!(
        before.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
        ["q1", "a1"]
    );
    let threads = store.chat_threads(&u).await.unwrap();
    assert_eq!(
        threads.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        ["t2", "t1"]
    );
    assert_eq!((threads[1].title.as_str(), threads[1].messages), ("q1", 4));
    assert!(store.chat_threads(&other).await.unwrap().is_empty());
    assert!(store
        .chat_messages(&other, "t1", None, 10)
        .await
        .unwrap()
        .is_empty());
    store.forget(&u).await.unwrap();
    assert!(store.chat_threads(&u).await.unwrap().is_empty());
}

pub async fn facts_are_deleted_one_by_one(store: Arc<dyn Store>) {
    let u = user("delete");
    let s = ImportState::begin(None, "i1", t0()).unwrap();
    store.put_import_state(&u, &s, None).await.unwrap();
    store
        .replace_memory(&u, "i1", &[memory_fact("f1"), memory_fact("f2")])
        .await
        .unwrap();
    assert!(store.delete_fact(&u, "f1").await.unwrap());
    assert!(!store.delete_fact(&u, "f1").await.unwrap());
    assert!(!store
        .delete_fact(&user("delete-other"), "f2")
        .await
        .unwrap());
    let left: Vec<_> = store
        .memory(&u)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.id)
        .collect();
    assert_eq!(left, ["f2"]);
}

fn profile(import_id: &str) -> Profile {
    let mut sections = Sections::default();
    sections.identity.ai_name = "Wren".into();
    Profile {
        import_id: import_id.into(),
        sections,
        memory_md: Some("## Preferences\n- Tea".into()),
        soulprint_text: "# Wren".into(),
        written_by: "test".into(),
        notes: vec![],
        chunk_index: None,
        updated_at: t0(),
    }
}

fn memory_fact(id: &str) -> MemoryFact {
    MemoryFact {
        id: id.into(),
        category: Category::Preference,
        text: format!("Fact {id}"),
        subject: None,
        status: FactStatus::Current,
        superseded_by: None,
        sources: vec![fact("x").source],
    }
}
