//! The matrix's rows for sign-up (`POST /users`): bodies that are not an email address.

use devchat_kit::Route;
use serde_json::json;

use super::{Case, MARKUP};

pub(super) fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
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
    cases
}
