//! Service cluster IPs (from the service network, `172.30.0.0/16` as OpenShift's default) and
//! node ports (30000-32767), as upstream allocates them: each range is one bitmap, persisted
//! in the store under a key of its own and changed by compare-and-swap, so that no two
//! services are given the same value, whichever API server handles them.
//!
//! A write of a service takes what it needs before the service is stored; the `Claim` it
//! gets gives the values back unless the write is kept, and gives back what the service no
//! longer holds once it is. A deleted service's values are given back after its deletion.
//! The repair pass (at start, then every three minutes) puts the values of services stored
//! before the bitmaps existed into them, and frees values left taken by writes that never
//! landed.

mod bitmap;
mod checks;
mod normalize;
mod range;
mod repair;
mod spec;
mod stored;
#[cfg(test)]
mod tests;
mod wants;

use std::sync::Arc;

use serde_json::{Value, json};
use storage::Store;

use crate::ApiServer;
use crate::error::ApiError;
use range::Range;
pub use repair::start as start_repair;
use wants::{Held, Want, Wanted};

/// The values a write of a service took, and those it stops holding.
#[must_use = "a claim that is dropped gives its values back"]
pub struct Claim {
    /// Where to give values back; none for dry runs.
    store: Option<Arc<dyn Store>>,
    /// Taken for this write: given back unless it is kept.
    fresh: Vec<(Range, usize)>,
    /// Held by the service before this write and not after: given back once it is kept.
    freed: Vec<(Range, usize)>,
}

impl Claim {
    /// A claim of nothing.
    pub fn none() -> Claim {
        Claim {
            store: None,
            fresh: Vec::new(),
            freed: Vec::new(),
        }
    }

    /// The write was stored: the service keeps what it took and gives back what it no
    /// longer holds.
    pub async fn keep(mut self) {
        self.fresh.clear();
        let freed = std::mem::take(&mut self.freed);
        if let Some(store) = &self.store {
            release(store.as_ref(), &freed).await;
        }
    }

    async fn give_back(&mut self) {
        let fresh = std::mem::take(&mut self.fresh);
        if let Some(store) = &self.store {
            release(store.as_ref(), &fresh).await;
        }
    }
}

impl Drop for Claim {
    /// The write failed after its values were taken (a name taken, admission refused, a
    /// conflict): they are given back. What a crash loses here, the repair pass frees.
    fn drop(&mut self) {
        let fresh = std::mem::take(&mut self.fresh);
        let (Some(store), false) = (self.store.take(), fresh.is_empty()) else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { release(store.as_ref(), &fresh).await });
        }
    }
}

/// Gives a service what its type needs: a cluster IP (with its IP family fields) and node
/// ports, kept from `before` on updates, the user's choices taken if free, the rest picked.
/// Refuses what upstream refuses (a value taken or out of range, a changed cluster IP) with
/// its messages. A dry run takes nothing.
pub async fn assign(
    server: &ApiServer,
    svc: &mut Value,
    before: Option<&Value>,
    dry_run: bool,
) -> Result<Claim, ApiError> {
    if !svc["spec"].is_object() {
        return Ok(Claim::none());
    }
    match before {
        Some(old) => normalize::prepare_update(svc, old),
        None => normalize::prepare_create(svc),
    }
    checks::validate(svc, before)?;
    let wanted = wants::wanted(svc)?;
    let held = before.map(wants::held).unwrap_or_default();
    let mut claim = Claim::none();
    claim.store = (!dry_run).then(|| server.store.clone());
    if let Err(e) = take(
        server.store.as_ref(),
        svc,
        &wanted,
        &held,
        dry_run,
        &mut claim,
    )
    .await
    {
        claim.give_back().await;
        return Err(e);
    }
    let now = wants::held(svc).values();
    claim.freed = held
        .values()
        .into_iter()
        .filter(|v| !now.contains(v))
        .collect();
    normalize::set_ip_families(svc);
    Ok(claim)
}

/// Gives back what a deleted service held; called once its deletion is stored.
pub async fn deleted(server: &ApiServer, svc: &Value) {
    release(server.store.as_ref(), &wants::held(svc).values()).await;
}

