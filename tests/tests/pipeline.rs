//! The pipeline end to end on one machine: generated exports, the local adapters, a scripted
//! model double.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap fails it, with its line

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use soulprint_core::conversation::Conversation;
use soulprint_core::export::ReadOptions;
use soulprint_core::import_state::{FullPassStatus, ImportState, ImportStatus};
use soulprint_core::memory::{FactStatus, Subject};
use soulprint_core::model::questions::profile_prompt;
use soulprint_core::ports::store::StoreParts;
use soulprint_core::ports::{Clock, Llm, UserId};
use soulprint_core::stages::{
    import_blob, new_import_id, retry_full_pass, start_import, EXPORT_BLOB,
};
use soulprint_e2e::pipeline::{
    self, finished, generated, sections, start, ManualClock, RecordingImports, ScriptedModel,
};
use soulprint_generator::{PlantedFact, Report};
use soulprint_local::{Local, LocalOptions};

struct Run {
    local: Local,
    user: UserId,
    _dir: tempfile::TempDir,
}

fn export(seed: u64, bytes: u64) -> (Vec<u8>, Report) {
    generated(seed, bytes, 200_000)
}

fn open(llm: Arc<dyn Llm>) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let local = Local::open(LocalOptions {
        data_dir: dir.path().to_path_buf(),
        llm,
        fact_llm: None,
        fact_workers: 3,
        fact_tokens_per_minute: None,
    })
    .unwrap();
    Run {
        local,
        user: UserId::new("e2e-user").unwrap(),
        _dir: dir,
    }
}

async fn import(run: &Run, bytes: Vec<u8>) -> String {
    start(&run.local, &run.user, bytes).await
}

async fn work_until(run: &Run, done: impl Fn(&ImportState) -> bool) -> ImportState {
    pipeline::work_until(&run.local, &run.user, done).await
}

/// A planted fact's sentence as the person states it, its lead-in ("By the way, ") left out.
fn sentence(p: &PlantedFact) -> String {
    p.fact
        .split_once(", ")
        .map_or(p.fact.clone(), |(_, f)| f.to_owned())
}

/// An export, its first remembered planted fact, that fact's sentence, and a model that
/// leaves the chunks stating it out of every pack's answer.
fn garbled() -> (Vec<u8>, PlantedFact, String, Arc<ScriptedModel>) {
    let (bytes, report) = export(12, 1_500_000);
    let planted = report
        .planted
        .into_iter()
        .find(|p| !p.do_not_remember)
        .unwrap();
    let text = sentence(&planted);
    let model = Arc::new(ScriptedModel {
        garble_in_packs: Some(text.clone()),
        ..ScriptedModel::new(vec![text.clone()], vec![Ok(sections("Marlowe"))])
    });
    (bytes, planted, text, model)
}

/// Keeps every import state the run's store is given, in `states`.
fn record_imports(run: &mut Run) -> Arc<RecordingImports> {
    let mut store = StoreParts::of(Arc::clone(&run.local.ports.store));
    let recording = Arc::new(RecordingImports {
        inner: store.imports,
        states: Default::default(),
    });
    store.imports = recording.clone();
    run.local.ports.store = Arc::new(store);
    recording
}

