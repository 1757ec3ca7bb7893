//! A model on Amazon Bedrock, through the Converse API.
//!
//! Structured answers (sections, facts, MEMORY) force one tool whose input schema is the
//! answer's schema, so that the model answers with JSON of that shape in a `toolUse` block; an
//! answer that does not check gets one repair attempt, told as the tool's error result. Chat
//! streams with ConverseStream and may call `web_search`. `maxTokens` is always set.
//! Throttling and 5xx are retried by the SDK's standard retry (exponential backoff with
//! jitter, [`retry_config`]); what is still failing after that is [`LlmError::Unavailable`],
//! which the stages retry later, and the chat stage's breaker and fallback model take over.

use async_trait::async_trait;
use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ContentBlockDelta, ContentBlockStart, ConversationRole, ConverseOutput,
    ConverseStreamOutput, InferenceConfiguration, Message, SpecificToolChoice, StopReason,
    SystemContentBlock, TokenUsage, Tool, ToolChoice, ToolConfiguration, ToolInputSchema,
    ToolResultBlock, ToolResultContentBlock, ToolResultStatus, ToolSpecification, ToolUseBlock,
};
use aws_sdk_bedrockruntime::Client;
use aws_smithy_types::{Document, Number};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use soulprint_core::conversation::Role;
use soulprint_core::ports::llm::{
    ChatAnswer, ChatRequest, ExtractedFact, FactRequest, MemoryRequest, ModelInfo, ProfileRequest,
    Reply, TokenSink, Usage,
};
use soulprint_core::ports::web::render_all;
use soulprint_core::ports::{Llm, LlmError};
use soulprint_core::prompts;
use soulprint_core::sections::Sections;

use crate::error_text::described;

/// Attempts per call, the first included, before throttling becomes `Unavailable`.
pub const MAX_ATTEMPTS: u32 = 6;

/// The SDK's standard retry: exponential backoff with full jitter on throttling, timeouts and
/// 5xx; a client for Bedrock is built with it.
pub fn retry_config() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS)
}

#[derive(Debug, Clone)]
pub struct BedrockConfig {
    /// A model id or an inference profile (`us.anthropic.claude-…`), as IAM allows it.
    pub model_id: String,
    /// US dollars per million input and output tokens, for the usage records.
    pub price_in: f64,
    pub price_out: f64,
    /// `maxTokens` of the quick pass; fact extraction and MEMORY use less.
    pub max_tokens: i32,
    pub temperature: f32,
}

impl BedrockConfig {
    pub fn new(model_id: impl Into<String>) -> Self {
        BedrockConfig {
            model_id: model_id.into(),
            price_in: 0.0,
            price_out: 0.0,
            max_tokens: 8_192,
            temperature: 0.3,
        }
    }
}

pub struct BedrockModel {
    client: Client,
    config: BedrockConfig,
}

impl BedrockModel {
    pub fn new(client: Client, config: BedrockConfig) -> Self {
        BedrockModel { client, config }
    }

    fn usage(&self, calls: u64, tokens: Option<&TokenUsage>) -> Usage {
        let (input, output) = tokens.map_or((0, 0), |t| {
            (
                t.input_tokens().max(0) as u64,
                t.output_tokens().max(0) as u64,
            )
        });
        Usage {
            calls,
            input_tokens: input,
            output_tokens: output,
            cost_usd: (input as f64 * self.config.price_in + output as f64 * self.config.price_out)
                / 1e6,
        }
    }

    fn inference(&self, max_tokens: i32, temperature: f32) -> InferenceConfiguration {
        InferenceConfiguration::builder()
            .max_tokens(max_tokens)
            .temperature(temperature)
            .build()
    }

