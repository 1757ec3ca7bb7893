//! Helpers for SoulPrint's end-to-end tests.

// Test support: a failed unwrap fails the test that called it, with its line.
#![allow(clippy::unwrap_used)]

pub mod bombs;
pub mod full_pass_budget;
pub mod pipeline;

use std::io::Cursor;

use soulprint_core::conversation::{from_json_line, Conversation};
use soulprint_core::export::{read_export, ExportError, ReadOptions, Summary};

/// Reads an export held in memory; returns the conversations written and the summary.
pub fn read(
    input: Vec<u8>,
    options: &ReadOptions,
) -> Result<(Vec<Conversation>, Summary), ExportError> {
    let mut spill = Cursor::new(Vec::new());
    let mut out = Vec::new();
    let summary = read_export(Cursor::new(input), options, &mut spill, &mut out, &|_| {})?;
    let conversations = out
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, l)| from_json_line(l, i as u64 + 1).expect("every line reads back"))
        .collect();
    Ok((conversations, summary))
}
