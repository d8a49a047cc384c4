//! Shared records (format version 2): what a cluster's members and the centre keep in step —
//! clusters, members, the chair's turns, meetings, follow-ups, cases, project needs and library
//! entries. Each record travels whole, with its version and the versions it descends from, so
//! a store can tell a newer version (take it), an older one (a bundle that arrived late: keep
//! what it has) and a concurrent edit (a conflict: keep both for the analyst) whatever order
//! the bundles arrive in.
//!
//! A version id is the SHA-256 of the record's content and of its ancestors, so two stores
//! that make the same merge of the same versions reach the same id without talking.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The kinds of shared record, in the order a store applies them (a meeting after its
/// cluster, a follow-up after its meeting).
pub const SHARED_KINDS: [&str; 9] = [
    "resource",
    "expert",
    "cluster",
    "member",
    "chair_turn",
    "meeting",
    "follow_up",
    "project_need",
    "case",
];

/// One shared record as it travels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharedRecord {
    /// One of `SHARED_KINDS`.
    pub kind: String,
    /// The record's identity within its kind (a uuid, or the natural key joined by `|`).
    pub id: String,
    /// The record's fields, as the store keeps them.
    pub body: BTreeMap<String, serde_json::Value>,
    #[serde(flatten)]
    pub version: Version,
}

/// Where a record's content stands in its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// `version_id(content, ancestors)`.
    pub version: String,
    /// Every version this one descends from.
    pub ancestors: BTreeSet<String>,
}

/// SHA-256 of a record's content: its kind, id and body in canonical JSON (keys sorted).
pub fn content_sha(kind: &str, id: &str, body: &BTreeMap<String, serde_json::Value>) -> String {
    let canonical = serde_json::to_vec(&(kind, id, body)).unwrap_or_default();
    format!("{:x}", Sha256::digest(&canonical))
}

/// The id of the version with this content and these ancestors.
pub fn version_id(content_sha: &str, ancestors: &BTreeSet<String>) -> String {
    let mut h = Sha256::new();
    h.update(content_sha.as_bytes());
    for a in ancestors {
        h.update(b"\n");
        h.update(a.as_bytes());
    }
    format!("{:x}", h.finalize())
}

impl Version {
    /// A record as first made: no ancestors.
    pub fn first(content_sha: &str) -> Version {
        let ancestors = BTreeSet::new();
        Version {
            version: version_id(content_sha, &ancestors),
            ancestors,
        }
    }

    /// The version after an edit of this one that gave `content_sha`.
    pub fn edited(&self, content_sha: &str) -> Version {
        let mut ancestors = self.ancestors.clone();
        ancestors.insert(self.version.clone());
        Version {
            version: version_id(content_sha, &ancestors),
            ancestors,
        }
    }

    /// The version that settles a conflict between `self` and `other` with `content_sha`:
    /// it descends from both, so every store that holds either takes it as newer.
    pub fn merged(&self, other: &Version, content_sha: &str) -> Version {
        let mut ancestors: BTreeSet<String> =
            self.ancestors.union(&other.ancestors).cloned().collect();
        ancestors.insert(self.version.clone());
        ancestors.insert(other.version.clone());
        Version {
            version: version_id(content_sha, &ancestors),
            ancestors,
        }
    }

    /// True when the id is the hash of this content and these ancestors.
    pub fn is_of(&self, content_sha: &str) -> bool {
        self.version == version_id(content_sha, &self.ancestors)
    }
}

/// What an incoming version is to the one a store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// The store has no such record.
    New,
    /// The same version.
    Same,
    /// It descends from the stored version: take it.
    Newer,
    /// The stored version descends from it (a bundle that arrived late): keep the stored one.
    Older,
    /// Neither descends from the other: both were edited since they last agreed.
    Concurrent,
}

/// Compares an incoming version with the stored one.
pub fn arrival(stored: Option<&Version>, incoming: &Version) -> Arrival {
    match stored {
        None => Arrival::New,
        Some(s) if s.version == incoming.version => Arrival::Same,
        Some(s) if incoming.ancestors.contains(&s.version) => Arrival::Newer,
        Some(s) if s.ancestors.contains(&incoming.version) => Arrival::Older,
        Some(_) => Arrival::Concurrent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: &str) -> BTreeMap<String, serde_json::Value> {
        BTreeMap::from([("status".to_string(), serde_json::json!(v))])
    }

    #[test]
    fn versions_order_edits_and_find_concurrent_ones() {
        let c = |v| content_sha("follow_up", "f1", &body(v));
        let v1 = Version::first(&c("open"));
        let v2 = v1.edited(&c("done"));
        let v3 = v2.edited(&c("dropped"));
        assert_eq!(arrival(None, &v1), Arrival::New);
        assert_eq!(arrival(Some(&v1), &v1.clone()), Arrival::Same);
        assert_eq!(
            arrival(Some(&v1), &v3),
            Arrival::Newer,
            "skipping a version"
        );
        assert_eq!(arrival(Some(&v3), &v2), Arrival::Older, "a late bundle");
        let other = v1.edited(&c("dropped"));
        assert_eq!(arrival(Some(&v2), &other), Arrival::Concurrent);
        // The same edit made on two stores is the same version.
        assert_eq!(v1.edited(&c("done")), v2);
        // A merge descends from both sides, and both stores reach the same id.
        let m = v2.merged(&other, &c("done"));
        assert_eq!(m, other.merged(&v2, &c("done")));
        assert_eq!(arrival(Some(&v2), &m), Arrival::Newer);
        assert_eq!(arrival(Some(&other), &m), Arrival::Newer);
        assert!(m.is_of(&c("done")) && !m.is_of(&c("open")));
        assert_ne!(c("open"), content_sha("follow_up", "f2", &body("open")));
    }
}
