//! Doubles for driving the pipeline end to end: a scripted model that records what it was
//! asked, an import store that records every state it was given, a clock the test moves.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use soulprint_core::import_state::{FullPassStatus, ImportState, ImportStatus};
use soulprint_core::ports::llm::{
    ChatAnswer, ExtractedFact, FactRequest, MemoryRequest, ModelInfo, PackFacts, ProfileRequest,
    Reply, Usage,
};
use soulprint_core::ports::store::{ImportStore, Versioned};
use soulprint_core::ports::{Clock, Llm, LlmError, StoreError, UserId};
use soulprint_core::sections::Sections;
use soulprint_core::stages::{import_blob, new_import_id, start_import, EXPORT_BLOB};
use soulprint_generator::{generate, Container, ExportSpec, Report, Vintage};
use soulprint_local::Local;
use time::{Duration, OffsetDateTime};

/// A model double: answers from a script and keeps every request.
#[derive(Default)]
pub struct ScriptedModel {
    pub profile_requests: Mutex<Vec<ProfileRequest>>,
    pub fact_requests: Mutex<Vec<FactRequest>>,
    /// Answers to the profile calls, in order; the last repeats.
    pub profile_answers: Mutex<Vec<Result<Sections, String>>>,
    /// Sentences that are facts: a chunk whose person's words hold one gets it back.
    pub known_facts: Vec<String>,
    pub chat_requests: Mutex<Vec<soulprint_core::ports::llm::ChatRequest>>,
    /// Chat fails while this is set (the model server down).
    pub fail_chat: std::sync::atomic::AtomicBool,
    /// Chat never answers while this is set (a model that hangs).
    pub hang_chat: std::sync::atomic::AtomicBool,
    /// Panic on the next fact request (a bug in an adapter).
    pub panic_once: std::sync::atomic::AtomicBool,
    /// Ask for a web search whenever one is offered, then answer citing \[1\].
    pub search_greedily: std::sync::atomic::AtomicBool,
    /// Fact extraction is throttled while this is set (the model's quota spent); the calls
    /// refused are counted in `throttled`.
    pub throttle_facts: std::sync::atomic::AtomicBool,
    /// Fact extraction is throttled once this many calls were answered (0: never).
    pub throttle_after: std::sync::atomic::AtomicUsize,
    pub throttled: std::sync::atomic::AtomicUsize,
    /// The next chunk it garbles in packs, asked alone, fails once with a passing error (the
    /// connection dropped).
    pub fail_alone_once: std::sync::atomic::AtomicBool,
    /// The window it reports (a small one makes small chunks and packs).
    pub context_tokens: Option<u32>,
    /// Leave out of a pack's answer any chunk holding this text, unless it is asked alone
    /// (a model that loses its place in a long answer).
    pub garble_in_packs: Option<String>,
}

impl ScriptedModel {
    pub fn new(known_facts: Vec<String>, answers: Vec<Result<Sections, String>>) -> Self {
        ScriptedModel {
            known_facts,
            profile_answers: Mutex::new(answers),
            ..ScriptedModel::default()
        }
    }
}

impl ScriptedModel {
    /// Chunks sent for fact extraction so far, and how many of them were distinct.
    pub fn chunks_asked(&self) -> (usize, usize) {
        let mut ids: Vec<(String, u32)> = self
            .fact_requests
            .lock()
            .unwrap()
            .iter()
            .flat_map(|r| &r.chunks)
            .map(|c| (c.conversation_id.clone(), c.index))
            .collect();
        let asked = ids.len();
        ids.sort();
        ids.dedup();
        (asked, ids.len())
    }

    fn garbles(&self, chunk: &soulprint_core::chunker::Chunk, packed: bool) -> bool {
        packed
            && self
                .garble_in_packs
                .as_deref()
                .is_some_and(|text| chunk.text.contains(text))
    }
}

pub fn usage(input: u64) -> Usage {
    Usage {
        calls: 1,
        input_tokens: input,
        output_tokens: 10,
        cost_usd: input as f64 / 1e6,
    }
}

