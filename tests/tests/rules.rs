//! One small, hand-written export per reading rule, read through the public entry point.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap fails it, with its line

use std::io::{Cursor, Write};

use soulprint_core::conversation::{Conversation, MemorySource, Role};
use soulprint_core::export::{ReadOptions, Summary};
use soulprint_e2e::read as read_with;
use zip::write::SimpleFileOptions;

fn read(input: impl Into<Vec<u8>>) -> (Vec<Conversation>, Summary) {
    read_with(input.into(), &ReadOptions::default()).expect("a readable export")
}

fn read_err(input: impl Into<Vec<u8>>) -> String {
    read_with(input.into(), &ReadOptions::default())
        .expect_err("an unusable export")
        .to_string()
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        zip.start_file(*name, SimpleFileOptions::default()).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// A linear conversation of (node id, role, text, time) under a null root.
fn linear(id: &str, update_time: f64, turns: &[(&str, &str, &str, f64)]) -> String {
    let mut nodes = vec![format!(
        r#""root": {{"id": "root", "message": null, "parent": null, "children": ["{}"]}}"#,
        turns.first().map_or("", |t| t.0)
    )];
    let mut parent = "root".to_string();
    for (i, (node, role, text, time)) in turns.iter().enumerate() {
        let child = turns
            .get(i + 1)
            .map_or(String::new(), |t| format!("\"{}\"", t.0));
        nodes.push(format!(
            r#""{node}": {{"id": "{node}", "parent": "{parent}", "children": [{child}], "message": {{
                "id": "{node}", "author": {{"role": "{role}"}}, "create_time": {time},
                "content": {{"content_type": "text", "parts": [{}]}}, "recipient": "all"}}}}"#,
            serde_json::to_string(text).unwrap()
        ));
        parent = node.to_string();
    }
    format!(
        r#"{{"id": "{id}", "title": "T {id}", "create_time": 1700000000, "update_time": {update_time},
            "current_node": "{parent}", "mapping": {{{}}}}}"#,
        nodes.join(",")
    )
}

fn texts(c: &Conversation) -> Vec<(Role, &str)> {
    c.messages
        .iter()
        .map(|m| (m.role, m.text.as_str()))
        .collect()
}

const FULL_2025: &str = include_str!("../fixtures/full_2025.json");
const SLIM_2026: &str = include_str!("../fixtures/slim_2026.json");

// --- What it reads -------------------------------------------------------------------------

#[test]
fn a_zip_and_a_bare_json_are_told_apart_by_their_bytes_not_their_name() {
    let json = format!("[{}]", linear("c1", 1.0, &[("u", "user", "hello", 1.0)]));
    let (from_json, _) = read(json.clone());
    let (from_zip, _) = read(zip_of(&[("conversations.json", json.as_bytes())]));
    assert_eq!(from_json, from_zip);
    assert_eq!(texts(&from_zip[0]), vec![(Role::User, "hello")]);
}

#[test]
fn every_shard_is_read_and_other_files_are_never_opened() {
    let a = format!(
        "[{}]",
        linear("a", 1.0, &[("u", "user", "from shard 0", 1.0)])
    );
    let b = format!(
        "[{}]",
        linear("b", 1.0, &[("u", "user", "from shard 1", 1.0)])
    );
    let export = zip_of(&[
        ("chat.html", b"<html>not json at all"),
        ("conversations-001.json", b.as_bytes()),
        ("user.json", b"{broken"),
        ("conversations-000.json", a.as_bytes()),
        ("file-abc.png", b"\x89PNG"),
    ]);
    let (conversations, summary) = read(export);
    let ids: Vec<&str> = conversations.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, vec!["a", "b"], "shards in name order");
    let names: Vec<&str> = summary.sources.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["conversations-000.json", "conversations-001.json"]
    );
}

#[test]
fn a_wrapped_array_is_read() {
    let json = format!(
        r#"{{"exported_by": "some tool", "conversations": [{}]}}"#,
        linear("w", 1.0, &[("u", "user", "wrapped", 1.0)])
    );
    let (conversations, _) = read(json);
    assert_eq!(texts(&conversations[0]), vec![(Role::User, "wrapped")]);
}

