//! The matrix's rows for who may act: unknown users (markup and injection strings as
//! ids) and sessions that are missing, forged, expired, tampered or another user's, on
//! every user-scoped route.

use super::{Case, Cast, MARKUP, USER_ROUTES};

/// Session cookies that must not pass.
pub(super) struct Cookies {
    pub(super) forged: String,
    pub(super) tampered: String,
    pub(super) expired: String,
}

pub(super) fn cases(cast: &Cast) -> (Vec<Case>, Cookies) {
    let Cast {
        app,
        subscriber,
        other,
        ..
    } = cast;
    let mut cases = Vec::new();
    let unknown_users: Vec<String> = ["cus_doesnotexist".to_owned()]
        .into_iter()
        .chain(MARKUP.iter().map(|m| m.to_string()))
        .collect();
    // Unknown users, including markup and injection strings as ids, on every user-scoped route.
    for id in &unknown_users {
        for route in USER_ROUTES {
            let body = cast.body_for(route);
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
    for route in USER_ROUTES {
        let body = cast.body_for(route);
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
    (
        cases,
        Cookies {
            forged,
            tampered,
            expired,
        },
    )
}
