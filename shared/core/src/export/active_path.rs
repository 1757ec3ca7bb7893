//! The active path of a conversation's message tree.
//!
//! Every regeneration and every edited prompt leaves a branch in `mapping`; what the person saw
//! last is the path from `current_node` up through `parent` to the root. Walking forward through
//! `children[0]` instead picks abandoned branches, a known bug of several importers.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use std::borrow::Cow;

use super::model::{Mapping, RawNode, Str, Text};

/// The node ids of the active path, root first.
pub struct ActivePath<'a> {
    /// Keys of `mapping`; empty when the tree has no node.
    pub ids: Vec<Str<'a>>,
    /// `current_node` was missing or dangling: the newest leaf was used.
    pub used_newest_leaf: bool,
    /// The walk met a node twice and stopped there.
    pub cycle: bool,
}

impl std::borrow::Borrow<str> for Str<'_> {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// Walks from `current_node` (else the newest leaf) up through the parents to the root.
pub fn active_path<'a>(mapping: &Mapping<'a>, current_node: Option<&str>) -> ActivePath<'a> {
    let parents = Parents::new(mapping);
    let (start, used_newest_leaf) = match current_node.filter(|id| mapping.contains_key(*id)) {
        Some(id) => (Some(id), false),
        None => (newest_leaf(mapping, &parents), true),
    };
    let mut ids = Vec::new();
    let mut seen = HashSet::default();
    let mut cycle = false;
    let mut next = start;
    while let Some(id) = next {
        let Some((key, node)) = mapping.get_key_value(id) else {
            break;
        };
        if !seen.insert(key.0.as_ref()) {
            cycle = true;
            break;
        }
        ids.push(key.clone());
        next = parents.of(key.0.as_ref(), node);
    }
    ids.reverse();
    ActivePath {
        ids,
        used_newest_leaf,
        cycle,
    }
}

/// Parent links: the `parent` field where present, else rebuilt from the other nodes'
/// `children` (one export variant has no `parent`, the 2026 one has no `children`).
struct Parents<'m> {
    from_children: HashMap<Cow<'m, str>, &'m str>,
}

impl<'m> Parents<'m> {
    fn new<'a>(mapping: &'m Mapping<'a>) -> Self {
        let mut from_children = HashMap::default();
        if mapping.values().any(|n| n.parent.is_none()) {
            for (key, node) in mapping {
                let children = node.children.map(|raw| raw.get()).unwrap_or("[]");
                let children: Vec<Text<'m>> = serde_json::from_str(children).unwrap_or_default();
                for child in children.into_iter().filter_map(|c| c.0) {
                    from_children.entry(child).or_insert(key.0.as_ref());
                }
            }
        }
        Parents { from_children }
    }

    fn of(&self, id: &str, node: &'m RawNode<'_>) -> Option<&'m str> {
        match &node.parent {
            Some(parent) => parent.get(),
            None => self.from_children.get(id).copied(),
        }
    }
}

/// The leaf whose message is newest; ties (and timeless trees) go to the greatest id, so the
/// choice is deterministic.
fn newest_leaf<'m, 'a>(mapping: &'m Mapping<'a>, parents: &Parents<'m>) -> Option<&'m str> {
    let has_child: HashSet<&str> = mapping
        .iter()
        .filter_map(|(key, node)| parents.of(key.0.as_ref(), node))
        .collect();
    mapping
        .iter()
        .filter(|(key, _)| !has_child.contains(key.0.as_ref()))
        .map(|(key, node)| {
            let time = node
                .message
                .as_ref()
                .and_then(|m| m.create_time.0)
                .unwrap_or(f64::NEG_INFINITY);
            (time, key.0.as_ref())
        })
        .max_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(b.1)))
        .map(|(_, id)| id)
}

#[cfg(test)]
mod tests {
    use super::super::model::RawConversation;
    use super::*;

    fn path_of(json: &str) -> (Vec<String>, bool, bool) {
        let raw: RawConversation = serde_json::from_str(json).unwrap();
        let mapping = raw.mapping.unwrap();
        let path = active_path(&mapping, raw.current_node.get());
        let ids = path
            .ids
            .iter()
            .map(|id| {
                mapping[id]
                    .message
                    .as_ref()
                    .and_then(|m| m.id.get())
                    .unwrap_or("-")
                    .to_owned()
            })
            .collect();
        (ids, path.used_newest_leaf, path.cycle)
    }

    const BRANCHED: &str = r#"{"current_node": "b2", "mapping": {
        "root": {"parent": null, "children": ["q"], "message": null},
        "q": {"parent": "root", "children": ["b1", "b2"], "message": {"id": "q", "create_time": 1}},
        "b1": {"parent": "q", "children": [], "message": {"id": "b1", "create_time": 5}},
        "b2": {"parent": "q", "children": [], "message": {"id": "b2", "create_time": 3}}}}"#;

    #[test]
    fn the_walk_follows_current_node_not_the_first_child() {
        assert_eq!(
            path_of(BRANCHED),
            (vec!["-".into(), "q".into(), "b2".into()], false, false)
        );
    }

    #[test]
    fn a_dangling_current_node_falls_back_to_the_newest_leaf() {
        let json = BRANCHED.replace("\"current_node\": \"b2\"", "\"current_node\": \"gone\"");
        assert_eq!(
            path_of(&json),
            (vec!["-".into(), "q".into(), "b1".into()], true, false)
        );
    }

    #[test]
    fn links_are_rebuilt_from_children_when_parent_is_absent() {
        let json = r#"{"current_node": "c", "mapping": {
            "r": {"children": ["c"], "message": {"id": "r"}},
            "c": {"children": [], "message": {"id": "c"}}}}"#;
        assert_eq!(path_of(json).0, vec!["r", "c"]);
    }

    #[test]
    fn a_parent_cycle_ends_the_walk() {
        let json = r#"{"current_node": "a", "mapping": {
            "a": {"parent": "b", "message": {"id": "a"}},
            "b": {"parent": "a", "message": {"id": "b"}}}}"#;
        let (ids, _, cycle) = path_of(json);
        assert_eq!(ids, vec!["b", "a"]);
        assert!(cycle);
    }
}
