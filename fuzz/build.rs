//! Collects the repository's policies and requests (`policies/**/*.json`: the conformance cases,
//! the ECR user guide examples, the managed policies, the demo identities) into `$OUT_DIR/seeds.rs`,
//! so that the `evaluate` target can pick real documents and real request fields by index.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

#[derive(Default)]
struct Seeds {
    /// (has a `Principal`, policy text)
    policies: BTreeSet<(bool, String)>,
    actions: BTreeSet<String>,
    resources: BTreeSet<String>,
    principals: BTreeSet<String>,
    /// (key, type, values)
    context: BTreeSet<(String, String, Vec<String>)>,
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    let mut seeds = Seeds::default();
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let Ok(text) = fs::read_to_string(f) else { continue };
        let Ok(json) = serde_json::from_str::<Value>(&text) else { continue };
        collect(&json, &mut seeds);
    }
    let mut out = String::new();
    out.push_str("/// Policy documents of the repository: (has a `Principal`, text).\n");
    out.push_str("pub static POLICIES: &[(bool, &str)] = &[\n");
    for (principal, text) in &seeds.policies {
        out.push_str(&format!("    ({principal}, {text:?}),\n"));
    }
    out.push_str("];\n");
    for (name, set) in [("ACTIONS", &seeds.actions), ("RESOURCES", &seeds.resources), ("PRINCIPALS", &seeds.principals)]
    {
        out.push_str(&format!("pub static {name}: &[&str] = &[\n"));
        for s in set {
            out.push_str(&format!("    {s:?},\n"));
        }
        out.push_str("];\n");
    }
    out.push_str("/// Context entries of the conformance cases: (key, type, values).\n");
    out.push_str("pub static CONTEXT: &[(&str, &str, &[&str])] = &[\n");
    for (k, t, vs) in &seeds.context {
        out.push_str(&format!("    ({k:?}, {t:?}, &{vs:?}),\n"));
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into())).join("seeds.rs");
    if let Err(e) = fs::write(&dest, out) {
        println!("cargo:warning=cannot write {}: {e}", dest.display());
        std::process::exit(1);
    }
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, files);
        } else if p.extension().is_some_and(|x| x == "json") {
            files.push(p);
        }
    }
}

fn has_principal(doc: &Value) -> bool {
    match doc.get("Statement") {
        Some(Value::Array(ss)) => ss.iter().any(|s| s.get("Principal").is_some() || s.get("NotPrincipal").is_some()),
        Some(s) => s.get("Principal").is_some() || s.get("NotPrincipal").is_some(),
        None => false,
    }
}

fn collect(v: &Value, seeds: &mut Seeds) {
    match v {
        Value::Object(m) => {
            if m.contains_key("Statement") {
                seeds.policies.insert((has_principal(v), v.to_string()));
                return;
            }
            for (key, field) in m {
                match (key.as_str(), field) {
                    ("action", Value::String(s)) => {
                        seeds.actions.insert(s.clone());
                    }
                    ("resource" | "resource_owner", Value::String(s)) if !s.trim_start().starts_with('{') => {
                        seeds.resources.insert(s.clone());
                    }
                    ("principal" | "role_arn", Value::String(s)) => {
                        seeds.principals.insert(s.clone());
                    }
                    ("context", Value::Array(entries)) => {
                        for e in entries {
                            let key = e.get("key").and_then(Value::as_str).unwrap_or_default();
                            let ty = e.get("type").and_then(Value::as_str).unwrap_or("string");
                            let values = e
                                .get("values")
                                .and_then(Value::as_array)
                                .map(|vs| vs.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                                .unwrap_or_default();
                            seeds.context.insert((key.to_owned(), ty.to_owned(), values));
                        }
                    }
                    (_, Value::String(s)) if s.trim_start().starts_with('{') => {
                        // Raw policy text (the validation cases, `<policy>` given as a string).
                        let principal = serde_json::from_str::<Value>(s).map(|d| has_principal(&d)).unwrap_or(false)
                            || s.contains("Principal");
                        seeds.policies.insert((principal, s.clone()));
                    }
                    _ => collect(field, seeds),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect(i, seeds)),
        _ => {}
    }
}
