//! A change of some routes applied to the table in force without building it again: only
//! the routes of the hosts they leave or take are decided again (claims are per host when no
//! wildcard route shares the host's domain) and only those hosts' entries replaced. The
//! table's maps are persistent, so the new table shares everything else with the one it
//! replaces and a change costs the same with 10 or 10,000 routes. What cannot be decided
//! per host (wildcard routes, services, endpoints, namespaces, a relist) takes a full build
//! (`build.rs`), after which the index is made again.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use crate::build::{self, Cache, Inputs, Outcome};
use crate::claims::Decision;
use crate::limits::Limiters;
use crate::model::RouteRecord;
use crate::table::Table;

/// The table in force, the decisions it was built with, and where each route is served.
#[derive(Default)]
pub struct Served {
    pub table: Table,
    pub outcomes: imbl::HashMap<String, Outcome>,
    /// Route keys by where they are served (their host; `*.<domain>` for wildcard routes),
    /// sorted: most hosts have one route, which a set would hold in a node of eleven.
    by_key: HashMap<String, Vec<String>>,
    /// Where each route is served.
    served_at: HashMap<String, String>,
    /// How many wildcard routes each domain has.
    wildcards: HashMap<String, usize>,
}

/// The domain a served key is under: `a.b.c` and `*.b.c` are both under `b.c`.
fn domain_of(key: &str) -> &str {
    key.split_once('.').map_or("", |(_, d)| d)
}

impl Served {
    /// Everything built again from `inputs` (unchanged routes keep their entries in `cache`).
    pub fn full(inputs: &Inputs<'_>, limiters: &mut Limiters, cache: &mut Cache) -> Served {
        let (table, outcomes) = build::build(inputs, limiters, cache);
        let mut served = Served {
            table,
            outcomes: outcomes.into_iter().collect(),
            ..Served::default()
        };
        for record in &inputs.routes {
            served.index(record.route.key(), served_key(record, inputs));
        }
        served
    }

    fn index(&mut self, route: String, key: String) {
        if key.starts_with("*.") {
            *self
                .wildcards
                .entry(domain_of(&key).to_string())
                .or_default() += 1;
        }
        let routes = self
            .by_key
            .entry(key.clone())
            .or_insert_with(|| Vec::with_capacity(1));
        if let Err(at) = routes.binary_search(&route) {
            routes.insert(at, route.clone());
        }
        self.served_at.insert(route, key);
    }

    fn unindex(&mut self, route: &str) {
        let Some(key) = self.served_at.remove(route) else {
            return;
        };
        if key.starts_with("*.")
            && let Some(n) = self.wildcards.get_mut(domain_of(&key))
        {
            *n -= 1;
            if *n == 0 {
                self.wildcards.remove(domain_of(&key));
            }
        }
        if let Some(routes) = self.by_key.get_mut(&key) {
            routes.retain(|r| r != route);
            if routes.is_empty() {
                self.by_key.remove(&key);
            }
        }
    }

    /// Applies a change of the routes `changed` (by key; `routes` holds the ones that exist
    /// and are this router's, `inputs` everything else); false, having changed nothing, when
    /// the change needs a full build.
    pub fn routes_changed(
        &mut self,
        changed: &HashSet<String>,
        routes: &imbl::HashMap<String, Arc<RouteRecord>>,
        inputs: &Inputs<'_>,
        limiters: &mut Limiters,
        cache: &mut Cache,
    ) -> bool {
        // The hosts each changed route leaves and takes; a wildcard route among them, or in
        // their domain, couples hosts: that is a full build's work.
        let mut hosts = BTreeSet::new();
        let mut moves = Vec::with_capacity(changed.len());
        for route in changed {
            let now = routes.get(route).map(|r| served_key(r, inputs));
            let before = self.served_at.get(route).cloned();
            for key in before.iter().chain(&now) {
                if key.starts_with("*.") || self.wildcards.contains_key(domain_of(key)) {
                    return false;
                }
                hosts.insert(key.clone());
            }
            moves.push((route, now));
        }
        for (route, now) in moves {
            self.unindex(route);
            match now {
                Some(key) => self.index(route.clone(), key),
                None => {
                    if let Some(gone) = self.outcomes.remove(route)
                        && gone.decision == Decision::Admitted
                    {
                        self.table.routes -= 1;
                    }
                    cache.forget(route);
                    limiters.forget(route);
                }
            }
        }
        for key in hosts {
            self.decide_host(&key, routes, inputs, limiters, cache);
        }
        true
    }

