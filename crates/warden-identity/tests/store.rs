//! The identity store over real files: the shipped demo set, validation that reports every
//! problem with file and field, and hot reload under concurrent readers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail loudly

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use warden_identity::{IdentityKind, ReloadEvent, Store, StoreHandle};
use warden_policy::{evaluate, Context, Outcome, Policies, PrincipalKind, Request};

fn policies_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("warden-identity-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("identities")).unwrap();
    dir
}

#[test]
fn the_demo_set_loads_and_decides() {
    let store = Store::load(&policies_dir()).unwrap();
    assert!(store.has_demo_keys());
    let key = store.credential("AKIAIOSFODNN7EXAMPLE").unwrap();
    assert_eq!(key.secret, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    assert_eq!(key.user_arn, "arn:aws:iam::111122223333:user/admin");
    let decide = |user: &str, action: &str| {
        let r = store.resolve(&format!("arn:aws:iam::111122223333:user/{user}")).unwrap();
        let ctx = Context::new();
        let req = Request {
            principal: &r.principal,
            action,
            resource: "arn:aws:ecr:us-east-1:111122223333:repository/team/app",
            resource_account: "111122223333",
            context: &ctx,
        };
        let policies = Policies {
            identity: &r.identity.policies,
            boundary: r.identity.boundary.as_ref(),
            session: None,
            resource: None,
        };
        let outcome = evaluate(&policies, &req).outcome;
        outcome
    };
    assert_eq!(decide("admin", "ecr:DeleteRepository"), Outcome::Allowed);
    assert_eq!(decide("pusher", "ecr:PutImage"), Outcome::Allowed);
    assert_eq!(decide("pusher", "ecr:DeleteRepository"), Outcome::ImplicitDeny);
    assert_eq!(decide("reader", "ecr:BatchGetImage"), Outcome::Allowed);
    assert_eq!(decide("reader", "ecr:PutImage"), Outcome::ImplicitDeny);
    // The group policy reaches its members.
    let reader = store.user("111122223333", "reader").unwrap();
    assert!(reader
        .policies
        .policies()
        .iter()
        .any(|p| p.id() == "RepositoryTagGuard" && p.source_type() == "user-managed"));
    assert!(reader.unique_id.starts_with("AIDA") && reader.unique_id.len() == 21);
}

#[test]
fn role_sessions_resolve_to_their_role() {
    let store = Store::load(&policies_dir()).unwrap();
    let s = store.resolve("arn:aws:sts::111122223333:assumed-role/ci/build-7").unwrap();
    assert_eq!(s.identity.kind, IdentityKind::Role);
    assert_eq!(s.principal.kind(), PrincipalKind::AssumedRole);
    assert_eq!(s.principal.principal_arn(), "arn:aws:iam::111122223333:role/teams/ci");
    assert!(s.identity.boundary.is_some());
    assert!(store.resolve("arn:aws:sts::111122223333:assumed-role/nope/x").is_none());
}

#[test]
fn every_problem_is_reported_with_file_and_field() {
    let dir = temp_dir("invalid");
    std::fs::write(
        dir.join("identities/a.json"),
        r#"{
          "account": "111122223333",
          "users": {
            "alice": {"attached_policies": ["NoSuchPolicy"], "groups": ["ghosts"],
                      "inline_policies": {"Bad": {"Statement": {"Effect": "allow", "Action": "ecr:*", "Resource": "*"}}},
                      "access_keys": [{"id": "short", "secret": "x"}]}
          }
        }"#,
    )
    .unwrap();
    std::fs::write(dir.join("identities/b.json"), r#"{"account": "111122223333", "userz": {}}"#).unwrap();
    let err = Store::load(&dir).unwrap_err();
    let fields: Vec<&str> = err.problems.iter().map(|p| p.field.as_str()).collect();
    assert!(fields.contains(&"users.alice.attached_policies[0]"), "{err}");
    assert!(fields.contains(&"users.alice.groups[0]"), "{err}");
    assert!(fields.contains(&"users.alice.inline_policies.Bad"), "{err}");
    assert!(fields.contains(&"users.alice.access_keys[0].id"), "{err}");
    let b = err.problems.iter().find(|p| p.file.ends_with("b.json")).unwrap();
    assert!(b.reason.contains("unknown field `userz`"), "{}", b.reason);
    let text = err.to_string();
    assert!(
        text.contains("`users.alice.inline_policies.Bad`: invalid policy: ")
            && text.contains("statement 0: `Effect` must be `Allow` or `Deny` (case matters), not `allow`"),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

const GOOD: &str = r#"{"account": "111122223333", "users": {"alice": {"attached_policies": ["AmazonEC2ContainerRegistryReadOnly"], "access_keys": [{"id": "AKIAALICEEXAMPLE0001", "secret": "alice-secret-key-0001"}]}}}"#;
const SECOND: &str = r#"{"account": "111122223333", "users": {"alice": {"attached_policies": ["AmazonEC2ContainerRegistryPowerUser"], "access_keys": [{"id": "AKIAALICEEXAMPLE0002", "secret": "alice-secret-key-0002"}]}}}"#;

#[test]
fn hot_reload_swaps_whole_stores_and_keeps_the_last_good_one() {
    let dir = temp_dir("reload");
    let file = dir.join("identities/a.json");
    std::fs::write(&file, GOOD).unwrap();
    let handle = Arc::new(StoreHandle::load(&dir).unwrap());
    assert_eq!(handle.reload_if_changed(), None);

    // Readers check that every store they see is whole: exactly one of the two keys, and the
    // policy that goes with it.
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (handle, stop) = (Arc::clone(&handle), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut seen = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let store = handle.current();
                    let one = store.credential("AKIAALICEEXAMPLE0001").is_some();
                    let two = store.credential("AKIAALICEEXAMPLE0002").is_some();
                    assert!(one != two, "a half-loaded store");
                    let alice = store.user("111122223333", "alice").unwrap();
                    let policy = alice.policies.policies()[0].id().to_owned();
                    assert_eq!(
                        policy,
                        if one { "AmazonEC2ContainerRegistryReadOnly" } else { "AmazonEC2ContainerRegistryPowerUser" }
                    );
                    seen += 1;
                }
                seen
            })
        })
        .collect();

    let mut reloads = 0;
    for i in 0..20 {
        // Change size as well as content so the change shows even within one mtime tick.
        let text = if i % 2 == 0 { format!("{SECOND}{}", " ".repeat(i)) } else { format!("{GOOD}{}", " ".repeat(i)) };
        std::fs::write(&file, text).unwrap();
        if let Some(ReloadEvent::Reloaded) = handle.reload_if_changed() {
            reloads += 1;
        }
    }
    assert!(reloads >= 10, "only {reloads} reloads happened");

    // A broken change is refused; the last good store keeps serving.
    let before = handle.current().credential("AKIAALICEEXAMPLE0002").is_some();
    std::fs::write(&file, r#"{"account": "nope"}"#).unwrap();
    match handle.reload_if_changed() {
        Some(ReloadEvent::Rejected(e)) => assert!(e.to_string().contains("is not a 12-digit account id")),
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(handle.current().credential("AKIAALICEEXAMPLE0002").is_some(), before);
    assert_eq!(handle.failures(), 1);

    stop.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_watcher_picks_up_changes() {
    let dir = temp_dir("watch");
    let file = dir.join("identities/a.json");
    std::fs::write(&file, GOOD).unwrap();
    let handle = Arc::new(StoreHandle::load(&dir).unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    let watcher = handle.watch(Duration::from_millis(20), move |e| drop(tx.send(e.clone()))).unwrap();
    std::fs::write(&file, format!("{SECOND} ")).unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), ReloadEvent::Reloaded);
    assert!(handle.current().credential("AKIAALICEEXAMPLE0002").is_some());
    drop(watcher);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn demo_keys_keep_a_server_on_loopback() {
    let store = Store::load(&policies_dir()).unwrap();
    assert!(store.check_listen(&"127.0.0.1:5000".parse().unwrap(), false).is_ok());
    assert!(store.check_listen(&"[::1]:5000".parse().unwrap(), false).is_ok());
    let err = store.check_listen(&"0.0.0.0:5000".parse().unwrap(), false).unwrap_err();
    assert_eq!(err.keys, ["AKIAI44QH8DHBEXAMPLE", "AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7READER1"]);
    assert!(err.to_string().starts_with("refusing to listen on 0.0.0.0:5000"));
    assert!(store.check_listen(&"0.0.0.0:5000".parse().unwrap(), true).is_ok());
}
