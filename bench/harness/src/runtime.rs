//! The Lambda Runtime API on loopback, as Lambda serves it to a function process:
//! `GET /2018-06-01/runtime/invocation/next` hands out one event at a time,
//! `POST …/invocation/{id}/response|error` and `POST …/init/error` take the answers.
//! One [`Instance`] is one function process with its own runtime server, so timings
//! never mix between processes.

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::Path,
    process::Stdio,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use axum::{
    Router,
    body::Bytes,
    extract::{Path as UrlPath, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post, put},
};
use serde_json::Value;
use tokio::{
    net::TcpListener,
    process::{Child, Command},
    sync::{mpsc, oneshot, watch},
};

use crate::Result;

/// How long one invocation (or a cold start) may take before the harness gives up.
const TIMEOUT: Duration = Duration::from_secs(30);

/// An event waiting for the function to ask for it.
struct Pending {
    id: String,
    event: Vec<u8>,
    reply: oneshot::Sender<Answer>,
}

/// What the function posted back.
struct Answer {
    body: Bytes,
    error: bool,
    delivered: Instant,
    answered: Instant,
}

struct Rt {
    name: String,
    queue: tokio::sync::Mutex<mpsc::Receiver<Pending>>,
    waiting: Mutex<HashMap<String, (oneshot::Sender<Answer>, Instant)>>,
    /// When the process first asked for an event (Init Duration ends here).
    first_next: watch::Sender<Option<Instant>>,
    init_error: watch::Sender<Option<String>>,
    /// The bodies PUT to `/cfn-response` (CloudFormation's ResponseURL), in order.
    cfn_answers: Mutex<Vec<Value>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One invocation's outcome, timed by the harness.
pub struct Invocation {
    /// The function's answer (for lambda_http: statusCode, headers, body).
    pub response: Value,
    /// Event handed over → answer received: what Lambda bills as Duration.
    pub duration: Duration,
    pub delivered: Instant,
    pub answered: Instant,
}

impl Invocation {
    /// The HTTP status; a function that is not HTTP (the scheduled `outbox`) answers
    /// with its payload, which counts as 200 (a failure reaches `/error` instead).
    pub fn status(&self) -> u16 {
        match self.response.get("statusCode") {
            Some(code) => code.as_u64().unwrap_or(0) as u16,
            None if self.response.is_object() => 200,
            None => 0,
        }
    }

