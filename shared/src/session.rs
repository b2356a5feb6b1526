//! Sessions: a signed cookie naming the user, their session epoch and an expiry.
//! Every user-scoped route acts only when that cookie names the `user_id` it was given
//! and its epoch is the one in the user's record ([`crate::api::session_user`]).
//!
//! The cookie's value is `{user id}.{epoch}.{expires}.{signature}`: HMAC-SHA256 with
//! `SESSION_SECRET` over `v2.{user id}.{epoch}.{expires}` (unix seconds), checked in
//! constant time. Why an epoch: the cookie alone cannot be revoked, but the user record
//! can say which cookies still count. "Sign out everywhere" adds one to the record's
//! epoch, and every cookie minted before stops working at once; routes read the user
//! record anyway, so the check costs no extra call.
//!
//! It is `HttpOnly` (no script reads it), `SameSite=Lax` (not sent on cross-site POSTs),
//! `Path=/` and expires after [`SESSION_SECONDS`]. Over https (API Gateway's
//! `X-Forwarded-Proto`) it is `Secure` and named [`HOST_COOKIE`]: the `__Host-` prefix
//! makes browsers refuse it unless it is `Secure`, host-only and `Path=/`, so a sibling
//! subdomain cannot plant one. Locally over http it is [`COOKIE`]. Only the name of the
//! request's scheme is read. A new cookie is minted at every sign-in, so a session is
//! never fixated.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{Error, Result};

/// The cookie's name over http (local).
pub const COOKIE: &str = "devchat_session";
/// The cookie's name over https.
pub const HOST_COOKIE: &str = "__Host-devchat_session";
/// How long a session lasts: 30 days.
pub const SESSION_SECONDS: i64 = 30 * 24 * 3600;

type HmacSha256 = Hmac<Sha256>;

/// What a valid cookie says: who, and at which of their session epochs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user_id: String,
    pub epoch: u64,
}

fn mac(secret: &str, user_id: &str, epoch: u64, expires: i64) -> Result<HmacSha256> {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret.as_bytes())
        .map_err(|err| Error::Internal(format!("configuration: SESSION_SECRET: {err}")))?;
    mac.update(format!("v2.{user_id}.{epoch}.{expires}").as_bytes());
    Ok(mac)
}

/// The cookie's name for a request over https (`secure`) or http.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure { HOST_COOKIE } else { COOKIE }
}

fn attributes(secure: bool) -> &'static str {
    if secure {
        "; Path=/; HttpOnly; SameSite=Lax; Secure"
    } else {
        "; Path=/; HttpOnly; SameSite=Lax"
    }
}

/// The `Set-Cookie` value that opens a session for `user_id` at `epoch`, at `now`.
pub fn cookie(secret: &str, user_id: &str, epoch: u64, now: i64, secure: bool) -> Result<String> {
    let expires = now + SESSION_SECONDS;
    let signature = hex::encode(
        mac(secret, user_id, epoch, expires)?
            .finalize()
            .into_bytes(),
    );
    Ok(format!(
        "{}={user_id}.{epoch}.{expires}.{signature}; Max-Age={SESSION_SECONDS}{}",
        cookie_name(secure),
        attributes(secure)
    ))
}

/// The `Set-Cookie` value that deletes the session cookie.
pub fn clear(secure: bool) -> String {
    format!("{}=; Max-Age=0{}", cookie_name(secure), attributes(secure))
}