#[test]
fn of_two_copies_the_newer_is_kept_and_on_a_tie_the_larger() {
    let old = linear("dup", 10.0, &[("u", "user", "old copy", 1.0)]);
    let new = linear("dup", 20.0, &[("u", "user", "new copy", 1.0)]);
    let small = linear("tie", 5.0, &[("u", "user", "small", 1.0)]);
    let large = linear(
        "tie",
        5.0,
        &[
            ("u", "user", "large", 1.0),
            ("a", "assistant", "reply", 2.0),
        ],
    );
    let export = zip_of(&[
        (
            "conversations-000.json",
            format!("[{new},{small}]").as_bytes(),
        ),
        (
            "conversations-001.json",
            format!("[{old},{large}]").as_bytes(),
        ),
    ]);
    let (conversations, summary) = read(export);
    assert_eq!(summary.duplicates_dropped, 2);
    let by_id = |id: &str| conversations.iter().find(|c| c.id == id).unwrap();
    assert_eq!(by_id("dup").messages[0].text, "new copy");
    assert_eq!(by_id("tie").messages[0].text, "large");
    assert_eq!(conversations.len(), 2);
}

// --- The active path -----------------------------------------------------------------------

#[test]
fn branches_drop_out_and_the_walk_never_takes_the_first_child() {
    let (conversations, summary) = read(FULL_2025);
    let c = &conversations[0];
    let all: String = c.messages.iter().map(|m| m.text.as_str()).collect();
    assert!(!all.contains("ABANDONED"), "{all}");
    assert_eq!(summary.conversations_written, 1);
}

#[test]
fn a_missing_or_dangling_current_node_uses_the_newest_leaf() {
    for current in [r#""current_node": "nowhere","#, ""] {
        let json = format!(
            r#"[{{"id": "c", {current} "mapping": {{
                "r": {{"parent": null, "message": null}},
                "q": {{"parent": "r", "message": {{"id": "q", "author": {{"role": "user"}}, "create_time": 1, "content": {{"content_type": "text", "parts": ["question"]}}}}}},
                "old": {{"parent": "q", "message": {{"id": "old", "author": {{"role": "assistant"}}, "create_time": 2, "content": {{"content_type": "text", "parts": ["older answer"]}}}}}},
                "new": {{"parent": "q", "message": {{"id": "new", "author": {{"role": "assistant"}}, "create_time": 3, "content": {{"content_type": "text", "parts": ["newer answer"]}}}}}}
            }}}}]"#
        );
        let (conversations, summary) = read(json);
        assert_eq!(
            texts(&conversations[0]),
            vec![(Role::User, "question"), (Role::Assistant, "newer answer")]
        );
        assert_eq!(summary.newest_leaf_used, 1);
    }
}

#[test]
fn without_children_links_come_from_parent() {
    let (conversations, _) = read(SLIM_2026);
    assert_eq!(conversations[0].messages.len(), 4);
}

#[test]
fn a_parent_cycle_ends_the_walk_instead_of_hanging() {
    let json = r#"[{"id": "c", "current_node": "a", "mapping": {
        "a": {"parent": "b", "message": {"id": "a", "author": {"role": "assistant"}, "content": {"content_type": "text", "parts": ["answer"]}}},
        "b": {"parent": "a", "message": {"id": "b", "author": {"role": "user"}, "content": {"content_type": "text", "parts": ["question"]}}}
    }}]"#;
    let (conversations, summary) = read(json);
    assert_eq!(
        texts(&conversations[0]),
        vec![(Role::User, "question"), (Role::Assistant, "answer")]
    );
    assert_eq!(summary.parent_cycles, 1);
}

// --- Normalisation -------------------------------------------------------------------------