#[async_trait]
impl Llm for ScriptedModel {
    fn info(&self) -> ModelInfo {
        ModelInfo {
            label: "scripted".into(),
            offline: false,
            context_tokens: self.context_tokens,
        }
    }

    async fn profile(&self, request: &ProfileRequest) -> Result<Reply<Sections>, LlmError> {
        self.profile_requests.lock().unwrap().push(request.clone());
        let mut answers = self.profile_answers.lock().unwrap();
        let answer = if answers.len() > 1 {
            answers.remove(0)
        } else {
            answers[0].clone()
        };
        match answer {
            Ok(s) => Ok(Reply {
                value: s,
                usage: usage(1000),
            }),
            Err(e) => Err(LlmError::InvalidOutput(e)),
        }
    }

    async fn extract_facts(&self, request: &FactRequest) -> Result<Reply<PackFacts>, LlmError> {
        if self
            .panic_once
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            panic!("the scripted model panics, as asked");
        }
        if request.chunks.len() == 1
            && self.garbles(&request.chunks[0], true)
            && self
                .fail_alone_once
                .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            return Err(LlmError::Unavailable("connection reset".into()));
        }
        let after = self
            .throttle_after
            .load(std::sync::atomic::Ordering::SeqCst);
        if self
            .throttle_facts
            .load(std::sync::atomic::Ordering::SeqCst)
            || (after > 0 && self.fact_requests.lock().unwrap().len() >= after)
        {
            self.throttled
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            return Err(LlmError::Throttled("tokens per minute spent".into()));
        }
        self.fact_requests.lock().unwrap().push(request.clone());
        let pack = request
            .chunks
            .iter()
            .map(|chunk| {
                if self.garbles(chunk, request.chunks.len() > 1) {
                    return None;
                }
                let mut facts = Vec::new();
                for (_, words) in chunk.person_parts() {
                    for known in &self.known_facts {
                        if words.contains(known.as_str()) {
                            facts.push(ExtractedFact {
                                category: soulprint_core::memory::Category::Life,
                                text: known.clone(),
                                subject: None,
                                evidence: Some(known.clone()),
                            });
                        }
                    }
                }
                // Hostile extras: a fact resting on nothing the person said.
                facts.push(ExtractedFact {
                    category: soulprint_core::memory::Category::Belief,
                    text: "The person believes the moon is cheese.".into(),
                    subject: None,
                    evidence: Some("the moon is made of cheese, I am sure".into()),
                });
                Some(facts)
            })
            .collect();
        let tokens: u32 = request.chunks.iter().map(|c| c.tokens).sum();
        Ok(Reply {
            value: pack,
            usage: usage(u64::from(tokens)),
        })
    }

    async fn chat(
        &self,
        request: &soulprint_core::ports::llm::ChatRequest,
        sink: soulprint_core::ports::llm::TokenSink<'_>,
    ) -> Result<Reply<ChatAnswer>, LlmError> {
        self.chat_requests.lock().unwrap().push(request.clone());
        if self.fail_chat.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(LlmError::Unavailable("connection refused".into()));
        }
        if self.hang_chat.load(std::sync::atomic::Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        if self
            .search_greedily
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            let value = if request.can_search {
                ChatAnswer::Search {
                    query: format!("search {}", request.searches.len() + 1),
                }
            } else {
                sink("As [1] says.");
                ChatAnswer::Reply("As [1] says.".into())
            };
            return Ok(Reply {
                value,
                usage: usage(100),
            });
        }
        for piece in ["Noted", ", ", "friend."] {
            sink(piece);
        }
        Ok(Reply {
            value: ChatAnswer::Reply("Noted, friend.".into()),
            usage: usage(100),
        })
    }

    async fn write_memory(&self, _request: &MemoryRequest) -> Result<Reply<String>, LlmError> {
        // A placeholder: the pipeline must fall back to its template.
        Ok(Reply {
            value: "[insert memory here]".into(),
            usage: usage(10),
        })
    }
}

