//! The PostgreSQL metadata store against a real private PostgreSQL cluster
//! (`warden_testkit::postgres`): one scenario run on SQLite and on PostgreSQL must give the same
//! transcript; races between two `PgMeta` instances on one database; migrations; the fleet lock,
//! lease and secret; a server restart under load.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use warden_registry::storage::meta::{
    MetaError, MetadataStore, NewManifest, PutOutcome, PutRefusal, SqliteMeta, TagFilter,
};
use warden_registry::storage::postgres::{PgMeta, PG_SCHEMA_VERSION};
use warden_testkit::postgres::Postgres;

const OCI: &str = "application/vnd.oci.image.manifest.v1+json";

/// A digest whose order follows `n`.
fn dg(n: u32) -> String {
    format!("sha256:{n:064x}")
}

/// A manifest to put, with generous quotas.
fn nm<'a>(
    repo: &'a str,
    digest: &'a str,
    body: &'a [u8],
    blobs: &'a [(String, Option<u64>)],
    tag: Option<&'a str>,
    now: i64,
) -> NewManifest<'a> {
    NewManifest {
        repo,
        digest,
        media_type: OCI,
        body,
        subject: None,
        artifact_type: None,
        blobs,
        manifests: &[],
        tag,
        size: 30,
        now,
        max_images: 100,
        max_tags_per_image: 100,
    }
}

/// Runs a synchronous store call on the blocking pool, as the registry does.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("the blocking call panicked")
}

/// A transcript of results: each call and what it returned.
struct Log(Vec<String>);

impl Log {
    fn rec<T: std::fmt::Debug>(&mut self, what: &str, v: T) -> T {
        self.0.push(format!("{what} => {v:?}"));
        v
    }
    /// Records a call that returns nothing, which must succeed.
    fn ok(&mut self, what: &str, v: Result<(), MetaError>) {
        v.unwrap();
        self.0.push(format!("{what} => ok"));
    }
    /// Records only whether the call failed (error texts differ between backends).
    fn err<T: std::fmt::Debug>(&mut self, what: &str, v: Result<T, MetaError>) -> bool {
        self.0.push(format!("{what} => is_err {}", v.is_err()));
        v.is_err()
    }
}

