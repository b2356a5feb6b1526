//! Helpers shared by the hardening suites (`hardening_*.rs`), on top of the
//! foundation harness (`support`): moto server and the Stripe emulator as real
//! processes on free ports. Every route is called in-process through its handler in
//! `devchat::api`, with `lambda_http` requests as API Gateway builds them.
#![allow(dead_code)]

use std::{collections::HashMap, time::Duration};

use devchat::{api::App, http::finish, model::Catalog, store::DynamoStore, stripe::StripeClient};
use lambda_http::{Body, RequestExt};
use serde_json::{Value, json};

use crate::support::{Stack, TABLE};

/// Every route of the API, called through its handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Offerings,
    SignUp,
    GetUser,
    Checkout,
    Schedule,
    Portal,
    Webhook,
}

impl Route {
    pub const ALL: [Route; 7] = [
        Route::Offerings,
        Route::SignUp,
        Route::GetUser,
        Route::Checkout,
        Route::Schedule,
        Route::Portal,
        Route::Webhook,
    ];

    pub fn method(self) -> &'static str {
        match self {
            Route::Offerings | Route::GetUser => "GET",
            _ => "POST",
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Route::Offerings => "/offerings",
            Route::SignUp | Route::GetUser => "/users",
            Route::Checkout => "/offerings/paircode",
            Route::Schedule => "/offerings/paircode/schedule",
            Route::Portal => "/users/portal",
            Route::Webhook => "/webhook",
        }
    }

    /// Calls the route's handler; the answer as the client sees it (errors rendered
    /// by `devchat::http::finish`, as the function binaries do).
    pub async fn call(self, app: &App, req: lambda_http::Request) -> Answer {
        use devchat::api::*;
        let result = match self {
            Route::Offerings => offerings::handle(app, req).await,
            Route::SignUp => signup::handle(app, req).await,
            Route::GetUser => get_user::handle(app, req).await,
            Route::Checkout => checkout::handle(app, req).await,
            Route::Schedule => schedule::handle(app, req).await,
            Route::Portal => portal::handle(app, req).await,
            Route::Webhook => webhook::handle(app, req).await,
        };
        Answer::from(finish(result))
    }
}

/// A response as the client sees it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub headers: http::HeaderMap,
}

impl From<devchat::http::Response> for Answer {
    fn from(response: devchat::http::Response) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
        Answer {
            status,
            body,
            headers,
        }
    }
}

impl Answer {
    /// `error.message`, or a panic naming the body when the answer is not an error.
    pub fn message(&self) -> &str {
        self.body["error"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("not an error body ({}): {}", self.status, self.body))
    }

    /// The `name=value` part of the session cookie this answer sets, if any.
    pub fn session_cookie(&self) -> Option<String> {
        self.headers
            .get_all(http::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or_default().trim().to_owned())
            .next()
    }
}

/// A request as API Gateway hands it to a function: method, path, query parameters,
/// headers and a raw body.
pub fn request(
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    headers: &[(&str, &str)],
    body: Body,
) -> lambda_http::Request {
    let mut builder = http::Request::builder()
        .method(method)
        .uri(format!("https://api.example.com{path}"));
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let query: HashMap<String, String> = query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    builder
        .body(body)
        .expect("request")
        .with_query_string_parameters(query)
}

/// A signed-up user and the session cookie their sign-up set (if the app sets one).
#[derive(Debug, Clone)]
pub struct Signed {
    pub id: String,
    pub email: String,
    pub cookie: Option<String>,
}

impl Signed {
    /// The headers a browser sends for this user: its session cookie.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        self.cookie.iter().map(|c| ("cookie", c.clone())).collect()
    }
}

/// Calls a user-scoped route as `user` (their session cookie, their `user_id`), plus
/// `extra` headers and `body`.
pub async fn call_as(
    app: &App,
    route: Route,
    user: &Signed,
    query: &[(&str, &str)],
    extra: &[(&str, &str)],
    body: &str,
) -> Answer {
    let mut params = vec![("user_id", user.id.as_str())];
    params.extend_from_slice(query);
    let cookies = user.headers();
    let mut headers: Vec<(&str, &str)> = cookies.iter().map(|(k, v)| (*k, v.as_str())).collect();
    headers.extend_from_slice(extra);
    let body = if body.is_empty() {
        Body::Empty
    } else {
        Body::Text(body.to_owned())
    };
    route
        .call(
            app,
            request(route.method(), route.path(), &params, &headers, body),
        )
        .await
}