/// A clock the test moves.
pub struct ManualClock(pub Mutex<OffsetDateTime>);

impl ManualClock {
    pub fn new() -> Self {
        ManualClock(Mutex::new(OffsetDateTime::now_utc()))
    }

    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

/// The import role of a store, keeping every state written through it with its version
/// (writers race, so the order of the records is not the order of the writes: sort by
/// version). Put it in a [`soulprint_core::ports::store::StoreParts`] in place of `imports`.
pub struct RecordingImports {
    pub inner: Arc<dyn ImportStore>,
    pub states: Mutex<Vec<(u64, ImportState)>>,
}

#[async_trait]
impl ImportStore for RecordingImports {
    async fn import_state(
        &self,
        user: &UserId,
    ) -> Result<Option<Versioned<ImportState>>, StoreError> {
        self.inner.import_state(user).await
    }

    async fn put_import_state(
        &self,
        user: &UserId,
        state: &ImportState,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        let v = self.inner.put_import_state(user, state, expected).await?;
        self.states.lock().unwrap().push((v, state.clone()));
        Ok(v)
    }
}

/// A profile of import `i1` with [`sections`] named `name`, its system prompt written.
pub fn profile(name: &str, now: OffsetDateTime) -> soulprint_core::profile::Profile {
    let mut profile = soulprint_core::profile::Profile {
        import_id: "i1".into(),
        sections: sections(name),
        memory_md: None,
        chunk_index: None,
        soulprint_text: String::new(),
        written_by: "test".into(),
        notes: vec![],
        updated_at: now,
    };
    profile.render(now);
    profile
}

/// Sections a model might write, named `name`.
pub fn sections(name: &str) -> Sections {
    let mut s = Sections::default();
    s.identity.ai_name = name.into();
    s.identity.archetype = "Curious Builder".into();
    s.soul.personality_traits = vec!["curious".into(), "direct".into(), "warm".into()];
    s.user.location = "Lisbon".into();
    s
}

/// A generated export (ZIP, 2025 shape, valid Unicode) and what it holds.
pub fn generated(seed: u64, target_bytes: u64, largest: u64) -> (Vec<u8>, Report) {
    let spec = ExportSpec {
        seed,
        target_bytes,
        vintage: Vintage::Full2025,
        container: Container::Zip,
        largest_conversation: Some(largest),
        invalid_unicode: false,
    };
    let mut out = std::io::Cursor::new(Vec::new());
    let report = generate(&spec, &mut out).unwrap();
    (out.into_inner(), report)
}

/// Stores `bytes` as an export of `user` and starts its import; returns the import id.
pub async fn start(local: &Local, user: &UserId, bytes: Vec<u8>) -> String {
    let id = new_import_id();
    let key = import_blob(user, &id, EXPORT_BLOB).unwrap();
    local.ports.blobs.put(&key, bytes).await.unwrap();
    start_import(&local.ports, user, &id, &key, None)
        .await
        .unwrap();
    id
}

/// Runs the workers until `done` holds of the user's import state (two minutes at most),
/// then stops them.
pub async fn work_until(
    local: &Local,
    user: &UserId,
    done: impl Fn(&ImportState) -> bool,
) -> ImportState {
    let workers = local.start_workers().await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let state = loop {
        let s = local
            .ports
            .store
            .import_state(user)
            .await
            .unwrap()
            .unwrap()
            .value;
        if done(&s) {
            break s;
        }
        assert!(std::time::Instant::now() < deadline, "stuck at {s:?}");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    };
    workers.stop(std::time::Duration::from_secs(10)).await;
    state
}

/// The import failed, or its full pass ended.
pub fn finished(s: &ImportState) -> bool {
    s.status == ImportStatus::Failed
        || matches!(
            s.full_pass.status,
            FullPassStatus::Complete | FullPassStatus::Failed
        )
}
