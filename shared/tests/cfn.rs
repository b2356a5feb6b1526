//! The custom-resource protocol end to end: each request is answered by a PUT to a
//! `ResponseURL` served by a local HTTP server, and the test reads what
//! CloudFormation would receive.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime},
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, Method, StatusCode, Uri},
    routing::any,
};
use devchat::{
    Error,
    cfn::{self, CfnRequest, RequestType},
};
use serde_json::{Value, json};

/// One request the fake `ResponseURL` received.
#[derive(Debug, Clone)]
struct Received {
    method: Method,
    path_and_query: String,
    content_type: Option<String>,
    body: Value,
}

#[derive(Clone, Default)]
struct Bucket {
    received: Arc<Mutex<Vec<Received>>>,
    /// Statuses to answer with, in order; 200 once they run out.
    statuses: Arc<Mutex<Vec<StatusCode>>>,
}

async fn record(
    State(bucket): State<Bucket>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    bucket.received.lock().unwrap().push(Received {
        method,
        path_and_query: uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        content_type: headers
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned()),
        body,
    });
    let mut statuses = bucket.statuses.lock().unwrap();
    if statuses.is_empty() {
        StatusCode::OK
    } else {
        statuses.remove(0)
    }
}

/// Starts the fake pre-signed S3 URL on a free port; returns its URL and what it records.
async fn response_url(statuses: Vec<StatusCode>) -> (String, Bucket) {
    let bucket = Bucket {
        statuses: Arc::new(Mutex::new(statuses)),
        ..Bucket::default()
    };
    let app = Router::new()
        .route("/{*key}", any(record))
        .with_state(bucket.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (
        format!("http://{addr}/cfn-responses/resp-1?X-Amz-Signature=abc&X-Amz-Expires=7200"),
        bucket,
    )
}

/// A request as CloudFormation sends it (shape from the custom-resource reference).
fn request(kind: &str, url: &str, physical_id: Option<&str>) -> CfnRequest {
    let mut raw = json!({
        "RequestType": kind,
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:devchat-provision",
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/devchat-dev/5b3f2e40-0000-11ef-8d7e-0a1b2c3d4e5f",
        "RequestId": "7bfe2d54-710d-48bd-a2e6-2bb7d0ac8d9e",
        "LogicalResourceId": "Catalog",
        "ResourceType": "Custom::Catalog",
        "ResourceProperties": {
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:devchat-provision",
            "ChallengeId": "c42",
            "AppUrl": "https://abc.execute-api.us-east-1.amazonaws.com"
        }
    });
    if let Some(id) = physical_id {
        raw["PhysicalResourceId"] = json!(id);
    }
    if kind == "Update" {
        raw["OldResourceProperties"] = json!({"ChallengeId": "c41"});
    }
    serde_json::from_value(raw).unwrap()
}

fn in_a_minute() -> SystemTime {
    SystemTime::now() + Duration::from_secs(60)
}

fn catalog_data() -> Value {
    json!({"ProductId": "prod_123", "MonthlyPriceId": "price_456"})
}

fn only(bucket: &Bucket) -> Received {
    let received = bucket.received.lock().unwrap();
    assert_eq!(received.len(), 1, "exactly one answer: {received:?}");
    received[0].clone()
}

/// Handles `req` with a converge step that succeeds with [`catalog_data`]; returns how
/// many times it converged.
async fn converged(req: CfnRequest) -> usize {
    let calls = AtomicUsize::new(0);
    cfn::handle(req, in_a_minute(), || async {
        calls.fetch_add(1, Ordering::SeqCst);
        Ok(catalog_data())
    })
    .await
    .unwrap();
    calls.load(Ordering::SeqCst)
}

#[tokio::test]
async fn create_converges_and_answers_success_with_the_catalog_ids() {
    let (url, bucket) = response_url(vec![]).await;
    let req = request("Create", &url, None);
    assert_eq!(req.request_type, RequestType::Create);
    assert_eq!(req.resource_properties["ChallengeId"], "c42");

    assert_eq!(converged(req).await, 1);
    let got = only(&bucket);
    assert_eq!(got.method, Method::PUT);
    assert_eq!(
        got.path_and_query,
        "/cfn-responses/resp-1?X-Amz-Signature=abc&X-Amz-Expires=7200"
    );
    assert_eq!(
        got.content_type.as_deref(),
        Some(""),
        "S3 pre-signed URLs are signed without a content type"
    );
    assert_eq!(
        got.body,
        json!({
            "Status": "SUCCESS",
            "PhysicalResourceId": "devchat-dev-Catalog",
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/devchat-dev/5b3f2e40-0000-11ef-8d7e-0a1b2c3d4e5f",
            "RequestId": "7bfe2d54-710d-48bd-a2e6-2bb7d0ac8d9e",
            "LogicalResourceId": "Catalog",
            "Data": {"MonthlyPriceId": "price_456", "ProductId": "prod_123"}
        })
    );
}

#[tokio::test]
async fn update_converges_again_and_keeps_the_physical_id() {
    let (url, bucket) = response_url(vec![]).await;
    let req = request("Update", &url, Some("devchat-dev-Catalog"));
    assert_eq!(converged(req).await, 1);
    let got = only(&bucket).body;
    assert_eq!(got["Status"], "SUCCESS");
    assert_eq!(got["PhysicalResourceId"], "devchat-dev-Catalog");
    assert_eq!(got["Data"], catalog_data());
}

#[tokio::test]
async fn delete_leaves_stripe_alone_and_answers_success() {
    let (url, bucket) = response_url(vec![]).await;
    let req = request("Delete", &url, Some("devchat-dev-Catalog"));
    assert_eq!(
        converged(req).await,
        0,
        "Delete must not converge (nor touch Stripe)"
    );
    assert_eq!(
        only(&bucket).body,
        json!({
            "Status": "SUCCESS",
            "PhysicalResourceId": "devchat-dev-Catalog",
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/devchat-dev/5b3f2e40-0000-11ef-8d7e-0a1b2c3d4e5f",
            "RequestId": "7bfe2d54-710d-48bd-a2e6-2bb7d0ac8d9e",
            "LogicalResourceId": "Catalog"
        })
    );
}

#[tokio::test]
async fn failing_create_answers_failed_with_the_reason() {
    let (url, bucket) = response_url(vec![]).await;
    cfn::handle(request("Create", &url, None), in_a_minute(), || async {
        Err(Error::Stripe(
            "Invalid API Key provided: sk_test_****".into(),
        ))
    })
    .await
    .unwrap();

    assert_eq!(
        only(&bucket).body,
        json!({
            "Status": "FAILED",
            "Reason": "Stripe request failed: Invalid API Key provided: sk_test_****",
            "PhysicalResourceId": "devchat-dev-Catalog",
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/devchat-dev/5b3f2e40-0000-11ef-8d7e-0a1b2c3d4e5f",
            "RequestId": "7bfe2d54-710d-48bd-a2e6-2bb7d0ac8d9e",
            "LogicalResourceId": "Catalog"
        })
    );
}

#[tokio::test]
async fn a_panic_while_converging_still_answers_failed() {
    let (url, bucket) = response_url(vec![]).await;
    async fn explode() -> devchat::Result<Value> {
        panic!("catalog spec is inconsistent")
    }
    cfn::handle(
        request("Update", &url, Some("devchat-dev-Catalog")),
        in_a_minute(),
        explode,
    )
    .await
    .unwrap();

    let got = only(&bucket).body;
    assert_eq!(got["Status"], "FAILED");
    assert_eq!(
        got["Reason"],
        "internal error: provisioning panicked: catalog spec is inconsistent"
    );
    assert_eq!(got["PhysicalResourceId"], "devchat-dev-Catalog");
}

#[tokio::test]
async fn converging_past_the_deadline_answers_failed_before_it() {
    let (url, bucket) = response_url(vec![]).await;
    // 10 s are kept back for the answer, so this leaves half a second to converge.
    let deadline = SystemTime::now() + Duration::from_millis(10_500);
    let started = std::time::Instant::now();
    cfn::handle(request("Create", &url, None), deadline, || async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok(catalog_data())
    })
    .await
    .unwrap();

    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered after {:?}",
        started.elapsed()
    );
    let got = only(&bucket).body;
    assert_eq!(got["Status"], "FAILED");
    assert!(
        got["Reason"].as_str().unwrap().contains("did not finish"),
        "{got}"
    );
}