fn conversations(bytes: &[u8]) -> Vec<Conversation> {
    soulprint_e2e::read(bytes.to_vec(), &ReadOptions::default())
        .unwrap()
        .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_becomes_a_soulprint_then_memory_with_sources() {
    let (bytes, report) = export(11, 3_000_000);
    let planted: Vec<String> = report.planted.iter().map(sentence).collect();
    let model = Arc::new(ScriptedModel::new(
        planted.clone(),
        vec![Ok(sections("Assistant")), Ok(sections("Marlowe"))],
    ));
    let mut run = open(model.clone());
    let recording = record_imports(&mut run);
    let import_id = import(&run, bytes.clone()).await;
    let end = work_until(&run, finished).await;
    assert_eq!(end.status, ImportStatus::Complete, "{end:?}");
    assert_eq!(end.full_pass.status, FullPassStatus::Complete);

    // The states the person saw: forward only, through every stage, then the full pass.
    let mut versioned = recording.states.lock().unwrap().clone();
    versioned.sort_by_key(|(v, _)| *v);
    let states: Vec<ImportState> = versioned.into_iter().map(|(_, s)| s).collect();
    let mut stages: Vec<&str> = states.iter().map(|s| s.stage.as_str()).collect();
    stages.dedup();
    assert_eq!(
        stages,
        [
            "Starting…",
            "Downloading export",
            "Parsing conversations",
            "Generating soulprint",
            "Complete"
        ]
    );
    for pair in states.windows(2) {
        assert!(
            pair[1].progress_percent >= pair[0].progress_percent,
            "{pair:?}"
        );
        assert!(pair[1].full_pass.chunks_done >= pair[0].full_pass.chunks_done);
    }
    let statuses: Vec<(ImportStatus, FullPassStatus)> = {
        let mut v: Vec<_> = states
            .iter()
            .map(|s| (s.status, s.full_pass.status))
            .collect();
        v.dedup();
        v
    };
    assert_eq!(
        statuses,
        [
            (ImportStatus::Processing, FullPassStatus::None),
            (ImportStatus::QuickReady, FullPassStatus::Processing),
            (ImportStatus::Complete, FullPassStatus::Complete),
        ]
    );
    assert!(
        states
            .iter()
            .any(|s| s.full_pass.chunks_done > 0
                && s.full_pass.chunks_done < s.full_pass.chunks_total),
        "progress in between"
    );

    // The quick pass saw the sampled conversations and what ChatGPT knew.
    let requests = model.profile_requests.lock().unwrap().clone();
    assert_eq!(
        requests.len(),
        2,
        "quick pass, then the regeneration with MEMORY"
    );
    let quick = &requests[0];
    assert!(quick.sample.len() >= 5 && quick.memory_md.is_none());
    let prompt = profile_prompt(quick);
    for c in &quick.sample {
        assert!(prompt.contains(&c.text));
    }
    let all = conversations(&bytes);
    let by_id: HashMap<&str, &Conversation> = all.iter().map(|c| (c.id.as_str(), c)).collect();
    for c in &quick.sample {
        let conv = by_id[c.id.as_str()];
        assert!(!conv.do_not_remember);
        let title = conv.title.as_deref().unwrap_or("Untitled");
        assert!(
            c.text.starts_with(&format!("## {title}")),
            "introduced by its title"
        );
    }
    assert!(!quick.signals.custom_instructions.is_empty());
    assert!(requests[1]
        .memory_md
        .as_deref()
        .is_some_and(|m| m.contains("## Preferences")));

    // The profile: a generic name replaced, regenerated sections, MEMORY from the template
    // (the model's was a placeholder).
    let profile = run
        .local
        .ports
        .store
        .profile(&run.user)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(profile.ai_name(), "Marlowe");
    let memory_md = profile.memory_md.as_deref().unwrap();
    for heading in [
        "## Preferences",
        "## Projects",
        "## Important Dates",
        "## Beliefs & Values",
        "## Decisions & Context",
    ] {
        assert!(memory_md.contains(heading), "{heading}");
    }
    assert!(profile.soulprint_text.contains("## MEMORY"));
    assert!(
        !memory_md.contains("moon"),
        "a fact resting on nothing is dropped"
    );

    // Every planted fact outside do-not-remember conversations is remembered, with its
    // conversation, its message and the message's time; none from the others.
    let memory = run.local.ports.store.memory(&run.user).await.unwrap();
    for (p, text) in report.planted.iter().zip(&planted) {
        let found = memory.iter().find(|f| &f.text == text);
        if p.do_not_remember {
            let leaked = found.is_some_and(|f| {
                f.sources
                    .iter()
                    .any(|s| s.conversation_id == p.conversation_id)
            });
            assert!(
                !leaked,
                "remembered from a do-not-remember conversation: {text}"
            );
            continue;
        }
        let fact = found.unwrap_or_else(|| panic!("not remembered: {text}"));
        let source = fact
            .sources
            .iter()
            .find(|s| s.conversation_id == p.conversation_id)
            .unwrap_or_else(|| panic!("{text}: no source in {}", p.conversation_id));
        assert_eq!(source.message_ids, std::slice::from_ref(&p.message_id));
        let message = by_id[p.conversation_id.as_str()]
            .messages
            .iter()
            .find(|m| m.id == p.message_id)
            .unwrap();
        assert_eq!(
            source.observed_at,
            message
                .created_at
                .or(by_id[p.conversation_id.as_str()].updated_at)
        );
    }
    // Seeds: ChatGPT's memory and the custom instructions are remembered too.
    assert!(memory.iter().any(|f| f
        .sources
        .iter()
        .any(|s| s.origin == soulprint_core::memory::Origin::CustomInstructions)));

    // Tokens and cost are recorded per import.
    let usage = run
        .local
        .ports
        .store
        .usage(&run.user, &import_id)
        .await
        .unwrap();
    assert_eq!(usage.quick_pass.calls, 2);
    let calls = model.fact_requests.lock().unwrap().len();
    assert!(usage.fact_extraction.calls as usize == calls);
    // Chunks go to the model in packs, each chunk once; those the pre-filter skips not at all.
    let (asked, distinct) = model.chunks_asked();
    assert_eq!(distinct, asked, "each chunk asked once");
    assert!(asked as u64 <= end.full_pass.chunks_total);
    assert!(
        calls * 3 <= asked,
        "{calls} calls for {asked} chunks: chunks are packed"
    );
    assert!(usage.cost_usd > 0.0 && usage.export_tokens > 0);
    assert!(
        usage.fact_input_tokens_sent < usage.export_tokens / 2,
        "{usage:?}"
    );
    // No chunk of a do-not-remember conversation reached the model.
    for chunk in model
        .fact_requests
        .lock()
        .unwrap()
        .iter()
        .flat_map(|r| &r.chunks)
    {
        assert!(!by_id[chunk.conversation_id.as_str()].do_not_remember);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_a_packed_answer_leaves_out_is_asked_alone_and_keeps_its_source() {
    let (bytes, planted, text, model) = garbled();
    let run = open(model.clone());
    import(&run, bytes).await;
    let end = work_until(&run, finished).await;
    assert_eq!(end.status, ImportStatus::Complete, "{end:?}");

    let requests = model.fact_requests.lock().unwrap().clone();
    let holding: Vec<usize> = requests
        .iter()
        .filter(|r| r.chunks.iter().any(|c| c.text.contains(&text)))
        .map(|r| r.chunks.len())
        .collect();
    assert!(holding.len() >= 2 && holding[0] > 1, "{holding:?}");
    assert!(holding.contains(&1), "asked again alone: {holding:?}");
    // Its fact is remembered, from its own conversation and message.
    let memory = run.local.ports.store.memory(&run.user).await.unwrap();
    let fact = memory.iter().find(|f| f.text == text).unwrap();
    let source = fact
        .sources
        .iter()
        .find(|s| s.conversation_id == planted.conversation_id)
        .unwrap();
    assert_eq!(
        source.message_ids,
        std::slice::from_ref(&planted.message_id)
    );
    let progress = run
        .local
        .ports
        .store
        .run_progress(
            &run.user,
            &soulprint_core::ports::store::RunId {
                import_id: end.import_id.clone(),
                attempt: 1,
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(progress.failed_chunks, 0, "answered alone, it did not fail");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_model_slows_the_full_pass_without_failing_it() {
    use soulprint_core::ports::QueueName;
    use std::sync::atomic::Ordering;
    let (bytes, _) = export(6, 400_000);
    let model = Arc::new(ScriptedModel::new(vec![], vec![Ok(sections("Quill"))]));
    model.throttle_facts.store(true, Ordering::SeqCst);
    let run = open(model.clone());
    let import_id = import(&run, bytes).await;
    let run_id = soulprint_core::ports::store::RunId {
        import_id,
        attempt: 1,
    };
    // Every batch is asked, and throttled.
    let workers = run.local.start_workers().await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let batches = loop {
        let planned = run
            .local
            .ports
            .store
            .run_progress(&run.user, &run_id)
            .await
            .unwrap();
        if let Some(p) = planned {
            if model.throttled.load(Ordering::SeqCst) >= (p.batches_total - 1) as usize {
                break p.batches_total - 1;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not every batch was asked"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    workers.stop(Duration::from_secs(10)).await;
    assert!(batches > 1);

    // Nothing failed: each batch waits on the queue as a new message, for later.
    let state = run
        .local
        .ports
        .store
        .import_state(&run.user)
        .await
        .unwrap()
        .unwrap()
        .value;
    assert_eq!(state.full_pass.status, FullPassStatus::Processing);
    assert_eq!(state.full_pass.error, None);
    let progress = run
        .local
        .ports
        .store
        .run_progress(&run.user, &run_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(progress.failed_chunks, 0);
    assert_eq!(progress.batches_done, 1, "only the export's own facts");
    let queue = &run.local.ports.queue;
    assert_eq!(
        queue.depth(QueueName::Facts).await.unwrap(),
        u64::from(batches)
    );
    assert!(
        queue
            .receive(QueueName::Facts, 10, Duration::from_secs(60))
            .await
            .unwrap()
            .is_empty(),
        "they wait before they come back"
    );
}

/// Batches recorded by many workers do not all write the import's one item: its progress
/// moves about a hundred times over a pass of a thousand batches, and still ends complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_pass_moves_the_imports_progress_a_hundred_times_not_once_a_batch() {
    let (bytes, _) = export(14, 12_000_000);
    let model = Arc::new(ScriptedModel {
        context_tokens: Some(2_048),
        ..ScriptedModel::new(vec![], vec![Ok(sections("Quill"))])
    });
    let mut run = open(model.clone());
    let recording = record_imports(&mut run);
    let import_id = import(&run, bytes).await;
    let end = work_until(&run, finished).await;
    assert_eq!(end.full_pass.status, FullPassStatus::Complete, "{end:?}");
    let batches = run
        .local
        .ports
        .store
        .run_progress(
            &run.user,
            &soulprint_core::ports::store::RunId {
                import_id,
                attempt: 1,
            },
        )
        .await
        .unwrap()
        .unwrap()
        .batches_total;
    let moves = recording
        .states
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, s)| {
            s.full_pass.status == FullPassStatus::Processing && s.full_pass.chunks_done > 0
        })
        .count();
    println!("{batches} batches moved the import's progress {moves} times");
    assert!(batches > 300, "{batches} batches");
    assert!(
        moves <= 130,
        "{moves} writes of the import for {batches} batches"
    );
    assert!(moves >= 10, "progress still shows: {moves}");
}

/// A leftover of a pack that fails for now (the connection dropped) sends its job back, and
/// the job resumes from the pack's kept answer: the pack is not asked, nor paid for, again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leftover_that_fails_for_now_does_not_pay_for_its_pack_again() {
    use soulprint_core::jobs::Job;
    use soulprint_core::ports::Delivery;
    use std::sync::atomic::Ordering;
    let (bytes, planted, text, model) = garbled();
    // The pass is planned while the model's quota is spent: every batch waits.
    model.throttle_facts.store(true, Ordering::SeqCst);
    let run = open(model.clone());
    let import_id = import(&run, bytes).await;
    let watched = Arc::clone(&model);
    work_until(&run, move |s| {
        s.full_pass.chunks_total > 0 && watched.throttled.load(Ordering::SeqCst) > 0
    })
    .await;
    model.throttle_facts.store(false, Ordering::SeqCst);
    model.fail_alone_once.store(true, Ordering::SeqCst);

    // Each batch's job, as a worker gets it; the one whose leftover fails comes back.
    let run_id = soulprint_core::ports::store::RunId {
        import_id: import_id.clone(),
        attempt: 1,
    };
    let store = &run.local.ports.store;
    let batches = store
        .run_progress(&run.user, &run_id)
        .await
        .unwrap()
        .unwrap()
        .batches_total;
    let delivery = |batch| Delivery {
        job: Job::FactBatch {
            user: run.user.clone(),
            import_id: import_id.clone(),
            attempt: 1,
            batch,
        },
        receipt: String::new(),
        receive_count: 1,
        deadline: None,
    };
    let mut came_back = Vec::new();
    for batch in 1..batches {
        if soulprint_core::stages::handle(&run.local.ports, &delivery(batch))
            .await
            .is_err()
        {
            came_back.push(batch);
        }
    }
    assert_eq!(came_back.len(), 1, "{came_back:?}");
    soulprint_core::stages::handle(&run.local.ports, &delivery(came_back[0]))
        .await
        .unwrap();
    assert!(store
        .batch_done(&run.user, &run_id, came_back[0])
        .await
        .unwrap());

    // No pack holding the fact was asked twice; the leftover was answered alone.
    let requests = model.fact_requests.lock().unwrap().clone();
    let holding = |r: &&soulprint_core::ports::llm::FactRequest| {
        r.chunks.iter().any(|c| c.text.contains(&text))
    };
    let mut packed: Vec<(String, u32)> = requests
        .iter()
        .filter(|r| r.chunks.len() > 1)
        .filter(holding)
        .flat_map(|r| {
            r.chunks
                .iter()
                .map(|c| (c.conversation_id.clone(), c.index))
        })
        .collect();
    let asked = packed.len();
    packed.sort();
    packed.dedup();
    assert_eq!(packed.len(), asked, "a pack asked twice");
    assert!(requests
        .iter()
        .filter(|r| r.chunks.len() == 1)
        .any(|r| holding(&r)));
    let facts = store.run_facts(&run.user, &run_id).await.unwrap();
    let fact = facts.iter().find(|f| f.text == text).unwrap();
    assert_eq!(
        fact.source.message_ids,
        std::slice::from_ref(&planted.message_id)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_offline_engine_remembers_moves_as_history() {
    let (bytes, _) = export(5, 8_000_000);
    let run = open(Arc::new(soulprint_local::Offline));
    import(&run, bytes).await;
    let end = work_until(&run, finished).await;
    assert_eq!(end.status, ImportStatus::Complete);
    let memory = run.local.ports.store.memory(&run.user).await.unwrap();
    let places: Vec<_> = memory
        .iter()
        .filter(|f| f.subject == Some(Subject::Location))
        .collect();
    assert!(places.len() >= 2, "{places:#?}");
    let current: Vec<_> = places
        .iter()
        .filter(|f| f.status == FactStatus::Current)
        .collect();
    assert_eq!(current.len(), 1, "one home at a time");
    for old in places.iter().filter(|f| f.status == FactStatus::History) {
        assert_eq!(old.superseded_by.as_deref(), Some(current[0].id.as_str()));
        assert!(old.last_observed() <= current[0].last_observed());
    }
    let profile = run
        .local
        .ports
        .store
        .profile(&run.user)
        .await
        .unwrap()
        .unwrap();
    assert!(
        profile.written_by.starts_with("offline"),
        "honestly labelled"
    );
    assert!(profile.memory_md.unwrap().contains("  - before: "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unusable_model_answer_leaves_a_marked_partial_profile() {
    let (bytes, _) = export(3, 1_000_000);
    let model = Arc::new(ScriptedModel::new(vec![], vec![Err("not JSON".into())]));
    let run = open(model);
    import(&run, bytes).await;
    let end = work_until(&run, finished).await;
    assert_eq!(end.status, ImportStatus::Complete, "never a crash: {end:?}");
    let profile = run
        .local
        .ports
        .store
        .profile(&run.user)
        .await
        .unwrap()
        .unwrap();
    assert!(
        profile.notes.iter().any(|n| n.contains("unusable")),
        "{:?}",
        profile.notes
    );
    assert!(
        profile
            .notes
            .iter()
            .any(|n| n.contains("quick pass were kept")),
        "{:?}",
        profile.notes
    );
    assert!(!profile.ai_name().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_pass_past_its_limit_fails_alone_and_can_be_retried() {
    let (bytes, _) = export(4, 1_000_000);
    let mut run = open(Arc::new(soulprint_local::Offline));
    let clock = Arc::new(ManualClock::new());
    run.local.ports.clock = clock.clone();
    import(&run, bytes).await;
    // Stop at quick_ready: the full pass's jobs wait in the queue.
    work_until(&run, |s| s.status == ImportStatus::QuickReady).await;
    // The run began 31 minutes ago and has not moved since (the process that ran it died,
    // say); a worker may have planned it before the others stopped.
    let began = clock.now() - time::Duration::minutes(31);
    soulprint_core::stages::update_state(run.local.ports.store.as_ref(), &run.user, |s| {
        s.full_pass.started_at = Some(began);
        s.full_pass.progressed_at = s.full_pass.progressed_at.map(|_| began);
        Ok(())
    })
    .await
    .unwrap();
    let end = work_until(&run, finished).await;
    assert_eq!(end.full_pass.status, FullPassStatus::Failed, "{end:?}");
    assert_eq!(end.status, ImportStatus::QuickReady, "chat keeps working");
    assert!(end
        .full_pass
        .error
        .as_deref()
        .unwrap()
        .contains("30 minutes"));
    // A second import is not needed: the full pass runs again from the stored conversations.
    let retried = retry_full_pass(&run.local.ports, &run.user, None)
        .await
        .unwrap();
    assert_eq!(retried.full_pass.attempt, 2);
    let end = work_until(&run, finished).await;
    assert_eq!(end.status, ImportStatus::Complete, "{end:?}");
    assert!(!run
        .local
        .ports
        .store
        .memory(&run.user)
        .await
        .unwrap()
        .is_empty());
    let _ = clock.now();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_a_stopped_attempt_pays_only_for_the_missing_chunks() {
    let (bytes, report) = export(9, 2_000_000);
    let planted: Vec<String> = report
        .planted
        .iter()
        .filter(|p| !p.do_not_remember)
        .map(sentence)
        .collect();
    let model = Arc::new(ScriptedModel::new(
        planted.clone(),
        vec![Ok(sections("Marlowe"))],
    ));
    // The model answers three packs, then its quota is spent: the other batches wait.
    model
        .throttle_after
        .store(3, std::sync::atomic::Ordering::SeqCst);
    let run = open(model.clone());
    let import_id = import(&run, bytes).await;
    // The first attempt stops there (its workers gone), and is failed as stalled.
    let watched = Arc::clone(&model);
    work_until(&run, move |_| {
        watched.throttled.load(std::sync::atomic::Ordering::SeqCst) > 0
    })
    .await;
    model
        .throttle_after
        .store(0, std::sync::atomic::Ordering::SeqCst);
    let now = run.local.ports.clock.now();
    soulprint_core::stages::update_state(run.local.ports.store.as_ref(), &run.user, |s| {
        s.fail_full_pass(&import_id, 1, "stalled", now)
    })
    .await
    .unwrap();
    let first_calls = model.fact_requests.lock().unwrap().len();

    retry_full_pass(&run.local.ports, &run.user, None)
        .await
        .unwrap();
    let end = work_until(&run, finished).await;
    assert_eq!(end.status, ImportStatus::Complete, "{end:?}");
    assert_eq!(end.full_pass.attempt, 2);

    // No chunk was asked twice: the retry asked only what the first attempt had not read.
    let requests = model.fact_requests.lock().unwrap().clone();
    let retry_calls = requests.len() - first_calls;
    assert!(
        first_calls > 0 && retry_calls > 0,
        "{first_calls} then {retry_calls}"
    );
    let (asked, distinct) = model.chunks_asked();
    assert_eq!(distinct, asked, "each chunk asked once over both attempts");
    // What was paid is counted once: the taken-over batches add nothing.
    let usage = run
        .local
        .ports
        .store
        .usage(&run.user, &import_id)
        .await
        .unwrap();
    assert_eq!(usage.fact_extraction.calls as usize, requests.len());
    // And the memory is whole.
    let memory = run.local.ports.store.memory(&run.user).await.unwrap();
    for text in &planted {
        assert!(
            memory.iter().any(|f| &f.text == text),
            "not remembered: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_import_waits_for_the_first_and_an_empty_export_is_refused() {
    let run = open(Arc::new(soulprint_local::Offline));
    let (bytes, _) = export(9, 500_000);
    import(&run, bytes.clone()).await;
    let id = new_import_id();
    let key = import_blob(&run.user, &id, EXPORT_BLOB).unwrap();
    run.local.ports.blobs.put(&key, bytes).await.unwrap();
    let refused = start_import(&run.local.ports, &run.user, &id, &key, None)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("15 minutes"), "{refused}");
    work_until(&run, finished).await;

    let id = new_import_id();
    let key = import_blob(&run.user, &id, EXPORT_BLOB).unwrap();
    run.local
        .ports
        .blobs
        .put(&key, b"[]".to_vec())
        .await
        .unwrap();
    start_import(&run.local.ports, &run.user, &id, &key, None)
        .await
        .unwrap();
    let end = work_until(&run, |s| s.status != ImportStatus::Processing).await;
    assert_eq!(end.status, ImportStatus::Failed);
    assert!(
        end.error.as_deref().unwrap().contains("no conversations"),
        "{end:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_job_fails_alone_and_the_full_pass_still_ends() {
    let (bytes, _) = export(6, 2_000_000);
    let model = Arc::new(ScriptedModel::new(vec![], vec![Ok(sections("Quill"))]));
    model
        .panic_once
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let run = open(model);
    let import_id = import(&run, bytes).await;
    let end = work_until(&run, finished).await;
    assert_eq!(end.status, ImportStatus::Complete, "{end:?}");
    let run_id = soulprint_core::ports::store::RunId {
        import_id,
        attempt: 1,
    };
    let progress = run
        .local
        .ports
        .store
        .run_progress(&run.user, &run_id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        progress.failed_chunks > 0,
        "the panicking batch counts as failed"
    );
    assert!(progress.failed_chunks < progress.chunks_done);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_whose_job_was_lost_is_queued_again_at_start() {
    use soulprint_core::ports::{Queue, QueueName};
    let (bytes, _) = export(8, 500_000);
    let run = open(Arc::new(soulprint_local::Offline));
    import(&run, bytes).await;
    // The process died after writing the state but before its job was durable.
    let lost = run
        .local
        .queue
        .receive(QueueName::Imports, 10, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(lost.len(), 1);
    run.local
        .queue
        .ack(QueueName::Imports, &lost[0].receipt)
        .await
        .unwrap();
    let end = work_until(&run, finished).await;
    assert_eq!(end.status, ImportStatus::Complete, "{end:?}");
}

/// A redelivered finalize that finds another worker's claim held does not take it as done:
/// it is refused for now (the job comes back), and done once the claim is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_work_another_worker_holds_comes_back_instead_of_being_acknowledged() {
    use soulprint_core::jobs::Job;
    use soulprint_core::ports::store::Claim;
    use soulprint_core::ports::Delivery;
    use soulprint_core::stages::{handle, StageError};
    let (bytes, _) = export(4, 400_000);
    let run = open(Arc::new(soulprint_local::Offline));
    let id = import(&run, bytes).await;
    work_until(&run, |s| s.full_pass.chunks_total > 0).await;
    // Another worker took the finalize and is still at it.
    let key = format!("finalize/{id}/1");
    let now = run.local.ports.clock.now();
    let held = run
        .local
        .ports
        .store
        .claim(&run.user, &key, now, now + time::Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(held, Claim::Acquired);
    let delivery = Delivery {
        job: Job::Finalize {
            user: run.user.clone(),
            import_id: id.clone(),
            attempt: 1,
        },
        receipt: "r".into(),
        receive_count: 2,
        deadline: Some(now + time::Duration::minutes(10)),
    };
    let err = handle(&run.local.ports, &delivery).await.unwrap_err();
    assert!(matches!(err, StageError::Busy), "{err:?}");
    assert!(err.is_retryable(), "the message comes back later");
    // That worker died: its claim is given up, and the job, back again, does the work.
    run.local
        .ports
        .store
        .release_claim(&run.user, &key)
        .await
        .unwrap();
    let end = work_until(&run, finished).await;
    assert_eq!(end.full_pass.status, FullPassStatus::Complete, "{end:?}");
}

/// A supervisor that no longer waits for any task (its executions timed out).
struct NobodyWaits;

#[async_trait::async_trait]
impl soulprint_core::ports::Supervisor for NobodyWaits {
    async fn heartbeat(&self, _: &str) -> Result<(), soulprint_core::ports::SupervisorError> {
        Err(soulprint_core::ports::SupervisorError::TaskGone(
            "timed out".into(),
        ))
    }
    async fn succeed(
        &self,
        _: &str,
        _: &serde_json::Value,
    ) -> Result<(), soulprint_core::ports::SupervisorError> {
        Err(soulprint_core::ports::SupervisorError::TaskGone(
            "timed out".into(),
        ))
    }
    async fn fail(
        &self,
        _: &str,
        _: &str,
        _: &str,
    ) -> Result<(), soulprint_core::ports::SupervisorError> {
        Err(soulprint_core::ports::SupervisorError::TaskGone(
            "timed out".into(),
        ))
    }
}

/// A worker that answers a task the supervisor stopped waiting for (its execution timed out)
/// ends its job, whether it succeeded or failed: nobody is left to tell, and a job that kept
/// failing on the answer would loop until its dead letter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_for_a_task_nobody_waits_for_ends_the_job() {
    use soulprint_core::jobs::Job;
    use soulprint_core::ports::Delivery;
    use soulprint_core::stages::handle;
    let mut run = open(Arc::new(soulprint_local::Offline));
    run.local.ports.supervisor = Arc::new(NobodyWaits);
    for bytes in [b"not an export".to_vec(), export(4, 300_000).0] {
        let id = new_import_id();
        let key = import_blob(&run.user, &id, EXPORT_BLOB).unwrap();
        run.local.ports.blobs.put(&key, bytes).await.unwrap();
        let now = run.local.ports.clock.now();
        let previous = run.local.ports.store.import_state(&run.user).await.unwrap();
        let state = ImportState::begin(previous.as_ref().map(|v| &v.value), id.as_str(), now)
            .map(|mut s| {
                s.export_path = key.path().to_owned();
                s
            })
            .unwrap();
        run.local
            .ports
            .store
            .put_import_state(&run.user, &state, previous.map(|v| v.version))
            .await
            .unwrap();
        let delivery = Delivery {
            job: Job::Import {
                user: run.user.clone(),
                import_id: id,
                task_token: Some("token-of-a-timed-out-execution".into()),
            },
            receipt: "r".into(),
            receive_count: 1,
            deadline: None,
        };
        handle(&run.local.ports, &delivery).await.unwrap();
    }
}
