//! A realistic cluster, as manifests: N HTTPProxies with 1-5 routes (every tenth a child included
//! from another namespace), one Service with three endpoints per proxy, 20% of roots with TLS,
//! and optionally U Secrets nobody references (mostly Helm releases, as in the field reports).
//!
//! Objects are grouped ten proxies to a file, so one change touches one small file.

use std::fmt::Write;

/// A self-signed test certificate for `*.bench.local`, used by every TLS proxy's Secret.
const TLS_CERT: &str = include_str!("testdata/bench.crt");
const TLS_KEY: &str = include_str!("testdata/bench.key");

const PROXIES_PER_FILE: usize = 10;
const PROXIES_PER_NAMESPACE: usize = 100;

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub proxies: usize,
    pub unrelated_secrets: usize,
}

fn ns(i: usize) -> String {
    format!("bench-{}", i / PROXIES_PER_NAMESPACE)
}

fn team_ns(i: usize) -> String {
    format!("team-{}", i / PROXIES_PER_NAMESPACE)
}

fn is_child(i: usize) -> bool {
    i % 10 == 9
}

fn b64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (k, b)| acc | (u32::from(*b) << (16 - 8 * k)));
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(T[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A Service with one EndpointSlice of three ready endpoints.
pub fn service(out: &mut String, ns: &str, name: &str, seed: usize) {
    let (a, b) = ((seed >> 8) & 255, seed & 255);
    let _ = write!(
        out,
        "---\napiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: {ns}}}\n\
         spec:\n  ports:\n  - {{name: http, port: 80, targetPort: http}}\n\
         ---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n\
         metadata: {{name: {name}-1, namespace: {ns}, labels: {{kubernetes.io/service-name: {name}}}}}\n\
         addressType: IPv4\nports:\n- {{name: http, port: 8080, protocol: TCP}}\nendpoints:\n"
    );
    for k in 1..=3 {
        let _ = writeln!(
            out,
            "- {{addresses: [\"10.{a}.{b}.{k}\"], conditions: {{ready: true}}}}"
        );
    }
}

fn routes(out: &mut String, i: usize, svc: &str) {
    out.push_str("  routes:\n");
    for j in 0..=(i % 5) {
        let prefix = if j == 0 {
            "/".to_string()
        } else {
            format!("/r{j}")
        };
        let _ = write!(
            out,
            "  - conditions: [{{prefix: \"{prefix}\"}}]\n    services: [{{name: {svc}, port: 80}}]\n"
        );
    }
}

fn root(out: &mut String, i: usize) {
    let ns = ns(i);
    let _ = write!(
        out,
        "---\napiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {{name: proxy-{i}, namespace: {ns}}}\n\
         spec:\n  virtualhost:\n    fqdn: host-{i}.bench.local\n"
    );
    if i.is_multiple_of(5) {
        let _ = writeln!(out, "    tls: {{secretName: tls-{i}}}");
    }
    if is_child(i + 1) {
        let _ = write!(
            out,
            "  includes:\n  - {{name: proxy-{}, namespace: {}, conditions: [{{prefix: /team}}]}}\n",
            i + 1,
            team_ns(i + 1)
        );
    }
    routes(out, i, &format!("svc-{i}"));
    if i.is_multiple_of(5) {
        let _ = write!(
            out,
            "---\napiVersion: v1\nkind: Secret\nmetadata: {{name: tls-{i}, namespace: {ns}}}\n\
             type: kubernetes.io/tls\ndata:\n  tls.crt: {}\n  tls.key: {}\n",
            b64(TLS_CERT.as_bytes()),
            b64(TLS_KEY.as_bytes())
        );
    }
    service(out, &ns, &format!("svc-{i}"), i);
}

fn child(out: &mut String, i: usize) {
    let ns = team_ns(i);
    let _ = write!(
        out,
        "---\napiVersion: projectcontour.io/v1\nkind: HTTPProxy\nmetadata: {{name: proxy-{i}, namespace: {ns}}}\nspec:\n"
    );
    routes(out, i, &format!("svc-{i}"));
    service(out, &ns, &format!("svc-{i}"), i);
}

/// Secrets nobody references: 70% Helm releases (large), 10% service-account tokens, 20% Opaque.
fn unrelated_secret(out: &mut String, k: usize, blob: &str) {
    let ns = ns(k);
    let (ty, data) = match k % 10 {
        0..=6 => ("helm.sh/release.v1", format!("  release: {blob}\n")),
        7 => (
            "kubernetes.io/service-account-token",
            "  token: dG9rZW4=\n".to_string(),
        ),
        _ => (
            "Opaque",
            "  password: c2VjcmV0LXZhbHVlLTEyMzQ1Ng==\n".to_string(),
        ),
    };
    let _ = write!(
        out,
        "---\napiVersion: v1\nkind: Secret\nmetadata: {{name: unrelated-{k}, namespace: {ns}}}\ntype: {ty}\ndata:\n{data}"
    );
}

/// The generated files, as `(relative path, YAML)`.
pub fn cluster(shape: Shape) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for start in (0..shape.proxies).step_by(PROXIES_PER_FILE) {
        let mut out = String::new();
        for i in start..(start + PROXIES_PER_FILE).min(shape.proxies) {
            if is_child(i) {
                child(&mut out, i)
            } else {
                root(&mut out, i)
            }
        }
        files.push((format!("proxies/{:05}.yaml", start / PROXIES_PER_FILE), out));
    }
    // A Helm release Secret holds a compressed chart and values: a few kB.
    let blob = b64(&vec![b'x'; 6 * 1024]);
    for start in (0..shape.unrelated_secrets).step_by(100) {
        let mut out = String::new();
        for k in start..(start + 100).min(shape.unrelated_secrets) {
            unrelated_secret(&mut out, k, &blob);
        }
        files.push((format!("secrets/{:05}.yaml", start / 100), out));
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_known_values() {
        assert_eq!(b64(b""), "");
        assert_eq!(b64(b"f"), "Zg==");
        assert_eq!(b64(b"fo"), "Zm8=");
        assert_eq!(b64(b"foo"), "Zm9v");
        assert_eq!(b64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn shape_counts() {
        let files = cluster(Shape {
            proxies: 100,
            unrelated_secrets: 250,
        });
        let all: String = files.iter().map(|(_, y)| y.as_str()).collect();
        assert_eq!(all.matches("kind: HTTPProxy").count(), 100);
        assert_eq!(all.matches("kind: Service\n").count(), 100);
        assert_eq!(all.matches("kind: EndpointSlice").count(), 100);
        assert_eq!(all.matches("includes:").count(), 10);
        assert_eq!(all.matches("type: kubernetes.io/tls").count(), 20);
        assert_eq!(all.matches("name: unrelated-").count(), 250);
    }
}
