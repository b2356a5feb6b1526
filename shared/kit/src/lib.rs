//! The test kit of `shared/tests` and the bench: real components on free ports,
//! nothing mocked.
//!
//! - [`Stack::start`] starts moto server (DynamoDB) and the Stripe emulator (in this
//!   process, or its release binary for the bench), creates a fresh table and, when
//!   asked, provisions the catalog; [`Stack::watch`] adds `cargo lambda watch` and
//!   [`Stack::listen`] the official Stripe CLI's `stripe listen`.
//! - [`request`] builds a request as API Gateway hands it to a function, [`Route`]
//!   calls a route's handler in process, and every answer is one [`Answer`].
//! - The emulator is driven through its own control client
//!   ([`stripe_emulator::control_client`]): only the emulator knows its control
//!   routes and the fields of its hosted Checkout form.

mod call;
mod events;
mod listen;
mod mail;
mod proxy;
mod stack;

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

pub use call::{
    Answer, Route, Signed, Subscribed, arrange, browser_request, call_as, deliver, request,
    sign_in_with_code, sign_up, subscribe,
};
pub use events::{event, invoice, stripe_object, subscription};
pub use listen::{Listen, Watch, WebhookServer};
pub use mail::{SentMail, code_in};
pub use proxy::{Fault, Proxy};
pub use stack::{Emulator, Options, Stack};
pub use stripe_emulator::control_client::{
    CARD_CHARGE_FAILS, CARD_OK, Card, Control, ControlError, Paid,
};

pub const SECRET_KEY: &str = "sk_test_devchat_tests";
pub const WEBHOOK_SECRET: &str = "whsec_devchat_local_emulator_secret";
pub const TABLE: &str = "devchat-test";
pub const CHALLENGE_ID: &str = "test";
pub const APP_URL: &str = "http://127.0.0.1:9000";
/// The sender of the app's mail (a verified identity in the stack's SES).
pub const FROM_EMAIL: &str = "no-reply@devchat.test";
/// Where session requests are emailed (`OWNER_EMAIL`).
pub const OWNER_EMAIL: &str = "owner@devchat.test";
/// Signs the test sessions; [`session_cookie`] signs in as a user.
pub const SESSION_SECRET: &str = "devchat-test-session-secret-0123456789";

/// The `Cookie` header of a browser signed in as `user_id` at their first session epoch
/// (what `POST /users` set at sign-up).
pub fn session_cookie(user_id: &str) -> String {
    let set_cookie =
        devchat::session::cookie(SESSION_SECRET, user_id, 0, devchat::session::now(), false)
            .expect("session cookie");
    set_cookie.split(';').next().unwrap_or_default().to_owned()
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Waits until `url` answers at all (any status).
pub async fn wait_for(url: &str, timeout: Duration) {
    let client = reqwest::Client::new();
    let start = Instant::now();
    loop {
        let answer = client.get(url).timeout(Duration::from_secs(5)).send();
        if answer.await.is_ok() {
            return;
        }
        assert!(
            start.elapsed() < timeout,
            "{url} did not answer within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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

/// Our wall clock (Unix seconds).
pub fn now() -> i64 {
    devchat::session::now()
}
