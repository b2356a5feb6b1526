//! HTTP glue for lambda_http: JSON bodies, query parameters, responses, and errors
//! rendered as `{"error":{"message":…}}` in one place ([`finish`]).

use http::{Method, StatusCode, header::CONTENT_TYPE};
use lambda_http::{Body, RequestExt};
use serde::{Serialize, de::DeserializeOwned};

use crate::{Error, Result};

pub use lambda_http::Request;
pub type Response = lambda_http::Response<Body>;

/// Largest request body we read (64 KB); larger ones get 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The request body as bytes (lambda_http has already decoded a base64 body), at
/// most [`MAX_BODY_BYTES`].
pub fn raw_body(req: &Request) -> Result<&[u8]> {
    let bytes: &[u8] = req.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Error::PayloadTooLarge(format!(
            "request body is larger than {} KB",
            MAX_BODY_BYTES / 1024
        )));
    }
    Ok(bytes)
}

/// The JSON body as `T`: 400 with a clear message when it is missing, not JSON, or
/// has the wrong shape; 413 when too large.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T> {
    let bytes = raw_body(req)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::BadRequest(
            "request body is missing: expected a JSON object".into(),
        ));
    }
    // serde reads a struct from an array of its fields too (`["a@b.co"]` as
    // `{"email":"a@b.co"}`); our bodies are objects.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(Error::BadRequest(
            "invalid request body: invalid type: an array, expected a JSON object".into(),
        ));
    }
    serde_json::from_slice(bytes).map_err(|err| {
        use serde_json::error::Category;
        Error::BadRequest(match err.classify() {
            Category::Data => format!("invalid request body: {err}"),
            Category::Syntax | Category::Eof | Category::Io => {
                format!("request body is not valid JSON: {err}")
            }
        })
    })
}

/// A query parameter, if present and not blank.
pub fn query(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref()
        .and_then(|params| params.first(name))
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map(str::to_owned)
}

/// A query parameter that must be present (400 otherwise).
pub fn required_query(req: &Request, name: &str) -> Result<String> {
    query(req, name)
        .ok_or_else(|| Error::BadRequest(format!("the {name} query parameter is required")))
}

/// A header value as text, if present.
pub fn header<'r>(req: &'r Request, name: &str) -> Option<&'r str> {
    req.headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
}

/// A header that, when present, must be visible ASCII text (400 otherwise), so a
/// malformed value is refused rather than taken as absent.
pub fn text_header<'r>(req: &'r Request, name: &str) -> Result<Option<&'r str>> {
    req.headers()
        .get(name)
        .map(|value| {
            value.to_str().map_err(|_| {
                Error::BadRequest(format!("the {name} header must be plain ASCII text"))
            })
        })
        .transpose()
}

/// The caller's IP as API Gateway saw it (`requestContext.http.sourceIp`), if known.
pub fn source_ip(req: &Request) -> Option<String> {
    use lambda_http::request::RequestContext;
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => context.http.source_ip.clone(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
    .filter(|ip| !ip.is_empty())
}

/// 405 unless the request uses `method`.
pub fn require_method(req: &Request, method: Method) -> Result<()> {
    if req.method() == method {
        Ok(())
    } else {
        Err(Error::MethodNotAllowed(format!(
            "method {} is not allowed here; use {method}",
            req.method()
        )))
    }
}

/// A JSON response.
pub fn respond(status: StatusCode, body: &impl Serialize) -> Result<Response> {
    let json = serde_json::to_string(body)
        .map_err(|err| Error::Internal(format!("serializing the response: {err}")))?;
    http::Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "application/json")
        .body(Body::Text(json))
        .map_err(|err| Error::Internal(format!("building the response: {err}")))
}

