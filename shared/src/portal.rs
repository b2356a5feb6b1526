//! Opening the Stripe Customer Portal for a user.

use crate::{
    Result,
    model::{Catalog, User},
    stripe::StripeApi,
};

/// A Customer Portal session: where to send the user, and the configuration it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalSession {
    pub url: String,
    pub configuration: String,
}

/// A portal session for the user's customer with our portal configuration, coming
/// back to `return_url` (`{APP_URL}/dashboard`).
pub async fn open(
    stripe: &impl StripeApi,
    catalog: &Catalog,
    user: &User,
    return_url: &str,
) -> Result<PortalSession> {
    let configuration = catalog.portal_configuration_id.clone();
    let url = stripe
        .create_portal_session(&user.id, &configuration, return_url)
        .await?;
    Ok(PortalSession { url, configuration })
}