    /// The HTTP body parsed as JSON (Null when it is not JSON).
    pub fn json(&self) -> Value {
        self.response["body"]
            .as_str()
            .and_then(|b| serde_json::from_str(b).ok())
            .unwrap_or(Value::Null)
    }
}

/// A function process attached to its own Runtime API server.
pub struct Instance {
    pub name: String,
    child: Child,
    rt: Arc<Rt>,
    queue: mpsc::Sender<Pending>,
    first_next: watch::Receiver<Option<Instant>>,
    init_error: watch::Receiver<Option<String>>,
    /// Just before `spawn`.
    pub started: Instant,
    /// Where its Runtime API listens (also serves a CloudFormation ResponseURL at `/cfn-response`).
    pub runtime_addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
    seq: u64,
}

impl Instance {
    /// Starts the runtime server, then the binary with `AWS_LAMBDA_RUNTIME_API` pointing at it.
    pub async fn spawn(name: &str, binary: &Path, env: &[(String, String)]) -> Result<Self> {
        let (tx, rx) = mpsc::channel(1);
        let (first_next, first_next_rx) = watch::channel(None);
        let (init_error, init_error_rx) = watch::channel(None);
        let rt = Arc::new(Rt {
            name: name.to_string(),
            queue: tokio::sync::Mutex::new(rx),
            waiting: Mutex::new(HashMap::new()),
            first_next,
            init_error,
            cfn_answers: Mutex::new(Vec::new()),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr: SocketAddr = listener.local_addr()?;
        let router = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_failed))
            // CloudFormation's ResponseURL for the provision function's custom resource.
            .route("/cfn-response", put(cfn_answer))
            .with_state(rt.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let mut cmd = Command::new(binary);
        cmd.env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .env("_HANDLER", "bootstrap")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let started = Instant::now();
        let child = cmd
            .spawn()
            .map_err(|e| format!("{}: {e}", binary.display()))?;
        Ok(Instance {
            name: name.to_string(),
            child,
            rt,
            queue: tx,
            first_next: first_next_rx,
            init_error: init_error_rx,
            started,
            runtime_addr: addr,
            server,
            seq: 0,
        })
    }

    /// Waits for the process to ask for its first event: start → that moment is Init Duration.
    pub async fn init_duration(&mut self) -> Result<Duration> {
        let deadline = tokio::time::sleep(TIMEOUT);
        tokio::pin!(deadline);
        loop {
            if let Some(at) = *self.first_next.borrow() {
                return Ok(at - self.started);
            }
            if let Some(err) = self.init_error.borrow().clone() {
                return Err(format!("{}: init error: {err}", self.name).into());
            }
            tokio::select! {
                _ = self.first_next.changed() => {}
                _ = self.init_error.changed() => {}
                status = self.child.wait() => {
                    return Err(format!("{}: exited during init: {:?}", self.name, status?).into());
                }
                _ = &mut deadline => return Err(format!("{}: no init within {TIMEOUT:?}", self.name).into()),
            }
        }
    }

    /// One invocation with `event` (JSON), timed.
    pub async fn invoke(&mut self, event: &Value) -> Result<Invocation> {
        self.seq += 1;
        let id = format!("bench-{}-{}", self.name, self.seq);
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Pending {
                id,
                event: serde_json::to_vec(event)?,
                reply,
            })
            .await
            .map_err(|_| "runtime queue closed")?;
        let answer = tokio::select! {
            answer = answer => answer.map_err(|_| format!("{}: no answer", self.name))?,
            status = self.child.wait() => {
                return Err(format!("{}: exited during an invocation: {:?}", self.name, status?).into());
            }
            _ = tokio::time::sleep(TIMEOUT) => return Err(format!("{}: no answer within {TIMEOUT:?}", self.name).into()),
        };
        let response: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        if answer.error {
            return Err(format!("{}: invocation error: {response}", self.name).into());
        }
        Ok(Invocation {
            response,
            duration: answer.answered - answer.delivered,
            delivered: answer.delivered,
            answered: answer.answered,
        })
    }

    /// Peak resident set size so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let pid = self.child.id()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// CPU time the process has used so far, all threads (the first field of each
    /// thread's `/proc/<pid>/task/<tid>/schedstat`: nanoseconds on a CPU).
    pub fn cpu_time(&self) -> Option<Duration> {
        let pid = self.child.id()?;
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
        let nanos = tasks
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok())
            .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
            .sum();
        Some(Duration::from_nanos(nanos))
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
        self.server.abort();
        lock(&self.rt.waiting).clear();
    }
}

fn epoch_ms_in(d: Duration) -> u128 {
    (SystemTime::now() + d)
        .duration_since(UNIX_EPOCH)
        .map(|t| t.as_millis())
        .unwrap_or(0)
}

async fn next(State(rt): State<Arc<Rt>>) -> Response {
    rt.first_next.send_if_modified(|at| {
        if at.is_none() {
            *at = Some(Instant::now());
            true
        } else {
            false
        }
    });
    let Some(pending) = rt.queue.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let mut headers = HeaderMap::new();
    let pairs = [
        ("lambda-runtime-aws-request-id", pending.id.clone()),
        (
            "lambda-runtime-deadline-ms",
            epoch_ms_in(TIMEOUT).to_string(),
        ),
        (
            "lambda-runtime-invoked-function-arn",
            format!("arn:aws:lambda:us-east-1:123456789012:function:{}", rt.name),
        ),
        (
            "lambda-runtime-trace-id",
            format!(
                "Root=1-00000000-{:024x};Parent=0000000000000001;Sampled=0",
                rand_u96()
            ),
        ),
        ("content-type", "application/json".to_string()),
    ];
    for (k, v) in pairs {
        if let Ok(v) = v.parse() {
            headers.insert(k, v);
        }
    }
    let event = pending.event;
    lock(&rt.waiting).insert(pending.id, (pending.reply, Instant::now()));
    (headers, event).into_response()
}

fn rand_u96() -> u128 {
    uuid::Uuid::new_v4().as_u128() >> 32
}