/// Every method of the trait (but the fleet ones, whose defaults differ by design), with the
/// results asserted and recorded.
fn scenario(m: &dyn MetadataStore) -> Vec<String> {
    let mut log = Log(Vec::new());
    let l = &mut log;

    // Repositories.
    assert_eq!(l.rec("repository_count0", m.repository_count().unwrap()), 0);
    let team = vec![("team".to_owned(), "a".to_owned()), ("env".to_owned(), "prod".to_owned())];
    assert!(l.rec("create alpha", m.create_repository("alpha", &team, "MUTABLE", 100).unwrap()));
    assert!(!l.rec("create alpha again", m.create_repository("alpha", &[], "IMMUTABLE", 101).unwrap()));
    assert!(l.rec("create beta", m.create_repository("beta", &[], "IMMUTABLE", 102).unwrap()));
    assert!(l.rec("create Zeta", m.create_repository("Zeta", &[], "MUTABLE", 103).unwrap()));
    assert!(l.rec("create a-b", m.create_repository("a-b", &[], "MUTABLE", 104).unwrap()));
    // Bytewise order, as SQLite sorts: uppercase first, '-' before letters.
    assert_eq!(l.rec("repositories", m.repositories().unwrap()), ["Zeta", "a-b", "alpha", "beta"]);
    assert_eq!(l.rec("repository_count", m.repository_count().unwrap()), 4);
    let alpha = l.rec("repository alpha", m.repository("alpha").unwrap()).unwrap();
    assert_eq!((alpha.created_at, alpha.tag_mutability.as_str(), &alpha.tags), (100, "MUTABLE", &team));
    assert!(alpha.policy.is_none() && !alpha.scan_on_push);
    assert!(l.rec("repository missing", m.repository("missing").unwrap()).is_none());

    assert!(l.rec("set_policy", m.set_policy("alpha", Some("{\"Version\":\"2012-10-17\"}")).unwrap()));
    assert!(!l.rec("set_policy missing", m.set_policy("missing", Some("{}")).unwrap()));
    assert!(l.rec("set_repository_tags", m.set_repository_tags("alpha", &team[..1]).unwrap()));
    assert!(!l.rec("set_repository_tags missing", m.set_repository_tags("missing", &[]).unwrap()));
    assert!(l.rec("set_scan_on_push", m.set_scan_on_push("alpha", true).unwrap()));
    assert!(!l.rec("set_scan_on_push missing", m.set_scan_on_push("missing", true).unwrap()));
    assert!(!l.rec("set_tag_mutability missing", m.set_tag_mutability("missing", "IMMUTABLE").unwrap()));
    let alpha = l.rec("repository alpha 2", m.repository("alpha").unwrap()).unwrap();
    assert_eq!(alpha.policy.as_deref(), Some("{\"Version\":\"2012-10-17\"}"));
    assert_eq!(alpha.tags, &team[..1]);
    assert!(alpha.scan_on_push);
    assert!(l.rec("set_policy none", m.set_policy("alpha", None).unwrap()));
    assert!(l.rec("repository alpha 3", m.repository("alpha").unwrap()).unwrap().policy.is_none());

    // Blobs.
    let (config, layer1, layer2, layer3) = (dg(0xc0), dg(0x11), dg(0x12), dg(0x13));
    for (b, s) in [(&config, 5), (&layer1, 10), (&layer2, 20), (&layer3, 30)] {
        l.ok("link_blob", m.link_blob("alpha", b, s));
    }
    l.ok("link_blob again", m.link_blob("alpha", &layer1, 999));
    assert_eq!(l.rec("blob", m.blob("alpha", &layer1).unwrap()), Some(10));
    assert_eq!(l.rec("blob other repo", m.blob("beta", &layer1).unwrap()), None);
    assert_eq!(l.rec("blob missing", m.blob("alpha", &dg(0x99)).unwrap()), None);
    assert!(l.err("link_blob missing repo", m.link_blob("missing", &layer1, 10)));
    assert_eq!(
        l.rec("repository_blobs", m.repository_blobs("alpha").unwrap()),
        [layer1.clone(), layer2.clone(), layer3.clone(), config.clone()]
    );
    assert!(l.rec("blob_referenced", m.blob_referenced(&layer1).unwrap()));
    assert!(!l.rec("blob_referenced missing", m.blob_referenced(&dg(0x99)).unwrap()));
    l.ok("link_blob beta", m.link_blob("beta", &layer1, 10));

    // Manifests.
    let (m1, m2, m3, idx, sig1, sig2) = (dg(1), dg(2), dg(3), dg(0x1d), dg(0x51), dg(0x52));
    let b1: Vec<(String, Option<u64>)> = vec![(config.clone(), Some(5)), (layer1.clone(), Some(10))];
    let b2: Vec<(String, Option<u64>)> =
        vec![(config.clone(), None), (layer1.clone(), Some(10)), (layer2.clone(), Some(20))];
    let b3: Vec<(String, Option<u64>)> = vec![(layer3.clone(), Some(30))];
    let stored = |changed| PutOutcome::Stored { changed };
    assert_eq!(
        l.rec("put m1 v1", m.put_manifest(&nm("alpha", &m1, b"one", &b1, Some("v1"), 1000)).unwrap()),
        stored(true)
    );
    assert_eq!(
        l.rec("put m1 v1 again", m.put_manifest(&nm("alpha", &m1, b"one", &b1, Some("v1"), 1001)).unwrap()),
        stored(false)
    );
    assert_eq!(
        l.rec("put m1 no tag", m.put_manifest(&nm("alpha", &m1, b"one", &b1, None, 1002)).unwrap()),
        stored(false)
    );
    assert_eq!(
        l.rec("put m1 latest", m.put_manifest(&nm("alpha", &m1, b"one", &b1, Some("latest"), 1003)).unwrap()),
        stored(true)
    );
    assert_eq!(l.rec("put m2", m.put_manifest(&nm("alpha", &m2, b"two", &b2, None, 1000)).unwrap()), stored(true));
    assert_eq!(
        l.rec("put m3 v3", m.put_manifest(&nm("alpha", &m3, b"three", &b3, Some("v3"), 900)).unwrap()),
        stored(true)
    );
    // Refusals: nothing written.
    let unknown = vec![(dg(0x77), None)];
    assert_eq!(
        l.rec("put blob unknown", m.put_manifest(&nm("alpha", &dg(0x70), b"x", &unknown, Some("x"), 1)).unwrap()),
        PutOutcome::Refused(PutRefusal::BlobUnknown(dg(0x77)))
    );
    let wrong = vec![(layer2.clone(), Some(21))];
    assert_eq!(
        l.rec("put blob size", m.put_manifest(&nm("alpha", &dg(0x71), b"x", &wrong, Some("x"), 1)).unwrap()),
        PutOutcome::Refused(PutRefusal::BlobSize { digest: layer2.clone(), stored: 20, stated: 21 })
    );
    let children = [m1.clone(), dg(0x78)];
    assert_eq!(
        l.rec(
            "put index child unknown",
            m.put_manifest(&NewManifest { manifests: &children, ..nm("alpha", &idx, b"idx", &[], None, 1) }).unwrap()
        ),
        PutOutcome::Refused(PutRefusal::BlobUnknown(dg(0x78)))
    );
    assert_eq!(
        l.rec("put repo gone", m.put_manifest(&nm("missing", &dg(0x72), b"x", &[], None, 1)).unwrap()),
        PutOutcome::Refused(PutRefusal::RepositoryGone)
    );
    assert_eq!(
        l.rec(
            "put image limit",
            m.put_manifest(&NewManifest { max_images: 3, ..nm("alpha", &dg(0x73), b"x", &[], None, 1) }).unwrap()
        ),
        PutOutcome::Refused(PutRefusal::ImageLimit)
    );
    // The quota counts new images only: an existing one may still be tagged.
    assert_eq!(
        l.rec(
            "put existing at image limit",
            m.put_manifest(&NewManifest { max_images: 3, ..nm("alpha", &m2, b"two", &b2, Some("two"), 1) }).unwrap()
        ),
        stored(true)
    );
    assert_eq!(
        l.rec(
            "put too many tags",
            m.put_manifest(&NewManifest { max_tags_per_image: 2, ..nm("alpha", &m1, b"one", &b1, Some("third"), 1) })
                .unwrap()
        ),
        PutOutcome::Refused(PutRefusal::TooManyTags)
    );
    assert_eq!(
        l.rec(
            "put same tag at tag limit",
            m.put_manifest(&NewManifest { max_tags_per_image: 2, ..nm("alpha", &m1, b"one", &b1, Some("v1"), 1) })
                .unwrap()
        ),
        stored(false)
    );
    assert!(l.rec("no refused image", m.manifest("alpha", &dg(0x73)).unwrap()).is_none());
    assert!(l.rec("no refused tag", m.tag("alpha", "x").unwrap()).is_none());
    // Index and referrers.
    let children = [m1.clone(), m2.clone()];
    assert_eq!(
        l.rec(
            "put index",
            m.put_manifest(&NewManifest {
                manifests: &children,
                media_type: "application/vnd.oci.image.index.v1+json",
                ..nm("alpha", &idx, b"idx", &[], Some("multi"), 1100)
            })
            .unwrap()
        ),
        stored(true)
    );
    for (d, at) in [(&sig2, Some("application/sig")), (&sig1, None)] {
        assert_eq!(
            l.rec(
                "put referrer",
                m.put_manifest(&NewManifest {
                    subject: Some(&m1),
                    artifact_type: at,
                    ..nm("alpha", d, b"sig", &b3, None, 1200)
                })
                .unwrap()
            ),
            stored(true)
        );
    }
    let refs = l.rec("referrers", m.referrers("alpha", &m1).unwrap());
    assert_eq!(refs.iter().map(|r| r.digest.clone()).collect::<Vec<_>>(), [sig1.clone(), sig2.clone()]);
    assert_eq!(refs[1].artifact_type.as_deref(), Some("application/sig"));
    assert!(l.rec("referrers none", m.referrers("alpha", &m2).unwrap()).is_empty());
    assert!(l.rec("referrers other repo", m.referrers("beta", &m1).unwrap()).is_empty());

    // Immutable tags.
    assert_eq!(l.rec("beta put t", m.put_manifest(&nm("beta", &m1, b"b1", &[], Some("t"), 10)).unwrap()), stored(true));
    assert_eq!(
        l.rec("beta move t", m.put_manifest(&nm("beta", &m2, b"b2", &[], Some("t"), 11)).unwrap()),
        PutOutcome::Refused(PutRefusal::TagImmutable)
    );
    assert!(l.rec("beta refused image absent", m.manifest("beta", &m2).unwrap()).is_none());
    assert_eq!(
        l.rec("beta same t", m.put_manifest(&nm("beta", &m1, b"b1", &[], Some("t"), 12)).unwrap()),
        stored(false)
    );
    assert_eq!(
        l.rec("beta new tag", m.put_manifest(&nm("beta", &m2, b"b2", &[], Some("u"), 13)).unwrap()),
        stored(true)
    );
    assert!(l.rec("beta mutable", m.set_tag_mutability("beta", "MUTABLE").unwrap()));
    assert_eq!(
        l.rec("beta move t mutable", m.put_manifest(&nm("beta", &m2, b"b2", &[], Some("t"), 14)).unwrap()),
        stored(true)
    );
    assert_eq!(l.rec("beta tag t", m.tag("beta", "t").unwrap()), Some(m2.clone()));
    // Moving a tag of a mutable repository.
    assert_eq!(
        l.rec("alpha move v1", m.put_manifest(&nm("alpha", &m2, b"two", &b2, Some("v1"), 1300)).unwrap()),
        stored(true)
    );

    // Reads.
    let by_tag = l.rec("manifest by tag", m.manifest("alpha", "v1").unwrap()).unwrap();
    assert_eq!(
        (by_tag.digest.as_str(), by_tag.body.as_slice(), by_tag.media_type.as_str()),
        (m2.as_str(), &b"two"[..], OCI)
    );
    assert_eq!(l.rec("manifest by digest", m.manifest("alpha", &m1).unwrap()).unwrap().body, b"one");
    assert!(l.rec("manifest missing tag", m.manifest("alpha", "nope").unwrap()).is_none());
    assert!(l.rec("manifest missing digest", m.manifest("alpha", &dg(0x98)).unwrap()).is_none());
    assert!(l.rec("manifest other repo", m.manifest("Zeta", &m1).unwrap()).is_none());
    assert_eq!(l.rec("tags", m.tags("alpha").unwrap()), ["latest", "multi", "two", "v1", "v3"]);
    assert_eq!(l.rec("tag_count m2", m.tag_count("alpha", &m2).unwrap()), 2);
    assert_eq!(l.rec("tag_count m1", m.tag_count("alpha", &m1).unwrap()), 1);
    assert_eq!(l.rec("tag_count none", m.tag_count("alpha", &sig1).unwrap()), 0);
    assert_eq!(l.rec("tag", m.tag("alpha", "latest").unwrap()), Some(m1.clone()));
    assert_eq!(l.rec("tag missing", m.tag("alpha", "nope").unwrap()), None);
    assert_eq!(
        l.rec("all_tags", m.all_tags("alpha").unwrap()),
        [
            ("latest".to_owned(), m1.clone()),
            ("multi".to_owned(), idx.clone()),
            ("two".to_owned(), m2.clone()),
            ("v1".to_owned(), m2.clone()),
            ("v3".to_owned(), m3.clone())
        ]
    );
    // Oldest first; equal push times by digest.
    let images = l.rec("images", m.images("alpha").unwrap());
    assert_eq!(
        images.iter().map(|(mf, at)| (mf.digest.clone(), *at)).collect::<Vec<_>>(),
        [
            (m3.clone(), 900),
            (m1.clone(), 1000),
            (m2.clone(), 1000),
            (idx.clone(), 1100),
            (sig1.clone(), 1200),
            (sig2.clone(), 1200)
        ]
    );
    assert_eq!(l.rec("image_count", m.image_count("alpha").unwrap()), 6);
    assert_eq!(l.rec("image_count missing", m.image_count("missing").unwrap()), 0);
    for filter in [TagFilter::Any, TagFilter::Tagged, TagFilter::Untagged] {
        for (offset, limit) in [(0, 100), (0, 2), (2, 2), (4, 2), (5, 10), (9, 3), (1, 0)] {
            let page = l.rec(
                &format!("image_page {filter:?} {offset} {limit}"),
                m.image_page("alpha", filter, offset, limit).unwrap(),
            );
            let total = match filter {
                TagFilter::Any => 6,
                TagFilter::Tagged => 4,
                TagFilter::Untagged => 2,
            };
            assert_eq!(page.1, total);
            assert_eq!(page.0.len(), total.saturating_sub(offset).min(limit));
            let ids = l.rec(
                &format!("image_id_page {filter:?} {offset} {limit}"),
                m.image_id_page("alpha", filter, offset, limit).unwrap(),
            );
            let id_total = match filter {
                TagFilter::Any => 7,
                TagFilter::Tagged => 5,
                TagFilter::Untagged => 2,
            };
            assert_eq!(ids.1, id_total);
            assert_eq!(ids.0.len(), id_total.saturating_sub(offset).min(limit));
        }
    }
    let (all, _) = m.image_page("alpha", TagFilter::Any, 0, 100).unwrap();
    assert_eq!(all[2].digest, m2);
    assert_eq!(all[2].tags, ["two", "v1"]);
    assert_eq!(all[2].size, Some(30));
    assert!(all[4].tags.is_empty());
    let (ids, _) = m.image_id_page("alpha", TagFilter::Any, 0, 100).unwrap();
    assert_eq!(
        ids,
        [
            (m3.clone(), Some("v3".to_owned())),
            (m1.clone(), Some("latest".to_owned())),
            (m2.clone(), Some("two".to_owned())),
            (m2.clone(), Some("v1".to_owned())),
            (idx.clone(), Some("multi".to_owned())),
            (sig1.clone(), None),
            (sig2.clone(), None)
        ]
    );
    let summary = l.rec("image_summary", m.image_summary("alpha", &m1).unwrap()).unwrap();
    assert_eq!(
        (summary.tags.as_slice(), summary.pushed_at, summary.size),
        (&["latest".to_owned()][..], 1000, Some(30))
    );
    assert!(l.rec("image_summary missing", m.image_summary("alpha", &dg(0x98)).unwrap()).is_none());
    assert!(l.rec("image_summary other repo", m.image_summary("beta", &m3).unwrap()).is_none());

    // Untag and delete.
    assert!(l.rec("untag", m.untag("alpha", "two").unwrap()));
    assert!(!l.rec("untag again", m.untag("alpha", "two").unwrap()));
    assert!(!l.rec("untag missing repo", m.untag("missing", "two").unwrap()));
    assert_eq!(l.rec("tag_count after untag", m.tag_count("alpha", &m2).unwrap()), 1);
    // m2 shares config and layer1 with m1, and alone holds layer2.
    assert_eq!(l.rec("delete m2", m.delete_manifest("alpha", &m2).unwrap()), Some(vec![layer2.clone()]));
    assert_eq!(l.rec("delete m2 again", m.delete_manifest("alpha", &m2).unwrap()), None);
    assert_eq!(l.rec("delete missing repo", m.delete_manifest("missing", &m2).unwrap()), None);
    assert_eq!(l.rec("tag v1 gone", m.tag("alpha", "v1").unwrap()), None);
    assert_eq!(l.rec("blob layer2 unlinked", m.blob("alpha", &layer2).unwrap()), None);
    assert_eq!(l.rec("blob layer1 kept", m.blob("alpha", &layer1).unwrap()), Some(10));
    // sig1 and sig2 both hold layer3 (with m3): deleting one orphans nothing.
    assert_eq!(l.rec("delete sig1", m.delete_manifest("alpha", &sig1).unwrap()), Some(vec![]));
    assert_eq!(l.rec("delete m3", m.delete_manifest("alpha", &m3).unwrap()), Some(vec![]));
    assert_eq!(l.rec("delete sig2", m.delete_manifest("alpha", &sig2).unwrap()), Some(vec![layer3.clone()]));
    assert_eq!(l.rec("blobs after deletes", m.repository_blobs("alpha").unwrap()), [layer1.clone(), config.clone()]);
    assert!(l.rec("unlink_blob", m.unlink_blob("alpha", &config).unwrap()));
    assert!(!l.rec("unlink_blob again", m.unlink_blob("alpha", &config).unwrap()));
    assert!(!l.rec("unlink_blob missing repo", m.unlink_blob("missing", &config).unwrap()));
    assert!(!l.rec("config unreferenced", m.blob_referenced(&config).unwrap()));
    assert_eq!(l.rec("image_count after", m.image_count("alpha").unwrap()), 2);

    // Uploads.
    l.ok("begin_upload u1", m.begin_upload("u1", "alpha", 10));
    l.ok("begin_upload u2", m.begin_upload("u2", "beta", 50));
    l.ok("begin_upload u0", m.begin_upload("u0", "alpha", 20));
    assert!(l.err("begin_upload duplicate", m.begin_upload("u1", "beta", 60)));
    assert!(l.err("begin_upload missing repo", m.begin_upload("u9", "missing", 60)));
    assert_eq!(l.rec("upload_repo", m.upload_repo("u2").unwrap()).as_deref(), Some("beta"));
    assert_eq!(l.rec("upload_repo missing", m.upload_repo("u9").unwrap()), None);
    assert_eq!(l.rec("upload_parts none", m.upload_parts("u1").unwrap()), (0, 0));
    l.ok("record_part", m.record_part("u1", 5 << 20));
    l.ok("record_part", m.record_part("u1", 1234));
    l.ok("record_part missing", m.record_part("u9", 1));
    assert_eq!(l.rec("upload_parts", m.upload_parts("u1").unwrap()), (2, 1234));
    assert_eq!(l.rec("upload_parts missing", m.upload_parts("u9").unwrap()), (0, 0));
    let mut stale = l.rec("stale_uploads", m.stale_uploads(40).unwrap());
    stale.sort();
    assert_eq!(stale, ["u0", "u1"]);
    assert!(l.rec("stale_uploads none", m.stale_uploads(10).unwrap()).is_empty());
    l.ok("end_upload", m.end_upload("u0"));
    l.ok("end_upload missing", m.end_upload("u9"));
    assert_eq!(l.rec("upload_repo ended", m.upload_repo("u0").unwrap()), None);

    // Lifecycle.
    assert!(l.rec("set_lifecycle_policy", m.set_lifecycle_policy("beta", Some("{\"rules\":[]}")).unwrap()));
    assert!(l.rec("set_lifecycle_policy alpha", m.set_lifecycle_policy("alpha", Some("first")).unwrap()));
    assert!(l.rec("set_lifecycle_policy replace", m.set_lifecycle_policy("alpha", Some("second")).unwrap()));
    assert!(l.err("set_lifecycle_policy missing repo", m.set_lifecycle_policy("missing", Some("x"))));
    assert_eq!(l.rec("lifecycle_policy", m.lifecycle_policy("alpha").unwrap()), Some(("second".to_owned(), None)));
    l.ok("lifecycle_evaluated", m.lifecycle_evaluated("alpha", 777));
    l.ok("lifecycle_evaluated none", m.lifecycle_evaluated("Zeta", 777));
    assert_eq!(
        l.rec("lifecycle_policy evaluated", m.lifecycle_policy("alpha").unwrap()),
        Some(("second".to_owned(), Some(777)))
    );
    assert!(l.rec("set_lifecycle_policy keeps evaluated", m.set_lifecycle_policy("alpha", Some("third")).unwrap()));
    l.rec("lifecycle_policy after replace", m.lifecycle_policy("alpha").unwrap());
    assert_eq!(
        l.rec("lifecycle_policies", m.lifecycle_policies().unwrap()),
        [("alpha".to_owned(), "third".to_owned()), ("beta".to_owned(), "{\"rules\":[]}".to_owned())]
    );
    assert!(l.rec("remove lifecycle", m.set_lifecycle_policy("beta", None).unwrap()));
    assert!(!l.rec("remove lifecycle again", m.set_lifecycle_policy("beta", None).unwrap()));
    assert_eq!(l.rec("lifecycle_policy removed", m.lifecycle_policy("beta").unwrap()), None);
    assert_eq!(l.rec("lifecycle_preview none", m.lifecycle_preview("alpha").unwrap()), None);
    l.ok("set_lifecycle_preview", m.set_lifecycle_preview("alpha", "p1", "[1]"));
    l.ok("set_lifecycle_preview replace", m.set_lifecycle_preview("alpha", "p2", "[2]"));
    assert!(l.err("set_lifecycle_preview missing repo", m.set_lifecycle_preview("missing", "p", "[]")));
    assert_eq!(
        l.rec("lifecycle_preview", m.lifecycle_preview("alpha").unwrap()),
        Some(("p2".to_owned(), "[2]".to_owned()))
    );
    l.ok("record_expiry", m.record_expiry("alpha", &dg(0x41), &["old".to_owned(), "older".to_owned()], 5, 2, 900));
    l.ok("record_expiry", m.record_expiry("alpha", &dg(0x40), &[], 6, 1, 901));
    l.ok("record_expiry beta", m.record_expiry("beta", &dg(0x42), &[], 6, 1, 902));
    let expiries = l.rec("expiries", m.expiries("alpha").unwrap());
    assert_eq!(expiries.iter().map(|e| e.digest.clone()).collect::<Vec<_>>(), [dg(0x41), dg(0x40)]);
    assert_eq!(
        (expiries[0].tags.as_slice(), expiries[0].rule_priority, expiries[0].expired_at),
        (&["old".to_owned(), "older".to_owned()][..], 2, 900)
    );
    assert!(l.rec("expiries none", m.expiries("Zeta").unwrap()).is_empty());

    // Deleting a repository takes everything in it along.
    assert!(l.rec("delete_repository", m.delete_repository("alpha").unwrap()));
    assert!(!l.rec("delete_repository again", m.delete_repository("alpha").unwrap()));
    assert!(l.rec("deleted repository", m.repository("alpha").unwrap()).is_none());
    assert!(l.rec("deleted tags", m.tags("alpha").unwrap()).is_empty());
    assert!(l.rec("deleted all_tags", m.all_tags("alpha").unwrap()).is_empty());
    assert!(l.rec("deleted images", m.images("alpha").unwrap()).is_empty());
    assert!(l.rec("deleted blobs", m.repository_blobs("alpha").unwrap()).is_empty());
    assert_eq!(l.rec("deleted upload", m.upload_repo("u1").unwrap()), None);
    assert_eq!(l.rec("deleted lifecycle", m.lifecycle_policy("alpha").unwrap()), None);
    assert_eq!(l.rec("deleted preview", m.lifecycle_preview("alpha").unwrap()), None);
    assert_eq!(l.rec("deleted image_page", m.image_page("alpha", TagFilter::Any, 0, 10).unwrap()), (vec![], 0));
    assert_eq!(l.rec("deleted image_id_page", m.image_id_page("alpha", TagFilter::Any, 0, 10).unwrap()), (vec![], 0));
    assert!(l.rec("layer1 still in beta", m.blob_referenced(&layer1).unwrap()));
    l.rec("expiries of a deleted repository (kept, as in SQLite)", m.expiries("alpha").unwrap());
    assert_eq!(l.rec("upload of beta kept", m.upload_repo("u2").unwrap()).as_deref(), Some("beta"));
    assert!(l.rec("recreate alpha", m.create_repository("alpha", &[], "MUTABLE", 2000).unwrap()));
    assert_eq!(l.rec("recreated empty", m.image_count("alpha").unwrap()), 0);
    assert_eq!(l.rec("repositories at the end", m.repositories().unwrap()), ["Zeta", "a-b", "alpha", "beta"]);
    log.0
}