/// `POST /users` through the handler: must succeed.
pub async fn sign_up(app: &App, email: &str) -> Signed {
    let body = Body::Text(json!({ "email": email }).to_string());
    let answer = Route::SignUp
        .call(
            app,
            request(
                "POST",
                "/users",
                &[],
                &[("content-type", "application/json")],
                body,
            ),
        )
        .await;
    assert_eq!(answer.status, 200, "sign-up of {email:?}: {}", answer.body);
    Signed {
        id: answer.body["id"].as_str().expect("user id").to_owned(),
        email: answer.body["email"].as_str().expect("email").to_owned(),
        cookie: answer.session_cookie(),
    }
}

/// The app wired to the stack, with `dynamo` as its DynamoDB endpoint (the stack's
/// moto server, or a proxy in front of it), leaked so handlers and servers can borrow it.
pub fn app_on(stack: &Stack, dynamo: &str, webhook_secret: Option<&str>) -> &'static App {
    let mut config = stack.config.clone();
    if let Some(secret) = webhook_secret {
        config.stripe_webhook_secret = Some(secret.to_owned());
    }
    let store = DynamoStore::new(dynamo_client(dynamo), TABLE);
    let stripe = StripeClient::new(&config).expect("Stripe client");
    Box::leak(Box::new(App {
        config,
        stripe,
        store,
    }))
}

/// The stack with its catalog provisioned, and the app on its moto server.
pub async fn provisioned() -> (Stack, &'static App, Catalog) {
    let stack = Stack::start().await;
    let app = app_on(&stack, &stack.dynamo.clone(), None);
    let catalog = devchat::catalog::provision(&app.stripe, &app.store, &app.config)
        .await
        .expect("provisioning");
    (stack, app, catalog)
}

pub fn dynamo_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    DynamoStore::local_client(endpoint).unwrap()
}

/// Every item in the table (consistently read), for "wrote nothing" checks.
pub async fn items(stack: &Stack) -> Vec<HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    let output = dynamo_client(&stack.dynamo)
        .scan()
        .table_name(TABLE)
        .consistent_read(true)
        .send()
        .await
        .expect("scan");
    output.items.unwrap_or_default()
}

/// The Stripe writes (non-GET requests) the emulator has logged.
pub async fn stripe_writes(stack: &Stack) -> Vec<Value> {
    stack
        .requests()
        .await
        .into_iter()
        .filter(|r| r["method"] != "GET")
        .collect()
}

/// Injects a fault into the emulator: the next `count` requests matching.
pub async fn inject(stack: &Stack, fault: Value) {
    let response = stack
        .http
        .post(format!("{}/_emulator/faults", stack.emulator))
        .json(&fault)
        .send()
        .await
        .expect("emulator");
    assert!(
        response.status().is_success(),
        "injecting {fault}: {}",
        response.status()
    );
}

/// How many objects of `kind` (`customer`, `checkout.session`, …) the emulator holds.
pub async fn object_count(stack: &Stack, kind: &str) -> usize {
    let state: Value = stack
        .http
        .get(format!("{}/_emulator/state", stack.emulator))
        .send()
        .await
        .expect("emulator")
        .json()
        .await
        .expect("state");
    state["order"][kind].as_array().map_or(0, Vec::len)
}

