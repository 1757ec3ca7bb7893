//! A chat turn: the soulprint, what is recalled for the message, the thread so far → the
//! model → the reply, stored; then what the person stated about themselves is learned.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::{info, info_span, warn, Instrument};

use super::breaker::Breaker;
use super::cache::ByteLru;
use super::StageError;
use crate::conversation::Role;
use crate::memory::not_a_fact::is_not_a_fact;
use crate::memory::statements::statements;
use crate::memory::words::{content_words, same_fact};
use crate::memory::{learn as learn_facts, Fact, FactStatus, MemoryFact, Origin, Source};
use crate::ports::llm::{ChatAnswer, ChatRequest, ChatTurn, Llm, Reply, TokenSink, Usage};
use crate::ports::store::ChatMessage;
use crate::ports::web::{consulted, WebSearchDone, WebSource};
use crate::ports::{BlobError, BlobKey, Ports, UserId};
use crate::profile::Profile;
use crate::relevance::{search, Doc, RelevanceIndex};
use crate::system_prompt::{self, PromptInput, PromptVersion};

/// A message is 1 to this many characters.
pub const MAX_MESSAGE_CHARS: usize = 50_000;
/// Turns of the thread sent with the message.
const HISTORY_TURNS: usize = 10;
/// Recalled documents in the prompt (the characters of each: [`crate::budgets`]).
const RECALLED: usize = 8;
/// Learned facts in the prompt, newest first.
const LEARNED: usize = 20;
/// Web searches a model may make in one turn, the results of each, and a query's length.
pub const MAX_SEARCHES: usize = 3;
const SEARCH_RESULTS: usize = 5;
const MAX_QUERY_CHARS: usize = 400;

/// Why a chat turn did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// The message is empty, blank or too long; holds its length in characters.
    #[error("a message is 1 to {MAX_MESSAGE_CHARS} characters; this one has {0}")]
    BadMessage(usize),
    /// No soulprint yet to chat with.
    #[error("there is no soulprint yet: import an export first")]
    NoProfile,
    /// No model answered within the turn's limit (held here).
    #[error("the model took longer than {0:?}; try again")]
    TimedOut(Duration),
    /// A port failed: the store, a blob, the model.
    #[error(transparent)]
    Stage(#[from] StageError),
}

/// What a turn gave.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnReply {
    /// The thread the turn is in: the one given, or a new one.
    pub thread_id: String,
    /// The model's reply, without the list of sources the stored copy has under it.
    pub reply: String,
    /// The label of the model that answered; when the fallback did, it also says why.
    pub answered_by: String,
    /// What was recalled for the message, with its sources.
    pub recalled: Vec<Doc>,
    /// Facts learned from the message.
    pub learned: Vec<String>,
    /// The web results the model consulted, numbered from 1 as it cites them.
    pub sources: Vec<WebSource>,
}

/// Bytes of relevance indexes a process keeps, over all the people it serves.
pub const INDEX_CACHE_BYTES: usize = 256 << 20;
/// Bytes of facts a process keeps, over all the people it serves.
pub const MEMORY_CACHE_BYTES: usize = 128 << 20;

/// Per-user values, each with the version (blob key or revision) it was loaded at.
type Versioned<T> = Arc<Mutex<ByteLru<(String, Arc<T>)>>>;

/// Per-user indexes of conversation chunks, loaded once and kept while the profile names the
/// same blob (a full pass or a deleted chunk writes a new one), at most
/// `INDEX_CACHE_BYTES` of them.
#[derive(Clone)]
pub struct IndexCache {
    loaded: Versioned<RelevanceIndex>,
    /// Held while a chunk is deleted: two deletions at once would each drop the other's blob.
    pub(super) editing: Arc<tokio::sync::Mutex<()>>,
}

impl Default for IndexCache {
    fn default() -> Self {
        IndexCache::with_budget(INDEX_CACHE_BYTES)
    }
}

impl IndexCache {
    /// A cache of at most `bytes` of indexes.
    pub fn with_budget(bytes: usize) -> Self {
        IndexCache {
            loaded: Arc::new(Mutex::new(ByteLru::new(bytes))),
            editing: Arc::default(),
        }
    }

