//! Fact extraction spends tokens only where facts about the person can be, without losing them.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap fails it, with its line

use std::io::Cursor;

use soulprint_core::export::ReadOptions;
use soulprint_e2e::full_pass_budget::measure;
use soulprint_e2e::read;
use soulprint_generator::{generate, Container, ExportSpec, Vintage};

#[test]
fn planted_facts_reach_the_model_and_assistant_prose_mostly_does_not() {
    let spec = ExportSpec {
        seed: 11,
        target_bytes: 4_000_000,
        vintage: Vintage::Full2025,
        container: Container::Zip,
        largest_conversation: Some(300_000),
        invalid_unicode: false,
    };
    let mut zip = Cursor::new(Vec::new());
    let report = generate(&spec, &mut zip).unwrap();
    let (conversations, _) = read(zip.into_inner(), &ReadOptions::default()).unwrap();
    let now = time::macros::datetime!(2026-11-25 12:00 UTC);
    let budget = measure(&conversations, &report.planted, now);
    assert!(budget.planted >= 5, "{budget:?}");
    assert_eq!(budget.planted_reached, budget.planted, "{budget:?}");
    assert_eq!(
        budget.forbidden_reached, 0,
        "do-not-remember facts never reach the model"
    );
    assert!(budget.ratio() < 0.5, "{budget:?}: ratio {}", budget.ratio());
}
