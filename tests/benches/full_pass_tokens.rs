//! Model input tokens ÷ export tokens for fact extraction, and the share of planted facts whose
//! messages reach the model, on a generated export.
//!
//! ```text
//! cargo bench -p soulprint-e2e --bench full_pass_tokens
//! SOULPRINT_BENCH_SIZE=300000000 cargo bench -p soulprint-e2e --bench full_pass_tokens
//! ```

#![allow(clippy::unwrap_used)] // a bench: a failed unwrap fails it, with its line

use std::io::Cursor;

use soulprint_core::export::ReadOptions;
use soulprint_e2e::full_pass_budget::measure;
use soulprint_e2e::read;
use soulprint_generator::{generate, Container, ExportSpec, Vintage};

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let size: u64 = std::env::var("SOULPRINT_BENCH_SIZE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50_000_000);
    println!(
        "{:<8} {:>10} {:>14} {:>13} {:>7} {:>16} {:>13}",
        "vintage",
        "JSON MB",
        "export tokens",
        "model tokens",
        "ratio",
        "planted reached",
        "forbidden"
    );
    for vintage in [Vintage::Full2025, Vintage::Slim2026] {
        let spec = ExportSpec {
            seed: 7,
            target_bytes: size,
            vintage,
            container: Container::Zip,
            largest_conversation: None,
            invalid_unicode: false,
        };
        let mut zip = Cursor::new(Vec::new());
        let report = generate(&spec, &mut zip).expect("generate");
        let (conversations, _) = read(zip.into_inner(), &ReadOptions::default()).expect("read");
        let now = time::OffsetDateTime::now_utc();
        let b = measure(&conversations, &report.planted, now);
        println!(
            "{:<8} {:>10.1} {:>14} {:>13} {:>7.3} {:>9}/{:<6} {:>13}",
            format!("{vintage:?}").chars().take(8).collect::<String>(),
            report.json_bytes as f64 / 1e6,
            b.export_tokens,
            b.model_tokens,
            b.ratio(),
            b.planted_reached,
            b.planted,
            b.forbidden_reached
        );
    }
}
