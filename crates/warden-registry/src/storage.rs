//! Durable storage: content-addressed blobs on the filesystem and metadata in SQLite. Handlers
//! call these; these call nothing above them.

pub mod blobs;
pub mod meta;
