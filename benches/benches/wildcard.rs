//! The `*`/`?` matcher on hostile input: a 10,000-character pattern of the shape `*a…a*b` against
//! a 100,000-character text made of runs of 9,995 `a` separated by `b`. The middle literal (9,997
//! `a`) almost matches at every position and never matches; a matcher that backtracks to the
//! last `*` and retries compares about pattern × text / 2 characters, one that searches for each
//! literal between stars compares about pattern + text. `typical_*` are the everyday shapes, to
//! show that the hostile case is not paid for by ordinary patterns.
//!
//! `cargo bench -p warden-bench --bench wildcard`. Figures in `benches/README.md`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail loudly

use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, Criterion, SamplingMode};
use warden_policy::wildcard::{Case, Pattern};

/// 100,000 characters: runs of 9,995 `a` each closed by a `b`; ends with `b`.
fn hostile_text() -> String {
    let block = format!("{}b", "a".repeat(9_995));
    let mut text = block.repeat(100_000 / block.len() + 1);
    text.truncate(99_999);
    text.push('b');
    text
}

fn hostile(c: &mut Criterion) {
    let text = hostile_text();
    assert_eq!(text.len(), 100_000);
    // `*` + 9,997 `a` + `*b`: 10,000 characters.
    let literal = format!("*{}*b", "a".repeat(9_997));
    // 9,996 `a` and a `?`: the segment needs a search that treats `?` as any one character. (A
    // `?` between two runs of `a` no longer than the text's would match across a `b`.)
    let question = format!("*{}?*b", "a".repeat(9_996));
    assert_eq!((literal.len(), question.len()), (10_000, 10_000));
    let mut group = c.benchmark_group("wildcard_hostile");
    group.sampling_mode(SamplingMode::Flat).sample_size(10).measurement_time(Duration::from_secs(10));
    for (name, pattern) in [("literal_10k_vs_100k", &literal), ("question_10k_vs_100k", &question)] {
        let p = Pattern::new(pattern, Case::Sensitive, true, false);
        assert!(!p.matches_plain(&text));
        group.bench_function(name, |b| b.iter(|| black_box(p.matches_plain(black_box(&text)))));
    }
    let ci = Pattern::new(&literal.to_uppercase(), Case::Insensitive, true, false);
    assert!(!ci.matches_plain(&text));
    group.bench_function("literal_10k_vs_100k_ignore_case", |b| {
        b.iter(|| black_box(ci.matches_plain(black_box(&text))))
    });
    group.finish();
}

fn typical(c: &mut Criterion) {
    let resource = "repository/team/sub/app";
    let cases: [(&str, &str, Case, &str); 4] = [
        ("typical_prefix", "repository/team/*", Case::Sensitive, resource),
        ("typical_infix", "repository/*/sub/*", Case::Sensitive, resource),
        ("typical_question", "repository/te?m/*/app", Case::Sensitive, resource),
        ("typical_action", "ecr:Get*Url*", Case::Insensitive, "ecr:getdownloadurlforlayer"),
    ];
    for (name, pattern, case, text) in cases {
        let p = Pattern::new(pattern, case, true, false);
        assert!(p.matches_plain(text), "{name}");
        c.bench_function(name, |b| b.iter(|| black_box(p.matches_plain(black_box(text)))));
    }
}

criterion_group!(benches, hostile, typical);
criterion_main!(benches);
