//! `oc rollout history|undo` of StatefulSets and DaemonSets, as kubectl's: their history is
//! the ControllerRevisions they control (each `data` the patch `{"spec":{"template":...}}`
//! that restores its template), listed by revision with the change cause, one shown with
//! `--revision`, and rolled back to by applying that patch.

use std::collections::BTreeMap;

use http::Method;
use serde_json::Value;

use crate::client::{Session, encode, send};
use crate::error::CliError;
use crate::objects::Target;

/// The revisions `set` controls, by revision number.
async fn revisions(s: &Session, t: &Target, set: &Value) -> Result<BTreeMap<i64, Value>, CliError> {
    let ns = t.namespace.clone().unwrap_or_default();
    let selector = api::selector::format_label_selector(set["spec"].get("selector"));
    let list = s
        .get(&format!(
            "/apis/apps/v1/namespaces/{ns}/controllerrevisions?labelSelector={}",
            encode(&selector)
        ))
        .await?;
    let uid = &set["metadata"]["uid"];
    Ok(list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| {
            r["metadata"]["ownerReferences"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|o| o["uid"] == *uid && o["controller"] == true)
        })
        .map(|r| (r["revision"].as_i64().unwrap_or(0), r.clone()))
        .collect())
}

/// The pod template a revision restores.
fn template_of(revision: &Value) -> Value {
    let mut template = revision["data"]["spec"]["template"].clone();
    if let Some(t) = template.as_object_mut() {
        t.remove("$patch");
    }
    template
}

/// A pod template as kubectl's history prints it (its describer, untabulated).
fn print_template(template: &Value) -> String {
    let mut out = String::new();
    super::describe::describe_pod_template(&mut out, template);
    out
}

/// kubectl's history viewer of a set: the overview, or one revision's template.
pub async fn history(s: &Session, t: &Target, revision: i64) -> Result<String, CliError> {
    let set = s.get(&t.path()).await?;
    let history = revisions(s, t, &set).await?;
    let text = if history.is_empty() {
        "No rollout history found.".to_string()
    } else if revision > 0 {
        let r = history
            .get(&revision)
            .ok_or_else(|| CliError::msg("unable to find the specified revision"))?;
        print_template(&template_of(r))
    } else {
        let mut table = String::from("REVISION\tCHANGE-CAUSE\n");
        for (number, r) in &history {
            let cause = r["metadata"]["annotations"]["kubernetes.io/change-cause"]
                .as_str()
                .filter(|c| !c.is_empty())
                .unwrap_or("<none>");
            table.push_str(&format!("{number}\t{cause}\n"));
        }
        crate::printers::tabwriter::format(&table)
    };
    let with = match revision {
        r if r > 0 => format!("with revision #{r}"),
        _ => String::new(),
    };
    Ok(format!("{} {with}\n{text}\n", t.display()))
}

/// The revision an undo goes to (kubectl's findHistory): the one before the newest, or
/// the one asked.
fn target_revision(history: &BTreeMap<i64, Value>, to_revision: i64) -> Result<&Value, CliError> {
    let not_found = || {
        CliError::msg(format!(
            "unable to find specified revision {to_revision} in history"
        ))
    };
    if to_revision < 0 {
        return Err(not_found());
    }
    if to_revision == 0 {
        if history.len() <= 1 {
            return Err(CliError::msg("no last revision to roll back to"));
        }
        return history.values().rev().nth(1).ok_or_else(not_found);
    }
    history.get(&to_revision).ok_or_else(not_found)
}

/// kubectl's rollbacker of a set: its template patched back to the revision's.
pub async fn undo(s: &Session, t: &Target, to_revision: i64) -> Result<(), CliError> {
    let set = s.get(&t.path()).await?;
    let history = revisions(s, t, &set).await?;
    let revision = target_revision(&history, to_revision)?;
    if template_of(revision) == set["spec"]["template"] {
        println!(
            "{} skipped rollback (current template already matches revision {to_revision})",
            t.display()
        );
        return Ok(());
    }
    let patch = serde_json::to_vec(&revision["data"]).map_err(|e| CliError::msg(e.to_string()))?;
    send(
        &s.client,
        Method::PATCH,
        &t.path(),
        &[],
        Some(("application/strategic-merge-patch+json", patch)),
    )
    .await
    .map_err(|e| {
        let why = match &e {
            CliError::Server { message, .. } => message.clone(),
            other => other.to_string(),
        };
        CliError::msg(format!("failed restoring revision {to_revision}: {why}"))
    })?;
    println!("{} rolled back", t.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn revision(n: i64, image: &str) -> (i64, Value) {
        let data = json!({"spec": {"template": {"$patch": "replace",
            "spec": {"containers": [{"name": "main", "image": image}]}}}});
        (n, json!({"revision": n, "data": data}))
    }

    #[test]
    fn an_undo_goes_to_the_revision_before_the_newest_or_the_one_asked() {
        let history: BTreeMap<i64, Value> =
            [revision(1, "a"), revision(3, "c"), revision(2, "b")].into();
        assert_eq!(target_revision(&history, 0).unwrap()["revision"], 2);
        assert_eq!(target_revision(&history, 1).unwrap()["revision"], 1);
        let missing = target_revision(&history, 7).unwrap_err().to_string();
        assert_eq!(
            missing,
            "error: unable to find specified revision 7 in history"
        );
        let one: BTreeMap<i64, Value> = [revision(1, "a")].into();
        assert_eq!(
            target_revision(&one, 0).unwrap_err().to_string(),
            "error: no last revision to roll back to"
        );
        assert_eq!(
            template_of(&history[&1]),
            json!({"spec": {"containers": [{"name": "main", "image": "a"}]}})
        );
    }
}
