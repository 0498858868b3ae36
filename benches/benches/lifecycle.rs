//! Lifecycle evaluation cost: a repository of 10,000 images (tagged with four prefixes, a fifth
//! untagged) under a five-rule policy — the work a scheduled run does per repository.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use warden_lifecycle::{evaluate, Image, LifecyclePolicy};

fn lifecycle(c: &mut Criterion) {
    let rule =
        |p: usize, sel: &str| format!(r#"{{"rulePriority": {p}, "selection": {sel}, "action": {{"type": "expire"}}}}"#);
    let text = format!(
        r#"{{"rules": [{}, {}, {}, {}, {}]}}"#,
        rule(
            1,
            r#"{"tagStatus": "tagged", "tagPrefixList": ["prod"], "countType": "imageCountMoreThan", "countNumber": 50}"#
        ),
        rule(
            2,
            r#"{"tagStatus": "tagged", "tagPrefixList": ["release", "v"], "countType": "imageCountMoreThan", "countNumber": 20}"#
        ),
        rule(
            3,
            r#"{"tagStatus": "tagged", "tagPrefixList": ["dev"], "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 7}"#
        ),
        rule(4, r#"{"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 1}"#),
        rule(5, r#"{"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 500}"#),
    );
    let policy = LifecyclePolicy::parse(&text).unwrap_or_else(|e| panic!("{e}"));
    let now = 1_800_000_000;
    let images: Vec<Image> = (0..10_000)
        .map(|i| {
            let tags = match i % 5 {
                0 => vec![format!("prod-{i}")],
                1 => vec![format!("release-{i}"), format!("v1.{i}")],
                2 => vec![format!("dev-{i}")],
                3 => vec![format!("feature-{i}")],
                _ => vec![],
            };
            Image { digest: format!("sha256:{i:064x}"), tags, pushed_at: now - (i as i64) * 300 }
        })
        .collect();
    c.bench_function("lifecycle_10000_images_5_rules", |b| b.iter(|| black_box(evaluate(&policy, &images, now).len())));
}

criterion_group!(benches, lifecycle);
criterion_main!(benches);
