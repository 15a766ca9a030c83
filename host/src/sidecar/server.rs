//! Serving [`super::router`] on a listener with the host's `[server]` settings
//! ([`ServerSettings`]): at most `max_connections` open at once (the listener is not polled
//! while they are all in use, so new clients wait in the kernel's queue and the process never
//! runs out of descriptors), each request's head within `header_read_timeout` (which also ends
//! idle keep-alive connections), and on shutdown the requests in flight get
//! `shutdown_timeout` to finish before the remaining connections are dropped.

use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::Host;
use crate::config::ServerSettings;

/// How long accepting pauses after the listener fails (such as running out of descriptors
/// despite the cap, when something else in the process holds many).
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Serves `host` on `listener` until `shutdown` completes, then lets the requests in flight
/// finish for at most the settings' `shutdown_timeout`.
pub async fn serve(
    listener: TcpListener,
    host: Arc<Host>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let settings = host.server_settings().clone();
    let app = super::router(host);
    let slots = Arc::new(Semaphore::new(settings.max_connections));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout);
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        while connections.try_join_next().is_some() {}
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accepting a connection failed; retrying shortly");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone().layer(Extension(ConnectInfo(peer))));
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        connections.spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    finish(graceful, connections, settings).await;
    Ok(())
}

/// Waits for the connections to finish their requests, at most `shutdown_timeout`, then drops
/// the rest.
async fn finish(
    graceful: GracefulShutdown,
    mut connections: JoinSet<()>,
    settings: ServerSettings,
) {
    let open = connections.len();
    if tokio::time::timeout(settings.shutdown_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            open,
            left = connections.len(),
            timeout_ms = settings.shutdown_timeout.as_millis() as u64,
            "connections still open at the shutdown deadline are dropped"
        );
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}
