//! Typed access to the YAML tree: mappings with every key checked, lists, scalars and
//! numbers, each failure an [`SdlError`] with the key path and position.

use std::collections::HashMap;

use crate::error::{Position, SdlError, SdlErrorKind};
use crate::yaml::{Entry, Node, NodeKind};

pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

pub(crate) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

pub(crate) fn error(
    kind: SdlErrorKind,
    path: &str,
    pos: Position,
    message: impl Into<String>,
) -> SdlError {
    SdlError::new(kind, path, Some(pos), message)
}

fn wrong_type(node: &Node, path: &str, expected: &str) -> SdlError {
    error(
        SdlErrorKind::WrongType,
        path,
        node.pos,
        format!("expected {expected}, got {}", node.describe()),
    )
}

/// The entries of a mapping; a key written twice is an error at its second occurrence.
pub(crate) fn map<'a>(node: &'a Node, path: &str) -> Result<&'a [Entry], SdlError> {
    let NodeKind::Map(entries) = &node.kind else {
        return Err(wrong_type(node, path, "a mapping"));
    };
    let mut seen: HashMap<&str, Position> = HashMap::with_capacity(entries.len());
    for entry in entries {
        if let Some(first) = seen.insert(entry.key.as_str(), entry.key_pos) {
            return Err(error(
                SdlErrorKind::DuplicateKey,
                &join(path, &entry.key),
                entry.key_pos,
                format!(
                    "key {:?} appears twice (first at line {})",
                    entry.key, first.line
                ),
            ));
        }
    }
    Ok(entries)
}

/// A mapping that must have at least one entry.
pub(crate) fn non_empty_map<'a>(
    node: &'a Node,
    path: &str,
    what: &str,
) -> Result<&'a [Entry], SdlError> {
    let entries = map(node, path)?;
    if entries.is_empty() {
        return Err(error(
            SdlErrorKind::Empty,
            path,
            node.pos,
            format!("at least one {what} is required"),
        ));
    }
    Ok(entries)
}

pub(crate) fn seq<'a>(node: &'a Node, path: &str) -> Result<&'a [Node], SdlError> {
    match &node.kind {
        NodeKind::Seq(items) => Ok(items),
        _ => Err(wrong_type(node, path, "a list")),
    }
}

/// A non-null scalar's text.
pub(crate) fn text<'a>(node: &'a Node, path: &str) -> Result<&'a str, SdlError> {
    match &node.kind {
        NodeKind::Scalar { text, .. } if !node.is_null() => Ok(text),
        _ => Err(wrong_type(node, path, "a string or number")),
    }
}

pub(crate) fn boolean(node: &Node, path: &str) -> Result<bool, SdlError> {
    match text(node, path)? {
        "true" | "True" | "TRUE" => Ok(true),
        "false" | "False" | "FALSE" => Ok(false),
        _ => Err(wrong_type(node, path, "true or false")),
    }
}

/// A scalar read by `parse`; a failure is a `kind` error quoting the value.
pub(crate) fn parsed<T>(
    node: &Node,
    path: &str,
    kind: SdlErrorKind,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, SdlError> {
    let value = text(node, path)?;
    parse(value).map_err(|reason| error(kind, path, node.pos, format!("{reason}, got {value:?}")))
}

/// A list of strings (`command`, `args`).
pub(crate) fn strings(node: &Node, path: &str) -> Result<Vec<String>, SdlError> {
    seq(node, path)?
        .iter()
        .enumerate()
        .map(|(i, item)| text(item, &index(path, i)).map(str::to_string))
        .collect()
}

/// Refuses keys outside `allowed`: keys in `unsupported` are Akash features this marketplace
/// does not offer, anything else is unknown (a typo, most often).
pub(crate) fn check_keys(
    entries: &[Entry],
    path: &str,
    allowed: &[&str],
    unsupported: &[&str],
) -> Result<(), SdlError> {
    for entry in entries {
        let key = entry.key.as_str();
        if allowed.contains(&key) {
            continue;
        }
        let key_path = join(path, key);
        if unsupported.contains(&key) {
            return Err(error(
                SdlErrorKind::Unsupported,
                &key_path,
                entry.key_pos,
                format!("{key:?} is valid Akash SDL but not supported by this marketplace"),
            ));
        }
        let hint = allowed
            .iter()
            .find(|candidate| edit_distance(key, candidate) <= 2)
            .map(|candidate| format!(" (did you mean {candidate:?}?)"))
            .unwrap_or_default();
        return Err(error(
            SdlErrorKind::UnknownKey,
            &key_path,
            entry.key_pos,
            format!(
                "unknown key {key:?}{hint}; expected one of: {}",
                allowed.join(", ")
            ),
        ));
    }
    Ok(())
}

/// The entry for `key` unless absent or null (null means "not given" for optional keys).
pub(crate) fn find<'a>(entries: &'a [Entry], key: &str) -> Option<&'a Entry> {
    entries
        .iter()
        .find(|e| e.key == key)
        .filter(|e| !e.value.is_null())
}

/// The entry for `key`, which must be present and not null; `parent` is the mapping.
pub(crate) fn require<'a>(
    entries: &'a [Entry],
    key: &str,
    path: &str,
    parent: &Node,
) -> Result<&'a Entry, SdlError> {
    if let Some(entry) = find(entries, key) {
        return Ok(entry);
    }
    let pos = entries
        .iter()
        .find(|e| e.key == key)
        .map(|e| e.key_pos)
        .unwrap_or(parent.pos);
    Err(error(
        SdlErrorKind::MissingKey,
        &join(path, key),
        pos,
        format!("{key:?} is required"),
    ))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("image", "image"), 0);
        assert_eq!(edit_distance("imgae", "image"), 2);
        assert_eq!(edit_distance("imag", "image"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
