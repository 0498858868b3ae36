//! The scale-out backends as a test sees them: a fresh prefix of the process's private Garage
//! bucket for blobs and a fresh database of its private PostgreSQL for metadata, described as the
//! environment `warden serve` (and `warden get-login-password`, `create-repository`) read.
//!
//! Tests that start `warden` processes run on the defaults unless [`STORAGE_ENV`] is
//! `s3-postgres`; [`backend_env`] gives what to add to each command's environment then. CI runs
//! the registry's protocol and client tests once on each.

use crate::garage::{unique_prefix, Garage};
use crate::postgres::Postgres;

/// Set to `s3-postgres` to run registry tests on Garage and PostgreSQL.
pub const STORAGE_ENV: &str = "WARDEN_TEST_STORAGE";

/// True when [`STORAGE_ENV`] asks for the scale-out backends (and panics on a value it does not
/// know, so a typo cannot silently test the defaults).
pub fn requested() -> bool {
    match std::env::var(STORAGE_ENV).as_deref() {
        Err(_) | Ok("") | Ok("default") => false,
        Ok("s3-postgres") => true,
        Ok(other) => panic!("{STORAGE_ENV}={other}: use `s3-postgres` or leave it unset"),
    }
}

/// The environment for `warden` commands of a registry named `name`: empty on the defaults, else
/// [`scale_out_env`].
pub fn backend_env(name: &str) -> Vec<(String, String)> {
    if requested() {
        scale_out_env(name)
    } else {
        Vec::new()
    }
}

/// A fresh registry on the scale-out backends: `WARDEN_BLOB_STORE=s3://BUCKET/PREFIX`,
/// `WARDEN_S3_ENDPOINT`, `WARDEN_S3_REGION`, `WARDEN_METADATA=postgres://…` and the object
/// store's credentials as `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`. Every process given the
/// same environment is an instance of the same registry.
pub fn scale_out_env(name: &str) -> Vec<(String, String)> {
    let garage = Garage::shared();
    let postgres = Postgres::shared();
    vec![
        ("WARDEN_BLOB_STORE".into(), format!("s3://{}/{}", garage.bucket(), unique_prefix(name))),
        ("WARDEN_S3_ENDPOINT".into(), garage.endpoint().to_owned()),
        ("WARDEN_S3_REGION".into(), garage.region().to_owned()),
        ("WARDEN_METADATA".into(), postgres.fresh_database(&database_prefix(name))),
        ("AWS_ACCESS_KEY_ID".into(), garage.access_key().to_owned()),
        ("AWS_SECRET_ACCESS_KEY".into(), garage.secret_key().to_owned()),
    ]
}

/// `name` as the prefix of a database name (letters, digits and `_`).
pub fn database_prefix(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect()
}
