//! The handler skeletons every resource shares. A resource's function reads the
//! request's parameters and returns what to do with them: build a new object,
//! change one, act on one, or which stored objects a list keeps. These take the
//! request, refuse any parameter left unread, run that under the state's lock and
//! answer with the object, expanded as `expand[]` asks.

use axum::{
    Json, Router,
    extract::{MatchedPath, Path, State},
    routing::{MethodFilter, MethodRouter, get, on, post},
};
use serde_json::{Value, json};

use crate::{
    app::App,
    error::{ApiError, ApiResult},
    form::Params,
    list,
    respond::{StripeRequest, respond},
    state::Db,
};

/// Makes a new object, stores it and emits its events (validating first: the state
/// has no rollback). Returned by a `create` reader.
pub trait Build: FnOnce(&mut Db) -> ApiResult<Value> + Send + 'static {}
impl<T: FnOnce(&mut Db) -> ApiResult<Value> + Send + 'static> Build for T {}

/// Does what a request asks to the object with the given id; returns it as it ends up.
pub trait Act: FnOnce(&mut Db, &str) -> ApiResult<Value> + Send + 'static {}
impl<T: FnOnce(&mut Db, &str) -> ApiResult<Value> + Send + 'static> Act for T {}

/// Edits a copy of a stored object (see [`Db::change`]).
pub trait Apply: FnOnce(&mut Db, &mut Value) -> ApiResult<()> + Send + 'static {}
impl<T: FnOnce(&mut Db, &mut Value) -> ApiResult<()> + Send + 'static> Apply for T {}

/// Whether a list keeps a stored object.
pub trait Keep: Fn(&Value) -> bool + Send + 'static {}
impl<T: Fn(&Value) -> bool + Send + 'static> Keep for T {}

/// The items of a list that belongs to the object with the given id, in list order.
pub trait Items: FnOnce(&Db, &str) -> ApiResult<Vec<Value>> + Send + 'static {}
impl<T: FnOnce(&Db, &str) -> ApiResult<Vec<Value>> + Send + 'static> Items for T {}

/// The items of a list computed from the state, in list order.
pub trait Found: FnOnce(&Db) -> ApiResult<Vec<Value>> + Send + 'static {}
impl<T: FnOnce(&Db) -> ApiResult<Vec<Value>> + Send + 'static> Found for T {}

/// Reads a request's parameters into `T` (what to do with them).
pub trait Read<T>: Fn(&mut Params) -> ApiResult<T> + Clone + Send + Sync + 'static {}
impl<T, F: Fn(&mut Params) -> ApiResult<T> + Clone + Send + Sync + 'static> Read<T> for F {}

/// [`Read`] for an object that links to a hosted page: also given the emulator's
/// public URL.
pub trait Linked<T>: Fn(&mut Params, &str) -> ApiResult<T> + Clone + Send + Sync + 'static {}
impl<T, F: Fn(&mut Params, &str) -> ApiResult<T> + Clone + Send + Sync + 'static> Linked<T> for F {}

/// How a resource answers with an object: [`respond`], unless it has its own (a
/// Checkout Session fills `line_items` when they are expanded).
pub type Answer = fn(&App, Value, &[String]) -> ApiResult<Json<Value>>;

/// `GET …/{id}` of a stored object of type `kind`: no parameters but `expand[]`;
/// a missing one is Stripe's 404 (`No such {what}: '{id}'`, naming `param`).
pub fn retrieve(kind: &'static str, what: &'static str, param: &'static str) -> MethodRouter<App> {
    retrieve_with(
        move |db: &Db, id: &str| db.fetch(kind, id, what, param),
        respond,
    )
}

/// [`retrieve`] with the resource's own `fetch` and `answer`.
pub fn retrieve_with(
    fetch: impl Fn(&Db, &str) -> ApiResult<Value> + Clone + Send + Sync + 'static,
    answer: Answer,
) -> MethodRouter<App> {
    get(
        move |State(app): State<App>, Path(id): Path<String>, req: StripeRequest| async move {
            req.params.finish()?;
            let obj = app.read(|db| fetch(db, &id))?;
            answer(&app, obj, &req.expand)
        },
    )
}

/// `POST /v1/{objects}`: creates what `read` says to build.
pub fn create<B: Build>(read: impl Read<B>) -> MethodRouter<App> {
    create_with(respond, move |p: &mut Params, _: &str| read(p))
}

/// [`create`] for an object that links to a hosted page, answered by `answer`.
pub fn create_with<B: Build>(answer: Answer, read: impl Linked<B>) -> MethodRouter<App> {
    post(
        move |State(app): State<App>, req: StripeRequest| async move {
            let mut p = req.params;
            let build = read(&mut p, app.public_url())?;
            p.finish()?;
            let obj = app.write(build)?;
            answer(&app, obj, &req.expand)
        },
    )
}

/// `POST …/{id}` or `…/{id}/{action}`: does what `read` says to the object the
/// path names.
pub fn act<A: Act>(read: impl Read<A>) -> MethodRouter<App> {
    act_with(MethodFilter::POST, respond, read)
}

/// [`act`] for an action that takes no parameters (`…/{id}/deactivate`).
pub fn call(act: fn(&mut Db, &str) -> ApiResult<Value>) -> MethodRouter<App> {
    self::act(move |_: &mut Params| Ok(act))
}

