//! The user actions the benchmark drives through the function binaries, as data: one
//! row of [`ACTIONS`] per action (its function, its label, the fewest Stripe and
//! DynamoDB calls it needs and why) and one arm of [`Action::request`] for the request.
//! A new route is a new variant, a row and an arm; every phase picks it up.

use std::{
    collections::VecDeque,
    sync::{
        Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
};

use serde_json::json;

use crate::{
    events::{HttpRequest, stripe_signature},
    stack::WEBHOOK_SECRET,
    trips::Trips,
};

/// Users in each state the routes need, and a real event to deliver.
pub struct Fixtures {
    pub tag: String,
    pub monthly_price: String,
    /// Signed up, monthly subscriber: (id, email).
    pub subscriber: (String, String),
    /// On-demand subscriber and the Checkout Session that made them one.
    pub ondemand: (String, String),
    /// On-demand subscribers whose "Arrange session" clicks go round them in turn.
    pub clickers: Vec<String>,
    /// Signed up, no subscription (may start Checkout).
    pub prospect: String,
    /// A `customer.subscription.created` event as Stripe would POST it.
    pub webhook_payload: String,
    /// Sign-in codes as users received them by email, not used yet: (email, code)
    /// (`codes::top_up` fills it).
    pub codes: Mutex<VecDeque<(String, String)>>,
    /// A user who signs out everywhere again and again, and the session epoch their
    /// next sign-out starts from (each one moves it on).
    pub leaver: String,
    pub(crate) leaver_epoch: AtomicU64,
    pub(crate) counter: AtomicUsize,
}

impl Fixtures {
    /// A number not handed out before (fresh emails, idempotency keys).
    pub fn next(&self) -> usize {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    /// The next unused sign-in code, if any.
    pub fn take_code(&self) -> Option<(String, String)> {
        self.codes.lock().ok()?.pop_front()
    }

    pub fn codes_left(&self) -> usize {
        self.codes.lock().map_or(0, |codes| codes.len())
    }
}

/// Every function binary with an HTTP route, then `outbox` (scheduled) and
/// `provision` (a custom resource).
pub const FUNCTIONS: [&str; 12] = [
    "offerings",
    "signup",
    "get-user",
    "checkout",
    "schedule",
    "portal",
    "sign-in",
    "sign-out",
    "webhook",
    "site",
    "outbox",
    "provision",
];
pub const FLOOR: &str = "hello";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Offerings,
    SignupNew,
    SignupKnown,
    GetUser,
    GetUserSession,
    Checkout,
    Schedule,
    Portal,
    SignIn,
    SignOut,
    SignOutEverywhere,
    Webhook,
    Site,
    Outbox,
    Floor,
}

/// One action: where it runs, what it is called, and the least it needs of Stripe and
/// DynamoDB on a warm instance (calls in all / on the critical path).
pub struct Spec {
    pub action: Action,
    pub function: &'static str,
    pub label: &'static str,
    pub minimum: Trips,
    pub why: &'static str,
}

const fn spec(
    action: Action,
    function: &'static str,
    label: &'static str,
    stripe: (usize, usize),
    dynamo: (usize, usize),
    why: &'static str,
) -> Spec {
    Spec {
        action,
        function,
        label,
        minimum: Trips::new(stripe, dynamo),
        why,
    }
}

/// Every action the warm and latency phases run, in report order.
pub const ACTIONS: [Spec; 15] = [
    spec(
        Action::Offerings,
        "offerings",
        "GET /offerings",
        (0, 0),
        (0, 0),
        "the catalog is in the instance's memory (one read per instance per minute)",
    ),
    spec(
        Action::SignupNew,
        "signup",
        "POST /users (new email)",
        (1, 1),
        (3, 2),
        "read the email's claim; create the Customer; write the claim and the user at once",
    ),
    spec(
        Action::SignupKnown,
        "signup",
        "POST /users (known email)",
        (0, 0),
        (2, 2),
        "from the user's own browser (session): the claim names the user, so the user is read after it; without a session, a sign-in code by email (SES), no Stripe call",
    ),
    spec(
        Action::GetUser,
        "get-user",
        "GET /users",
        (0, 0),
        (1, 1),
        "read the user",
    ),
    spec(
        Action::GetUserSession,
        "get-user",
        "GET /users?session_id",
        (1, 1),
        (1, 0),
        "the user is read beside the session (returning again: nothing new to write)",
    ),
    spec(
        Action::Checkout,
        "checkout",
        "POST /offerings/paircode",
        (1, 1),
        (1, 1),
        "the user (is one subscribed already?) before the Checkout Session",
    ),
    spec(
        Action::Schedule,
        "schedule",
        "POST /offerings/paircode/schedule",
        (1, 1),
        (3, 3),
        "the user (a live subscription?); the request stored (its user put on the outbox in the same write) before the meter event and the owner's email, sent at once; then both marked sent and the user taken off the outbox, in one write",
    ),
    spec(
        Action::Portal,
        "portal",
        "POST /users/portal",
        (1, 1),
        (1, 1),
        "the user must exist before a portal session is made for them",
    ),
    spec(
        Action::SignIn,
        "sign-in",
        "POST /users/sign-in (a code from the email)",
        (0, 0),
        (4, 2),
        "the code's record and the email's claim (naming the user) read at once; then the code used up (a conditional write) and the user read at once",
    ),
    spec(
        Action::SignOut,
        "sign-out",
        "POST /users/sign-out (this browser)",
        (0, 0),
        (0, 0),
        "the cookie is deleted; nothing is stored",
    ),
    spec(
        Action::SignOutEverywhere,
        "sign-out",
        "POST /users/sign-out (everywhere)",
        (0, 0),
        (1, 1),
        "one conditional write moves the user's session epoch on, if the cookie's epoch is still the current one",
    ),
    spec(
        Action::Webhook,
        "webhook",
        "POST /webhook (a duplicate)",
        (0, 0),
        (1, 1),
        "customer.subscription.created delivered again: read the user, nothing to write",
    ),
    spec(
        Action::Site,
        "site",
        "GET / (site)",
        (0, 0),
        (0, 0),
        "embedded files",
    ),
    spec(
        Action::Outbox,
        "outbox",
        "scheduled drain (outbox, nothing waiting)",
        (0, 0),
        (1, 1),
        "one read of the outbox index, which holds only users with a request still to send",
    ),
    spec(
        Action::Floor,
        FLOOR,
        "hello-world floor",
        (0, 0),
        (0, 0),
        "",
    ),
];

impl Action {
    pub fn spec(self) -> &'static Spec {
        ACTIONS
            .iter()
            .find(|s| s.action == self)
            .unwrap_or(&ACTIONS[ACTIONS.len() - 1])
    }

    pub fn function(self) -> &'static str {
        self.spec().function
    }

    pub fn label(self) -> &'static str {
        self.spec().label
    }

    /// The action a cold instance of `function` is first invoked with.
    pub fn first_of(function: &str) -> Action {
        ACTIONS
            .iter()
            .find(|s| s.function == function)
            .map_or(Action::Floor, |s| s.action)
    }

    /// A new request of this action (each call a fresh email or idempotency key).
    pub fn request(self, fx: &Fixtures) -> HttpRequest {
        let n = fx.next();
        match self {
            Action::Offerings => HttpRequest::new("GET", "/offerings"),
            Action::SignupNew => signup(&format!("bench-{}-{n}@example.com", fx.tag)),
            // From the subscriber's own browser (their session): 200, as a returning
            // user's sign-up is; without it the answer is a code by email, rate-limited.
            Action::SignupKnown => signup(&fx.subscriber.1)
                .header("cookie", &devchat_kit::session_cookie(&fx.subscriber.0)),
            Action::GetUser => get_user(&fx.subscriber.0),
            Action::GetUserSession => get_user(&fx.ondemand.0).query("session_id", &fx.ondemand.1),
            Action::Checkout => checkout(&fx.prospect, &fx.monthly_price),
            Action::Schedule => signed_in(
                HttpRequest::new("POST", "/offerings/paircode/schedule"),
                fx.clickers
                    .get(n % fx.clickers.len().max(1))
                    .unwrap_or(&fx.ondemand.0),
            )
            .header("idempotency-key", &format!("bench-{}-{n}", fx.tag)),
            Action::Portal => {
                signed_in(HttpRequest::new("POST", "/users/portal"), &fx.subscriber.0)
                    .json(&json!({"priceType": "monthly"}))
            }
            // A code taken once: none left is a wrong code (401, counted as an error).
            Action::SignIn => {
                let (email, code) = fx
                    .take_code()
                    .unwrap_or_else(|| ("bench-no-code@example.com".into(), "000000".into()));
                HttpRequest::new("POST", "/users/sign-in")
                    .json(&json!({ "email": email, "code": code }))
            }
            Action::SignOut => HttpRequest::new("POST", "/users/sign-out")
                .header("cookie", &devchat_kit::session_cookie(&fx.subscriber.0)),
            Action::SignOutEverywhere => {
                let epoch = fx.leaver_epoch.fetch_add(1, Ordering::Relaxed);
                HttpRequest::new("POST", "/users/sign-out")
                    .header("cookie", &session_cookie(&fx.leaver, epoch))
                    .json(&json!({ "everywhere": true }))
            }
            Action::Webhook => webhook(&fx.webhook_payload),
            Action::Site | Action::Floor => HttpRequest::new("GET", "/"),
            // Not HTTP: the event EventBridge's schedule sends.
            Action::Outbox => HttpRequest::scheduled(),
        }
    }
}