#[test]
fn only_what_the_person_and_the_assistant_visibly_said_is_kept() {
    let (conversations, summary) = read(FULL_2025);
    let c = &conversations[0];
    assert_eq!(
        texts(c),
        vec![
            (
                Role::User,
                "I moved to Lisbon last month. How do I register?"
            ),
            (
                Role::Assistant,
                "Register at the AIMA office. Bring your passport.\n\nYou will also need a NIF."
            ),
            (
                Role::User,
                "[image]\nIs this form right?\nAlso, what about the tax number?"
            ),
            (Role::Assistant, "```bash\necho done\n```"),
        ]
    );
    let all: String = c.messages.iter().map(|m| m.text.as_str()).collect();
    for hidden in [
        "TOOL",
        "HIDDEN",
        "BROWSING",
        "SYSTEM ERROR",
        "UNKNOWN TYPE",
        "Model set context",
    ] {
        assert!(!all.contains(hidden), "{hidden} leaked: {all}");
    }
    assert!(!all.contains(|c: char| ('\u{E200}'..='\u{E206}').contains(&c)));
    let skipped = &summary.messages_skipped;
    assert_eq!(skipped.get("system message"), 1);
    assert_eq!(skipped.get("message addressed to a tool"), 1);
    assert_eq!(skipped.get("tool message"), 3);
    assert_eq!(skipped.get("content type `thoughts`"), 1);
    assert_eq!(skipped.get("content type `reasoning_recap`"), 1);
    assert_eq!(skipped.get("content type `system_error`"), 1);
    assert_eq!(skipped.get("unknown content type `hologram_v9`"), 1);
    assert_eq!(skipped.get("non-string part"), 1);
}

#[test]
fn message_times_are_kept_as_utc() {
    let (conversations, _) = read(FULL_2025);
    let c = &conversations[0];
    let line = serde_json::to_value(c).unwrap();
    assert_eq!(line["created_at"], "2024-05-01T10:00:00.25Z");
    assert_eq!(line["messages"][0]["created_at"], "2024-05-01T10:00:01Z");
    // Continuations merged into one message keep the first node's id and time.
    assert_eq!(line["messages"][1]["id"], "a-1");
}

#[test]
fn null_timestamps_stay_null() {
    let json = r#"[{"id": "c", "create_time": null, "update_time": null, "current_node": "m", "mapping": {
        "m": {"parent": null, "message": {"id": "m", "author": {"role": "user"}, "create_time": null,
              "content": {"content_type": "text", "parts": ["no time"]}}}}}]"#;
    let (conversations, _) = read(json);
    let c = &conversations[0];
    assert_eq!(
        (c.created_at, c.updated_at, c.messages[0].created_at),
        (None, None, None)
    );
}

#[test]
fn both_shapes_of_the_format_read_the_same() {
    let (full, _) = read(FULL_2025);
    let (slim, _) = read(SLIM_2026);
    assert_eq!(full[0].messages, slim[0].messages);
    assert_eq!(full[0].title, slim[0].title);
}

#[test]
fn what_the_export_knows_about_the_person_is_kept_beside_the_messages() {
    let (full, summary) = read(FULL_2025);
    let signals = &full[0].profile_signals;
    assert_eq!(signals.custom_instructions.len(), 1);
    assert_eq!(
        signals.custom_instructions[0].about_user.as_deref(),
        Some("Preferred name: Ana")
    );
    assert_eq!(
        signals.custom_instructions[0].about_model.as_deref(),
        Some("Be brief.")
    );
    assert_eq!(signals.memories.len(), 1);
    assert_eq!(
        signals.memories[0].text,
        "User moved to Lisbon in April 2024."
    );
    assert_eq!(signals.memories[0].source, MemorySource::BioTool);
    assert!(full[0].do_not_remember);
    assert_eq!(
        (
            summary.custom_instructions,
            summary.memories,
            summary.do_not_remember
        ),
        (1, 1, 1)
    );

    let (slim, _) = read(SLIM_2026);
    assert_eq!(
        slim[0].profile_signals.memories, signals.memories,
        "2026: the author names bio"
    );

    let json = r#"[{"id": "m", "current_node": "s", "mapping": {
        "s": {"parent": null, "message": {"id": "s", "author": {"role": "system"},
            "content": {"content_type": "text", "parts": [""]},
            "metadata": {"is_user_system_message": true, "user_context_message_data":
                {"about_user_message": "I teach maths.", "about_model_message": "Use examples."}}}},
        "k": {"parent": "s", "message": {"id": "k", "author": {"role": "assistant"},
            "content": {"content_type": "model_editable_context", "model_set_context": "1. Teaches maths."}}}}}]"#;
    let (c, _) = read(json);
    let signals = &c[0].profile_signals;
    assert_eq!(
        signals.custom_instructions[0].about_user.as_deref(),
        Some("I teach maths.")
    );
    assert_eq!(signals.memories[0].source, MemorySource::ModelSetContext);
    assert!(c[0].messages.is_empty());
}

