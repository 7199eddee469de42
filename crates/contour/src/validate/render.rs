//! `contour validate` output: a table for people, JSON for machines.

use std::fmt::Write;

use serde_json::{Value, json};

use super::{Report, Row};

const HEADERS: [&str; 6] = ["KIND", "NAMESPACE", "NAME", "FQDN", "STATUS", "DESCRIPTION"];

fn cells(r: &Row) -> [&str; 6] {
    [
        r.kind,
        &r.namespace,
        &r.name,
        &r.fqdn,
        &r.current_status,
        &r.description,
    ]
}

/// Aligned columns, then the errors and warnings of each object, then the file problems and a
/// summary line.
pub fn table(report: &Report) -> String {
    let mut widths = HEADERS.map(str::len);
    for row in &report.rows {
        for (w, c) in widths.iter_mut().zip(cells(row)) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cols: [&str; 6]| {
        let mut text = String::new();
        for (i, (c, w)) in cols.iter().zip(widths).enumerate() {
            if i + 1 == cols.len() {
                text.push_str(c);
            } else {
                let _ = write!(text, "{c:<w$}  ");
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut out, HEADERS);
    for row in &report.rows {
        line(&mut out, cells(row));
    }
    details(&mut out, report);
    out.push_str(&summary(report));
    out.push('\n');
    out
}

fn details(out: &mut String, report: &Report) {
    for row in report
        .rows
        .iter()
        .filter(|r| !r.errors.is_empty() || !r.warnings.is_empty())
    {
        let _ = writeln!(out, "\n{} {}/{}:", row.kind, row.namespace, row.name);
        for (what, list) in [("error", &row.errors), ("warning", &row.warnings)] {
            for (ty, reason, message) in list {
                let _ = writeln!(out, "  {what} {ty}/{reason}: {message}");
            }
        }
    }
    if !report.problems.is_empty() {
        out.push_str("\nUnreadable input:\n");
        for p in &report.problems {
            let _ = writeln!(out, "  {}: {}", location(p), p.reason);
        }
    }
    for (object, files) in &report.redefined {
        let _ = writeln!(
            out,
            "\nnote: {object} is defined in several files ({}); the last one is used",
            files.join(", ")
        );
    }
    out.push('\n');
}

fn location(p: &crate::manifests::oneshot::FileProblem) -> String {
    let mut at = p.file.display().to_string();
    if p.document > 0 {
        let _ = write!(at, " document {}", p.document);
    }
    if let Some(item) = p.item {
        let _ = write!(at, " item {item}");
    }
    if p.line > 0 {
        let _ = write!(at, " line {}", p.line);
    }
    if let Some(object) = &p.object {
        let _ = write!(at, " ({object})");
    }
    at
}

fn summary(report: &Report) -> String {
    let count = |s: &str| report.rows.iter().filter(|r| r.current_status == s).count();
    let mut text = format!(
        "{} valid, {} invalid, {} orphaned",
        count("valid"),
        count("invalid"),
        count("orphaned")
    );
    let ignored = count("ignored");
    if ignored > 0 {
        let _ = write!(text, ", {ignored} ignored");
    }
    if !report.problems.is_empty() {
        let _ = write!(text, "; {} unreadable document(s)", report.problems.len());
    }
    text
}

/// `{valid, exitCode, objects: [{kind, namespace, name, fqdn, status}], problems: [...]}`.
pub fn json(report: &Report) -> String {
    let objects: Vec<Value> = report
        .rows
        .iter()
        .map(|r| {
            json!({
                "kind": r.kind,
                "namespace": r.namespace,
                "name": r.name,
                "fqdn": r.fqdn,
                "status": r.status,
            })
        })
        .collect();
    let problems: Vec<Value> = report
        .problems
        .iter()
        .map(|p| {
            json!({
                "file": p.file.display().to_string(),
                "document": p.document,
                "item": p.item,
                "line": p.line,
                "object": p.object,
                "reason": p.reason,
            })
        })
        .collect();
    let redefined: Vec<Value> = report
        .redefined
        .iter()
        .map(|(o, files)| json!({"object": o, "files": files}))
        .collect();
    let value = json!({
        "valid": report.exit_code() == 0,
        "exitCode": report.exit_code(),
        "objects": objects,
        "problems": problems,
        "redefined": redefined,
    });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}
