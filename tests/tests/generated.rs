//! Generated exports of both vintages, read whole: what comes out is what the generator says
//! a correct reader must find.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap fails it, with its line

use std::io::Cursor;

use soulprint_core::export::ReadOptions;
use soulprint_e2e::read;
use soulprint_generator::{generate, Container, ExportSpec, Report, Vintage, DROPPED};

fn export(vintage: Vintage, container: Container, seed: u64) -> (Vec<u8>, Report) {
    let spec = ExportSpec {
        seed,
        target_bytes: 3_000_000,
        vintage,
        container,
        largest_conversation: Some(400_000),
        invalid_unicode: true,
    };
    let mut out = Cursor::new(Vec::new());
    let report = generate(&spec, &mut out).unwrap();
    (out.into_inner(), report)
}

#[test]
fn every_vintage_and_container_reads_as_the_generator_says() {
    for (vintage, container) in [
        (Vintage::Full2025, Container::Zip),
        (Vintage::Slim2026, Container::Zip),
        (Vintage::Full2025, Container::Json),
        (Vintage::Slim2026, Container::Json),
    ] {
        let (bytes, report) = export(vintage, container, 1);
        assert!(report.needs_repair > 0 && report.duplicates > 0);
        let (conversations, summary) = read(bytes, &ReadOptions::default()).unwrap();
        let case = format!("{vintage:?} {container:?}");
        assert_eq!(
            summary.conversations_written, report.conversations,
            "{case}"
        );
        assert_eq!(conversations.len() as u64, report.conversations, "{case}");
        assert_eq!(summary.duplicates_dropped, report.duplicates, "{case}");
        assert_eq!(summary.messages_written, report.visible_messages, "{case}");
        assert_eq!(summary.do_not_remember, report.do_not_remember, "{case}");
        assert_eq!(
            summary.custom_instructions, report.custom_instructions,
            "{case}"
        );
        assert_eq!(summary.memories, report.memories, "{case}");
        assert_eq!(
            summary.repaired_conversations, report.needs_repair,
            "{case}"
        );
        assert_eq!(summary.conversations_skipped, 0, "{case}: {summary}");
        assert_eq!(summary.json_bytes(), report.json_bytes, "{case}");
        for c in &conversations {
            for m in &c.messages {
                assert!(!m.text.contains(DROPPED), "{case}: {}", m.text);
                assert!(!m
                    .text
                    .contains(|ch: char| ('\u{E200}'..='\u{E206}').contains(&ch)));
                assert!(!m.text.is_empty());
            }
        }
    }
}

#[test]
fn the_output_does_not_depend_on_the_number_of_workers() {
    let (bytes, _) = export(Vintage::Slim2026, Container::Zip, 3);
    let lines = |workers| {
        let options = ReadOptions {
            workers,
            ..ReadOptions::default()
        };
        let (conversations, _) = read(bytes.clone(), &options).unwrap();
        serde_json::to_string(&conversations).unwrap()
    };
    assert_eq!(lines(1), lines(4));
}
