//! `/v1/products`.

use super::rest::{self, prelude::*};

pub fn routes() -> Router<App> {
    rest::resource(("/v1/products", "product"), filter, create, update)
}

fn create(p: &mut Params) -> ApiResult<impl Build + use<>> {
    let name = p.req_str("name")?;
    let active = p.bool("active")?.unwrap_or(true);
    let description = p.str("description")?;
    let url = p.str("url")?;
    let unit_label = p.str("unit_label")?;
    let metadata = p.metadata()?;
    let id = p.str("id")?;
    Ok(move |db: &mut Db| {
        let mut obj = base_object(db, "prod", "product");
        if let Some(id) = id {
            obj["id"] = json!(id);
        }
        obj["name"] = json!(name);
        obj["active"] = json!(active);
        obj["description"] = json!(description);
        obj["url"] = json!(url);
        obj["unit_label"] = json!(unit_label);
        obj["images"] = json!([]);
        obj["marketing_features"] = json!([]);
        obj["package_dimensions"] = Value::Null;
        obj["shippable"] = Value::Null;
        obj["statement_descriptor"] = Value::Null;
        obj["tax_code"] = Value::Null;
        obj["default_price"] = Value::Null;
        obj["type"] = json!("service");
        obj["updated"] = obj["created"].clone();
        merge_metadata(&mut obj, metadata);
        let obj = db.insert(obj);
        db.emit("product.created", &obj, None);
        Ok(obj)
    })
}

fn update(p: &mut Params) -> ApiResult<impl Apply + use<>> {
    let name = p.str("name")?;
    let active = p.bool("active")?;
    let description = p.str("description")?;
    let url = p.str("url")?;
    let unit_label = p.str("unit_label")?;
    let default_price = p.str("default_price")?;
    let metadata = p.metadata()?;
    Ok(move |db: &mut Db, obj: &mut Value| {
        if let Some(price) = &default_price {
            db.fetch("price", price, "price", "default_price")?;
        }
        if let Some(v) = active {
            obj["active"] = json!(v);
        }
        for (key, value) in [
            ("name", name),
            ("description", description),
            ("url", url),
            ("unit_label", unit_label),
            ("default_price", default_price),
        ] {
            if let Some(v) = value {
                obj[key] = json!(v);
            }
        }
        merge_metadata(obj, metadata);
        obj["updated"] = json!(db.now());
        Ok(())
    })
}

fn filter(p: &mut Params) -> ApiResult<impl Keep + use<>> {
    let active = p.bool("active")?;
    let url = p.str("url")?;
    let ids = p.str_list("ids")?;
    Ok(move |o: &Value| {
        list::is(o, "active", &active)
            && list::is(o, "url", &url)
            && ids
                .as_ref()
                .is_none_or(|ids| ids.iter().any(|id| o["id"] == json!(id)))
    })
}
