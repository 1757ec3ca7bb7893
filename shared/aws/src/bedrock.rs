//! A model on Amazon Bedrock, through the Converse API: the [`ModelBackend`] under the domain's
//! recipe ([`soulprint_core::model::Model`]).
//!
//! A structured call forces one tool whose input schema is the answer's schema, so that the
//! model answers with JSON of that shape in a `toolUse` block; a repair goes back as that
//! tool's `error` result. Chat streams with ConverseStream and may call `web_search`.
//! `maxTokens` is always the call's (Bedrock reserves quota for it). The SDK does not retry:
//! the recipe does, once for every adapter, and a throttled call is
//! [`LlmError::Throttled`]. A model that is retired, unknown or not granted is
//! [`LlmError::NotServed`], in words that name the parameter to change.

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
use serde_json::{json, Value};
use soulprint_core::conversation::Role;
use soulprint_core::model::questions;
use soulprint_core::ports::llm::{ChatAnswer, ChatRequest, ModelInfo, Reply, TokenSink, Usage};
use soulprint_core::ports::model::{ModelBackend, ModelTurn, RawAnswer, Repair, StructuredCall};
use soulprint_core::ports::web::render_all;
use soulprint_core::ports::LlmError;

use crate::error_text::described;

/// The SDK's own retries are off: the domain's recipe retries throttled and failed calls
/// (with backoff and jitter), so that attempts do not multiply.
pub fn retry_config() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::disabled()
}

#[derive(Debug, Clone)]
pub struct BedrockConfig {
    /// A model id or an inference profile (`us.anthropic.claude-…`), as IAM allows it.
    pub model_id: String,
    /// The template parameter that names it ("ModelId", "FactModelId"): errors say what to change.
    pub parameter: String,
    /// US dollars per million input and output tokens, for the usage records.
    pub price_in: f64,
    pub price_out: f64,
    pub temperature: f32,
}

impl BedrockConfig {
    pub fn new(model_id: impl Into<String>) -> Self {
        BedrockConfig {
            model_id: model_id.into(),
            parameter: "ModelId".into(),
            price_in: 0.0,
            price_out: 0.0,
            temperature: 0.3,
        }
    }
}

/// Converse and ConverseStream for one model.
pub struct Bedrock {
    client: Client,
    config: BedrockConfig,
}

impl Bedrock {
    pub fn new(client: Client, config: BedrockConfig) -> Self {
        Bedrock { client, config }
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

    fn inference(&self, max_tokens: u32, temperature: f32) -> InferenceConfiguration {
        InferenceConfiguration::builder()
            .max_tokens(i32::try_from(max_tokens).unwrap_or(i32::MAX))
            .temperature(temperature)
            .build()
    }

    /// The forced tool whose input is the answer.
    fn forced_tool(call: &StructuredCall) -> Result<ToolConfiguration, LlmError> {
        let spec = ToolSpecification::builder()
            .name(call.name)
            .description("Record the answer. Its input is the whole answer.")
            .input_schema(ToolInputSchema::Json(document(&call.schema)))
            .build()
            .map_err(refused)?;
        ToolConfiguration::builder()
            .tools(Tool::ToolSpec(spec))
            .tool_choice(ToolChoice::Tool(
                SpecificToolChoice::builder()
                    .name(call.name)
                    .build()
                    .map_err(refused)?,
            ))
            .build()
            .map_err(refused)
    }

    fn model_error<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
        &self,
        e: SdkError<E, R>,
    ) -> LlmError {
        model_error(&self.config.model_id, &self.config.parameter, e)
    }
}

fn refused(e: impl std::fmt::Display) -> LlmError {
    LlmError::Refused(e.to_string())
}

fn message(role: ConversationRole, content: Vec<ContentBlock>) -> Result<Message, LlmError> {
    Message::builder()
        .role(role)
        .set_content(Some(content))
        .build()
        .map_err(refused)
}

