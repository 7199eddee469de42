//! `contour validate DIR`: builds a manifests directory offline, exactly as
//! `contour serve --manifests DIR` would, and reports every HTTPProxy, Ingress and
//! ExtensionService with its status. Exit code 0 when everything is valid, 1 when anything is invalid or orphaned, 2 when
//! the input cannot be read (missing directory, malformed or schema-invalid documents).

mod capture;
mod render;
#[cfg(test)]
mod tests;

use std::process::ExitCode;

use contour_api::v1::HTTPProxy;
use contour_api::v1alpha1::ExtensionService;
use contour_dag::{BuildConfig, BuildOutput, Cache, ClassFilter, Object, build};
use k8s_openapi::api::networking::v1::Ingress;
use serde_json::Value;
use tracing_subscriber::layer::SubscriberExt;

use crate::cli::{ValidateArgs, ValidateOutput, comma_list};
use crate::manifests::oneshot::{DirContents, FileProblem, read_dir_once};
use capture::{IngressWarnings, WarningCapture};

/// Exit codes.
const EXIT_INVALID: u8 = 1;
const EXIT_UNREADABLE: u8 = 2;

/// What `validate` found.
#[derive(Debug, Default)]
pub struct Report {
    /// HTTPProxies, then Ingresses, then ExtensionServices, each sorted by namespace and name.
    pub rows: Vec<Row>,
    pub problems: Vec<FileProblem>,
    /// `(object, files)` for objects defined in several files (the last file wins).
    pub redefined: Vec<(String, Vec<String>)>,
}

/// One HTTPProxy, Ingress or ExtensionService.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
    pub fqdn: String,
    /// `valid`, `invalid`, `orphaned`, or `ignored` (another ingress class).
    pub current_status: String,
    pub description: String,
    /// `(type, reason, message)` of each error and warning.
    pub errors: Vec<(String, String, String)>,
    pub warnings: Vec<(String, String, String)>,
    /// The full status in upstream's shape (HTTPProxy and ExtensionService).
    pub status: Value,
}

impl Report {
    pub fn exit_code(&self) -> u8 {
        if !self.problems.is_empty() {
            EXIT_UNREADABLE
        } else if self.rows.iter().any(Row::fails) {
            EXIT_INVALID
        } else {
            0
        }
    }
}

impl Row {
    fn fails(&self) -> bool {
        matches!(self.current_status.as_str(), "invalid" | "orphaned")
    }
}

pub fn run(args: ValidateArgs) -> ExitCode {
    let contents = match read_dir_once(&args.dir) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("contour validate: {e:#}");
            return ExitCode::from(EXIT_UNREADABLE);
        }
    };
    let cfg = BuildConfig {
        root_namespaces: comma_list(args.root_namespaces.as_deref()),
        ..Default::default()
    };
    let classes = comma_list(args.ingress_class_name.as_deref());
    let report = evaluate(contents, &cfg, ClassFilter::new(classes));
    let text = match args.output {
        ValidateOutput::Table => render::table(&report),
        ValidateOutput::Json => render::json(&report) + "\n",
    };
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
    ExitCode::from(report.exit_code())
}

/// Builds the objects and reports on every HTTPProxy, Ingress and ExtensionService.
pub fn evaluate(contents: DirContents, cfg: &BuildConfig, classes: ClassFilter) -> Report {
    let mut cache = Cache::new(classes);
    for object in contents.objects.iter().cloned() {
        cache.insert(object);
    }
    let capture = WarningCapture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let out = tracing::subscriber::with_default(subscriber, || build(&cache, cfg));
    let warnings = capture.take();
    let mut rows: Vec<Row> = Vec::new();
    for object in &contents.objects {
        match object {
            Object::HTTPProxy(p) => rows.push(proxy_row(p, &out)),
            Object::Ingress(i) => rows.push(ingress_row(i, &cache, &warnings)),
            Object::ExtensionService(e) => rows.extend(extension_row(e, &out)),
            _ => {}
        }
    }
    let rank = |kind: &str| match kind {
        "HTTPProxy" => 0,
        "Ingress" => 1,
        _ => 2,
    };
    rows.sort_by(|a, b| {
        (rank(a.kind), &a.namespace, &a.name).cmp(&(rank(b.kind), &b.namespace, &b.name))
    });
    Report {
        rows,
        problems: contents.problems,
        redefined: contents
            .redefined
            .into_iter()
            .map(|(k, files)| {
                let files = files.iter().map(|f| f.display().to_string()).collect();
                (k.to_string(), files)
            })
            .collect(),
    }
}

