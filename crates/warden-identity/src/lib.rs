//! The warden identity store: accounts with their IAM users, groups, roles, inline and attached
//! policies (AWS-managed and customer-managed), permissions boundaries, tags and access keys —
//! read from JSON files under `<policies>/identities/`, validated as a whole (every problem with
//! its file, field and reason), compiled once, and hot-reloaded without ever serving a
//! half-loaded store.
//!
//! The CLI, the sidecar and the registry all use this crate; it depends only on the engine.
//!
//! ```
//! use std::path::PathBuf;
//! use warden_identity::Store;
//! let file = (PathBuf::from("acct.json"), r#"{
//!   "account": "111122223333",
//!   "users": {"alice": {"attached_policies": ["AmazonEC2ContainerRegistryReadOnly"],
//!                       "tags": {"team": "platform"},
//!                       "access_keys": [{"id": "AKIAALICEEXAMPLE0001", "secret": "alice-secret-access-key-0001"}]}}
//! }"#.to_owned());
//! let store = Store::from_texts(&[file]).unwrap();
//! let key = store.credential("AKIAALICEEXAMPLE0001").unwrap();
//! let alice = store.resolve(&key.user_arn).unwrap();
//! assert_eq!(alice.identity.policies.policies()[0].id(), "AmazonEC2ContainerRegistryReadOnly");
//! assert_eq!(&*alice.identity.tags, [("team".to_owned(), "platform".to_owned())]);
//! ```

mod format;
mod reload;
mod store;
pub mod who;

pub use reload::{ReloadEvent, StoreHandle, Watcher};
pub use store::{Credential, DemoKeysError, Identity, IdentityKind, Problem, Resolved, Store, StoreError};
