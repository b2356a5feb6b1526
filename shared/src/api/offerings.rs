//! `GET /offerings` → `{"pairCode":{"productId","productName","monthlyPrice",
//! "monthlyTrialDays","onDemandPrice"},"workshop":null}`.

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
                "onDemandPrice": catalog.ondemand_price,
            },
            "workshop": null,
        }),
    )
}
