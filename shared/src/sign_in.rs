//! Sign-in for an email that already has an account: a one-time code by email.
//!
//! Typing an address must not be enough to act for its owner, so `POST /users` with a
//! known email (and no session for that user) sends a 6-digit code instead of a session,
//! and `POST /users/sign-in` trades the code for one. A new email still signs up at once:
//! there is nothing yet to take over.
//!
//! - **The code** works once, for [`crate::config::Config::sign_in_code_ttl_seconds`]
//!   (10 minutes), and at most [`MAX_WRONG`] wrong codes void it. Only its HMAC with the
//!   session secret, keyed by the email, is stored, under `SIGNIN#{email}`, with a DynamoDB
//!   TTL. It is never logged.
//! - **Repeats:** while a code sent less than [`RESEND_AFTER_SECONDS`] ago is still
//!   usable, asking again sends nothing (a double-click or a burst sends one email). A
//!   void, used or expired code never blocks a new one.
//! - **Limits:** [`CODES_PER_EMAIL`] codes per email and [`CODES_PER_SOURCE`] per source
//!   IP per clock hour; past either, 429 with `Retry-After` (the rest of the hour). A
//!   limit stops only *new* codes: a code already sent still works, and a browser with a
//!   session is never asked for one, so the most anyone can hold a user up is the rest of
//!   the hour.
//! - **Races:** every change to an email's sign-in state is a conditional write on the
//!   revision it was decided from ([`Store::put_sign_in`]); a write that loses re-reads
//!   and decides again. So concurrent requests send one code, every wrong try counts, and
//!   a code opens one session.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{
    Error, Result,
    config::Config,
    mail::{Mailer, Message},
    model::{SignInCode, User},
    signup::{normalise_email, user_record},
    store::Store,
};

/// Digits in a code.
pub const CODE_DIGITS: usize = 6;
/// Wrong codes that void a code.
pub const MAX_WRONG: u32 = 5;
/// A usable code younger than this is not sent again.
pub const RESEND_AFTER_SECONDS: i64 = 60;
/// The limits count per clock hour.
pub const WINDOW_SECONDS: i64 = 3600;
/// Codes sent to one email per hour.
pub const CODES_PER_EMAIL: u32 = 5;
/// Codes sent at the request of one source IP per hour.
pub const CODES_PER_SOURCE: u32 = 30;
/// The subject of the email.
pub const SUBJECT: &str = "Your /dev/chat sign-in code";
/// Conditional writes lost to concurrent requests before giving up.
const ATTEMPTS: usize = 8;

/// What asking for a code did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requested {
    /// A new code went out.
    Sent,
    /// A code sent moments ago still works: nothing new was sent.
    AlreadySent,
}

/// What to do about a request for a code, given the stored state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    AlreadySent,
    TooMany { retry_after: u64 },
    Send { window: i64, sent_in_window: u32 },
}

fn window_of(now: i64) -> i64 {
    now - now.rem_euclid(WINDOW_SECONDS)
}

fn rest_of_window(now: i64) -> u64 {
    (window_of(now) + WINDOW_SECONDS - now).max(1) as u64
}

/// A code that may still open a session.
pub fn is_usable(code: &SignInCode, now: i64) -> bool {
    !code.used && code.wrong < MAX_WRONG && code.expires > now
}

fn decide(stored: Option<&SignInCode>, now: i64) -> Decision {
    let window = window_of(now);
    let Some(stored) = stored else {
        return Decision::Send {
            window,
            sent_in_window: 1,
        };
    };
    if is_usable(stored, now) && stored.sent_at > now - RESEND_AFTER_SECONDS {
        return Decision::AlreadySent;
    }
    let sent = if stored.window == window {
        stored.sent_in_window
    } else {
        0
    };
    if sent >= CODES_PER_EMAIL {
        return Decision::TooMany {
            retry_after: rest_of_window(now),
        };
    }
    Decision::Send {
        window,
        sent_in_window: sent + 1,
    }
}

fn too_many(retry_after: u64) -> Error {
    Error::TooManyRequests {
        message: format!(
            "Too many sign-in codes asked for: try again in {} minutes. A code already sent still works.",
            retry_after.div_ceil(60)
        ),
        retry_after,
    }
}

fn keyed(secret: &str, email: &str, code: &str) -> Result<Hmac<Sha256>> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .map_err(|err| Error::Internal(format!("configuration: SESSION_SECRET: {err}")))?;
    mac.update(format!("sign-in-code.v1.{email}.{code}").as_bytes());
    Ok(mac)
}

/// A fresh code: 6 digits from the operating system's random source (a v4 UUID's 122
/// random bits; the modulo bias is below 2^-100).
fn new_code() -> String {
    let n = uuid::Uuid::new_v4().as_u128() % 10u128.pow(CODE_DIGITS as u32);
    format!("{n:0width$}", width = CODE_DIGITS)
}

