//! The user actions the benchmark drives, the fixtures they need (users in each
//! state, a real webhook event), and the long-lived function processes that serve them.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::atomic::{AtomicUsize, Ordering},
};

use serde_json::{Value, json};

use crate::{
    Result,
    events::{HttpRequest, stripe_signature},
    runtime::{Instance, Invocation},
    stack::{self, Stack, WEBHOOK_SECRET},
};

/// Every function binary with an HTTP route, then `provision` (a custom resource).
pub const FUNCTIONS: [&str; 9] = [
    "offerings",
    "signup",
    "get-user",
    "checkout",
    "schedule",
    "portal",
    "webhook",
    "site",
    "provision",
];
pub const FLOOR: &str = "hello";

/// Warm processes, one per function, started on first use and kept for the run.
pub struct Fleet {
    dir: PathBuf,
    env: Vec<(String, String)>,
    instances: HashMap<String, Instance>,
}

impl Fleet {
    pub fn new(dir: &Path, env: Vec<(String, String)>) -> Self {
        Fleet {
            dir: dir.to_path_buf(),
            env,
            instances: HashMap::new(),
        }
    }

    pub async fn instance(&mut self, function: &str) -> Result<&mut Instance> {
        if !self.instances.contains_key(function) {
            let binary = stack::binary(&self.dir, function)?;
            let mut instance = Instance::spawn(function, &binary, &self.env).await?;
            // A bare process with no event waiting still reaches GET /next.
            instance.init_duration().await?;
            self.instances.insert(function.to_string(), instance);
        }
        self.instances
            .get_mut(function)
            .ok_or_else(|| "unreachable: instance just inserted".into())
    }

    /// One invocation; any answer but 2xx is an error.
    pub async fn call(&mut self, function: &str, req: &HttpRequest) -> Result<Invocation> {
        let inv = self.instance(function).await?.invoke(&req.event()).await?;
        if !(200..300).contains(&inv.status()) {
            return Err(format!(
                "{function} {} {}: {} {}",
                req.method,
                req.path,
                inv.status(),
                inv.response["body"]
            )
            .into());
        }
        Ok(inv)
    }

    pub fn peak_rss_kib(&self, function: &str) -> Option<u64> {
        self.instances.get(function)?.peak_rss_kib()
    }

    pub async fn stop(self) {
        for (_, instance) in self.instances {
            instance.stop().await;
        }
    }
}

/// Users in each state the routes need, and a real event to deliver.
pub struct Fixtures {
    tag: String,
    monthly_price: String,
    /// Signed up, monthly subscriber.
    subscriber: (String, String),
    /// On-demand subscriber and the Checkout Session that made them one.
    ondemand: (String, String),
    /// Signed up, no subscription (may start Checkout).
    prospect: String,
    /// A `customer.subscription.created` event as Stripe would POST it.
    webhook_payload: String,
    counter: AtomicUsize,
}

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
    Webhook,
    Site,
    Floor,
}

impl Action {
    pub const WARM: [Action; 11] = [
        Action::Offerings,
        Action::SignupNew,
        Action::SignupKnown,
        Action::GetUser,
        Action::GetUserSession,
        Action::Checkout,
        Action::Schedule,
        Action::Portal,
        Action::Webhook,
        Action::Site,
        Action::Floor,
    ];

    pub fn function(self) -> &'static str {
        match self {
            Action::Offerings => "offerings",
            Action::SignupNew | Action::SignupKnown => "signup",
            Action::GetUser | Action::GetUserSession => "get-user",
            Action::Checkout => "checkout",
            Action::Schedule => "schedule",
            Action::Portal => "portal",
            Action::Webhook => "webhook",
            Action::Site => "site",
            Action::Floor => FLOOR,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Action::Offerings => "GET /offerings",
            Action::SignupNew => "POST /users (new email)",
            Action::SignupKnown => "POST /users (known email)",
            Action::GetUser => "GET /users",
            Action::GetUserSession => "GET /users?session_id",
            Action::Checkout => "POST /offerings/paircode",
            Action::Schedule => "POST /offerings/paircode/schedule",
            Action::Portal => "POST /users/portal",
            Action::Webhook => "POST /webhook",
            Action::Site => "GET / (site)",
            Action::Floor => "hello-world floor",
        }
    }

    /// The `i`-th request of this action.
    pub fn request(self, fx: &Fixtures) -> HttpRequest {
        let n = fx.counter.fetch_add(1, Ordering::Relaxed);
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
                &fx.ondemand.0,
            )
            .header("idempotency-key", &format!("bench-{}-{n}", fx.tag)),
            Action::Portal => {
                signed_in(HttpRequest::new("POST", "/users/portal"), &fx.subscriber.0)
                    .json(&json!({"priceType": "monthly"}))
            }
            Action::Webhook => webhook(&fx.webhook_payload),
            Action::Site | Action::Floor => HttpRequest::new("GET", "/"),
        }
    }
}

