//! The matrix's rows for `GET /users` (a Checkout Session that is not yours) and
//! `POST /users/portal`.

use devchat_kit::Route;

use super::{Case, Cast, MARKUP};

pub(super) fn cases(cast: &Cast) -> Vec<Case> {
    let (other, session_id) = (&cast.other, &cast.session_id);
    let mut cases = vec![Case::new(
        "get-user: no user_id",
        Route::GetUser,
        400,
        "user_id query parameter is required",
    )];
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
        .by(other)
        .query("session_id", session_id),
    );
    cases.push(
        Case::new(
            "get-user: unknown session_id",
            Route::GetUser,
            400,
            "unknown Checkout Session",
        )
        .by(other)
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
            .by(other)
            .query("session_id", *markup),
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
        .by(other)
        .body("{\"priceType\""),
    );
    cases.push(
        Case::new(
            "portal: priceType is a number",
            Route::Portal,
            400,
            "invalid type",
        )
        .by(other)
        .body(r#"{"priceType":1}"#),
    );
    cases
}