/// [`act`] with another method (`DELETE /v1/subscriptions/{id}` cancels) or answer.
pub fn act_with<A: Act>(
    method: MethodFilter,
    answer: Answer,
    read: impl Read<A>,
) -> MethodRouter<App> {
    on_id(method, answer, move |p: &mut Params, _: &str| read(p))
}

fn on_id<A: Act>(method: MethodFilter, answer: Answer, read: impl Linked<A>) -> MethodRouter<App> {
    on(
        method,
        move |State(app): State<App>, Path(id): Path<String>, req: StripeRequest| async move {
            let mut p = req.params;
            let act = read(&mut p, app.public_url())?;
            p.finish()?;
            let obj = app.write(|db| act(db, &id))?;
            answer(&app, obj, &req.expand)
        },
    )
}

/// `POST …/{id}` on a stored object of type `kind` (`what` names it in a 404): the
/// edit `read` returns is stored and, when anything changed, announced as
/// `{kind}.updated` with its `previous_attributes` ([`Db::change`]).
pub fn update<A: Apply>(
    target: (&'static str, &'static str),
    read: impl Read<A>,
) -> MethodRouter<App> {
    update_linked(target, move |p: &mut Params, _: &str| read(p))
}

/// [`update`] for an object that links to a hosted page.
pub fn update_linked<A: Apply>(
    (kind, what): (&'static str, &'static str),
    read: impl Linked<A>,
) -> MethodRouter<App> {
    on_id(
        MethodFilter::POST,
        respond,
        move |p: &mut Params, url: &str| {
            let apply = read(p, url)?;
            Ok(move |db: &mut Db, id: &str| {
                db.change((kind, id, what), &format!("{kind}.updated"), apply)
            })
        },
    )
}

/// A resource's usual routes at `path`: list and create, then retrieve and update
/// `{path}/{id}`, for objects of type `kind`, named `kind` in a 404.
pub fn resource<K: Keep, B: Build, A: Apply>(
    (path, kind): (&'static str, &'static str),
    filter: impl Read<K>,
    create: impl Read<B>,
    update: impl Read<A>,
) -> Router<App> {
    Router::new()
        .route(path, list(kind, filter).merge(self::create(create)))
        .route(
            &format!("{path}/{{id}}"),
            retrieve(kind, kind, "id").merge(self::update((kind, kind), update)),
        )
}

/// `DELETE …/{id}` (no parameters): `remove` checks and undoes what the object of
/// type `kind` holds; the object is then replaced by its deletion stub, the answer.
pub fn delete(kind: &'static str, remove: fn(&mut Db, &str) -> ApiResult<()>) -> MethodRouter<App> {
    axum::routing::delete(
        move |State(app): State<App>, Path(id): Path<String>, req: StripeRequest| async move {
            req.params.finish()?;
            let stub = app.write(|db| {
                remove(db, &id)?;
                Ok(db.put(json!({ "id": id, "object": kind, "deleted": true })))
            })?;
            Ok::<_, ApiError>(Json(stub))
        },
    )
}

/// `GET` of a list of the stored objects of type `kind` (newest first) that the
/// filter `read` returns keeps, paged as every Stripe list is; its `url` is the route's.
pub fn list<K: Keep>(kind: &'static str, read: impl Read<K>) -> MethodRouter<App> {
    get(
        move |State(app): State<App>, url: MatchedPath, req: StripeRequest| async move {
            let mut p = req.params;
            let keep = read(&mut p)?;
            list::filtered(&app, p, &req.expand, (kind, url.as_str()), keep)
        },
    )
}

/// `GET` of a list that `read` finds in the state (a customer's payment methods, a
/// subscription's items); its `url` is the route's.
pub fn found<F: Found>(read: impl Read<F>) -> MethodRouter<App> {
    get(
        move |State(app): State<App>, url: MatchedPath, req: StripeRequest| async move {
            let mut p = req.params;
            let find = read(&mut p)?;
            let items = app.read(find)?;
            list::answer(&app, p, &req.expand, items, url.as_str())
        },
    )
}

/// `GET …/{id}/{things}`: a list that belongs to the object the path names (an
/// invoice's lines, a meter's event summaries, …); its `url` is the route's, with
/// the id filled in.
pub fn sublist<I: Items>(read: impl Read<I>) -> MethodRouter<App> {
    get(
        move |State(app): State<App>,
              Path(id): Path<String>,
              route: MatchedPath,
              req: StripeRequest| async move {
            let mut p = req.params;
            let items = read(&mut p)?;
            let items = app.read(|db| items(db, &id))?;
            let url = route.as_str().replace("{id}", &id);
            list::answer(&app, p, &req.expand, items, &url)
        },
    )
}

/// What every resource file uses.
pub mod prelude {
    pub use axum::{
        Json, Router,
        extract::{Path, State},
    };
    pub use serde_json::{Value, json};

    pub use super::{Act, Apply, Build, Found, Items, Keep};
    pub use crate::{
        app::App,
        error::{ApiError, ApiResult},
        form::{Params, merge_metadata},
        list,
        respond::{StripeRequest, respond},
        state::{Db, base_object, new_id},
    };
}
