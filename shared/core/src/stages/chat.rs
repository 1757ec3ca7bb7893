//! A chat turn: the soulprint, what is recalled for the message, the thread so far → the
//! model → the reply, stored; then what the person stated about themselves is learned.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::{info, info_span, warn, Instrument};

use super::breaker::Breaker;
use super::StageError;
use crate::conversation::Role;
use crate::memory::statements::statements;
use crate::memory::{consolidate, Fact, FactStatus, MemoryFact, Origin, Source};
use crate::ports::llm::{ChatRequest, ChatTurn, TokenSink};
use crate::ports::store::ChatMessage;
use crate::ports::{BlobError, BlobKey, Ports, UserId};
use crate::prompt::{self, PromptInput, PromptVersion};
use crate::relevance::{Doc, RelevanceIndex, INDEX_BLOB};

/// A message is 1 to this many characters.
pub const MAX_MESSAGE_CHARS: usize = 50_000;
/// Turns of the thread sent with the message.
const HISTORY_TURNS: usize = 10;
/// Recalled documents in the prompt, and the characters of each.
const RECALLED: usize = 8;
const RECALLED_CHARS: usize = 2_000;
/// Learned facts in the prompt, newest first.
const LEARNED: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("a message is 1 to {MAX_MESSAGE_CHARS} characters; this one has {0}")]
    BadMessage(usize),
    #[error("there is no soulprint yet: import an export first")]
    NoProfile,
    #[error("the model took longer than {0:?}; try again")]
    TimedOut(Duration),
    #[error(transparent)]
    Stage(#[from] StageError),
}

/// What a turn gave.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnReply {
    pub thread_id: String,
    pub reply: String,
    pub answered_by: String,
    /// What was recalled for the message, with its sources.
    pub recalled: Vec<Doc>,
    /// Facts learned from the message.
    pub learned: Vec<String>,
}

/// Per-user relevance indexes, loaded once and kept (the index changes only when a full pass
/// ends; `forget` drops it).
#[derive(Default, Clone)]
pub struct IndexCache {
    loaded: Arc<Mutex<HashMap<UserId, Arc<RelevanceIndex>>>>,
}

impl IndexCache {
    pub async fn get(
        &self,
        ports: &Ports,
        user: &UserId,
    ) -> Result<Arc<RelevanceIndex>, StageError> {
        if let Some(index) = self
            .loaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(user)
        {
            return Ok(Arc::clone(index));
        }
        let index = match ports.blobs.get(&BlobKey::new(user, INDEX_BLOB)?).await {
            Ok(bytes) => RelevanceIndex::from_jsonl(&bytes)
                .map_err(|e| StageError::Corrupt(format!("the relevance index: {e}")))?,
            // No full pass yet: nothing to recall but what the prompt holds.
            Err(BlobError::NotFound(_)) => RelevanceIndex::default(),
            Err(e) => return Err(e.into()),
        };
        let index = Arc::new(index);
        self.loaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(user.clone(), Arc::clone(&index));
        Ok(index)
    }

    pub fn forget(&self, user: &UserId) {
        self.loaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(user);
    }
}

/// What chat keeps between turns: the loaded indexes and the model's breaker.
#[derive(Default, Clone)]
pub struct Chat {
    pub index: IndexCache,
    pub breaker: Arc<Breaker>,
}

/// One turn. `sink` gets the reply's pieces as the model sends them.
pub async fn chat_turn(
    ports: &Ports,
    chat: &Chat,
    user: &UserId,
    thread_id: Option<String>,
    message: &str,
    limit: Duration,
    sink: TokenSink<'_>,
) -> Result<TurnReply, ChatError> {
    let chars = message.chars().count();
    if chars == 0 || chars > MAX_MESSAGE_CHARS || message.trim().is_empty() {
        return Err(ChatError::BadMessage(chars));
    }
    let thread_id = thread_id.unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string());
    let span = info_span!("chat", user = %user, thread_id = %thread_id);
    async {
        let profile = ports
            .store
            .profile(user)
            .await
            .map_err(StageError::from)?
            .ok_or(ChatError::NoProfile)?;
        let index = chat.index.get(ports, user).await?;
        let recalled: Vec<Doc> = index
            .search(message, RECALLED)
            .into_iter()
            .map(|h| h.doc.clone())
            .collect();
        let memory = ports.store.memory(user).await.map_err(StageError::from)?;
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
        let context: Vec<String> = recalled
            .iter()
            .map(|d| d.text.chars().take(RECALLED_CHARS).collect())
            .collect();
        let now = ports.clock.now();
        let system = prompt::build(
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
        };
        let (reply, answered_by) = answer(ports, chat, &request, limit, sink).await?;
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
            text: reply.value.clone(),
            answered_by: Some(answered_by.clone()),
            at: ports.clock.now(),
            ..asked.clone()
        };
        ports
            .store
            .append_chat(user, &[asked.clone(), answered])
            .await
            .map_err(StageError::from)?;
        let learned = learn(ports, user, &asked, memory)
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
        })
    }
    .instrument(span)
    .await
}

/// The primary model's reply, or the fallback's when the primary fails, times out or its
/// breaker is open; says which answered.
async fn answer(
    ports: &Ports,
    chat: &Chat,
    request: &ChatRequest,
    limit: Duration,
    sink: TokenSink<'_>,
) -> Result<(crate::ports::llm::Reply<String>, String), ChatError> {
    let primary = ports.llm.info().label;
    let why = if chat.breaker.allow(ports.clock.now()) {
        match tokio::time::timeout(limit, ports.llm.chat(request, sink)).await {
            Ok(Ok(reply)) => {
                chat.breaker.succeeded();
                return Ok((reply, primary));
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
    let reply = tokio::time::timeout(limit, fallback.chat(request, sink))
        .await
        .map_err(|_| ChatError::TimedOut(limit))?
        .map_err(StageError::from)?;
    let label = format!(
        "{} (fallback: {primary} did not answer: {why})",
        fallback.info().label
    );
    Ok((reply, label))
}

/// Facts the person stated about themselves in `message`, consolidated into memory with the
/// chat message as their source. Returns their texts.
async fn learn(
    ports: &Ports,
    user: &UserId,
    message: &ChatMessage,
    memory: Vec<MemoryFact>,
) -> Result<Vec<String>, StageError> {
    let found: Vec<Fact> = statements(&message.text)
        .into_iter()
        .map(|s| Fact {
            category: s.category,
            text: s.text,
            subject: s.subject,
            source: Source {
                origin: Origin::Chat,
                conversation_id: message.thread_id.clone(),
                message_ids: vec![message.id.clone()],
                observed_at: Some(message.at),
            },
        })
        .collect();
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let texts = found.iter().map(|f| f.text.clone()).collect();
    let Some(state) = ports.store.import_state(user).await? else {
        return Ok(Vec::new());
    };
    let mut raw = explode(&memory);
    raw.extend(found);
    let merged = consolidate(raw);
    ports
        .store
        .replace_memory(user, &state.value.import_id, &merged)
        .await?;
    Ok(texts)
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
