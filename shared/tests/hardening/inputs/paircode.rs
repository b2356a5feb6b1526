//! The matrix's rows for Checkout (`POST /offerings/paircode`) and "Arrange session"
//! (`POST /offerings/paircode/schedule`).

use devchat_kit::Route;

use super::{Case, Cast, MARKUP, price_body};

pub(super) fn cases(cast: &Cast) -> Vec<Case> {
    let Cast {
        catalog,
        subscriber,
        other,
        foreign_price,
        ..
    } = cast;
    // POST /offerings/paircode.
    let mut cases = vec![
        Case::new(
            "checkout: no user_id",
            Route::Checkout,
            400,
            "user_id query parameter is required",
        )
        .body(price_body(&catalog.monthly_price.id)),
    ];
    cases.push(
        Case::new(
            "checkout: missing body",
            Route::Checkout,
            400,
            "request body is missing",
        )
        .by(other),
    );
    cases.push(
        Case::new(
            "checkout: invalid JSON",
            Route::Checkout,
            400,
            "not valid JSON",
        )
        .by(other)
        .body("{price}"),
    );
    cases.push(
        Case::new(
            "checkout: price is a number",
            Route::Checkout,
            400,
            "invalid type",
        )
        .by(other)
        .body(r#"{"price":6000}"#),
    );
    cases.push(
        Case::new(
            "checkout: no price field",
            Route::Checkout,
            400,
            "missing field `price`",
        )
        .by(other)
        .body("{}"),
    );
    cases.push(
        Case::new(
            "checkout: a price that isn't ours",
            Route::Checkout,
            400,
            "is not one of our prices",
        )
        .by(other)
        .body(price_body(foreign_price)),
    );
    cases.push(
        Case::new(
            "checkout: an unknown price",
            Route::Checkout,
            400,
            "is not one of our prices",
        )
        .by(other)
        .body(price_body("price_doesnotexist")),
    );
    cases.push(
        Case::new(
            "checkout: already subscribed",
            Route::Checkout,
            409,
            "already have a monthly subscription",
        )
        .by(subscriber)
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
            .by(other)
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
        .by(other),
    );
    cases.push(
        Case::new(
            "schedule: a monthly subscriber's second session this period",
            Route::Schedule,
            409,
            "this month's is already arranged",
        )
        .by(subscriber),
    );
    cases.push(
        Case::new(
            "schedule: invalid JSON body",
            Route::Schedule,
            400,
            "not valid JSON",
        )
        .by(other)
        .body("{]"),
    );
    cases.push(
        Case::new(
            "schedule: body is an array",
            Route::Schedule,
            400,
            "invalid type",
        )
        .by(other)
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
            .by(other)
            .header("idempotency-key", key),
        );
    }
    cases
}
