//! A fake HTTP server on 127.0.0.1 for the adapters' tests: serves scripted answers in turn,
//! one connection each, and keeps every request it was sent.
// Each test crate uses its own part of it.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One scripted answer.
pub struct Answer {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl Answer {
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Answer {
            status,
            content_type: "application/json",
            body: body.into(),
        }
    }

    /// Server-sent events: each item a `data:` line.
    pub fn events(events: &[Value]) -> Self {
        let mut body: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
        body.push_str("data: [DONE]\n\n");
        Answer {
            status: 200,
            content_type: "text/event-stream",
            body,
        }
    }
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The request line and headers, as sent.
    pub head: String,
    pub body: Value,
}

/// Serves `answers` in turn at `http://127.0.0.1:PORT{path_prefix}`.
pub async fn serve(path_prefix: &str, answers: Vec<Answer>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}{path_prefix}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        for answer in answers {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            let (head, body) = loop {
                let n = socket.read(&mut chunk).await.unwrap();
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length: usize = text[..end]
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + length {
                        break (
                            text[..end].to_owned(),
                            buf[end + 4..end + 4 + length].to_vec(),
                        );
                    }
                }
            };
            log.lock().unwrap().push(Seen {
                head,
                body: serde_json::from_slice(&body).unwrap_or(Value::Null),
            });
            let reply = format!(
                "HTTP/1.1 {} X\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
                answer.status,
                answer.content_type,
                answer.body.len(),
                answer.body
            );
            socket.write_all(reply.as_bytes()).await.unwrap();
        }
    });
    (url, seen)
}