/// A user-scoped request as the browser signed in as `user` sends it: their `user_id`
/// and the session cookie `POST /users` set.
fn signed_in(req: HttpRequest, user: &str) -> HttpRequest {
    let cookie = devchat_kit::session_cookie(user);
    req.query("user_id", user).header("cookie", &cookie)
}

fn signup(email: &str) -> HttpRequest {
    HttpRequest::new("POST", "/users").json(&json!({ "email": email }))
}

fn get_user(id: &str) -> HttpRequest {
    signed_in(HttpRequest::new("GET", "/users"), id)
}

fn checkout(user: &str, price: &str) -> HttpRequest {
    signed_in(HttpRequest::new("POST", "/offerings/paircode"), user)
        .json(&json!({ "price": price }))
}

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

/// Stripe calls one action made, as the emulator logged them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RoundTrips {
    pub action: String,
    pub calls: Vec<String>,
    pub count: usize,
    pub writes: usize,
    pub minimum: usize,
    /// The most the action may make and still be at its minimum (see `note`).
    pub allowed: usize,
    pub note: String,
    pub ok: bool,
}

impl RoundTrips {
    fn new(action: &str, log: &[Value], minimum: usize, allowed: usize, note: &str) -> Self {
        let calls: Vec<String> = log
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e["method"].as_str().unwrap_or("?"),
                    e["path"].as_str().unwrap_or("?")
                )
            })
            .collect();
        let writes = log.iter().filter(|e| e["method"] != "GET").count();
        RoundTrips {
            action: action.to_string(),
            count: calls.len(),
            calls,
            writes,
            minimum,
            allowed,
            note: note.to_string(),
            ok: log.len() <= allowed,
        }
    }

    /// The action did not succeed, so its calls could not be counted.
    fn failed(action: &str, error: &str) -> Self {
        RoundTrips {
            action: action.to_string(),
            calls: Vec::new(),
            count: 0,
            writes: 0,
            minimum: 0,
            allowed: 0,
            note: format!("FAILED: {error}"),
            ok: false,
        }
    }
}

/// One invocation with the emulator's request log cleared before and read after.
async fn counted(
    stack: &Stack,
    fleet: &mut Fleet,
    req: HttpRequest,
    function: &str,
) -> Result<(Invocation, Vec<Value>)> {
    stack.clear_log().await?;
    let inv = fleet.call(function, &req).await?;
    Ok((inv, stack.stripe_log().await?))
}

fn field(value: &Value, pointer: &str) -> Result<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("no {pointer} in {value}").into())
}