#[test]
fn invalid_unicode_becomes_replacement_characters_and_the_conversation_survives() {
    let good = linear("ok", 1.0, &[("u", "user", "fine", 1.0)]);
    let mut json = format!(
        r#"[{good}, {{"id": "bad", "current_node": "m", "mapping": {{"m": {{"parent": null, "message": {{
            "id": "m", "author": {{"role": "user"}},
            "content": {{"content_type": "text", "parts": ["lone \ud83d half, pair \ud83d\ude00, raw RAW, literal \\ud83d"]}}}}}}}}}}]"#
    )
    .into_bytes();
    let at = json.windows(3).position(|w| w == b"RAW").unwrap();
    json.splice(at..at + 3, *b"\xED\xA0\xBD");
    let (conversations, summary) = read(json);
    assert_eq!(conversations.len(), 2);
    let text = &conversations[1].messages[0].text;
    assert!(
        text.starts_with("lone \u{FFFD} half, pair 😀, raw \u{FFFD}"),
        "{text}"
    );
    assert!(text.ends_with(r"literal \ud83d"), "{text}");
    assert_eq!(summary.repaired_conversations, 1);
}

// --- Hostile input -------------------------------------------------------------------------

#[test]
fn entries_escaping_the_archive_and_symlinks_are_refused() {
    let good = format!("[{}]", linear("ok", 1.0, &[("u", "user", "kept", 1.0)]));
    let evil = format!("[{}]", linear("evil", 1.0, &[("u", "user", "EVIL", 1.0)]));
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default();
    zip.start_file("../../conversations.json", options).unwrap();
    zip.write_all(evil.as_bytes()).unwrap();
    zip.start_file("/abs/conversations-002.json", options)
        .unwrap();
    zip.write_all(evil.as_bytes()).unwrap();
    zip.add_symlink("conversations-001.json", "/etc/passwd", options)
        .unwrap();
    zip.start_file("conversations-000.json", options).unwrap();
    zip.write_all(good.as_bytes()).unwrap();
    let export = zip.finish().unwrap().into_inner();
    let (conversations, summary) = read(export);
    assert_eq!(conversations.len(), 1);
    assert_eq!(conversations[0].id, "ok");
    assert_eq!(summary.entries_ignored, 3);
    let reasons: Vec<&str> = summary
        .ignored_examples
        .iter()
        .map(|e| e.reason.as_str())
        .collect();
    assert!(reasons.contains(&"symbolic link"), "{reasons:?}");
    assert!(reasons.contains(&"name escapes the archive"), "{reasons:?}");
}

#[test]
fn a_broken_conversation_is_skipped_and_reported_with_where_it_broke() {
    let a = linear("a", 1.0, &[("u", "user", "first", 1.0)]);
    let c = linear("c", 1.0, &[("u", "user", "third", 1.0)]);
    let json = format!("[{a},\n{{\"id\": \"b\", \"mapping\": {{\"x\": [}}]}},\n{c}]");
    let broken_at = json.find("[}").unwrap() as u64 + 1;
    let (conversations, summary) = read(json);
    assert_eq!(conversations.len(), 2);
    assert_eq!(summary.conversations_skipped, 1);
    let skipped = &summary.skipped_examples[0];
    assert_eq!(skipped.index, 1);
    assert_eq!(skipped.offset, broken_at);
    assert_eq!(skipped.file, "conversations.json");
}

