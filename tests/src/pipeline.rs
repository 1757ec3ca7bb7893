//! Doubles for driving the pipeline end to end: a scripted model that records what it was
//! asked, a store that records every state it was given, a clock the test moves.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use soulprint_core::import_state::{FullPassStatus, ImportState, ImportStatus};
use soulprint_core::memory::{Fact, MemoryFact};
use soulprint_core::ports::llm::{
    ChatAnswer, ExtractedFact, FactRequest, MemoryRequest, ModelInfo, ProfileRequest, Reply, Usage,
};
use soulprint_core::ports::store::{
    BatchOutcome, ChatMessage, ChatThread, Claim, ImportUsage, RunId, RunPlan, RunProgress,
    Versioned,
};
use soulprint_core::ports::{Clock, Llm, LlmError, Store, StoreError, UserId};
use soulprint_core::profile::Profile;
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
    /// Panic on the next fact request (a bug in an adapter).
    pub panic_once: std::sync::atomic::AtomicBool,
    /// Ask for a web search whenever one is offered, then answer citing [1].
    pub search_greedily: std::sync::atomic::AtomicBool,
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
            context_tokens: None,
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

    async fn extract_facts(
        &self,
        request: &FactRequest,
    ) -> Result<Reply<Vec<ExtractedFact>>, LlmError> {
        if self
            .panic_once
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            panic!("the scripted model panics, as asked");
        }
        self.fact_requests.lock().unwrap().push(request.clone());
        let mut facts = Vec::new();
        for (_, words) in request.chunk.person_parts() {
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
        Ok(Reply {
            value: facts,
            usage: usage(u64::from(request.chunk.tokens)),
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

/// A store that keeps every import state written through it, with its version (writers
/// race, so the order of the records is not the order of the writes: sort by version).
pub struct RecordingStore {
    pub inner: Arc<dyn Store>,
    pub states: Mutex<Vec<(u64, ImportState)>>,
}

#[async_trait]
impl Store for RecordingStore {
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
    async fn profile(&self, user: &UserId) -> Result<Option<Profile>, StoreError> {
        self.inner.profile(user).await
    }
    async fn put_profile(&self, user: &UserId, profile: &Profile) -> Result<(), StoreError> {
        self.inner.put_profile(user, profile).await
    }
    async fn plan_run(&self, user: &UserId, run: &RunId, plan: RunPlan) -> Result<(), StoreError> {
        self.inner.plan_run(user, run, plan).await
    }
    async fn record_batch(
        &self,
        user: &UserId,
        run: &RunId,
        batch: u32,
        outcome: &BatchOutcome,
    ) -> Result<RunProgress, StoreError> {
        self.inner.record_batch(user, run, batch, outcome).await
    }
    async fn batch_done(&self, user: &UserId, run: &RunId, batch: u32) -> Result<bool, StoreError> {
        self.inner.batch_done(user, run, batch).await
    }
    async fn run_progress(
        &self,
        user: &UserId,
        run: &RunId,
    ) -> Result<Option<RunProgress>, StoreError> {
        self.inner.run_progress(user, run).await
    }
    async fn run_facts(&self, user: &UserId, run: &RunId) -> Result<Vec<Fact>, StoreError> {
        self.inner.run_facts(user, run).await
    }
    async fn replace_memory(
        &self,
        user: &UserId,
        import_id: &str,
        facts: &[MemoryFact],
    ) -> Result<(), StoreError> {
        self.inner.replace_memory(user, import_id, facts).await
    }
    async fn memory(&self, user: &UserId) -> Result<Vec<MemoryFact>, StoreError> {
        self.inner.memory(user).await
    }
    async fn record_usage(
        &self,
        user: &UserId,
        import_id: &str,
        key: &str,
        spent: &ImportUsage,
    ) -> Result<(), StoreError> {
        self.inner.record_usage(user, import_id, key, spent).await
    }
    async fn usage(&self, user: &UserId, import_id: &str) -> Result<ImportUsage, StoreError> {
        self.inner.usage(user, import_id).await
    }
    async fn claim(
        &self,
        user: &UserId,
        key: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<Claim, StoreError> {
        self.inner.claim(user, key, now, expires_at).await
    }
    async fn complete_claim(
        &self,
        user: &UserId,
        key: &str,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.inner.complete_claim(user, key, expires_at).await
    }
    async fn release_claim(&self, user: &UserId, key: &str) -> Result<(), StoreError> {
        self.inner.release_claim(user, key).await
    }
    async fn append_chat(&self, user: &UserId, messages: &[ChatMessage]) -> Result<(), StoreError> {
        self.inner.append_chat(user, messages).await
    }
    async fn chat_messages(
        &self,
        user: &UserId,
        thread_id: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        self.inner
            .chat_messages(user, thread_id, before, limit)
            .await
    }
    async fn chat_threads(&self, user: &UserId) -> Result<Vec<ChatThread>, StoreError> {
        self.inner.chat_threads(user).await
    }
    async fn delete_fact(&self, user: &UserId, id: &str) -> Result<bool, StoreError> {
        self.inner.delete_fact(user, id).await
    }
    async fn forget(&self, user: &UserId) -> Result<(), StoreError> {
        self.inner.forget(user).await
    }
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
