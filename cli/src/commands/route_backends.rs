//! `oc set route-backends ROUTE [SERVICE=WEIGHT...]`: a route's backends and their weights
//! (`spec.to` then `spec.alternateBackends`), as upstream: shown without changes; set by
//! name; `--adjust` one by a number, `+N`/`-N`, or a percentage of the total; `--zero` or
//! `--equal` all of them.

use http::Method;
use serde_json::{Value, json};

use super::Globals;
use crate::client::session;
use crate::error::CliError;

#[derive(Debug, Default, clap::Args)]
pub struct RouteBackendsArgs {
    /// The route (`NAME` or `routes/NAME`), then `SERVICE=WEIGHT` pairs.
    pub args: Vec<String>,
    /// Change one backend's weight relative to its current one.
    #[arg(long)]
    pub adjust: bool,
    /// Set every backend's weight to zero.
    #[arg(long)]
    pub zero: bool,
    /// Give every backend the same weight.
    #[arg(long)]
    pub equal: bool,
}

/// The route's backends as `(name, weight)`.
fn backends(route: &Value) -> Vec<(String, i64)> {
    let spec = &route["spec"];
    std::iter::once(&spec["to"])
        .chain(spec["alternateBackends"].as_array().into_iter().flatten())
        .filter_map(|b| {
            Some((
                b["name"].as_str()?.to_string(),
                b["weight"].as_i64().unwrap_or(100),
            ))
        })
        .collect()
}

/// The backends after the changes asked for.
pub fn changed(
    mut list: Vec<(String, i64)>,
    pairs: &[(String, String)],
    a: &RouteBackendsArgs,
) -> Result<Vec<(String, i64)>, CliError> {
    if a.zero {
        list.iter_mut().for_each(|b| b.1 = 0);
    }
    if a.equal {
        list.iter_mut().for_each(|b| b.1 = 100);
    }
    for (name, value) in pairs {
        let total: i64 = list.iter().filter(|b| &b.0 != name).map(|b| b.1).sum();
        let current = list.iter().find(|b| &b.0 == name).map_or(0, |b| b.1);
        let bad = || CliError::msg(format!("invalid weight value {value:?}"));
        let weight = if let Some(percent) = value.strip_suffix('%') {
            let p: i64 = percent.trim_start_matches('+').parse().map_err(|_| bad())?;
            let p = match a.adjust {
                true => (current * 100 / (total + current).max(1)) + p,
                false => p,
            }
            .clamp(0, 100);
            match p {
                100 => 256.min(total.max(1) * 100),
                p => total * p / (100 - p),
            }
        } else if a.adjust && (value.starts_with('+') || value.starts_with('-')) {
            current + value.parse::<i64>().map_err(|_| bad())?
        } else {
            value.parse::<i64>().map_err(|_| bad())?
        };
        let weight = weight.clamp(0, 256);
        let count = list.len();
        match list.iter_mut().find(|b| &b.0 == name) {
            Some(b) => b.1 = weight,
            None if count < 4 => list.push((name.clone(), weight)),
            None => {
                return Err(CliError::msg(
                    "a route may have at most 3 alternate backends",
                ));
            }
        }
    }
    Ok(list)
}

fn print(route: &str, list: &[(String, i64)]) {
    let total: i64 = list.iter().map(|b| b.1).sum();
    let rows: Vec<[String; 4]> = list
        .iter()
        .map(|(name, w)| {
            let share = if total > 0 { w * 100 / total } else { 0 };
            [
                format!("routes/{route}"),
                "Service".into(),
                name.clone(),
                format!("{w} ({share}%)"),
            ]
        })
        .collect();
    let header = [
        "NAME".to_string(),
        "KIND".into(),
        "TO".into(),
        "WEIGHT".into(),
    ];
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].len())
            .chain([header[i].len()])
            .max()
            .unwrap_or(0)
    };
    let widths = [width(0), width(1), width(2)];
    for row in std::iter::once(&header).chain(&rows) {
        println!(
            "{:w0$}   {:w1$}   {:w2$}   {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
    }
}

pub async fn run(g: &Globals, a: &RouteBackendsArgs) -> Result<(), CliError> {
    let Some(first) = a.args.first() else {
        return Err(CliError::msg(
            "one or more resources must be specified as <resource> <name> or <resource>/<name>",
        ));
    };
    let route_name = first
        .strip_prefix("routes/")
        .or_else(|| first.strip_prefix("route/"))
        .unwrap_or(first)
        .to_string();
    let mut pairs = Vec::new();
    for pair in &a.args[1..] {
        let Some((name, weight)) = pair.split_once('=') else {
            return Err(CliError::msg(format!(
                "invalid argument {pair:?}: expected SERVICE=WEIGHT"
            )));
        };
        pairs.push((name.to_string(), weight.to_string()));
    }
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    let path = format!(
        "/apis/route.openshift.io/v1/namespaces/{}/routes/{route_name}",
        s.namespace
    );
    let mut route = s.get(&path).await?;
    if pairs.is_empty() && !a.zero && !a.equal {
        print(&route_name, &backends(&route));
        return Ok(());
    }
    let list = changed(backends(&route), &pairs, a)?;
    let mut entries = list
        .iter()
        .map(|(name, w)| json!({"kind": "Service", "name": name, "weight": w}));
    if let Some(to) = entries.next() {
        route["spec"]["to"] = to;
    }
    let alternates: Vec<Value> = entries.collect();
    match alternates.is_empty() {
        true => drop(
            route["spec"]
                .as_object_mut()
                .map(|s| s.remove("alternateBackends")),
        ),
        false => route["spec"]["alternateBackends"] = json!(alternates),
    }
    s.write(Method::PUT, &path, &route).await?;
    println!("route.route.openshift.io/{route_name} backends updated");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(adjust: bool) -> RouteBackendsArgs {
        RouteBackendsArgs {
            adjust,
            ..Default::default()
        }
    }

    #[test]
    fn weights_set_added_and_adjusted() {
        let list = vec![("a".to_string(), 100)];
        let set = changed(
            list.clone(),
            &[("a".into(), "3".into()), ("b".into(), "1".into())],
            &args(false),
        )
        .unwrap();
        assert_eq!(set, [("a".to_string(), 3), ("b".to_string(), 1)]);
        let adjusted = changed(set, &[("b".into(), "+4".into())], &args(true)).unwrap();
        assert_eq!(adjusted[1].1, 5);
        let percent = changed(
            vec![("a".into(), 30), ("b".into(), 10)],
            &[("b".into(), "50%".into())],
            &args(false),
        )
        .unwrap();
        assert_eq!(percent[1].1, 30);
    }
}
