//! Sign-in with a code by email (`POST /users` for a known email, `POST /users/sign-in`),
//! sessions that end (`POST /users/sign-out`), and the limits on codes, against moto's
//! SES and DynamoDB and the emulator.

use devchat::sign_in::{self, CODES_PER_EMAIL, CODES_PER_SOURCE, MAX_WRONG, Requested};
use devchat_kit::{
    Answer, Options, Route, Signed, Stack, call_as, request, sign_in_with_code, sign_up,
};
use lambda_http::Body;
use serde_json::json;

/// `POST /users` `{"email"}` from a browser with `cookie` (or none).
async fn ask(app: &devchat::api::App, email: &str, cookie: Option<&str>) -> Answer {
    let mut headers = vec![("content-type", "application/json")];
    headers.extend(cookie.map(|c| ("cookie", c)));
    let body = json!({ "email": email }).to_string();
    Route::SignUp
        .call(
            app,
            request("POST", "/users", &[], &headers, Body::Text(body)),
        )
        .await
}

/// `POST /users/sign-in` `{"email","code"}`.
async fn enter(app: &devchat::api::App, email: &str, code: &str) -> Answer {
    let headers = [("content-type", "application/json")];
    let body = json!({ "email": email, "code": code }).to_string();
    Route::SignIn
        .call(
            app,
            request("POST", "/users/sign-in", &[], &headers, Body::Text(body)),
        )
        .await
}

/// `POST /users/sign-out` with `cookie` and `body`.
async fn sign_out(app: &devchat::api::App, cookie: Option<&str>, body: &str) -> Answer {
    let mut headers = vec![("content-type", "application/json")];
    headers.extend(cookie.map(|c| ("cookie", c)));
    Route::SignOut
        .call(
            app,
            request("POST", "/users/sign-out", &[], &headers, body.into()),
        )
        .await
}

/// A code that is not `code`.
fn wrong(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
}

fn signed(answer: &Answer) -> Signed {
    assert_eq!(answer.status, 200, "{}", answer.body);
    Signed {
        id: answer.body["id"].as_str().unwrap().to_owned(),
        email: answer.body["email"].as_str().unwrap().to_owned(),
        cookie: answer.session_cookie(),
    }
}

#[tokio::test]
async fn a_known_email_gets_a_code_and_the_code_a_session_once() {
    let stack = Stack::start(Options::default()).await;
    let app = stack.app;
    let ada = sign_up(app, "ada@example.com").await;
    assert!(ada.cookie.is_some(), "a new email is signed in at once");
    assert!(stack.sent_mail().await.is_empty(), "and gets no mail");

    // Typing the address again, in another browser: a code goes out, no session.
    let answer = ask(app, " ADA@example.com", None).await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    assert_eq!(
        answer.body,
        json!({ "email": "ada@example.com", "signIn": "code_sent" })
    );
    assert!(
        answer.session_cookie().is_none(),
        "no cookie before the code"
    );
    let mail = stack.mail_to("ada@example.com").await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert_eq!(mail[0].from, devchat_kit::FROM_EMAIL);
    assert_eq!(mail[0].subject, "Your /dev/chat sign-in code");
    for says in ["10 minutes", "If this wasn't you, ignore this email"] {
        assert!(mail[0].body.contains(says), "{says}: {}", mail[0].body);
    }
    let code = stack.latest_code("ada@example.com").await;
    // The code is stored only as its keyed hash.
    let stored = format!("{:?}", stack.items().await);
    assert!(!stored.contains(&code), "the code itself is not stored");

    // Asking again at once (a double click) sends nothing new and answers the same.
    let again = ask(app, "ada@example.com", None).await;
    assert_eq!(again.status, 202, "{}", again.body);
    assert_eq!(stack.mail_to("ada@example.com").await.len(), 1);

    // The browser that is signed in as ada just gets ada.
    let same = ask(app, "ada@example.com", ada.cookie.as_deref()).await;
    assert_eq!(signed(&same).id, ada.id);

    // A wrong code is refused and counted; the right one opens a session, once.
    let refused = enter(app, "ada@example.com", &wrong(&code)).await;
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert!(
        refused.message().contains("wrong code: 4 tries left"),
        "{}",
        refused.body
    );
    assert!(refused.session_cookie().is_none());
    let opened = enter(app, "Ada@Example.com", &code).await;
    let session = signed(&opened);
    assert_eq!(session.id, ada.id);
    assert!(session.cookie.is_some(), "the code sets a session cookie");
    let answer = call_as(app, Route::GetUser, &session, &[], &[], "").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let reused = enter(app, "ada@example.com", &code).await;
    assert_eq!(reused.status, 401, "{}", reused.body);
    assert!(reused.message().contains("used already"), "{}", reused.body);
    // A used code does not block a new one, even within the minute.
    assert_eq!(ask(app, "ada@example.com", None).await.status, 202);
    assert_eq!(stack.mail_to("ada@example.com").await.len(), 2);
    // No Stripe call beyond the one sign-up.
    assert_eq!(stack.emulator.count("customer").await.expect("emulator"), 1);
}

