//! A model behind an OpenAI-compatible chat-completions API: what people run locally (Ollama,
//! llama.cpp's server, vLLM, LM Studio) and many hosted services. The [`ModelBackend`] under
//! the domain's recipe ([`soulprint_core::model::Model`]): answers are requested as JSON
//! matching the call's schema (`response_format: json_schema`); a repair goes back as the
//! model's answer and a correction. 429 is [`LlmError::Throttled`]; a model the server does
//! not have, or a key it refuses, is [`LlmError::NotServed`].

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Value};
use soulprint_core::conversation::Role;
use soulprint_core::model::{answer_tokens, questions, schemas};
use soulprint_core::ports::llm::{ChatAnswer, ChatRequest, ModelInfo, Reply, TokenSink, Usage};
use soulprint_core::ports::model::{
    cut, ModelBackend, ModelTurn, RawAnswer, Repair, StructuredCall,
};
use soulprint_core::ports::web::render_all;
use soulprint_core::ports::LlmError;

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
    pub temperature: f32,
    /// The model's context window, when small: budgets and answers shrink to fit it.
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

    /// What an answer's status means: 429 throttled, 5xx down, 401/403/404 a model or key
    /// this server will not serve, any other 4xx this request refused.
    fn status_error(&self, url: &str, status: reqwest::StatusCode, body: &str) -> LlmError {
        let said = format!("{url} answered {status}: {}", cut(body));
        match status.as_u16() {
            429 => LlmError::Throttled(said),
            401 | 403 => LlmError::NotServed(format!(
                "the model server refused the key ({said}); check --api-key"
            )),
            404 => LlmError::NotServed(format!(
                "model {} is not served there ({said}); check --model and --model-url",
                self.config.model
            )),
            _ if status.is_server_error() => LlmError::Unavailable(said),
            _ => LlmError::Refused(said),
        }
    }

    async fn complete(
        &self,
        name: &str,
        messages: &[Value],
        schema: &Value,
        max_tokens: u32,
    ) -> Result<(String, bool, Usage), LlmError> {
        let body = json!({
            "model": self.config.model,
            "messages": messages,
            "temperature": self.config.temperature,
            "max_tokens": max_tokens,
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
        if !status.is_success() {
            return Err(self.status_error(&url, status, &text));
        }
        let parsed: Completion = serde_json::from_str(&text).map_err(|e| {
            LlmError::InvalidOutput(format!(
                "{url}: not a chat completion ({e}): {}",
                cut(&text)
            ))
        })?;
        let choice = parsed.choices.into_iter().next();
        let cut_off = choice
            .as_ref()
            .is_some_and(|c| c.finish_reason.as_deref() == Some("length"));
        let content = choice.and_then(|c| c.message.content).unwrap_or_default();
        let (input, output) = parsed
            .usage
            .map_or((0, 0), |u| (u.prompt_tokens, u.completion_tokens));
        Ok((
            content,
            cut_off,
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
    #[serde(default)]
    finish_reason: Option<String>,
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

#[async_trait]
impl ModelBackend for OpenAiCompatible {
    fn info(&self) -> ModelInfo {
        ModelInfo {
            label: format!("{} at {}", self.config.model, self.config.base_url),
            offline: false,
            context_tokens: self.config.context_tokens,
        }
    }

    async fn send(
        &self,
        call: &StructuredCall,
        repair: Option<Repair<'_>>,
    ) -> Result<RawAnswer, LlmError> {
        let mut messages = vec![
            json!({"role": "system", "content": call.system}),
            json!({"role": "user", "content": call.user}),
        ];
        if let Some(repair) = repair {
            messages.push(json!({"role": "assistant", "content": repair.answer.turn.text}));
            messages.push(json!({"role": "user", "content": format!(
                "That answer is {}. Reply again with only a JSON object matching the schema.",
                repair.problem
            )}));
        }
        let (content, cut_off, usage) = self
            .complete(call.name, &messages, &call.schema, call.max_tokens)
            .await?;
        let value = if cut_off {
            Err(format!("cut off at {} tokens", call.max_tokens))
        } else {
            serde_json::from_str::<Value>(strip_fences(&content))
                .map_err(|e| format!("not JSON ({e})"))
        };
        Ok(RawAnswer {
            value,
            turn: ModelTurn {
                text: content,
                tool_use: None,
            },
            usage,
        })
    }

    async fn stream_chat(
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
            "max_tokens": answer_tokens(&self.info(), 2_048),
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
            return Err(self.status_error(&url, status, &text));
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
}

const WEB_SEARCH: &str = questions::WEB_SEARCH_TOOL;

fn web_search_tool() -> Value {
    json!({"type": "function", "function": {
        "name": WEB_SEARCH,
        "description": questions::WEB_SEARCH_DESCRIPTION,
        "parameters": schemas::web_search_schema(),
    }})
}
