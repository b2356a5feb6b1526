//! [`StripeApi`] over the transport: each call's path, parameters and answer.

use super::{wire::*, *};

impl StripeApi for StripeClient {
    async fn find_product_by_url(&self, url: &str) -> Result<Option<ProductState>> {
        let mut products: Vec<Product> = self
            .list("/products", json!({ "url": url, "limit": 100 }))
            .await?;
        // Prefer an active product if an archived one shares the url.
        products.sort_by_key(|p| !p.active);
        Ok(products.into_iter().next().map(Into::into))
    }

    async fn create_product(&self, spec: &ProductSpec) -> Result<ProductState> {
        self.write::<Product, _>("/products", product_params(spec))
            .await
    }

    async fn update_product(&self, id: &str, spec: &ProductSpec) -> Result<ProductState> {
        let id = path_id(id).ok_or_else(|| not_found("product"))?;
        self.write::<Product, _>(&format!("/products/{id}"), product_params(spec))
            .await
    }

    async fn find_prices_by_lookup_keys(&self, lookup_keys: &[&str]) -> Result<Vec<PriceState>> {
        let prices: Vec<Price> = self
            .list(
                "/prices",
                json!({ "lookup_keys": lookup_keys, "limit": 100 }),
            )
            .await?;
        Ok(prices.into_iter().map(Into::into).collect())
    }

    async fn create_price(
        &self,
        spec: &PriceSpec,
        transfer_lookup_key: bool,
    ) -> Result<PriceState> {
        let mut recurring = json!({ "interval": spec.interval });
        if let Some(meter) = &spec.meter {
            recurring["usage_type"] = json!("metered");
            recurring["meter"] = json!(meter);
        }
        let mut params = json!({
            "product": spec.product,
            "currency": spec.currency,
            "unit_amount": spec.unit_amount,
            "recurring": recurring,
            "lookup_key": spec.lookup_key,
            "nickname": spec.nickname,
            "metadata": { "challenge_id": spec.challenge_id },
        });
        if transfer_lookup_key {
            params["transfer_lookup_key"] = json!(true);
        }
        self.write::<Price, _>("/prices", params).await
    }

    async fn update_price(
        &self,
        id: &str,
        nickname: Option<&str>,
        challenge_id: Option<&str>,
        active: Option<bool>,
    ) -> Result<PriceState> {
        let id = path_id(id).ok_or_else(|| not_found("price"))?;
        let mut params = json!({});
        if let Some(nickname) = nickname {
            params["nickname"] = json!(nickname);
        }
        if let Some(challenge_id) = challenge_id {
            params["metadata"] = json!({ "challenge_id": challenge_id });
        }
        if let Some(active) = active {
            params["active"] = json!(active);
        }
        self.write::<Price, _>(&format!("/prices/{id}"), params)
            .await
    }

    async fn find_meter_by_event_name(&self, event_name: &str) -> Result<Option<MeterState>> {
        // Meters cannot be filtered by event name; there are few of them.
        let meters: Vec<Meter> = self
            .list("/billing/meters", json!({ "limit": 100 }))
            .await?;
        Ok(meters
            .into_iter()
            .find(|m| m.event_name == event_name)
            .map(Into::into))
    }

    async fn create_meter(&self, spec: &MeterSpec) -> Result<MeterState> {
        let params = json!({
            "display_name": spec.display_name,
            "event_name": spec.event_name,
            "default_aggregation": { "formula": "sum" },
            "customer_mapping": { "type": "by_id", "event_payload_key": "stripe_customer_id" },
            "value_settings": { "event_payload_key": "value" },
        });
        self.write::<Meter, _>("/billing/meters", params).await
    }

    async fn update_meter(
        &self,
        id: &str,
        spec: &MeterSpec,
        reactivate: bool,
    ) -> Result<MeterState> {
        let id = path_id(id).ok_or_else(|| not_found("meter"))?;
        if reactivate {
            let _: Meter = self
                .post(
                    &format!("/billing/meters/{id}/reactivate"),
                    json!({}),
                    Key::Content,
                )
                .await?;
        }
        self.write::<Meter, _>(&format!("/billing/meters/{id}"), meter_params(spec))
            .await
    }

    async fn find_portal_configuration(&self, challenge_id: &str) -> Result<Option<PortalState>> {
        let configurations: Vec<PortalConfiguration> = self
            .list("/billing_portal/configurations", json!({ "limit": 100 }))
            .await?;
        Ok(configurations
            .into_iter()
            .map(PortalState::from)
            .find(|c| c.challenge_id.as_deref() == Some(challenge_id)))
    }

    async fn create_portal_configuration(&self, spec: &PortalSpec) -> Result<PortalState> {
        self.write::<PortalConfiguration, _>("/billing_portal/configurations", portal_params(spec))
            .await
    }

