//! Durable storage behind two traits: [`blobs::BlobStore`], content-addressed blobs (on the local
//! filesystem by default, [`blobs::FsBlobStore`]), and [`meta::MetadataStore`], transactional
//! metadata (in SQLite by default, [`meta::SqliteMeta`]; in PostgreSQL, shared by several
//! instances, [`postgres::PgMeta`]). Handlers call these; these call nothing above them.

pub mod blobs;
pub mod meta;
pub mod postgres;
