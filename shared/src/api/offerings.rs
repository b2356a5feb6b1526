//! `GET /offerings` → `{"pairCode":{"productId","productName","monthlyPrice",
//! "monthlyTrialDays","monthlySessions","monthlyText","onDemandPrice","onDemandText"},
//! "workshop":null}`: the texts are the offer's one definition ([`catalog::OFFER`]) in words.

use http::{Method, StatusCode};
use serde_json::json;

use super::App;
use crate::{
    Result, catalog,
    http::{Request, Response, require_method, respond},
};

pub async fn handle(app: &App, req: Request) -> Result<Response> {
    require_method(&req, Method::GET)?;
    let catalog = catalog::load(&app.stripe, &app.store, &app.config).await?;
    respond(
        StatusCode::OK,
        &json!({
            "pairCode": {
                "productId": catalog.product_id,
                "productName": catalog.product_name,
                "monthlyPrice": catalog.monthly_price,
                "monthlyTrialDays": catalog::OFFER.monthly_trial_days,
                "monthlySessions": catalog::OFFER.monthly_sessions,
                "monthlyText": catalog::OFFER.monthly_text(),
                "onDemandPrice": catalog.ondemand_price,
                "onDemandText": catalog::OFFER.ondemand_text(),
            },
            "workshop": null,
        }),
    )
}
