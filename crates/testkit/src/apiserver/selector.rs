//! Field and label selectors as the API server evaluates them: comma-separated requirements
//! that must all hold.
//!
//! Field selectors: `path=value`, `path==value`, `path!=value`, where `path` is a dotted path into
//! the object (`metadata.name`, `metadata.namespace`, `type`, `spec.nodeName`...). A missing field
//! compares as the empty string, as the real server does for `type` on Secrets.
//! Label selectors: `key=value`, `key==value`, `key!=value`, `key` (exists) and `!key`.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    Eq,
    NotEq,
    Exists,
    NotExists,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Requirement {
    key: String,
    op: Op,
    value: String,
}

/// A parsed selector; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    requirements: Vec<Requirement>,
    labels: bool,
}

/// A selector that cannot be parsed (the server answers 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorError(pub String);

fn split_requirement(term: &str, labels: bool) -> Result<Requirement, SelectorError> {
    let (key, op, value) = if let Some((k, v)) = term.split_once("!=") {
        (k, Op::NotEq, v)
    } else if let Some((k, v)) = term.split_once("==") {
        (k, Op::Eq, v)
    } else if let Some((k, v)) = term.split_once('=') {
        (k, Op::Eq, v)
    } else if labels && let Some(k) = term.strip_prefix('!') {
        (k, Op::NotExists, "")
    } else if labels {
        (term, Op::Exists, "")
    } else {
        return Err(SelectorError(format!("invalid selector: {term:?}")));
    };
    let key = key.trim();
    if key.is_empty() {
        return Err(SelectorError(format!("invalid selector: {term:?}")));
    }
    Ok(Requirement {
        key: key.to_string(),
        op,
        value: value.trim().to_string(),
    })
}

impl Selector {
    /// Parses a field selector (`None` or empty: match all).
    pub fn fields(s: Option<&str>) -> Result<Selector, SelectorError> {
        Self::parse(s, false)
    }

    /// Parses a label selector (`None` or empty: match all).
    pub fn labels(s: Option<&str>) -> Result<Selector, SelectorError> {
        Self::parse(s, true)
    }

    fn parse(s: Option<&str>, labels: bool) -> Result<Selector, SelectorError> {
        let mut requirements = Vec::new();
        for term in s.unwrap_or_default().split(',') {
            let term = term.trim();
            if !term.is_empty() {
                requirements.push(split_requirement(term, labels)?);
            }
        }
        Ok(Selector {
            requirements,
            labels,
        })
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.requirements.iter().all(|r| {
            let found = if self.labels {
                obj.pointer("/metadata/labels")
                    .and_then(|l| l.get(&r.key))
                    .and_then(Value::as_str)
            } else {
                field(obj, &r.key)
            };
            match r.op {
                Op::Eq => found.unwrap_or_default() == r.value,
                Op::NotEq => found.unwrap_or_default() != r.value,
                Op::Exists => found.is_some(),
                Op::NotExists => found.is_none(),
            }
        })
    }
}

fn field<'a>(obj: &'a Value, dotted: &str) -> Option<&'a str> {
    dotted
        .split('.')
        .try_fold(obj, |v, part| v.get(part))
        .and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secret(type_: Option<&str>) -> Value {
        let mut s = json!({"metadata": {"name": "s", "namespace": "ns", "labels": {"app": "x"}}});
        if let Some(t) = type_ {
            s["type"] = json!(t);
        }
        s
    }

    #[test]
    fn secrets_field_selector_of_contour() {
        let sel = Selector::fields(Some(
            "type!=helm.sh/release.v1,type!=kubernetes.io/service-account-token",
        ))
        .unwrap();
        assert!(sel.matches(&secret(Some("kubernetes.io/tls"))));
        assert!(sel.matches(&secret(None)));
        assert!(!sel.matches(&secret(Some("helm.sh/release.v1"))));
        assert!(!sel.matches(&secret(Some("kubernetes.io/service-account-token"))));
    }

    #[test]
    fn metadata_fields_and_labels() {
        let s = secret(None);
        assert!(
            Selector::fields(Some("metadata.name=s"))
                .unwrap()
                .matches(&s)
        );
        assert!(
            !Selector::fields(Some("metadata.namespace==other"))
                .unwrap()
                .matches(&s)
        );
        assert!(Selector::labels(Some("app=x")).unwrap().matches(&s));
        assert!(Selector::labels(Some("app")).unwrap().matches(&s));
        assert!(!Selector::labels(Some("!app")).unwrap().matches(&s));
        assert!(Selector::labels(Some("tier!=db")).unwrap().matches(&s));
        assert!(Selector::fields(Some("bogus")).is_err());
        assert!(Selector::fields(None).unwrap().matches(&s));
    }
}
