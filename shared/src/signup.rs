//! Sign-up: one user (and one Stripe Customer) per normalised email. Only the sign-up
//! that creates the user gets it; an email already claimed is [`SignedUp::Known`], and
//! its owner signs in with a code ([`crate::sign_in`]).
//!
//! The email claim (`EMAIL#…`) is written conditionally, so concurrent sign-ups agree
//! on one customer; and the Customer is created with an idempotency key derived from
//! the normalised email, so concurrent or repeated attempts (including one whose
//! storage write failed after Stripe created the Customer) get the same Customer.

use crate::{
    Error, Result,
    config::Config,
    model::User,
    store::Store,
    stripe::{StripeApi, email_idempotency_key},
};

/// Trimmed and lowercased; 400 unless it looks like an address
/// (`local@domain.tld`, no spaces, no markup characters, at most 254 characters).
pub fn normalise_email(raw: &str) -> Result<String> {
    let email = raw.trim().to_lowercase();
    let invalid = |why: &str| Err(Error::BadRequest(format!("invalid email address: {why}")));
    if email.is_empty() {
        return invalid("it is empty");
    }
    if email.chars().count() > 254 {
        return invalid("it is longer than 254 characters");
    }
    if email
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || "<>()[]\\,;:\"'`".contains(c))
    {
        return invalid("it contains spaces or characters an address cannot have");
    }
    let Some((local, domain)) = email.split_once('@') else {
        return invalid("it has no @");
    };
    if local.is_empty() || local.chars().count() > 64 || domain.contains('@') {
        return invalid("the part before the @ is missing or too long, or there are several @");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return invalid(
            "the part before the @ cannot start or end with a dot or have two in a row",
        );
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2
        || labels
            .iter()
            .any(|label| label.is_empty() || label.starts_with('-') || label.ends_with('-'))
    {
        return invalid("the domain is not valid");
    }
    Ok(email)
}

/// What a sign-up found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedUp {
    /// A new user, made by this call: nothing to take over, so it may have a session.
    New(User),
    /// The email was already claimed (before, or by a concurrent sign-up that won): its
    /// owner proves it with a code ([`crate::sign_in`]) or a session.
    Known { customer_id: String, email: String },
}

/// Signs up `raw_email`: a new user with a new Stripe Customer, or the account that
/// already holds that email.
pub async fn sign_up(
    stripe: &impl StripeApi,
    store: &impl Store,
    config: &Config,
    raw_email: &str,
) -> Result<SignedUp> {
    let email = normalise_email(raw_email)?;
    if let Some(customer_id) = store.get_email_claim(&email).await? {
        return Ok(SignedUp::Known { customer_id, email });
    }
    let key = email_idempotency_key(&config.challenge_id, &email);
    let customer_id = stripe
        .create_customer(&email, &config.challenge_id, &key)
        .await?;
    let user = User {
        id: customer_id.clone(),
        email: email.clone(),
        subscription: None,
        session_epoch: 0,
        outbox_adds: 0,
        sessions: Default::default(),
        invoices: Default::default(),
    };
    // The claim and the user record are written at once (one round trip, not two):
    // concurrent sign-ups of one email get the same Customer (same idempotency key),
    // so the record written here is the holder's in any race that matters.
    let (claim, written) = tokio::try_join!(
        store.claim_email(&email, &customer_id),
        store.put_user(&user)
    )?;
    if !claim.ours {
        // Concurrent sign-ups share one Customer (one idempotency key); one claims it.
        tracing::info!(customer = %claim.customer_id, "another sign-up claimed this email first");
        return Ok(SignedUp::Known {
            customer_id: claim.customer_id,
            email,
        });
    }
    tracing::info!(customer = %customer_id, "signed up");
    if written {
        return Ok(SignedUp::New(user));
    }
    // An earlier attempt wrote the record (and may have stored a subscription since).
    Ok(SignedUp::New(
        store.get_user(&customer_id).await?.unwrap_or(user),
    ))
}

/// The user record for a claimed email, written now if the sign-up that claimed it
/// did not get that far.
pub(crate) async fn user_record(
    store: &impl Store,
    customer_id: &str,
    email: &str,
) -> Result<User> {
    if let Some(user) = store.get_user(customer_id).await? {
        return Ok(user);
    }
    let user = User {
        id: customer_id.to_owned(),
        email: email.to_owned(),
        subscription: None,
        session_epoch: 0,
        outbox_adds: 0,
        sessions: Default::default(),
        invoices: Default::default(),
    };
    if store.put_user(&user).await? {
        return Ok(user);
    }
    // A concurrent sign-up wrote it between our read and our write.
    Ok(store.get_user(customer_id).await?.unwrap_or(user))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_odd_but_valid_addresses() {
        for (raw, expected) in [
            ("  Ada@Example.COM ", "ada@example.com"),
            ("ada+billing@example.com", "ada+billing@example.com"),
            ("ÉLODIE@exemple.fr", "élodie@exemple.fr"),
            ("a@b.co", "a@b.co"),
        ] {
            assert_eq!(normalise_email(raw).unwrap(), expected);
        }
    }

    #[test]
    fn rejects_what_is_not_an_address() {
        for raw in [
            "",
            "   ",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "a da@example.com",
            "<script>@example.com",
            "ada@example..com",
            "x'; DROP TABLE users;--@example.com",
            "../../etc/passwd@example.com",
            ".ada@example.com",
            "ada.@example.com",
        ] {
            let err = normalise_email(raw).unwrap_err();
            assert!(matches!(err, Error::BadRequest(_)), "{raw:?}");
        }
        assert!(normalise_email(&format!("{}@example.com", "a".repeat(250))).is_err());
    }
}
