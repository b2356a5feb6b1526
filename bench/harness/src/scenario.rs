//! The fixtures the actions need (users in each state, real webhook events of every
//! handled type), built through the functions themselves, and the long-lived function
//! processes that serve them. Building them also counts the one-off actions: the first
//! delivery of each webhook type and provisioning with nothing drifted.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{
        Mutex,
        atomic::{AtomicU64, AtomicUsize},
    },
    time::Instant,
};

use devchat_kit::{CARD_CHARGE_FAILS, CARD_OK};
use serde_json::Value;

use crate::{
    Result,
    actions::{Action, Fixtures, checkout, get_user, signup, webhook},
    events::HttpRequest,
    runtime::{Instance, Invocation},
    stack::{self, Stack},
    trips::{RoundTrips, Trips, calls_within},
};

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

fn field(value: &Value, pointer: &str) -> Result<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("no {pointer} in {value}").into())
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

/// A new user, signed up and nothing more: their id.
async fn new_user(fleet: &mut Fleet, email: &str) -> Result<String> {
    field(&fleet.call("signup", &signup(email)).await?.json(), "/id")
}

/// A new user subscribed to `price` with `card`, their return from Checkout recorded:
/// (user id, Checkout Session id).
async fn subscriber(
    stack: &Stack,
    fleet: &mut Fleet,
    email: &str,
    price: &str,
    card: &str,
) -> Result<(String, String)> {
    let user = new_user(fleet, email).await?;
    let url = field(
        &fleet
            .call("checkout", &checkout(&user, price))
            .await?
            .json(),
        "/url",
    )?;
    let session = session_id(&url)?;
    stack.pay(&session, card).await?;
    let back = get_user(&user).query("session_id", &session);
    fleet.call("get-user", &back).await?;
    Ok((user, session))
}

/// The newest event of `kind` about `customer`, as Stripe would POST it.
async fn event(stack: &Stack, kind: &str, customer: &str) -> Result<String> {
    let events = stack
        .stripe_get(&format!("/events?type={kind}&limit=100"))
        .await;
    let event = events["data"]
        .as_array()
        .and_then(|all| {
            all.iter()
                .find(|e| e["data"]["object"]["customer"] == customer)
        })
        .ok_or_else(|| format!("no {kind} event for {customer}"))?;
    Ok(serde_json::to_string_pretty(event)?)
}

/// One invocation, its Stripe and DynamoDB calls counted from the proxies.
pub async fn counted(
    stack: &Stack,
    fleet: &mut Fleet,
    function: &str,
    req: &HttpRequest,
) -> Result<(Invocation, Trips, Vec<String>)> {
    stack.drain();
    let inv = fleet.call(function, req).await?;
    let (s, d) = stack.drain();
    let trips = Trips::of(&s, &d, inv.delivered, inv.answered);
    let calls = calls_within(&s, &d, inv.delivered, inv.answered);
    Ok((inv, trips, calls))
}

/// An event that names a subscription: with news, the subscription is re-read (one
/// Stripe call) before the write; a fresh instance also reads the catalog once, while
/// Stripe answers.
const RE_READ: (Trips, &str) = (
    Trips::new((1, 1), (3, 2)),
    "news: read the user, re-read the subscription (the catalog read meanwhile, once per instance), write",
);
/// `invoice.payment_failed`: as [`RE_READ`], with the invoice written while Stripe
/// answers (the user read once for both; the two writes touch different attributes).
const INVOICE_RE_READ: (Trips, &str) = (
    Trips::new((1, 1), (4, 2)),
    "news: read the user once; re-read the subscription while the invoice is written (and the catalog read, once per instance); write the subscription",
);
/// An event that carries the subscription: no Stripe call.
const CARRIES: (Trips, &str) = (
    Trips::new((0, 0), (2, 2)),
    "the event carries the subscription: read the user, write",
);

/// The first delivery of each handled webhook type, with the fewest calls it needs.
const WEBHOOKS: [(&str, (Trips, &str)); 5] = [
    ("invoice.payment_failed", INVOICE_RE_READ),
    ("customer.subscription.updated", CARRIES),
    ("customer.subscription.deleted", CARRIES),
    ("checkout.session.completed", RE_READ),
    (
        "customer.subscription.created",
        (
            CARRIES.0,
            "read the user; write only if newer than what Checkout's return stored",
        ),
    ),
];

/// On-demand subscribers who click "Arrange session" in turn: the bench's ~750 clicks
/// (warm, latency, cold) make about 23 requests each.
const CLICKERS: usize = 32;