    /// One structured call: the forced tool's input parsed as `T`, or one repair attempt, or
    /// an error.
    async fn structured<T: DeserializeOwned>(
        &self,
        tool: &str,
        system: &str,
        user: String,
        schema: Value,
        max_tokens: i32,
        check: impl Fn(&Value) -> Result<(), String>,
    ) -> Result<Reply<T>, LlmError> {
        let spec = ToolSpecification::builder()
            .name(tool)
            .description("Record the answer. Its input is the whole answer.")
            .input_schema(ToolInputSchema::Json(document(&schema)))
            .build()
            .map_err(|e| LlmError::Refused(e.to_string()))?;
        let tools = ToolConfiguration::builder()
            .tools(Tool::ToolSpec(spec))
            .tool_choice(ToolChoice::Tool(
                SpecificToolChoice::builder()
                    .name(tool)
                    .build()
                    .map_err(|e| LlmError::Refused(e.to_string()))?,
            ))
            .build()
            .map_err(|e| LlmError::Refused(e.to_string()))?;
        let mut messages = vec![message(ConversationRole::User, ContentBlock::Text(user))?];
        let mut usage = Usage::default();
        for attempt in 0..2 {
            let out = self
                .client
                .converse()
                .model_id(&self.config.model_id)
                .system(SystemContentBlock::Text(system.to_owned()))
                .set_messages(Some(messages.clone()))
                .inference_config(self.inference(max_tokens, self.config.temperature))
                .tool_config(tools.clone())
                .send()
                .await
                .map_err(|e| model_error(&self.config.model_id, e))?;
            usage.add(&self.usage(1, out.usage()));
            let cut_off = *out.stop_reason() == StopReason::MaxTokens;
            let reply = match out.output {
                Some(ConverseOutput::Message(m)) => m,
                _ => return Err(LlmError::InvalidOutput(format!("{tool}: no message"))),
            };
            let used = reply.content().iter().find_map(|c| match c {
                ContentBlock::ToolUse(u) if u.name() == tool => Some(u.clone()),
                _ => None,
            });
            let parsed = match &used {
                _ if cut_off => Err(format!("cut off at {max_tokens} tokens")),
                None => Err(format!("not a call of the {tool} tool")),
                Some(u) => {
                    let v = value(u.input());
                    check(&v).and_then(|()| {
                        serde_json::from_value::<T>(v).map_err(|e| format!("wrong shape ({e})"))
                    })
                }
            };
            match (parsed, used) {
                (Ok(value), _) => return Ok(Reply { value, usage }),
                (Err(problem), Some(used)) if attempt == 0 => {
                    tracing::warn!(call = tool, %problem, "the model's answer is unusable; asking once more");
                    messages.push(reply_of(reply)?);
                    messages.push(tool_error(&used, &problem)?);
                }
                (Err(problem), None) if attempt == 0 => {
                    tracing::warn!(call = tool, %problem, "the model's answer is unusable; asking once more");
                    messages.push(reply_of(reply)?);
                    messages.push(message(
                        ConversationRole::User,
                        ContentBlock::Text(format!(
                            "That answer is {problem}. Answer by calling the {tool} tool."
                        )),
                    )?);
                }
                (Err(problem), _) => {
                    return Err(LlmError::InvalidOutput(format!(
                        "{tool}: {problem}, even after a repair attempt"
                    )))
                }
            }
        }
        unreachable!("two attempts")
    }
}

fn message(role: ConversationRole, content: ContentBlock) -> Result<Message, LlmError> {
    Message::builder()
        .role(role)
        .content(content)
        .build()
        .map_err(|e| LlmError::Refused(e.to_string()))
}

/// The model's own message, sent back as it was (Bedrock wants the `toolUse` before its result).
fn reply_of(m: Message) -> Result<Message, LlmError> {
    Message::builder()
        .role(ConversationRole::Assistant)
        .set_content(Some(m.content))
        .build()
        .map_err(|e| LlmError::Refused(e.to_string()))
}

fn tool_error(used: &ToolUseBlock, problem: &str) -> Result<Message, LlmError> {
    let result = ToolResultBlock::builder()
        .tool_use_id(used.tool_use_id())
        .content(ToolResultContentBlock::Text(format!(
            "That input is {problem}. Call the tool again with input matching its schema."
        )))
        .status(ToolResultStatus::Error)
        .build()
        .map_err(|e| LlmError::Refused(e.to_string()))?;
    message(ConversationRole::User, ContentBlock::ToolResult(result))
}

/// Converse wants turns that alternate and start with the person: a thread whose turn was
/// cut (a reply that failed to save) has two of a kind in a row, which are joined; a reply
/// with nothing before it is dropped.
fn alternating(
    history: &[soulprint_core::ports::llm::ChatTurn],
) -> Vec<(ConversationRole, String)> {
    let mut out: Vec<(ConversationRole, String)> = Vec::new();
    for turn in history {
        let role = match turn.role {
            Role::User => ConversationRole::User,
            Role::Assistant => ConversationRole::Assistant,
        };
        match out.last_mut() {
            Some((last, text)) if *last == role => {
                text.push_str("\n\n");
                text.push_str(&turn.text);
            }
            None if role == ConversationRole::Assistant => {}
            _ => out.push((role, turn.text.clone())),
        }
    }
    // The message that follows is the person's: the history ends with a reply.
    if out
        .last()
        .is_some_and(|(role, _)| *role == ConversationRole::User)
    {
        out.push((
            ConversationRole::Assistant,
            "(no reply was saved)".to_owned(),
        ));
    }
    out
}

