//! A timing reverse proxy on loopback in front of a dependency (the emulator, moto):
//! every request the functions make passes through it, and it records when each one
//! arrived and when its answer was ready. Invocations run one at a time, so the spans
//! inside an invocation's window are exactly the time that invocation spent waiting on
//! that dependency (the proxy's own hop, ~0.1 ms, is counted with the dependency, as
//! the network hop would be in AWS). For the latency phase it can also hold every
//! answer until a fixed time after the request arrived: a network model (Stripe 150 ms,
//! DynamoDB 5 ms per call) on loopback.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::{Body, to_bytes},
    extract::{Request, State},
    http::{HeaderName, StatusCode},
    response::{IntoResponse, Response},
};
use tokio::net::TcpListener;

use crate::Result;

/// One proxied request: when it arrived, when its answer was ready, and what it was
/// (`POST /v1/customers`; for DynamoDB the operation, `GetItem`).
#[derive(Debug, Clone)]
pub struct Span {
    pub start: Instant,
    pub end: Instant,
    pub what: String,
}

struct Inner {
    upstream: String,
    client: reqwest::Client,
    spans: Mutex<Vec<Span>>,
    /// The least time a call takes, in microseconds (the latency phase's network model).
    delay_us: AtomicU64,
}

#[derive(Clone)]
pub struct Proxy {
    inner: Arc<Inner>,
    pub url: String,
}

impl Proxy {
    pub async fn start(upstream: &str) -> Result<Self> {
        let inner = Arc::new(Inner {
            upstream: upstream.trim_end_matches('/').to_string(),
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                .timeout(Duration::from_secs(30))
                .build()?,
            spans: Mutex::new(Vec::new()),
            delay_us: AtomicU64::new(0),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr: SocketAddr = listener.local_addr()?;
        let router = Router::new().fallback(forward).with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Proxy {
            inner,
            url: format!("http://{addr}"),
        })
    }

    /// Every call from now on is answered no sooner than `delay` after it arrived.
    pub fn set_delay(&self, delay: Duration) {
        let us = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
        self.inner.delay_us.store(us, Ordering::Relaxed);
    }

    /// Takes every span recorded so far.
    pub fn drain(&self) -> Vec<Span> {
        std::mem::take(&mut *self.inner.spans.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Time covered by the spans that fall inside `[from, to]`, overlaps counted once.
pub fn busy_within(spans: &[Span], from: Instant, to: Instant) -> Duration {
    let mut inside: Vec<(Instant, Instant)> = spans
        .iter()
        .filter(|s| s.end > from && s.start < to)
        .map(|s| (s.start.max(from), s.end.min(to)))
        .collect();
    inside.sort();
    let mut total = Duration::ZERO;
    let mut current: Option<(Instant, Instant)> = None;
    for (s, e) in inside {
        current = match current {
            Some((cs, ce)) if s <= ce => Some((cs, ce.max(e))),
            Some((cs, ce)) => {
                total += ce - cs;
                Some((s, e))
            }
            None => Some((s, e)),
        };
    }
    if let Some((cs, ce)) = current {
        total += ce - cs;
    }
    total
}

const HOP_BY_HOP: [&str; 4] = ["connection", "transfer-encoding", "keep-alive", "host"];

fn hop_by_hop(name: &HeaderName) -> bool {
    HOP_BY_HOP.contains(&name.as_str())
}

/// `POST /v1/customers` (query left out), or the DynamoDB operation (`GetItem`).
fn what(parts: &axum::http::request::Parts) -> String {
    match parts
        .headers
        .get("x-amz-target")
        .and_then(|t| t.to_str().ok())
    {
        Some(target) => target.rsplit('.').next().unwrap_or(target).to_string(),
        None => format!("{} {}", parts.method, parts.uri.path()),
    }
}

async fn forward(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let arrived = Instant::now();
    let (parts, body) = req.into_parts();
    let what = what(&parts);

    let result = async {
        let body = to_bytes(body, 64 << 20).await?;
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut upstream = inner
            .client
            .request(parts.method.clone(), format!("{}{path}", inner.upstream))
            .body(body);
        for (name, value) in &parts.headers {
            if !hop_by_hop(name) && name != "content-length" {
                upstream = upstream.header(name, value);
            }
        }
        let answer = upstream.send().await?;
        let status = answer.status();
        let headers = answer.headers().clone();
        let bytes = answer.bytes().await?;
        let mut response = Response::new(Body::from(bytes));
        *response.status_mut() = status;
        for (name, value) in &headers {
            if !hop_by_hop(name) {
                response.headers_mut().append(name, value.clone());
            }
        }
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(response)
    }
    .await;
    let response = result
        .unwrap_or_else(|e| (StatusCode::BAD_GATEWAY, format!("bench proxy: {e}")).into_response());
    // The network model: the call takes the model's time in all (the emulator's or
    // moto's own time counts toward it, as the service's own time does in AWS).
    let model = Duration::from_micros(inner.delay_us.load(Ordering::Relaxed));
    // Tokio's timer ticks in whole milliseconds (up to +1 ms per call, which would
    // read as our overhead); a blocking thread's sleep is within ~0.1 ms.
    let taken = arrived.elapsed();
    if taken < model {
        let _ = tokio::task::spawn_blocking(move || std::thread::sleep(model - taken)).await;
    }
    inner
        .spans
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(Span {
            start: arrived,
            end: Instant::now(),
            what,
        });
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_spans_count_once_and_outside_time_not_at_all() {
        let t = Instant::now();
        let ms = |n| t + Duration::from_millis(n);
        let span = |a, b| Span {
            start: ms(a),
            end: ms(b),
            what: String::new(),
        };
        let spans = [span(1, 4), span(3, 6), span(8, 9), span(20, 30)];
        assert_eq!(busy_within(&spans, ms(0), ms(10)), Duration::from_millis(6));
        assert_eq!(busy_within(&spans, ms(5), ms(25)), Duration::from_millis(7));
    }
}
