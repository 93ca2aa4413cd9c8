//! Deploy-by-digest attestations at admission (`binaryauthorization.oxshift.io/
//! BinaryAuthorization`, validating, after the image trust policy): every image a pod or a pod
//! template names anew is judged by the rule of its namespace in `Policy cluster`. Under
//! `REQUIRE_ATTESTATION` an image must be named by digest (a tag is refused naming the digest
//! it points to now) and attested by every attestor the rule requires. The pod annotation
//! `alpha.image-policy.k8s.io/break-glass: "true"` admits a violating pod; dry-run rules admit
//! and record; when nothing can be decided (a key that cannot be read) the rule's
//! `failurePolicy` decides, open by default. Every decision is an audit annotation
//! (`imagepolicy.oxshift.io/…`) and a count on `/metrics`.

mod attestations;
mod decision;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use trust::ImageName;
use trust::attestation::{AdmissionPolicy, Evaluation, Rule, Verdict};

use attestations::Attested;
pub use decision::Decision;

use super::image_trust::Puller;
use super::{Attributes, Operation};
use crate::ApiServer;
use crate::error::ApiError;
use crate::registry::binary_authorization::POLICY_NAME;
use crate::watch::cache::Derived;

pub const NAME: &str = "binaryauthorization.oxshift.io/BinaryAuthorization";
/// The pod annotation that admits a pod violating the policy (always audited).
pub const BREAK_GLASS: &str = "alpha.image-policy.k8s.io/break-glass";

/// Attestations' verdicts, by the revisions they were reached at, and the index of the
/// attestations' watch cache.
#[derive(Default)]
pub struct State {
    verdicts: Mutex<HashMap<String, Verdict>>,
    index: Derived<attestations::Index>,
}

/// Where one request reads attestations: the watch cache's index, and the namespace's list
/// from the store once the index has missed one.
#[derive(Default)]
struct Sources {
    index: Option<Arc<attestations::Index>>,
    listed: Option<Vec<Value>>,
}

/// Creates and updates of pods and of the kinds holding a pod template.
pub fn applies(a: &Attributes<'_>) -> bool {
    matches!(a.operation, Operation::Create | Operation::Update)
        && a.subresource.is_empty()
        && a.def.pod_spec.is_some()
}

/// What was found wrong with the images, what could not be decided, and whether any image
/// was judged by a rule that does not admit everything.
#[derive(Default)]
struct Findings {
    violations: Vec<String>,
    unknown: Vec<String>,
    evaluated: bool,
}

pub async fn check(server: &ApiServer, a: &Attributes<'_>, obj: &Value) -> Result<(), ApiError> {
    let Some(path) = a.def.pod_spec else {
        return Ok(());
    };
    // As image trust's: the policy first, most clusters have none.
    let Some(policy) = policy(server).await? else {
        return Ok(());
    };
    let images = super::image_trust::new_images(a, obj, path);
    if images.is_empty() {
        return Ok(());
    }
    let namespace = a.namespace.unwrap_or_default();
    let (rule_name, rule) = policy.rule_for(namespace);
    let puller = Puller::of(namespace, super::image_trust::pod_spec(obj, path));
    let mut findings = Findings::default();
    let mut attestations = Sources::default();
    for spec in &images {
        let name = ImageName::parse(spec).ok();
        if policy
            .exempting(spec, name.as_ref().map(ImageName::full).as_deref())
            .is_some()
        {
            continue;
        }
        judge(
            server,
            &rule_name,
            rule,
            &puller,
            spec,
            name,
            &mut attestations,
            &mut findings,
        )
        .await?;
    }
    let break_glass = break_glass(obj, path);
    // As GKE's audit log: images admitted by `ALWAYS_ALLOW` (or exempt) leave no record;
    // rules that judged images and break-glass do.
    if !findings.evaluated && !break_glass {
        return Ok(());
    }
    let decision = Decision::reach(rule, break_glass, &findings.violations, &findings.unknown);
    decision.record(
        server,
        &rule_name,
        rule,
        &findings.violations,
        &findings.unknown,
    );
    if !decision.refuses() {
        return Ok(());
    }
    let reasons = if findings.violations.is_empty() {
        &findings.unknown
    } else {
        &findings.violations
    };
    Err(a.forbidden(obj, reasons.join("; ")))
}

