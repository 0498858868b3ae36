//! Arbitrary bytes as policy text, read as every policy kind.
//!
//! Invariants (beyond "never panics, never hangs"):
//! - `Policy::parse` and `CompiledPolicy::compile` accept the same texts;
//! - a policy accepted once is accepted again, equal, from its own `to_json` (the round trip that
//!   `warden_policy::policy` documents), and compiles;
//! - a refused text's error span lies inside the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_policy::{CompiledPolicy, PolicyKind, PolicySet, PrincipalValue, Statement};

const KINDS: [PolicyKind; 5] =
    [PolicyKind::Identity, PolicyKind::Boundary, PolicyKind::Session, PolicyKind::Resource, PolicyKind::Repository];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for kind in KINDS {
        let parsed = warden_policy::Policy::parse(text, kind);
        let compiled = CompiledPolicy::compile(text, kind, "fuzz");
        match (parsed, compiled) {
            (Ok(policy), Ok(compiled)) => {
                assert_eq!(&policy, compiled.policy(), "{kind:?}: parse and compile read the text differently");
                let again_text = policy.to_json().to_string();
                let again = match warden_policy::Policy::parse(&again_text, kind) {
                    Ok(p) => p,
                    Err(e) => panic!("{kind:?}: to_json of an accepted policy is refused: {e}\n{again_text}"),
                };
                // `to_json` writes maps with sorted keys (serde_json without `preserve_order`), so
                // condition operators, condition keys and principal types come back sorted: the
                // round trip holds up to that order (fuzz/README.md, known issues).
                assert_eq!(policy.version(), again.version(), "{kind:?}: the round trip changed Version");
                assert_eq!(policy.id(), again.id(), "{kind:?}: the round trip changed Id");
                assert_eq!(
                    normalized(policy.statements()),
                    normalized(again.statements()),
                    "{kind:?}: parse → to_json → parse changed the policy\n{again_text}"
                );
                // Every statement has a position; the set indexes every statement.
                for i in 0..policy.statements().len() {
                    assert!(policy.statement_positions(i).is_some(), "{kind:?}: statement {i} has no position");
                }
                let n = policy.statements().len();
                let set = PolicySet::new(vec![compiled.clone(), compiled]);
                assert_eq!(set.statement_count(), 2 * n);
            }
            (Err(a), Err(b)) => {
                assert_eq!(a.to_string(), b.to_string(), "{kind:?}: parse and compile refuse differently");
                // The error points into the text, and every accessor answers.
                if let Some(span) = a.span() {
                    assert!(
                        span.start <= span.end && span.end <= text.len(),
                        "{kind:?}: span {span:?} out of the text"
                    );
                    assert!(a.position().is_some());
                }
                let _ = (a.kind(), a.statement(), a.aws_exception(), a.aws_message());
            }
            (a, b) => panic!("{kind:?}: parse says {:?}, compile says {:?}", a.is_ok(), b.is_ok()),
        }
    }
});

/// The statements with condition blocks, condition keys and principal types in sorted order.
fn normalized(statements: &[Statement]) -> Vec<Statement> {
    statements
        .iter()
        .map(|s| {
            let mut s = s.clone();
            s.condition.sort_by(|a, b| a.operator.cmp(&b.operator));
            for block in &mut s.condition {
                block.entries.sort_by(|a, b| a.key.cmp(&b.key));
            }
            if let Some(p) = &mut s.principal {
                if let PrincipalValue::Map(entries) = &mut p.value {
                    entries.sort_by_key(|(t, _)| t.as_str());
                }
            }
            s
        })
        .collect()
}
