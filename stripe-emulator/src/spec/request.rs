//! Request parameters against the spec: form bodies and query strings parse into a
//! tree of strings, objects and arrays ([`crate::form::parse`]); each leaf is a string
//! the schema types (`"true"`, `"12"`, `""` to unset).

use serde_json::{Map, Value};

use super::schema::resolve;
use crate::error::{ApiError, ApiResult};

/// The bracketed name of a nested parameter: `a`, `a[b]`, `a[0][b]`.
fn child(name: &str, key: &str) -> String {
    if name.is_empty() {
        key.to_string()
    } else {
        format!("{name}[{key}]")
    }
}

/// Checks `value`, sent as parameter `name`, against `schema`.
pub(super) fn check(schema: &Value, value: &Value, name: &str) -> ApiResult<()> {
    let schema = resolve(schema);
    if let Some(alternatives) = schema.get("anyOf").and_then(Value::as_array) {
        return any_of(alternatives, value, name);
    }
    match (schema.get("type").and_then(Value::as_str), value) {
        (_, Value::String(s)) if s.is_empty() && !may_be_empty(schema) => Err(cannot_unset(name)),
        (Some("object"), Value::Object(map)) => object(schema, map, name),
        (Some("array"), Value::Array(items)) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| check(&schema["items"], item, &child(name, &i.to_string()))),
        (Some("object"), _) => Err(ApiError::invalid_param(
            name,
            format!("Invalid hash: {name}"),
        )),
        (Some("array"), _) => Err(ApiError::invalid_param(
            name,
            format!("Invalid array: {name}"),
        )),
        (_, Value::String(s)) => scalar(schema, s, name),
        (_, _) => Err(ApiError::invalid_param(
            name,
            format!("Invalid {}: {name}", kind(schema)),
        )),
    }
}

/// What a scalar schema expects, for messages.
fn kind(schema: &Value) -> &str {
    match schema.get("type").and_then(Value::as_str) {
        Some("integer") => "integer",
        Some("number") => "decimal",
        Some("boolean") => "boolean",
        _ => "string",
    }
}

/// Whether `""` is accepted: a free string (Stripe unsets optional strings with it),
/// or an enum listing `""`. Integers, booleans, hashes, arrays and other enums refuse it.
fn may_be_empty(schema: &Value) -> bool {
    match schema["enum"].as_array() {
        Some(allowed) => allowed.iter().any(|v| v == ""),
        None => schema["type"] == "string",
    }
}

/// An `anyOf` alternative that only unsets (`enum [""]`).
fn only_unsets(alt: &Value) -> bool {
    resolve(alt)["enum"]
        .as_array()
        .is_some_and(|e| e.len() == 1 && e[0] == "")
}

/// `""` where the parameter cannot be unset, worded as Stripe words it.
fn cannot_unset(name: &str) -> ApiError {
    ApiError::invalid_param(
        name,
        format!(
            "You passed an empty string for '{name}'. We assume empty values are an attempt to unset a parameter; however '{name}' cannot be unset. You should remove '{name}' from your request or supply a non-empty value."
        ),
    )
    .code("parameter_invalid_empty")
}

/// `anyOf`: the value passes if one alternative takes it. `""` unsets where an
/// alternative is `enum [""]`; otherwise the error is the first alternative's of the
/// value's shape (a hash for an object, a string for a scalar…).
fn any_of(alternatives: &[Value], value: &Value, name: &str) -> ApiResult<()> {
    if value.as_str() == Some("") {
        return if alternatives.iter().any(|alt| may_be_empty(resolve(alt))) {
            Ok(())
        } else {
            Err(cannot_unset(name))
        };
    }
    let shape = |alt: &Value| match resolve(alt).get("type").and_then(Value::as_str) {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        _ => value.is_string(),
    };
    let mut first = None;
    for alt in alternatives
        .iter()
        .filter(|alt| !only_unsets(alt) && shape(alt))
    {
        match check(alt, value, name) {
            Ok(()) => return Ok(()),
            Err(e) => {
                first.get_or_insert(e);
            }
        }
    }
    match (first, alternatives.iter().find(|alt| !only_unsets(alt))) {
        (Some(err), _) => Err(err),
        (None, Some(alt)) => check(alt, value, name),
        (None, None) => Err(cannot_unset(name)),
    }
}

