//! Answers against the spec: an object's required fields, the JSON type of each
//! field, enums (unless Stripe bypasses them) and no field the spec does not know.

use serde_json::Value;

use super::schema::resolve;

fn field(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Appends to `problems` every way `value` (at `path`) differs from `schema`.
pub(super) fn check(schema: &Value, value: &Value, path: &str, problems: &mut Vec<String>) {
    let schema = resolve(schema);
    if value.is_null() {
        if schema["nullable"] != true && schema.as_object().is_some_and(|s| !s.is_empty()) {
            problems.push(format!("{path}: null, but not nullable"));
        }
        return;
    }
    for alternatives in ["anyOf", "oneOf"] {
        if let Some(alts) = schema.get(alternatives).and_then(Value::as_array) {
            // Report the differences from the closest alternative of the value's own
            // type (the object, for an expanded field; the customer, not the deleted one).
            let mut reported: Option<(bool, Vec<String>)> = None;
            for alt in alts {
                let mut found = Vec::new();
                check(alt, value, path, &mut found);
                if found.is_empty() {
                    return;
                }
                let typed = same_type(resolve(alt), value);
                let closer = reported.as_ref().is_none_or(|(was_typed, was)| {
                    (typed && !was_typed) || (typed == *was_typed && found.len() < was.len())
                });
                if closer {
                    reported = Some((typed, found));
                }
            }
            problems.extend(reported.map(|(_, found)| found).unwrap_or_default());
            return;
        }
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        check(part, value, path, problems);
    }
    let expected = schema.get("type").and_then(Value::as_str);
    if !same_type(schema, value) {
        problems.push(format!(
            "{path}: {value} is not of type {}",
            expected.unwrap_or("?")
        ));
        return;
    }
    let bypass = schema["x-stripeBypassValidation"] == true;
    if let Some(allowed) = schema["enum"].as_array().filter(|_| !bypass)
        && !allowed.contains(value)
    {
        problems.push(format!(
            "{path}: {value} is not one of {}",
            Value::from(allowed.clone())
        ));
    }
    match value {
        Value::Object(map) => {
            for required in schema["required"].as_array().into_iter().flatten() {
                if let Some(key) = required.as_str().filter(|k| !map.contains_key(*k)) {
                    problems.push(format!("{}: required, missing", field(path, key)));
                }
            }
            let properties = schema.get("properties").and_then(Value::as_object);
            let extra = schema.get("additionalProperties").filter(|a| a.is_object());
            for (key, v) in map {
                match (properties.and_then(|p| p.get(key)), extra) {
                    (Some(s), _) | (None, Some(s)) => check(s, v, &field(path, key), problems),
                    (None, None) if properties.is_some() => {
                        problems.push(format!("{}: not in the spec", field(path, key)));
                    }
                    (None, None) => {}
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check(&schema["items"], item, &format!("{path}[{i}]"), problems);
            }
        }
        _ => {}
    }
}

/// Whether `value` is of the JSON type `schema` names (any, when it names none).
fn same_type(schema: &Value, value: &Value) -> bool {
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        _ => true,
    }
}
