//! The model, as the stages see it: typed requests and what they cost. Two kinds implement
//! it: the domain's recipe over a backend that only sends and streams
//! ([`crate::model::Model`] over [`super::model::ModelBackend`]: Bedrock, an
//! OpenAI-compatible server), and what answers with no model at all (the offline engine, a
//! test's scripted double).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::chunker::Chunk;
use crate::conversation::ProfileSignals;
use crate::memory::{Category, MemoryFact, Subject};
use crate::person_stats::PersonStats;
use crate::sampler::Sampled;
use crate::sections::Sections;

/// Tokens and money spent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// Model calls made; a repair is a call of its own.
    pub calls: u64,
    /// Tokens sent, as the server counted them.
    pub input_tokens: u64,
    /// Tokens received, as the server counted them.
    pub output_tokens: u64,
    /// What those tokens cost in US dollars, at the prices configured for the model.
    pub cost_usd: f64,
}

impl Usage {
    /// Adds `other`; counts a hostile server reports saturate instead of overflowing.
    pub fn add(&mut self, other: &Usage) {
        self.calls = self.calls.saturating_add(other.calls);
        self.input_tokens = self.input_tokens.saturating_add(other.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(other.output_tokens);
        if other.cost_usd.is_finite() {
            self.cost_usd += other.cost_usd;
        }
    }
}

/// What a call gave and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply<T> {
    /// What the model gave, checked and parsed.
    pub value: T,
    /// What the call cost, repairs and retries included.
    pub usage: Usage,
}

/// Who answers: shown to the person beside everything the model wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// "offline (no model)", "qwen2.5:7b at http://127.0.0.1:11434/v1", …
    pub label: String,
    /// No model at all: every field is derived from the export by rules, with its evidence.
    pub offline: bool,
    /// The model's context window in tokens, when it is known to be small: the stages send
    /// it less at once (see [`crate::budgets`]).
    #[serde(default)]
    pub context_tokens: Option<u32>,
}

/// The quick pass (and, with `memory_md`, the regeneration after the full pass): the five
/// sections from a sample of the person's conversations.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileRequest {
    /// Conversations sampled from the export, within the model's budget.
    pub sample: Vec<Sampled>,
    /// What ChatGPT already knew: custom instructions, its own memory.
    pub signals: ProfileSignals,
    /// Counts of the person's own messages, for the prompt's opening line.
    pub stats: PersonStats,
    /// MEMORY, when the sections are written again after the full pass.
    pub memory_md: Option<String>,
}

/// Facts about the person in a pack of conversation chunks, asked in one call: fewer, fuller
/// calls than one a chunk, each fact still tied to the chunk it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct FactRequest {
    /// The chunks to read, numbered from 1 in the question.
    pub chunks: Vec<Chunk>,
}

/// What a pack's answer says of each chunk sent, in the order sent: its facts, or `None` when
/// the answer left the chunk out or gave its part in a shape that could not be read (the
/// chunk is then asked again alone). Facts the answer tied to a chunk that was not sent are
/// dropped.
pub type PackFacts = Vec<Option<Vec<ExtractedFact>>>;

/// One fact as a model reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtractedFact {
    /// The MEMORY heading it goes under.
    pub category: Category,
    /// The fact, in a short sentence about the person.
    pub text: String,
    /// Set when the fact is about a location, occupation, employer or relationship.
    #[serde(default)]
    pub subject: Option<Subject>,
    /// The person's own words it rests on (used to find the message it came from).
    #[serde(default)]
    pub evidence: Option<String>,
}

/// The MEMORY section from consolidated facts.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryRequest {
    /// The consolidated facts, current ones and history.
    pub facts: Vec<MemoryFact>,
}

/// One chat turn: the system prompt (the soulprint with what was recalled), the thread so
/// far, the message.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// The system prompt: the soulprint, MEMORY, learned facts and what was recalled.
    pub system: String,
    /// The thread's last turns, oldest first, not counting this message.
    pub history: Vec<ChatTurn>,
    /// What the person just wrote.
    pub message: String,
    /// What was recalled for the message, with sources: a model reads it in `system`; the
    /// offline engine answers with it.
    pub recalled: Vec<crate::relevance::Doc>,
    /// The model may answer with a web search instead of a reply (a search tool is
    /// configured and the turn has calls left).
    pub can_search: bool,
    /// The searches made so far this turn, in order (see [`crate::ports::web::render_results`]).
    pub searches: Vec<crate::ports::web::WebSearchDone>,
}

/// A chat call's answer: the reply, or a web search the model wants first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatAnswer {
    /// The reply, whole (its pieces have already gone to the sink).
    Reply(String),
    /// A web search the model wants to make before it answers.
    Search {
        /// What to search for, as the model wrote it (cut to 400 characters before use).
        query: String,
    },
}

/// One message of a chat thread, as a model is shown it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatTurn {
    /// Who wrote it.
    pub role: crate::conversation::Role,
    /// What was written; a stored reply has its sources listed under it.
    pub text: String,
}

/// Where a streamed reply's pieces go as the model produces them.
pub type TokenSink<'a> = &'a (dyn Fn(&str) + Send + Sync);

/// Why a model call failed; [`LlmError::is_retryable`] says whether to try again.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// Worth retrying: the server is down or overloaded.
    #[error("the model is unavailable: {0}")]
    Unavailable(String),
    /// Worth retrying, later: the model's quota is spent for now.
    #[error("the model is throttling requests: {0}")]
    Throttled(String),
    /// The answer was unusable, even after one repair attempt.
    #[error("the model's answer was unusable: {0}")]
    InvalidOutput(String),
    /// This request was refused (too long, filtered): retrying it will not help.
    #[error("the model refused the request: {0}")]
    Refused(String),
    /// The model cannot be used at all (retired, unknown, not granted, a refused key): no
    /// request to it will pass until the setting changes. The text says which to change.
    #[error("{0}")]
    NotServed(String),
}

impl LlmError {
    /// Whether the same request may pass later: the model was unavailable or throttled.
    pub fn is_retryable(&self) -> bool {
        matches!(self, LlmError::Unavailable(_) | LlmError::Throttled(_))
    }
}

/// A model as the stages call it: the quick pass, fact extraction, MEMORY and chat.
#[async_trait]
pub trait Llm: Send + Sync {
    /// Who answers, and what the stages must know of it.
    fn info(&self) -> ModelInfo;
    /// The five sections from a sample of the person's conversations (with MEMORY, when written
    /// again after the full pass).
    async fn profile(&self, request: &ProfileRequest) -> Result<Reply<Sections>, LlmError>;
    /// The facts about the person in each chunk of a pack; none at all is an answer.
    async fn extract_facts(&self, request: &FactRequest) -> Result<Reply<PackFacts>, LlmError>;
    /// The MEMORY section, in Markdown, from the consolidated facts.
    async fn write_memory(&self, request: &MemoryRequest) -> Result<Reply<String>, LlmError>;
    /// A chat reply, its pieces sent to `sink` as they come; the whole reply returned. Or,
    /// when `request.can_search`, a web search the model asks for before it answers.
    async fn chat(
        &self,
        request: &ChatRequest,
        sink: TokenSink<'_>,
    ) -> Result<Reply<ChatAnswer>, LlmError>;
    /// Whether the model can be called at all, for a few tokens at most: a retired or
    /// unknown model is [`LlmError::NotServed`] before an import spends anything on it.
    async fn check(&self) -> Result<Usage, LlmError> {
        Ok(Usage::default())
    }
}
