//! The two HTTP listeners, connection handling (including connection resets) and the
//! [`Simulator`] handle.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::admin;
use crate::config::{SimAccount, SimConfig};
use crate::errors::ApiError;
use crate::faults::{self, Fault, FaultQueue, Outcome};
use crate::reply::SimBody;
use crate::request::{RecordedRequest, SimRequest};
use crate::routes;
use crate::state::SimState;

/// Largest request body accepted (larger ones get 413).
const MAX_REQUEST_BODY: usize = 1 << 20;

/// Which listener a connection arrived on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Listener {
    Api,
    Lookups,
}

/// State shared by every connection.
pub(crate) struct Shared {
    pub state: SimState,
    pub faults: FaultQueue,
    pub accounts: Vec<SimAccount>,
    requests: Mutex<Vec<RecordedRequest>>,
    connections: AtomicU64,
}

impl Shared {
    fn log(&self) -> std::sync::MutexGuard<'_, Vec<RecordedRequest>> {
        self.requests
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Every recorded request, in arrival order.
    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        self.log().clone()
    }

    /// Forgets the recorded requests.
    pub(crate) fn clear_requests(&self) {
        self.log().clear();
    }

    fn record(&self, request: &SimRequest, status: u16) {
        self.log().push(RecordedRequest::new(request, status));
    }
}

/// A running simulator. Dropping it (or calling [`Simulator::shutdown`]) stops both listeners
/// and closes open connections.
pub struct Simulator {
    shared: Arc<Shared>,
    api_addr: SocketAddr,
    lookups_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Simulator {
    /// Binds both listeners, seeds every account and starts serving.
    pub async fn start(config: SimConfig) -> anyhow::Result<Simulator> {
        anyhow::ensure!(
            !config.accounts.is_empty(),
            "SimConfig needs at least one account"
        );
        let api = TcpListener::bind(config.api_addr)
            .await
            .with_context(|| format!("binding the API listener on {}", config.api_addr))?;
        let lookups = TcpListener::bind(config.lookups_addr)
            .await
            .with_context(|| format!("binding the Lookup listener on {}", config.lookups_addr))?;
        let api_addr = api.local_addr()?;
        let lookups_addr = lookups.local_addr()?;
        let state = SimState::new(
            &config.accounts,
            format!("http://{api_addr}"),
            format!("http://{lookups_addr}"),
            config.state_file.as_deref(),
        )?;
        let shared = Arc::new(Shared {
            state,
            faults: FaultQueue::default(),
            accounts: config.accounts,
            requests: Mutex::new(Vec::new()),
            connections: AtomicU64::new(0),
        });
        let (shutdown, stop) = watch::channel(false);
        let tasks = [(api, Listener::Api), (lookups, Listener::Lookups)]
            .into_iter()
            .map(|(listener, kind)| {
                tokio::spawn(accept_loop(listener, kind, shared.clone(), stop.clone()))
            })
            .collect();
        tracing::debug!(%api_addr, %lookups_addr, "twilio simulator listening");
        Ok(Simulator {
            shared,
            api_addr,
            lookups_addr,
            shutdown,
            tasks,
        })
    }

    /// Base URL of the core API listener, e.g. `http://127.0.0.1:41234` (2010 API routes only).
    pub fn api_url(&self) -> String {
        format!("http://{}", self.api_addr)
    }

    /// Base URL of the Lookup v2 listener (`/v2/PhoneNumbers/...` only).
    pub fn lookups_url(&self) -> String {
        format!("http://{}", self.lookups_addr)
    }

    /// The configured accounts and their credentials.
    pub fn accounts(&self) -> &[SimAccount] {
        &self.shared.accounts
    }

    /// Every request received on either listener, in order (admin requests excluded).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.shared.clear_requests();
    }

    /// TCP connections accepted so far on both listeners.
    pub fn connection_count(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// The simulator's data, to inspect or seed while it runs.
    pub fn state(&self) -> &SimState {
        &self.shared.state
    }

    /// Queues a fault; see [`Fault`].
    pub fn inject(&self, fault: Fault) {
        self.shared.faults.push(fault);
    }

    /// Removes all pending faults.
    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// Stops both listeners and waits for them to finish.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

async fn accept_loop(
    listener: TcpListener,
    kind: Listener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    shared.connections.fetch_add(1, Ordering::SeqCst);
                    tokio::spawn(serve_connection(stream, kind, shared.clone(), stop.clone()));
                }
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        }
    }
}

async fn serve_connection(
    stream: TcpStream,
    kind: Listener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    // A second handle on the socket, so that a reset can set SO_LINGER=0 and close it last.
    let socket = socket2::SockRef::from(&stream).try_clone().ok();
    let reset = Arc::new(Notify::new());
    let reset_requested = {
        let reset_signal = reset.clone();
        let service =
            service_fn(move |request| handle(shared.clone(), kind, reset_signal.clone(), request));
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .serve_connection(TokioIo::new(stream), service);
        tokio::select! {
            _ = connection => false,
            () = reset.notified() => true,
            _ = stop.changed() => false,
        }
    };
    if let (true, Some(socket)) = (reset_requested, socket) {
        let _ = socket.set_linger(Some(Duration::ZERO));
        drop(socket);
    }
}

async fn handle(
    shared: Arc<Shared>,
    kind: Listener,
    reset: Arc<Notify>,
    request: Request<Incoming>,
) -> Result<Response<SimBody>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            let request = SimRequest::new(&parts, &[]);
            let error = ApiError::new(413, 20001, "The request body is too large or was cut off");
            shared.record(&request, error.status);
            return Ok(error.into_reply().into_response());
        }
    };
    let request = SimRequest::new(&parts, &body);
    if kind == Listener::Api && request.path.starts_with(admin::PREFIX) {
        return Ok(admin::handle(&shared, &request, &body).into_response());
    }
    let process = || match kind {
        Listener::Api => routes::handle_api(&shared.state, &request),
        Listener::Lookups => routes::handle_lookups(&shared.state, &request),
    };
    let outcome = match shared.faults.take(&request) {
        Some(fault) => faults::play(fault, process).await,
        None => Outcome::Reply(process()),
    };
    match outcome {
        Outcome::Reply(reply) => {
            shared.record(&request, reply.status);
            Ok(reply.into_response())
        }
        Outcome::Reset => {
            shared.record(&request, 0);
            reset.notify_one();
            std::future::pending().await
        }
    }
}
