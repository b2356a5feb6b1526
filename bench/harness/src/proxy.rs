//! A timing reverse proxy on loopback in front of a dependency (the emulator, moto):
//! every request the functions make passes through it, and it records when each one
//! arrived and when its answer was ready. Invocations run one at a time, so the spans
//! inside an invocation's window are exactly the time that invocation spent waiting on
//! that dependency (the proxy's own hop, ~0.1 ms, is counted with the dependency, as
//! the network hop would be in AWS).

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
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

/// (arrived, answered) of one proxied request.
pub type Span = (Instant, Instant);

struct Inner {
    upstream: String,
    client: reqwest::Client,
    spans: Mutex<Vec<Span>>,
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

    /// Takes every span recorded so far.
    pub fn drain(&self) -> Vec<Span> {
        std::mem::take(&mut *self.inner.spans.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Time covered by the spans that fall inside `[from, to]`, overlaps counted once.
pub fn busy_within(spans: &[Span], from: Instant, to: Instant) -> Duration {
    let mut inside: Vec<Span> = spans
        .iter()
        .filter(|(s, e)| *e > from && *s < to)
        .map(|(s, e)| ((*s).max(from), (*e).min(to)))
        .collect();
    inside.sort();
    let mut total = Duration::ZERO;
    let mut current: Option<Span> = None;
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

async fn forward(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let arrived = Instant::now();
    let (parts, body) = req.into_parts();
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
    inner
        .spans
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((arrived, Instant::now()));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_spans_count_once_and_outside_time_not_at_all() {
        let t = Instant::now();
        let ms = |n| t + Duration::from_millis(n);
        let spans = [
            (ms(1), ms(4)),
            (ms(3), ms(6)),
            (ms(8), ms(9)),
            (ms(20), ms(30)),
        ];
        assert_eq!(busy_within(&spans, ms(0), ms(10)), Duration::from_millis(6));
        assert_eq!(busy_within(&spans, ms(5), ms(25)), Duration::from_millis(7));
    }
}
