//! [`BillingStore`] on the DynamoDB table: session requests and invoices as maps on
//! the user's item (`sessions.{id}`, `invoices.{id}`), each entry written by one
//! conditional `UpdateItem`, which also removes the entries pruning drops; the monthly periods already used as a number set
//! (`monthlyPeriods`); the outbox as a sparse index ([`OUTBOX_INDEX`]) of the users
//! whose item carries `pendingSince`, set by the write that stores a request and
//! removed, under a check of `outboxAdds`, once everything is sent.

use std::collections::HashMap;

use aws_sdk_dynamodb::{
    error::{ProvideErrorMetadata, SdkError},
    operation::update_item::builders::UpdateItemFluentBuilder,
    types::AttributeValue,
};
use serde_dynamo::to_attribute_value;

use super::{DynamoStore, USER_PREFIX, is_condition_failure, mapping, storage, user_key};
use crate::{
    Error, Result,
    model::{Invoice, SessionRequest},
    store::{BillingStore, SessionAdded, SessionMarks, Store},
};

/// The outbox: a global secondary index keyed by [`PENDING`], so only the users with
/// work left are in it (template.yaml and [`DynamoStore::ensure_table`] create it).
pub const OUTBOX_INDEX: &str = "outbox";
/// On a user's item while a request of theirs may still have work to send: when the
/// latest was stored (Unix seconds).
pub const PENDING: &str = "pendingSince";

/// How an update ended.
enum Updated {
    Yes,
    ConditionFailed,
}

fn is_validation<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error()
        .and_then(ProvideErrorMetadata::code)
        .is_some_and(|code| code == "ValidationException")
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// ` REMOVE #m.#d0, #m.#d1 …` for the entries `drop` names in the map `#m` (empty
/// when there are none), with the names to bind.
fn removal(map: &str, drop: &[String]) -> (String, Vec<(String, String)>) {
    let names: Vec<(String, String)> = drop
        .iter()
        .enumerate()
        .map(|(i, id)| (format!("#d{i}"), id.clone()))
        .collect();
    let paths: Vec<String> = names.iter().map(|(n, _)| format!("{map}.{n}")).collect();
    match paths.is_empty() {
        true => (String::new(), names),
        false => (format!(" REMOVE {}", paths.join(", ")), names),
    }
}

impl DynamoStore {
    fn update_user(&self, user_id: &str) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&user_key(user_id)))
    }

    /// Runs an update of an entry of the user's map `map`; a user written before the
    /// map existed gets an empty one first (DynamoDB cannot set `map.key` without it).
    async fn update_entry(
        &self,
        user_id: &str,
        map: &str,
        what: &str,
        build: impl Fn() -> UpdateItemFluentBuilder,
    ) -> Result<Updated> {
        for first in [true, false] {
            match build().send().await {
                Ok(_) => return Ok(Updated::Yes),
                Err(err) if is_condition_failure(&err) => return Ok(Updated::ConditionFailed),
                Err(err) if first && is_validation(&err) => {
                    // The document path does not exist yet: create the map, then retry.
                    self.update_user(user_id)
                        .update_expression("SET #m = if_not_exists(#m, :empty)")
                        .condition_expression("attribute_exists(pk)")
                        .expression_attribute_names("#m", map)
                        .expression_attribute_values(":empty", AttributeValue::M(HashMap::new()))
                        .send()
                        .await
                        .map_err(|err| {
                            if is_condition_failure(&err) {
                                Error::NotFound(format!("unknown user {user_id:?}"))
                            } else {
                                storage(what, err)
                            }
                        })?;
                }
                Err(err) => return Err(storage(what, err)),
            }
        }
        Err(Error::Storage(format!(
            "{what}: the map could not be created"
        )))
    }
}

