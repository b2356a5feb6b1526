//! An HTTP proxy in front of moto server that a test can cut and restore, or that fails
//! chosen requests the way DynamoDB trouble reaches the SDK.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, body::Incoming, service::service_fn};
use hyper_util::rt::TokioIo;

/// What a chosen request meets ([`Proxy::fail`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Not forwarded: answered 500 with DynamoDB's `InternalServerError` in its JSON
    /// error shape, so the request had no effect (the SDK retries it as transient).
    Refuse,
    /// Forwarded and applied, then the connection is severed before the answer: the
    /// client cannot tell that it happened (a timeout or a reset after the write).
    LoseAnswer,
}

/// DynamoDB's answer to a request it failed on its side.
const INTERNAL_SERVER_ERROR: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}"#;

/// The proxy.
///
/// Why a proxy, and not stopping moto: moto server keeps its data in memory, so a
/// stopped-and-restarted moto would come back empty, and "nothing is lost" could not
/// be checked. Cutting the network path is what the functions see when DynamoDB is
/// unreachable (connections fail), while the data stays where it was, as it would in
/// DynamoDB itself. While cut, new connections are accepted and closed at once and
/// open ones are severed.
///
/// It reads HTTP (one keep-alive connection carries many requests), so it can count
/// requests and fail exactly the ones a test chooses ([`Proxy::fail`]).
pub struct Proxy {
    pub url: String,
    cut: tokio::sync::watch::Sender<bool>,
    plan: Arc<Mutex<Plan>>,
}

/// The requests seen, and the faults planned for the next ones.
#[derive(Debug, Default)]
struct Plan {
    /// Requests seen so far.
    seen: u64,
    /// The request number (1-based, counted from the proxy's start) meeting `faults[0]`.
    first: u64,
    faults: Vec<Fault>,
    /// Faults applied since the last [`Proxy::fail`].
    fired: usize,
}

impl Plan {
    /// Counts a request and says what it meets.
    fn next(&mut self) -> Option<Fault> {
        self.seen += 1;
        let fault = self
            .seen
            .checked_sub(self.first)
            .and_then(|i| self.faults.get(usize::try_from(i).ok()?))
            .copied();
        self.fired += usize::from(fault.is_some());
        fault
    }
}

impl Proxy {
    pub async fn start(upstream: &str) -> Proxy {
        let upstream = Arc::new(upstream.trim_end_matches('/').to_owned());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("proxy port");
        let url = format!("http://{}", listener.local_addr().expect("proxy address"));
        let (cut, _) = tokio::sync::watch::channel(false);
        let plan = Arc::new(Mutex::new(Plan::default()));
        let client = reqwest::Client::new();
        let (watch, shared) = (cut.clone(), plan.clone());
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let mut severed = watch.subscribe();
                if *severed.borrow() {
                    drop(inbound);
                    continue;
                }
                let (upstream, plan, client) = (upstream.clone(), shared.clone(), client.clone());
                let service = service_fn(move |req| {
                    forward(req, upstream.clone(), plan.clone(), client.clone())
                });
                tokio::spawn(async move {
                    let connection = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(inbound), service);
                    tokio::select! {
                        _ = connection => {}
                        _ = severed.wait_for(|cut| *cut) => {}
                    }
                });
            }
        });
        Proxy { url, cut, plan }
    }

    /// The database becomes unreachable.
    pub fn cut(&self) {
        self.cut.send_replace(true);
    }

    /// The database is reachable again, with all its data.
    pub fn restore(&self) {
        self.cut.send_replace(false);
    }

    /// The `nth` request from now (1 = the next one) meets `faults[0]`, the one after
    /// it `faults[1]`, and so on; every other request passes. Replaces any earlier plan.
    /// The SDK retries a failed attempt (3 attempts in all), so `[Refuse; 3]` fails one
    /// operation, and `[LoseAnswer, Refuse, Refuse]` fails one that DynamoDB applied.
    pub fn fail(&self, nth: u64, faults: &[Fault]) {
        let mut plan = self.plan();
        plan.first = plan.seen + nth.max(1);
        plan.faults = faults.to_vec();
        plan.fired = 0;
    }

    /// Every request passes again.
    pub fn heal(&self) {
        self.plan().faults.clear();
    }

    /// How many planned faults were applied since [`Proxy::fail`].
    pub fn fired(&self) -> usize {
        self.plan().fired
    }

    /// How many requests the proxy has seen.
    pub fn requests(&self) -> u64 {
        self.plan().seen
    }

    fn plan(&self) -> std::sync::MutexGuard<'_, Plan> {
        self.plan.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Why a connection is severed (hyper closes a connection whose service fails).
#[derive(Debug)]
struct Severed;

impl std::fmt::Display for Severed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("severed by the test proxy")
    }
}

impl std::error::Error for Severed {}

const HOP_BY_HOP: [&str; 5] = [
    "connection",
    "transfer-encoding",
    "keep-alive",
    "host",
    "content-length",
];

async fn forward(
    req: Request<Incoming>,
    upstream: Arc<String>,
    plan: Arc<Mutex<Plan>>,
    client: reqwest::Client,
) -> Result<Response<Full<Bytes>>, Severed> {
    let fault = plan.lock().unwrap_or_else(|p| p.into_inner()).next();
    if fault == Some(Fault::Refuse) {
        return Ok(Response::builder()
            .status(500)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amzn-errortype", "InternalServerError")
            .body(Full::new(Bytes::from_static(
                INTERNAL_SERVER_ERROR.as_bytes(),
            )))
            .unwrap_or_default());
    }
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map_err(|_| Severed)?.to_bytes();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = client
        .request(parts.method.clone(), format!("{upstream}{path}"))
        .body(body);
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            request = request.header(name, value);
        }
    }
    let answer = request.send().await.map_err(|_| Severed)?;
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            response = response.header(name, value);
        }
    }
    let bytes = answer.bytes().await.map_err(|_| Severed)?;
    if fault == Some(Fault::LoseAnswer) {
        return Err(Severed);
    }
    Ok(response.body(Full::new(bytes)).unwrap_or_default())
}