#[test]
fn deep_nesting_costs_nothing_and_long_strings_are_refused() {
    // Nesting where the schema has none is skipped without recursion; where the schema does
    // parse, serde_json's recursion limit refuses it.
    let deep = linear("deep", 1.0, &[("u", "user", "kept despite the junk", 1.0)]).replacen(
        "\"title\"",
        &format!(
            "\"junk\": {}1{}, \"title\"",
            "[{\"a\":".repeat(50_000),
            "}]".repeat(50_000)
        ),
        1,
    );
    let long = format!(r#"{{"id": "long", "title": "{}"}}"#, "a".repeat(3 << 20));
    let fine = linear("fine", 1.0, &[("u", "user", "fine", 1.0)]);
    let mut options = ReadOptions::default();
    options.frames.max_string_bytes = 1 << 20;
    let json = format!("[{deep},{long},{fine}]");
    let (conversations, summary) = read_with(json.into_bytes(), &options).unwrap();
    let ids: Vec<&str> = conversations.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, vec!["deep", "fine"], "{summary}");
    assert_eq!(summary.conversations_skipped, 1);
    let skipped = &summary.skipped_examples[0];
    assert!(
        skipped.reason.contains("string longer than 1 MiB"),
        "{skipped}"
    );
    assert_eq!(skipped.index, 1);
}

#[test]
fn a_file_cut_short_keeps_the_conversations_before_the_cut() {
    let a = linear("a", 1.0, &[("u", "user", "first", 1.0)]);
    let json = format!("[{a}, {{\"id\": \"b\", \"mapp");
    let (conversations, summary) = read(json);
    assert_eq!(conversations.len(), 1);
    let problem = summary.sources[0].problem.as_deref().unwrap();
    assert!(problem.contains("inside conversation #1"), "{problem}");
}

// --- Unusable exports ----------------------------------------------------------------------

#[test]
fn unusable_exports_fail_with_what_where_and_what_to_do() {
    let err = read_err(b"%PDF-1.7 ...".to_vec());
    assert!(
        err.contains("not a ChatGPT export") && err.contains("PDF"),
        "{err}"
    );

    let err = read_err(zip_of(&[("chat.html", b"<html>"), ("user.json", b"{}")]));
    assert!(
        err.contains("no conversations file") && err.contains("chat.html"),
        "{err}"
    );

    let err = read_err(b"[{\"id\": \"a\", \"mapping\": {".to_vec());
    assert!(
        err.contains("ends at byte 25") && err.contains("download the export again"),
        "{err}"
    );

    let err = read_err(b"[1, \"two\", {\"mapping\": 3}]".to_vec());
    assert!(err.contains("all 3 conversations were skipped"), "{err}");
    assert!(err.contains("conversation #0"), "{err}");

    let err = read_err(b"PK\x03\x04 this is not really a zip".to_vec());
    assert!(err.contains("ZIP archive cannot be opened"), "{err}");
}

#[test]
fn an_export_without_conversations_is_read_and_says_so() {
    let (conversations, summary) = read(b"[]".to_vec());
    assert!(conversations.is_empty());
    assert_eq!(summary.conversations_found, 0);
    assert!(summary.to_string().contains("holds no conversations"));
}

// --- Found by review ------------------------------------------------------------------------

#[test]
fn many_skips_keep_exact_counts_and_the_first_examples_in_export_order() {
    let mut json = String::from("[");
    for _ in 0..100_000 {
        json.push_str("1,");
    }
    json.push_str(&linear("ok", 1.0, &[("u", "user", "kept", 1.0)]));
    json.push(']');
    let (conversations, summary) = read(json);
    assert_eq!(conversations.len(), 1);
    assert_eq!(summary.conversations_skipped, 100_000);
    let indexes: Vec<u64> = summary.skipped_examples.iter().map(|s| s.index).collect();
    assert_eq!(indexes, (0..20).collect::<Vec<u64>>());
    assert!(summary.to_string().contains("(the first 20 listed)"));
}

#[test]
fn an_empty_element_is_reported_not_lost() {
    let err = read_err(b"[,]".to_vec());
    assert!(err.contains("all 1 conversations were skipped"), "{err}");
}

