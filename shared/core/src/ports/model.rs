//! The narrow port a model adapter implements: send one structured call, stream one chat.
//!
//! What each call asks, with which schema and token budget, how its answer is checked and how
//! an unusable answer is repaired are the domain's ([`crate::model`]), written once: an
//! adapter (Bedrock's Converse, an OpenAI-compatible server) only speaks its wire protocol.

use async_trait::async_trait;
use serde_json::Value;

use super::llm::{ChatAnswer, ChatRequest, LlmError, ModelInfo, Reply, TokenSink, Usage};

/// One request for an answer of a given shape.
#[derive(Debug, Clone, PartialEq)]
pub struct StructuredCall {
    /// What the answer is ("soulprint_sections", "facts", "memory"): a tool's name on
    /// Bedrock, the schema's name on an OpenAI-compatible server.
    pub name: &'static str,
    /// The system text: the same for every call of a kind.
    pub system: &'static str,
    /// The user turn: what this call is about.
    pub user: String,
    /// The JSON schema the answer must match.
    pub schema: Value,
    /// The most the answer may take. Always sent: Bedrock reserves quota for it.
    pub max_tokens: u32,
}

/// What the model said to a structured call, before the domain checks it.
#[derive(Debug, Clone, PartialEq)]
pub struct RawAnswer {
    /// The answer as JSON (the forced tool's input, or the content parsed), or why there is
    /// none: not JSON, no call of the tool, cut off at `max_tokens`.
    pub value: Result<Value, String>,
    /// The model's turn as it was, to send back with a repair.
    pub turn: ModelTurn,
    /// What the call cost.
    pub usage: Usage,
}

/// The model's side of an exchange, as an adapter needs to replay it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelTurn {
    /// Its text, joined.
    pub text: String,
    /// The tool call it made: its id and input.
    pub tool_use: Option<(String, Value)>,
}

/// A correction: the model's answer, and what was wrong with it.
#[derive(Debug, Clone, Copy)]
pub struct Repair<'a> {
    /// The model's unusable answer.
    pub answer: &'a RawAnswer,
    /// What was wrong with it, in words the model is shown.
    pub problem: &'a str,
}

/// A model adapter: one wire protocol, nothing of the domain.
#[async_trait]
pub trait ModelBackend: Send + Sync {
    /// Who answers, and what the stages must know of it.
    fn info(&self) -> ModelInfo;

    /// Sends `call` (with `repair`, the exchange so far and the correction) once.
    async fn send(
        &self,
        call: &StructuredCall,
        repair: Option<Repair<'_>>,
    ) -> Result<RawAnswer, LlmError>;

    /// A chat reply, its pieces sent to `sink` as they come; or, when `request.can_search`,
    /// a web search the model asks for first.
    async fn stream_chat(
        &self,
        request: &ChatRequest,
        sink: TokenSink<'_>,
    ) -> Result<Reply<ChatAnswer>, LlmError>;
}

/// An error's text for the person, from an answer's body: at most this many characters.
pub const MAX_ERROR_TEXT: usize = 300;

/// `s`, cut to [`MAX_ERROR_TEXT`] characters (a hostile server's error page can be large).
pub fn cut(s: &str) -> String {
    s.chars().take(MAX_ERROR_TEXT).collect()
}