/// A hash: missing required keys first, then unknown ones (at any depth named in
/// full), then each value. `additionalProperties` (metadata, a meter event's payload)
/// takes any key; an object schema without `properties` is free-form.
fn object(schema: &Value, map: &Map<String, Value>, name: &str) -> ApiResult<()> {
    let properties = schema.get("properties").and_then(Value::as_object);
    let extra = schema.get("additionalProperties").filter(|a| a.is_object());
    let Some(properties) = properties.filter(|p| !p.is_empty() || extra.is_none()) else {
        return match extra {
            Some(extra) => map
                .iter()
                .try_for_each(|(k, v)| check(extra, v, &child(name, k))),
            None => Ok(()),
        };
    };
    let required = schema["required"].as_array().into_iter().flatten();
    if let Some(missing) = required
        .filter_map(Value::as_str)
        .find(|r| !map.contains_key(*r))
    {
        return Err(ApiError::missing_param(&child(name, missing)));
    }
    if extra.is_none()
        && let Some(unknown) = map.keys().find(|k| !properties.contains_key(*k))
    {
        return Err(ApiError::unknown_param(&child(name, unknown)));
    }
    map.iter().try_for_each(|(k, v)| {
        let schema = properties.get(k).or(extra).unwrap_or(&Value::Null);
        check(schema, v, &child(name, k))
    })
}

/// A string leaf: typed by the schema, then its enum and length.
fn scalar(schema: &Value, s: &str, name: &str) -> ApiResult<()> {
    let valid = match schema.get("type").and_then(Value::as_str) {
        Some("integer") => s.parse::<i64>().is_ok(),
        Some("number") => s.parse::<f64>().is_ok_and(f64::is_finite),
        Some("boolean") => s == "true" || s == "false",
        _ => true,
    };
    if !valid {
        let err = ApiError::invalid_param(name, format!("Invalid {}: {s}", kind(schema)));
        return Err(if kind(schema) == "integer" {
            err.code("parameter_invalid_integer")
        } else {
            err
        });
    }
    let bypass = schema["x-stripeBypassValidation"] == true;
    if let Some(allowed) = schema["enum"].as_array().filter(|_| !bypass)
        && !allowed.iter().any(|a| a == s)
    {
        return Err(ApiError::invalid_param(
            name,
            format!("Invalid {name}: must be one of {}", one_of(allowed)),
        ));
    }
    match schema["maxLength"].as_u64() {
        Some(max) if s.chars().count() as u64 > max => Err(ApiError::invalid_param(
            name,
            format!("Invalid {name}: must be at most {max} characters"),
        )),
        _ => Ok(()),
    }
}

/// `a, b, or c`, as Stripe lists an enum.
fn one_of(allowed: &[Value]) -> String {
    let names: Vec<&str> = allowed
        .iter()
        .filter_map(Value::as_str)
        .filter(|v| !v.is_empty())
        .collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => (*one).to_string(),
        [a, b] => format!("{a} or {b}"),
        [rest @ .., last] => format!("{}, or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{super::schema::operation, check};
    use crate::error::ApiResult;

    /// The spec's check of a request, as the middleware runs it.
    fn validate(method: &str, path: &str, params: &serde_json::Value) -> ApiResult<()> {
        check(&operation(method, path).unwrap().params, params, "")
    }

    fn refused(method: &str, path: &str, params: serde_json::Value) -> (String, String) {
        let err = validate(method, path, &params).unwrap_err();
        (err.message, err.param.unwrap_or_default())
    }

    #[test]
    fn nested_parameters_are_checked() {
        let (message, param) = refused(
            "POST",
            "/v1/checkout/sessions",
            json!({"mode": "subscription", "subscription_data": {"trial_settings": {"end_behavior": {"missing_payment_method": "bogus"}}}}),
        );
        assert_eq!(
            message,
            "Invalid subscription_data[trial_settings][end_behavior][missing_payment_method]: must be one of cancel, create_invoice, or pause"
        );
        assert_eq!(
            param,
            "subscription_data[trial_settings][end_behavior][missing_payment_method]"
        );
        assert!(
            validate(
                "POST",
                "/v1/products",
                &json!({"name": "x", "metadata": {"any": "v"}})
            )
            .is_ok()
        );
        assert!(validate("POST", "/v1/products/prod_1", &json!({"description": ""})).is_ok());
    }
}
