//! What the full pass asks a model on a generated export, before packing and the pre-filter
//! (one call a chunk) and now (packs of the chunks worth asking): calls, the input tokens
//! Bedrock bills (the prompt, the tool's schema and the tool-use system prompt of every call),
//! output tokens, the bound the quota sets on the wall time, and the cost at list price for
//! each model option of the README. Also the planted facts the pre-filter keeps.
//!
//! ```text
//! cargo bench -p soulprint-e2e --bench full_pass_cost
//! SOULPRINT_BENCH_SIZE=314572800 cargo bench -p soulprint-e2e --bench full_pass_cost
//! ```
//!
//! This counts what would be sent; it does not run the workers (the pipeline tests do, with
//! a scripted model) and no model answers here: output is assumed at [`OUTPUT_PER_CHUNK`]
//! tokens a chunk asked, and what a cheaper model remembers cannot be measured on this machine.

#![allow(clippy::unwrap_used)] // a bench: a failed unwrap fails it, with its line

use std::collections::HashSet;
use std::io::Cursor;

use soulprint_core::chunker::{chunk_conversation, Chunk, ChunkOptions};
use soulprint_core::export::ReadOptions;
use soulprint_core::model::{questions, schemas};
use soulprint_core::ports::llm::FactRequest;
use soulprint_core::stages::packs::{worth_asking, Packer};
use soulprint_core::tokens::estimate_tokens;
use soulprint_e2e::read;
use soulprint_generator::{generate, Container, ExportSpec, Vintage};

/// Tokens of the tool-use system prompt Bedrock adds to a call that forces a tool, per
/// Anthropic's tool-use documentation for Claude Haiku 4.5 ("any"/"tool" choice); Amazon does
/// not publish Nova's, so it is counted the same.
const TOOL_PROMPT: u64 = 588;
/// Output tokens assumed per chunk asked: an entry and about two short facts with evidence.
const OUTPUT_PER_CHUNK: u64 = 120;
/// The quota the wall-time bound is stated at: tokens per minute of the extraction model.
const QUOTA_TPM: f64 = 1_000_000.0;
/// One call's latency, for the concurrency a quota needs: a base plus time per output token.
const CALL_BASE_SECONDS: f64 = 2.5;
const SECONDS_PER_OUTPUT_TOKEN: f64 = 0.01;

/// Fact-extraction options of the README's table: name, dollars per million in and out.
const MODELS: &[(&str, f64, f64)] = &[
    ("Nova Micro (default)", 0.035, 0.14),
    ("Nova Lite", 0.06, 0.24),
    ("Nova Pro", 0.80, 3.20),
    ("Claude Haiku 4.5", 1.10, 5.50),
];
/// The quick pass and MEMORY on Claude Haiku 4.5 (the default), per import: about 30k tokens
/// in and 3k out for the quick pass, 40k in and 4k out for MEMORY and the sections again.
const OTHER_CALLS_USD: f64 = (70_000.0 * 1.10 + 7_000.0 * 5.50) / 1e6;

#[derive(Debug, Default)]
struct Calls {
    calls: u64,
    input: u64,
    output: u64,
    /// Input plus the `maxTokens` Bedrock reserves against the quota.
    reserved: u64,
}

impl Calls {
    fn add(&mut self, request: &FactRequest) {
        let n = request.chunks.len();
        let input = u64::from(estimate_tokens(questions::facts_system(
            request.chunks.len(),
        ))) + u64::from(estimate_tokens(&questions::facts_prompt(request)))
            + u64::from(estimate_tokens(&schemas::facts_schema(n).to_string()))
            + TOOL_PROMPT;
        self.calls += 1;
        self.input += input;
        self.output += OUTPUT_PER_CHUNK * n as u64;
        self.reserved += input + u64::from(schemas::facts_answer_tokens(n));
    }

    fn cost(&self, price_in: f64, price_out: f64) -> f64 {
        (self.input as f64 * price_in + self.output as f64 * price_out) / 1e6
    }

    /// Minutes the quota allows at best: the reserved tokens over tokens per minute.
    fn quota_minutes(&self) -> f64 {
        self.reserved as f64 / QUOTA_TPM
    }

    /// Calls in flight to use the quota fully.
    fn concurrency(&self) -> f64 {
        let per_call_seconds = CALL_BASE_SECONDS
            + SECONDS_PER_OUTPUT_TOKEN * self.output as f64 / self.calls.max(1) as f64;
        let calls_per_minute = self.calls as f64 / self.quota_minutes().max(1e-9);
        calls_per_minute * per_call_seconds / 60.0
    }
}

