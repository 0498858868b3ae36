//! Garbage collection of blob bytes: a blob's bytes are removed once no repository links it.

use crate::names::Digest;
use crate::state::Registry;

/// Removes the bytes of each of `digests` that no repository refers to any more. Runs under the
/// registry's blob lock, which every link of a blob to a repository also takes, so bytes a
/// concurrent push is linking are never removed. Failures are logged: the bytes stay, which
/// loses nothing.
pub async fn collect(reg: &Registry, digests: &[String]) {
    for text in digests {
        let Ok(digest) = Digest::parse(text) else {
            tracing::warn!(digest = %text, "not collecting a blob whose stored digest is invalid");
            continue;
        };
        let _guard = reg.blob_lock.lock().await;
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