/// Throttling, timeouts and 5xx left after the SDK's retries are worth trying later; a
/// validation or access error is not.
fn model_error<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    model: &str,
    e: SdkError<E, R>,
) -> LlmError {
    let code = e.code().unwrap_or("").to_owned();
    let text = format!(
        "{model}: {}",
        e.message()
            .map(str::to_owned)
            .unwrap_or_else(|| described(&e))
    );
    match &e {
        SdkError::ServiceError(_) => match code.as_str() {
            "ThrottlingException"
            | "ServiceUnavailableException"
            | "InternalServerException"
            | "ModelTimeoutException"
            | "ModelNotReadyException"
            | "ServiceQuotaExceededException" => LlmError::Unavailable(format!("{code}: {text}")),
            _ => LlmError::Refused(format!("{code}: {text}")),
        },
        _ => LlmError::Unavailable(text),
    }
}

/// A JSON value as the SDK's document type (tool schemas and inputs).
pub fn document(v: &Value) -> Document {
    match v {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(*b),
        Value::Number(n) => Document::Number(if let Some(u) = n.as_u64() {
            Number::PosInt(u)
        } else if let Some(i) = n.as_i64() {
            Number::NegInt(i)
        } else {
            Number::Float(n.as_f64().unwrap_or(0.0))
        }),
        Value::String(s) => Document::String(s.clone()),
        Value::Array(a) => Document::Array(a.iter().map(document).collect()),
        Value::Object(o) => {
            Document::Object(o.iter().map(|(k, v)| (k.clone(), document(v))).collect())
        }
    }
}

/// The SDK's document type as JSON (a non-finite float becomes null).
pub fn value(d: &Document) -> Value {
    match d {
        Document::Null => Value::Null,
        Document::Bool(b) => Value::Bool(*b),
        Document::Number(Number::PosInt(u)) => json!(u),
        Document::Number(Number::NegInt(i)) => json!(i),
        Document::Number(Number::Float(f)) => {
            serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
        }
        Document::String(s) => Value::String(s.clone()),
        Document::Array(a) => Value::Array(a.iter().map(value).collect()),
        Document::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), value(v))).collect())
        }
    }
}

const WEB_SEARCH: &str = prompts::WEB_SEARCH_TOOL;

fn web_search_tool() -> Result<Tool, LlmError> {
    ToolSpecification::builder()
        .name(WEB_SEARCH)
        .description(prompts::WEB_SEARCH_DESCRIPTION)
        .input_schema(ToolInputSchema::Json(document(
            &prompts::web_search_schema(),
        )))
        .build()
        .map(Tool::ToolSpec)
        .map_err(|e| LlmError::Refused(e.to_string()))
}

#[async_trait]
impl Llm for BedrockModel {
    fn info(&self) -> ModelInfo {
        ModelInfo {
            label: format!("{} on Amazon Bedrock", self.config.model_id),
            offline: false,
            context_tokens: None,
        }
    }

    async fn profile(&self, request: &ProfileRequest) -> Result<Reply<Sections>, LlmError> {
        self.structured(
            "soulprint_sections",
            prompts::PROFILE_SYSTEM,
            prompts::profile_prompt(request),
            prompts::sections_schema(),
            self.config.max_tokens,
            prompts::check_sections,
        )
        .await
    }

    async fn extract_facts(
        &self,
        request: &FactRequest,
    ) -> Result<Reply<Vec<ExtractedFact>>, LlmError> {
        let reply: Reply<prompts::FactsAnswer> = self
            .structured(
                "facts",
                prompts::FACTS_SYSTEM,
                prompts::facts_prompt(request),
                prompts::facts_schema(),
                2_048,
                prompts::check_facts,
            )
            .await?;
        Ok(Reply {
            value: reply.value.into_facts(),
            usage: reply.usage,
        })
    }

    async fn write_memory(&self, request: &MemoryRequest) -> Result<Reply<String>, LlmError> {
        let reply: Reply<prompts::MemoryAnswer> = self
            .structured(
                "memory",
                prompts::MEMORY_SYSTEM,
                prompts::memory_prompt(request),
                prompts::memory_schema(),
                4_096,
                |_| Ok(()),
            )
            .await?;
        Ok(Reply {
            value: reply.value.memory_md,
            usage: reply.usage,
        })
    }