impl BillingStore for DynamoStore {
    async fn add_session(
        &self,
        user_id: &str,
        session: &SessionRequest,
        one_per_period: bool,
        drop: &[String],
    ) -> Result<SessionAdded> {
        let value: AttributeValue =
            to_attribute_value(session).map_err(|err| mapping("adding a session", err))?;
        let period = session.period_start.unwrap_or(0);
        let drop: Vec<String> = drop.iter().filter(|d| **d != session.id).cloned().collect();
        let (remove, names) = removal("#s", &drop);
        let build = || {
            let mut request = self
                .update_user(user_id)
                .expression_attribute_names("#s", "sessions")
                .expression_attribute_names("#id", &session.id)
                .expression_attribute_names("#pending", PENDING)
                .expression_attribute_values(":v", value.clone())
                .expression_attribute_values(":at", n(session.requested_at))
                .expression_attribute_values(":one", n(1));
            for (name, id) in &names {
                request = request.expression_attribute_names(name, id);
            }
            if one_per_period {
                request
                    .update_expression(format!(
                        "SET #s.#id = :v, #pending = :at ADD monthlyPeriods :p, outboxAdds :one{remove}"
                    ))
                    .condition_expression(
                        "attribute_exists(pk) AND attribute_not_exists(#s.#id) AND NOT contains(monthlyPeriods, :period)",
                    )
                    .expression_attribute_values(":p", AttributeValue::Ns(vec![period.to_string()]))
                    .expression_attribute_values(":period", n(period))
            } else {
                request
                    .update_expression(format!(
                        "SET #s.#id = :v, #pending = :at ADD outboxAdds :one{remove}"
                    ))
                    .condition_expression("attribute_exists(pk) AND attribute_not_exists(#s.#id)")
            }
        };
        match self
            .update_entry(user_id, "sessions", "adding a session", build)
            .await?
        {
            Updated::Yes => Ok(SessionAdded::New),
            Updated::ConditionFailed => {
                let user = self.require_user(user_id).await?;
                Ok(match user.sessions.get(&session.id) {
                    Some(existing) => SessionAdded::Existing(existing.clone()),
                    None => SessionAdded::PeriodTaken,
                })
            }
        }
    }

    async fn mark_session(
        &self,
        user_id: &str,
        id: &str,
        marks: SessionMarks,
        clear: Option<u64>,
    ) -> Result<()> {
        let mut set = Vec::new();
        if marks.metered {
            set.push("#s.#id.metered = :t");
        }
        if marks.notified {
            set.push("#s.#id.notified = :t");
        }
        if set.is_empty() {
            return Ok(());
        }
        let mut remove = Vec::new();
        if marks.notified {
            remove.extend(["#s.#id.mailClaim", "#s.#id.mailClaimBy"]);
        }
        let build = |clear: Option<u64>| {
            let mut remove = remove.clone();
            let mut condition = "attribute_exists(#s.#id)".to_owned();
            let mut request = self
                .update_user(user_id)
                .expression_attribute_names("#s", "sessions")
                .expression_attribute_names("#id", id)
                .expression_attribute_values(":t", AttributeValue::Bool(true));
            if let Some(adds) = clear {
                remove.push("#pending");
                condition.push_str(" AND outboxAdds = :adds");
                request = request
                    .expression_attribute_names("#pending", PENDING)
                    .expression_attribute_values(":adds", AttributeValue::N(adds.to_string()));
            }
            let mut update = format!("SET {}", set.join(", "));
            if !remove.is_empty() {
                update.push_str(&format!(" REMOVE {}", remove.join(", ")));
            }
            request
                .update_expression(update)
                .condition_expression(condition)
        };
        match build(clear).send().await {
            // A request stored since the caller looked: it keeps the user on the
            // outbox, and the marks are written on their own.
            Err(err) if clear.is_some() && is_condition_failure(&err) => build(None).send().await,
            other => other,
        }
        .map_err(|err| storage("marking a session", err))?;
        Ok(())
    }