/// Builds the fixtures through the functions, and counts the one-off actions.
pub async fn prepare(
    stack: &Stack,
    fleet: &mut Fleet,
    tag: &str,
    provision: &Path,
) -> Result<(Fixtures, Vec<RoundTrips>)> {
    let offerings = fleet
        .call("offerings", &HttpRequest::new("GET", "/offerings"))
        .await?
        .json();
    let monthly_price = field(&offerings, "/pairCode/monthlyPrice/id")?;
    let ondemand_price = field(&offerings, "/pairCode/onDemandPrice/id")?;
    let email = format!("bench-{tag}-subscriber@example.com");
    let (subscriber_id, _) = subscriber(stack, fleet, &email, &monthly_price, CARD_OK).await?;
    let ondemand = subscriber(
        stack,
        fleet,
        &format!("bench-{tag}-ondemand@example.com"),
        &ondemand_price,
        CARD_OK,
    )
    .await?;
    // "Arrange session" clicks go round these, so no customer's record holds more
    // requests than a busy month's (a click stores one on the user's item).
    let mut clickers = Vec::with_capacity(CLICKERS);
    for i in 0..CLICKERS {
        let email = format!("bench-{tag}-clicker-{i}@example.com");
        clickers.push(
            subscriber(stack, fleet, &email, &ondemand_price, CARD_OK)
                .await?
                .0,
        );
    }
    let prospect = new_user(fleet, &format!("bench-{tag}-prospect@example.com")).await?;
    // A subscriber who cancels, and one whose card fails when the trial ends.
    let (churned, _) = subscriber(
        stack,
        fleet,
        &format!("bench-{tag}-churned@example.com"),
        &monthly_price,
        CARD_OK,
    )
    .await?;
    let (failing, _) = subscriber(
        stack,
        fleet,
        &format!("bench-{tag}-failing@example.com"),
        &monthly_price,
        CARD_CHARGE_FAILS,
    )
    .await?;
    let churned_user = fleet.call("get-user", &get_user(&churned)).await?.json();
    let churned_sub = field(&churned_user, "/user/subscription/id")?;
    stack
        .stripe_delete(&format!("/subscriptions/{churned_sub}"))
        .await;
    // Past the 3-day trial: the failing card is charged and refused.
    stack.advance_clock(4 * 24 * 3600).await?;

    let leaver = new_user(fleet, &format!("bench-{tag}-leaver@example.com")).await?;
    let webhook_payload = event(stack, "customer.subscription.created", &ondemand.0).await?;
    let fixtures = Fixtures {
        tag: tag.to_string(),
        monthly_price,
        subscriber: (subscriber_id, email),
        ondemand,
        clickers,
        prospect,
        webhook_payload,
        codes: Mutex::default(),
        leaver,
        leaver_epoch: AtomicU64::new(0),
        counter: AtomicUsize::new(0),
    };
    // The webhook instance is warm before anything is counted.
    fleet
        .call("webhook", &Action::Webhook.request(&fixtures))
        .await?;

    let mut trips = Vec::new();
    stack.network_model(true);
    for (kind, (minimum, why)) in WEBHOOKS {
        let customer = match kind {
            "invoice.payment_failed" | "customer.subscription.updated" => &failing,
            "customer.subscription.deleted" => &churned,
            _ => &churned,
        };
        let label = format!("webhook {kind}, first delivery");
        let result = match event(stack, kind, customer).await {
            Ok(payload) => counted(stack, fleet, "webhook", &webhook(&payload)).await,
            Err(err) => Err(err),
        };
        trips.push(match result {
            Ok((inv, measured, calls)) => {
                let outcome = inv.json()["outcome"].as_str().unwrap_or("?").to_string();
                RoundTrips::new(
                    &format!("{label} ({outcome})"),
                    measured,
                    minimum,
                    why,
                    calls,
                )
            }
            Err(err) => RoundTrips::failed(&label, &err.to_string()),
        });
    }
    trips.push(provisioning(stack, provision, false).await?);
    stack.network_model(false);
    Ok((fixtures, trips))
}

/// Runs `provision` once (`create_table`: on an empty stack, as the first deploy does)
/// and counts its calls.
pub async fn provisioning(
    stack: &Stack,
    provision: &Path,
    create_table: bool,
) -> Result<RoundTrips> {
    stack.drain();
    let from = Instant::now();
    stack.provision(provision, create_table).await?;
    let to = Instant::now();
    let (s, d) = stack.drain();
    let (label, minimum, why) = if create_table {
        (
            "provisioning, empty Stripe and table",
            Trips::new((9, 3), (3, 3)),
            "4 reads at once, then product, meter and portal created at once, then both prices; the table described, created, the catalog stored",
        )
    } else {
        (
            "provisioning, nothing drifted",
            Trips::new((4, 1), (1, 1)),
            "4 reads at once, no Stripe write; the catalog stored",
        )
    };
    Ok(RoundTrips::new(
        label,
        Trips::of(&s, &d, from, to),
        minimum,
        why,
        calls_within(&s, &d, from, to),
    ))
}