    /// The index the profile names (none before the first full pass: nothing to recall
    /// but what the prompt holds).
    pub async fn get(
        &self,
        ports: &Ports,
        user: &UserId,
        profile: &Profile,
    ) -> Result<Arc<RelevanceIndex>, StageError> {
        let Some(name) = &profile.chunk_index else {
            return Ok(Arc::default());
        };
        if let Some((loaded, index)) = self.lock().get(user) {
            if &loaded == name {
                return Ok(index);
            }
        }
        let index = match ports.blobs.get(&BlobKey::new(user, name)?).await {
            Ok(bytes) => RelevanceIndex::from_jsonl(&bytes)
                .map_err(|e| StageError::Corrupt(format!("the relevance index: {e}")))?,
            // Replaced between reading the profile and the blob: the next message reads the new
            // one (so this empty stand-in is not cached).
            Err(BlobError::NotFound(_)) => return Ok(Arc::default()),
            Err(e) => return Err(e.into()),
        };
        let index = Arc::new(index);
        let bytes = index.approx_bytes();
        self.lock()
            .put(user, (name.clone(), Arc::clone(&index)), bytes);
        Ok(index)
    }

    /// Drops the person's index (deleted, or the person forgotten).
    pub fn forget(&self, user: &UserId) {
        self.lock().remove(user);
    }