    async fn claim_session_mail(
        &self,
        user_id: &str,
        id: &str,
        token: &str,
        now: i64,
        stale_before: i64,
    ) -> Result<bool> {
        let claimed = self
            .update_user(user_id)
            .update_expression("SET #s.#id.mailClaim = :now, #s.#id.mailClaimBy = :by")
            .condition_expression(
                "attribute_exists(#s.#id) AND #s.#id.notified = :f AND (attribute_not_exists(#s.#id.mailClaim) OR #s.#id.mailClaim < :stale OR #s.#id.mailClaimBy = :by)",
            )
            .expression_attribute_values(":by", s(token))
            .expression_attribute_names("#s", "sessions")
            .expression_attribute_names("#id", id)
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":stale", n(stale_before))
            .expression_attribute_values(":f", AttributeValue::Bool(false))
            .send()
            .await;
        match claimed {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failure(&err) => Ok(false),
            Err(err) => Err(storage("claiming a session's email", err)),
        }
    }

    async fn release_session_mail(&self, user_id: &str, id: &str, token: &str) -> Result<()> {
        let released = self
            .update_user(user_id)
            .update_expression("REMOVE #s.#id.mailClaim, #s.#id.mailClaimBy")
            .condition_expression("#s.#id.mailClaimBy = :by")
            .expression_attribute_names("#s", "sessions")
            .expression_attribute_names("#id", id)
            .expression_attribute_values(":by", s(token))
            .send()
            .await;
        match released {
            // Not ours (never taken, or taken over): nothing to give up.
            Err(err) if is_condition_failure(&err) => Ok(()),
            other => other
                .map(|_| ())
                .map_err(|err| storage("releasing a session's email", err)),
        }
    }

    async fn save_invoice(
        &self,
        user_id: &str,
        invoice: &Invoice,
        drop: &[String],
    ) -> Result<bool> {
        let value: AttributeValue =
            to_attribute_value(invoice).map_err(|err| mapping("saving an invoice", err))?;
        let drop: Vec<String> = drop.iter().filter(|d| **d != invoice.id).cloned().collect();
        let (remove, names) = removal("#i", &drop);
        let build = || {
            let mut request = self.update_user(user_id);
            for (name, id) in &names {
                request = request.expression_attribute_names(name, id);
            }
            request
                .update_expression(format!("SET #i.#id = :v{remove}"))
                .condition_expression(
                    "attribute_exists(pk) AND (attribute_not_exists(#i.#id) OR #i.#id.asOf < :a OR (#i.#id.asOf = :a AND #i.#id.#rank < :r))",
                )
                .expression_attribute_names("#i", "invoices")
                .expression_attribute_names("#id", &invoice.id)
                .expression_attribute_names("#rank", "rank")
                .expression_attribute_values(":v", value.clone())
                .expression_attribute_values(":a", n(invoice.as_of))
                .expression_attribute_values(":r", n(i64::from(invoice.rank)))
        };
        Ok(matches!(
            self.update_entry(user_id, "invoices", "saving an invoice", build)
                .await?,
            Updated::Yes
        ))
    }

    async fn outbox_pending(&self, limit: usize) -> Result<Vec<String>> {
        let output = self
            .client
            .scan()
            .table_name(&self.table)
            .index_name(OUTBOX_INDEX)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|err| storage("reading the outbox", err))?;
        Ok((output.items.unwrap_or_default().into_iter())
            .filter_map(|mut item| match item.remove("pk") {
                Some(AttributeValue::S(pk)) => pk.strip_prefix(USER_PREFIX).map(str::to_owned),
                _ => None,
            })
            .collect())
    }

    async fn outbox_clear(&self, user_id: &str, adds: u64) -> Result<bool> {
        let cleared = self
            .update_user(user_id)
            .update_expression("REMOVE #pending")
            .condition_expression("outboxAdds = :adds")
            .expression_attribute_names("#pending", PENDING)
            .expression_attribute_values(":adds", AttributeValue::N(adds.to_string()))
            .send()
            .await;
        match cleared {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failure(&err) => Ok(false),
            Err(err) => Err(storage("taking a user off the outbox", err)),
        }
    }
}
