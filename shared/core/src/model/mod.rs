//! One recipe for every model call: what is asked ([`questions`]), the shape of the answer
//! ([`schemas`]), its token budget, its check, one repair, and retries while the model is
//! throttled or down. [`Model`] is the [`Llm`] the stages use; under it a
//! [`ModelBackend`] (Bedrock, an OpenAI-compatible server) only sends and streams.

pub mod questions;
pub mod schemas;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::ports::llm::{
    ChatAnswer, ChatRequest, FactRequest, Llm, LlmError, MemoryRequest, ModelInfo, PackFacts,
    ProfileRequest, Reply, TokenSink, Usage,
};
use crate::ports::model::{ModelBackend, Repair, StructuredCall};
use crate::sections::Sections;

/// Tokens an answer may take, by call (a small model's window lowers them: [`answer_tokens`]).
pub const PROFILE_TOKENS: u32 = 8_192;
/// Tokens the MEMORY answer may take.
pub const MEMORY_TOKENS: u32 = 4_096;

/// Attempts of one call while the model is throttled or unavailable, the first included.
pub const ATTEMPTS: u32 = 3;

/// `wanted`, or a quarter of a small model's window.
pub fn answer_tokens(info: &ModelInfo, wanted: u32) -> u32 {
    info.context_tokens
        .map_or(wanted, |window| wanted.min(window / 4).max(256))
}

/// An [`Llm`] over a backend: the domain's questions, checked answers, one repair.
pub struct Model {
    backend: Arc<dyn ModelBackend>,
    /// The first wait before a call is tried again; it doubles, with jitter.
    backoff: Duration,
}

impl Model {
    /// The recipe over `backend`, waiting 500 ms before the first retry.
    pub fn new(backend: Arc<dyn ModelBackend>) -> Self {
        Model {
            backend,
            backoff: Duration::from_millis(500),
        }
    }

    /// The first wait before a throttled call is tried again (tests shorten it).
    pub fn with_backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }

    /// Sends `call`, trying again with backoff and jitter while the model is throttled or
    /// unavailable; the usage of failed attempts is not lost.
    async fn send(
        &self,
        call: &StructuredCall,
        repair: Option<Repair<'_>>,
    ) -> Result<crate::ports::model::RawAnswer, LlmError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.backend.send(call, repair).await {
                Err(e) if e.is_retryable() && attempt < ATTEMPTS => {
                    let wait = self.backoff * (1 << (attempt - 1));
                    let jitter = wait.mul_f64(fastrand::f64() * 0.5);
                    tracing::warn!(call = call.name, error = %e, attempt, "model call failed; trying again");
                    tokio::time::sleep(wait + jitter).await;
                }
                other => return other,
            }
        }
    }

    /// One structured call: the answer checked and parsed as `T`; an unusable one is sent
    /// back once with what was wrong; unusable twice is [`LlmError::InvalidOutput`].
    pub async fn structured<T: DeserializeOwned>(
        &self,
        call: &StructuredCall,
        check: impl Fn(&Value) -> Result<(), String>,
    ) -> Result<Reply<T>, LlmError> {
        let mut usage = Usage::default();
        let first = self.send(call, None).await?;
        usage.add(&first.usage);
        let problem = match parse(&first.value, &check) {
            Ok(value) => return Ok(Reply { value, usage }),
            Err(problem) => problem,
        };
        tracing::warn!(call = call.name, %problem, "the model's answer is unusable; asking once more");
        let repair = Repair {
            answer: &first,
            problem: &problem,
        };
        let second = self.send(call, Some(repair)).await?;
        usage.add(&second.usage);
        match parse(&second.value, &check) {
            Ok(value) => Ok(Reply { value, usage }),
            Err(problem) => Err(LlmError::InvalidOutput(format!(
                "{}: {problem}, even after a repair attempt",
                call.name
            ))),
        }
    }

    fn tokens(&self, wanted: u32) -> u32 {
        answer_tokens(&self.backend.info(), wanted)
    }
}

fn parse<T: DeserializeOwned>(
    value: &Result<Value, String>,
    check: &impl Fn(&Value) -> Result<(), String>,
) -> Result<T, String> {
    let value = value.as_ref().map_err(Clone::clone)?;
    check(value)?;
    serde_json::from_value(value.clone()).map_err(|e| format!("wrong shape ({e})"))
}

#[async_trait]
impl Llm for Model {
    fn info(&self) -> ModelInfo {
        self.backend.info()
    }

    async fn profile(&self, request: &ProfileRequest) -> Result<Reply<Sections>, LlmError> {
        let call = StructuredCall {
            name: "soulprint_sections",
            system: questions::PROFILE_SYSTEM,
            user: questions::profile_prompt(request),
            schema: schemas::sections_schema(),
            max_tokens: self.tokens(PROFILE_TOKENS),
        };
        self.structured(&call, schemas::check_sections).await
    }

    async fn extract_facts(&self, request: &FactRequest) -> Result<Reply<PackFacts>, LlmError> {
        let sent = request.chunks.len();
        let call = StructuredCall {
            name: "facts",
            system: questions::facts_system(sent),
            user: questions::facts_prompt(request),
            schema: schemas::facts_schema(sent),
            max_tokens: self.tokens(schemas::facts_answer_tokens(sent)),
        };
        let reply: Reply<schemas::FactsAnswer> = self
            .structured(&call, |v| schemas::check_facts(v, sent))
            .await?;
        Ok(Reply {
            value: reply.value.into_pack(sent),
            usage: reply.usage,
        })
    }

    async fn write_memory(&self, request: &MemoryRequest) -> Result<Reply<String>, LlmError> {
        let call = StructuredCall {
            name: "memory",
            system: questions::MEMORY_SYSTEM,
            user: questions::memory_prompt(request),
            schema: schemas::memory_schema(),
            max_tokens: self.tokens(MEMORY_TOKENS),
        };
        let reply: Reply<schemas::MemoryAnswer> = self.structured(&call, |_| Ok(())).await?;
        Ok(Reply {
            value: reply.value.memory_md,
            usage: reply.usage,
        })
    }

    async fn chat(
        &self,
        request: &ChatRequest,
        sink: TokenSink<'_>,
    ) -> Result<Reply<ChatAnswer>, LlmError> {
        self.backend.stream_chat(request, sink).await
    }

    /// A call of a few tokens: a model that is retired, unknown or not granted answers with
    /// [`LlmError::NotServed`] before anything is spent on it.
    async fn check(&self) -> Result<Usage, LlmError> {
        let call = StructuredCall {
            name: "ready",
            system: questions::READY_SYSTEM,
            user: "ready?".to_owned(),
            schema: schemas::ready_schema(),
            max_tokens: 16,
        };
        // Any answer will do, even one cut off: the model is there.
        Ok(self.send(&call, None).await?.usage)
    }
}
