//! Stripe's wire format for requests: form bodies and query strings with bracket
//! notation (`a[b][c]=`, `a[]=`, `a[0][x]=`), parsed with serde_qs into a JSON tree,
//! and [`Params`], a reader that type-checks each parameter and rejects the ones an
//! endpoint does not know, with Stripe's own wording.

use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

/// Parses a form-encoded body or query string into a JSON object of strings,
/// objects and arrays. Maps whose keys are all indices (`a[0]`, `a[1]`) become arrays.
pub fn parse(input: &[u8]) -> ApiResult<Map<String, Value>> {
    if input.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let config = serde_qs::Config::new().max_depth(8).use_form_encoding(true);
    let value: Value = config
        .deserialize_bytes(input)
        .map_err(|e| ApiError::invalid(format!("Invalid request body: {e}")))?;
    match normalize(value) {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::invalid("Invalid request body")),
    }
}

fn normalize(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let all_indices = !map.is_empty() && map.keys().all(|k| k.parse::<usize>().is_ok());
            if all_indices {
                let mut items: Vec<(usize, Value)> = map
                    .into_iter()
                    .filter_map(|(k, v)| k.parse::<usize>().ok().map(|i| (i, normalize(v))))
                    .collect();
                items.sort_by_key(|(i, _)| *i);
                Value::Array(items.into_iter().map(|(_, v)| v).collect())
            } else {
                Value::Object(map.into_iter().map(|(k, v)| (k, normalize(v))).collect())
            }
        }
        Value::Array(items) => Value::Array(items.into_iter().map(normalize).collect()),
        other => other,
    }
}

/// A typed, strict reader over one level of parameters.
///
/// Every getter marks its key as known; [`Params::finish`] then rejects whatever
/// was sent but never asked for, as `Received unknown parameter: a[b]`.
#[derive(Debug, Default, Clone)]
pub struct Params {
    prefix: String,
    map: Map<String, Value>,
    known: Vec<String>,
}

impl Params {
    pub fn new(map: Map<String, Value>) -> Self {
        Self {
            prefix: String::new(),
            map,
            known: Vec::new(),
        }
    }

    fn nested(prefix: String, map: Map<String, Value>) -> Self {
        Self {
            prefix,
            map,
            known: Vec::new(),
        }
    }

