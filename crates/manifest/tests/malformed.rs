//! Every file in tests/malformed/ is an SDL with one mistake. Its first line says what the
//! error must be: `# expect: KIND PATH LINE` (PATH `-` for none); this test checks the
//! kind, the key path and the line of the error `parse_sdl` returns.

use std::path::PathBuf;

use akash_manifest::parse_sdl;

fn malformed_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/malformed")
}

struct Expectation {
    kind: String,
    path: String,
    line: usize,
}

fn expectation(file: &str, text: &str) -> Expectation {
    let first = text.lines().next().unwrap_or_default();
    let fields: Vec<&str> = first
        .strip_prefix("# expect: ")
        .unwrap_or_else(|| panic!("{file}: first line must be `# expect: KIND PATH LINE`"))
        .split_whitespace()
        .collect();
    let [kind, path, line] = fields[..] else {
        panic!("{file}: expected three fields in {first:?}");
    };
    Expectation {
        kind: kind.to_string(),
        path: if path == "-" {
            String::new()
        } else {
            path.to_string()
        },
        line: line.parse().expect("line number"),
    }
}

#[test]
fn each_malformed_file_fails_with_its_kind_path_and_line() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(malformed_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 12, "only {} malformed files", files.len());

    let mut failures = Vec::new();
    for path in &files {
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(path).unwrap();
        let expected = expectation(&file, &text);
        match parse_sdl(&text) {
            Ok(_) => failures.push(format!("{file}: parsed without error")),
            Err(error) => {
                let kind = format!("{:?}", error.kind);
                if kind != expected.kind
                    || error.path != expected.path
                    || error.line() != Some(expected.line)
                {
                    failures.push(format!(
                        "{file}: expected {} {} line {}, got {kind} {:?} line {:?}: {error}",
                        expected.kind,
                        expected.path,
                        expected.line,
                        error.path,
                        error.line()
                    ));
                }
                // Every message says what is wrong; Display puts the position first.
                let shown = error.to_string();
                assert!(
                    shown.starts_with(&format!("{}:", expected.line)),
                    "{file}: {shown}"
                );
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