#[test]
fn an_empty_id_falls_back_to_conversation_id() {
    let json = format!(
        "[{}]",
        linear("x", 1.0, &[("u", "user", "hi", 1.0)]).replacen(
            r#""id": "x""#,
            r#""id": "", "conversation_id": "real-id""#,
            1
        )
    );
    let (conversations, _) = read(json);
    assert_eq!(conversations[0].id, "real-id");
}

#[test]
fn links_rebuilt_from_children_survive_escaped_ids() {
    let json = r#"[{"id": "c", "current_node": "b\u0062", "mapping": {
        "r": {"children": ["b\u0062"], "message": {"id": "r", "author": {"role": "user"}, "content": {"content_type": "text", "parts": ["question"]}}},
        "bb": {"children": [], "message": {"id": "bb", "author": {"role": "assistant"}, "content": {"content_type": "text", "parts": ["answer"]}}}}}]"#;
    let (conversations, _) = read(json);
    assert_eq!(
        texts(&conversations[0]),
        vec![(Role::User, "question"), (Role::Assistant, "answer")]
    );
}

#[test]
fn a_non_finite_time_does_not_win_deduplication() {
    let real = linear("d", 100.0, &[("u", "user", "real copy", 1.0)]);
    let nan = linear("d", 1.0, &[("u", "user", "nan copy", 1.0)]).replacen(
        r#""update_time": 1"#,
        r#""update_time": "NaN""#,
        1,
    );
    let (conversations, _) = read(format!("[{real},{nan}]"));
    assert_eq!(conversations[0].messages[0].text, "real copy");
    assert_eq!(conversations.len(), 1);
}

#[test]
fn each_memory_is_kept_once_even_when_repeated_apart() {
    let memory = |id: &str, parent: &str, text: &str, time: u32| {
        format!(
            r#""{id}": {{"parent": "{parent}", "message": {{"id": "{id}", "author": {{"role": "assistant"}}, "recipient": "bio",
                "create_time": {time}, "content": {{"content_type": "text", "parts": ["{text}"]}}}}}}"#
        )
    };
    let json = format!(
        r#"[{{"id": "m", "current_node": "u", "mapping": {{
            "r": {{"parent": null, "message": null}}, {}, {}, {},
            "u": {{"parent": "m3", "message": {{"id": "u", "author": {{"role": "user"}}, "content": {{"content_type": "text", "parts": ["hi"]}}}}}}}}}}]"#,
        memory("m1", "r", "Lives in Oslo.", 1),
        memory("m2", "m1", "Has a dog.", 2),
        memory("m3", "m2", "Lives in Oslo.", 3)
    );
    let (conversations, _) = read(json);
    let memories: Vec<&str> = conversations[0]
        .profile_signals
        .memories
        .iter()
        .map(|m| m.text.as_str())
        .collect();
    assert_eq!(memories, vec!["Lives in Oslo.", "Has a dog."]);
}

#[test]
fn a_shard_broken_at_its_start_costs_only_itself() {
    let big: Vec<String> = (0..2000)
        .map(|i| {
            linear(
                &format!("c{i}"),
                1.0,
                &[("u", "user", "a line of text", 1.0)],
            )
        })
        .collect();
    let good = format!("[{}]", big.join(","));
    let export = zip_of(&[
        ("conversations-000.json", b"<!DOCTYPE html> not json"),
        ("conversations-001.json", good.as_bytes()),
        (
            "conversations-002.json",
            b"[{\"id\": \"x\"} {\"id\": \"y\"}]",
        ),
    ]);
    let (conversations, summary) = read(export);
    assert_eq!(conversations.len(), 2000);
    let problems: Vec<Option<&str>> = summary
        .sources
        .iter()
        .map(|s| s.problem.as_deref())
        .collect();
    assert!(
        problems[0].unwrap().contains("expected a JSON array"),
        "{problems:?}"
    );
    assert_eq!(problems[1], None);
    assert!(
        problems[2].unwrap().contains("expected ',' or ']'"),
        "{problems:?}"
    );
}
