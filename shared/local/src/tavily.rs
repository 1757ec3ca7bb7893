//! Web search through Tavily's HTTP API (`POST {base}/search`, bearer key), the tool a chat
//! model may call when a key is configured.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;
use soulprint_core::ports::web::{WebError, WebSearch, WebSource};

const MAX_ANSWER_BYTES: u64 = 2 << 20;

/// Where Tavily answers; tests point it at a fake.
pub const TAVILY_URL: &str = "https://api.tavily.com";

pub struct Tavily {
    base_url: String,
    api_key: String,
    http: reqwest::Client,
}

impl Tavily {
    pub fn new(base_url: impl Into<String>, api_key: impl Into<String>) -> Result<Self, WebError> {
        let http = reqwest::Client::builder()
            // The chat turn has its own limit; a search is a small part of it.
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| WebError::Refused(format!("cannot build an HTTP client: {e}")))?;
        Ok(Tavily {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            api_key: api_key.into(),
            http,
        })
    }
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    results: Vec<Found>,
}

#[derive(Deserialize)]
struct Found {
    #[serde(default)]
    title: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    content: String,
}

#[async_trait]
impl WebSearch for Tavily {
    async fn search(&self, query: &str, max_results: usize) -> Result<Vec<WebSource>, WebError> {
        let url = format!("{}/search", self.base_url);
        let response = self
            .http
            .post(&url)
            .bearer_auth(&self.api_key)
            .json(&json!({
                "query": query,
                "max_results": max_results,
                "search_depth": "basic",
                "include_answer": false,
            }))
            .send()
            .await
            .map_err(|e| WebError::Unavailable(format!("{url}: {e}")))?;
        let status = response.status();
        if !status.is_success() {
            let message = format!("{url} answered {status}");
            return Err(if status.as_u16() == 429 || status.is_server_error() {
                WebError::Unavailable(message)
            } else {
                WebError::Refused(message)
            });
        }
        // A search answer is small; a larger one is not Tavily's.
        if response
            .content_length()
            .is_some_and(|n| n > MAX_ANSWER_BYTES)
        {
            return Err(WebError::Unavailable(format!(
                "{url} would send {} bytes; a search answer is far smaller",
                response.content_length().unwrap_or_default()
            )));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| WebError::Unavailable(format!("{url}: {e}")))?;
        if bytes.len() as u64 > MAX_ANSWER_BYTES {
            return Err(WebError::Unavailable(format!(
                "{url} sent {} bytes; a search answer is far smaller",
                bytes.len()
            )));
        }
        let answer: Answer = serde_json::from_slice(&bytes)
            .map_err(|e| WebError::Unavailable(format!("{url} sent an unreadable answer: {e}")))?;
        Ok(answer
            .results
            .iter()
            .filter_map(|r| WebSource::checked(&r.title, &r.url, &r.content))
            .take(max_results)
            .collect())
    }
}