#[tokio::test]
async fn five_wrong_codes_void_the_code() {
    let stack = Stack::start(Options::default()).await;
    let app = stack.app;
    sign_up(app, "grace@example.com").await;
    assert_eq!(ask(app, "grace@example.com", None).await.status, 202);
    let code = stack.latest_code("grace@example.com").await;
    for n in 1..=MAX_WRONG {
        let answer = enter(app, "grace@example.com", &wrong(&code)).await;
        assert_eq!(answer.status, 401, "{}", answer.body);
        if n == MAX_WRONG {
            assert!(answer.message().contains("last try"), "{}", answer.body);
        }
    }
    let answer = enter(app, "grace@example.com", &code).await;
    assert_eq!(
        answer.status, 401,
        "the right code after 5 wrong: {}",
        answer.body
    );
    assert!(
        answer.message().contains("too many wrong codes"),
        "{}",
        answer.body
    );
    assert!(answer.session_cookie().is_none());
    // A void code never blocks a new one.
    let user = sign_in_with_code(&stack, app, "grace@example.com").await;
    assert!(user.cookie.is_some());
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let stack = Stack::start(Options::default()).await;
    let short = stack.app_with(|config| config.sign_in_code_ttl_seconds = 0);
    sign_up(stack.app, "lin@example.com").await;
    assert_eq!(ask(short, "lin@example.com", None).await.status, 202);
    let code = stack.latest_code("lin@example.com").await;
    let answer = enter(short, "lin@example.com", &code).await;
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert!(answer.message().contains("expired"), "{}", answer.body);
    // An expired code never blocks a new one.
    sign_in_with_code(&stack, stack.app, "lin@example.com").await;
}

