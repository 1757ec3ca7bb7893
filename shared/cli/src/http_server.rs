//! The connection loop of `soulprint serve`. axum's own loop waits for ever on a client that
//! never finishes its headers and accepts connections until the process runs out of file
//! handles; this one closes a connection whose headers (an idle keep-alive one's included) do
//! not arrive in time, and answers 503 past a cap on open connections, so that slow clients
//! cannot starve everyone else. Bodies have deadlines of their own (the routes'
//! `request_guard`).

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tracing::{debug, warn};

/// How many connections, from one address and in all, and how long each may take to send a
/// request's headers.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    /// From one client address: one client cannot take every slot.
    pub per_address: usize,
    pub header_timeout: Duration,
}

/// Open connections by client address.
#[derive(Default)]
struct ByAddress(Mutex<HashMap<IpAddr, usize>>);

/// One open connection of an address, counted until dropped.
struct AddressSlot {
    address: IpAddr,
    counts: Arc<ByAddress>,
}

impl ByAddress {
    fn take(self: &Arc<Self>, address: IpAddr, most: usize) -> Option<AddressSlot> {
        let mut counts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = counts.entry(address).or_default();
        if *n >= most {
            return None;
        }
        *n += 1;
        Some(AddressSlot {
            address,
            counts: Arc::clone(self),
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut counts = self.counts.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = counts.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.address);
            }
        }
    }
}

const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: application/json\r\nContent-Length: 81\r\nConnection: close\r\n\r\n{\"error\":{\"code\":\"busy\",\"message\":\"too many connections; try again in a second\"}}";

/// Serves `app` on `listener` until `shutdown` resolves, then lets open requests finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let by_address = Arc::new(ByAddress::default());
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(64 * 1024);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file handles (EMFILE) or a connection reset before it was taken:
                // wait a moment instead of spinning.
                Err(e) => {
                    warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(mine) = by_address.take(peer.ip(), limits.per_address) else {
            tokio::spawn(refuse(stream, peer));
            continue;
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            tokio::spawn(refuse(stream, peer));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                debug!(%peer, error = %e, "connection closed");
            }
            drop((slot, mine));
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(10)) => {
            warn!("requests still open after 10 s of shutting down; leaving them");
        }
    }
    Ok(())
}

/// Past the cap: a short 503 and the connection closed, within a second whatever the client
/// does. What it sent meanwhile is read and dropped first: closing with unread bytes would
/// reset the connection and lose the answer.
async fn refuse(mut stream: TcpStream, peer: SocketAddr) {
    debug!(%peer, "too many connections: refused");
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(BUSY).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<_, std::io::Error>(())
    })
    .await;
}
