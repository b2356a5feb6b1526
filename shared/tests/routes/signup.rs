//! `POST /users`: one user (and one Stripe Customer) per email, bad input refused.

use devchat_kit::{Answer, Options, Route, Stack, browser_request, request};

use crate::error_message;

#[tokio::test]
async fn sign_up_is_one_user_per_email() {
    let stack = Stack::start(Options::default()).await;
    let app = stack.app;
    let signup = |body: &str| browser_request("POST", "/users", &[], &[], body).clone();
    let first = Route::SignUp
        .call(app, signup(r#"{"email":"  Ada@Example.com "}"#))
        .await;
    let (status, ada) = (first.status, first.body.clone());
    assert_eq!(status, 200, "{ada}");
    let cookie = first.session_cookie().expect("a session");
    assert_eq!(ada["email"], "ada@example.com");
    let id = ada["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("cus_"), "{id}");
    assert!(ada.get("subscription").is_none());
    let customer = stack.stripe_get(&format!("/customers/{id}")).await;
    assert_eq!(customer["email"], "ada@example.com");
    assert_eq!(customer["metadata"]["challenge_id"], "test");

    // Again from the browser signed in as ada: the same user.
    let req = request(
        "POST",
        "/users",
        &[],
        &[("content-type", "application/json"), ("cookie", &cookie)],
        r#"{"email":"ADA@example.COM"}"#.into(),
    );
    let Answer { body: again, .. } = Route::SignUp.call(app, req).await;
    assert_eq!(
        again["id"],
        id.as_str(),
        "signing up again from the same browser returns the same user"
    );
    // From another browser: a sign-in code, no user.
    let Answer {
        status, body: code, ..
    } = Route::SignUp
        .call(app, signup(r#"{"email":"ADA@example.COM"}"#))
        .await;
    assert_eq!(status, 202, "{code}");
    assert!(code.get("id").is_none(), "{code}");

    // 20 concurrent sign-ups with one new email: one Stripe Customer, one user.
    let attempts = (0..20).map(|i| {
        let app = &app;
        let body = if i % 2 == 0 {
            r#"{"email":"grace@example.com"}"#
        } else {
            r#"{"email":" GRACE@example.com"}"#
        };
        async move {
            Route::SignUp
                .call(app, browser_request("POST", "/users", &[], &[], body))
                .await
        }
    });
    let results = futures::future::join_all(attempts).await;
    let created: Vec<&Answer> = results.iter().filter(|a| a.status == 200).collect();
    assert_eq!(
        created.len(),
        1,
        "one sign-up made the user and got its session"
    );
    assert!(created[0].session_cookie().is_some());
    for answer in &results {
        assert!(
            answer.status == 200 || (answer.status == 202 && answer.body["signIn"] == "code_sent"),
            "{}: {}",
            answer.status,
            answer.body
        );
    }
    let customers = stack.stripe_get("/customers?email=grace@example.com").await;
    assert_eq!(
        customers["data"].as_array().unwrap().len(),
        1,
        "exactly one Stripe Customer: {customers}"
    );

    for (body, expected) in [
        ("", "request body is missing"),
        ("{", "not valid JSON"),
        (r#"{"email":42}"#, "invalid type"),
        (r#"{"mail":"a@b.co"}"#, "missing field `email`"),
        (r#"{"email":"not-an-email"}"#, "invalid email address"),
        (
            r#"{"email":"<script>alert(1)</script>@x.com"}"#,
            "invalid email address",
        ),
    ] {
        let Answer {
            status,
            body: error,
            ..
        } = Route::SignUp.call(app, signup(body)).await;
        assert_eq!(status, 400, "{body:?} → {error}");
        assert!(
            error_message(&error).contains(expected),
            "{body:?} → {error}"
        );
    }
    let huge = format!(r#"{{"email":"{}@example.com"}}"#, "a".repeat(70_000));
    let Answer { status, .. } = Route::SignUp.call(app, signup(&huge)).await;
    assert_eq!(status, 413);
    let customers = stack.stripe_get("/customers?limit=100").await;
    assert_eq!(
        customers["data"].as_array().unwrap().len(),
        2,
        "bad sign-ups created nothing"
    );
}