#[tokio::test]
async fn sign_out_everywhere_ends_every_session() {
    let stack = Stack::start(Options::default()).await;
    let app = stack.app;
    let first = sign_up(app, "hedy@example.com").await;
    let second = sign_in_with_code(&stack, app, "hedy@example.com").await;
    for browser in [&first, &second] {
        let answer = call_as(app, Route::GetUser, browser, &[], &[], "").await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }

    // Plain sign-out: only this browser's cookie goes, and it needs no session.
    let answer = sign_out(app, None, "").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let cleared = answer.headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cleared.starts_with("devchat_session=; Max-Age=0"),
        "{cleared}"
    );
    assert_eq!(
        call_as(app, Route::GetUser, &first, &[], &[], "")
            .await
            .status,
        200
    );

    // Everywhere: needs a session, and ends all of them.
    let answer = sign_out(app, None, r#"{"everywhere":true}"#).await;
    assert_eq!(answer.status, 401, "{}", answer.body);
    let answer = sign_out(app, second.cookie.as_deref(), r#"{"everywhere":true}"#).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.body,
        json!({ "signedOut": true, "everywhere": true })
    );
    assert!(
        answer.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    for browser in [&first, &second] {
        for route in [Route::GetUser, Route::Portal, Route::Schedule] {
            let answer = call_as(app, route, browser, &[], &[], "").await;
            assert_eq!(answer.status, 401, "{route:?}: {}", answer.body);
            assert!(answer.message().contains("signed out"), "{}", answer.body);
        }
    }
    // An ended session cannot end the others again.
    let answer = sign_out(app, first.cookie.as_deref(), r#"{"everywhere":true}"#).await;
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert!(answer.message().contains("signed out"), "{}", answer.body);
    // The old cookie no longer counts as the owner's browser either: a code is needed.
    assert_eq!(
        ask(app, "hedy@example.com", first.cookie.as_deref())
            .await
            .status,
        202
    );
    let code = stack.latest_code("hedy@example.com").await;
    let again = signed(&enter(app, "hedy@example.com", &code).await);
    assert_eq!(again.id, first.id);
    let answer = call_as(app, Route::GetUser, &again, &[], &[], "").await;
    assert_eq!(answer.status, 200, "the new session works: {}", answer.body);
}

#[tokio::test]
async fn the_email_limit_answers_429_until_the_hour_has_passed() {
    let stack = Stack::start(Options::default()).await;
    let app = stack.app;
    let email = "limit@example.com";
    sign_up(app, email).await;
    // Five codes in the hour (each voided by wrong tries, so the next is not a repeat).
    for n in 1..=CODES_PER_EMAIL {
        let answer = ask(app, email, None).await;
        assert_eq!(answer.status, 202, "code {n}: {}", answer.body);
        let code = stack.latest_code(email).await;
        for _ in 0..MAX_WRONG {
            assert_eq!(enter(app, email, &wrong(&code)).await.status, 401);
        }
    }
    assert_eq!(stack.mail_to(email).await.len(), CODES_PER_EMAIL as usize);
    let asked = devchat_kit::now();
    let answer = ask(app, email, None).await;
    assert_eq!(answer.status, 429, "{}", answer.body);
    assert!(
        answer.message().contains("Too many sign-in codes"),
        "{}",
        answer.body
    );
    let retry_after: i64 = answer.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let now = devchat_kit::now();
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    // The server read its clock between `asked` and `now` (a second may have turned).
    assert!(
        (asked..=now).any(|t| (t + retry_after) % 3600 == 0),
        "until the hour ends: {retry_after} s after {asked}..={now}"
    );
    assert_eq!(stack.mail_to(email).await.len(), CODES_PER_EMAIL as usize);

    // Once the window has passed (the rule at that time), a code goes out and works.
    let later = now + retry_after;
    let sent = sign_in::request_code(&app.store, &app.mail, &app.config, email, None, later)
        .await
        .expect("a code after the window");
    assert_eq!(sent, Requested::Sent);
    let code = stack.latest_code(email).await;
    let user = sign_in::verify(&app.store, &app.config, email, &code, later)
        .await
        .expect("signed in");
    assert_eq!(user.email, email);
}

#[tokio::test]
async fn the_source_limit_answers_429_and_counts_nothing_else() {
    let stack = Stack::start(Options::default()).await;
    let app = stack.app;
    let now = devchat_kit::now();
    let ip = Some("203.0.113.9");
    for n in 0..CODES_PER_SOURCE {
        let email = format!("from-one-ip-{n}@example.com");
        let sent = sign_in::request_code(&app.store, &app.mail, &app.config, &email, ip, now)
            .await
            .expect("under the limit");
        assert_eq!(sent, Requested::Sent);
    }
    let over = "from-one-ip-over@example.com";
    let err = sign_in::request_code(&app.store, &app.mail, &app.config, over, ip, now)
        .await
        .expect_err("over the limit");
    assert!(
        matches!(err, devchat::Error::TooManyRequests { retry_after, .. } if retry_after >= 1),
        "{err:?}"
    );
    assert!(stack.mail_to(over).await.is_empty(), "nothing sent");
    // The refused request left the email's own count as it was: another source may ask.
    let sent = sign_in::request_code(
        &app.store,
        &app.mail,
        &app.config,
        over,
        Some("198.51.100.7"),
        now,
    )
    .await
    .expect("another source");
    assert_eq!(sent, Requested::Sent);
    let state = devchat::store::Store::get_sign_in(&app.store, over)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.sent_in_window, 1, "{state:?}");
}
