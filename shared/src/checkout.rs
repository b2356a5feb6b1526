//! Starting a subscription through Stripe Checkout, and recording its result when the
//! customer comes back (GET /users?session_id=).

use crate::{
    Error, Result, catalog,
    config::Config,
    model::{SubscriptionType, User},
    store::Store,
    stripe::{CheckoutSpec, CheckoutState, StripeApi},
    sync,
};

/// A Checkout Session (subscription mode) for `user` and one of our prices; its URL.
/// 400 for a price that is not ours, 409 for a user who already has a live subscription.
pub async fn start(
    stripe: &impl StripeApi,
    store: &impl Store,
    config: &Config,
    user: &User,
    price: &str,
) -> Result<String> {
    let catalog = catalog::load(stripe, store, config).await?;
    let kind = catalog
        .offer_of(price)
        .ok_or_else(|| Error::BadRequest(format!("{price:?} is not one of our prices")))?;
    if let Some(subscription) = user.subscription.as_ref().filter(|s| s.is_live()) {
        return Err(Error::Conflict(format!(
            "you already have a {} subscription ({}); manage it from your dashboard",
            kind_name(subscription.kind),
            subscription.status
        )));
    }
    let spec = CheckoutSpec {
        customer: user.id.clone(),
        price: price.to_owned(),
        kind,
        trial_days: (kind == SubscriptionType::Monthly)
            .then_some(catalog::OFFER.monthly_trial_days),
        success_url: format!(
            "{}?session_id={{CHECKOUT_SESSION_ID}}",
            config.dashboard_url()
        ),
        cancel_url: config.dashboard_url(),
        challenge_id: config.challenge_id.clone(),
    };
    stripe.create_checkout_session(&spec).await
}

fn kind_name(kind: SubscriptionType) -> &'static str {
    match kind {
        SubscriptionType::Monthly => "monthly",
        SubscriptionType::Ondemand => "on-demand",
    }
}

/// The user, after recording the subscription of Checkout Session `session_id` as
/// `retrieved` from Stripe (the caller reads it beside the user, so the two round trips
/// overlap). It must be theirs: 403 otherwise; 400 if there is no such session. A
/// session not completed yet leaves the user as is.
pub async fn complete(
    stripe: &impl StripeApi,
    store: &impl Store,
    config: &Config,
    user: User,
    session_id: &str,
    retrieved: Option<CheckoutState>,
) -> Result<User> {
    let session = retrieved
        .ok_or_else(|| Error::BadRequest(format!("unknown Checkout Session {session_id:?}")))?;
    if session.customer.as_deref() != Some(user.id.as_str()) {
        return Err(Error::Forbidden(
            "this Checkout Session belongs to another customer".into(),
        ));
    }
    let Some(state) = session.subscription else {
        return Ok(user);
    };
    let catalog = catalog::load(stripe, store, config).await?;
    let Some(kind) = state
        .prices
        .iter()
        .find_map(|price| catalog.offer_of(price))
    else {
        tracing::warn!(subscription = %state.id, "Checkout Session for a price that is not ours");
        return Ok(user);
    };
    let subscription = state.id.clone();
    match sync::record_read(store, &user, state, kind).await? {
        // What we wrote is the user's state now: no need to read it back.
        sync::Write::Written(recorded) => Ok(User {
            subscription: Some(recorded),
            ..user
        }),
        sync::Write::Kept => Ok(user),
        sync::Write::Refused => {
            tracing::info!(%subscription, "a newer state was stored meanwhile");
            store.require_user(&user.id).await
        }
    }
}
