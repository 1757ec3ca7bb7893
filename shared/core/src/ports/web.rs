//! Web search, a tool the chat model may call (Tavily's API in practice). What comes back is
//! hostile like any input: [`WebSource::checked`] keeps only what can be shown and cited.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// One result, as cited in a reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebSource {
    /// The page's title, cut to 200 characters; the URL when it has none.
    pub title: String,
    /// An `http(s)` URL, at most 2,000 bytes.
    pub url: String,
    /// What the search engine quoted from the page, cut to 1,000 characters.
    pub snippet: String,
}

const MAX_TITLE_CHARS: usize = 200;
const MAX_SNIPPET_CHARS: usize = 1_000;
const MAX_URL_BYTES: usize = 2_000;

impl WebSource {
    /// A result fit to show: an `http(s)` URL with no whitespace or control characters, the
    /// title and snippet cut to a readable length and stripped of control characters.
    pub fn checked(title: &str, url: &str, snippet: &str) -> Option<WebSource> {
        let url = url.trim();
        let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
        if !scheme_ok
            || url.len() > MAX_URL_BYTES
            || url.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return None;
        }
        let clean = |s: &str, max: usize| -> String {
            let words: Vec<&str> = s
                .split(|c: char| c.is_whitespace() || c.is_control())
                .filter(|w| !w.is_empty())
                .collect();
            words.join(" ").chars().take(max).collect()
        };
        let title = clean(title, MAX_TITLE_CHARS);
        Some(WebSource {
            title: if title.is_empty() {
                url.to_owned()
            } else {
                title
            },
            url: url.to_owned(),
            snippet: clean(snippet, MAX_SNIPPET_CHARS),
        })
    }
}

/// A search the model asked for during a turn, and what it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSearchDone {
    /// What the model searched for, cut to 400 characters.
    pub query: String,
    /// The results, or why there are none (the search failed): the model is told either way.
    pub results: Result<Vec<WebSource>, String>,
}

/// What the model reads as a search's answer. Results are numbered across the turn's searches,
/// starting at `first`, so that `[n]` means the same source in every search and in the reply's
/// citations.
pub fn render_results(done: &WebSearchDone, first: usize) -> String {
    match &done.results {
        Err(why) => format!("The search failed ({why}). Answer without it, and say so."),
        Ok(results) if results.is_empty() => "No results.".to_owned(),
        Ok(results) => {
            let mut out = String::new();
            for (i, r) in results.iter().enumerate() {
                out.push_str(&format!("[{}] {} ({})\n", first + i, r.title, r.url));
                if !r.snippet.is_empty() {
                    out.push_str(&r.snippet);
                    out.push('\n');
                }
            }
            out.push_str("Cite these as [n] where you use them.");
            out
        }
    }
}

/// Why a web search failed.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Worth trying again: the service is down, overloaded or rate-limiting.
    #[error("web search is unavailable: {0}")]
    Unavailable(String),
    /// This request was refused (a bad key, a bad query): trying again will not help.
    #[error("web search refused the request: {0}")]
    Refused(String),
}

/// A web search engine the chat model may use.
#[async_trait]
pub trait WebSearch: Send + Sync {
    /// At most `max_results` results for `query`, best first.
    async fn search(&self, query: &str, max_results: usize) -> Result<Vec<WebSource>, WebError>;
}

/// What the model reads for each search of the turn, numbered across them all.
pub fn render_all(searches: &[WebSearchDone]) -> Vec<String> {
    let mut first = 1;
    searches
        .iter()
        .map(|done| {
            let text = render_results(done, first);
            first += done.results.as_ref().map_or(0, Vec::len);
            text
        })
        .collect()
}

/// Every result of the turn's searches, in the order of their numbers.
pub fn consulted(searches: &[WebSearchDone]) -> Vec<WebSource> {
    searches
        .iter()
        .filter_map(|done| done.results.as_ref().ok())
        .flatten()
        .cloned()
        .collect()
}