    /// Bytes of indexes kept now.
    pub fn bytes(&self) -> usize {
        self.lock().used()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ByteLru<(String, Arc<RelevanceIndex>)>> {
        self.loaded.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Per-user facts, kept while the memory's revision is the same (any write moves it on), at
/// most `MEMORY_CACHE_BYTES` of them: a chat turn reads one record to know its facts are
/// current, not every fact.
#[derive(Clone)]
pub struct MemoryCache {
    loaded: Versioned<Vec<MemoryFact>>,
}

impl Default for MemoryCache {
    fn default() -> Self {
        MemoryCache {
            loaded: Arc::new(Mutex::new(ByteLru::new(MEMORY_CACHE_BYTES))),
        }
    }
}

impl MemoryCache {
    /// The person's facts and their revision: from the cache while the revision holds.
    pub async fn get(
        &self,
        ports: &Ports,
        user: &UserId,
    ) -> Result<(Option<String>, Arc<Vec<MemoryFact>>), StageError> {
        let revision = ports.store.memory_revision(user).await?;
        let Some(revision) = revision else {
            return Ok((None, Arc::default()));
        };
        if let Some((kept, facts)) = self.lock().get(user) {
            if kept == revision {
                return Ok((Some(revision), facts));
            }
        }
        let facts = Arc::new(ports.store.memory(user).await?);
        // The revision was read first, so these facts are at least that new; a write in
        // between moves the revision and the next read loads again.
        self.keep(user, &revision, Arc::clone(&facts));
        Ok((Some(revision), facts))
    }

    /// Keeps the person's facts as of `revision` (after this process wrote them).
    pub fn keep(&self, user: &UserId, revision: &str, facts: Arc<Vec<MemoryFact>>) {
        let bytes = facts.iter().map(approx_bytes).sum::<usize>();
        self.lock().put(user, (revision.to_owned(), facts), bytes);
    }

    /// Drops the person's facts.
    pub fn forget(&self, user: &UserId) {
        self.lock().remove(user);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ByteLru<(String, Arc<Vec<MemoryFact>>)>> {
        self.loaded.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// About how many bytes a fact holds in memory.
fn approx_bytes(f: &MemoryFact) -> usize {
    f.text.len()
        + f.id.len()
        + f.sources
            .iter()
            .map(|s| {
                s.conversation_id.len()
                    + s.message_ids.iter().map(|m| m.len() + 24).sum::<usize>()
                    + 64
            })
            .sum::<usize>()
        + 96
}

/// The `k` facts and chunks most relevant to `query`, best first, with their scores.
pub async fn recall(
    ports: &Ports,
    cache: &IndexCache,
    user: &UserId,
    query: &str,
    k: usize,
) -> Result<Vec<(Doc, f64)>, StageError> {
    let Some(profile) = ports.store.profile(user).await? else {
        return Ok(Vec::new());
    };
    let memory = ports.store.memory(user).await?;
    recall_from(ports, cache, user, &profile, &memory, query, k).await
}

async fn recall_from(
    ports: &Ports,
    cache: &IndexCache,
    user: &UserId,
    profile: &Profile,
    memory: &[MemoryFact],
    query: &str,
    k: usize,
) -> Result<Vec<(Doc, f64)>, StageError> {
    let chunks = cache.get(ports, user, profile).await?;
    let facts = RelevanceIndex::of_facts(memory);
    Ok(search(&[&chunks, &facts], query, k)
        .into_iter()
        .map(|h| (h.doc.clone(), h.score))
        .collect())
}

/// How long a turn may wait on its models: the primary's share first, then the fallback's,
/// with room left to store the turn and learn from it. A function behind API Gateway has 30 s
/// in all, so the shares come from the invocation's deadline there ([`ChatBudget::within`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChatBudget {
    /// The primary model's time.
    pub primary: Duration,
    /// The fallback's time, once the primary failed or ran out of its own.
    pub fallback: Duration,
}

impl ChatBudget {
    /// On one machine, with a local model that may be slow: two minutes, then 30 s.
    pub const LOCAL: ChatBudget = ChatBudget {
        primary: Duration::from_secs(120),
        fallback: Duration::from_secs(30),
    };
    /// Kept back from a deadline for storing the turn and learning from it.
    pub const MARGIN: Duration = Duration::from_secs(3);

    /// The shares of what is left until `deadline`, keeping [`Self::MARGIN`] back: three fifths
    /// for the primary, the rest for the fallback, each at most this budget's.
    pub fn within(self, left: Duration) -> ChatBudget {
        let usable = left.saturating_sub(Self::MARGIN);
        let primary = (usable * 3 / 5).min(self.primary);
        ChatBudget {
            primary,
            fallback: usable.saturating_sub(primary).min(self.fallback),
        }
    }
}

/// What chat keeps between turns: the loaded indexes and the model's breaker.
#[derive(Default, Clone)]
pub struct Chat {
    /// Each user's loaded chunk index.
    pub index: IndexCache,
    /// Each user's memory, kept while its revision holds.
    pub memory: MemoryCache,
    /// Stops calling the chat model for a while after failures in a row.
    pub breaker: Arc<Breaker>,
}

/// One turn. `sink` gets the reply's pieces as the model sends them.
pub async fn chat_turn(
    ports: &Ports,
    chat: &Chat,
    user: &UserId,
    thread_id: Option<String>,
    message: &str,
    budget: ChatBudget,
    sink: TokenSink<'_>,
) -> Result<TurnReply, ChatError> {
    let chars = message.chars().count();
    if chars == 0 || chars > MAX_MESSAGE_CHARS || message.trim().is_empty() {
        return Err(ChatError::BadMessage(chars));
    }
    let started = tokio::time::Instant::now();
    let thread_id = thread_id.unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string());
    let span = info_span!("chat", user = %user, thread_id = %thread_id);
    async {
        let profile = ports
            .store
            .profile(user)
            .await
            .map_err(StageError::from)?
            .ok_or(ChatError::NoProfile)?;
        let (revision, memory) = chat.memory.get(ports, user).await?;
        let recalled: Vec<Doc> = recall_from(
            ports,
            &chat.index,
            user,
            &profile,
            memory.as_slice(),
            message,
            RECALLED,
        )
        .await?
        .into_iter()
        .map(|(doc, _)| doc)
        .collect();
        let mut learned: Vec<&MemoryFact> = memory
            .iter()
            .filter(|f| f.status == FactStatus::Current)
            .filter(|f| f.sources.iter().any(|s| s.origin == Origin::Chat))
            .collect();
        learned.sort_by_key(|f| std::cmp::Reverse(f.last_observed()));
        let learned: Vec<String> = learned
            .iter()
            .take(LEARNED)
            .map(|f| f.text.clone())
            .collect();
        let recalled_chars = crate::budgets::recalled_chars(&ports.llm.info());
        let context: Vec<String> = recalled
            .iter()
            .map(|d| d.text.chars().take(recalled_chars).collect())
            .collect();
        let now = ports.clock.now();
        let system = system_prompt::build(
            PromptVersion::default(),
            &PromptInput {
                sections: &profile.sections,
                memory_md: profile.memory_md.as_deref(),
                learned_facts: &learned,
                context: &context,
                web: &[],
                now,
            },
        );
        let history: Vec<ChatTurn> = ports
            .store
            .chat_messages(user, &thread_id, None, HISTORY_TURNS)
            .await
            .map_err(StageError::from)?
            .into_iter()
            .map(|m| ChatTurn {
                role: m.role,
                text: m.text,
            })
            .collect();
        let request = ChatRequest {
            system,
            history,
            message: message.to_owned(),
            recalled: recalled.clone(),
            can_search: false,
            searches: Vec::new(),
        };
        let (reply, sources, answered_by) = answer(ports, chat, &request, budget, sink).await?;
        let asked = ChatMessage {
            thread_id: thread_id.clone(),
            seq: 0,
            id: uuid::Uuid::now_v7().simple().to_string(),
            role: Role::User,
            text: message.to_owned(),
            answered_by: None,
            at: now,
        };
        let answered = ChatMessage {
            id: uuid::Uuid::now_v7().simple().to_string(),
            role: Role::Assistant,
            text: with_sources(&reply.value, &sources),
            answered_by: Some(answered_by.clone()),
            at: ports.clock.now(),
            ..asked.clone()
        };
        ports
            .store
            .append_chat(user, &[asked.clone(), answered])
            .await
            .map_err(StageError::from)?;
        // Learning may take what the models' shares left unused, never more.
        let left =
            (budget.primary.saturating_add(budget.fallback)).saturating_sub(started.elapsed());
        let learned = learn(ports, chat, user, &asked, revision, &memory, left)
            .await
            .unwrap_or_else(|e| {
                warn!(error = %e, "could not learn from the message");
                Vec::new()
            });
        info!(
            recalled = recalled.len(),
            learned = learned.len(),
            "chat turn"
        );
        Ok(TurnReply {
            thread_id,
            reply: reply.value,
            answered_by,
            recalled,
            learned,
            sources,
        })
    }
    .instrument(span)
    .await
}

/// The primary model's reply, or the fallback's when the primary fails, times out or its
/// breaker is open; with the web sources it consulted, and who answered.
async fn answer(
    ports: &Ports,
    chat: &Chat,
    request: &ChatRequest,
    budget: ChatBudget,
    sink: TokenSink<'_>,
) -> Result<(Reply<String>, Vec<WebSource>, String), ChatError> {
    let primary = ports.llm.info().label;
    let limit = budget.primary;
    let why = if chat.breaker.allow(ports.clock.now()) {
        match tokio::time::timeout(limit, converse(ports, &*ports.llm, request, sink)).await {
            Ok(Ok((reply, sources))) => {
                chat.breaker.succeeded();
                return Ok((reply, sources, primary));
            }
            Ok(Err(e)) => {
                chat.breaker.failed(ports.clock.now());
                warn!(error = %e, model = %primary, "the chat model failed");
                e.to_string()
            }
            Err(_) => {
                chat.breaker.failed(ports.clock.now());
                format!("no reply within {limit:?}")
            }
        }
    } else {
        "it failed twice in a row; trying it again in 30 seconds".to_owned()
    };
    let Some(fallback) = &ports.fallback_llm else {
        return Err(match why.starts_with("no reply") {
            true => ChatError::TimedOut(limit),
            false => ChatError::Stage(StageError::Llm(crate::ports::LlmError::Unavailable(why))),
        });
    };
    let (reply, sources) =
        tokio::time::timeout(budget.fallback, converse(ports, &**fallback, request, sink))
            .await
            .map_err(|_| ChatError::TimedOut(budget.primary + budget.fallback))?
            .map_err(StageError::from)?;
    let label = format!(
        "{} (fallback: {primary} did not answer: {why})",
        fallback.info().label
    );
    Ok((reply, sources, label))
}

/// One model's reply, after the web searches it asks for (at most [`MAX_SEARCHES`]).
async fn converse(
    ports: &Ports,
    llm: &dyn Llm,
    request: &ChatRequest,
    sink: TokenSink<'_>,
) -> Result<(Reply<String>, Vec<WebSource>), crate::ports::LlmError> {
    let mut request = request.clone();
    let mut usage = Usage::default();
    loop {
        request.can_search = ports.web.is_some() && request.searches.len() < MAX_SEARCHES;
        let answer = llm.chat(&request, sink).await?;
        usage.add(&answer.usage);
        let query = match answer.value {
            ChatAnswer::Reply(text) => {
                let reply = Reply { value: text, usage };
                return Ok((reply, consulted(&request.searches)));
            }
            ChatAnswer::Search { query } => query,
        };
        let web = match &ports.web {
            Some(web) if request.can_search => web,
            _ => {
                return Err(crate::ports::LlmError::InvalidOutput(format!(
                    "it asked for a web search it was not offered: {query:?}"
                )))
            }
        };
        let query: String = query.trim().chars().take(MAX_QUERY_CHARS).collect();
        let results = if query.is_empty() {
            Err("the query was empty".to_owned())
        } else {
            web.search(&query, SEARCH_RESULTS)
                .await
                // The adapter's results are checked again: they are shown to the person.
                .map(|found| {
                    found
                        .iter()
                        .filter_map(|r| WebSource::checked(&r.title, &r.url, &r.snippet))
                        .take(SEARCH_RESULTS)
                        .collect::<Vec<_>>()
                })
                .map_err(|e| e.to_string())
        };
        match &results {
            Ok(found) => info!(query = %query, found = found.len(), "web search"),
            Err(e) => warn!(query = %query, error = %e, "web search failed"),
        }
        request.searches.push(WebSearchDone { query, results });
    }
}

/// The reply as stored and shown later: the sources it consulted listed under it.
pub fn with_sources(reply: &str, sources: &[WebSource]) -> String {
    if sources.is_empty() {
        return reply.to_owned();
    }
    let mut out = format!("{}\n\nSources:", reply.trim_end());
    for (i, s) in sources.iter().enumerate() {
        out.push_str(&format!("\n[{}] {} — {}", i + 1, s.title, s.url));
    }
    out
}

/// Facts the person stated about themselves in `message`, merged into memory with the chat
/// message as their source: only the facts they change are written. Returns their texts.
/// The rules read every message; a model, where one is configured, reads it too within
/// `time_left` ([`model_facts`]).
async fn learn(
    ports: &Ports,
    chat: &Chat,
    user: &UserId,
    message: &ChatMessage,
    mut revision: Option<String>,
    memory: &Arc<Vec<MemoryFact>>,
    time_left: Duration,
) -> Result<Vec<String>, StageError> {
    let mut found: Vec<Fact> = statements(&message.text)
        .into_iter()
        .map(|s| Fact {
            category: s.category,
            text: crate::memory::clean_text(&s.text),
            subject: s.subject,
            source: Source {
                origin: Origin::Chat,
                conversation_id: message.thread_id.clone(),
                message_ids: vec![message.id.clone()],
                observed_at: Some(message.at),
            },
        })
        .collect();
    // What the model found that the rules did not (one statement is one source, not two).
    let ruled: Vec<Vec<String>> = found.iter().map(|f| content_words(&f.text)).collect();
    found.extend(
        model_facts(ports, chat, message, time_left)
            .await
            .into_iter()
            .filter(|f| {
                let words = content_words(&f.text);
                !ruled.iter().any(|r| same_fact(r, &words))
            }),
    );
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let texts = found.iter().map(|f| f.text.clone()).collect();
    let mut memory = Arc::clone(memory);
    for _ in 0..4 {
        let changes = learn_facts(&memory, found.clone());
        match ports
            .store
            .put_facts(user, revision.as_deref(), &changes)
            .await
        {
            Ok(now) => {
                let mut kept: Vec<MemoryFact> = memory
                    .iter()
                    .filter(|m| !changes.iter().any(|c| c.id == m.id))
                    .cloned()
                    .collect();
                kept.extend(changes);
                crate::memory::sort_canonically(&mut kept);
                chat.memory.keep(user, &now, Arc::new(kept));
                return Ok(texts);
            }
            // Someone else wrote meanwhile (a deletion, another turn, a full pass): again,
            // with memory as it is now.
            Err(crate::ports::StoreError::Conflict) => {
                (revision, memory) = chat.memory.get(ports, user).await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(StageError::Contention)
}

/// Least time worth giving the model to learn from a message, and most it is given.
const LEARNING_MIN: Duration = Duration::from_secs(2);
const LEARNING_MAX: Duration = Duration::from_secs(10);

/// The fact model's reading of a chat message, as an import's chunk is read and held to the
/// same checks ([`super::with_provenance`]): what the rules miss ("I run a small pottery
/// studio"), in any language the model reads. None without a model, when the turn has too
/// little time left, for a message of questions and requests only or one the pre-filter
/// skips, or while the chat model, being the fact model too, is failing (its breaker open); a
/// failure or a timeout only loses what the model would have added.
async fn model_facts(
    ports: &Ports,
    chat: &Chat,
    message: &ChatMessage,
    time_left: Duration,
) -> Vec<Fact> {
    let failing = chat.breaker.is_open() && ports.fact_llm.info().label == ports.llm.info().label;
    if ports.fact_llm.info().offline || time_left < LEARNING_MIN || failing {
        return Vec::new();
    }
    // A pasted text is not the person's to learn from.
    let words = crate::memory::statements::own_words(&message.text);
    let states_something = words
        .split_inclusive(['.', '!', '?', '\n'])
        .any(|s| !s.trim().is_empty() && !is_not_a_fact(s));
    if !states_something {
        return Vec::new();
    }
    let mut chunk =
        crate::chunker::Chunk::of_message(&message.thread_id, &message.id, words, Some(message.at));
    chunk.title = Some("Chat with SoulPrint".into());
    chunk.recent = true;
    if !super::packs::worth_asking(&chunk) {
        return Vec::new();
    }
    let request = crate::ports::llm::FactRequest {
        chunks: vec![chunk],
    };
    let asked = ports.fact_llm.extract_facts(&request);
    let extracted = match tokio::time::timeout(time_left.min(LEARNING_MAX), asked).await {
        Ok(Ok(reply)) => reply.value.into_iter().next().flatten().unwrap_or_default(),
        Ok(Err(e)) => {
            warn!(error = %e, "the model could not read the message; learned by the rules only");
            return Vec::new();
        }
        Err(_) => {
            warn!("the model took too long to read the message; learned by the rules only");
            return Vec::new();
        }
    };
    super::with_provenance(&request.chunks[0], extracted)
        .into_iter()
        .map(|mut f| {
            f.source.origin = Origin::Chat;
            f
        })
        .collect()
}

/// Consolidated facts back into one fact per source, to consolidate again with new ones.
pub fn explode(memory: &[MemoryFact]) -> Vec<Fact> {
    memory
        .iter()
        .flat_map(|f| {
            f.sources.iter().map(|s| Fact {
                category: f.category,
                text: f.text.clone(),
                subject: f.subject,
                source: s.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_fits_both_models_and_the_turns_writes_inside_the_deadline() {
        let api = ChatBudget {
            primary: Duration::from_secs(20),
            fallback: Duration::from_secs(10),
        };
        // API Gateway's 30 s, of which 29 s are the function's: 26 s for the models.
        let b = api.within(Duration::from_secs(29));
        assert_eq!(b.primary, Duration::from_millis(15_600));
        assert_eq!(b.fallback, Duration::from_millis(10_400).min(api.fallback));
        assert!(b.primary + b.fallback + ChatBudget::MARGIN <= Duration::from_secs(29));
        // Plenty of time: each keeps its own share.
        assert_eq!(api.within(Duration::from_secs(900)), api);
        // Almost none: nothing to wait for.
        let none = api.within(Duration::from_secs(2));
        assert_eq!(none.primary + none.fallback, Duration::ZERO);
    }
}
