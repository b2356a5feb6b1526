//! What we send Stripe (parameter trees) and read back (only the fields we use), and
//! how an answer becomes one of [`crate::stripe`]'s domain values.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::super::*;
use crate::Error;

#[derive(Deserialize)]
pub(super) struct List<T> {
    pub(super) data: Vec<T>,
}

pub(super) type Metadata = Option<HashMap<String, String>>;

pub(super) fn challenge_of(metadata: &Metadata) -> Option<String> {
    metadata
        .as_ref()
        .and_then(|m| m.get("challenge_id").cloned())
}

#[derive(Deserialize)]
pub(super) struct Product {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) active: bool,
    pub(super) url: Option<String>,
    pub(super) unit_label: Option<String>,
    pub(super) metadata: Metadata,
}

impl From<Product> for ProductState {
    fn from(p: Product) -> Self {
        ProductState {
            challenge_id: challenge_of(&p.metadata),
            id: p.id,
            name: p.name,
            active: p.active,
            url: p.url,
            unit_label: p.unit_label,
        }
    }
}

/// An id, whether Stripe sent it alone or as the expanded object.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum IdOr<T> {
    Id(String),
    Object(T),
}

#[derive(Deserialize)]
pub(super) struct Object {
    pub(super) id: String,
}

impl IdOr<Object> {
    pub(super) fn id(self) -> String {
        match self {
            IdOr::Id(id) | IdOr::Object(Object { id }) => id,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Recurring {
    pub(super) interval: String,
    pub(super) meter: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Price {
    pub(super) id: String,
    pub(super) product: IdOr<Object>,
    pub(super) active: bool,
    pub(super) currency: String,
    pub(super) unit_amount: Option<i64>,
    pub(super) lookup_key: Option<String>,
    pub(super) nickname: Option<String>,
    pub(super) recurring: Option<Recurring>,
    pub(super) metadata: Metadata,
}

impl From<Price> for PriceState {
    fn from(p: Price) -> Self {
        PriceState {
            challenge_id: challenge_of(&p.metadata),
            id: p.id,
            product: p.product.id(),
            lookup_key: p.lookup_key,
            nickname: p.nickname,
            currency: p.currency,
            unit_amount: p.unit_amount,
            interval: p.recurring.as_ref().map(|r| r.interval.clone()),
            meter: p.recurring.and_then(|r| r.meter),
            active: p.active,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Meter {
    pub(super) id: String,
    pub(super) event_name: String,
    pub(super) display_name: String,
    pub(super) status: String,
}

impl From<Meter> for MeterState {
    fn from(m: Meter) -> Self {
        MeterState {
            active: m.status == "active",
            id: m.id,
            event_name: m.event_name,
            display_name: m.display_name,
        }
    }
}

#[derive(Deserialize, Default)]
pub(super) struct Enabled {
    #[serde(default)]
    pub(super) enabled: bool,
    pub(super) mode: Option<String>,
}

#[derive(Deserialize, Default)]
pub(super) struct Features {
    #[serde(default)]
    pub(super) payment_method_update: Enabled,
    #[serde(default)]
    pub(super) invoice_history: Enabled,
    #[serde(default)]
    pub(super) subscription_cancel: Enabled,
}

#[derive(Deserialize, Default)]
pub(super) struct BusinessProfile {
    pub(super) headline: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct PortalConfiguration {
    pub(super) id: String,
    pub(super) active: bool,
    #[serde(default)]
    pub(super) business_profile: Option<BusinessProfile>,
    pub(super) default_return_url: Option<String>,
    #[serde(default)]
    pub(super) features: Features,
    pub(super) metadata: Metadata,
}

impl From<PortalConfiguration> for PortalState {
    fn from(c: PortalConfiguration) -> Self {
        PortalState {
            challenge_id: challenge_of(&c.metadata),
            id: c.id,
            active: c.active,
            headline: c.business_profile.and_then(|b| b.headline),
            default_return_url: c.default_return_url,
            payment_method_update: c.features.payment_method_update.enabled,
            invoice_history: c.features.invoice_history.enabled,
            subscription_cancel: c.features.subscription_cancel.enabled,
            cancel_mode_immediately: c.features.subscription_cancel.mode.as_deref()
                == Some("immediately"),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Url {
    pub(super) url: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct SubscriptionItem {
    pub(super) price: IdOr<Object>,
    #[serde(default)]
    pub(super) current_period_start: Option<i64>,
    #[serde(default)]
    pub(super) current_period_end: Option<i64>,
}

#[derive(Deserialize)]
pub(super) struct Subscription {
    pub(super) id: String,
    pub(super) customer: IdOr<Object>,
    pub(super) status: String,
    pub(super) items: List<SubscriptionItem>,
    pub(super) created: i64,
    #[serde(default)]
    pub(super) start_date: Option<i64>,
    #[serde(default)]
    pub(super) canceled_at: Option<i64>,
    #[serde(default)]
    pub(super) ended_at: Option<i64>,
    #[serde(default)]
    pub(super) trial_end: Option<i64>,
}

impl From<Subscription> for SubscriptionState {
    fn from(s: Subscription) -> Self {
        // The latest moment Stripe reports for the subscription: its state is at least
        // that new (a period starts when a trial ends or a renewal is billed).
        let as_of = [s.start_date, s.canceled_at, s.ended_at]
            .into_iter()
            .chain(s.items.data.iter().map(|item| item.current_period_start))
            .flatten()
            .fold(s.created, i64::max);
        let period = s.items.data.iter().find_map(|item| {
            Some(crate::model::Period {
                start: item.current_period_start?,
                end: item.current_period_end?,
                trial_end: s.trial_end,
                ended_at: s.ended_at,
            })
        });
        SubscriptionState {
            period,
            id: s.id,
            customer: s.customer.id(),
            status: s.status,
            prices: s
                .items
                .data
                .into_iter()
                .map(|item| item.price.id())
                .collect(),
            as_of,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct CheckoutSession {
    pub(super) id: String,
    pub(super) customer: Option<IdOr<Object>>,
    pub(super) subscription: Option<IdOr<Subscription>>,
}

#[derive(Deserialize)]
pub(super) struct MeterEvent {
    pub(super) identifier: String,
}

pub(super) fn product_params(spec: &ProductSpec) -> Value {
    json!({
        "name": spec.name,
        "url": spec.url,
        "unit_label": spec.unit_label,
        "active": true,
        "metadata": { "challenge_id": spec.challenge_id },
    })
}

pub(super) fn meter_params(spec: &MeterSpec) -> Value {
    json!({ "display_name": spec.display_name })
}

pub(super) fn portal_params(spec: &PortalSpec) -> Value {
    json!({
        "business_profile": { "headline": spec.headline },
        "default_return_url": spec.default_return_url,
        "features": {
            "payment_method_update": { "enabled": true },
            "invoice_history": { "enabled": true },
            "subscription_cancel": { "enabled": true, "mode": "immediately" },
        },
        "metadata": { "challenge_id": spec.challenge_id },
    })
}

pub(super) fn not_found(what: &str) -> Error {
    Error::Stripe(format!("{what} vanished while we wrote it"))
}
