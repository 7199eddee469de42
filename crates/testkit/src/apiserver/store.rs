//! The API server's storage: objects by resource, a global resourceVersion counter, a bounded
//! history of changes for watches, and the rules the real server applies on writes
//! (optimistic concurrency, generation, status subresource, compaction).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::patch::{merge_patch, rfc3339};
use super::selector::Selector;
use super::types::ResourceType;

/// `(group, plural)`: how a resource is addressed.
pub type GroupResource = (String, String);
/// `(namespace, name)`; namespace is `""` for cluster-scoped objects.
pub type Name = (String, String);

/// A change, as sent on watches.
#[derive(Debug)]
pub struct Change {
    pub rv: u64,
    pub resource: GroupResource,
    pub namespace: String,
    /// `ADDED`, `MODIFIED` or `DELETED`.
    pub type_: &'static str,
    pub object: Arc<Value>,
}

/// A watch's retained backlog and the receiver for later changes.
pub type Opened = (Vec<Arc<Change>>, broadcast::Receiver<Arc<Change>>);

/// Which part of an object a write replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Main,
    Status,
}

/// Why a request failed; maps to the HTTP status and `reason` of a Kubernetes `Status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    NotFound(String),
    AlreadyExists(String),
    Conflict(String),
    Invalid(String),
    Gone(String),
}

impl StoreError {
    pub fn code_reason(&self) -> (u16, &'static str, &str) {
        match self {
            StoreError::NotFound(m) => (404, "NotFound", m),
            StoreError::AlreadyExists(m) => (409, "AlreadyExists", m),
            StoreError::Conflict(m) => (409, "Conflict", m),
            StoreError::Invalid(m) => (422, "Invalid", m),
            StoreError::Gone(m) => (410, "Expired", m),
        }
    }
}

/// One page of a list.
pub struct Page {
    pub items: Vec<Arc<Value>>,
    pub rv: u64,
    pub continue_token: Option<String>,
}

pub struct Store {
    pub types: Vec<ResourceType>,
    rv: u64,
    objects: BTreeMap<GroupResource, BTreeMap<Name, Arc<Value>>>,
    history: VecDeque<Arc<Change>>,
    history_limit: usize,
    /// Watches from a resourceVersion below this are answered 410 Gone.
    compacted: u64,
    uids: u64,
    pub changes: broadcast::Sender<Arc<Change>>,
}

fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    obj.get("metadata")?.get(field)?.as_str()
}

/// Everything but `metadata` and `status`: a change here bumps `metadata.generation`.
fn spec_part(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("metadata");
        m.remove("status");
        m.remove("kind");
        m.remove("apiVersion");
    }
    v
}

impl Store {
    pub fn new(types: Vec<ResourceType>, history_limit: usize) -> Store {
        let (changes, _) = broadcast::channel(1 << 16);
        Store {
            types,
            rv: 1,
            objects: BTreeMap::new(),
            history: VecDeque::new(),
            history_limit,
            compacted: 0,
            uids: 0,
            changes,
        }
    }

    pub fn current_rv(&self) -> u64 {
        self.rv
    }

    pub fn resource(&self, group: &str, version: &str, plural: &str) -> Option<ResourceType> {
        self.types
            .iter()
            .find(|t| t.group == group && t.plural == plural && t.version == version)
            .cloned()
    }

    pub fn resource_of(&self, api_version: &str, kind: &str) -> Option<ResourceType> {
        self.types
            .iter()
            .find(|t| t.kind == kind && t.api_version() == api_version)
            .cloned()
    }

    fn key(rt: &ResourceType) -> GroupResource {
        (rt.group.clone(), rt.plural.clone())
    }

    fn record(&mut self, rt: &ResourceType, ns: &str, type_: &'static str, obj: Arc<Value>) {
        let change = Arc::new(Change {
            rv: self.rv,
            resource: Self::key(rt),
            namespace: ns.to_string(),
            type_,
            object: obj,
        });
        self.history.push_back(change.clone());
        while self.history.len() > self.history_limit {
            if let Some(old) = self.history.pop_front() {
                self.compacted = self.compacted.max(old.rv);
            }
        }
        // Nobody watching is fine.
        let _ = self.changes.send(change);
    }

    /// Drops the whole history and moves the resourceVersion on: every watch resumed from a
    /// version seen so far is answered 410 Gone, as after an etcd compaction.
    pub fn compact(&mut self) {
        self.history.clear();
        self.rv += 1;
        self.compacted = self.rv;
    }

