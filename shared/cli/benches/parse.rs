//! `soulprint parse` against the seed's parser (ijson, C backend) on the same generated exports.
//!
//! Generates each export once (deterministic; kept under `target/bench-data/`), then runs both
//! readers on it, interleaved, several times, and prints MB/s of uncompressed JSON (best run),
//! peak RSS (worst run) and the ratio. The machine is shared and noisy: compare the ratio, not
//! the absolute figures.
//!
//! ```text
//! cargo bench -p soulprint-cli --bench parse
//! SOULPRINT_BENCH_SIZE=1GiB SOULPRINT_BENCH_LARGEST=1MB cargo bench -p soulprint-cli --bench parse
//! ```
//! Environment: `SOULPRINT_BENCH_SIZE` (default 300MiB), `SOULPRINT_BENCH_RUNS` (3),
//! `SOULPRINT_BENCH_VINTAGES` (`2025,2026`), `SOULPRINT_BENCH_LARGEST` (the long tail's giant
//! conversation; default: the generator's, up to 50 MB). The baseline needs Python 3: a venv
//! with ijson is made in `.venv/` on first use.

#![allow(clippy::unwrap_used)] // a bench: a failed unwrap fails it, with its line

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use soulprint_generator::Report;

struct Run {
    seconds: f64,
    max_rss_kib: i64,
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for the list of benchmarks.
    }
    let size: bytesize::ByteSize = env_or("SOULPRINT_BENCH_SIZE", "300MiB")
        .parse()
        .expect("SOULPRINT_BENCH_SIZE like 300MiB");
    let runs: usize = env_or("SOULPRINT_BENCH_RUNS", "3")
        .parse()
        .expect("a number");
    let largest = std::env::var("SOULPRINT_BENCH_LARGEST")
        .ok()
        .map(|s| s.parse::<bytesize::ByteSize>().expect("a size").as_u64());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let data = workspace.join("target/bench-data");
    std::fs::create_dir_all(&data).expect("target/bench-data");
    let python = ijson_venv(&workspace);
    let soulprint = env!("CARGO_BIN_EXE_soulprint");

    println!(
        "{:<8} {:>9} {:>8} {:>10} {:>10} {:>11} {:>11} {:>7}",
        "vintage",
        "JSON MiB",
        "largest",
        "ours MB/s",
        "ijson MB/s",
        "ours RSS",
        "ijson RSS",
        "ratio"
    );
    for vintage in env_or("SOULPRINT_BENCH_VINTAGES", "2025,2026").split(',') {
        let name = format!(
            "bench-{vintage}-{}-{}.zip",
            size.as_u64(),
            largest.map_or("default".into(), |l| l.to_string())
        );
        let path = data.join(name);
        let report_path = path.with_extension("report.json");
        if !(path.exists() && report_path.exists()) {
            // In a child process: a parent grown large by generating would pass its peak RSS
            // on to every child it forks afterwards, spoiling their figures.
            eprintln!("generating {} …", path.display());
            let mut generate = Command::new(soulprint);
            generate
                .args(["generate", "--seed", "7", "--vintage", vintage, "--size"])
                .arg(size.as_u64().to_string())
                // ijson stops at the first invalid UTF-8: give it an export it can read.
                .arg("--valid-unicode")
                .arg(&path);
            if let Some(largest) = largest {
                generate.args(["--largest", &largest.to_string()]);
            }
            let output = generate.output().expect("soulprint generate");
            assert!(output.status.success(), "soulprint generate failed");
            std::fs::write(&report_path, output.stdout).expect("write report");
        }
        let report: Report =
            serde_json::from_slice(&std::fs::read(&report_path).expect("report")).expect("report");

        let mut ours = Vec::new();
        let mut baseline = Vec::new();
        for _ in 0..runs {
            ours.push(measure(
                Command::new(soulprint)
                    .args(["parse", "--summary", "none"])
                    .arg(&path),
            ));
            baseline.push(measure(
                Command::new(&python)
                    .arg(workspace.join("scripts/ijson_baseline.py"))
                    .arg(&path),
            ));
        }
        let mb = report.json_bytes as f64 / 1e6;
        let best = |runs: &[Run]| runs.iter().map(|r| r.seconds).fold(f64::INFINITY, f64::min);
        let rss =
            |runs: &[Run]| runs.iter().map(|r| r.max_rss_kib).max().unwrap_or(0) as f64 / 1024.0;
        let (ours_speed, ijson_speed) = (mb / best(&ours), mb / best(&baseline));
        println!(
            "{:<8} {:>9.0} {:>7.1}M {:>10.0} {:>10.0} {:>9.1}Mi {:>9.1}Mi {:>6.2}×",
            vintage,
            report.json_bytes as f64 / (1024.0 * 1024.0),
            report.largest_conversation_bytes as f64 / 1e6,
            ours_speed,
            ijson_speed,
            rss(&ours),
            rss(&baseline),
            ours_speed / ijson_speed
        );
    }
}

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_owned())
}

/// Runs a command to completion with stdout discarded; wall time and peak RSS from `wait4`.
fn measure(command: &mut Command) -> Run {
    let started = Instant::now();
    #[allow(clippy::zombie_processes)] // reaped by wait4 below, which also gives its rusage
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn");
    let mut status = 0;
    // SAFETY: rusage is plain data, for which all zeroes is a valid value.
    #[allow(unsafe_code)]
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 writes only `status` and `usage`, both valid for writes, for the child
    // spawned above (not reaped before: nothing else waits on it).
    #[allow(unsafe_code)]
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(pid, child.id() as i32, "wait4 failed");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{command:?} failed: {status}"
    );
    Run {
        seconds,
        max_rss_kib: usage.ru_maxrss,
    }
}

/// A venv with ijson's C backend, made once.
fn ijson_venv(workspace: &Path) -> PathBuf {
    let venv = workspace.join(".venv");
    let python = venv.join("bin/python");
    let has_ijson = python.exists()
        && Command::new(&python)
            .args(["-c", "import ijson; assert ijson.backend == 'yajl2_c'"])
            .status()
            .is_ok_and(|s| s.success());
    if !has_ijson {
        eprintln!("making {} with ijson …", venv.display());
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success())
            && Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet", "ijson"])
                .status()
                .is_ok_and(|s| s.success());
        assert!(ok, "could not install ijson into {}", venv.display());
    }
    python
}
