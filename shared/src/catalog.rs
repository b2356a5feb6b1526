//! Provisioning: converge Stripe to what we sell (product, prices, meter, portal
//! configuration) and store the result; and reading the catalog (provisioning it if
//! missing).
//!
//! Converge rules: find each object by its stable handle (product by url — a list,
//! not search, which lags —, prices by lookup key, meter by event name, portal
//! configuration by `metadata.challenge_id` among the latest 100), create what is
//! missing, fix mutable attributes in place, and replace a price whose immutable
//! attributes (amount, currency, interval, product, meter) drifted: a new price takes
//! the lookup key (`transfer_lookup_key`) and the old one is deactivated. A run with
//! nothing drifted makes four reads and no writes.

use crate::{
    Result,
    config::Config,
    model::{Catalog, Price},
    store::Store,
    stripe::{
        MeterSpec, MeterState, PortalSpec, PortalState, PriceSpec, PriceState, ProductSpec,
        ProductState, StripeApi,
    },
};

/// What we sell, defined once: provisioning makes Stripe match it, Checkout applies
/// its trial, and `GET /offerings` shows it (the client reads the trial from there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer {
    pub currency: &'static str,
    /// Both prices bill per this interval (on demand: the month's sessions, in arrears).
    pub interval: &'static str,
    /// The monthly package, in the currency's minor unit.
    pub monthly_amount: i64,
    /// Free days before the first monthly charge.
    pub monthly_trial_days: u32,
    /// One on-demand session, in the currency's minor unit.
    pub ondemand_amount: i64,
    /// Sessions the monthly package includes per period.
    pub monthly_sessions: u32,
}

impl Offer {
    /// The monthly package in words, as every page and the README say it.
    pub fn monthly_text(&self) -> String {
        let sessions = match self.monthly_sessions {
            1 => "One pair-coding session".to_owned(),
            n => format!("{n} pair-coding sessions"),
        };
        let trial = match self.monthly_trial_days {
            0 => String::new(),
            1 => ", with a 1-day free trial".into(),
            days => format!(", with a {days}-day free trial"),
        };
        format!(
            "{sessions} a {} for {}{trial}.",
            self.interval,
            money(self.monthly_amount, self.currency)
        )
    }

    /// The on-demand package in words.
    pub fn ondemand_text(&self) -> String {
        format!(
            "{} per session, billed at the end of each {}.",
            money(self.ondemand_amount, self.currency),
            self.interval
        )
    }
}

/// An amount in a currency's minor unit, written out: `$60.00`, `12.50 EUR`.
pub fn money(amount: i64, currency: &str) -> String {
    let units = format!("{}.{:02}", amount / 100, (amount % 100).abs());
    match currency {
        "usd" => format!("${units}"),
        other => format!("{units} {}", other.to_uppercase()),
    }
}

pub const OFFER: Offer = Offer {
    currency: "usd",
    interval: "month",
    monthly_amount: 6000,
    monthly_trial_days: 3,
    ondemand_amount: 8000,
    monthly_sessions: 1,
};

pub const PRODUCT_NAME: &str = "/dev/chat Pair Coding";
pub const UNIT_LABEL: &str = "session";
pub const MONTHLY_NICKNAME: &str = "/dev/chat Pair Coding Monthly";
pub const ONDEMAND_NICKNAME: &str = "/dev/chat Pair Coding On-Demand";
pub const METER_DISPLAY_NAME: &str = "/dev/chat pair coding sessions";
pub const PORTAL_HEADLINE: &str = "/dev/chat";

pub fn product_spec(config: &Config) -> ProductSpec {
    ProductSpec {
        name: PRODUCT_NAME.into(),
        url: format!("https://devchat.stripe/paircode/{}", config.challenge_id),
        unit_label: UNIT_LABEL.into(),
        challenge_id: config.challenge_id.clone(),
    }
}

pub fn meter_spec(config: &Config) -> MeterSpec {
    MeterSpec {
        event_name: format!("devchat_paircode_session_{}", config.challenge_id),
        display_name: METER_DISPLAY_NAME.into(),
    }
}