/// The HTTP status of an error: the one place the API's errors meet HTTP.
pub fn status_of(err: &Error) -> StatusCode {
    match err {
        Error::BadRequest(_) => StatusCode::BAD_REQUEST,
        Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
        Error::Forbidden(_) => StatusCode::FORBIDDEN,
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
        Error::Conflict(_) => StatusCode::CONFLICT,
        Error::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        Error::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
        Error::Stripe(_) => StatusCode::BAD_GATEWAY,
        Error::Storage(_) | Error::Mail(_) => StatusCode::SERVICE_UNAVAILABLE,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// What the client is told. Server-side failures get a fixed, safe message; their
/// cause goes to the log.
fn public_message(err: &Error) -> String {
    match err {
        Error::Stripe(_) => "Our payment provider is not answering; please try again.".into(),
        Error::Storage(_) => "Our database is not answering; please try again.".into(),
        Error::Mail(_) => "We could not send the email; please try again.".into(),
        Error::Internal(_) => "Something went wrong on our side.".into(),
        other => other.to_string(),
    }
}

/// `{"error":{"message":…}}` with the error's status. Server-side failures (5xx)
/// are logged with their cause; the client sees only a safe message.
pub fn error_response(err: &Error) -> Response {
    let status = status_of(err);
    if status.is_server_error() {
        tracing::error!(status = status.as_u16(), error = %err, "request failed");
    } else {
        tracing::info!(status = status.as_u16(), error = %err, "request rejected");
    }
    let body = serde_json::json!({ "error": { "message": public_message(err) } });
    let mut response = http::Response::new(Body::Text(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    if let Error::TooManyRequests { retry_after, .. } = err {
        response.headers_mut().insert(
            http::header::RETRY_AFTER,
            http::HeaderValue::from(*retry_after),
        );
    }
    response
}

/// Every handler's result becomes a response here: errors are rendered in one place.
pub fn finish(result: Result<Response>) -> Response {
    result.unwrap_or_else(|err| error_response(&err))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct SignUp {
        #[allow(dead_code)]
        email: String,
    }

    fn post(body: impl Into<Body>) -> Request {
        http::Request::builder()
            .method("POST")
            .uri("/users")
            .body(body.into())
            .unwrap()
    }

    fn message(response: &Response) -> String {
        let Body::Text(text) = response.body() else {
            panic!("not text")
        };
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        value["error"]["message"].as_str().unwrap().to_owned()
    }

    #[test]
    fn parses_a_json_body() {
        assert!(json_body::<SignUp>(&post(r#"{"email":"a@b.co"}"#)).is_ok());
    }

    #[test]
    fn rejects_bad_bodies_with_clear_400s() {
        for (body, expected) in [
            ("", "request body is missing"),
            ("{not json", "not valid JSON"),
            (r#"{"email":42}"#, "invalid request body: invalid type"),
            (r#"{}"#, "missing field `email`"),
            (r#" ["a@b.co"]"#, "invalid type: an array"),
        ] {
            let err = json_body::<SignUp>(&post(body)).unwrap_err();
            assert_eq!(status_of(&err), StatusCode::BAD_REQUEST);
            assert!(err.to_string().contains(expected), "{body:?}: {err}");
        }
    }

    #[test]
    fn rejects_oversized_bodies() {
        let big = format!(r#"{{"email":"{}"}}"#, "a".repeat(MAX_BODY_BYTES));
        let err = json_body::<SignUp>(&post(big)).unwrap_err();
        assert_eq!(status_of(&err), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn reads_query_parameters() {
        let req = post(Body::Empty).with_query_string_parameters(
            [("user_id", "cus_1"), ("blank", " ")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect::<std::collections::HashMap<_, _>>(),
        );
        assert_eq!(query(&req, "user_id").as_deref(), Some("cus_1"));
        assert_eq!(query(&req, "blank"), None);
        let err = required_query(&req, "session_id").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the session_id query parameter is required"
        );
    }

    #[test]
    fn wrong_method_is_405() {
        let response =
            finish(require_method(&post(Body::Empty), Method::GET).map(|_| unreachable!()));
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert!(message(&response).contains("POST is not allowed"));
    }

    #[test]
    fn server_errors_hide_their_cause() {
        let response = error_response(&Error::Storage(
            "connection refused to 127.0.0.1:8000".into(),
        ));
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(!message(&response).contains("127.0.0.1"));
        let response = error_response(&Error::Stripe("boom".into()));
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    }

    #[test]
    fn too_many_requests_says_when_to_retry() {
        let response = error_response(&Error::TooManyRequests {
            message: "slow down".into(),
            retry_after: 42,
        });
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()["retry-after"], "42");
        assert_eq!(message(&response), "slow down");
    }
}
