//! Durable storage behind two traits: [`blobs::BlobStore`], content-addressed blobs (on the local
//! filesystem by default, [`blobs::FsBlobStore`]), and [`meta::MetadataStore`], transactional
//! metadata (in SQLite by default, [`meta::SqliteMeta`]). Handlers call these; these call nothing
//! above them. [`s3::S3BlobStore`] keeps blobs in an S3-compatible bucket instead, shared by
//! several processes.

pub mod blobs;
pub mod meta;
pub mod s3;
