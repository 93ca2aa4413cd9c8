//! The built-in kinds served in more than one version, and how each converts: the
//! HorizontalPodAutoscalers of `autoscaling/v1` (stored in v2) and the Events of
//! `events.k8s.io/v1` (stored as core Events).

use std::sync::{Arc, LazyLock};

use api::scheme::ResourceDef;
use serde_json::Value;

use super::{Conversion, How, events, hpa};

static AUTOSCALERS: LazyLock<Arc<Conversion>> = LazyLock::new(|| {
    Arc::new(Conversion {
        kind: "HorizontalPodAutoscaler",
        storage: hpa::V2.into(),
        api_versions: vec![hpa::V2.into(), hpa::V1.into()],
        how: How::Builtin(hpa::convert),
    })
});

static EVENTS: LazyLock<Arc<Conversion>> = LazyLock::new(|| {
    Arc::new(Conversion {
        kind: "Event",
        storage: events::CORE.into(),
        api_versions: vec![events::CORE.into(), events::EVENTS.into()],
        how: How::Builtin(events::convert),
    })
});

/// The conversion of a built-in kind served in several versions.
pub fn of(def: &ResourceDef) -> Option<Arc<Conversion>> {
    match (def.group, def.plural) {
        ("autoscaling", "horizontalpodautoscalers") => Some(AUTOSCALERS.clone()),
        ("" | "events.k8s.io", "events") => Some(EVENTS.clone()),
        _ => None,
    }
}

/// `obj`, an object of `def`, as it is stored: what upstream's printers and strategies see
/// (its internal version) for kinds converted here; `obj` itself for the rest.
pub fn stored_form(def: &ResourceDef, obj: &Value) -> Option<Value> {
    let conversion = of(def)?;
    let How::Builtin(convert) = &conversion.how else {
        return None;
    };
    (obj["apiVersion"].as_str() != Some(conversion.storage.as_str()))
        .then(|| convert(obj, &conversion.storage))
}
