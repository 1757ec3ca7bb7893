//! A model behind an OpenAI-compatible chat-completions API: what people run locally (Ollama,
//! llama.cpp's server, vLLM, LM Studio) and many hosted services. Answers are requested as
//! JSON matching a schema (`response_format: json_schema`) and checked; an answer that does
//! not parse or match gets one repair attempt.

use std::time::Duration;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Deserialize;
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

#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// Up to and including `/v1`: `http://127.0.0.1:11434/v1`.
    pub base_url: String,
    pub model: String,
    pub api_key: Option<String>,
    /// US dollars per million input and output tokens (0 for a model of your own).
    pub price_in: f64,
    pub price_out: f64,
    pub timeout: Duration,
    /// `max_tokens` of the quick pass; fact extraction and MEMORY use less.
    pub max_tokens: u32,
    pub temperature: f32,
    /// The model's context window, when small: budgets and `max_tokens` shrink to fit it.
    pub context_tokens: Option<u32>,
}

impl OpenAiConfig {
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        OpenAiConfig {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            model: model.into(),
            api_key: None,
            price_in: 0.0,
            price_out: 0.0,
            timeout: Duration::from_secs(300),
            max_tokens: 8_192,
            temperature: 0.3,
            context_tokens: None,
        }
    }
}

pub struct OpenAiCompatible {
    config: OpenAiConfig,
    http: reqwest::Client,
}

impl OpenAiCompatible {
    pub fn new(config: OpenAiConfig) -> Result<Self, LlmError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| LlmError::Refused(format!("cannot build an HTTP client: {e}")))?;
        Ok(OpenAiCompatible { config, http })
    }

    /// `max_tokens`, or a quarter of a small model's window.
    fn answer_tokens(&self, max_tokens: u32) -> u32 {
        self.config
            .context_tokens
            .map_or(max_tokens, |window| max_tokens.min(window / 4).max(256))
    }

    /// One structured call: the answer parsed as `T`, or one repair attempt, or an error.
    async fn structured<T: DeserializeOwned>(
        &self,
        name: &str,
        system: &str,
        user: String,
        schema: Value,
        max_tokens: u32,
        check: impl Fn(&Value) -> Result<(), String>,
    ) -> Result<Reply<T>, LlmError> {
        let mut messages = vec![
            json!({"role": "system", "content": system}),
            json!({"role": "user", "content": user}),
        ];
        let mut usage = Usage::default();
        for attempt in 0..2 {
            let (content, spent) = self.complete(name, &messages, &schema, max_tokens).await?;
            usage.add(&spent);
            let parsed = serde_json::from_str::<Value>(strip_fences(&content))
                .map_err(|e| format!("not JSON ({e})"))
                .and_then(|v| check(&v).map(|()| v))
                .and_then(|v| {
                    serde_json::from_value::<T>(v).map_err(|e| format!("wrong shape ({e})"))
                });
            match parsed {
                Ok(value) => return Ok(Reply { value, usage }),
                Err(problem) if attempt == 0 => {
                    tracing::warn!(call = name, %problem, "the model's answer is unusable; asking once more");
                    messages.push(json!({"role": "assistant", "content": content}));
                    messages.push(json!({"role": "user", "content": format!(
                        "That answer is {problem}. Reply again with only a JSON object matching the schema."
                    )}));
                }
                Err(problem) => {
                    return Err(LlmError::InvalidOutput(format!(
                        "{name}: {problem}, even after a repair attempt"
                    )))
                }
            }
        }
        unreachable!("two attempts")
    }

    async fn complete(
        &self,
        name: &str,
        messages: &[Value],
        schema: &Value,
        max_tokens: u32,
    ) -> Result<(String, Usage), LlmError> {
        let body = json!({
            "model": self.config.model,
            "messages": messages,
            "temperature": self.config.temperature,
            "max_tokens": self.answer_tokens(max_tokens),
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": name, "schema": schema, "strict": true},
            },
        });
        let url = format!("{}/chat/completions", self.config.base_url);
        let mut request = self.http.post(&url).json(&body);
        if let Some(key) = &self.config.api_key {
            request = request.bearer_auth(key);
        }
        let response = request
            .send()
            .await
            .map_err(|e| LlmError::Unavailable(format!("{url}: {e}")))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| LlmError::Unavailable(format!("{url}: reading the answer: {e}")))?;
        if status.as_u16() == 429 || status.is_server_error() {
            return Err(LlmError::Unavailable(format!(
                "{url} answered {status}: {}",
                cut(&text)
            )));
        }
        if !status.is_success() {
            return Err(LlmError::Refused(format!(
                "{url} answered {status}: {}",
                cut(&text)
            )));
        }
        let parsed: Completion = serde_json::from_str(&text).map_err(|e| {
            LlmError::InvalidOutput(format!(
                "{url}: not a chat completion ({e}): {}",
                cut(&text)
            ))
        })?;
        let content = parsed
            .choices
            .into_iter()
            .next()
            .and_then(|c| c.message.content)
            .unwrap_or_default();
        let (input, output) = parsed
            .usage
            .map_or((0, 0), |u| (u.prompt_tokens, u.completion_tokens));
        Ok((
            content,
            Usage {
                calls: 1,
                input_tokens: input,
                output_tokens: output,
                cost_usd: (input as f64 * self.config.price_in
                    + output as f64 * self.config.price_out)
                    / 1e6,
            },
        ))
    }
}

#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
    usage: Option<CompletionUsage>,
}

#[derive(Deserialize)]
struct Choice {
    message: ChoiceMessage,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    content: Option<String>,
}

#[derive(Deserialize)]
struct CompletionUsage {
    prompt_tokens: u64,
    completion_tokens: u64,
}

