//! Garbage collection of blob bytes: a blob's bytes are removed once no repository links it.

use crate::names::Digest;
use crate::state::Registry;

/// Removes the bytes of each of `digests` that no repository refers to any more. Each runs under
/// the blob's lock ([`Registry::lock_blob`]: in this process and across instances sharing the
/// metadata store), which every link of a blob to a repository also takes, so bytes a concurrent
/// push on any instance is linking are never removed. Failures are logged: the bytes stay, which
/// loses nothing.
pub async fn collect(reg: &Registry, digests: &[String]) {
    for text in digests {
        let Ok(digest) = Digest::parse(text) else {
            tracing::warn!(digest = %text, "not collecting a blob whose stored digest is invalid");
            continue;
        };
        let Ok(_guard) = reg.lock_blob(text).await else {
            tracing::warn!(%digest, "blob kept: could not take its lock");
            continue;
        };
        let d = text.clone();
        match reg.meta(move |m| m.blob_referenced(&d)).await {
            Ok(false) => {
                if let Err(e) = reg.blobs.remove(&digest).await {
                    tracing::error!(%digest, error = %e, "removing an unreferenced blob");
                }
            }
            Ok(true) => {}
            Err(_) => tracing::warn!(%digest, "blob kept: could not tell whether it is referenced"),
        }
    }
}
