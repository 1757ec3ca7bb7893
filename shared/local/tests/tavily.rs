//! The Tavily adapter against a fake search server on 127.0.0.1.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap fails it, with its line

mod fake_http;

use fake_http::{serve, Answer};
use serde_json::json;
use soulprint_core::ports::web::{WebError, WebSearch};
use soulprint_local::tavily::Tavily;

#[tokio::test]
async fn sends_the_key_and_query_and_keeps_only_results_fit_to_cite() {
    let answer = json!({"query": "lisbon weather", "results": [
        {"title": "Lisbon forecast", "url": "https://weather.example/lisbon", "content": "Sunny,\n\n 24°C", "score": 0.9},
        {"title": "Click me", "url": "javascript:alert(1)", "content": "x"},
        {"title": "", "url": "http://plain.example/page", "content": "y"},
        {"title": "Spaces", "url": "https://bad.example/a b", "content": "z"},
    ]});
    let (url, seen) = serve("", vec![Answer::json(200, answer.to_string())]).await;
    let found = Tavily::new(url, "tvly-secret")
        .unwrap()
        .search("lisbon weather", 5)
        .await
        .unwrap();
    let urls: Vec<&str> = found.iter().map(|r| r.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "https://weather.example/lisbon",
            "http://plain.example/page"
        ]
    );
    assert_eq!(found[0].snippet, "Sunny, 24°C");
    assert_eq!(
        found[1].title, "http://plain.example/page",
        "an empty title shows the URL"
    );
    let seen = seen.lock().unwrap();
    assert!(
        seen[0].head.starts_with("POST /search "),
        "{}",
        seen[0].head
    );
    assert!(seen[0]
        .head
        .to_ascii_lowercase()
        .contains("authorization: bearer tvly-secret"));
    assert_eq!(seen[0].body["query"], "lisbon weather");
    assert_eq!(seen[0].body["max_results"], 5);
}

#[tokio::test]
async fn a_bad_key_is_refused_and_throttling_is_unavailable() {
    let (url, _) = serve(
        "",
        vec![
            Answer::json(401, r#"{"detail": {"error": "Unauthorized"}}"#),
            Answer::json(429, "{}"),
            Answer::json(200, "<html>not json</html>"),
        ],
    )
    .await;
    let tavily = Tavily::new(url, "tvly-wrong").unwrap();
    assert!(matches!(
        tavily.search("q", 5).await,
        Err(WebError::Refused(_))
    ));
    assert!(matches!(
        tavily.search("q", 5).await,
        Err(WebError::Unavailable(_))
    ));
    assert!(matches!(
        tavily.search("q", 5).await,
        Err(WebError::Unavailable(_))
    ));
}