/// The session a `Cookie` header carries under the name for the request's scheme, if it
/// is ours, intact and not expired at `now`: 401 otherwise. Whether its epoch is still
/// the user's is for the caller, who reads the user record.
pub fn read(secret: &str, cookie_header: Option<&str>, secure: bool, now: i64) -> Result<Session> {
    let name = cookie_name(secure);
    let value = cookie_header
        .into_iter()
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(found, value)| *found == name && !value.is_empty())
        .map(|(_, value)| value)
        .ok_or_else(|| Error::Unauthorized("no session: sign in first".into()))?;
    let invalid = || Error::Unauthorized("your session is not valid: sign in again".into());
    let mut parts = value.rsplitn(4, '.');
    let (Some(signature), Some(expires), Some(epoch), Some(user_id)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    let expires: i64 = expires.parse().map_err(|_| invalid())?;
    let epoch: u64 = epoch.parse().map_err(|_| invalid())?;
    let signature = hex::decode(signature).map_err(|_| invalid())?;
    mac(secret, user_id, epoch, expires)?
        .verify_slice(&signature)
        .map_err(|_| invalid())?;
    if expires <= now {
        return Err(Error::Unauthorized(
            "your session has expired: sign in again".into(),
        ));
    }
    Ok(Session {
        user_id: user_id.to_owned(),
        epoch,
    })
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
    fn a_session_names_its_user_and_epoch() {
        let set = cookie(SECRET, "cus_1", 3, 1_000, false).unwrap();
        assert!(set.starts_with("devchat_session=cus_1.3."), "{set}");
        assert!(
            set.contains("HttpOnly")
                && set.contains("SameSite=Lax")
                && set.contains("Path=/")
                && set.contains("Max-Age=2592000")
        );
        assert!(!set.contains("Secure"));
        let header = format!("theme=dark; {}; other=1", value(&set));
        let session = read(SECRET, Some(&header), false, 2_000).unwrap();
        assert_eq!(
            session,
            Session {
                user_id: "cus_1".into(),
                epoch: 3
            }
        );
    }

    #[test]
    fn over_https_the_cookie_is_host_prefixed_and_secure() {
        let set = cookie(SECRET, "cus_1", 0, 1_000, true).unwrap();
        assert!(set.starts_with("__Host-devchat_session="), "{set}");
        assert!(
            set.ends_with("; Secure") && !set.contains("Domain"),
            "{set}"
        );
        let header = value(&set);
        assert_eq!(
            read(SECRET, Some(&header), true, 2_000).unwrap().user_id,
            "cus_1"
        );
        // Each scheme reads only its own name.
        assert!(read(SECRET, Some(&header), false, 2_000).is_err());
        let plain = value(&cookie(SECRET, "cus_1", 0, 1_000, false).unwrap());
        assert!(read(SECRET, Some(&plain), true, 2_000).is_err());
        assert!(clear(true).starts_with("__Host-devchat_session=; Max-Age=0"));
        assert!(clear(false).starts_with("devchat_session=; Max-Age=0"));
    }

    #[test]
    fn no_forged_tampered_or_expired_session_passes() {
        let good = value(&cookie(SECRET, "cus_1", 0, 1_000, false).unwrap());
        let forged = value(&cookie("another-secret", "cus_1", 0, 1_000, false).unwrap());
        let swapped = good.replace("cus_1", "cus_2");
        let (rest, sig) = good.rsplit_once('.').unwrap();
        let (rest, _expires) = rest.rsplit_once('.').unwrap();
        let (user, _epoch) = rest.rsplit_once('.').unwrap();
        let extended = format!("{user}.0.{}.{sig}", i64::MAX);
        let other_epoch = format!("{user}.1.{}.{sig}", 1_000 + SESSION_SECONDS);
        for (header, why) in [
            (None, "no session"),
            (Some("other=1".to_owned()), "no session"),
            (Some(format!("{COOKIE}=")), "no session"),
            (Some(forged), "not valid"),
            (Some(swapped), "not valid"),
            (Some(extended), "not valid"),
            (Some(other_epoch), "not valid"),
            (Some(format!("{COOKIE}=garbage")), "not valid"),
            (Some(format!("{COOKIE}=cus_1.x.1.zz")), "not valid"),
            (Some(format!("{COOKIE}=cus_1.-1.1.zz")), "not valid"),
        ] {
            let err = read(SECRET, header.as_deref(), false, 2_000).unwrap_err();
            assert!(matches!(err, Error::Unauthorized(_)), "{header:?}");
            assert!(err.to_string().contains(why), "{header:?}: {err}");
        }
        let err = read(SECRET, Some(&good), false, 1_000 + SESSION_SECONDS).unwrap_err();
        assert!(err.to_string().contains("expired"), "{err}");
    }
}