/// A pack as its batch job asks it: the chunks worth asking, in one call.
fn add_pack(pack: Vec<Chunk>, after: &mut Calls, asked: &mut u64) {
    let pack: Vec<Chunk> = pack.into_iter().filter(worth_asking).collect();
    if !pack.is_empty() {
        *asked += pack.len() as u64;
        after.add(&FactRequest { chunks: pack });
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let size: u64 = std::env::var("SOULPRINT_BENCH_SIZE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50_000_000);
    let spec = ExportSpec {
        seed: 7,
        target_bytes: size,
        vintage: Vintage::Full2025,
        container: Container::Zip,
        largest_conversation: None,
        invalid_unicode: false,
    };
    let mut zip = Cursor::new(Vec::new());
    let report = generate(&spec, &mut zip).unwrap();
    let (conversations, _) = read(zip.into_inner(), &ReadOptions::default()).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let options = ChunkOptions::default();
    let budget = soulprint_core::budgets::pack_tokens(&soulprint_core::ports::llm::ModelInfo {
        label: "bedrock".into(),
        offline: false,
        context_tokens: None,
    });

    let (mut before, mut after) = (Calls::default(), Calls::default());
    let (mut chunks, mut asked, mut export_tokens) = (0u64, 0u64, 0u64);
    // Planted facts (message ids) whose chunk was made, and kept by the pre-filter.
    let (mut planted, mut planted_kept) = (HashSet::new(), HashSet::new());
    let mut packer = Packer::new(budget);
    for c in &conversations {
        export_tokens += c
            .messages
            .iter()
            .map(|m| u64::from(estimate_tokens(&m.text)))
            .sum::<u64>();
        for chunk in chunk_conversation(c, &options, now) {
            chunks += 1;
            let kept = worth_asking(&chunk);
            for p in report.planted.iter().filter(|p| {
                !p.do_not_remember
                    && p.conversation_id == c.id
                    && chunk.message_ids.contains(&p.message_id)
                    && chunk.text.contains(&p.fact)
            }) {
                planted.insert(p.message_id.as_str());
                if kept {
                    planted_kept.insert(p.message_id.as_str());
                }
            }
            before.add(&FactRequest {
                chunks: vec![chunk.clone()],
            });
            if let Some(pack) = packer.push(chunk) {
                add_pack(pack, &mut after, &mut asked);
            }
        }
    }
    if let Some(pack) = packer.finish() {
        add_pack(pack, &mut after, &mut asked);
    }

    println!(
        "generated export: {:.0} MB of JSON, {} conversations, {export_tokens} tokens; \
         {chunks} chunks, {asked} worth asking ({:.1} %); planted facts' chunks kept by the \
         pre-filter: {} / {}",
        report.json_bytes as f64 / 1e6,
        conversations.len(),
        100.0 * asked as f64 / chunks.max(1) as f64,
        planted_kept.len(),
        planted.len(),
    );
    println!(
        "\n{:<26} {:>8} {:>14} {:>12} {:>9} {:>14} {:>12}",
        "", "calls", "input billed", "output", "in/export", "quota minutes", "concurrency"
    );
    for (name, c) in [
        ("one call a chunk", &before),
        ("packed, pre-filtered", &after),
    ] {
        println!(
            "{name:<26} {:>8} {:>14} {:>12} {:>9.3} {:>14.1} {:>12.1}",
            c.calls,
            c.input,
            c.output,
            c.input as f64 / export_tokens.max(1) as f64,
            c.quota_minutes(),
            c.concurrency()
        );
    }
    println!(
        "calls: {:.1}x fewer; input billed: {:.2}x less (quota at {QUOTA_TPM} tokens a minute)",
        before.calls as f64 / after.calls.max(1) as f64,
        before.input as f64 / after.input.max(1) as f64
    );
    println!(
        "\n{:<22} {:>16} {:>16} {:>22}",
        "fact model", "one call a chunk", "packed", "import (+ Haiku 4.5)"
    );
    for (name, price_in, price_out) in MODELS {
        let packed = after.cost(*price_in, *price_out);
        println!(
            "{name:<22} {:>15.2}$ {:>15.2}$ {:>21.2}$",
            before.cost(*price_in, *price_out),
            packed,
            packed + OTHER_CALLS_USD
        );
    }
}