fn sqlite_path(name: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    std::env::temp_dir().join(format!("warden-meta-{name}-{}-{nanos}.db", std::process::id()))
}

async fn open_pg(url: &str) -> Arc<PgMeta> {
    Arc::new(PgMeta::open(url).await.expect("PgMeta::open"))
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_gives_the_same_results_as_sqlite() {
    let path = sqlite_path("conformance");
    let sqlite_log = {
        let path = path.clone();
        blocking(move || scenario(&SqliteMeta::open(&path).unwrap())).await
    };
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
    }
    let pg = open_pg(&Postgres::shared().fresh_database("conformance")).await;
    let pg_log = blocking(move || scenario(pg.as_ref())).await;
    for (i, (s, p)) in sqlite_log.iter().zip(&pg_log).enumerate() {
        assert_eq!(s, p, "step {i} differs (left SQLite, right PostgreSQL)");
    }
    assert_eq!(sqlite_log.len(), pg_log.len());
    assert!(sqlite_log.len() > 150, "the scenario ran {} steps", sqlite_log.len());
}

/// A current-thread runtime (as `#[tokio::test]` gives) serves the store through the blocking
/// pool: its own thread drives the connections while it waits.
#[tokio::test]
async fn a_current_thread_runtime_works_through_the_blocking_pool() {
    let pg = open_pg(&Postgres::shared().fresh_database("current_thread")).await;
    let created = blocking({
        let pg = Arc::clone(&pg);
        move || pg.create_repository("ct/app", &[], "MUTABLE", 1).unwrap()
    })
    .await;
    assert!(created);
    assert_eq!(blocking(move || pg.repositories().unwrap()).await, vec!["ct/app".to_owned()]);
}

