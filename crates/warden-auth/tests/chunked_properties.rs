//! Properties of the `aws-chunked` decoder: whatever the bytes and however they are split, it
//! never panics; any body encoded with any chunk sizes decodes to exactly its data, split
//! anywhere; and a body that differs in one byte is never accepted as the original.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail loudly

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use proptest::prelude::*;
use sha2::{Digest, Sha256};
use warden_auth::{ChunkedDecoder, StreamingMode};

/// An unsigned body with a SHA-256 trailer, chunked at `sizes` (cycled).
fn encode(data: &[u8], sizes: &[usize]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < data.len() {
        let n = sizes[i % sizes.len()].min(data.len() - at);
        body.extend_from_slice(format!("{n:x}\r\n").as_bytes());
        body.extend_from_slice(&data[at..at + n]);
        body.extend_from_slice(b"\r\n");
        at += n;
        i += 1;
    }
    let checksum = STANDARD.encode(Sha256::digest(data));
    body.extend_from_slice(format!("0\r\nx-amz-checksum-sha256:{checksum}\r\n\r\n").as_bytes());
    body
}

/// Feeds `body` split at `cuts`; the decoded data, or the first error.
fn decode(body: &[u8], cuts: &[usize], declared: Option<u64>) -> Result<Vec<u8>, warden_auth::ChunkedError> {
    let mut d = ChunkedDecoder::new(StreamingMode::UnsignedTrailer, None, declared, Some("x-amz-checksum-sha256"))?;
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (body.len() + 1)).collect();
    points.push(0);
    points.push(body.len());
    points.sort_unstable();
    let mut out = Vec::new();
    for w in points.windows(2) {
        for piece in d.push(Bytes::copy_from_slice(&body[w[0]..w[1]]))? {
            out.extend_from_slice(&piece);
        }
    }
    d.finish()?;
    Ok(out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_bytes_any_split_never_panic(body in proptest::collection::vec(any::<u8>(), 0..600), cuts in proptest::collection::vec(any::<usize>(), 0..8)) {
        let _ = decode(&body, &cuts, None);
        // Framing-like bytes too: a chunk header, then noise.
        let mut framed = b"1f\r\n".to_vec();
        framed.extend_from_slice(&body);
        let _ = decode(&framed, &cuts, Some(31));
    }

    #[test]
    fn encoded_bodies_decode_to_their_data_however_split(
        data in proptest::collection::vec(any::<u8>(), 0..3000),
        sizes in proptest::collection::vec(1usize..700, 1..4),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let body = encode(&data, &sizes);
        prop_assert_eq!(decode(&body, &cuts, Some(data.len() as u64)), Ok(data.clone()));
    }

    #[test]
    fn one_changed_byte_is_never_accepted_as_the_original(
        data in proptest::collection::vec(any::<u8>(), 1..2000),
        sizes in proptest::collection::vec(1usize..500, 1..3),
        at in any::<usize>(),
        flip in 1u8..=255,
    ) {
        let mut body = encode(&data, &sizes);
        let i = at % body.len();
        body[i] ^= flip;
        // Either refused, or (a changed hex digit of equal value, e.g. case) the same data.
        if let Ok(decoded) = decode(&body, &[], None) {
            prop_assert_eq!(decoded, data);
        }
    }
}