#[tokio::test]
async fn a_long_reason_is_cut_to_fit_cloudformations_limit() {
    let (url, bucket) = response_url(vec![]).await;
    cfn::handle(request("Create", &url, None), in_a_minute(), || async {
        Err(Error::Internal("é".repeat(5000)))
    })
    .await
    .unwrap();

    let got = only(&bucket).body;
    let reason = got["Reason"].as_str().unwrap();
    assert!(
        reason.len() <= 1100 && reason.ends_with('…'),
        "{} bytes",
        reason.len()
    );
    assert!(serde_json::to_vec(&got).unwrap().len() < 4096);
}

#[tokio::test]
async fn the_answer_is_retried_when_the_response_url_fails_transiently() {
    let (url, bucket) = response_url(vec![
        StatusCode::SERVICE_UNAVAILABLE,
        StatusCode::INTERNAL_SERVER_ERROR,
    ])
    .await;
    cfn::handle(
        request("Delete", &url, Some("devchat-dev-Catalog")),
        in_a_minute(),
        || async { Ok(Value::Null) },
    )
    .await
    .unwrap();

    let received = bucket.received.lock().unwrap();
    assert_eq!(received.len(), 3);
    assert!(received.iter().all(|r| r.body["Status"] == "SUCCESS"));
}

#[tokio::test]
async fn a_refused_answer_is_an_error() {
    let (url, _bucket) = response_url(vec![StatusCode::FORBIDDEN]).await;
    let err = cfn::handle(
        request("Delete", &url, Some("x")),
        in_a_minute(),
        || async { Ok(Value::Null) },
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
}
