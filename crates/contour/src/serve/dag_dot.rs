//! `/debug/dag`: the configuration graph in Graphviz dot, as upstream's
//! `digraph DAG { rankdir="LR" ... }` with record nodes for listeners, `http://` and
//! `https://` virtual hosts, routes, clusters, services, secrets and TCP proxies.
//!
//! Unlike upstream (which names nodes by pointer and prints in map order), node names are the
//! nodes' identities and everything is sorted, so the same DAG always renders the same text.
//! A cluster is one node shared by every route using it; the route's weight is on the edge
//! (`weight 3`), and a mirror cluster's edge says how much is copied to it (`mirror 100%`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use contour_dag::{
    Cluster, Dag, PathMatch, Route, RouteAction, Secret, SecureVirtualHost, VirtualHost,
};
use contour_envoy::names::cluster_name;

#[derive(Default)]
struct Graph {
    /// Node id → record label.
    nodes: BTreeMap<String, String>,
    /// `(from, to, edge label)`.
    edges: BTreeSet<(String, String, String)>,
}

impl Graph {
    fn node(&mut self, id: String, label: String) -> String {
        self.nodes.entry(id.clone()).or_insert(label);
        id
    }

    fn edge(&mut self, from: &str, to: &str, label: String) {
        self.edges.insert((from.to_string(), to.to_string(), label));
    }
}

/// The whole DAG as dot text.
pub fn dag_dot(dag: &Dag) -> String {
    let mut g = Graph::default();
    for listener in dag.listeners.values() {
        let label = format!("{{listener|{}:{}}}", esc(&listener.address), listener.port);
        let l = g.node(format!("listener/{}", listener.name), label);
        for vh in &listener.virtual_hosts {
            let v = vhost(&mut g, "http", vh);
            g.edge(&l, &v, String::new());
        }
        for svh in &listener.secure_virtual_hosts {
            let v = secure_vhost(&mut g, svh);
            g.edge(&l, &v, String::new());
        }
    }
    render(&g)
}

fn vhost(g: &mut Graph, scheme: &str, vh: &VirtualHost) -> String {
    let v = g.node(
        format!("{scheme}/{}", vh.fqdn),
        format!("{{{scheme}://{}}}", esc(&vh.fqdn)),
    );
    for route in vh.routes.values() {
        let r = g.node(
            format!("{v}/route/{}", route.match_key()),
            format!("{{{}}}", esc(&route_text(route))),
        );
        g.edge(&v, &r, String::new());
        if let RouteAction::Forward(fwd) = &route.action {
            for wc in &fwd.clusters {
                let c = cluster(g, &wc.cluster);
                g.edge(&r, &c, format!("weight {}", wc.weight));
            }
            if let Some(m) = &fwd.mirror {
                let c = cluster(g, &m.cluster);
                g.edge(&r, &c, format!("mirror {}%", m.percent));
            }
        }
    }
    v
}

fn secure_vhost(g: &mut Graph, svh: &SecureVirtualHost) -> String {
    let v = vhost(g, "https", &svh.virtual_host);
    for secret in [&svh.secret, &svh.fallback_certificate]
        .into_iter()
        .flatten()
    {
        let s = secret_node(g, secret);
        g.edge(&v, &s, String::new());
    }
    if let Some(tcp) = &svh.tcp_proxy {
        let t = g.node(format!("{v}/tcpproxy"), "{tcpproxy}".to_string());
        g.edge(&v, &t, String::new());
        for wc in &tcp.clusters {
            let c = cluster(g, &wc.cluster);
            g.edge(&t, &c, format!("weight {}", wc.weight));
        }
    }
    v
}

fn cluster(g: &mut Graph, cluster: &Cluster) -> String {
    let name = cluster_name(cluster);
    let c = g.node(
        format!("cluster/{name}"),
        format!("{{cluster|{}}}", esc(&name)),
    );
    let svc = &cluster.service;
    let s = g.node(
        format!("service/{}/{}:{}", svc.namespace, svc.name, svc.port),
        format!(
            "{{service|{}/{}:{}}}",
            esc(&svc.namespace),
            esc(&svc.name),
            svc.port
        ),
    );
    g.edge(&c, &s, String::new());
    if let Some(secret) = &cluster.client_certificate {
        let sec = secret_node(g, secret);
        g.edge(&c, &sec, String::new());
    }
    c
}

fn secret_node(g: &mut Graph, s: &Secret) -> String {
    g.node(
        format!("secret/{}/{}", s.namespace, s.name),
        format!("{{secret|{}/{}}}", esc(&s.namespace), esc(&s.name)),
    )
}

/// The route's match as upstream prints it (`prefix: /app`), plus its header conditions and,
/// for routes that answer themselves, what they answer.
fn route_text(r: &Route) -> String {
    let mut text = match &r.path {
        PathMatch::Prefix(p) => format!("prefix: {p}"),
        PathMatch::SegmentPrefix(p) => format!("prefix: {p} (segments)"),
        PathMatch::Exact(p) => format!("exact: {p}"),
        PathMatch::Regex(p) => format!("regex: {p}"),
    };
    for h in &r.headers {
        let _ = write!(text, " header {}", h.name);
    }
    for q in &r.query_params {
        let _ = write!(text, " query {}", q.name);
    }
    match &r.action {
        RouteAction::Forward(f) if f.clusters.is_empty() => text.push_str(" → 503"),
        RouteAction::Forward(_) => {}
        RouteAction::DirectResponse { status, .. } => {
            let _ = write!(text, " → {status}");
        }
        RouteAction::HttpsRedirect => text.push_str(" → https"),
        RouteAction::Redirect(r) => {
            let code = if r.status_code == 0 {
                301
            } else {
                r.status_code
            };
            let _ = write!(text, " → redirect {code}");
        }
    }
    text
}

/// Escapes text for a record label: the record syntax characters and the string quoting.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '{' | '}' | '|' | '<' | '>' | '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A node id as a quoted dot string.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn render(g: &Graph) -> String {
    let mut out = String::from("digraph DAG {\nrankdir=\"LR\"\n");
    for (id, label) in &g.nodes {
        let _ = writeln!(out, "{} [shape=record, label=\"{label}\"]", quote(id));
    }
    for (from, to, label) in &g.edges {
        let _ = if label.is_empty() {
            writeln!(out, "{} -> {}", quote(from), quote(to))
        } else {
            writeln!(
                out,
                "{} -> {} [label=\"{}\"]",
                quote(from),
                quote(to),
                esc(label)
            )
        };
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
#[path = "dag_dot_tests.rs"]
mod tests;