fn ns_name(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> (String, String) {
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

fn proxy_row(p: &HTTPProxy, out: &BuildOutput) -> Row {
    let (namespace, name) = ns_name(&p.metadata);
    let fqdn = p
        .spec
        .virtualhost
        .as_ref()
        .map(|v| v.fqdn.clone())
        .unwrap_or_default();
    let Some(st) = out.status.get(&namespace, &name) else {
        return ignored("HTTPProxy", namespace, name, fqdn);
    };
    let api = st.to_api();
    let triple =
        |c: &contour_api::v1::SubCondition| (c.type_.clone(), c.reason.clone(), c.message.clone());
    Row {
        kind: "HTTPProxy",
        namespace,
        name,
        fqdn,
        current_status: api.current_status.clone().unwrap_or_default(),
        description: api.description.clone().unwrap_or_default(),
        errors: st.errors.iter().map(triple).collect(),
        warnings: st.warnings.iter().map(triple).collect(),
        status: serde_json::to_value(&api).unwrap_or(Value::Null),
    }
}

/// An ExtensionService with its `Valid` condition: `valid` or `invalid`.
fn extension_row(e: &ExtensionService, out: &BuildOutput) -> Option<Row> {
    let (namespace, name) = ns_name(&e.metadata);
    let st = out
        .status
        .extensions
        .get(&(namespace.clone(), name.clone()))?;
    let cond = st.to_condition();
    let triple =
        |c: &contour_api::v1::SubCondition| (c.type_.clone(), c.reason.clone(), c.message.clone());
    Some(Row {
        kind: "ExtensionService",
        namespace,
        name,
        fqdn: String::new(),
        current_status: if st.is_valid() { "valid" } else { "invalid" }.to_string(),
        description: cond.message.clone(),
        errors: st.errors.iter().map(triple).collect(),
        warnings: st.warnings.iter().map(triple).collect(),
        status: serde_json::json!({ "conditions": [cond] }),
    })
}

/// Ingress has no status conditions: it is `invalid` here when the build ignored part of it
/// (what Contour logs as warnings), `valid` otherwise.
fn ingress_row(i: &Ingress, cache: &Cache, warnings: &IngressWarnings) -> Row {
    let (namespace, name) = ns_name(&i.metadata);
    let hosts: Vec<String> = i
        .spec
        .iter()
        .flat_map(|s| s.rules.iter().flatten())
        .filter_map(|r| r.host.clone())
        .collect();
    let fqdn = hosts.join(",");
    if !cache
        .ingresses
        .contains_key(&(namespace.clone(), name.clone()))
    {
        return ignored("Ingress", namespace, name, fqdn);
    }
    let found = warnings
        .get(&(namespace.clone(), name.clone()))
        .cloned()
        .unwrap_or_default();
    let (current, description) = match found.first() {
        None => ("valid", "Valid Ingress".to_string()),
        Some(first) => ("invalid", first.clone()),
    };
    let warnings: Vec<(String, String, String)> = found
        .into_iter()
        .map(|w| ("IngressWarning".to_string(), "Ignored".to_string(), w))
        .collect();
    let status = serde_json::json!({
        "currentStatus": current,
        "description": description,
        "warnings": warnings.iter().map(|w| &w.2).collect::<Vec<_>>(),
    });
    Row {
        kind: "Ingress",
        namespace,
        name,
        fqdn,
        current_status: current.to_string(),
        description,
        errors: warnings,
        warnings: Vec::new(),
        status,
    }
}

fn ignored(kind: &'static str, namespace: String, name: String, fqdn: String) -> Row {
    let description = "not for this ingress class".to_string();
    Row {
        kind,
        namespace,
        name,
        fqdn,
        current_status: "ignored".to_string(),
        status: serde_json::json!({"currentStatus": "ignored", "description": description}),
        description,
        errors: Vec::new(),
        warnings: Vec::new(),
    }
}