fn answer(rt: &Rt, id: &str, body: Bytes, error: bool) -> StatusCode {
    let answered = Instant::now();
    match lock(&rt.waiting).remove(id) {
        Some((reply, delivered)) => {
            let _ = reply.send(Answer {
                body,
                error,
                delivered,
                answered,
            });
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn response(
    State(rt): State<Arc<Rt>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    answer(&rt, &id, body, false)
}

async fn error(State(rt): State<Arc<Rt>>, UrlPath(id): UrlPath<String>, body: Bytes) -> StatusCode {
    answer(&rt, &id, body, true)
}

async fn init_failed(State(rt): State<Arc<Rt>>, body: Bytes) -> StatusCode {
    let _ = rt
        .init_error
        .send(Some(String::from_utf8_lossy(&body).into_owned()));
    StatusCode::ACCEPTED
}

async fn cfn_answer(State(rt): State<Arc<Rt>>, body: Bytes) -> StatusCode {
    let answer = serde_json::from_slice(&body).unwrap_or(Value::Null);
    lock(&rt.cfn_answers).push(answer);
    StatusCode::OK
}

impl Instance {
    /// What the function has PUT to CloudFormation's ResponseURL so far.
    pub fn cfn_answers(&self) -> Vec<Value> {
        lock(&self.rt.cfn_answers).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::HttpRequest;

    /// A binary of this workspace next to this test binary (`target/<profile>/NAME`).
    fn built(name: &str) -> std::path::PathBuf {
        let exe = std::env::current_exe().unwrap();
        let dir = exe.parent().and_then(Path::parent).unwrap();
        let binary = dir.join(name);
        assert!(
            binary.is_file(),
            "{} is missing: cargo build --bin {name} (make build)",
            binary.display()
        );
        binary
    }

    /// The hello-world floor next to this test binary (`target/<profile>/hello`; `make
    /// test` builds it first, in `make build`).
    fn hello() -> std::path::PathBuf {
        built("hello")
    }

    #[tokio::test]
    async fn a_lambda_http_binary_starts_and_answers_through_our_runtime_api() {
        let mut instance = Instance::spawn("hello", &hello(), &[]).await.unwrap();
        let started = instance.started;
        let event = HttpRequest::new("GET", "/").query("q", "1").event();
        let first = instance.invoke(&event).await.unwrap();
        let init = instance.init_duration().await.unwrap();
        assert_eq!(first.status(), 200, "{}", first.response);
        assert_eq!(first.response["body"], "hello");
        assert!(init > Duration::ZERO && init < first.answered - started);
        // Warm: the same process answers again, and it shows in /proc.
        let second = instance.invoke(&event).await.unwrap();
        assert_eq!(second.status(), 200);
        assert!(second.delivered > first.answered);
        assert!(instance.peak_rss_kib().unwrap() > 0);
        instance.stop().await;
    }

    /// A stack must never wait for a custom resource: with its configuration broken
    /// (no Stripe key), the provision function still answers CloudFormation — FAILED
    /// with the reason for Create, SUCCESS for Delete so the stack can be torn down.
    #[tokio::test]
    async fn provision_with_a_broken_configuration_still_answers_cloudformation() {
        let env = [
            ("TABLE_NAME".to_string(), "devchat-test".to_string()),
            ("AWS_REGION".to_string(), "us-east-1".to_string()),
            ("AWS_EC2_METADATA_DISABLED".to_string(), "true".to_string()),
        ];
        let mut instance = Instance::spawn("provision", &built("provision"), &env)
            .await
            .unwrap();
        let url = format!("http://{}/cfn-response", instance.runtime_addr);
        instance
            .invoke(&crate::events::cfn_create(&url))
            .await
            .unwrap();
        let mut delete = crate::events::cfn_create(&url);
        delete["RequestType"] = "Delete".into();
        delete["PhysicalResourceId"] = "devchat-catalog".into();
        instance.invoke(&delete).await.unwrap();
        let answers = instance.cfn_answers();
        instance.stop().await;
        assert_eq!(answers.len(), 2, "{answers:?}");
        assert_eq!(answers[0]["Status"], "FAILED", "{answers:?}");
        let reason = answers[0]["Reason"].as_str().unwrap_or_default();
        assert!(reason.contains("STRIPE_SECRET_KEY"), "{reason}");
        assert_eq!(answers[1]["Status"], "SUCCESS", "{answers:?}");
    }
}
