//! The CloudFormation custom-resource protocol, for provisioning at deploy time.
//!
//! `template.yaml` declares the catalog as an `AWS::CloudFormation::CustomResource`
//! whose `ServiceToken` is the `provision` function. CloudFormation invokes it with a
//! [`CfnRequest`] and then waits for a JSON answer PUT to the request's pre-signed
//! `ResponseURL`. [`handle`] runs the protocol:
//!
//! - `Create` and `Update` run the converge function (the same provisioning as locally)
//!   and answer `SUCCESS` with its result as `Data` (readable with `Fn::GetAtt`);
//! - `Delete` touches nothing in Stripe (products and prices outlive a stack; customers
//!   and subscriptions refer to them) and answers `SUCCESS`;
//! - an error, a panic (where panics unwind, as in tests) or running out of time answers
//!   `FAILED` with the reason, so a stack never hangs waiting for us.
//!
//! The `PhysicalResourceId` is stable: derived from the stack and the logical id on
//! `Create`, echoed back on `Update` and `Delete`, so CloudFormation never mistakes an
//! update for a replacement.
//!
//! `functions/provision/src/main.rs` runs it in Lambda mode: each `LambdaEvent<CfnRequest>`
//! goes to [`handle`] with the invocation's deadline and a closure that converges the
//! catalog and returns its ids as a flat JSON object of strings.

use std::{
    collections::BTreeMap,
    panic::AssertUnwindSafe,
    time::{Duration, SystemTime},
};

use futures::FutureExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Error, Result};

/// Time kept back from the Lambda deadline to send the answer.
const ANSWER_MARGIN: Duration = Duration::from_secs(10);
/// CloudFormation rejects answers over 4096 bytes; the reason is cut well below that.
const MAX_REASON: usize = 1024;
/// Attempts at the PUT to the `ResponseURL`.
const PUT_ATTEMPTS: u32 = 4;

/// What CloudFormation sends to a custom resource's function.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CfnRequest {
    pub request_type: RequestType,
    #[serde(rename = "ResponseURL")]
    pub response_url: String,
    pub stack_id: String,
    pub request_id: String,
    pub logical_resource_id: String,
    #[serde(default)]
    pub resource_type: String,
    /// Absent on `Create`.
    #[serde(default)]
    pub physical_resource_id: Option<String>,
    #[serde(default)]
    pub resource_properties: Value,
    /// Only on `Update`.
    #[serde(default)]
    pub old_resource_properties: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum RequestType {
    Create,
    Update,
    Delete,
}

/// The answer CloudFormation reads from the `ResponseURL`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CfnResponse {
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub physical_resource_id: String,
    pub stack_id: String,
    pub request_id: String,
    pub logical_resource_id: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Success,
    Failed,
}

impl CfnRequest {
    /// The id CloudFormation knows this resource by: the one it sent, or on `Create`
    /// one derived from the stack name and the logical id (the same on every retry).
    pub fn physical_id(&self) -> String {
        if let Some(id) = self
            .physical_resource_id
            .as_deref()
            .filter(|id| !id.is_empty())
        {
            return id.to_owned();
        }
        // arn:aws:cloudformation:REGION:ACCOUNT:stack/NAME/GUID
        let stack = self.stack_id.split('/').nth(1).unwrap_or(&self.stack_id);
        format!("{stack}-{}", self.logical_resource_id)
    }
}

/// Runs one custom-resource request to the end: converges on `Create` and `Update`,
/// does nothing on `Delete`, and always PUTs the answer to `request.response_url`,
/// `FAILED` with the reason when `converge` errs, panics or would pass `deadline`
/// (the Lambda invocation's, `LambdaEvent::context.deadline()`).
///
/// `converge` returns the `Data` to report: a JSON object (other values are reported
/// as no data). Returns an error only when the answer itself could not be delivered,
/// after retries; the function should then fail its invocation so the log shows it.
pub async fn handle<F, Fut>(request: CfnRequest, deadline: SystemTime, converge: F) -> Result<()>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Value>>,
{
    tracing::info!(
        request_type = ?request.request_type,
        logical_resource_id = %request.logical_resource_id,
        stack_id = %request.stack_id,
        "custom resource request"
    );
    let outcome = match request.request_type {
        RequestType::Delete => Ok(Value::Null),
        RequestType::Create | RequestType::Update => run_until(deadline, converge()).await,
    };
    let response = respond_to(&request, outcome);
    match response.status {
        Status::Success => tracing::info!("custom resource converged"),
        Status::Failed => tracing::error!(reason = ?response.reason, "custom resource failed"),
    }
    put_response(&request.response_url, &response).await
}

/// Awaits `work` until shortly before `deadline`, turning a panic or a timeout into an error.
async fn run_until<Fut>(deadline: SystemTime, work: Fut) -> Result<Value>
where
    Fut: Future<Output = Result<Value>>,
{
    let budget = deadline
        .duration_since(SystemTime::now())
        .unwrap_or_default()
        .saturating_sub(ANSWER_MARGIN);
    match tokio::time::timeout(budget, AssertUnwindSafe(work).catch_unwind()).await {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(Error::Internal(format!("provisioning panicked: {message}")))
        }
        Err(_) => Err(Error::Internal(format!(
            "provisioning did not finish within {}s, before the function's deadline",
            budget.as_secs()
        ))),
    }
}

/// The answer for `request` given the converge outcome.
pub fn respond_to(request: &CfnRequest, outcome: Result<Value>) -> CfnResponse {
    let (status, reason, data) = match outcome {
        Ok(Value::Object(map)) => (Status::Success, None, map.into_iter().collect()),
        Ok(_) => (Status::Success, None, BTreeMap::new()),
        Err(error) => {
            let mut reason = error.to_string();
            if reason.len() > MAX_REASON {
                let mut cut = MAX_REASON;
                while !reason.is_char_boundary(cut) {
                    cut -= 1;
                }
                reason.truncate(cut);
                reason.push('…');
            }
            (Status::Failed, Some(reason), BTreeMap::new())
        }
    };
    CfnResponse {
        status,
        reason,
        physical_resource_id: request.physical_id(),
        stack_id: request.stack_id.clone(),
        request_id: request.request_id.clone(),
        logical_resource_id: request.logical_resource_id.clone(),
        data,
    }
}

/// PUTs the answer to the pre-signed S3 URL. The body goes with an empty
/// `Content-Type`, as the URL was signed without one; retried on network errors
/// and 5xx.
pub async fn put_response(url: &str, response: &CfnResponse) -> Result<()> {
    let body = serde_json::to_vec(response)
        .map_err(|e| Error::Internal(format!("encoding the answer: {e}")))?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| Error::Internal(format!("HTTP client: {e}")))?;
    let mut last_error = String::new();
    for attempt in 0..PUT_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
        }
        let sent = client
            .put(url)
            .header(reqwest::header::CONTENT_TYPE, "")
            .body(body.clone())
            .send()
            .await;
        match sent {
            Ok(answer) if answer.status().is_success() => return Ok(()),
            Ok(answer) if answer.status().is_server_error() => {
                last_error = format!("status {}", answer.status())
            }
            Ok(answer) => {
                let status = answer.status();
                let text = answer.text().await.unwrap_or_default();
                return Err(Error::Internal(format!(
                    "the ResponseURL refused the answer: {status} {text}"
                )));
            }
            Err(e) => last_error = e.to_string(),
        }
        tracing::warn!(attempt, error = %last_error, "answering CloudFormation failed; retrying");
    }
    Err(Error::Internal(format!(
        "could not answer CloudFormation: {last_error}"
    )))
}