/// A user-scoped request as the browser signed in as `user` sends it: their `user_id`
/// and the session cookie `POST /users` set.
pub fn signed_in(req: HttpRequest, user: &str) -> HttpRequest {
    let cookie = devchat_kit::session_cookie(user);
    req.query("user_id", user).header("cookie", &cookie)
}

/// The session cookie of `user` at session `epoch` (`name=value`, as a browser sends it).
pub fn session_cookie(user: &str, epoch: u64) -> String {
    let set_cookie = devchat::session::cookie(
        devchat_kit::SESSION_SECRET,
        user,
        epoch,
        devchat::session::now(),
        false,
    )
    .unwrap_or_default();
    set_cookie.split(';').next().unwrap_or_default().to_owned()
}

pub fn signup(email: &str) -> HttpRequest {
    HttpRequest::new("POST", "/users").json(&json!({ "email": email }))
}

pub fn get_user(id: &str) -> HttpRequest {
    signed_in(HttpRequest::new("GET", "/users"), id)
}

pub fn checkout(user: &str, price: &str) -> HttpRequest {
    signed_in(HttpRequest::new("POST", "/offerings/paircode"), user)
        .json(&json!({ "price": price }))
}

/// `payload` as Stripe POSTs it, signed now.
pub fn webhook(payload: &str) -> HttpRequest {
    let mut req = HttpRequest::new("POST", "/webhook")
        .header("content-type", "application/json")
        .header(
            "stripe-signature",
            &stripe_signature(payload, WEBHOOK_SECRET),
        );
    req.body = Some(payload.to_string());
    req
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_one_row_and_every_function_a_first_action() {
        for (i, spec) in ACTIONS.iter().enumerate() {
            assert_eq!(spec.action.spec().label, spec.label, "row {i}");
            assert!(spec.minimum.floor_ms() < 1000);
        }
        for function in FUNCTIONS.iter().filter(|f| **f != "provision") {
            assert_eq!(Action::first_of(function).function(), *function);
        }
    }
}