/// "10 minutes", "1 minute", "30 seconds".
fn lasts(seconds: i64) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if seconds >= 60 && seconds % 60 == 0 {
        plural(seconds / 60, "minute")
    } else {
        plural(seconds, "second")
    }
}

/// The email that carries a code.
pub fn message(to: &str, code: &str, ttl_seconds: i64) -> Message {
    Message {
        to: to.to_owned(),
        subject: SUBJECT.into(),
        text: format!(
            "Your /dev/chat sign-in code is {code}\n\n\
             Enter it on the sign-in page. It works once, for the next {}.\n\n\
             If this wasn't you, ignore this email: nobody can sign in without the code.\n",
            lasts(ttl_seconds)
        ),
    }
}

/// Sends a sign-in code to the normalised `email` at the request of `source` (the
/// caller's IP, if known), unless one sent moments ago still works. 429 past a limit,
/// 503 when the mail cannot go (nothing is counted then).
pub async fn request_code(
    store: &impl Store,
    mailer: &impl Mailer,
    config: &Config,
    email: &str,
    source: Option<&str>,
    now: i64,
) -> Result<Requested> {
    for _ in 0..ATTEMPTS {
        let stored = store.get_sign_in(email).await?;
        let (window, sent_in_window) = match decide(stored.as_ref(), now) {
            Decision::AlreadySent => return Ok(Requested::AlreadySent),
            Decision::TooMany { retry_after } => return Err(too_many(retry_after)),
            Decision::Send {
                window,
                sent_in_window,
            } => (window, sent_in_window),
        };
        let code = new_code();
        let expires = now + config.sign_in_code_ttl_seconds;
        let rev = stored.as_ref().map_or(1, |s| s.rev + 1);
        let record = SignInCode {
            code_mac: hex::encode(
                keyed(&config.session_secret, email, &code)?
                    .finalize()
                    .into_bytes(),
            ),
            sent_at: now,
            expires,
            wrong: 0,
            used: false,
            window,
            sent_in_window,
            rev,
            ttl: expires.max(window + WINDOW_SECONDS),
        };
        if !store
            .put_sign_in(email, &record, stored.as_ref().map(|s| s.rev))
            .await?
        {
            continue; // Another request changed it first: decide again.
        }
        // This request owns the new code. Undo it if it cannot go out, so the count and
        // the previous code stay as they were.
        let withdrawn = match &stored {
            Some(previous) => SignInCode {
                rev: rev + 1,
                ..previous.clone()
            },
            None => SignInCode {
                used: true,
                window,
                ttl: record.ttl,
                rev: rev + 1,
                ..SignInCode::default()
            },
        };
        let source = source.unwrap_or("unknown");
        if !store.count_source(source, window, CODES_PER_SOURCE).await? {
            store.put_sign_in(email, &withdrawn, Some(rev)).await?;
            tracing::info!(%source, "sign-in codes: the source's hourly limit is reached");
            return Err(too_many(rest_of_window(now)));
        }
        let sent = mailer
            .send(&message(email, &code, config.sign_in_code_ttl_seconds))
            .await;
        if let Err(err) = sent {
            if let Err(undo) = store.put_sign_in(email, &withdrawn, Some(rev)).await {
                tracing::error!(error = %undo, "withdrawing a sign-in code that was not sent");
            }
            return Err(err);
        }
        tracing::info!(sent_in_window, "sign-in code sent");
        return Ok(Requested::Sent);
    }
    Err(Error::Conflict(
        "too many sign-in requests for this email at once: try again".into(),
    ))
}

/// `code` as typed: 6 digits, spaces ignored (400 otherwise).
fn parse_code(raw: &str) -> Result<String> {
    let code: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != CODE_DIGITS || !code.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::BadRequest(format!(
            "the code is the {CODE_DIGITS} digits from the email we sent you"
        )));
    }
    Ok(code)
}

