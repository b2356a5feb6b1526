//! Authentication of `/v1`: a test secret or restricted key, as Bearer or Basic.

use axum::http::HeaderValue;

/// Whether the `Authorization` header carries a well-formed test key.
pub fn valid_key(auth: Option<&HeaderValue>) -> bool {
    let Some(value) = auth.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let key = if let Some(bearer) = value.strip_prefix("Bearer ") {
        bearer.to_string()
    } else if let Some(basic) = value.strip_prefix("Basic ") {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(basic.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .map(|s| s.trim_end_matches(':').to_string())
            .unwrap_or_default()
    } else {
        String::new()
    };
    (key.starts_with("sk_test_") || key.starts_with("rk_test_"))
        && key.len() > "sk_test_".len()
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}