pub fn monthly_price_spec(config: &Config, product: &str) -> PriceSpec {
    PriceSpec {
        product: product.into(),
        lookup_key: format!("devchat_paircode_monthly_{}", config.challenge_id),
        nickname: MONTHLY_NICKNAME.into(),
        currency: OFFER.currency.into(),
        unit_amount: OFFER.monthly_amount,
        interval: OFFER.interval.into(),
        meter: None,
        challenge_id: config.challenge_id.clone(),
    }
}

pub fn ondemand_price_spec(config: &Config, product: &str, meter: &str) -> PriceSpec {
    PriceSpec {
        product: product.into(),
        lookup_key: format!("devchat_paircode_ondemand_{}", config.challenge_id),
        nickname: ONDEMAND_NICKNAME.into(),
        currency: OFFER.currency.into(),
        unit_amount: OFFER.ondemand_amount,
        interval: OFFER.interval.into(),
        meter: Some(meter.into()),
        challenge_id: config.challenge_id.clone(),
    }
}

pub fn portal_spec(config: &Config) -> PortalSpec {
    PortalSpec {
        headline: PORTAL_HEADLINE.into(),
        default_return_url: config.dashboard_url(),
        challenge_id: config.challenge_id.clone(),
    }
}

fn product_drifted(state: &ProductState, spec: &ProductSpec) -> bool {
    state.name != spec.name
        || state.unit_label.as_deref() != Some(&spec.unit_label)
        || state.challenge_id.as_deref() != Some(&spec.challenge_id)
        || !state.active
}

/// What to do about an existing price that holds our lookup key.
#[derive(Debug, PartialEq, Eq)]
pub enum PricePlan {
    Keep,
    /// An immutable attribute drifted: create a new price that takes the lookup key,
    /// then deactivate this one.
    Replace {
        old: String,
    },
    /// Fix mutable attributes in place (each `Some` is a change).
    Fix {
        nickname: Option<String>,
        challenge_id: Option<String>,
        reactivate: bool,
    },
}

pub fn price_plan(state: &PriceState, spec: &PriceSpec) -> PricePlan {
    let immutable_drift = state.currency != spec.currency
        || state.unit_amount != Some(spec.unit_amount)
        || state.interval.as_deref() != Some(&spec.interval)
        || state.product != spec.product
        || state.meter != spec.meter;
    if immutable_drift {
        return PricePlan::Replace {
            old: state.id.clone(),
        };
    }
    let nickname =
        (state.nickname.as_deref() != Some(&spec.nickname)).then(|| spec.nickname.clone());
    let challenge_id = (state.challenge_id.as_deref() != Some(&spec.challenge_id))
        .then(|| spec.challenge_id.clone());
    if nickname.is_none() && challenge_id.is_none() && state.active {
        PricePlan::Keep
    } else {
        PricePlan::Fix {
            nickname,
            challenge_id,
            reactivate: !state.active,
        }
    }
}

fn portal_drifted(state: &PortalState, spec: &PortalSpec) -> bool {
    !(state.active
        && state.headline.as_deref() == Some(&spec.headline)
        && state.default_return_url.as_deref() == Some(&spec.default_return_url)
        && state.payment_method_update
        && state.invoice_history
        && state.subscription_cancel
        && state.cancel_mode_immediately)
}

