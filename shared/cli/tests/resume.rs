//! A killed process loses no work: `soulprint import` is SIGKILLed at random points of the
//! import and of the full pass, `soulprint resume` continues each time, and what is
//! remembered in the end equals an uninterrupted run's: no fact lost, none doubled.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap fails it, with its line

use std::path::Path;
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;
use assert_cmd::Command;

fn soulprint(data: &Path) -> Command {
    let mut c = Command::cargo_bin("soulprint").unwrap();
    c.env("SOULPRINT_DATA_DIR", data)
        .env_remove("SOULPRINT_MODEL_URL");
    c
}

fn status(data: &Path) -> serde_json::Value {
    let out = soulprint(data).args(["status", "--json"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn facts(data: &Path, out: &Path) -> Vec<serde_json::Value> {
    let run = soulprint(data)
        .arg("export-profile")
        .arg(out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for name in [
        "SOUL.md",
        "IDENTITY.md",
        "USER.md",
        "AGENTS.md",
        "TOOLS.md",
        "MEMORY.md",
    ] {
        assert!(out.join(name).is_file(), "{name}");
    }
    serde_json::from_slice(&std::fs::read(out.join("facts.json")).unwrap()).unwrap()
}

#[test]
fn killed_at_random_points_and_resumed_it_remembers_exactly_what_a_clean_run_does() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export.zip");
    let out = soulprint(dir.path())
        .args(["generate", "--size", "12MB", "--seed", "21"])
        .arg(&export)
        .output()
        .unwrap();
    assert!(out.status.success());

    // The uninterrupted run, and how long it takes.
    let clean = dir.path().join("clean");
    let run = soulprint(&clean)
        .arg("import")
        .arg(&export)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let expected = facts(&clean, &dir.path().join("clean-out"));
    assert!(
        expected.len() > 20,
        "a meaningful memory: {}",
        expected.len()
    );

    // The interrupted one: two kills while the import reads, four at random points of the
    // full pass (watched through `status`, so that a slow machine hits the same phases).
    let data = dir.path().join("killed");
    let mut rng = fastrand::Rng::with_seed(7);
    let mut phases = Vec::new();
    for round in 0..6 {
        let mut cmd = Process::new(cargo_bin("soulprint"));
        cmd.env("SOULPRINT_DATA_DIR", &data)
            .env_remove("SOULPRINT_MODEL_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if status_or_none(&data) {
            cmd.arg("resume");
        } else {
            cmd.arg("import").arg(&export);
        }
        let mut child = cmd.spawn().unwrap();
        let share = rng.f64() * 0.8;
        let delay = Duration::from_millis(rng.u64(0..150));
        let deadline = Instant::now() + Duration::from_secs(120);
        let killed = loop {
            if child.try_wait().unwrap().is_some() || Instant::now() > deadline {
                break None;
            }
            std::thread::sleep(Duration::from_millis(15));
            if !status_or_none(&data) {
                continue;
            }
            let s = status(&data);
            let importing = s["import_status"] == "processing";
            let chunks = |k: &str| s[k].as_u64().unwrap_or(0) as f64;
            let in_full_pass = s["full_pass_status"] == "processing"
                && chunks("chunks_total") > 0.0
                && chunks("chunks_done") >= share * chunks("chunks_total");
            if (round < 2 && importing) || (round >= 2 && in_full_pass) {
                std::thread::sleep(delay);
                // SIGKILL on Unix: no chance to clean up, as with a crash or an OOM kill.
                child.kill().unwrap();
                break Some(format!("{}/{}", s["import_status"], s["full_pass_status"]));
            }
        };
        let _ = child.wait();
        phases.extend(killed);
    }
    eprintln!("killed while: {phases:?}");
    assert!(
        phases.iter().any(|p| p.starts_with("\"processing\"")),
        "a kill during the import: {phases:?}"
    );
    assert!(
        phases.iter().any(|p| p.ends_with("\"processing\"")),
        "a kill during the full pass: {phases:?}"
    );
    // Resume until done.
    let deadline = Instant::now() + Duration::from_secs(300);
    while status(&data)["full_pass_status"] != "complete" {
        assert!(
            Instant::now() < deadline,
            "never finished: {}",
            status(&data)
        );
        let run = soulprint(&data).arg("resume").output().unwrap();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    let end = status(&data);
    assert_eq!(end["import_status"], "complete");
    assert_eq!(end["chunks_done"], end["chunks_total"]);
    let got = facts(&data, &dir.path().join("killed-out"));
    assert_eq!(got.len(), expected.len(), "none lost, none doubled");
    assert!(got == expected, "the same facts, with the same sources");
}

/// Whether an import has been recorded yet (the first kill may land before).
fn status_or_none(data: &Path) -> bool {
    data.join("soulprint.db").exists() && status(data)["import_status"] != "none"
}

#[test]
fn one_process_works_a_data_directory_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    // Another process holds the directory's worker lock.
    let held = std::fs::File::create(data.join("workers.lock")).unwrap();
    held.lock().unwrap();
    std::fs::write(data.join("workers.lock"), "pid 4242").unwrap();
    let second = soulprint(&data).arg("resume").output().unwrap();
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("another soulprint process is working on") && stderr.contains("pid 4242"),
        "{stderr}"
    );
    // Once it is gone, the directory is free.
    drop(held);
    let third = soulprint(&data).arg("resume").output().unwrap();
    assert!(
        third.status.success(),
        "{}",
        String::from_utf8_lossy(&third.stderr)
    );
}
