//! Stripe list objects: paging, filters and time ranges.

use axum::Json;
use serde_json::{Value, json};

use crate::{
    app::App,
    error::{ApiError, ApiResult},
    form::Params,
    respond::respond,
};

/// Reads `limit`, `starting_after` and `ending_before`, then pages `items`
/// (newest first, as Stripe orders lists) into `{"object":"list",…}`.
pub fn page(p: &mut Params, items: Vec<Value>, url: &str) -> ApiResult<Value> {
    let limit = p.i64("limit")?.unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid_param(
            "limit",
            format!("Invalid integer: {limit}. Must be between 1 and 100"),
        ));
    }
    let starting_after = p.str("starting_after")?;
    let ending_before = p.str("ending_before")?;
    let limit = limit as usize;
    let position = |id: &str| items.iter().position(|o| o["id"] == id);
    let (slice, has_more) = match (starting_after, ending_before) {
        (Some(after), _) => {
            let start = position(&after)
                .ok_or_else(|| ApiError::no_such("object", &after, "starting_after"))?
                + 1;
            let rest = &items[start.min(items.len())..];
            (
                rest.iter().take(limit).cloned().collect::<Vec<_>>(),
                rest.len() > limit,
            )
        }
        (None, Some(before)) => {
            let end = position(&before)
                .ok_or_else(|| ApiError::no_such("object", &before, "ending_before"))?;
            let head = &items[..end];
            let from = head.len().saturating_sub(limit);
            (head[from..].to_vec(), from > 0)
        }
        (None, None) => (
            items.iter().take(limit).cloned().collect(),
            items.len() > limit,
        ),
    };
    Ok(json!({
        "object": "list",
        "data": slice,
        "has_more": has_more,
        "url": url,
    }))
}

/// Answers a list request: pages `items` (see [`page`]), refuses any parameter left
/// unread, then expands what `expand[]` asks.
pub fn answer(
    app: &App,
    mut p: Params,
    expand: &[String],
    items: Vec<Value>,
    url: &str,
) -> ApiResult<Json<Value>> {
    let page = page(&mut p, items, url)?;
    p.finish()?;
    respond(app, page, expand)
}

/// Answers a list of the stored objects of type `kind` (newest first) that `keep` keeps.
pub fn filtered(
    app: &App,
    p: Params,
    expand: &[String],
    (kind, url): (&str, &str),
    keep: impl Fn(&Value) -> bool,
) -> ApiResult<Json<Value>> {
    let items = app.read(|db| db.all(kind).into_iter().filter(|o| keep(o)).collect());
    answer(app, p, expand, items, url)
}

/// Whether `obj[field]` is the value a list filter asks for; no filter matches all.
pub fn is<T>(obj: &Value, field: &str, want: &Option<T>) -> bool
where
    Value: PartialEq<T>,
{
    want.as_ref().is_none_or(|w| obj[field] == *w)
}

/// Filters on string fields an object holds as they are sent (`customer=cus_…`,
/// `status=open`): every one given must match.
pub struct Equal(Vec<(&'static str, Option<String>)>);

impl Equal {
    pub fn read(p: &mut Params, fields: &[&'static str]) -> ApiResult<Equal> {
        let wanted = fields.iter().map(|f| Ok((*f, p.str(f)?)));
        Ok(Equal(wanted.collect::<ApiResult<_>>()?))
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(field, want)| is(obj, field, want))
    }
}

/// A range filter on a timestamp, as Stripe lists take it: `created=N` or
/// `created[gt|gte|lt|lte]=N`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Range {
    pub gt: Option<i64>,
    pub gte: Option<i64>,
    pub lt: Option<i64>,
    pub lte: Option<i64>,
}

impl Range {
    /// Reads `key` (e.g. `created`) in either form.
    pub fn read(p: &mut Params, key: &str) -> ApiResult<Option<Range>> {
        if !p.is_hash(key) {
            return Ok(p.i64(key)?.map(|t| Range {
                gte: Some(t),
                lte: Some(t),
                ..Range::default()
            }));
        }
        let Some(mut r) = p.obj(key)? else {
            return Ok(None);
        };
        let range = Range {
            gt: r.i64("gt")?,
            gte: r.i64("gte")?,
            lt: r.i64("lt")?,
            lte: r.i64("lte")?,
        };
        r.finish()?;
        Ok(Some(range))
    }

    pub fn contains(&self, t: i64) -> bool {
        self.gt.is_none_or(|v| t > v)
            && self.gte.is_none_or(|v| t >= v)
            && self.lt.is_none_or(|v| t < v)
            && self.lte.is_none_or(|v| t <= v)
    }

    /// Whether the object's `field` (a timestamp) is in the range; no range matches all.
    pub fn matches(range: &Option<Range>, obj: &Value, field: &str) -> bool {
        range
            .as_ref()
            .is_none_or(|r| obj[field].as_i64().is_some_and(|t| r.contains(t)))
    }
}