/// Makes Stripe match the catalog, stores the result, and returns it.
pub async fn provision(
    stripe: &impl StripeApi,
    store: &impl Store,
    config: &Config,
) -> Result<Catalog> {
    // The four reads (and what each creates or fixes) depend on nothing but the specs,
    // so they run at once; only the prices need the product's and the meter's ids.
    let meter_spec = meter_spec(config);
    let (product_spec, portal_spec) = (product_spec(config), portal_spec(config));
    let (monthly_key, ondemand_key) = (
        monthly_price_spec(config, "").lookup_key,
        ondemand_price_spec(config, "", "").lookup_key,
    );
    let lookup_keys = [monthly_key.as_str(), ondemand_key.as_str()];
    let (product, meter, portal, existing) = tokio::try_join!(
        converge_product(stripe, &product_spec),
        converge_meter(stripe, &meter_spec),
        converge_portal(stripe, &portal_spec),
        stripe.find_prices_by_lookup_keys(&lookup_keys),
    )?;
    let monthly_spec = monthly_price_spec(config, &product.id);
    let ondemand_spec = ondemand_price_spec(config, &product.id, &meter.id);
    let find = |key: &str| {
        existing
            .iter()
            .find(|p| p.lookup_key.as_deref() == Some(key))
    };
    let (monthly, ondemand) = tokio::try_join!(
        converge_price(stripe, find(&monthly_spec.lookup_key), &monthly_spec),
        converge_price(stripe, find(&ondemand_spec.lookup_key), &ondemand_spec),
    )?;

    let catalog = Catalog {
        product_id: product.id,
        product_name: product.name,
        monthly_price: price_of(&monthly_spec, monthly.id),
        ondemand_price: price_of(&ondemand_spec, ondemand.id),
        meter_id: meter.id,
        meter_event_name: meter_spec.event_name,
        portal_configuration_id: portal.id,
    };
    store.put_catalog(&catalog).await?;
    tracing::info!(product = %catalog.product_id, monthly = %catalog.monthly_price.id, ondemand = %catalog.ondemand_price.id, "catalog provisioned");
    Ok(catalog)
}

/// The stored catalog; provisions it first if it is missing (or was provisioned for
/// another challenge).
pub async fn load(stripe: &impl StripeApi, store: &impl Store, config: &Config) -> Result<Catalog> {
    let expected_key = monthly_price_spec(config, "").lookup_key;
    match store.get_catalog().await? {
        Some(catalog) if catalog.monthly_price.lookup_key == expected_key => Ok(catalog),
        _ => provision(stripe, store, config).await,
    }
}

fn price_of(spec: &PriceSpec, id: String) -> Price {
    Price {
        id,
        nickname: spec.nickname.clone(),
        currency: spec.currency.clone(),
        unit_amount: spec.unit_amount,
        lookup_key: spec.lookup_key.clone(),
    }
}

async fn converge_product(stripe: &impl StripeApi, spec: &ProductSpec) -> Result<ProductState> {
    match stripe.find_product_by_url(&spec.url).await? {
        None => {
            tracing::info!(url = %spec.url, "creating the product");
            stripe.create_product(spec).await
        }
        Some(state) if product_drifted(&state, spec) => {
            tracing::info!(product = %state.id, "updating the product");
            stripe.update_product(&state.id, spec).await
        }
        Some(state) => Ok(state),
    }
}

async fn converge_meter(stripe: &impl StripeApi, spec: &MeterSpec) -> Result<MeterState> {
    match stripe.find_meter_by_event_name(&spec.event_name).await? {
        None => {
            tracing::info!(event_name = %spec.event_name, "creating the meter");
            stripe.create_meter(spec).await
        }
        Some(state) if state.display_name != spec.display_name || !state.active => {
            tracing::info!(meter = %state.id, "updating the meter");
            stripe.update_meter(&state.id, spec, !state.active).await
        }
        Some(state) => Ok(state),
    }
}

async fn converge_price(
    stripe: &impl StripeApi,
    state: Option<&PriceState>,
    spec: &PriceSpec,
) -> Result<PriceState> {
    let Some(state) = state else {
        tracing::info!(lookup_key = %spec.lookup_key, "creating the price");
        return stripe.create_price(spec, false).await;
    };
    match price_plan(state, spec) {
        PricePlan::Keep => Ok(state.clone()),
        PricePlan::Replace { old } => {
            tracing::info!(lookup_key = %spec.lookup_key, old = %old, "replacing a drifted price");
            let new = stripe.create_price(spec, true).await?;
            stripe.update_price(&old, None, None, Some(false)).await?;
            Ok(new)
        }
        PricePlan::Fix {
            nickname,
            challenge_id,
            reactivate,
        } => {
            tracing::info!(lookup_key = %spec.lookup_key, "fixing the price in place");
            stripe
                .update_price(
                    &state.id,
                    nickname.as_deref(),
                    challenge_id.as_deref(),
                    reactivate.then_some(true),
                )
                .await
        }
    }
}

