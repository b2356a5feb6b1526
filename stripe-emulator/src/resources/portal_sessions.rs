//! `POST /v1/billing_portal/sessions`: a link to the hosted portal page
//! (`/p/session/{id}`, served by `pages.rs`) for one customer and configuration.

use super::rest::{self, prelude::*};

pub fn routes() -> Router<App> {
    Router::new().route(
        "/v1/billing_portal/sessions",
        rest::create_with(respond, create),
    )
}

fn create(p: &mut Params, public_url: &str) -> ApiResult<impl Build + use<>> {
    let customer = p.req_str("customer")?;
    let configuration = p.str("configuration")?.filter(|s| !s.is_empty());
    let return_url = p.str("return_url")?.filter(|s| !s.is_empty());
    let locale = p.str("locale")?;
    let flow_data = p.has("flow_data");
    p.allow(&["flow_data"]);
    let on_behalf_of = p.str("on_behalf_of")?;
    let public_url = public_url.to_string();
    Ok(move |db: &mut Db| {
        if flow_data {
            return Err(ApiError::invalid_param(
                "flow_data",
                "flow_data is not supported by the emulator: the portal opens on its home page.",
            ));
        }
        if on_behalf_of.is_some() {
            return Err(ApiError::invalid_param(
                "on_behalf_of",
                "on_behalf_of is not supported by the emulator (no Connect accounts).",
            ));
        }
        db.fetch_param("customer", &customer, "customer", "customer")?;
        let config = match &configuration {
            Some(id) => db.fetch_param(
                "billing_portal.configuration",
                id,
                "configuration",
                "configuration",
            )?,
            None => {
                let configs = db.all("billing_portal.configuration");
                configs
                    .iter()
                    .find(|c| c["is_default"] == json!(true) && c["active"] == json!(true))
                    .or_else(|| configs.iter().rev().find(|c| c["active"] == json!(true)))
                    .cloned()
                    .ok_or_else(|| {
                        ApiError::invalid(
                            "You can’t create a portal session in test mode until you save your customer portal settings in test mode at https://dashboard.stripe.com/test/settings/billing/portal.",
                        )
                    })?
            }
        };
        if config["active"] != json!(true) {
            return Err(ApiError::invalid_param(
                "configuration",
                "The configuration is not active. You can only create portal sessions with an active configuration.",
            ));
        }
        let return_url = return_url
            .clone()
            .or_else(|| config["default_return_url"].as_str().map(str::to_string))
            .ok_or_else(|| {
                ApiError::invalid_param(
                    "return_url",
                    "A return_url is required because the configuration has no default_return_url.",
                )
            })?;
        let mut s = base_object(db, "bps", "billing_portal.session");
        if let Some(o) = s.as_object_mut() {
            o.remove("metadata");
        }
        let id = s["id"].as_str().unwrap_or_default().to_string();
        s["configuration"] = config["id"].clone();
        s["customer"] = json!(customer);
        s["customer_account"] = Value::Null;
        s["flow"] = Value::Null;
        s["locale"] = json!(locale);
        s["on_behalf_of"] = Value::Null;
        s["return_url"] = json!(return_url);
        s["url"] = json!(format!("{public_url}/p/session/{id}"));
        Ok(db.insert(s))
    })
}
