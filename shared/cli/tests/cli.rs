//! The `soulprint` command as a person uses it: exit codes, stdout, stderr.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap fails it, with its line

use std::path::Path;

use assert_cmd::Command;

fn soulprint() -> Command {
    Command::cargo_bin("soulprint").unwrap()
}

fn generate(dir: &Path, name: &str, extra: &[&str]) -> std::path::PathBuf {
    let path = dir.join(name);
    let out = soulprint()
        .args(["generate", "--size", "300KB"])
        .args(extra)
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["conversations"].as_u64().unwrap() > 0);
    path
}

#[test]
fn parse_writes_one_conversation_a_line_and_a_summary_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let export = generate(dir.path(), "export.zip", &[]);
    let out = soulprint().arg("parse").arg(&export).output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!lines.is_empty());
    for line in &lines {
        assert_eq!(line["format_version"], 1);
        for key in ["id", "title", "created_at", "updated_at", "messages"] {
            assert!(line.get(key).is_some(), "{key} missing");
        }
        for m in line["messages"].as_array().unwrap() {
            assert!(matches!(m["role"].as_str(), Some("user" | "assistant")));
        }
    }
    assert!(
        stderr.contains(&format!("{} conversations", lines.len())),
        "{stderr}"
    );
    assert!(stderr.contains("left out"), "{stderr}");
}

#[test]
fn a_bare_json_export_and_an_output_file_work_too() {
    let dir = tempfile::tempdir().unwrap();
    let export = generate(dir.path(), "mine.json", &["--json", "--vintage", "2025"]);
    let out_path = dir.path().join("out.jsonl");
    let out = soulprint()
        .arg("parse")
        .arg(&export)
        .args(["--summary", "json", "-o"])
        .arg(&out_path)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    let summary: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    let written = std::fs::read_to_string(&out_path).unwrap();
    assert_eq!(
        summary["conversations_written"].as_u64().unwrap(),
        written.lines().count() as u64
    );
    assert_eq!(summary["sources"][0]["name"], "mine.json");
}

#[test]
fn an_unusable_export_fails_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], &str); 3] = [
        ("notes.zip", b"just some notes", "not a ChatGPT export"),
        (
            "conversations.json",
            b"[{\"id\": \"a\", \"map",
            "download the export again",
        ),
        ("broken.json", b"[1, 2]", "all 2 conversations were skipped"),
    ];
    for (name, bytes, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = soulprint().arg("parse").arg(&path).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{name}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(stderr.contains(name), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert!(out.stdout.is_empty());
    }
    let out = soulprint()
        .args(["parse", "/no/such/export.zip"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open /no/such/export.zip"));
}

#[test]
fn an_export_with_no_conversations_is_read_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.json");
    std::fs::write(&path, "[]").unwrap();
    let out = soulprint().arg("parse").arg(&path).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds no conversations"));
}

#[test]
fn help_explains_the_command() {
    let out = soulprint().args(["parse", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "JSON Lines",
        "Exit status",
        "conversations-NNN.json",
        "Examples",
    ] {
        assert!(help.contains(needle), "{needle}");
    }
    let out = soulprint().arg("parse").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "a usage error");
}

#[test]
fn import_then_chat_and_memory_in_the_persons_hands() {
    let dir = tempfile::tempdir().unwrap();
    let export = generate(dir.path(), "export.zip", &["--seed", "4"]);
    let data = dir.path().join("data");
    let run = |args: &[&str]| {
        let out = soulprint()
            .env("SOULPRINT_DATA_DIR", &data)
            .env_remove("SOULPRINT_MODEL_URL")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (ok, stdout, stderr) = run(&["import", export.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("Written by: offline"), "{stdout}");
    assert!(stderr.contains("Full pass complete"), "{stderr}");

    let (ok, stdout, stderr) = run(&["chat", "--message", "By the way, I live in Reykjavik now."]);
    assert!(ok, "{stderr}");
    assert!(stdout.starts_with("(Offline: no model"), "{stdout}");
    assert!(
        stderr.contains("learned: I live in Reykjavik now."),
        "{stderr}"
    );

    let (ok, stdout, _) = run(&["memory", "list"]);
    assert!(ok);
    let line = stdout
        .lines()
        .find(|l| l.contains("Reykjavik"))
        .expect("learned");
    assert!(line.contains("chat thread"), "{line}");
    let id = line.split_whitespace().next().unwrap().to_owned();
    let (ok, stdout, _) = run(&["memory", "search", "where do I live"]);
    assert!(ok && stdout.contains("Fact"), "{stdout}");
    let (ok, _, stderr) = run(&["memory", "delete", &id]);
    assert!(ok, "{stderr}");
    let (_, stdout, _) = run(&["memory", "list"]);
    assert!(!stdout.contains("Reykjavik"));
    let (ok, _, stderr) = run(&["memory", "delete", &id]);
    assert!(!ok && stderr.contains("no fact"), "{stderr}");
    let (ok, stdout, _) = run(&["chat", "--threads"]);
    assert!(
        ok && stdout.contains("1 messages") || stdout.contains("2 messages"),
        "{stdout}"
    );
    let (ok, _, stderr) = run(&[
        "rename",
        "Assistant Extraordinaire of the Long Name That Goes On",
    ]);
    assert!(!ok && stderr.contains("1 to 50 characters"), "{stderr}");
    let (ok, _, stderr) = run(&["rename", "Juno"]);
    assert!(ok, "{stderr}");
    let (_, stdout, _) = run(&["profile"]);
    assert!(
        stdout.starts_with("Your assistant: Juno") && stdout.contains("\n# Juno\n"),
        "{stdout}"
    );
    let out = dir.path().join("everything");
    let (ok, _, stderr) = run(&["export", out.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    for name in [
        "SOUL.md",
        "MEMORY.md",
        "facts.json",
        "conversations.jsonl",
        "import.json",
    ] {
        assert!(out.join(name).is_file(), "{name}");
    }
    assert_eq!(std::fs::read_dir(out.join("chats")).unwrap().count(), 1);
    let (ok, _, stderr) = run(&["chat", "--message", ""]);
    assert!(!ok && stderr.contains("1 to 50000 characters"), "{stderr}");
}