/// Builds the fixtures through the functions themselves, counting the Stripe round trips
/// of every action on the way.
pub async fn prepare(
    stack: &Stack,
    fleet: &mut Fleet,
    tag: &str,
    provision: &Path,
) -> Result<(Fixtures, Vec<RoundTrips>)> {
    let mut trips = Vec::new();
    let email = format!("bench-{tag}-subscriber@example.com");

    let (inv, log) = counted(stack, fleet, Action::Offerings.request_alone(), "offerings").await?;
    trips.push(RoundTrips::new("GET /offerings", &log, 0, 0, ""));
    let offerings = inv.json();
    let monthly_price = field(&offerings, "/pairCode/monthlyPrice/id")?;
    let ondemand_price = field(&offerings, "/pairCode/onDemandPrice/id")?;

    let (inv, log) = counted(stack, fleet, signup(&email), "signup").await?;
    trips.push(RoundTrips::new("sign-up, new email", &log, 1, 1, ""));
    let subscriber = field(&inv.json(), "/id")?;
    let (_, log) = counted(
        stack,
        fleet,
        signup(&format!("  {}  ", email.to_uppercase())),
        "signup",
    )
    .await?;
    trips.push(RoundTrips::new(
        "sign-up, known email",
        &log,
        0,
        0,
        "same email, other case and spaces: a sign-in code by email (SES), no Stripe call",
    ));
    let (_, log) = counted(stack, fleet, get_user(&subscriber), "get-user").await?;
    trips.push(RoundTrips::new("GET /users", &log, 0, 0, ""));

    let (inv, log) = counted(
        stack,
        fleet,
        checkout(&subscriber, &monthly_price),
        "checkout",
    )
    .await?;
    trips.push(RoundTrips::new(
        "start Checkout",
        &log,
        1,
        1,
        "monthly price",
    ));
    let url = field(&inv.json(), "/url")?;
    let session = session_id(&url)?;
    stack.pay(&session).await?;
    let (_, log) = counted(
        stack,
        fleet,
        get_user(&subscriber).query("session_id", &session),
        "get-user",
    )
    .await?;
    trips.push(RoundTrips::new(
        "GET /users with session_id",
        &log,
        1,
        1,
        "retrieve the session, subscription expanded",
    ));

    // An on-demand subscriber, for schedule.
    let ondemand = field(
        &fleet
            .call(
                "signup",
                &signup(&format!("bench-{tag}-ondemand@example.com")),
            )
            .await?
            .json(),
        "/id",
    )?;
    let url = field(
        &fleet
            .call("checkout", &checkout(&ondemand, &ondemand_price))
            .await?
            .json(),
        "/url",
    )?;
    let ondemand_session = session_id(&url)?;
    stack.pay(&ondemand_session).await?;
    fleet
        .call(
            "get-user",
            &get_user(&ondemand).query("session_id", &ondemand_session),
        )
        .await?;
    let prospect = field(
        &fleet
            .call(
                "signup",
                &signup(&format!("bench-{tag}-prospect@example.com")),
            )
            .await?
            .json(),
        "/id",
    )?;

    let events = stack
        .stripe_get("/events?type=customer.subscription.created&limit=100")
        .await;
    let event = events["data"]
        .as_array()
        .and_then(|all| {
            all.iter()
                .find(|e| e["data"]["object"]["customer"] == ondemand.as_str())
        })
        .ok_or("no customer.subscription.created event for the on-demand subscriber")?;
    let webhook_payload = serde_json::to_string_pretty(event)?;

    let fixtures = Fixtures {
        tag: tag.to_string(),
        monthly_price,
        subscriber: (subscriber, email),
        ondemand: (ondemand, ondemand_session),
        prospect,
        webhook_payload,
        counter: AtomicUsize::new(0),
    };

    // These three do not build fixtures: a failure is reported, not fatal.
    let tolerant = |action: &str, result: Result<(Invocation, Vec<Value>)>| match result {
        Ok((_, log)) => Ok(log),
        Err(err) => Err(RoundTrips::failed(action, &err.to_string())),
    };
    let action = "schedule a session";
    let result = counted(
        stack,
        fleet,
        Action::Schedule.request(&fixtures),
        "schedule",
    )
    .await;
    trips.push(
        tolerant(action, result)
            .map(|log| RoundTrips::new(action, &log, 1, 1, "one meter event"))
            .unwrap_or_else(|failed| failed),
    );
    let action = "open the portal";
    let result = counted(stack, fleet, Action::Portal.request(&fixtures), "portal").await;
    trips.push(
        tolerant(action, result)
            .map(|log| RoundTrips::new(action, &log, 1, 1, ""))
            .unwrap_or_else(|failed| failed),
    );
    let action = "webhook delivery";
    let result = counted(stack, fleet, Action::Webhook.request(&fixtures), "webhook").await;
    trips.push(
        tolerant(action, result)
            .map(|log| {
                let reread = log.iter().all(|e| e["method"] == "GET");
                RoundTrips::new(
                    action,
                    &log,
                    0,
                    usize::from(reread),
                    "customer.subscription.created; 1 allowed only as a re-read (GET) by design",
                )
            })
            .unwrap_or_else(|failed| failed),
    );

    stack.clear_log().await?;
    stack.provision(provision, false).await?;
    let log = stack.stripe_log().await?;
    let mut trip = RoundTrips::new(
        "provisioning, nothing drifted",
        &log,
        0,
        4,
        "reads only, at most 4, no writes",
    );
    trip.ok = trip.count <= 4 && trip.writes == 0;
    trips.push(trip);
    Ok((fixtures, trips))
}

impl Fixtures {
    pub fn webhook_payload(&self) -> String {
        self.webhook_payload.clone()
    }
}

impl Action {
    /// A request that needs no fixtures (offerings, site, floor).
    fn request_alone(self) -> HttpRequest {
        match self {
            Action::Offerings => HttpRequest::new("GET", "/offerings"),
            _ => HttpRequest::new("GET", "/"),
        }
    }
}

fn session_id(checkout_url: &str) -> Result<String> {
    checkout_url
        .rsplit('/')
        .next()
        .and_then(|s| s.split(['?', '#']).next())
        .filter(|s| s.starts_with("cs_"))
        .map(str::to_string)
        .ok_or_else(|| format!("no Checkout Session id in {checkout_url}").into())
}