    pub fn get(&self, rt: &ResourceType, name: &Name) -> Result<Arc<Value>, StoreError> {
        self.objects
            .get(&Self::key(rt))
            .and_then(|m| m.get(name))
            .cloned()
            .ok_or_else(|| not_found(rt, &name.1))
    }

    /// Objects of `rt` (in `ns` if given) matching the selectors, in name order, from after
    /// the `continue` token, at most `limit`.
    pub fn list(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        fields: &Selector,
        labels: &Selector,
        limit: Option<usize>,
        after: Option<&str>,
    ) -> Page {
        let start: Option<Name> = after.and_then(|t| {
            let (ns, name) = t.split_once('/')?;
            Some((ns.to_string(), name.to_string()))
        });
        let mut items = Vec::new();
        let mut continue_token = None;
        let all = self.objects.get(&Self::key(rt));
        for (key, obj) in all.into_iter().flatten() {
            if start.as_ref().is_some_and(|s| key <= s) || ns.is_some_and(|n| n != key.0) {
                continue;
            }
            if !fields.matches(obj) || !labels.matches(obj) {
                continue;
            }
            if limit.is_some_and(|l| items.len() >= l) {
                continue_token = items.last().and_then(|o: &Arc<Value>| {
                    Some(format!(
                        "{}/{}",
                        meta_str(o, "namespace").unwrap_or(""),
                        meta_str(o, "name")?
                    ))
                });
                break;
            }
            items.push(obj.clone());
        }
        Page {
            items,
            rv: self.rv,
            continue_token,
        }
    }

    /// The changes after `since` for a watch, and a receiver for those still to come.
    pub fn watch_from(&self, since: u64) -> Result<Opened, StoreError> {
        if since < self.compacted {
            return Err(StoreError::Gone(format!(
                "too old resource version: {since} ({})",
                self.compacted
            )));
        }
        let backlog = self
            .history
            .iter()
            .filter(|c| c.rv > since)
            .cloned()
            .collect();
        Ok((backlog, self.changes.subscribe()))
    }

    pub fn create(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        mut obj: Value,
    ) -> Result<Arc<Value>, StoreError> {
        let name = prepare_name(&mut obj, self.uids)?;
        let key = (ns.to_string(), name.clone());
        if self
            .objects
            .get(&Self::key(rt))
            .is_some_and(|m| m.contains_key(&key))
        {
            return Err(StoreError::AlreadyExists(format!(
                "{} \"{name}\" already exists",
                rt.plural
            )));
        }
        self.uids += 1;
        self.rv += 1;
        if rt.status_subresource
            && let Some(m) = obj.as_object_mut()
        {
            m.remove("status");
        }
        obj["apiVersion"] = json!(rt.api_version());
        obj["kind"] = json!(rt.kind);
        let now = rfc3339(SystemTime::now());
        let meta = &mut obj["metadata"];
        if rt.namespaced {
            meta["namespace"] = json!(ns);
        } else if let Some(m) = meta.as_object_mut() {
            m.remove("namespace");
        }
        meta["uid"] = json!(format!("00000000-0000-4000-8000-{:012x}", self.uids));
        meta["resourceVersion"] = json!(self.rv.to_string());
        meta["creationTimestamp"] = json!(now);
        meta["generation"] = json!(1);
        meta["managedFields"] = json!([{
            "manager": "testkit", "operation": "Update", "apiVersion": rt.api_version(),
            "time": now, "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {}}
        }]);
        let obj = Arc::new(obj);
        self.objects
            .entry(Self::key(rt))
            .or_default()
            .insert(key, obj.clone());
        self.record(rt, ns, "ADDED", obj.clone());
        Ok(obj)
    }

    /// PUT: replaces the object (or only its status), honouring `metadata.resourceVersion`.
    pub fn replace(
        &mut self,
        rt: &ResourceType,
        name: &Name,
        new: Value,
        target: Target,
    ) -> Result<Arc<Value>, StoreError> {
        let old = self.get(rt, name)?;
        if let Some(rv) = meta_str(&new, "resourceVersion").filter(|s| !s.is_empty())
            && Some(rv) != meta_str(&old, "resourceVersion")
        {
            return Err(conflict(rt, &name.1));
        }
        self.commit(rt, name, &old, new, target)
    }

