//! Odd but valid requests succeed: unusual emails sign up normalised, sign-up opens a
//! session, the site's pages carry the security headers, and a user's own calls work
//! (the matrix is not passing merely because the cast cannot do anything).

use devchat::api::site;
use devchat_kit::{Options, Route, Signed, Stack, call_as, request, sign_in_with_code, sign_up};
use lambda_http::Body;
use serde_json::json;

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
    // The same user-scoped calls succeed for the user they name (the matrix is not
    // passing merely because the cast cannot do anything).
    let _stack = Stack::start(Options::provisioned()).await;
    let (app, catalog) = (_stack.app, _stack.catalog().clone());
    let user = sign_up(app, "able@example.com").await;
    let checkout = json!({ "price": catalog.monthly_price.id }).to_string();
    for (route, body) in [
        (Route::GetUser, ""),
        (Route::Checkout, checkout.as_str()),
        (Route::Portal, r#"{"priceType":"monthly"}"#),
    ] {
        let answer = call_as(app, route, &user, &[], &[], body).await;
        assert_eq!(answer.status, 200, "{route:?}: {}", answer.body);
    }
}