    /// Decides the routes served at `key` again and replaces its entries.
    fn decide_host(
        &mut self,
        key: &str,
        routes: &imbl::HashMap<String, Arc<RouteRecord>>,
        inputs: &Inputs<'_>,
        limiters: &mut Limiters,
        cache: &mut Cache,
    ) {
        let members: Vec<&Arc<RouteRecord>> = self
            .by_key
            .get(key)
            .into_iter()
            .flatten()
            .filter_map(|route| routes.get(route))
            .collect();
        let mut decisions = build::decide(members.iter().copied(), inputs);
        let table = &mut self.table;
        table.hosts.remove(key);
        table.passthrough.remove(key);
        table.certificates.remove(key);
        for record in members {
            let route = record.route.key();
            let decision = decisions.remove(&route).unwrap_or(Decision::Admitted);
            let outcome = build::place(record, decision, inputs, limiters, cache, table);
            let was = self
                .outcomes
                .get(&route)
                .is_some_and(|o| o.decision == Decision::Admitted);
            let is = outcome.decision == Decision::Admitted;
            table.routes = table.routes + usize::from(is) - usize::from(was);
            if !outcome.keeps_build() {
                cache.forget(&route);
                limiters.forget(&route);
            }
            self.outcomes.insert(route, outcome);
        }
        if let Some(entries) = table.hosts.get_mut(key) {
            build::order_paths(entries);
        }
    }
}