/// The meter's total for `customer` over the day around now, from Stripe's event summaries.
pub async fn meter_total(stack: &Stack, meter_id: &str, customer: &str) -> i64 {
    let now = now();
    let (start, end) = (
        (now - 86_400) / 3_600 * 3_600,
        (now + 7_200) / 3_600 * 3_600,
    );
    let summaries = stack
        .stripe_get(&format!("/billing/meters/{meter_id}/event_summaries?customer={customer}&start_time={start}&end_time={end}"))
        .await;
    summaries["data"]
        .as_array()
        .expect("summaries")
        .iter()
        .map(|s| s["aggregated_value"].as_f64().unwrap_or_default() as i64)
        .sum()
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// Subscribes `user` to `price` through Checkout paid with 4242 and records it as the
/// success redirect does; returns the Checkout Session id.
pub async fn subscribe(stack: &Stack, app: &App, user: &Signed, price: &str) -> String {
    let answer = call_as(
        app,
        Route::Checkout,
        user,
        &[],
        &[],
        &json!({ "price": price }).to_string(),
    )
    .await;
    assert_eq!(answer.status, 200, "checkout: {}", answer.body);
    let url = answer.body["url"].as_str().expect("checkout url");
    let location = stack.pay_checkout(url, "4242 4242 4242 4242").await;
    let session_id = location
        .split("session_id=")
        .nth(1)
        .expect("session_id in the redirect")
        .split('&')
        .next()
        .unwrap_or_default()
        .to_owned();
    let answer = call_as(
        app,
        Route::GetUser,
        user,
        &[("session_id", &session_id)],
        &[],
        "",
    )
    .await;
    assert_eq!(
        answer.status, 200,
        "recording the subscription: {}",
        answer.body
    );
    assert!(
        answer.body["user"]["subscription"]["id"].is_string(),
        "{}",
        answer.body
    );
    session_id
}

/// Waits until `check` holds, polling; panics after `timeout`.
pub async fn eventually<F: AsyncFn() -> bool>(what: &str, timeout: Duration, check: F) {
    let deadline = tokio::time::Instant::now() + timeout;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A TCP proxy in front of moto server that a test can cut and restore.
///
/// Why a proxy, and not stopping moto: moto server keeps its data in memory, so a
/// stopped-and-restarted moto would come back empty, and "nothing is lost" could not
/// be checked. Cutting the network path is what the functions see when DynamoDB is
/// unreachable (connections fail), while the data stays where it was, as it would in
/// DynamoDB itself. While cut, new connections are accepted and closed at once and
/// open ones are severed.
pub struct Proxy {
    pub url: String,
    cut: tokio::sync::watch::Sender<bool>,
}

impl Proxy {
    pub async fn start(upstream: &str) -> Proxy {
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("proxy port");
        let url = format!("http://{}", listener.local_addr().expect("proxy address"));
        let (cut, _) = tokio::sync::watch::channel(false);
        let watch = cut.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut severed = watch.subscribe();
                if *severed.borrow() {
                    drop(inbound);
                    continue;
                }
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = severed.wait_for(|cut| *cut) => {}
                    }
                });
            }
        });
        Proxy { url, cut }
    }

    /// The database becomes unreachable.
    pub fn cut(&self) {
        self.cut.send_replace(true);
    }

    /// The database is reachable again, with all its data.
    pub fn restore(&self) {
        self.cut.send_replace(false);
    }
}

/// `POST /webhook` over HTTP on a free port (the raw body and headers become a
/// `lambda_http` request for the webhook handler, as `cargo lambda watch` does), with
/// the status of every answer recorded. It listens at once (so a Stripe webhook
/// endpoint can be registered, which gives the signing secret) and answers 503 until
/// [`WebhookServer::serve`] hands it the app.
pub struct WebhookServer {
    pub url: String,
    pub answers: std::sync::Arc<std::sync::Mutex<Vec<u16>>>,
    app: std::sync::Arc<std::sync::OnceLock<&'static App>>,
}

impl WebhookServer {
    pub async fn start() -> WebhookServer {
        use axum::{body::Bytes, http::HeaderMap, routing::post};
        let answers = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let app = std::sync::Arc::new(std::sync::OnceLock::<&'static App>::new());
        let (recorded, handler_app) = (answers.clone(), app.clone());
        let router = axum::Router::new().route(
            "/webhook",
            post(move |headers: HeaderMap, body: Bytes| {
                let (recorded, app) = (recorded.clone(), handler_app.clone());
                async move {
                    let Some(app) = app.get().copied() else {
                        return (axum::http::StatusCode::SERVICE_UNAVAILABLE, String::new());
                    };
                    let mut req = http::Request::builder().method("POST").uri("/webhook");
                    for (name, value) in &headers {
                        req = req.header(name.as_str(), value.as_bytes());
                    }
                    let req = req.body(Body::Binary(body.to_vec())).expect("request");
                    let answer = Route::Webhook.call(app, req).await;
                    recorded.lock().expect("answers").push(answer.status);
                    (
                        axum::http::StatusCode::from_u16(answer.status).expect("status"),
                        answer.body.to_string(),
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("port");
        let url = format!("http://{}/webhook", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, router).await.expect("webhook server") });
        WebhookServer { url, answers, app }
    }

    pub fn serve(&self, app: &'static App) {
        let _ = self.app.set(app);
    }

    /// How many deliveries were answered with a 5xx so far.
    pub fn failed(&self) -> usize {
        self.answers
            .lock()
            .expect("answers")
            .iter()
            .filter(|s| **s >= 500)
            .count()
    }
}