/// Takes what `wanted` asks beyond `held`, and writes the values picked into `svc`.
async fn take(
    store: &dyn Store,
    svc: &mut Value,
    wanted: &Wanted,
    held: &Held,
    dry_run: bool,
    claim: &mut Claim,
) -> Result<(), ApiError> {
    match wanted.ip {
        Some(Want::Exact(ip)) if held.ip != Some(ip) => {
            let shown = range::ip_at(ip);
            let taken = checks::ip_error(
                svc,
                &format!("failed to allocate IP {shown}: provided IP is already allocated"),
            );
            take_in(store, Range::ClusterIps, dry_run, &[(ip, taken)], 0).await?;
            claim.fresh.push((Range::ClusterIps, ip));
        }
        Some(Want::Any) => {
            let picked = take_in(store, Range::ClusterIps, dry_run, &[], 1).await?;
            claim
                .fresh
                .extend(picked.iter().map(|&ip| (Range::ClusterIps, ip)));
            let ip = picked.first().map(|&o| range::ip_at(o).to_string());
            svc["spec"]["clusterIP"] = json!(ip);
            svc["spec"]["clusterIPs"] = json!([ip]);
        }
        Some(Want::Exact(_)) | None => {}
    }
    // Node ports: the chosen ones not held yet, then one pick per port (or health check)
    // that has none.
    let mut chosen = Vec::new();
    for port in &wanted.ports {
        if let Want::Exact(offset) = port.want
            && !held.ports.contains(&offset)
            && !chosen.iter().any(|(o, _)| *o == offset)
        {
            let (i, value) = (port.indexes[0], range::port_at(offset));
            let taken = checks::port_error(svc, i, value, "provided port is already allocated");
            chosen.push((offset, taken));
        }
    }
    if let Some(Want::Exact(offset)) = wanted.health_check
        && !held.ports.contains(&offset)
        && !chosen.iter().any(|(o, _)| *o == offset)
    {
        let value = range::port_at(offset);
        let taken = ApiError::Internal(format!(
            "failed to allocate requested HealthCheck NodePort {value}: provided port is already allocated"
        ));
        chosen.push((offset, taken));
    }
    let wanting = wanted.ports.iter().filter(|p| p.want == Want::Any).count()
        + usize::from(wanted.health_check == Some(Want::Any));
    if chosen.is_empty() && wanting == 0 {
        return Ok(());
    }
    let picked = take_in(store, Range::NodePorts, dry_run, &chosen, wanting).await?;
    claim
        .fresh
        .extend(chosen.iter().map(|(o, _)| (Range::NodePorts, *o)));
    claim
        .fresh
        .extend(picked.iter().map(|&o| (Range::NodePorts, o)));
    let mut picks = picked.into_iter();
    for port in &wanted.ports {
        let offset = match port.want {
            Want::Exact(offset) => offset,
            Want::Any => picks.next().unwrap_or_default(),
        };
        for &i in &port.indexes {
            svc["spec"]["ports"][i]["nodePort"] = json!(range::port_at(offset));
        }
    }
    if wanted.health_check == Some(Want::Any)
        && let Some(offset) = picks.next()
    {
        svc["spec"]["healthCheckNodePort"] = json!(range::port_at(offset));
    }
    Ok(())
}

/// Takes the `chosen` values (failing with the error beside the first one already taken)
/// and `picks` free ones in `range`, all at once; returns the picks. A dry run only looks.
async fn take_in(
    store: &dyn Store,
    range: Range,
    dry_run: bool,
    chosen: &[(usize, ApiError)],
    picks: usize,
) -> Result<Vec<usize>, ApiError> {
    let full = ApiError::Internal(match range {
        Range::ClusterIps => "failed to allocate a serviceIP: range is full".into(),
        Range::NodePorts => "failed to allocate a nodePort: range is full".into(),
    });
    let change = |bitmap: &mut bitmap::Bitmap| {
        for (offset, taken) in chosen {
            if !bitmap.allocate(*offset) {
                return Err(taken.clone());
            }
        }
        let picked = (0..picks).map(|_| bitmap.allocate_next());
        picked
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| full.clone())
    };
    match dry_run {
        true => stored::preview(store, range, change).await,
        false => stored::update(store, range, change).await,
    }
}

/// Frees `values` in their ranges. A failure leaves them to the repair pass.
async fn release(store: &dyn Store, values: &[(Range, usize)]) {
    for range in Range::ALL {
        let mine: Vec<usize> = values
            .iter()
            .filter(|(r, _)| *r == range)
            .map(|(_, offset)| *offset)
            .collect();
        if mine.is_empty() {
            continue;
        }
        let freed = stored::update(store, range, |bitmap| {
            for &offset in &mine {
                bitmap.release(offset);
            }
            Ok(())
        });
        if let Err(error) = freed.await {
            tracing::warn!(%error, range = range.spec(), "releasing service addresses failed; the repair pass will");
        }
    }
}
