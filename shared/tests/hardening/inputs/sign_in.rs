//! The matrix's rows for sign-in (`POST /users/sign-in`), sign-out (`POST
//! /users/sign-out`) and the rule that state-changing routes refuse another origin.

use devchat_kit::Route;
use serde_json::json;

use super::{Case, Cast, MARKUP, sessions::Cookies};

/// `cast.other` is a signed-up user who never asked for a code; `cookies` must not pass.
pub(super) fn cases(cast: &Cast, cookies: &Cookies) -> Vec<Case> {
    let other = &cast.other;
    let mut cases = Vec::new();
    // POST /users/sign-in.
    let sign_in = |name: &str, body: &str, status, says| {
        Case::new(format!("sign-in: {name}"), Route::SignIn, status, says).body(body.to_owned())
    };
    let with_code = |email: &str, code: &str| json!({ "email": email, "code": code }).to_string();
    cases.push(Case::new(
        "sign-in: missing body",
        Route::SignIn,
        400,
        "request body is missing",
    ));
    cases.push(sign_in(
        "invalid JSON",
        "{\"email\":",
        400,
        "not valid JSON",
    ));
    cases.push(sign_in(
        "body is an array",
        r#"["a@b.co","123456"]"#,
        400,
        "invalid type",
    ));
    cases.push(sign_in(
        "no code field",
        r#"{"email":"other@example.com"}"#,
        400,
        "missing field `code`",
    ));
    cases.push(sign_in(
        "no email field",
        r#"{"code":"123456"}"#,
        400,
        "missing field `email`",
    ));
    cases.push(sign_in(
        "code is a number",
        r#"{"email":"other@example.com","code":123456}"#,
        400,
        "invalid type",
    ));
    for code in ["", "12345", "1234567", "12a456", "١٢٣٤٥٦", "12-3456"] {
        cases.push(sign_in(
            &format!("malformed code {code:?}"),
            &with_code(&other.email, code),
            400,
            "the code is the 6 digits",
        ));
    }
    for markup in MARKUP {
        cases.push(sign_in(
            &format!("markup code {markup:?}"),
            &with_code(&other.email, markup),
            400,
            "the code is the 6 digits",
        ));
        cases.push(sign_in(
            &format!("markup email {markup:?}"),
            &with_code(&format!("{markup}@example.com"), "123456"),
            400,
            "invalid email address",
        ));
    }
    cases.push(sign_in(
        "invalid email",
        &with_code("not-an-email", "123456"),
        400,
        "invalid email address",
    ));
    cases.push(sign_in(
        "an email that never asked for a code",
        &with_code(&other.email, "123456"),
        401,
        "no sign-in code for this email",
    ));
    cases.push(sign_in(
        "an unknown email",
        &with_code("nobody@example.com", "123456"),
        401,
        "no sign-in code for this email",
    ));

    // POST /users/sign-out.
    let sign_out = |name: &str, status, says| {
        Case::new(format!("sign-out: {name}"), Route::SignOut, status, says)
    };
    cases.push(sign_out("invalid JSON", 400, "not valid JSON").body("{everywhere"));
    cases.push(sign_out("body is an array", 400, "invalid type").body("[true]"));
    cases.push(
        sign_out("everywhere is a string", 400, "invalid type").body(r#"{"everywhere":"yes"}"#),
    );
    let everywhere = r#"{"everywhere":true}"#;
    cases.push(sign_out("everywhere without a session", 401, "no session").body(everywhere));
    for (name, cookie, says) in [
        ("a forged session", &cookies.forged, "not valid"),
        (
            "a session edited to name another user",
            &cookies.tampered,
            "not valid",
        ),
        ("an expired session", &cookies.expired, "expired"),
    ] {
        cases.push(
            sign_out(&format!("everywhere with {name}"), 401, says)
                .body(everywhere)
                .header("cookie", cookie.as_str()),
        );
    }

    // Every state-changing route a browser can reach: from another origin, refused.
    for route in [
        Route::SignUp,
        Route::SignIn,
        Route::SignOut,
        Route::Checkout,
        Route::Schedule,
        Route::Portal,
    ] {
        for origin in [
            "https://evil.example",
            "null",
            "http://127.0.0.1:9000.evil.example",
        ] {
            cases.push(
                Case::new(
                    format!("{route:?}: from origin {origin}"),
                    route,
                    403,
                    "cross-site request refused",
                )
                .by(other)
                .header("origin", origin)
                .body(match route {
                    Route::SignUp => json!({ "email": "fresh@example.com" }).to_string(),
                    Route::SignOut => everywhere.to_owned(),
                    _ => cast.body_for(route),
                }),
            );
        }
    }
    cases
}
