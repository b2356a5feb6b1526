//! Invocation events as Lambda delivers them: API Gateway HTTP API (payload 2.0)
//! requests, a CloudFormation custom-resource request, and signed Stripe webhooks.

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;

/// One HTTP request to an API route.
#[derive(Debug, Clone, Default)]
pub struct HttpRequest {
    pub method: &'static str,
    pub path: &'static str,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    /// The caller's IP as API Gateway reports it (127.0.0.1 unless set).
    pub source_ip: Option<String>,
    /// An event that is not an HTTP request (a schedule's), sent as it is.
    pub raw: Option<Value>,
}

impl HttpRequest {
    pub fn new(method: &'static str, path: &'static str) -> Self {
        HttpRequest {
            method,
            path,
            ..Default::default()
        }
    }

    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    /// From another caller: limits that count per source IP see a new one.
    pub fn with_source_ip(mut self, ip: &str) -> Self {
        self.source_ip = Some(ip.into());
        self
    }

    pub fn json(self, body: &Value) -> Self {
        let mut req = self.header("content-type", "application/json");
        req.body = Some(body.to_string());
        req
    }

    pub fn raw_query(&self) -> String {
        self.query
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The event an EventBridge schedule sends (the `outbox` function's).
    pub fn scheduled() -> Self {
        HttpRequest {
            raw: Some(json!({
                "version": "0",
                "source": "aws.events",
                "detail-type": "Scheduled Event",
                "detail": {},
            })),
            ..Default::default()
        }
    }

    /// The API Gateway HTTP API v2 event for this request (or the raw event).
    pub fn event(&self) -> Value {
        if let Some(raw) = &self.raw {
            return raw.clone();
        }
        let mut headers = Map::new();
        headers.insert(
            "host".into(),
            json!("bench.execute-api.us-east-1.amazonaws.com"),
        );
        headers.insert("user-agent".into(), json!("devchat-bench"));
        for (k, v) in &self.headers {
            headers.insert(k.clone(), json!(v));
        }
        let mut query = Map::new();
        for (k, v) in &self.query {
            query.insert(k.clone(), json!(v));
        }
        let route_key = format!("{} {}", self.method, self.path);
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        json!({
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": self.path,
            "rawQueryString": self.raw_query(),
            "headers": headers,
            "queryStringParameters": if query.is_empty() { Value::Null } else { Value::Object(query) },
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "bench",
                "domainName": "bench.execute-api.us-east-1.amazonaws.com",
                "domainPrefix": "bench",
                "http": {
                    "method": self.method,
                    "path": self.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": self.source_ip.as_deref().unwrap_or("127.0.0.1"),
                    "userAgent": "devchat-bench",
                },
                "requestId": uuid::Uuid::new_v4().to_string(),
                "routeKey": route_key,
                "stage": "$default",
                "time": "01/Jan/2025:00:00:00 +0000",
                "timeEpoch": now_ms,
            },
            "body": self.body,
            "isBase64Encoded": false,
        })
    }
}

/// Percent-encoding for query strings (unreserved characters kept).
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `Stripe-Signature` for `payload` signed now with `secret`, as Stripe computes it:
/// `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.payload">`.
pub fn stripe_signature(payload: &str, secret: &str) -> String {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(format!("{t}.{payload}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// A CloudFormation custom-resource `Create`, answered at `response_url`.
pub fn cfn_create(response_url: &str) -> Value {
    json!({
        "RequestType": "Create",
        "ResponseURL": response_url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/bench/00000000-0000-0000-0000-000000000000",
        "RequestId": uuid::Uuid::new_v4().to_string(),
        "ResourceType": "Custom::Catalog",
        "LogicalResourceId": "Catalog",
        "ResourceProperties": { "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provision" },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_stripes_scheme() {
        let sig = stripe_signature("{}", "whsec_x");
        let (t, v1) = sig.split_once(",v1=").unwrap();
        let t = t.strip_prefix("t=").unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(b"whsec_x").unwrap();
        mac.update(format!("{t}.{{}}").as_bytes());
        assert_eq!(v1, hex::encode(mac.finalize().into_bytes()));
    }

    #[test]
    fn events_carry_route_query_and_body() {
        let event = HttpRequest::new("POST", "/users/portal")
            .query("user_id", "cus 1")
            .json(&json!({"priceType": "monthly"}))
            .event();
        assert_eq!(event["routeKey"], "POST /users/portal");
        assert_eq!(event["rawQueryString"], "user_id=cus%201");
        assert_eq!(event["queryStringParameters"]["user_id"], "cus 1");
        assert_eq!(event["headers"]["content-type"], "application/json");
        assert_eq!(event["body"], r#"{"priceType":"monthly"}"#);
    }
}