    async fn update_portal_configuration(
        &self,
        id: &str,
        spec: &PortalSpec,
    ) -> Result<PortalState> {
        let id = path_id(id).ok_or_else(|| not_found("portal configuration"))?;
        let mut params = portal_params(spec);
        params["active"] = json!(true);
        self.write::<PortalConfiguration, _>(
            &format!("/billing_portal/configurations/{id}"),
            params,
        )
        .await
    }

    async fn create_customer(
        &self,
        email: &str,
        challenge_id: &str,
        idempotency_key: &str,
    ) -> Result<String> {
        let params = json!({ "email": email, "metadata": { "challenge_id": challenge_id } });
        let customer: Object = self
            .post("/customers", params, Key::Given(idempotency_key))
            .await?;
        Ok(customer.id)
    }

    async fn create_checkout_session(&self, spec: &CheckoutSpec) -> Result<String> {
        let mut item = json!({ "price": spec.price });
        if spec.kind == SubscriptionType::Monthly {
            // One seat, fixed: the customer cannot change the quantity on the page.
            item["quantity"] = json!(1);
            item["adjustable_quantity"] = json!({ "enabled": false });
        }
        let mut subscription_data = json!({ "metadata": { "challenge_id": spec.challenge_id } });
        if let Some(days) = spec.trial_days {
            subscription_data["trial_period_days"] = json!(days);
        }
        let params = json!({
            "mode": "subscription",
            "customer": spec.customer,
            "line_items": [item],
            "payment_method_collection": "always",
            "subscription_data": subscription_data,
            "success_url": spec.success_url,
            "cancel_url": spec.cancel_url,
            "metadata": { "challenge_id": spec.challenge_id },
        });
        let session: Url = self.post("/checkout/sessions", params, Key::Random).await?;
        session
            .url
            .ok_or_else(|| Error::Stripe("Checkout Session without a url".into()))
    }

    async fn retrieve_checkout_session(&self, id: &str) -> Result<Option<CheckoutState>> {
        let Some(id) = path_id(id) else {
            return Ok(None);
        };
        let session: Option<CheckoutSession> = self
            .get(
                &format!("/checkout/sessions/{id}"),
                json!({ "expand": ["subscription"] }),
            )
            .await?;
        Ok(session.map(|s| CheckoutState {
            id: s.id,
            customer: s.customer.map(IdOr::id),
            subscription: match s.subscription {
                Some(IdOr::Object(subscription)) => Some(subscription.into()),
                // Not expanded (should not happen, we asked): read it.
                Some(IdOr::Id(_)) | None => None,
            },
        }))
    }

    async fn retrieve_subscription(&self, id: &str) -> Result<Option<SubscriptionState>> {
        let Some(id) = path_id(id) else {
            return Ok(None);
        };
        let subscription: Option<Subscription> =
            self.get(&format!("/subscriptions/{id}"), json!({})).await?;
        Ok(subscription.map(Into::into))
    }

    async fn create_portal_session(
        &self,
        customer: &str,
        configuration: &str,
        return_url: &str,
    ) -> Result<String> {
        let params = json!({ "customer": customer, "configuration": configuration, "return_url": return_url });
        let session: Url = self
            .post("/billing_portal/sessions", params, Key::Random)
            .await?;
        session
            .url
            .ok_or_else(|| Error::Stripe("portal session without a url".into()))
    }

    async fn record_meter_event(
        &self,
        event_name: &str,
        customer: &str,
        identifier: &str,
    ) -> Result<String> {
        // The identifier makes Stripe count the event once; the content-derived
        // idempotency key makes our retries of this very request safe too.
        let params = json!({
            "event_name": event_name,
            "identifier": identifier,
            "payload": { "stripe_customer_id": customer, "value": "1" },
        });
        let path = "/billing/meter_events";
        match self
            .call::<MeterEvent>(StripeMethod::Post, path, &params, Key::Content)
            .await?
        {
            Ok(Some(event)) => Ok(event.identifier),
            // Stripe already holds an event with this identifier (unique for 24 hours):
            // this click is recorded. v1 answers a repeat with a 400 naming the
            // `identifier` parameter and no code (`duplicate_meter_event` exists only in
            // v2). Our identifier is checked well-formed before sending (`usage::identifier`),
            // so a 400 on it can only be the repeat. A retry of this very request is
            // covered earlier, by its idempotency key, which replays the first answer.
            Err(StripeError::Stripe(api, 400)) if api.param.as_deref() == Some("identifier") => {
                Ok(identifier.to_owned())
            }
            Ok(None) => Err(Error::Stripe(format!("{path}: not found"))),
            Err(err) => Err(refused(path, &err)),
        }
    }
}