/// Some servers wrap JSON in a markdown fence despite the schema.
fn strip_fences(s: &str) -> &str {
    let t = s.trim();
    t.strip_prefix("```json")
        .or_else(|| t.strip_prefix("```"))
        .and_then(|r| r.strip_suffix("```"))
        .map_or(t, str::trim)
}

fn cut(s: &str) -> String {
    s.chars().take(300).collect()
}

#[async_trait]
impl Llm for OpenAiCompatible {
    fn info(&self) -> ModelInfo {
        ModelInfo {
            label: format!("{} at {}", self.config.model, self.config.base_url),
            offline: false,
            context_tokens: self.config.context_tokens,
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

    async fn chat(
        &self,
        request: &ChatRequest,
        sink: TokenSink<'_>,
    ) -> Result<Reply<ChatAnswer>, LlmError> {
        let mut messages = vec![json!({"role": "system", "content": request.system})];
        for turn in &request.history {
            let role = match turn.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            messages.push(json!({"role": role, "content": turn.text}));
        }
        messages.push(json!({"role": "user", "content": request.message}));
        for (i, (done, text)) in request
            .searches
            .iter()
            .zip(render_all(&request.searches))
            .enumerate()
        {
            let id = format!("call_{i}");
            messages.push(json!({"role": "assistant", "content": null, "tool_calls": [{
                "id": id, "type": "function",
                "function": {"name": WEB_SEARCH, "arguments": json!({"query": done.query}).to_string()},
            }]}));
            messages.push(json!({"role": "tool", "tool_call_id": id, "content": text}));
        }
        let mut body = json!({
            "model": self.config.model,
            "messages": messages,
            "temperature": 0.7,
            "max_tokens": self.answer_tokens(2_048),
            "stream": true,
            "stream_options": {"include_usage": true},
        });
        if request.can_search || !request.searches.is_empty() {
            body["tools"] = json!([web_search_tool()]);
            body["tool_choice"] = json!(if request.can_search { "auto" } else { "none" });
        }
        let url = format!("{}/chat/completions", self.config.base_url);
        let mut http = self.http.post(&url).json(&body);
        if let Some(key) = &self.config.api_key {
            http = http.bearer_auth(key);
        }
        let mut response = http
            .send()
            .await
            .map_err(|e| LlmError::Unavailable(format!("{url}: {e}")))?;
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            let message = format!("{url} answered {status}: {}", cut(&text));
            return Err(if status.as_u16() == 429 || status.is_server_error() {
                LlmError::Unavailable(message)
            } else {
                LlmError::Refused(message)
            });
        }
        // Server-sent events: `data: {json}` lines, `data: [DONE]` at the end.
        let mut reply = String::new();
        let mut usage = Usage {
            calls: 1,
            ..Usage::default()
        };
        // A tool call arrives in pieces too: its name, then its arguments a few characters
        // at a time. Only the first is taken.
        let mut tool_name = String::new();
        let mut tool_arguments = String::new();
        let mut pending: Vec<u8> = Vec::new();
        while let Some(bytes) = response
            .chunk()
            .await
            .map_err(|e| LlmError::Unavailable(format!("{url}: the stream broke: {e}")))?
        {
            pending.extend_from_slice(&bytes);
            while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                let line = String::from_utf8_lossy(&line);
                let Some(data) = line.trim().strip_prefix("data:").map(str::trim) else {
                    continue;
                };
                if data == "[DONE]" {
                    break;
                }
                let Ok(event) = serde_json::from_str::<Value>(data) else {
                    continue;
                };
                let delta = &event["choices"][0]["delta"];
                if let Some(piece) = delta["content"].as_str() {
                    sink(piece);
                    reply.push_str(piece);
                }
                if let Some(call) = delta["tool_calls"]
                    .as_array()
                    .and_then(|calls| calls.iter().find(|c| c["index"].as_u64().unwrap_or(0) == 0))
                {
                    tool_name.push_str(call["function"]["name"].as_str().unwrap_or(""));
                    tool_arguments.push_str(call["function"]["arguments"].as_str().unwrap_or(""));
                }
                if let Some(u) = event.get("usage").filter(|u| u.is_object()) {
                    usage.input_tokens = u["prompt_tokens"].as_u64().unwrap_or(0);
                    usage.output_tokens = u["completion_tokens"].as_u64().unwrap_or(0);
                }
            }
        }
        usage.cost_usd = (usage.input_tokens as f64 * self.config.price_in
            + usage.output_tokens as f64 * self.config.price_out)
            / 1e6;
        let value = if tool_name.is_empty() {
            ChatAnswer::Reply(reply)
        } else if tool_name == WEB_SEARCH && request.can_search {
            let query = serde_json::from_str::<Value>(&tool_arguments)
                .ok()
                .and_then(|a| a["query"].as_str().map(str::to_owned))
                .ok_or_else(|| {
                    LlmError::InvalidOutput(format!(
                        "the web_search call's arguments are not {{\"query\": \"…\"}}: {}",
                        cut(&tool_arguments)
                    ))
                })?;
            ChatAnswer::Search { query }
        } else {
            return Err(LlmError::InvalidOutput(format!(
                "it called a tool it was not offered: {}",
                cut(&tool_name)
            )));
        };
        Ok(Reply { value, usage })
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
}

const WEB_SEARCH: &str = prompts::WEB_SEARCH_TOOL;

fn web_search_tool() -> Value {
    json!({"type": "function", "function": {
        "name": WEB_SEARCH,
        "description": prompts::WEB_SEARCH_DESCRIPTION,
        "parameters": prompts::web_search_schema(),
    }})
}
