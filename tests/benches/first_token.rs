//! The first streamed token of a chat turn, against the model's own first token in the same
//! run: what SoulPrint adds before the person sees anything (reading the profile, the thread
//! and the memory's revision, recalling facts and excerpts, building the prompt). The model
//! is a fake that streams its first piece a fixed time after it is called; the person's
//! data is a generated export imported with the offline engine.
//!
//! `cargo bench -p soulprint-e2e --bench first_token` (SOULPRINT_BENCH_SIZE, default 30MB).

#![allow(clippy::unwrap_used)] // a bench: a failed unwrap fails it, with its line

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use soulprint_core::ports::llm::{
    ChatAnswer, ChatRequest, FactRequest, MemoryRequest, ModelInfo, PackFacts, ProfileRequest,
    Reply, TokenSink, Usage,
};
use soulprint_core::ports::{Llm, LlmError, UserId};
use soulprint_core::sections::Sections;
use soulprint_core::stages::{chat_turn, ChatBudget};
use soulprint_e2e::pipeline::{finished, generated, start, work_until};
use soulprint_local::{Local, LocalOptions, Offline};

/// When the fake model streams its first piece after it is called.
const MODEL_FIRST_TOKEN: Duration = Duration::from_millis(250);
const TURNS: usize = 20;

/// A chat model that answers in pieces, the first after [`MODEL_FIRST_TOKEN`].
struct Streaming;

#[async_trait]
impl Llm for Streaming {
    fn info(&self) -> ModelInfo {
        ModelInfo {
            label: "streaming fake".into(),
            offline: false,
            context_tokens: None,
        }
    }
    async fn profile(&self, _: &ProfileRequest) -> Result<Reply<Sections>, LlmError> {
        Err(LlmError::Unavailable("chat only".into()))
    }
    async fn extract_facts(&self, _: &FactRequest) -> Result<Reply<PackFacts>, LlmError> {
        Err(LlmError::Unavailable("chat only".into()))
    }
    async fn write_memory(&self, _: &MemoryRequest) -> Result<Reply<String>, LlmError> {
        Err(LlmError::Unavailable("chat only".into()))
    }
    async fn chat(
        &self,
        _: &ChatRequest,
        sink: TokenSink<'_>,
    ) -> Result<Reply<ChatAnswer>, LlmError> {
        tokio::time::sleep(MODEL_FIRST_TOKEN).await;
        let pieces = ["Porto ", "it ", "is."];
        for piece in pieces {
            sink(piece);
        }
        Ok(Reply {
            value: ChatAnswer::Reply(pieces.concat()),
            usage: Usage::default(),
        })
    }
}

/// Milliseconds from `t0` to the first piece a sink is given, for each run of `turn`.
fn first_piece() -> (Arc<Mutex<Option<Instant>>>, impl Fn(&str) + Send + Sync) {
    let first = Arc::new(Mutex::new(None));
    let seen = Arc::clone(&first);
    (first, move |_: &str| {
        seen.lock().unwrap().get_or_insert_with(Instant::now);
    })
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let size: u64 = std::env::var("SOULPRINT_BENCH_SIZE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30_000_000);
    let dir = tempfile::tempdir().unwrap();
    let mut local = Local::open(LocalOptions {
        data_dir: dir.path().to_path_buf(),
        llm: Arc::new(Offline),
        fact_llm: None,
        fact_workers: 2,
        fact_tokens_per_minute: None,
    })
    .unwrap();
    let user = UserId::new("first-token").unwrap();
    let (bytes, _) = generated(5, size, 2_000_000);
    start(&local, &user, bytes).await;
    work_until(&local, &user, finished).await;
    let facts = local.ports.store.memory(&user).await.unwrap().len();
    local.ports.llm = Arc::new(Streaming);
    let chat = soulprint_core::stages::Chat::default();

    // The fake alone, in the same run: its own first piece.
    let mut alone = Vec::new();
    for _ in 0..TURNS {
        let (first, sink) = first_piece();
        let t0 = Instant::now();
        let request = ChatRequest {
            system: String::new(),
            history: vec![],
            message: "Where do I live?".into(),
            recalled: vec![],
            can_search: false,
            searches: vec![],
        };
        Streaming.chat(&request, &sink).await.unwrap();
        let at = first.lock().unwrap().unwrap();
        alone.push((at - t0).as_secs_f64() * 1e3);
    }
    // Through a whole turn: the first of a cold process (the index loaded), then warm ones.
    let mut through = Vec::new();
    let mut cold = 0.0;
    let mut thread = None;
    for n in 0..=TURNS {
        let (first, sink) = first_piece();
        let t0 = Instant::now();
        let reply = chat_turn(
            &local.ports,
            &chat,
            &user,
            thread.clone(),
            "Which city did I move to, and what should I see first?",
            ChatBudget::LOCAL,
            &sink,
        )
        .await
        .unwrap();
        thread = Some(reply.thread_id);
        let ms = (first.lock().unwrap().unwrap() - t0).as_secs_f64() * 1e3;
        if n == 0 {
            cold = ms;
        } else {
            through.push(ms);
        }
    }
    let (alone50, through50) = (percentile(&mut alone, 0.5), percentile(&mut through, 0.5));
    let through90 = percentile(&mut through, 0.9);
    println!(
        "{size} bytes exported, {facts} facts; the model's own first token at {alone50:.1} ms (median of {TURNS})"
    );
    println!(
        "first streamed token through a chat turn: median {through50:.1} ms, p90 {through90:.1} ms, \
         cold process {cold:.1} ms; SoulPrint adds {:.1} ms (median), {:.3}x the model's",
        through50 - alone50,
        through50 / alone50
    );
}
