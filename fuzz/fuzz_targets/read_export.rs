//! The export reader on arbitrary bytes: no panic, no hang, bounded memory.
//!
//! Limits are small so that the fuzzer reaches them: a conversation or string past them, an
//! entry past its size, a compression ratio past 100 after 64 KiB.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use soulprint_core::export::{read_export, EntryLimits, FrameLimits, ReadOptions};

fuzz_target!(|data: &[u8]| {
    let options = ReadOptions {
        frames: FrameLimits {
            max_conversation_bytes: 256 << 10,
            max_string_bytes: 64 << 10,
        },
        entries: EntryLimits {
            max_entry_bytes: 4 << 20,
            max_ratio: 100,
            ratio_grace_bytes: 64 << 10,
        },
        workers: 2,
        input_name: "fuzz.json".into(),
    };
    let mut spill = Cursor::new(Vec::new());
    let mut out = Vec::new();
    if let Ok(summary) = read_export(Cursor::new(data), &options, &mut spill, &mut out, &|_| {}) {
        // Every line written must read back as a conversation.
        for (i, line) in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()).enumerate() {
            soulprint_core::conversation::from_json_line(line, i as u64 + 1)
                .expect("written lines read back");
        }
        assert!(summary.conversations_written <= summary.conversations_found);
    }
});
