//! Sessions: `POST /users` sets a signed cookie naming the user, and every
//! user-scoped route acts only when that cookie names the `user_id` it was given
//! ([`crate::api::session_user`]).
//!
//! The cookie is `devchat_session={user id}.{expires}.{signature}`: HMAC-SHA256 with
//! `SESSION_SECRET` over `v1.{user id}.{expires}` (unix seconds), checked in constant
//! time. It is `HttpOnly` (no script reads it), `SameSite=Lax` (not sent on cross-site
//! POSTs), `Path=/`, expires after [`SESSION_SECONDS`], and is `Secure` when the request
//! came over https (API Gateway's `X-Forwarded-Proto`).
//!
//! Email sign-in *identifies* a user, it does not *authenticate* one (the product
//! brief asks for no passwords): the session binds the browser to the user it signed
//! up or signed in as, so a customer id learnt elsewhere is not enough to act for
//! that customer from another browser. See docs/reliability.md for a real identity
//! provider.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{Error, Result};

/// The cookie's name.
pub const COOKIE: &str = "devchat_session";
/// How long a session lasts: 30 days.
pub const SESSION_SECONDS: i64 = 30 * 24 * 3600;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &str, user_id: &str, expires: i64) -> Result<HmacSha256> {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret.as_bytes())
        .map_err(|err| Error::Internal(format!("configuration: SESSION_SECRET: {err}")))?;
    mac.update(format!("v1.{user_id}.{expires}").as_bytes());
    Ok(mac)
}

/// The `Set-Cookie` value that opens a session for `user_id` at `now`.
pub fn cookie(secret: &str, user_id: &str, now: i64, secure: bool) -> Result<String> {
    let expires = now + SESSION_SECONDS;
    let signature = hex::encode(mac(secret, user_id, expires)?.finalize().into_bytes());
    Ok(format!(
        "{COOKIE}={user_id}.{expires}.{signature}; Path=/; Max-Age={SESSION_SECONDS}; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    ))
}

/// The user a `Cookie` header's session names, if it is ours, intact and not expired
/// at `now`: 401 otherwise.
pub fn user(secret: &str, cookie_header: Option<&str>, now: i64) -> Result<String> {
    let value = cookie_header
        .into_iter()
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
        .ok_or_else(|| Error::Unauthorized("no session: sign in first".into()))?;
    let invalid = || Error::Unauthorized("your session is not valid: sign in again".into());
    let mut parts = value.rsplitn(3, '.');
    let (Some(signature), Some(expires), Some(user_id)) =
        (parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    let expires: i64 = expires.parse().map_err(|_| invalid())?;
    let signature = hex::decode(signature).map_err(|_| invalid())?;
    mac(secret, user_id, expires)?
        .verify_slice(&signature)
        .map_err(|_| invalid())?;
    if expires <= now {
        return Err(Error::Unauthorized(
            "your session has expired: sign in again".into(),
        ));
    }
    Ok(user_id.to_owned())
}

/// Unix seconds now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "a-session-secret-for-tests-only";

    fn value(set_cookie: &str) -> String {
        set_cookie.split(';').next().unwrap().to_owned()
    }

    #[test]
    fn a_session_names_its_user() {
        let set = cookie(SECRET, "cus_1", 1_000, false).unwrap();
        assert!(
            set.contains("HttpOnly")
                && set.contains("SameSite=Lax")
                && set.contains("Max-Age=2592000")
        );
        assert!(!set.contains("Secure"));
        assert!(
            cookie(SECRET, "cus_1", 1_000, true)
                .unwrap()
                .ends_with("; Secure")
        );
        let header = format!("theme=dark; {}; other=1", value(&set));
        assert_eq!(user(SECRET, Some(&header), 2_000).unwrap(), "cus_1");
    }

    #[test]
    fn no_forged_tampered_or_expired_session_passes() {
        let good = value(&cookie(SECRET, "cus_1", 1_000, false).unwrap());
        let forged = value(&cookie("another-secret", "cus_1", 1_000, false).unwrap());
        let swapped = good.replace("cus_1", "cus_2");
        let extended = {
            let (rest, sig) = good.rsplit_once('.').unwrap();
            let (user, _) = rest.rsplit_once('.').unwrap();
            format!("{user}.{}.{sig}", i64::MAX)
        };
        for (header, why) in [
            (None, "no session"),
            (Some("other=1".to_owned()), "no session"),
            (Some(forged), "not valid"),
            (Some(swapped), "not valid"),
            (Some(extended), "not valid"),
            (Some(format!("{COOKIE}=garbage")), "not valid"),
            (Some(format!("{COOKIE}=cus_1.x.zz")), "not valid"),
            (Some(format!("{COOKIE}=")), "not valid"),
        ] {
            let err = user(SECRET, header.as_deref(), 2_000).unwrap_err();
            assert!(matches!(err, Error::Unauthorized(_)), "{header:?}");
            assert!(err.to_string().contains(why), "{header:?}: {err}");
        }
        let err = user(SECRET, Some(&good), 1_000 + SESSION_SECONDS).unwrap_err();
        assert!(err.to_string().contains("expired"), "{err}");
    }
}