/// Trades the code sent to `raw_email` for its user: 400 for a malformed email or
/// code; 401 for a wrong, used, voided or expired code, or none. A wrong code counts
/// against the code; the right one works once.
pub async fn verify(
    store: &impl Store,
    config: &Config,
    raw_email: &str,
    raw_code: &str,
    now: i64,
) -> Result<User> {
    let email = normalise_email(raw_email)?;
    let code = parse_code(raw_code)?;
    let refused = |why: &str| Err(Error::Unauthorized(format!("{why}: ask for a new code")));
    for _ in 0..ATTEMPTS {
        // Two round trips: the code's record and the email's claim (which names the
        // user) at once, then the code used up and the user read at once.
        let (stored, claim) =
            tokio::try_join!(store.get_sign_in(&email), store.get_email_claim(&email))?;
        let Some(stored) = stored else {
            return refused("there is no sign-in code for this email");
        };
        if stored.used {
            return refused("this code has been used already");
        }
        if stored.wrong >= MAX_WRONG {
            return refused("too many wrong codes were tried");
        }
        if stored.expires <= now {
            return refused("this code has expired");
        }
        let expected = hex::decode(&stored.code_mac)
            .map_err(|err| Error::Internal(format!("a stored sign-in code: {err}")))?;
        let right = keyed(&config.session_secret, &email, &code)?
            .verify_slice(&expected)
            .is_ok();
        let next = SignInCode {
            used: right,
            wrong: stored.wrong + u32::from(!right),
            rev: stored.rev + 1,
            ..stored.clone()
        };
        if !right {
            if !store.put_sign_in(&email, &next, Some(stored.rev)).await? {
                continue; // A concurrent try changed it first: check again.
            }
            let left = MAX_WRONG - next.wrong;
            tracing::info!(left, "a wrong sign-in code");
            return Err(Error::Unauthorized(if left == 0 {
                "wrong code, and that was the last try: ask for a new code".into()
            } else {
                format!(
                    "wrong code: {left} {} left",
                    if left == 1 { "try" } else { "tries" }
                )
            }));
        }
        let customer_id = claim
            .ok_or_else(|| Error::Internal(format!("a sign-in code for {email}, no account")))?;
        let (won, user) = tokio::try_join!(
            store.put_sign_in(&email, &next, Some(stored.rev)),
            user_record(store, &customer_id, &email)
        )?;
        if !won {
            continue; // A concurrent try changed it first: check again.
        }
        tracing::info!(customer = %user.id, "signed in with a code");
        return Ok(user);
    }
    Err(Error::Conflict(
        "too many sign-in attempts for this email at once: try again".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000 + 1_234; // 20 min 34 s into an hour

    fn sent(at: i64, window: i64, count: u32) -> SignInCode {
        SignInCode {
            code_mac: "00".into(),
            sent_at: at,
            expires: at + 600,
            window,
            sent_in_window: count,
            rev: 1,
            ..SignInCode::default()
        }
    }

    #[test]
    fn a_recent_usable_code_is_not_sent_again() {
        let window = window_of(NOW);
        assert_eq!(window % 3600, 0);
        assert_eq!(
            decide(None, NOW),
            Decision::Send {
                window,
                sent_in_window: 1
            }
        );
        let recent = sent(NOW - 30, window, 1);
        assert_eq!(decide(Some(&recent), NOW), Decision::AlreadySent);
        // Older than a minute, or void, used or expired: a new one goes.
        let older = sent(NOW - 61, window, 1);
        let void = SignInCode {
            wrong: MAX_WRONG,
            ..recent.clone()
        };
        let used = SignInCode {
            used: true,
            ..recent.clone()
        };
        let expired = SignInCode {
            expires: NOW,
            ..recent.clone()
        };
        for stored in [older, void, used, expired] {
            assert_eq!(
                decide(Some(&stored), NOW),
                Decision::Send {
                    window,
                    sent_in_window: 2
                },
                "{stored:?}"
            );
        }
    }

    #[test]
    fn five_codes_an_hour_then_429_until_the_hour_ends() {
        let window = window_of(NOW);
        let stored = sent(NOW - 120, window, CODES_PER_EMAIL);
        assert_eq!(
            decide(Some(&stored), NOW),
            Decision::TooMany {
                retry_after: 3600 - 1_234
            }
        );
        // The next hour counts afresh.
        let later = window + WINDOW_SECONDS;
        assert_eq!(
            decide(Some(&stored), later),
            Decision::Send {
                window: later,
                sent_in_window: 1
            }
        );
    }

    #[test]
    fn codes_are_six_digits_and_hashed_per_email() {
        for _ in 0..100 {
            let code = new_code();
            assert_eq!(code.len(), 6);
            assert!(parse_code(&code).is_ok());
        }
        assert_eq!(parse_code(" 123 456 ").unwrap(), "123456");
        for bad in ["", "12345", "1234567", "12a456", "١٢٣٤٥٦"] {
            assert!(
                matches!(parse_code(bad), Err(Error::BadRequest(_))),
                "{bad}"
            );
        }
        let mac =
            |email: &str| hex::encode(keyed("s", email, "123456").unwrap().finalize().into_bytes());
        assert_ne!(mac("a@b.co"), mac("c@d.co"));
        assert!(!mac("a@b.co").contains("123456"));
    }

    #[test]
    fn the_email_is_plain_and_short() {
        let m = message("a@b.co", "042137", 600);
        assert_eq!(m.subject, "Your /dev/chat sign-in code");
        assert!(m.text.contains("042137") && m.text.contains("10 minutes"));
        assert!(m.text.contains("If this wasn't you, ignore this email"));
        assert!(message("a@b.co", "1", 30).text.contains("30 seconds"));
    }
}