fn text_message(role: ConversationRole, text: String) -> Result<Message, LlmError> {
    message(role, vec![ContentBlock::Text(text)])
}

/// The exchange a repair sends: the model's turn as it was (Bedrock wants the `toolUse`
/// before its result), then the tool's error result, or a correction when it called no tool.
fn repair_turns(call: &StructuredCall, repair: Repair<'_>) -> Result<[Message; 2], LlmError> {
    let turn = &repair.answer.turn;
    let mut content = Vec::new();
    if !turn.text.is_empty() {
        content.push(ContentBlock::Text(turn.text.clone()));
    }
    let correction = match &turn.tool_use {
        Some((id, input)) => {
            content.push(ContentBlock::ToolUse(
                ToolUseBlock::builder()
                    .tool_use_id(id)
                    .name(call.name)
                    .input(document(input))
                    .build()
                    .map_err(refused)?,
            ));
            let result = ToolResultBlock::builder()
                .tool_use_id(id)
                .content(ToolResultContentBlock::Text(format!(
                    "That input is {}. Call the tool again with input matching its schema.",
                    repair.problem
                )))
                .status(ToolResultStatus::Error)
                .build()
                .map_err(refused)?;
            ContentBlock::ToolResult(result)
        }
        None => ContentBlock::Text(format!(
            "That answer is {}. Answer by calling the {} tool.",
            repair.problem, call.name
        )),
    };
    if content.is_empty() {
        content.push(ContentBlock::Text("(no answer)".into()));
    }
    Ok([
        message(ConversationRole::Assistant, content)?,
        message(ConversationRole::User, vec![correction])?,
    ])
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

/// Throttling, timeouts and 5xx are worth trying later; a model that is retired, unknown or
/// not granted is [`LlmError::NotServed`], in words that say what to change; any other
/// validation error refuses this request only.
fn model_error<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    model: &str,
    parameter: &str,
    e: SdkError<E, R>,
) -> LlmError {
    let code = e.code().unwrap_or("").to_owned();
    let said = e
        .message()
        .map(str::to_owned)
        .unwrap_or_else(|| described(&e));
    let text = format!("{model}: {code}: {said}");
    let SdkError::ServiceError(_) = &e else {
        return LlmError::Unavailable(format!("{model}: {}", described(&e)));
    };
    let lower = said.to_lowercase();
    let not_served = |why: &str| {
        LlmError::NotServed(format!(
            "model {model} {why} (Bedrock said: {code}: {said}); set {parameter} to a model that \
             is Active in this region (the README lists them)"
        ))
    };
    match code.as_str() {
        "ThrottlingException" | "ServiceQuotaExceededException" => LlmError::Throttled(text),
        "ServiceUnavailableException"
        | "InternalServerException"
        | "ModelTimeoutException"
        | "ModelNotReadyException" => LlmError::Unavailable(text),
        "ResourceNotFoundException" if lower.contains("end of its life") => {
            not_served("has reached end of life")
        }
        "ResourceNotFoundException" if lower.contains("legacy") => {
            not_served("is Legacy and no longer served to this account")
        }
        "ResourceNotFoundException" => not_served("is not available in this region"),
        "AccessDeniedException" => {
            not_served("is not granted to this account (model access, or IAM)")
        }
        "ValidationException"
            if lower.contains("model identifier is invalid")
                || lower.contains("end of its life")
                || lower.contains("on-demand throughput")
                || lower.contains("model is not supported") =>
        {
            not_served(
                "cannot be called by this id in this region (an inference profile may be needed)",
            )
        }
        _ => LlmError::Refused(text),
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

const WEB_SEARCH: &str = questions::WEB_SEARCH_TOOL;

fn web_search_tool() -> Result<Tool, LlmError> {
    ToolSpecification::builder()
        .name(WEB_SEARCH)
        .description(questions::WEB_SEARCH_DESCRIPTION)
        .input_schema(ToolInputSchema::Json(document(
            &soulprint_core::model::schemas::web_search_schema(),
        )))
        .build()
        .map(Tool::ToolSpec)
        .map_err(refused)
}

#[async_trait]
impl ModelBackend for Bedrock {
    fn info(&self) -> ModelInfo {
        ModelInfo {
            label: format!("{} on Amazon Bedrock", self.config.model_id),
            offline: false,
            context_tokens: None,
        }
    }

    async fn send(
        &self,
        call: &StructuredCall,
        repair: Option<Repair<'_>>,
    ) -> Result<RawAnswer, LlmError> {
        let mut messages = vec![text_message(ConversationRole::User, call.user.clone())?];
        if let Some(repair) = repair {
            messages.extend(repair_turns(call, repair)?);
        }
        let out = self
            .client
            .converse()
            .model_id(&self.config.model_id)
            .system(SystemContentBlock::Text(call.system.to_owned()))
            .set_messages(Some(messages))
            .inference_config(self.inference(call.max_tokens, self.config.temperature))
            .tool_config(Self::forced_tool(call)?)
            .send()
            .await
            .map_err(|e| self.model_error(e))?;
        let usage = self.usage(1, out.usage());
        let cut_off = *out.stop_reason() == StopReason::MaxTokens;
        let mut turn = ModelTurn::default();
        if let Some(ConverseOutput::Message(m)) = out.output {
            for block in m.content {
                match block {
                    ContentBlock::Text(t) => turn.text.push_str(&t),
                    ContentBlock::ToolUse(u)
                        if u.name() == call.name && turn.tool_use.is_none() =>
                    {
                        turn.tool_use = Some((u.tool_use_id().to_owned(), value(u.input())));
                    }
                    _ => {}
                }
            }
        }
        let value = match &turn.tool_use {
            _ if cut_off => Err(format!("cut off at {} tokens", call.max_tokens)),
            None => Err(format!("not a call of the {} tool", call.name)),
            Some((_, input)) => Ok(input.clone()),
        };
        Ok(RawAnswer { value, turn, usage })
    }

    /// Streams the reply. Earlier searches of the turn are replayed as `toolUse` and
    /// `toolResult` while the model may still search; once it may not, they are given as text,
    /// so that the request carries no tool it could call.
    async fn stream_chat(
        &self,
        request: &ChatRequest,
        sink: TokenSink<'_>,
    ) -> Result<Reply<ChatAnswer>, LlmError> {
        let mut messages = Vec::new();
        for (role, text) in alternating(&request.history) {
            messages.push(text_message(role, text)?);
        }
        let rendered = render_all(&request.searches);
        if request.can_search {
            messages.push(text_message(
                ConversationRole::User,
                request.message.clone(),
            )?);
            for (i, (done, text)) in request.searches.iter().zip(rendered).enumerate() {
                let id = format!("search_{i}");
                let used = ToolUseBlock::builder()
                    .tool_use_id(&id)
                    .name(WEB_SEARCH)
                    .input(document(&json!({"query": done.query})))
                    .build()
                    .map_err(refused)?;
                messages.push(message(
                    ConversationRole::Assistant,
                    vec![ContentBlock::ToolUse(used)],
                )?);
                let result = ToolResultBlock::builder()
                    .tool_use_id(&id)
                    .content(ToolResultContentBlock::Text(text))
                    .build()
                    .map_err(refused)?;
                messages.push(message(
                    ConversationRole::User,
                    vec![ContentBlock::ToolResult(result)],
                )?);
            }
        } else {
            let mut text = request.message.clone();
            for found in rendered {
                text.push_str("\n\n");
                text.push_str(&found);
            }
            messages.push(text_message(ConversationRole::User, text)?);
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
                    .map_err(refused)?,
            );
        }
        let mut out = call.send().await.map_err(|e| self.model_error(e))?;
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
