//! `/v1/subscriptions` (retrieve, list, update, cancel) and `/v1/subscription_items`
//! (retrieve, list). Subscriptions are created by paying a Checkout Session.

use axum::routing::MethodFilter;

use super::rest::{self, prelude::*};
use crate::{billing, state::previous_attributes};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/v1/subscriptions", rest::list("subscription", filter))
        .route(
            "/v1/subscriptions/{id}",
            rest::retrieve("subscription", "subscription", "id")
                .merge(rest::act(update))
                .merge(rest::act_with(MethodFilter::DELETE, respond, cancel)),
        )
        .route("/v1/subscription_items", rest::found(list_items))
        .route(
            "/v1/subscription_items/{id}",
            rest::retrieve("subscription_item", "subscription_item", "id"),
        )
}

/// `trial_end`: `now` or a timestamp.
enum TrialEnd {
    Now,
    At(i64),
}

fn update(p: &mut Params) -> ApiResult<impl Act + use<>> {
    let trial_end = match p.str("trial_end")?.as_deref() {
        None | Some("") => None,
        Some("now") => Some(TrialEnd::Now),
        Some(s) => Some(TrialEnd::At(s.parse().map_err(|_| {
            ApiError::invalid_param(
                "trial_end",
                format!(
                    "Invalid timestamp: must be an integer Unix timestamp or `now` (got '{s}')"
                ),
            )
        })?)),
    };
    let cancel_at_period_end = p.bool("cancel_at_period_end")?;
    let metadata = p.metadata()?;
    let default_payment_method = p.str("default_payment_method")?;
    let description = p.str("description")?;
    p.allow(&["proration_behavior", "payment_behavior"]);
    let cancellation = cancellation_details(p)?;
    Ok(move |db: &mut Db, id: &str| {
        let before = db.fetch("subscription", id, "subscription", "id")?;
        let canceled = before["status"] == "canceled";
        if canceled
            && (trial_end.is_some()
                || cancel_at_period_end.is_some()
                || default_payment_method.is_some()
                || description.is_some())
        {
            return Err(ApiError::invalid(
                "A canceled subscription can only update its cancellation_details and metadata.",
            ));
        }
        if let Some(pm) = &default_payment_method {
            let obj = db.fetch_param(
                "payment_method",
                pm,
                "PaymentMethod",
                "default_payment_method",
            )?;
            if obj["customer"] != before["customer"] {
                return Err(ApiError::invalid_param(
                    "default_payment_method",
                    format!(
                        "The customer does not have a payment method with the ID {pm}. The payment method must be attached to the customer."
                    ),
                ));
            }
        }
        let now = db.now();
        if let Some(TrialEnd::At(t)) = trial_end
            && t <= now
        {
            return Err(ApiError::invalid_param(
                "trial_end",
                "Invalid timestamp: must be an integer Unix timestamp in the future.",
            ));
        }
        if trial_end.is_some()
            && before["status"] != "trialing"
            && matches!(trial_end, Some(TrialEnd::At(_)))
        {
            return Err(ApiError::invalid_param(
                "trial_end",
                "The emulator only moves the end of an existing trial.",
            ));
        }
        // Plain field changes first (one `updated` event for them).
        let mut sub = before.clone();
        merge_metadata(&mut sub, metadata);
        if let Some(pm) = &default_payment_method {
            sub["default_payment_method"] = json!(pm);
        }
        if let Some(d) = description {
            sub["description"] = if d.is_empty() { Value::Null } else { json!(d) };
        }
        if let Some((comment, feedback)) = cancellation {
            if let Some(c) = comment {
                sub["cancellation_details"]["comment"] = json!(c);
            }
            if let Some(f) = feedback {
                sub["cancellation_details"]["feedback"] =
                    if f.is_empty() { Value::Null } else { json!(f) };
            }
        }
        if let Some(TrialEnd::At(t)) = trial_end {
            sub["trial_end"] = json!(t);
            if let Some(items) = sub["items"]["data"].as_array_mut() {
                for item in items {
                    item["current_period_end"] = json!(t);
                }
            }
            if sub["cancel_at_period_end"] == json!(true) {
                sub["cancel_at"] = json!(t);
            }
        }
        let sub = billing::save_subscription(db, sub);
        if let Some(prev) = previous_attributes(&before, &sub) {
            db.emit("customer.subscription.updated", &sub, Some(prev));
        }
        if let Some(on) = cancel_at_period_end
            && sub["cancel_at_period_end"] != json!(on)
        {
            billing::set_cancel_at_period_end(db, id, on)?;
        }
        if matches!(trial_end, Some(TrialEnd::Now)) {
            billing::end_trial(db, id, now)?;
        }
        db.fetch("subscription", id, "subscription", "id")
    })
}

/// `cancellation_details[comment|feedback]`, as update and cancel take them.
fn cancellation_details(p: &mut Params) -> ApiResult<Option<(Option<String>, Option<String>)>> {
    let Some(mut c) = p.obj("cancellation_details")? else {
        return Ok(None);
    };
    let details = (c.str("comment")?, c.str("feedback")?);
    c.finish()?;
    Ok(Some(details))
}

fn cancel(p: &mut Params) -> ApiResult<impl Act + use<>> {
    p.bool("invoice_now")?;
    p.bool("prorate")?;
    let details = cancellation_details(p)?;
    Ok(move |db: &mut Db, id: &str| {
        let mut sub = db.fetch("subscription", id, "subscription", "id")?;
        if let Some((comment, feedback)) = details
            && sub["status"] != "canceled"
        {
            sub["cancellation_details"]["comment"] = json!(comment);
            sub["cancellation_details"]["feedback"] = json!(feedback.filter(|f| !f.is_empty()));
            billing::save_subscription(db, sub);
        }
        billing::cancel_now(db, id)
    })
}

fn filter(p: &mut Params) -> ApiResult<impl Keep + use<>> {
    let customer = p.str("customer")?;
    let status = p.str("status")?;
    let price = p.str("price")?;
    p.allow(&["collection_method"]);
    Ok(move |o: &Value| {
        let s = o["status"].as_str().unwrap_or_default();
        let status_matches = match status.as_deref() {
            None => s != "canceled" && s != "incomplete_expired",
            Some("all") => true,
            Some("ended") => s == "canceled" || s == "incomplete_expired",
            Some(want) => s == want,
        };
        list::is(o, "customer", &customer)
            && status_matches
            && price.as_ref().is_none_or(|pr| {
                o["items"]["data"]
                    .as_array()
                    .is_some_and(|items| items.iter().any(|i| i["price"]["id"] == json!(pr)))
            })
    })
}

fn list_items(p: &mut Params) -> ApiResult<impl Found + use<>> {
    let subscription = p.req_str("subscription")?;
    Ok(move |db: &Db| {
        let sub = db.fetch_param(
            "subscription",
            &subscription,
            "subscription",
            "subscription",
        )?;
        Ok(sub["items"]["data"].as_array().cloned().unwrap_or_default())
    })
}
