//! A killed process loses no work: `soulprint import` is SIGKILLed at random points of the
//! import and of the full pass, `soulprint resume` continues each time, and what is
//! remembered in the end equals an uninterrupted run's: no fact lost, none doubled.

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
    let started = Instant::now();
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
    let whole = started.elapsed();
    let expected = facts(&clean, &dir.path().join("clean-out"));
    assert!(
        expected.len() > 20,
        "a meaningful memory: {}",
        expected.len()
    );

    // The interrupted one: the first kill lands early (the import), the others anywhere.
    let data = dir.path().join("killed");
    let mut rng = fastrand::Rng::with_seed(7);
    let mut phases = Vec::new();
    for round in 0..6 {
        let started_import = status_or_none(&data);
        let mut cmd = Process::new(cargo_bin("soulprint"));
        cmd.env("SOULPRINT_DATA_DIR", &data)
            .env_remove("SOULPRINT_MODEL_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if started_import {
            cmd.arg("resume");
        } else {
            cmd.arg("import").arg(&export);
        }
        let mut child = cmd.spawn().unwrap();
        let share = if round == 0 {
            rng.f64() * 0.1 + 0.02
        } else {
            rng.f64() * 0.5 + 0.05
        };
        std::thread::sleep(whole.mul_f64(share));
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        let _ = child.wait();
        if status_or_none(&data) {
            let s = status(&data);
            phases.push(format!("{}/{}", s["import_status"], s["full_pass_status"]));
            if s["full_pass_status"] == "complete" {
                break;
            }
        }
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