/// Where a route is served.
fn served_key(record: &RouteRecord, inputs: &Inputs<'_>) -> String {
    let route = &record.route;
    build::serving_key(route, &build::host_of(route, inputs.apps_domain))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admission::Selection;
    use k8s_openapi::api::discovery::v1::EndpointSlice;
    use serde_json::json;

    fn record(
        namespace: &str,
        name: &str,
        host: &str,
        path: &str,
        created: &str,
    ) -> Arc<RouteRecord> {
        let mut spec =
            json!({"host": host, "path": path, "to": {"kind": "Service", "name": "web"}});
        if host.starts_with("*.") {
            spec["host"] = json!(format!("w{}", &host[1..]));
            spec["wildcardPolicy"] = json!("Subdomain");
        }
        let object: kube::core::DynamicObject = serde_json::from_value(json!({
            "apiVersion": "route.openshift.io/v1", "kind": "Route",
            "metadata": {"name": name, "namespace": namespace, "uid": format!("{namespace}-{name}"),
                "resourceVersion": "1", "creationTimestamp": created},
            "spec": spec
        }))
        .unwrap();
        Arc::new(RouteRecord::from_object(object).unwrap())
    }

    fn slices() -> HashMap<String, Vec<Arc<EndpointSlice>>> {
        let slice: EndpointSlice = serde_json::from_value(json!({
            "metadata": {"name": "web-1", "namespace": "a", "resourceVersion": "1",
                "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["127.0.0.1"]}],
            "ports": [{"name": "http", "port": 8080}]
        }))
        .unwrap();
        HashMap::from([("a/web".to_string(), vec![Arc::new(slice)])])
    }

    fn inputs<'a>(
        routes: &imbl::HashMap<String, Arc<RouteRecord>>,
        selection: &'a Selection,
    ) -> Inputs<'a> {
        Inputs {
            routes: routes.values().cloned().collect(),
            services: HashMap::new(),
            slices: slices(),
            apps_domain: "apps.example",
            selection,
            service_ca: None,
        }
    }

    /// Hosts with their routes' paths, decisions by route, and the routes served.
    type View = (Vec<(String, Vec<String>)>, Vec<(String, String)>, usize);
    type Routes = imbl::HashMap<String, Arc<RouteRecord>>;
    type Step<'a> = Box<dyn Fn(&mut Routes) -> HashSet<String> + 'a>;

    /// What a table serves and what was decided, comparable between two ways of making it.
    fn view(served: &Served) -> View {
        let mut hosts: Vec<(String, Vec<String>)> = served
            .table
            .hosts
            .iter()
            .map(|(h, entries)| (h.clone(), entries.iter().map(|e| e.path.clone()).collect()))
            .collect();
        hosts.sort();
        let mut decisions: Vec<(String, String)> = served
            .outcomes
            .iter()
            .map(|(k, o)| (k.clone(), format!("{} {:?}", o.host, o.decision)))
            .collect();
        decisions.sort();
        (hosts, decisions, served.table.routes)
    }

    /// Changes applied host by host leave the table and the decisions a full build makes.
    #[test]
    fn route_changes_applied_per_host_match_a_full_build() {
        let selection = Selection::default();
        let (mut limiters, mut cache) = (Limiters::default(), Cache::default());
        let mut routes = imbl::HashMap::new();
        let add = |routes: &mut imbl::HashMap<String, Arc<RouteRecord>>, r: Arc<RouteRecord>| {
            routes.insert(r.route.key(), r.clone());
            HashSet::from([r.route.key()])
        };
        let first = record("a", "one", "one.apps.example", "", "2026-01-01T00:00:00Z");
        add(&mut routes, first.clone());
        let mut served = Served::full(&inputs(&routes, &selection), &mut limiters, &mut cache);
        let steps: Vec<Step> = vec![
            // Another namespace's newer route on the same host: refused.
            Box::new(|r| {
                add(
                    r,
                    record("b", "thief", "one.apps.example", "", "2026-01-02T00:00:00Z"),
                )
            }),
            // A path of the same namespace: both served, longest path first.
            Box::new(|r| {
                add(
                    r,
                    record(
                        "a",
                        "sub",
                        "one.apps.example",
                        "/sub",
                        "2026-01-03T00:00:00Z",
                    ),
                )
            }),
            // A host of its own; then moved onto another.
            Box::new(|r| {
                add(
                    r,
                    record("a", "two", "two.apps.example", "", "2026-01-04T00:00:00Z"),
                )
            }),
            Box::new(|r| {
                add(
                    r,
                    record("a", "two", "three.apps.example", "", "2026-01-04T00:00:00Z"),
                )
            }),
            // The owner gone: the other namespace's routes are served.
            Box::new(|r| {
                r.remove("a/one");
                r.remove("a/sub");
                HashSet::from(["a/one".to_string(), "a/sub".to_string()])
            }),
            // A host outside the router's domains' rules is still decided (no host: refused).
            Box::new(|r| add(r, record("a", "nohost", "", "", "2026-01-05T00:00:00Z"))),
        ];
        for (i, step) in steps.iter().enumerate() {
            let changed = step(&mut routes);
            let before = served.table.clone();
            assert!(
                served.routes_changed(
                    &changed,
                    &routes,
                    &inputs(&routes, &selection),
                    &mut limiters,
                    &mut cache
                ),
                "step {i} applied per host"
            );
            let full = Served::full(
                &inputs(&routes, &selection),
                &mut Limiters::default(),
                &mut Cache::default(),
            );
            assert_eq!(view(&served), view(&full), "step {i}");
            // The table replaced keeps the one before unchanged.
            assert!(before.routes <= 3);
        }
        assert_eq!(
            served
                .table
                .lookup("one.apps.example", "/")
                .map(|e| e.path.as_str()),
            Some("")
        );
        assert!(served.table.lookup("two.apps.example", "/").is_none());
        assert!(served.table.lookup("three.apps.example", "/").is_some());
        // A wildcard route couples the hosts of its domain: that takes a full build.
        let changed = add(
            &mut routes,
            record("c", "wild", "*.apps.example", "", "2026-01-06T00:00:00Z"),
        );
        assert!(!served.routes_changed(
            &changed,
            &routes,
            &inputs(&routes, &selection),
            &mut limiters,
            &mut cache
        ));
    }

    /// The cost of one new route with 10,000 served, applied per host.
    /// `cargo test --release -p router new_route_time -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn new_route_time_with_ten_thousand_routes() {
        let selection = Selection::default();
        let (mut limiters, mut cache) = (Limiters::default(), Cache::default());
        let mut routes: imbl::HashMap<String, Arc<RouteRecord>> = (0..10_000)
            .map(|i| {
                let r = record(
                    "a",
                    &format!("r{i}"),
                    &format!("r{i}.apps.example"),
                    "",
                    "2026-01-01T00:00:00Z",
                );
                (r.route.key(), r)
            })
            .collect();
        let mut served = Served::full(&inputs(&routes, &selection), &mut limiters, &mut cache);
        let new = record("a", "new", "new.apps.example", "", "2026-01-02T00:00:00Z");
        routes.insert(new.route.key(), new.clone());
        let mut only = inputs(&routes, &selection);
        only.routes.clear();
        let start = std::time::Instant::now();
        let applied = served.routes_changed(
            &HashSet::from([new.route.key()]),
            &routes,
            &only,
            &mut limiters,
            &mut cache,
        );
        let table = served.table.clone();
        let took = start.elapsed();
        assert!(applied);
        assert_eq!(table.routes, 10_001);
        assert!(table.lookup("new.apps.example", "/").is_some());
        println!(
            "10,000 routes: one new route applied in {:.3} ms",
            took.as_secs_f64() * 1e3
        );
    }
}