    /// The full bracketed name of a key at this level, e.g. `recurring[interval]`.
    pub fn name(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}[{key}]", self.prefix)
        }
    }

    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// The keys sent at this level (for free-form hashes such as a meter event's `payload`).
    pub fn keys(&self) -> Vec<String> {
        self.map.keys().cloned().collect()
    }

    /// Whether `key` was sent as a hash (`key[a]=…`) rather than a plain value.
    pub fn is_hash(&self, key: &str) -> bool {
        self.map.get(key).is_some_and(Value::is_object)
    }

    /// Marks keys as accepted without reading them (e.g. `expand`, read elsewhere).
    pub fn allow(&mut self, keys: &[&str]) {
        self.known.extend(keys.iter().map(|k| k.to_string()));
    }

    fn take(&mut self, key: &str) -> Option<Value> {
        self.known.push(key.to_string());
        self.map.get(key).cloned()
    }

    pub fn str(&mut self, key: &str) -> ApiResult<Option<String>> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::invalid_param(
                &self.name(key),
                format!("Invalid string: {}", self.name(key)),
            )),
        }
    }

    /// A required string, refused as missing when sent empty too: the spec's
    /// `required` only asks that the key be present, and its strings take `""`.
    pub fn req_str(&mut self, key: &str) -> ApiResult<String> {
        match self.str(key)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(ApiError::missing_param(&self.name(key))),
        }
    }

    pub fn i64(&mut self, key: &str) -> ApiResult<Option<i64>> {
        match self.str(key)? {
            None => Ok(None),
            Some(s) if s.is_empty() => Ok(None),
            Some(s) => s.trim().parse::<i64>().map(Some).map_err(|_| {
                ApiError::invalid_param(&self.name(key), format!("Invalid integer: {s}"))
            }),
        }
    }

    pub fn bool(&mut self, key: &str) -> ApiResult<Option<bool>> {
        match self.str(key)?.as_deref() {
            None | Some("") => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(other) => Err(ApiError::invalid_param(
                &self.name(key),
                format!("Invalid boolean: {other}"),
            )),
        }
    }

    /// One of a fixed set of values, for the few parameters the emulator serves more
    /// narrowly than the spec allows (`ui_mode`, `billing_scheme`, a meter's formula).
    pub fn enum_str(&mut self, key: &str, allowed: &[&str]) -> ApiResult<Option<String>> {
        match self.str(key)? {
            None => Ok(None),
            Some(s) if allowed.contains(&s.as_str()) => Ok(Some(s)),
            Some(s) => Err(ApiError::invalid_param(
                &self.name(key),
                format!(
                    "Invalid {}: must be one of {} (got '{s}')",
                    self.name(key),
                    allowed.join(", ")
                ),
            )),
        }
    }

    /// A nested hash such as `recurring[...]`.
    pub fn obj(&mut self, key: &str) -> ApiResult<Option<Params>> {
        let name = self.name(key);
        match self.take(key) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Params::nested(name, map))),
            // `key=` (empty) unsets a hash in Stripe.
            Some(Value::String(s)) if s.is_empty() => Ok(Some(Params::nested(name, Map::new()))),
            Some(_) => Err(ApiError::invalid_param(
                &name,
                format!("Invalid object: {name} must be a hash"),
            )),
        }
    }

    /// An array of hashes such as `line_items[0][price]`.
    pub fn obj_list(&mut self, key: &str) -> ApiResult<Option<Vec<Params>>> {
        let name = self.name(key);
        match self.take(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::Object(map) => Ok(Params::nested(format!("{name}[{i}]"), map)),
                    _ => Err(ApiError::invalid_param(
                        &name,
                        format!("Invalid array: {name}[{i}] must be a hash"),
                    )),
                })
                .collect::<ApiResult<Vec<_>>>()
                .map(Some),
            Some(_) => Err(ApiError::invalid_param(
                &name,
                format!("Invalid array: {name} must be an array"),
            )),
        }
    }

    /// An array of strings such as `expand[]` or `lookup_keys[]`.
    pub fn str_list(&mut self, key: &str) -> ApiResult<Option<Vec<String>>> {
        let name = self.name(key);
        match self.take(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    _ => Err(ApiError::invalid_param(
                        &name,
                        format!("Invalid array: {name} must be an array of strings"),
                    )),
                })
                .collect::<ApiResult<Vec<_>>>()
                .map(Some),
            Some(Value::String(s)) => Ok(Some(vec![s])),
            Some(_) => Err(ApiError::invalid_param(
                &name,
                format!("Invalid array: {name} must be an array"),
            )),
        }
    }

    /// `metadata[k]=v`: a string map. An empty value means "delete this key" on update.
    pub fn metadata(&mut self) -> ApiResult<Option<Map<String, Value>>> {
        let Some(mut meta) = self.obj("metadata")? else {
            return Ok(None);
        };
        let mut out = Map::new();
        for (k, v) in std::mem::take(&mut meta.map) {
            match v {
                Value::String(s) => {
                    out.insert(k, Value::String(s));
                }
                _ => {
                    return Err(ApiError::invalid_param(
                        "metadata",
                        format!("Invalid metadata: metadata[{k}] must be a string"),
                    ));
                }
            }
        }
        Ok(Some(out))
    }

    /// Rejects every key that no getter asked for.
    pub fn finish(self) -> ApiResult<()> {
        for key in self.map.keys() {
            if !self.known.iter().any(|k| k == key) {
                return Err(ApiError::unknown_param(&self.name(key)));
            }
        }
        Ok(())
    }
}

/// Applies a metadata update (as [`Params::metadata`] reads it) to an object's
/// metadata: empty values delete keys; `None` (not sent) leaves it as it is.
pub fn merge_metadata(target: &mut Value, update: Option<Map<String, Value>>) {
    let Some(update) = update else {
        return;
    };
    if !target.get("metadata").is_some_and(Value::is_object) {
        target["metadata"] = Value::Object(Map::new());
    }
    if let Some(Value::Object(meta)) = target.get_mut("metadata") {
        for (k, v) in update {
            if v.as_str() == Some("") {
                meta.remove(&k);
            } else {
                meta.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn brackets_become_nested_objects_and_arrays() {
        let map = parse(
            b"a[b][c]=1&expand[]=x&expand[]=y&line_items[0][price]=p&line_items[1][price]=q&line_items[0][quantity]=2&email=a%2Bb%40c.d",
        )
        .unwrap();
        let v = Value::Object(map);
        assert_eq!(v["a"]["b"]["c"], json!("1"));
        assert_eq!(v["expand"], json!(["x", "y"]));
        assert_eq!(v["line_items"][0], json!({"price": "p", "quantity": "2"}));
        assert_eq!(v["line_items"][1]["price"], json!("q"));
        assert_eq!(v["email"], json!("a+b@c.d"));
    }

    #[test]
    fn unknown_parameters_are_named_with_their_brackets() {
        let mut p =
            Params::new(parse(b"name=x&recurring[interval]=month&recurring[bogus]=1").unwrap());
        p.str("name").unwrap();
        let rec = p.obj("recurring").unwrap().unwrap();
        p.finish().unwrap();
        let mut rec = rec;
        rec.str("interval").unwrap();
        let err = rec.finish().unwrap_err();
        assert_eq!(err.message, "Received unknown parameter: recurring[bogus]");
    }

    #[test]
    fn wrong_types_are_rejected() {
        let mut p = Params::new(parse(b"unit_amount=abc").unwrap());
        let err = p.i64("unit_amount").unwrap_err();
        assert_eq!(err.message, "Invalid integer: abc");
    }
}