    /// PATCH (merge semantics); a `metadata.resourceVersion` in the patch is a precondition.
    pub fn patch(
        &mut self,
        rt: &ResourceType,
        name: &Name,
        patch: &Value,
        target: Target,
    ) -> Result<Arc<Value>, StoreError> {
        let old = self.get(rt, name)?;
        if let Some(rv) = meta_str(patch, "resourceVersion")
            && Some(rv) != meta_str(&old, "resourceVersion")
        {
            return Err(conflict(rt, &name.1));
        }
        let mut new = (*old).clone();
        merge_patch(&mut new, patch);
        self.commit(rt, name, &old, new, target)
    }

    /// Stores `new` in place of `old`, keeping what the server owns; no-op writes change
    /// nothing (no new resourceVersion, no watch event).
    fn commit(
        &mut self,
        rt: &ResourceType,
        name: &Name,
        old: &Arc<Value>,
        new: Value,
        target: Target,
    ) -> Result<Arc<Value>, StoreError> {
        let mut merged = (**old).clone();
        match (target, rt.status_subresource) {
            (Target::Status, true) => {
                merged["status"] = new.get("status").cloned().unwrap_or(Value::Null)
            }
            (Target::Status, false) => return Err(not_found(rt, &format!("{}/status", name.1))),
            (Target::Main, status_sub) => {
                let keep_status = old.get("status").cloned();
                let server_meta = old["metadata"].clone();
                merged = new;
                if status_sub {
                    match keep_status {
                        Some(s) => merged["status"] = s,
                        None => {
                            if let Some(m) = merged.as_object_mut() {
                                m.remove("status");
                            }
                        }
                    }
                }
                for f in [
                    "uid",
                    "creationTimestamp",
                    "generation",
                    "managedFields",
                    "namespace",
                    "name",
                ] {
                    merged["metadata"][f] = server_meta.get(f).cloned().unwrap_or(Value::Null);
                }
                merged["apiVersion"] = json!(rt.api_version());
                merged["kind"] = json!(rt.kind);
            }
        }
        if let Some(m) = merged.as_object_mut()
            && m.get("status").is_some_and(Value::is_null)
        {
            m.remove("status");
        }
        merged["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
        if merged == **old {
            return Ok(old.clone());
        }
        if spec_part(&merged) != spec_part(old) {
            let generation = old["metadata"]["generation"].as_i64().unwrap_or(0);
            merged["metadata"]["generation"] = json!(generation + 1);
        }
        self.rv += 1;
        merged["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        let obj = Arc::new(merged);
        self.objects
            .entry(Self::key(rt))
            .or_default()
            .insert(name.clone(), obj.clone());
        self.record(rt, &name.0, "MODIFIED", obj.clone());
        Ok(obj)
    }

    pub fn delete(&mut self, rt: &ResourceType, name: &Name) -> Result<Arc<Value>, StoreError> {
        let removed = self
            .objects
            .get_mut(&Self::key(rt))
            .and_then(|m| m.remove(name))
            .ok_or_else(|| not_found(rt, &name.1))?;
        self.rv += 1;
        let mut gone = (*removed).clone();
        gone["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        let gone = Arc::new(gone);
        self.record(rt, &name.0, "DELETED", gone.clone());
        Ok(gone)
    }

    /// How many objects of `rt` are stored.
    pub fn count(&self, rt: &ResourceType) -> usize {
        self.objects.get(&Self::key(rt)).map_or(0, BTreeMap::len)
    }
}

/// Checks the name (or makes one from `generateName`) and returns it.
fn prepare_name(obj: &mut Value, seq: u64) -> Result<String, StoreError> {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        return Err(StoreError::Invalid("metadata is required".into()));
    }
    if let Some(n) = meta_str(obj, "name").filter(|n| !n.is_empty()) {
        return Ok(n.to_string());
    }
    let Some(prefix) = meta_str(obj, "generateName").map(str::to_string) else {
        return Err(StoreError::Invalid("metadata.name: Required value".into()));
    };
    let name = format!("{prefix}{:05x}", (seq + 1) * 7919 % 0xfffff);
    obj["metadata"]["name"] = json!(name);
    Ok(name)
}

fn not_found(rt: &ResourceType, name: &str) -> StoreError {
    let group = if rt.group.is_empty() {
        rt.plural.clone()
    } else {
        format!("{}.{}", rt.plural, rt.group)
    };
    StoreError::NotFound(format!("{group} \"{name}\" not found"))
}

fn conflict(rt: &ResourceType, name: &str) -> StoreError {
    StoreError::Conflict(format!(
        "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
        rt.plural
    ))
}
