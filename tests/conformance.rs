//! The conformance corpus (`policies/cases/`) through the engine: every evaluation case must get
//! AWS's decision and matched statements, every validation case AWS's error.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail loudly

use warden_testkit::{corpus_dir, load_corpus, run_corpus, EngineRunner};

/// The floor for the corpus size.
const MIN_CASES: usize = 250;

#[test]
fn every_case_cites_its_rule() {
    let corpus = load_corpus(&corpus_dir()).unwrap_or_else(|e| panic!("{e}"));
    let mut bad = Vec::new();
    for file in &corpus {
        if file.note.trim().is_empty() || !file.source.contains("http") {
            bad.push(format!("{}: note and a source URL are required", file.path.display()));
        }
        let names: Vec<&str> =
            file.cases.iter().map(|c| c.name.as_str()).chain(file.validate.iter().map(|v| v.name.as_str())).collect();
        for (i, n) in names.iter().enumerate() {
            if names[..i].contains(n) {
                bad.push(format!("{}: duplicate case name `{n}`", file.path.display()));
            }
        }
        for c in &file.cases {
            if c.why.trim().is_empty() {
                bad.push(format!("{}#{}: `why` is empty", file.path.display(), c.name));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    let total: usize = corpus.iter().map(|f| f.cases.len() + f.validate.len()).sum();
    assert!(total >= MIN_CASES, "the corpus has {total} cases, fewer than {MIN_CASES}");
}

#[test]
fn engine_decides_as_aws() {
    let corpus = load_corpus(&corpus_dir()).unwrap_or_else(|e| panic!("{e}"));
    let report = run_corpus(&EngineRunner, &corpus);
    eprintln!("engine: {} passed, {} failed", report.passed, report.failures.len());
    assert!(report.not_expressible.is_empty());
    assert!(report.failures.is_empty(), "{} failures:\n{}", report.failures.len(), report.failures.join("\n"));
    assert!(report.passed > 0);
}

#[test]
fn engine_validates_as_aws() {
    let corpus = load_corpus(&corpus_dir()).unwrap_or_else(|e| panic!("{e}"));
    let mut failures = Vec::new();
    let mut passed = 0;
    for file in &corpus {
        for v in &file.validate {
            let id = format!("{}#{}", file.path.display(), v.name);
            let kind = match v.policy_kind() {
                Ok(k) => k,
                Err(e) => {
                    failures.push(format!("{id}: {e}"));
                    continue;
                }
            };
            let got = warden_policy::Policy::parse(&v.policy.text(), kind);
            let ok = match (&got, &v.expected_error) {
                (Ok(_), None) => true,
                (Err(e), Some(want)) => e.aws_exception() == want.exception && e.aws_message() == want.message,
                _ => false,
            };
            if ok {
                passed += 1;
            } else {
                let got = match &got {
                    Ok(_) => "valid".to_owned(),
                    Err(e) => format!("{}: {} ({e})", e.aws_exception(), e.aws_message()),
                };
                failures.push(format!("{id}: got {got}, AWS: {:?} ({})", v.expected_error, v.why));
            }
        }
    }
    eprintln!("validation: {passed} passed, {} failed", failures.len());
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