    /// Streams the reply. Earlier searches of the turn are replayed as `toolUse` and
    /// `toolResult` while the model may still search; once it may not, they are given as text,
    /// so that the request carries no tool it could call.
    async fn chat(
        &self,
        request: &ChatRequest,
        sink: TokenSink<'_>,
    ) -> Result<Reply<ChatAnswer>, LlmError> {
        let mut messages = Vec::new();
        for (role, text) in alternating(&request.history) {
            messages.push(message(role, ContentBlock::Text(text))?);
        }
        let rendered = render_all(&request.searches);
        if request.can_search {
            messages.push(message(
                ConversationRole::User,
                ContentBlock::Text(request.message.clone()),
            )?);
            for (i, (done, text)) in request.searches.iter().zip(rendered).enumerate() {
                let id = format!("search_{i}");
                let used = ToolUseBlock::builder()
                    .tool_use_id(&id)
                    .name(WEB_SEARCH)
                    .input(document(&json!({"query": done.query})))
                    .build()
                    .map_err(|e| LlmError::Refused(e.to_string()))?;
                messages.push(message(
                    ConversationRole::Assistant,
                    ContentBlock::ToolUse(used),
                )?);
                let result = ToolResultBlock::builder()
                    .tool_use_id(&id)
                    .content(ToolResultContentBlock::Text(text))
                    .build()
                    .map_err(|e| LlmError::Refused(e.to_string()))?;
                messages.push(message(
                    ConversationRole::User,
                    ContentBlock::ToolResult(result),
                )?);
            }
        } else {
            let mut text = request.message.clone();
            for found in rendered {
                text.push_str("\n\n");
                text.push_str(&found);
            }
            messages.push(message(ConversationRole::User, ContentBlock::Text(text))?);
        }
        let mut call = self
            .client
            .converse_stream()
            .model_id(&self.config.model_id)
            .system(SystemContentBlock::Text(request.system.clone()))
            .set_messages(Some(messages))
            .inference_config(self.inference(2_048, 0.7));
        if request.can_search {
            call = call.tool_config(
                ToolConfiguration::builder()
                    .tools(web_search_tool()?)
                    .build()
                    .map_err(|e| LlmError::Refused(e.to_string()))?,
            );
        }
        let mut out = call
            .send()
            .await
            .map_err(|e| model_error(&self.config.model_id, e))?;
        let mut reply = String::new();
        let mut tool_name = String::new();
        let mut tool_input = String::new();
        let mut usage = self.usage(1, None);
        loop {
            let event = out.stream.recv().await.map_err(|e| {
                LlmError::Unavailable(format!(
                    "{}: the stream broke: {}",
                    self.config.model_id,
                    described(&e)
                ))
            })?;
            match event {
                None => break,
                Some(ConverseStreamOutput::ContentBlockStart(start)) => {
                    if let Some(ContentBlockStart::ToolUse(t)) = start.start {
                        if tool_name.is_empty() {
                            tool_name = t.name;
                        }
                    }
                }
                Some(ConverseStreamOutput::ContentBlockDelta(delta)) => match delta.delta {
                    Some(ContentBlockDelta::Text(piece)) => {
                        sink(&piece);
                        reply.push_str(&piece);
                    }
                    Some(ContentBlockDelta::ToolUse(t)) => tool_input.push_str(&t.input),
                    _ => {}
                },
                Some(ConverseStreamOutput::Metadata(m)) => usage = self.usage(1, m.usage()),
                Some(_) => {}
            }
        }
        let value = if tool_name.is_empty() {
            ChatAnswer::Reply(reply)
        } else if tool_name == WEB_SEARCH && request.can_search {
            let query = serde_json::from_str::<Value>(&tool_input)
                .ok()
                .and_then(|a| a["query"].as_str().map(str::to_owned))
                .ok_or_else(|| {
                    LlmError::InvalidOutput(format!(
                        "the web_search call's input is not {{\"query\": \"…\"}}: {}",
                        tool_input.chars().take(300).collect::<String>()
                    ))
                })?;
            ChatAnswer::Search { query }
        } else {
            return Err(LlmError::InvalidOutput(format!(
                "it called a tool it was not offered: {}",
                tool_name.chars().take(100).collect::<String>()
            )));
        };
        Ok(Reply { value, usage })
    }
}
