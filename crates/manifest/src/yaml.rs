//! A YAML tree that keeps the line and column of every key and value, built from
//! saphyr-parser's events, so that semantic errors can point at what they reject.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span};

use crate::error::{Position, SdlError, SdlErrorKind};

/// Deepest nesting of mappings and lists accepted (an SDL needs about eight).
pub const MAX_DEPTH: usize = 64;
/// Most nodes of the expanded tree, aliases included (guards against alias bombs).
pub const MAX_NODES: usize = 100_000;

#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub pos: Position,
    pub kind: NodeKind,
}

#[derive(Clone, Debug)]
pub(crate) enum NodeKind {
    /// `plain` is true for an untagged plain scalar: only those can be null.
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub key: String,
    pub key_pos: Position,
    pub value: Node,
}

impl Node {
    /// `~`, `null` or nothing at all, written plain.
    pub fn is_null(&self) -> bool {
        match &self.kind {
            NodeKind::Scalar { text, plain } => {
                *plain && matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL")
            }
            _ => false,
        }
    }

    /// A short description for "expected X, got Y" messages.
    pub fn describe(&self) -> String {
        match &self.kind {
            NodeKind::Scalar { .. } if self.is_null() => "null".to_string(),
            NodeKind::Scalar { text, .. } => format!("{text:?}"),
            NodeKind::Seq(_) => "a list".to_string(),
            NodeKind::Map(_) => "a mapping".to_string(),
        }
    }
}

pub(crate) fn position(span: &Span) -> Position {
    Position {
        line: span.start.line(),
        column: span.start.col() + 1,
    }
}

fn syntax_error(e: &ScanError) -> SdlError {
    let mark = e.marker();
    SdlError::new(
        SdlErrorKind::Syntax,
        "",
        Some(Position {
            line: mark.line(),
            column: mark.col() + 1,
        }),
        format!("YAML syntax error: {}", e.info()),
    )
}

/// Parses one YAML document into a tree. An empty stream gives `None`.
pub(crate) fn parse(text: &str) -> Result<Option<Node>, SdlError> {
    let mut builder = Builder {
        parser: Parser::new_from_str(text),
        anchors: HashMap::new(),
        nodes: 0,
    };
    let (event, span) = builder.next()?;
    if event != Event::StreamStart {
        return Err(builder.unexpected(&span, "the start of the stream"));
    }
    let (event, span) = builder.next()?;
    match event {
        Event::StreamEnd => return Ok(None),
        Event::DocumentStart(_) => {}
        _ => return Err(builder.unexpected(&span, "a document")),
    }
    let (event, span) = builder.next()?;
    let root = builder.node(event, span, 0)?;
    let (event, span) = builder.next()?;
    if event != Event::DocumentEnd {
        return Err(builder.unexpected(&span, "the end of the document"));
    }
    let (event, span) = builder.next()?;
    match event {
        Event::StreamEnd => Ok(Some(root)),
        _ => Err(SdlError::new(
            SdlErrorKind::Syntax,
            "",
            Some(position(&span)),
            "more than one YAML document; an SDL file holds exactly one",
        )),
    }
}

struct Builder<'input> {
    parser: Parser<'input, saphyr_parser::StrInput<'input>>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
}

impl<'input> Builder<'input> {
    fn next(&mut self) -> Result<(Event<'input>, Span), SdlError> {
        match self.parser.next_event() {
            Some(Ok(pair)) => Ok(pair),
            Some(Err(e)) => Err(syntax_error(&e)),
            None => Err(SdlError::new(
                SdlErrorKind::Syntax,
                "",
                None,
                "unexpected end of the YAML stream",
            )),
        }
    }

    fn unexpected(&self, span: &Span, expected: &str) -> SdlError {
        SdlError::new(
            SdlErrorKind::Syntax,
            "",
            Some(position(span)),
            format!("expected {expected}"),
        )
    }

