//! Archives built to hurt: they must cost milliseconds and a clear message, nothing more.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap fails it, with its line

use soulprint_core::export::ReadOptions;
use soulprint_e2e::bombs::{deflated_spaces, gzip_of, zip_with_entry};
use soulprint_e2e::read;

const GIB: u64 = 1 << 30;

/// The byte count a ratio error reports: how far the reader went before stopping.
fn stopped_after(message: &str) -> u64 {
    let after = message
        .split("after ")
        .nth(1)
        .expect("the message says how far it read");
    after
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .expect("a byte count")
}

#[test]
fn a_six_gib_entry_of_spaces_is_stopped_within_the_first_megabytes() {
    let deflated = deflated_spaces(6 * 1024);
    assert!(deflated.len() < 64 << 20, "the bomb itself is small");
    let zip = zip_with_entry("conversations.json", &deflated, 6 * GIB);
    let err = read(zip, &ReadOptions::default()).unwrap_err().to_string();
    assert!(err.contains("looks like a ZIP bomb"), "{err}");
    assert!(err.contains("conversations.json"), "{err}");
    assert!(stopped_after(&err) < 64 << 20, "{err}");
}

#[test]
fn a_gzip_bomb_is_stopped_the_same_way() {
    let gz = gzip_of(&deflated_spaces(2 * 1024));
    let err = read(gz, &ReadOptions::default()).unwrap_err().to_string();
    assert!(err.contains("looks like a ZIP bomb"), "{err}");
    assert!(stopped_after(&err) < 64 << 20, "{err}");
}

#[test]
fn an_entry_larger_than_the_limit_is_refused() {
    let zip = zip_with_entry("conversations.json", &deflated_spaces(40), 40 << 20);
    let mut options = ReadOptions::default();
    options.entries.max_entry_bytes = 8 << 20;
    options.entries.max_ratio = u64::MAX;
    let err = read(zip, &options).unwrap_err().to_string();
    assert!(err.contains("larger than 8388608 bytes"), "{err}");
}

#[test]
fn a_zip_cut_short_keeps_the_conversations_it_holds() {
    use soulprint_generator::{generate, Container, ExportSpec, Vintage};
    let spec = ExportSpec {
        seed: 5,
        target_bytes: 6_000_000,
        vintage: Vintage::Slim2026,
        container: Container::Zip,
        largest_conversation: Some(200_000),
        invalid_unicode: false,
    };
    let mut zip = std::io::Cursor::new(Vec::new());
    let report = generate(&spec, &mut zip).unwrap();
    let mut zip = zip.into_inner();
    zip.truncate(zip.len() * 6 / 10);

    let (conversations, summary) = read(zip.clone(), &ReadOptions::default()).unwrap();
    assert!(conversations.len() > 100, "{summary}");
    assert!(
        (conversations.len() as u64) < report.conversations,
        "{summary}"
    );
    assert!(summary.notes[0].contains("cut short"), "{summary}");
    let last = summary.sources.last().unwrap();
    assert!(
        last.problem.is_some(),
        "the shard cut in the middle says so: {summary}"
    );

    zip.truncate(10);
    let err = read(zip, &ReadOptions::default()).unwrap_err().to_string();
    assert!(err.contains("download the export again"), "{err}");
}

/// 1,000 central-directory entries pointing at one 16 MiB entry of spaces, an 86 KB file:
/// it once kept the import worker busy for 24 s (the person was then told the export held no
/// conversations). It is refused before any of it is inflated, and says why.
#[test]
fn entries_that_share_their_bytes_are_refused_as_a_bomb_at_once() {
    let zip = soulprint_e2e::bombs::overlapping_zip(1_000, 16);
    assert!(zip.len() < 100_000, "{}", zip.len());
    let started = std::time::Instant::now();
    let err = read(zip, &ReadOptions::default()).unwrap_err().to_string();
    assert!(err.contains("looks like a ZIP bomb"), "{err}");
    assert!(err.contains("share their bytes"), "{err}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

/// Many entries, each within its own bounds, that together inflate past a hundred times the
/// file: the whole export's budget stops them.
#[test]
fn the_whole_export_inflates_a_bounded_number_of_times_its_size() {
    let zip = soulprint_e2e::bombs::many_spaces_zip(60, 16);
    let err = read(zip, &ReadOptions::default()).unwrap_err().to_string();
    assert!(err.contains("looks like a ZIP bomb"), "{err}");
    assert!(stopped_after(&err) < 256 << 20, "{err}");
}