async fn converge_portal(stripe: &impl StripeApi, spec: &PortalSpec) -> Result<PortalState> {
    match stripe.find_portal_configuration(&spec.challenge_id).await? {
        None => {
            tracing::info!("creating the portal configuration");
            stripe.create_portal_configuration(spec).await
        }
        Some(state) if portal_drifted(&state, spec) => {
            tracing::info!(configuration = %state.id, "updating the portal configuration");
            stripe.update_portal_configuration(&state.id, spec).await
        }
        Some(state) => Ok(state),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offer_in_words() {
        assert_eq!(
            OFFER.monthly_text(),
            "One pair-coding session a month for $60.00, with a 3-day free trial."
        );
        assert_eq!(
            OFFER.ondemand_text(),
            "$80.00 per session, billed at the end of each month."
        );
        assert_eq!(money(24_000, "usd"), "$240.00");
        assert_eq!(money(1_250, "eur"), "12.50 EUR");
    }

    fn config() -> Config {
        Config::example()
    }

    fn state_of(spec: &PriceSpec) -> PriceState {
        PriceState {
            id: "price_old".into(),
            product: spec.product.clone(),
            lookup_key: Some(spec.lookup_key.clone()),
            nickname: Some(spec.nickname.clone()),
            currency: spec.currency.clone(),
            unit_amount: Some(spec.unit_amount),
            interval: Some(spec.interval.clone()),
            meter: spec.meter.clone(),
            active: true,
            challenge_id: Some(spec.challenge_id.clone()),
        }
    }

    #[test]
    fn names_follow_the_brief() {
        let c = config();
        assert_eq!(product_spec(&c).url, "https://devchat.stripe/paircode/c1");
        assert_eq!(
            monthly_price_spec(&c, "prod").lookup_key,
            "devchat_paircode_monthly_c1"
        );
        assert_eq!(
            ondemand_price_spec(&c, "prod", "mtr").lookup_key,
            "devchat_paircode_ondemand_c1"
        );
        assert_eq!(meter_spec(&c).event_name, "devchat_paircode_session_c1");
        assert_eq!(
            portal_spec(&c).default_return_url,
            "http://app.test/dashboard"
        );
    }

    #[test]
    fn a_matching_price_is_kept() {
        let spec = monthly_price_spec(&config(), "prod_1");
        assert_eq!(price_plan(&state_of(&spec), &spec), PricePlan::Keep);
    }

    #[test]
    fn immutable_drift_replaces_the_price() {
        let spec = ondemand_price_spec(&config(), "prod_1", "mtr_1");
        let drifts: [fn(&mut PriceState); 5] = [
            |s| s.unit_amount = Some(1),
            |s| s.currency = "eur".into(),
            |s| s.interval = Some("year".into()),
            |s| s.product = "prod_other".into(),
            |s| s.meter = None,
        ];
        for drift in drifts {
            let mut state = state_of(&spec);
            drift(&mut state);
            assert_eq!(
                price_plan(&state, &spec),
                PricePlan::Replace {
                    old: "price_old".into()
                }
            );
        }
    }

    #[test]
    fn mutable_drift_is_fixed_in_place() {
        let spec = monthly_price_spec(&config(), "prod_1");
        let mut state = state_of(&spec);
        state.nickname = Some("old name".into());
        state.active = false;
        assert_eq!(
            price_plan(&state, &spec),
            PricePlan::Fix {
                nickname: Some(spec.nickname.clone()),
                challenge_id: None,
                reactivate: true
            }
        );
    }
}
