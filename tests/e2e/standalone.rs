//! The repository stands on its own: no file in it names a document that is not in it (the
//! research notes the project was started from lived beside the checkout), and nothing reads
//! from outside the checkout. Rules and their sources are in `docs/RULES.md`.

use std::path::{Path, PathBuf};

/// Names of documents that never were part of the repository, and the folder they sat in.
/// Built at run time so that this file does not name them itself.
fn outside_names() -> Vec<String> {
    let md = ".md";
    let mut names: Vec<String> = ["domain", "PRODUCT", "style"].iter().map(|n| format!("{n}{md}")).collect();
    names.push(format!("../{}/", "shared"));
    names.push(format!("{}/vectors", "shared"));
    names
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            // Build output, git's own files and fuzzing corpora (made locally, never committed).
            if !matches!(name.as_str(), "target" | ".git" | "corpus" | "artifacts" | "kpledger-demo") {
                walk(&path, out);
            }
        } else {
            out.push(path);
        }
    }
}

#[test]
fn no_file_names_a_document_outside_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    walk(root, &mut files);
    assert!(files.len() > 200, "walked only {} files under {}", files.len(), root.display());
    let names = outside_names();
    let mut hits = Vec::new();
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else { continue }; // binary files
        for (n, line) in text.lines().enumerate() {
            if let Some(name) = names.iter().find(|name| line.contains(name.as_str())) {
                let rel = file.strip_prefix(root).unwrap().display();
                hits.push(format!("{rel}:{}: names {name}", n + 1));
            }
        }
    }
    assert!(
        hits.is_empty(),
        "{} line(s) name documents outside the repository; cite docs/RULES.md or the primary \
         source instead:\n  {}",
        hits.len(),
        hits.join("\n  ")
    );
}
