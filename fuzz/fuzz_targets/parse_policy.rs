//! Arbitrary bytes as policy text, read as every policy kind.
//!
//! Invariants (beyond "never panics, never hangs"):
//! - `Policy::parse` and `CompiledPolicy::compile` accept the same texts;
//! - a policy accepted once is accepted again, equal, from its own `to_json` (the round trip that
//!   `warden_policy::Policy` documents), and compiles;
//! - a refused text's error span lies inside the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_policy::{CompiledPolicy, PolicyKind, PolicySet};

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
                // `to_json` writes maps with sorted keys; equality ignores the order of an
                // object's keys, as JSON does (fuzz/README.md, finding 1).
                assert_eq!(policy, again, "{kind:?}: parse → to_json → parse changed the policy\n{again_text}");
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
