//! `/v1/invoices`: retrieve, list, and a subscription invoice's lines. Invoices are
//! made by the billing engine (first invoice, trial end, renewals).

use super::rest::{self, prelude::*};
use crate::billing;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/v1/invoices", rest::list("invoice", filter))
        .route(
            "/v1/invoices/{id}",
            rest::retrieve("invoice", "invoice", "invoice"),
        )
        .route("/v1/invoices/{id}/lines", rest::sublist(lines))
        .route("/v1/invoices/{id}/pay", rest::act(pay))
}

fn lines(_: &mut Params) -> ApiResult<impl Items + use<>> {
    Ok(|db: &Db, id: &str| {
        let invoice = db.fetch("invoice", id, "invoice", "invoice")?;
        Ok(invoice["lines"]["data"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    })
}

fn filter(p: &mut Params) -> ApiResult<impl Keep + use<>> {
    let equal = list::Equal::read(p, &["customer", "status"])?;
    let subscription = p.str("subscription")?;
    p.allow(&["collection_method"]);
    Ok(move |o: &Value| {
        let details = &o["parent"]["subscription_details"];
        equal.matches(o) && list::is(details, "subscription", &subscription)
    })
}

/// Charges an open invoice now (e.g. after a failed renewal); 402 when the card fails.
fn pay(p: &mut Params) -> ApiResult<impl Act + use<>> {
    let pm = p.str("payment_method")?.filter(|s| !s.is_empty());
    p.bool("off_session")?;
    p.bool("forgive")?;
    Ok(move |db: &mut Db, id: &str| billing::pay_open_invoice(db, id, pm.as_deref()))
}
