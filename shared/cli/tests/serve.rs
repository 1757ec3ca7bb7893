//! `soulprint serve` against clients that are slow, lying or many: what an attacker with no
//! token can do to a server must not stop it answering everyone else.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap fails it, with its line

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    addr: SocketAddr,
    data: tempfile::TempDir,
    /// What the server wrote on stderr.
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn bin() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("soulprint")
}

/// A server with short deadlines: a second for headers and for a pause in a body, eight
/// connections at most.
fn serve() -> Server {
    use std::io::BufRead;
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(bin())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args([
            "--header-timeout",
            "1",
            "--body-timeout",
            "1",
            "--max-connections",
            "8",
        ])
        .env("SOULPRINT_DATA_DIR", data.path().join("data"))
        .env_remove("SOULPRINT_MODEL_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The address it bound is in its first line: "SoulPrint on http://127.0.0.1:PORT/ …".
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr: SocketAddr = first
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .parse()
        .unwrap();
    let stderr = std::sync::Arc::new(std::sync::Mutex::new(first + "\n"));
    let rest = std::sync::Arc::clone(&stderr);
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            rest.lock().unwrap().push_str(&(line + "\n"));
        }
    });
    let server = Server {
        child,
        addr,
        data,
        stderr,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(&server, "/health").is_none() {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

fn connect(server: &Server) -> TcpStream {
    let stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Sends `request` whole and reads the answer to the end; `None` when nothing answers.
fn exchange(server: &Server, request: &[u8]) -> Option<String> {
    let mut stream = TcpStream::connect(server.addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    stream.write_all(request).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    (!answer.is_empty()).then_some(answer)
}

fn get(server: &Server, path: &str) -> Option<String> {
    exchange(
        server,
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

fn token(server: &Server) -> String {
    let out = Command::new(bin())
        .arg("token")
        .env("SOULPRINT_DATA_DIR", server.data.path().join("data"))
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn half_sent_headers_are_cut_off_and_the_server_keeps_answering() {
    let server = serve();
    let mut slow = connect(&server);
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 256];
    // The server closes it (a read of 0) or resets it; it does not wait for ever.
    let n = slow.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "{}", String::from_utf8_lossy(&buf[..n]));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(get(&server, "/health").unwrap().starts_with("HTTP/1.1 200"));
}

#[test]
fn a_body_that_stops_arriving_is_answered_408_and_a_huge_one_413_before_reading() {
    let server = serve();
    let token = token(&server);
    // 1,000 bytes promised, 100 sent.
    let mut stream = connect(&server);
    stream
        .write_all(
            format!(
                "POST /chat HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
                 Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{}",
                " ".repeat(100)
            )
            .as_bytes(),
        )
        .unwrap();
    let started = Instant::now();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"request_timeout\""), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );

    // 10 GiB declared for an upload part: refused at once, in the API's JSON shape.
    let huge = exchange(
        &server,
        format!(
            "PUT /uploads/0193a1b2c3d4e5f60718293a4b5c6d7e/parts/1 HTTP/1.1\r\nHost: x\r\n\
             Authorization: Bearer {token}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            10u64 << 30
        )
        .as_bytes(),
    )
    .unwrap();
    assert!(huge.starts_with("HTTP/1.1 413"), "{huge}");
    assert!(
        huge.contains("application/json") && huge.contains("too_large"),
        "{huge}"
    );

    // Both Transfer-Encoding and Content-Length: refused (the shape of request smuggling).
    let both = exchange(
        &server,
        format!(
            "POST /chat HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\
             Connection: close\r\n\r\n0\r\n\r\n"
        )
        .as_bytes(),
    );
    assert!(
        both.as_deref()
            .is_none_or(|a| a.starts_with("HTTP/1.1 400")),
        "{both:?}"
    );
}

#[test]
fn past_the_cap_a_connection_gets_503_and_the_server_recovers() {
    let server = serve();
    // Eight connections that never finish their headers hold every slot.
    let held: Vec<TcpStream> = (0..8)
        .map(|_| {
            let mut s = connect(&server);
            s.write_all(b"GET /health HTTP/1.1\r\n").unwrap();
            s
        })
        .collect();
    // A busy machine takes a moment to accept them all: ask until refused, within the
    // second their headers have.
    let until = std::time::Instant::now() + Duration::from_millis(900);
    let refused = loop {
        let answer = get(&server, "/health").unwrap();
        if answer.starts_with("HTTP/1.1 503") || std::time::Instant::now() > until {
            break answer;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(refused.contains("Retry-After: 1"), "{refused}");
    // Their headers time out; the slots come back.
    std::thread::sleep(Duration::from_secs(2));
    assert!(get(&server, "/health").unwrap().starts_with("HTTP/1.1 200"));
    drop(held);
}

#[test]
fn the_data_directory_is_its_owners_only_and_no_token_is_printed() {
    let server = serve();
    let data = server.data.path().join("data");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    for file in ["soulprint.db", "soulprint.db-wal", "jwt.key"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    for dir in ["blobs", "tmp"] {
        assert_eq!(mode(&data.join(dir)), 0o700, "{dir}");
    }
    let stderr = server.stderr.lock().unwrap().clone();
    assert!(stderr.contains("soulprint token"), "{stderr}");
    assert!(
        !stderr.contains("#token=ey"),
        "a token was printed: {stderr}"
    );
}