    fn count(&mut self, added: usize, pos: Position) -> Result<(), SdlError> {
        self.nodes = self.nodes.saturating_add(added);
        if self.nodes > MAX_NODES {
            return Err(SdlError::new(
                SdlErrorKind::TooLarge,
                "",
                Some(pos),
                format!("more than {MAX_NODES} YAML nodes (aliases expanded)"),
            ));
        }
        Ok(())
    }

    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
    }

    fn node(&mut self, event: Event<'input>, span: Span, depth: usize) -> Result<Node, SdlError> {
        let pos = position(&span);
        if depth > MAX_DEPTH {
            return Err(SdlError::new(
                SdlErrorKind::TooLarge,
                "",
                Some(pos),
                format!("nesting deeper than {MAX_DEPTH} levels"),
            ));
        }
        self.count(1, pos)?;
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let node = Node {
                    pos,
                    kind: NodeKind::Scalar {
                        text: text.into_owned(),
                        plain: style == ScalarStyle::Plain && tag.is_none(),
                    },
                };
                self.remember(anchor, &node);
                Ok(node)
            }
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                loop {
                    let (event, span) = self.next()?;
                    if event == Event::SequenceEnd {
                        break;
                    }
                    items.push(self.node(event, span, depth + 1)?);
                }
                let node = Node {
                    pos,
                    kind: NodeKind::Seq(items),
                };
                self.remember(anchor, &node);
                Ok(node)
            }
            Event::MappingStart(anchor, _) => {
                let mut entries = Vec::new();
                loop {
                    let (event, span) = self.next()?;
                    let key_pos = position(&span);
                    let key = match event {
                        Event::MappingEnd => break,
                        Event::Scalar(text, ..) => text.into_owned(),
                        Event::Alias(id) => match self.anchors.get(&id).map(|n| &n.kind) {
                            Some(NodeKind::Scalar { text, .. }) => text.clone(),
                            _ => return Err(complex_key(key_pos)),
                        },
                        _ => return Err(complex_key(key_pos)),
                    };
                    let (event, span) = self.next()?;
                    let value = self.node(event, span, depth + 1)?;
                    entries.push(Entry {
                        key,
                        key_pos,
                        value,
                    });
                }
                let node = Node {
                    pos,
                    kind: NodeKind::Map(entries),
                };
                self.remember(anchor, &node);
                Ok(node)
            }
            Event::Alias(id) => {
                let Some(mut node) = self.anchors.get(&id).cloned() else {
                    return Err(self.unexpected(&span, "a defined anchor"));
                };
                self.count(size(&node), pos)?;
                node.pos = pos;
                Ok(node)
            }
            _ => Err(self.unexpected(&span, "a value")),
        }
    }
}

fn complex_key(pos: Position) -> SdlError {
    SdlError::new(
        SdlErrorKind::WrongType,
        "",
        Some(pos),
        "mapping keys must be plain strings, not lists or mappings",
    )
}

fn size(node: &Node) -> usize {
    match &node.kind {
        NodeKind::Scalar { .. } => 1,
        NodeKind::Seq(items) => 1 + items.iter().map(size).sum::<usize>(),
        NodeKind::Map(entries) => 1 + entries.iter().map(|e| size(&e.value)).sum::<usize>(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(node: &Node) -> &[Entry] {
        match &node.kind {
            NodeKind::Map(entries) => entries,
            other => panic!("not a map: {other:?}"),
        }
    }

    #[test]
    fn keeps_positions_of_keys_and_values() {
        let root = parse("a: 1\nb:\n  c: \"x\"\n  d: [1, 2]\n")
            .unwrap()
            .unwrap();
        let top = map(&root);
        assert_eq!(top[0].key, "a");
        assert_eq!(top[0].key_pos, Position { line: 1, column: 1 });
        assert_eq!(top[0].value.pos, Position { line: 1, column: 4 });
        let inner = map(&top[1].value);
        assert_eq!(inner[0].key_pos, Position { line: 3, column: 3 });
        assert!(matches!(
            &inner[0].value.kind,
            NodeKind::Scalar { text, plain: false } if text == "x"
        ));
        assert_eq!(inner[1].value.pos, Position { line: 4, column: 6 });
    }

    #[test]
    fn null_only_when_plain() {
        let root = parse("a:\nb: ~\nc: ''\nd: null\ne: 'null'\n")
            .unwrap()
            .unwrap();
        let nulls: Vec<bool> = map(&root).iter().map(|e| e.value.is_null()).collect();
        assert_eq!(nulls, [true, true, false, true, false]);
    }

    #[test]
    fn syntax_error_has_position() {
        let err = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert_eq!(err.kind, SdlErrorKind::Syntax);
        assert!(err.position.is_some());
    }

    #[test]
    fn aliases_expand_and_are_bounded() {
        let root = parse("a: &x {k: v}\nb: *x\n").unwrap().unwrap();
        let top = map(&root);
        assert_eq!(map(&top[1].value)[0].key, "k");

        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            let prev = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        assert_eq!(parse(&bomb).unwrap_err().kind, SdlErrorKind::TooLarge);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(parse(&deep).unwrap_err().kind, SdlErrorKind::TooLarge);
    }

    #[test]
    fn two_documents_are_refused() {
        let err = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(err.kind, SdlErrorKind::Syntax);
        assert_eq!(err.line(), Some(2));
    }

    #[test]
    fn empty_stream_is_none() {
        assert!(parse("").unwrap().is_none());
        assert!(parse("# only a comment\n").unwrap().is_none());
    }
}