/// Two instances on one fresh database.
async fn two_instances(prefix: &str) -> (String, [Arc<PgMeta>; 2]) {
    let url = Postgres::shared().fresh_database(prefix);
    let a = open_pg(&url).await;
    let b = open_pg(&url).await;
    (url, [a, b])
}

/// Runs `n` calls at once (released together by a barrier), alternating between the instances.
async fn race<T: Send + 'static>(
    metas: &[Arc<PgMeta>; 2],
    n: usize,
    f: impl Fn(&PgMeta, usize) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let barrier = Arc::new(Barrier::new(n));
    let f = Arc::new(f);
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (meta, barrier, f) = (Arc::clone(&metas[i % 2]), Arc::clone(&barrier), Arc::clone(&f));
            tokio::task::spawn_blocking(move || {
                barrier.wait();
                f(&meta, i)
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("a racing call panicked"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_pushes_to_an_immutable_tag_exactly_one_wins() {
    let (_, metas) = two_instances("immutable").await;
    for round in 0..25 {
        let repo = format!("imm{round}");
        let m = Arc::clone(&metas[0]);
        let r = repo.clone();
        blocking(move || m.create_repository(&r, &[], "IMMUTABLE", 1).unwrap()).await;
        let r = repo.clone();
        let results = race(&metas, 6, move |m, i| {
            let digest = dg(1000 + u32::try_from(i).unwrap());
            m.put_manifest(&nm(&r, &digest, b"body", &[], Some("release"), 5)).unwrap()
        })
        .await;
        let winners: Vec<usize> = results
            .iter()
            .enumerate()
            .filter(|(_, o)| **o == PutOutcome::Stored { changed: true })
            .map(|(i, _)| i)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        assert!(
            results.iter().filter(|o| **o == PutOutcome::Refused(PutRefusal::TagImmutable)).count() == 5,
            "round {round}: {results:?}"
        );
        let m = Arc::clone(&metas[1]);
        let (tag, count) = blocking(move || (m.tag(&repo, "release").unwrap(), m.image_count(&repo).unwrap())).await;
        assert_eq!(tag, Some(dg(1000 + u32::try_from(winners[0]).unwrap())));
        assert_eq!(count, 1, "round {round}: a refused push left an image");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_pushes_never_exceed_the_image_quota() {
    let (_, metas) = two_instances("quota").await;
    for round in 0..20 {
        let repo = format!("quota{round}");
        let m = Arc::clone(&metas[1]);
        let r = repo.clone();
        blocking(move || {
            m.create_repository(&r, &[], "MUTABLE", 1).unwrap();
            // Two images already there.
            for d in [dg(1), dg(2)] {
                m.put_manifest(&nm(&r, &d, b"x", &[], None, 1)).unwrap();
            }
        })
        .await;
        let r = repo.clone();
        let results = race(&metas, 8, move |m, i| {
            let digest = dg(2000 + u32::try_from(i).unwrap());
            m.put_manifest(&NewManifest { max_images: 5, ..nm(&r, &digest, b"x", &[], Some(&format!("t{i}")), 2) })
                .unwrap()
        })
        .await;
        let stored = results.iter().filter(|o| **o == PutOutcome::Stored { changed: true }).count();
        let refused = results.iter().filter(|o| **o == PutOutcome::Refused(PutRefusal::ImageLimit)).count();
        assert_eq!((stored, refused), (3, 5), "round {round}: {results:?}");
        let m = Arc::clone(&metas[0]);
        let (count, tags) = blocking(move || (m.image_count(&repo).unwrap(), m.tags(&repo).unwrap().len())).await;
        assert_eq!((count, tags), (5, 3), "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deleting_a_repository_while_pushing_leaves_nothing_behind() {
    let (url, metas) = two_instances("delete").await;
    let db = url.rsplit('/').next().unwrap().to_owned();
    let layer = dg(0xaa);
    let mut gone_seen = 0;
    for round in 0..25 {
        let repo = format!("del{round}");
        let m = Arc::clone(&metas[0]);
        let (r, l) = (repo.clone(), layer.clone());
        blocking(move || {
            m.create_repository(&r, &[], "MUTABLE", 1).unwrap();
            m.link_blob(&r, &l, 7).unwrap();
            m.begin_upload(&format!("up-{r}"), &r, 1).unwrap();
        })
        .await;
        let (r, l) = (repo.clone(), layer.clone());
        // Task 0 deletes the repository; the others push images (linking a blob of their own
        // first) and start uploads, on both instances.
        let results = race(&metas, 6, move |m, i| {
            if i == 0 {
                return format!("deleted {}", m.delete_repository(&r).unwrap());
            }
            let own = dg(0xb00 + u32::try_from(i).unwrap());
            let linked = m.link_blob(&r, &own, 3).is_ok();
            let blobs = vec![(l.clone(), Some(7)), (own, Some(3))];
            let digest = dg(3000 + u32::try_from(i).unwrap());
            let put = m.put_manifest(&nm(&r, &digest, b"x", &blobs, Some(&format!("t{i}")), 2)).unwrap();
            let upload = m.begin_upload(&format!("up-{r}-{i}"), &r, 1).is_ok();
            format!("linked {linked} {put:?} upload {upload}")
        })
        .await;
        assert_eq!(results[0], "deleted true", "round {round}");
        gone_seen += results.iter().filter(|r| r.contains("RepositoryGone")).count();
        // A push that went after the delete was refused or failed; one that went before was
        // deleted with the repository. Nothing of the repository remains either way.
        let m = Arc::clone(&metas[1]);
        let r = repo.clone();
        let (repository, images, tags, blobs) = blocking(move || {
            (m.repository(&r).unwrap(), m.images(&r).unwrap(), m.tags(&r).unwrap(), m.repository_blobs(&r).unwrap())
        })
        .await;
        assert!(
            repository.is_none() && images.is_empty() && tags.is_empty() && blobs.is_empty(),
            "round {round}: {results:?}"
        );
    }
    let pg = Postgres::shared();
    let left = pg.psql(
        &db,
        "SELECT (SELECT COUNT(*) FROM repositories) + (SELECT COUNT(*) FROM blobs) + (SELECT COUNT(*) FROM manifests) \
         + (SELECT COUNT(*) FROM tags) + (SELECT COUNT(*) FROM manifest_blobs) + (SELECT COUNT(*) FROM uploads)",
    );
    assert_eq!(left, "0", "rows outlived their repositories");
    eprintln!("pushes refused with RepositoryGone: {gone_seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_blob_lock_excludes_other_instances_until_dropped() {
    let (url, [a, b]) = two_instances("blob_lock").await;
    let db = url.rsplit('/').next().unwrap().to_owned();
    for round in 0..5 {
        let digest = dg(0xdead + round);
        let (a2, d) = (Arc::clone(&a), digest.clone());
        let guard = blocking(move || a2.lock_blob(&d).unwrap()).await;
        // Another digest is not blocked.
        let (b2, other) = (Arc::clone(&b), dg(0xbeef + round));
        tokio::time::timeout(Duration::from_secs(10), blocking(move || drop(b2.lock_blob(&other).unwrap())))
            .await
            .expect("a lock on another digest waited");
        let (b2, d) = (Arc::clone(&b), digest.clone());
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        let waiter = tokio::task::spawn_blocking(move || {
            let g = b2.lock_blob(&d).unwrap();
            let _ = tx.send(Instant::now());
            g
        });
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert!(rx.try_recv().is_err(), "round {round}: the second instance got the lock while the first held it");
        let released = Instant::now();
        drop(guard);
        let second = tokio::time::timeout(Duration::from_secs(10), waiter)
            .await
            .expect("the waiter never got the lock")
            .unwrap();
        let got = rx.await.unwrap();
        assert!(got >= released);
        // The same instance waits for another instance's hold too.
        let (a2, d) = (Arc::clone(&a), digest.clone());
        let again = tokio::task::spawn_blocking(move || drop(a2.lock_blob(&d).unwrap()));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!again.is_finished(), "round {round}");
        drop(second);
        tokio::time::timeout(Duration::from_secs(10), again).await.expect("never relocked").unwrap();
    }
    // Every advisory lock was released and the connections were kept.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let held = Postgres::shared().psql(
            &db,
            "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        );
        if held == "0" {
            break;
        }
        assert!(Instant::now() < deadline, "advisory locks still held: {held}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lease_is_exclusive_and_free_again_once_dropped() {
    let (_, [a, b]) = two_instances("lease").await;
    let a2 = Arc::clone(&a);
    let lease = blocking(move || a2.try_lease("lifecycle").unwrap()).await.expect("a free lease was refused");
    let (a2, b2) = (Arc::clone(&a), Arc::clone(&b));
    let (other_a, other_b, different) = blocking(move || {
        (
            a2.try_lease("lifecycle").unwrap().is_some(),
            b2.try_lease("lifecycle").unwrap().is_some(),
            b2.try_lease("gc").unwrap().is_some(),
        )
    })
    .await;
    assert!(!other_a && !other_b, "a held lease was granted again");
    assert!(different, "another lease name was refused");
    drop(lease);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let b2 = Arc::clone(&b);
        if let Some(g) = blocking(move || b2.try_lease("lifecycle").unwrap()).await {
            // Held by b now: a is refused.
            let a2 = Arc::clone(&a);
            assert!(blocking(move || a2.try_lease("lifecycle").unwrap()).await.is_none());
            drop(g);
            break;
        }
        assert!(Instant::now() < deadline, "the lease stayed held after its guard dropped");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_creates_of_one_repository_exactly_one_creates() {
    let (_, metas) = two_instances("create").await;
    for round in 0..10 {
        let repo = format!("c{round}");
        let r = repo.clone();
        let created =
            race(&metas, 6, move |m, i| m.create_repository(&r, &[], "MUTABLE", i64::try_from(i).unwrap()).unwrap())
                .await;
        assert_eq!(created.iter().filter(|c| **c).count(), 1, "round {round}: {created:?}");
        let winner = i64::try_from(created.iter().position(|c| *c).unwrap()).unwrap();
        let m = Arc::clone(&metas[0]);
        let stored = blocking(move || m.repository(&repo).unwrap().unwrap().created_at).await;
        assert_eq!(stored, winner);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_first_secret_stored_is_everyones() {
    let (_, metas) = two_instances("secret").await;
    let results =
        race(&metas, 8, |m, i| m.shared_secret("registry-key", format!("candidate-{i}").as_bytes()).unwrap()).await;
    let first = results[0].clone().expect("no secret");
    assert!(results.iter().all(|r| r.as_ref() == Some(&first)), "{results:?}");
    assert!((0..8).any(|i| first == format!("candidate-{i}").into_bytes()));
    let m = Arc::clone(&metas[1]);
    let later =
        blocking(move || (m.shared_secret("registry-key", b"late").unwrap(), m.shared_secret("other", b"o").unwrap()))
            .await;
    assert_eq!(later, (Some(first), Some(b"o".to_vec())));
    // SQLite keeps none: the data directory's key file is used.
    let path = sqlite_path("secret");
    let p = path.clone();
    let sqlite = blocking(move || SqliteMeta::open(&p).unwrap().shared_secret("registry-key", b"x").unwrap()).await;
    assert_eq!(sqlite, None);
    let _ = std::fs::remove_file(&path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrations_apply_once_and_a_newer_schema_is_refused() {
    let pg = Postgres::shared();
    let url = pg.fresh_database("migrate");
    let db = url.rsplit('/').next().unwrap().to_owned();
    // Several instances starting together on a fresh database.
    let opens: Vec<_> = (0..4)
        .map(|_| {
            tokio::spawn({
                let url = url.clone();
                async move { PgMeta::open(&url).await.map(|_| ()) }
            })
        })
        .collect();
    for o in opens {
        o.await.unwrap().expect("a concurrent open failed");
    }
    let versions = pg.psql(&db, "SELECT string_agg(version::text, ',' ORDER BY version) FROM warden_schema");
    let expected = (1..=PG_SCHEMA_VERSION).map(|v| v.to_string()).collect::<Vec<_>>().join(",");
    assert_eq!(versions, expected);
    let meta = open_pg(&url).await;
    let m = Arc::clone(&meta);
    blocking(move || m.create_repository("kept", &[], "MUTABLE", 1).unwrap()).await;
    drop(meta);
    // Opening again changes nothing and keeps the data.
    let meta = open_pg(&url).await;
    assert_eq!(pg.psql(&db, "SELECT COUNT(*) FROM warden_schema"), PG_SCHEMA_VERSION.to_string());
    let m = Arc::clone(&meta);
    assert!(blocking(move || m.repository("kept").unwrap()).await.is_some());
    drop(meta);
    // A newer warden migrated it.
    let newer = PG_SCHEMA_VERSION + 1;
    pg.psql(&db, &format!("INSERT INTO warden_schema (version, applied_at) VALUES ({newer}, 0)"));
    let e = PgMeta::open(&url).await.unwrap_err();
    let expected =
        format!("the database has schema version {newer}; this warden knows versions up to {PG_SCHEMA_VERSION}");
    assert!(e.to_string().contains(&expected), "{e}");
    assert!(matches!(e, MetaError::SchemaTooNew { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_restart_fails_calls_then_they_succeed_again() {
    let pg = Postgres::start();
    let url = pg.create_database("restart");
    let meta = open_pg(&url).await;
    let m = Arc::clone(&meta);
    blocking(move || {
        m.create_repository("r", &[], "MUTABLE", 1).unwrap();
        m.put_manifest(&NewManifest { max_images: usize::MAX, ..nm("r", &dg(1), b"one", &[], Some("v1"), 1) }).unwrap();
    })
    .await;
    // Load: four threads pushing and reading throughout.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load: Vec<_> = (0..4u32)
        .map(|t| {
            let (m, stop) = (Arc::clone(&meta), Arc::clone(&stop));
            tokio::task::spawn_blocking(move || {
                let (mut ok, mut failed) = (0u32, 0u32);
                let mut i = 0u32;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    i += 1;
                    let d = dg(t * 1_000_000 + i + 10);
                    let put = m.put_manifest(&NewManifest {
                        max_images: usize::MAX,
                        ..nm("r", &d, b"x", &[], Some(&format!("t{t}")), 2)
                    });
                    let read = m.image_count("r");
                    match (put, read) {
                        (Ok(_), Ok(_)) => ok += 1,
                        _ => failed += 1,
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                (ok, failed)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // A lease held across the restart: its session ends with the server.
    let m = Arc::clone(&meta);
    let held = blocking(move || m.try_lease("held").unwrap()).await.expect("a free lease was refused");
    pg.stop();
    // Down: every call fails with an error, none panics.
    let m = Arc::clone(&meta);
    let down = blocking(move || {
        [
            m.repository("r").is_err(),
            m.put_manifest(&NewManifest { max_images: usize::MAX, ..nm("r", &dg(2), b"two", &[], None, 1) }).is_err(),
            m.lock_blob(&dg(3)).is_err(),
            m.try_lease("l").is_err(),
            m.shared_secret("s", b"x").is_err(),
        ]
    })
    .await;
    assert_eq!(down, [true; 5]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    pg.start_again();
    // Up again: the same PgMeta recovers.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let m = Arc::clone(&meta);
        match blocking(move || m.repository("r")).await {
            Ok(r) => {
                assert!(r.is_some());
                break;
            }
            Err(e) => assert!(Instant::now() < deadline, "still failing after the restart: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut totals = (0, 0);
    for l in load {
        let (ok, failed) = l.await.expect("a call panicked while the server restarted");
        totals = (totals.0 + ok, totals.1 + failed);
    }
    assert!(totals.0 > 0 && totals.1 > 0, "load saw {totals:?} (ok, failed)");
    // Dropping it unlocks on a dead connection: the connection is discarded, nothing panics,
    // and the lease can be had again.
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let m = Arc::clone(&meta);
        if blocking(move || m.try_lease("held").unwrap().is_some()).await {
            break;
        }
        assert!(Instant::now() < deadline, "the lease held across the restart is still held");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let m = Arc::clone(&meta);
    let (put, v1, lease) = blocking(move || {
        (
            m.put_manifest(&NewManifest { max_images: usize::MAX, ..nm("r", &dg(2), b"two", &[], Some("v2"), 3) })
                .unwrap(),
            m.manifest("r", "v1").unwrap().map(|x| x.body),
            m.try_lease("l").unwrap().is_some(),
        )
    })
    .await;
    assert_eq!(put, PutOutcome::Stored { changed: true });
    assert_eq!(v1.as_deref(), Some(&b"one"[..]));
    assert!(lease);
    // Tags moved by the load all point at stored images.
    let m = Arc::clone(&meta);
    let dangling = blocking(move || {
        m.all_tags("r").unwrap().into_iter().filter(|(_, d)| m.manifest("r", d).unwrap().is_none()).count()
    })
    .await;
    assert_eq!(dangling, 0);
}