/// One image under `rule`.
#[allow(clippy::too_many_arguments)]
async fn judge(
    server: &ApiServer,
    rule_name: &str,
    rule: &Rule,
    puller: &Puller,
    spec: &str,
    name: Option<ImageName>,
    sources: &mut Sources,
    findings: &mut Findings,
) -> Result<(), ApiError> {
    let denied =
        |why: &str| format!("image {spec} denied by Binary Authorization {rule_name}: {why}");
    findings.evaluated |= !matches!(rule.evaluation, Evaluation::AlwaysAllow);
    let required = match &rule.evaluation {
        Evaluation::AlwaysAllow => return Ok(()),
        Evaluation::AlwaysDeny => {
            findings
                .violations
                .push(denied("the rule denies every image"));
            return Ok(());
        }
        Evaluation::RequireAttestation(attestors) => attestors,
    };
    let Some(name) = name else {
        findings
            .violations
            .push(denied("the image name does not parse"));
        return Ok(());
    };
    if name.digest.is_none() {
        let resolved = super::image_trust::resolve(server, &name, puller).await?;
        let now = match (resolved.digest, resolved.unresolved) {
            (Some(d), _) => format!(
                "; the tag {:?} points to {}@{d} now",
                name.tag.as_deref().unwrap_or("latest"),
                name.repository()
            ),
            (None, Some(why)) => format!("; {why}"),
            (None, None) => String::new(),
        };
        findings.violations.push(denied(&format!(
            "attestations are looked up by digest: the image must be referenced by digest, not by a tag{now}"
        )));
        return Ok(());
    }
    let index = match &sources.index {
        Some(index) => index.clone(),
        None => sources
            .index
            .insert(attestations::index(server).await?)
            .clone(),
    };
    let namespace = puller.namespace.as_str();
    let mut missing = Vec::new();
    let mut reasons = Vec::new();
    for attestor in required {
        let cached = index.of_image(namespace, attestor, &name);
        let mut attested = attestations::attested(server, &cached, attestor).await?;
        if attested != Attested::Yes {
            // The cache may not have seen an attestation created a moment ago.
            if sources.listed.is_none() {
                sources.listed = Some(list_attestations(server, namespace).await?);
            }
            let listed = sources.listed.as_deref().unwrap_or_default();
            let fresh = attestations::of_image(listed, attestor, &name);
            attested = attestations::attested(server, &fresh, attestor).await?;
        }
        match attested {
            Attested::Yes => {}
            Attested::No(why) => {
                missing.push(attestor.as_str());
                reasons.push(why);
            }
            Attested::Unknown(why) => findings.unknown.push(format!(
                "image {spec}: the attestations of {attestor:?} could not be verified: {why}"
            )),
        }
    }
    if !missing.is_empty() {
        findings.violations.push(denied(&format!(
            "no attestations found that were valid and signed by a key trusted by the attestor(s) {} ({})",
            missing.join(", "),
            reasons.join("; ")
        )));
    }
    Ok(())
}

/// `Policy cluster`, None when there is none (everything is admitted).
async fn policy(server: &ApiServer) -> Result<Option<AdmissionPolicy>, ApiError> {
    let Some((def, cache)) = server
        .named_cache("binaryauthorization.oxshift.io", "v1", "policies")
        .await?
    else {
        return Ok(None);
    };
    // As the image trust policy: every pod create asks (`image_trust::policy::current`).
    let Some(obj) = server
        .fresh_cached_object(def, &cache, None, POLICY_NAME)
        .await?
    else {
        return Ok(None);
    };
    AdmissionPolicy::parse(&obj["spec"]).map(Some).map_err(|p| {
        ApiError::Internal(format!(
            "the stored Binary Authorization policy does not parse ({} problems)",
            p.len()
        ))
    })
}

async fn list_attestations(server: &ApiServer, namespace: &str) -> Result<Vec<Value>, ApiError> {
    match server
        .scheme
        .lookup("binaryauthorization.oxshift.io", "v1", "attestations")
    {
        Some(def) => server.list_objects(def, Some(namespace)).await,
        None => Ok(Vec::new()),
    }
}

/// Whether the pod (or the pod template at `path`'s metadata, or the object) carries the
/// break-glass annotation.
fn break_glass(obj: &Value, path: &str) -> bool {
    let template = path
        .strip_suffix("spec")
        .map(|p| format!("{p}metadata"))
        .unwrap_or_default();
    let meta = template.split('.').fold(obj, |v, k| &v[k]);
    [meta, &obj["metadata"]]
        .iter()
        .any(|m| m["annotations"][BREAK_GLASS] == "true")
}

#[cfg(test)]
mod tests;
