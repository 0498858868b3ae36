//! IAM's `*` / `?` patterns, compiled once.
//!
//! Only `*` (any run of characters, including none, and including `/` and `:`) and `?` (exactly one
//! character) are wildcards. Everything else is literal: IAM patterns are not shell globs.
//!
//! ```text
//! pattern            text                     case       ⇒ result
//! ecr:Batch*         ECR:batchgetimage        insensitive ⇒ match     (actions ignore case)
//! ecr:Get?ownload*   ecr:GetDownloadUrlFor…   insensitive ⇒ match
//! team/*             team/sub/app             sensitive   ⇒ match     (`*` crosses `/`)
//! Team/app           team/app                 sensitive   ⇒ no match  (resources keep case)
//! team/[ab]pp        team/app                 sensitive   ⇒ no match  (`[` is literal)
//! team/[ab]pp        team/[ab]pp              sensitive   ⇒ match
//! a?c                abbc                     sensitive   ⇒ no match  (`?` is exactly one)
//! *                  (empty)                  any         ⇒ match
//! ```
//!
//! A pattern may also hold policy variables (see [`crate::variables`]); they are resolved from the
//! request context at match time into borrowed text.
//!
//! Cost. Each pattern is compiled to the cheapest matcher exact for it: `*` is none, `literal`,
//! `literal*` and `*literal` one comparison, `literal*literal` two. Any other pattern is cut at
//! its stars into segments, and each segment is placed at its earliest position after the one
//! before: the first is anchored at the start of the text, the last at its end, and a segment in
//! between is searched for (`str::find`, or Knuth–Morris–Pratt when case is ignored). Placing each
//! segment as early as possible leaves the most text for the rest, so this is exact, and it reads
//! the text once: O(pattern + text) for any pattern without `?`. A segment holding `?` is searched
//! for with a bit-parallel automaton (shift-and), 64 pattern characters per machine word:
//! O(segment × text / 64) at worst. Tiny searches (segment × window up to 256) compare directly.
//! Matching allocates only for long patterns: more than 8 pieces, or a searched segment of more
//! than 32 characters.
//!
//! Ignoring case compares the lower-case form of each character on both sides (ASCII, and other
//! characters whose lower case is one character; `İ` is only equal to itself).

use smallvec::SmallVec;

use crate::context::Context;
use crate::variables::{self, Token};

/// Whether letters must agree in case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// `A` ≠ `a` (resources, condition values).
    Sensitive,
    /// `A` = `a` (actions, `…IgnoreCase` operators).
    Insensitive,
}

/// The outcome of matching a pattern that may contain policy variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// The text matches.
    Yes,
    /// The text does not match.
    No,
    /// A variable in the pattern has no value in the request and no default: the pattern matches
    /// nothing, and IAM treats the value as null.
    Unresolved,
}

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    kind: Kind,
    case: Case,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    /// `*`
    Any,
    /// No wildcard and no variable.
    Exact(Box<str>),
    /// `literal*`
    Prefix(Box<str>),
    /// `*literal`
    Suffix(Box<str>),
    /// `literal*literal`: the text starts with the first, ends with the second, and is long enough
    /// for both.
    PrefixSuffix(Box<str>, Box<str>),
    /// Anything else.
    General(Box<[Token]>),
}

impl Pattern {
    /// Compiles `text`. `wildcards` says whether `*` and `?` are wildcards (they are literal in
    /// `StringEquals`); `variables` whether `${…}` is expanded (only under Version 2012-10-17 and
    /// where IAM allows variables).
    pub fn new(text: &str, case: Case, wildcards: bool, variables: bool) -> Pattern {
        if let Some(kind) = Pattern::simple(text, case, wildcards, variables) {
            return Pattern { kind, case };
        }
        let mut tokens = variables::tokenize(text, wildcards, variables);
        // `**` matches what `*` matches.
        tokens.dedup_by(|later, earlier| matches!((earlier, later), (Token::Star, Token::Star)));
        if case == Case::Insensitive {
            for t in &mut tokens {
                if let Token::Lit(s) = t {
                    *s = fold_str(s).into();
                }
            }
        }
        let kind = match tokens.as_slice() {
            [Token::Star] => Kind::Any,
            [] => Kind::Exact("".into()),
            [Token::Lit(s)] => Kind::Exact(s.clone()),
            [Token::Lit(s), Token::Star] => Kind::Prefix(s.clone()),
            [Token::Star, Token::Lit(s)] => Kind::Suffix(s.clone()),
            [Token::Lit(a), Token::Star, Token::Lit(b)] => Kind::PrefixSuffix(a.clone(), b.clone()),
            _ => Kind::General(tokens.into_boxed_slice()),
        };
        Pattern { kind, case }
    }

    /// The kind of a pattern with no variable, no `?` and at most one `*`, without tokenizing
    /// (most patterns: ARN fields, `repository/team/*`); `None` for any other.
    fn simple(text: &str, case: Case, wildcards: bool, variables: bool) -> Option<Kind> {
        let special = |b: u8| (wildcards && b == b'?') || (variables && b == b'$');
        if text.bytes().any(special) {
            return None;
        }
        let folded = |s: &str| -> Box<str> {
            match case {
                Case::Sensitive => s.into(),
                Case::Insensitive => fold_str(s).into(),
            }
        };
        let star = if wildcards { text.find('*') } else { None };
        let Some(at) = star else { return Some(Kind::Exact(folded(text))) };
        let (head, tail) = (text.get(..at)?, text.get(at + 1..)?);
        if tail.contains('*') {
            return None;
        }
        Some(match (head.is_empty(), tail.is_empty()) {
            (true, true) => Kind::Any,
            (false, true) => Kind::Prefix(folded(head)),
            (true, false) => Kind::Suffix(folded(tail)),
            (false, false) => Kind::PrefixSuffix(folded(head), folded(tail)),
        })
    }

    /// True for the pattern `*`, which matches everything.
    pub fn is_any(&self) -> bool {
        matches!(self.kind, Kind::Any)
    }

    /// True when the pattern holds a policy variable.
    pub fn has_variables(&self) -> bool {
        match &self.kind {
            Kind::General(tokens) => tokens.iter().any(|t| matches!(t, Token::Var(_))),
            _ => false,
        }
    }

    /// The literal text every match must start with (lower-cased for case-insensitive patterns).
    /// Used to index statements.
    pub fn literal_prefix(&self) -> &str {
        match &self.kind {
            Kind::Any | Kind::Suffix(_) => "",
            Kind::Exact(s) | Kind::Prefix(s) | Kind::PrefixSuffix(s, _) => s,
            Kind::General(tokens) => match tokens.first() {
                Some(Token::Lit(s)) => s,
                _ => "",
            },
        }
    }

    /// Matches a pattern without variables (or with variables treated as unresolvable).
    pub fn matches_plain(&self, text: &str) -> bool {
        self.matches(text, &Context::EMPTY) == Match::Yes
    }

    /// [`Pattern::matches_plain`] for a case-insensitive pattern and a `text` known to be ASCII
    /// without upper-case letters (so already in the folded form the pattern was compiled to): a
    /// plain comparison for the literal kinds.
    pub(crate) fn matches_folded(&self, text: &str) -> bool {
        match &self.kind {
            Kind::Any => true,
            Kind::Exact(s) => **s == *text,
            Kind::Prefix(s) => text.starts_with(&**s),
            Kind::Suffix(s) => text.ends_with(&**s),
            Kind::PrefixSuffix(a, b) => {
                text.len() >= a.len() + b.len() && text.starts_with(&**a) && text.ends_with(&**b)
            }
            Kind::General(_) => self.matches_plain(text),
        }
    }

    /// Matches `text`, resolving variables from `ctx`.
    pub fn matches(&self, text: &str, ctx: &Context) -> Match {
        let ci = self.case == Case::Insensitive;
        let yes = |b: bool| if b { Match::Yes } else { Match::No };
        match &self.kind {
            Kind::Any => Match::Yes,
            Kind::Exact(s) => yes(if ci { starts_with_folded(text, s) == Some(text.len()) } else { **s == *text }),
            Kind::Prefix(s) => yes(if ci { starts_with_folded(text, s).is_some() } else { text.starts_with(&**s) }),
            Kind::Suffix(s) => yes(if ci { ends_with_folded(text, s).is_some() } else { text.ends_with(&**s) }),
            Kind::PrefixSuffix(a, b) => yes(if ci {
                // The two must not overlap: the prefix ends at or before the suffix starts.
                matches!((starts_with_folded(text, a), ends_with_folded(text, b)), (Some(end), Some(start)) if end <= start)
            } else {
                text.len() >= a.len() + b.len() && text.starts_with(&**a) && text.ends_with(&**b)
            }),
            Kind::General(tokens) => {
                let mut pieces: SmallVec<[Piece<'_>; 8]> = SmallVec::with_capacity(tokens.len());
                for t in tokens.iter() {
                    match t {
                        Token::Lit(s) => pieces.push(Piece::Lit(s)),
                        Token::Star => pieces.push(Piece::Star),
                        Token::Question => pieces.push(Piece::One),
                        Token::Var(v) => match ctx.variable(&v.key).or(v.default.as_deref()) {
                            Some(value) => pieces.push(Piece::Lit(value)),
                            None => return Match::Unresolved,
                        },
                    }
                }
                yes(glob(&pieces, text, ci, TUNING))
            }
        }
    }
}

/// One resolved element of a pattern. Resolved variable values are literal text.
#[derive(Debug, Clone, Copy)]
enum Piece<'a> {
    Lit(&'a str),
    Star,
    One,
}

/// Which search a segment gets; fixed in the engine, varied by the tests so that every search is
/// exercised on short inputs.
#[derive(Debug, Clone, Copy)]
struct Tuning {
    /// Segments whose length × window length is at most this are placed by trying every position.
    naive_up_to: usize,
    /// Pattern characters per shift-and word, 1..=64.
    width: usize,
}

const TUNING: Tuning = Tuning { naive_up_to: 256, width: 64 };

/// The case-insensitive form of a character: ASCII lower case, and for other characters their
/// lower case when it is a single character (`char::to_lowercase`); otherwise the character.
/// `text` with every character folded ([`fold`]); ASCII text in one pass.
fn fold_str(text: &str) -> String {
    if text.is_ascii() {
        text.to_ascii_lowercase()
    } else {
        text.chars().map(fold).collect()
    }
}

pub(crate) fn fold(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

fn fold_if(ci: bool, c: char) -> char {
    if ci {
        fold(c)
    } else {
        c
    }
}

/// Whole-text match: the first segment at the start, the last at the end, each one between at its
/// earliest place after the previous.
fn glob(pieces: &[Piece<'_>], text: &str, ci: bool, tuning: Tuning) -> bool {
    let is_star = |p: &Piece<'_>| matches!(p, Piece::Star);
    if !pieces.iter().any(is_star) {
        return match_at(pieces, text, 0, ci) == Some(text.len());
    }
    let mut segments = pieces.split(is_star);
    let first = segments.next().unwrap_or_default();
    let last = segments.next_back().unwrap_or_default();
    let Some(mut at) = match_at(first, text, 0, ci) else { return false };
    let Some(limit) = suffix_start(last, text, ci).filter(|start| *start >= at) else { return false };
    for segment in segments {
        match find(segment, text, at, limit, ci, tuning) {
            Some(end) => at = end,
            None => return false,
        }
    }
    true
}

/// Where `segment` (no `*`) ends when it matches `text` from byte `at`.
fn match_at(segment: &[Piece<'_>], text: &str, mut at: usize, ci: bool) -> Option<usize> {
    for piece in segment {
        let rest = text.get(at..)?;
        at += match piece {
            Piece::Lit(s) if ci => starts_with_folded(rest, s)?,
            Piece::Lit(s) => rest.starts_with(s).then_some(s.len())?,
            Piece::One => rest.chars().next()?.len_utf8(),
            Piece::Star => return None,
        };
    }
    Some(at)
}

/// Where `segment` (no `*`) starts when it matches the end of `text`.
fn suffix_start(segment: &[Piece<'_>], text: &str, ci: bool) -> Option<usize> {
    let mut end = text.len();
    for piece in segment.iter().rev() {
        let head = text.get(..end)?;
        end = match piece {
            Piece::Lit(s) if ci => ends_with_folded(head, s)?,
            Piece::Lit(s) => head.strip_suffix(s)?.len(),
            Piece::One => head.char_indices().next_back()?.0,
            Piece::Star => return None,
        };
    }
    Some(end)
}

/// `text` starts with `pattern`, ignoring case: the number of bytes of `text` it covers.
fn starts_with_folded(text: &str, pattern: &str) -> Option<usize> {
    if pattern.is_ascii() {
        if let Some(head) = text.get(..pattern.len()).filter(|h| h.is_ascii()) {
            return head.eq_ignore_ascii_case(pattern).then_some(pattern.len());
        }
    }
    let mut chars = text.char_indices();
    let mut end = 0;
    for p in pattern.chars() {
        let (i, c) = chars.next()?;
        if fold(c) != fold(p) {
            return None;
        }
        end = i + c.len_utf8();
    }
    Some(end)
}

/// `text` ends with `pattern`, ignoring case: the byte where the match starts.
fn ends_with_folded(text: &str, pattern: &str) -> Option<usize> {
    if pattern.is_ascii() {
        let start = text.len().checked_sub(pattern.len());
        if let Some((start, tail)) = start.and_then(|s| Some((s, text.get(s..)?))).filter(|(_, t)| t.is_ascii()) {
            return tail.eq_ignore_ascii_case(pattern).then_some(start);
        }
    }
    let mut chars = text.char_indices().rev();
    let mut start = text.len();
    for p in pattern.chars().rev() {
        let (i, c) = chars.next()?;
        if fold(c) != fold(p) {
            return None;
        }
        start = i;
    }
    Some(start)
}

/// The end of the earliest match of `segment` (no `*`) inside `text[from..limit]`.
fn find(segment: &[Piece<'_>], text: &str, from: usize, limit: usize, ci: bool, tuning: Tuning) -> Option<usize> {
    let window = text.get(from..limit)?;
    let has_one = segment.iter().any(|p| matches!(p, Piece::One));
    let len: usize = segment
        .iter()
        .map(|p| match p {
            Piece::Lit(s) => s.chars().count(),
            Piece::One => 1,
            Piece::Star => 0,
        })
        .sum();
    let end = if len == 0 {
        Some(0)
    } else if !ci && !has_one {
        find_literal(segment, window)
    } else if len.saturating_mul(window.len()) <= tuning.naive_up_to {
        window.char_indices().find_map(|(i, _)| match_at(segment, window, i, ci))
    } else {
        let mut atoms: SmallVec<[Option<char>; 32]> = SmallVec::with_capacity(len);
        for p in segment {
            match p {
                Piece::Lit(s) => atoms.extend(s.chars().map(|c| Some(fold_if(ci, c)))),
                Piece::One => atoms.push(None),
                Piece::Star => {}
            }
        }
        if !has_one {
            kmp(&atoms, window, ci)
        } else if atoms.len() <= tuning.width {
            shift_and(&atoms, window, ci)
        } else {
            shift_and_chunked(&atoms, window, ci, tuning.width)
        }
    };
    end.map(|e| from + e)
}

/// Plain text, case kept: the standard library's substring search (two-way, linear).
fn find_literal(segment: &[Piece<'_>], window: &str) -> Option<usize> {
    if let [Piece::Lit(s)] = segment {
        return window.find(s).map(|i| i + s.len());
    }
    // Several literal pieces in a row (a variable's value between literals): search for them joined.
    let mut joined: SmallVec<[u8; 128]> = SmallVec::new();
    for p in segment {
        if let Piece::Lit(s) = p {
            joined.extend_from_slice(s.as_bytes());
        }
    }
    let needle = std::str::from_utf8(&joined).ok()?;
    window.find(needle).map(|i| i + needle.len())
}

/// Knuth–Morris–Pratt over characters (`atoms` has no `?`; folded when `ci`).
fn kmp(atoms: &[Option<char>], window: &str, ci: bool) -> Option<usize> {
    let m = atoms.len();
    let at = |j: usize| atoms.get(j).copied().flatten();
    // fail[j]: length of the longest proper border of atoms[..=j].
    let mut fail: SmallVec<[usize; 32]> = SmallVec::from_elem(0, m);
    let mut k = 0;
    for j in 1..m {
        let c = at(j);
        while k > 0 && at(k) != c {
            k = fail.get(k - 1).copied().unwrap_or(0);
        }
        if at(k) == c {
            k += 1;
        }
        if let Some(f) = fail.get_mut(j) {
            *f = k;
        }
    }
    let mut q = 0;
    for (i, ch) in window.char_indices() {
        let c = Some(fold_if(ci, ch));
        while q > 0 && at(q) != c {
            q = fail.get(q - 1).copied().unwrap_or(0);
        }
        if at(q) == c {
            q += 1;
        }
        if q == m {
            return Some(i + ch.len_utf8());
        }
    }
    None
}

/// For each character, the set of pattern positions (bits) it may stand at.
struct Masks {
    /// By ASCII code, `?` positions included.
    ascii: [u64; 128],
    /// Other characters of the segment, sorted, `?` positions included.
    other: SmallVec<[(char, u64); 8]>,
    /// The `?` positions: what any other character may stand at.
    any: u64,
}

impl Masks {
    /// `atoms`: at most 64.
    fn new(atoms: &[Option<char>]) -> Masks {
        let mut masks = Masks { ascii: [0; 128], other: SmallVec::new(), any: 0 };
        for (i, a) in atoms.iter().enumerate() {
            let bit = 1u64.checked_shl(i as u32).unwrap_or(0);
            match a {
                None => masks.any |= bit,
                Some(c) if c.is_ascii() => {
                    if let Some(m) = masks.ascii.get_mut(*c as usize) {
                        *m |= bit;
                    }
                }
                Some(c) => match masks.other.iter_mut().find(|(o, _)| o == c) {
                    Some((_, m)) => *m |= bit,
                    None => masks.other.push((*c, bit)),
                },
            }
        }
        let any = masks.any;
        masks.ascii.iter_mut().for_each(|m| *m |= any);
        masks.other.iter_mut().for_each(|(_, m)| *m |= any);
        masks.other.sort_unstable_by_key(|(c, _)| *c);
        masks
    }

    fn get(&self, c: char) -> u64 {
        if c.is_ascii() {
            return self.byte(c as u8);
        }
        match self.other.binary_search_by_key(&c, |(o, _)| *o) {
            Ok(i) => self.other.get(i).map_or(self.any, |(_, m)| *m),
            Err(_) => self.any,
        }
    }

    /// For an ASCII byte.
    fn byte(&self, b: u8) -> u64 {
        self.ascii.get(usize::from(b & 0x7f)).copied().unwrap_or(self.any)
    }
}

/// Shift-and for a segment of at most 64 characters: bit j of `state` says the last j + 1
/// characters read match the segment's first j + 1.
fn shift_and(atoms: &[Option<char>], window: &str, ci: bool) -> Option<usize> {
    let masks = Masks::new(atoms);
    let accept = 1u64.checked_shl(u32::try_from(atoms.len()).ok()?.checked_sub(1)?)?;
    let mut state = 0u64;
    if window.is_ascii() {
        for (i, b) in window.bytes().enumerate() {
            state = ((state << 1) | 1) & masks.byte(if ci { b.to_ascii_lowercase() } else { b });
            if state & accept != 0 {
                return Some(i + 1);
            }
        }
        return None;
    }
    for (i, ch) in window.char_indices() {
        state = ((state << 1) | 1) & masks.get(fold_if(ci, ch));
        if state & accept != 0 {
            return Some(i + ch.len_utf8());
        }
    }
    None
}

/// Shift-and for a longer segment, `width` characters at a time: each piece marks the starts it
/// allows (one bit per text position), and the segment starts where every piece allows it.
fn shift_and_chunked(atoms: &[Option<char>], window: &str, ci: bool, width: usize) -> Option<usize> {
    let m = atoms.len();
    let ascii = window.is_ascii();
    let last_start = if ascii { window.len() } else { window.chars().count() }.checked_sub(m)?;
    let words = last_start / 64 + 1;
    let mut starts = vec![u64::MAX; words];
    let mut allowed = vec![0u64; words];
    let width = width.clamp(1, 64);
    for (k, piece) in atoms.chunks(width).enumerate() {
        // Characters from the segment's start to the end of this piece.
        let offset = k * width + piece.len();
        let masks = Masks::new(piece);
        let accept = 1u64.checked_shl(u32::try_from(piece.len()).ok()?.checked_sub(1)?)?;
        allowed.fill(0);
        let mut state = 0u64;
        // The piece ends at character t, so the segment starts at t + 1 - offset.
        let mut step = |t: usize, mask: u64| {
            state = ((state << 1) | 1) & mask;
            if state & accept != 0 {
                if let Some(start) = (t + 1).checked_sub(offset).filter(|s| *s <= last_start) {
                    if let Some(w) = allowed.get_mut(start / 64) {
                        *w |= 1 << (start % 64);
                    }
                }
            }
        };
        if ascii {
            for (t, b) in window.bytes().enumerate() {
                step(t, masks.byte(if ci { b.to_ascii_lowercase() } else { b }));
            }
        } else {
            for (t, ch) in window.chars().enumerate() {
                step(t, masks.get(fold_if(ci, ch)));
            }
        }
        for (s, a) in starts.iter_mut().zip(&allowed) {
            *s &= *a;
        }
        if starts.iter().all(|s| *s == 0) {
            return None;
        }
    }
    let first = starts.iter().enumerate().find(|(_, s)| **s != 0).map(|(i, s)| i * 64 + s.trailing_zeros() as usize)?;
    window.char_indices().nth(first + m - 1).map(|(i, ch)| i + ch.len_utf8())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn m(p: &str, t: &str, case: Case) -> bool {
        Pattern::new(p, case, true, false).matches_plain(t)
    }

    #[test]
    fn the_documented_table() {
        assert!(m("ecr:Batch*", "ECR:batchgetimage", Case::Insensitive));
        assert!(m("ecr:Get?ownload*", "ecr:GetDownloadUrlForLayer", Case::Insensitive));
        assert!(m("team/*", "team/sub/app", Case::Sensitive));
        assert!(!m("Team/app", "team/app", Case::Sensitive));
        assert!(!m("team/[ab]pp", "team/app", Case::Sensitive));
        assert!(m("team/[ab]pp", "team/[ab]pp", Case::Sensitive));
        assert!(!m("a?c", "abbc", Case::Sensitive));
        assert!(m("*", "", Case::Sensitive));
    }

    #[test]
    fn stars_backtrack() {
        assert!(m("*/test/*", "1/2/test/3/object.jpg", Case::Sensitive));
        assert!(m("a*b*c", "axxbyybzzc", Case::Sensitive));
        assert!(!m("a*b*c", "axxbyybzz", Case::Sensitive));
        assert!(m("**a", "bba", Case::Sensitive));
        assert!(m("?*", "x", Case::Sensitive));
        assert!(!m("?*", "", Case::Sensitive));
        assert!(m("é?", "éü", Case::Sensitive));
        assert!(m("ÉCR*", "écrx", Case::Insensitive));
    }

    #[test]
    fn segments_do_not_overlap() {
        // The last segment is anchored at the end and must start after the first one ends.
        assert!(!m("ab*ba", "aba", Case::Sensitive));
        assert!(m("ab*ba", "abba", Case::Sensitive));
        assert!(!m("a*?*a", "aa", Case::Sensitive));
        assert!(m("a*?*a", "axa", Case::Sensitive));
        assert!(m("*aba*", "xxabab", Case::Sensitive));
        assert!(!m("*a?c*", "abab", Case::Sensitive));
        assert!(m("*Suffix", "x-SUFFIX", Case::Insensitive));
        assert!(!m("*suffix", "x-SUFFIX", Case::Sensitive));
    }

    #[test]
    fn case_folding_is_per_character_on_both_sides() {
        // U+212A KELVIN SIGN lower-cases to ASCII `k`; `İ` lower-cases to two characters and is
        // equal only to itself; final and medial sigma are different lower-case letters.
        assert!(m("ecr:k*", "ECR:\u{212A}ey", Case::Insensitive));
        assert!(m("*\u{212A}", "ok", Case::Insensitive));
        assert!(m("İ", "İ", Case::Insensitive));
        assert!(!m("İ", "i", Case::Insensitive));
        assert!(m("aΣ", "AΣ", Case::Insensitive));
        assert!(m("aσ*", "AΣb", Case::Insensitive));
        assert!(!m("aς", "aσ", Case::Insensitive));
    }

    #[test]
    fn wildcards_can_be_literal() {
        let p = Pattern::new("docker*", Case::Sensitive, false, false);
        assert!(!p.matches_plain("docker/24.0"));
        assert!(p.matches_plain("docker*"));
    }

    #[test]
    fn variables_are_literal_text_inside_segments() {
        let ctx = Context::new().with("aws:username", "a*b?").unwrap();
        let p = Pattern::new("repository/*/${aws:username}/*", Case::Sensitive, true, true);
        assert_eq!(p.matches("repository/x/a*b?/y", &ctx), Match::Yes);
        assert_eq!(p.matches("repository/x/aXbY/y", &ctx), Match::No);
        assert_eq!(p.matches("repository/x/a*b?/y", &Context::EMPTY), Match::Unresolved);
        let ci = Pattern::new("*/${aws:username}-X?/*", Case::Insensitive, true, true);
        let ctx = Context::new().with("aws:username", "ÉVE").unwrap();
        assert_eq!(ci.matches("r/éve-x1/z", &ctx), Match::Yes);
        let empty = Context::new().with("aws:username", "").unwrap();
        assert_eq!(Pattern::new("a*${aws:username}*b", Case::Sensitive, true, true).matches("ab", &empty), Match::Yes);
    }

    #[test]
    fn prefixes_for_indexing() {
        assert_eq!(Pattern::new("team/*", Case::Sensitive, true, false).literal_prefix(), "team/");
        assert_eq!(Pattern::new("team/a?c", Case::Sensitive, true, false).literal_prefix(), "team/a");
        assert_eq!(Pattern::new("*x", Case::Sensitive, true, false).literal_prefix(), "");
        assert_eq!(Pattern::new("ECR:Get", Case::Insensitive, true, false).literal_prefix(), "ecr:get");
    }

    #[test]
    fn hostile_patterns_get_the_right_answer() {
        // Correctness only (the timing is `cargo bench -p warden-bench --bench wildcard`): the
        // bench's shape at a tenth of its size, through every search. Runs of 996 `a`, each
        // closed by `b`.
        let text = format!("{}b", &format!("{}b", "a".repeat(996)).repeat(11)[..9_999]);
        for pattern in [format!("*{}*b", "a".repeat(998)), format!("*{}?*b", "a".repeat(997))] {
            assert!(!m(&pattern, &text, Case::Sensitive), "{}", pattern.len());
            assert!(!m(&pattern.to_uppercase(), &text, Case::Insensitive));
        }
        for pattern in [
            format!("*{}*b", "a".repeat(996)),
            format!("*{}?*b", "a".repeat(996)),
            format!("*{}?{}*b", "a".repeat(498), "a".repeat(497)),
        ] {
            assert!(m(&pattern, &text, Case::Sensitive), "{}", pattern.len());
            assert!(m(&pattern.to_uppercase(), &text, Case::Insensitive));
        }
    }

    #[test]
    fn searches_agree_on_every_small_case() {
        // Every segment over `a`, `b`, `?` of up to 5 characters in every text over `a`, `b` of up
        // to 10: the earliest occurrence, by trying each position, against each search.
        fn words(alphabet: &[char], max: usize) -> Vec<String> {
            let mut all = vec![String::new()];
            let mut last = vec![String::new()];
            for _ in 0..max {
                last = last.iter().flat_map(|w| alphabet.iter().map(move |c| format!("{w}{c}"))).collect();
                all.extend(last.iter().cloned());
            }
            all
        }
        let texts = words(&['a', 'b'], 10);
        let mut segments = words(&['a', 'b', '?'], 5);
        // Plain segments up to 7 letters have nested borders (`aabaaab`), which KMP's failure
        // table must follow.
        segments.extend(words(&['a', 'b'], 7).into_iter().filter(|s| s.len() > 5));
        for segment in segments.iter().filter(|s| !s.is_empty()) {
            let atoms: Vec<Option<char>> = segment.chars().map(|c| (c != '?').then_some(c)).collect();
            for text in &texts {
                let want = (0..text.len()).find_map(|i| {
                    let window = text.get(i..i + atoms.len())?;
                    atoms.iter().zip(window.chars()).all(|(a, c)| a.is_none_or(|a| a == c)).then_some(i + atoms.len())
                });
                if !segment.contains('?') {
                    assert_eq!(kmp(&atoms, text, false), want, "kmp {segment:?} in {text:?}");
                }
                assert_eq!(shift_and(&atoms, text, false), want, "shift-and {segment:?} in {text:?}");
                for width in [1, 2, 3] {
                    let got = shift_and_chunked(&atoms, text, false, width);
                    assert_eq!(got, want, "shift-and by {width} {segment:?} in {text:?}");
                }
            }
        }
    }

    #[test]
    fn kmp_follows_nested_borders() {
        // After `aabaaa` meets `b`, the search must fall back to the border `aa` (not to `a`) to
        // find the occurrence starting at the fifth character.
        let atoms: Vec<Option<char>> = "aabaaaa".chars().map(Some).collect();
        assert_eq!(kmp(&atoms, "aabaaabaaaa", false), Some(11));
        assert_eq!(kmp(&atoms, "aaabaaabaaaa", false), Some(12));
        assert_eq!(kmp(&atoms, "AABAAABAAAA", true), Some(11));
        assert!(m("*AABAAAA*", "xaabaaabaaaay", Case::Insensitive));
    }

    // A reference matcher to hold the fast one to: dynamic programming over characters, the
    // definition written out. `eq` is case-insensitive equality of one character each.

    #[derive(Debug, Clone, Copy)]
    enum Ref {
        Star,
        One,
        Char(char),
    }

    fn reference(pattern: &[Ref], text: &str, ci: bool) -> bool {
        let t: Vec<char> = text.chars().collect();
        let eq = |a: char, b: char| a == b || (ci && a.to_lowercase().eq(b.to_lowercase()));
        // ok[i][j]: pattern[..i] matches t[..j].
        let mut ok = vec![vec![false; t.len() + 1]; pattern.len() + 1];
        ok[0][0] = true;
        for i in 1..=pattern.len() {
            for j in 0..=t.len() {
                ok[i][j] = match pattern[i - 1] {
                    Ref::Star => ok[i - 1][j] || (j > 0 && ok[i][j - 1]),
                    Ref::One => j > 0 && ok[i - 1][j - 1],
                    Ref::Char(c) => j > 0 && ok[i - 1][j - 1] && eq(c, t[j - 1]),
                };
            }
        }
        ok[pattern.len()][t.len()]
    }

    fn reference_atoms(pattern: &str) -> Vec<Ref> {
        pattern
            .chars()
            .map(|c| match c {
                '*' => Ref::Star,
                '?' => Ref::One,
                c => Ref::Char(c),
            })
            .collect()
    }

    /// The pattern through `glob` with every search forced in turn.
    fn glob_all_tunings(pattern: &str, text: &str, ci: bool) -> Vec<(String, bool)> {
        let pattern = Pattern::new(pattern, if ci { Case::Insensitive } else { Case::Sensitive }, true, false);
        let tokens: Vec<Token> = match &pattern.kind {
            Kind::General(t) => t.to_vec(),
            Kind::Any => vec![Token::Star],
            Kind::Exact(s) => vec![Token::Lit(s.clone())],
            Kind::Prefix(s) => vec![Token::Lit(s.clone()), Token::Star],
            Kind::Suffix(s) => vec![Token::Star, Token::Lit(s.clone())],
            Kind::PrefixSuffix(a, b) => vec![Token::Lit(a.clone()), Token::Star, Token::Lit(b.clone())],
        };
        let pieces: Vec<Piece<'_>> = tokens
            .iter()
            .map(|t| match t {
                Token::Lit(s) => Piece::Lit(s),
                Token::Star => Piece::Star,
                Token::Question => Piece::One,
                Token::Var(_) => unreachable!("no variables here"),
            })
            .collect();
        let mut out = vec![("compiled".to_owned(), pattern.matches_plain(text))];
        for tuning in [
            TUNING,
            Tuning { naive_up_to: usize::MAX, width: 64 },
            Tuning { naive_up_to: 0, width: 64 },
            Tuning { naive_up_to: 0, width: 1 },
            Tuning { naive_up_to: 0, width: 2 },
            Tuning { naive_up_to: 0, width: 3 },
        ] {
            out.push((format!("{tuning:?}"), glob(&pieces, text, ci, tuning)));
        }
        out
    }

    /// Letters in two cases, the separators `:` and `/`, and characters whose case folding is
    /// not ASCII: `é`/`É`, the Kelvin sign (folds to ASCII `k`), `İ` (folds to two characters),
    /// and the three sigmas.
    const ALPHABET: &str = "[abAB:/kéÉ\u{212A}İiΣσς]";

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

        #[test]
        fn agrees_with_the_reference_matcher(
            pattern in proptest::collection::vec(prop_oneof![3 => ALPHABET, 1 => Just("*".to_owned()), 1 => Just("?".to_owned())], 0..10),
            text in proptest::collection::vec(ALPHABET, 0..14),
            ci in any::<bool>(),
        ) {
            let pattern = pattern.concat();
            let text = text.concat();
            let want = reference(&reference_atoms(&pattern), &text, ci);
            for (how, got) in glob_all_tunings(&pattern, &text, ci) {
                prop_assert_eq!(got, want, "pattern {:?} text {:?} ignore case {} via {}", pattern, text, ci, how);
            }
        }

        #[test]
        fn agrees_on_long_segments(
            pattern in proptest::collection::vec(prop_oneof![6 => "[ab]", 1 => Just("*".to_owned()), 2 => Just("?".to_owned())], 40..150),
            text in proptest::collection::vec(prop_oneof![8 => "[ab]", 1 => "[AB:]"], 60..400),
            ci in any::<bool>(),
        ) {
            let pattern = pattern.concat();
            let text = text.concat();
            let want = reference(&reference_atoms(&pattern), &text, ci);
            for (how, got) in glob_all_tunings(&pattern, &text, ci) {
                prop_assert_eq!(got, want, "pattern {:?} text {:?} ignore case {} via {}", pattern, text, ci, how);
            }
        }

        #[test]
        fn agrees_on_periodic_literals(
            // Two letters and few wildcards: segments with nested borders (`aabaa`), the case a
            // substring search gets wrong first.
            pattern in proptest::collection::vec(prop_oneof![8 => "[aAbB]", 1 => Just("*".to_owned()), 1 => Just("?".to_owned())], 0..16),
            text in "[abAB]{0,40}",
            ci in any::<bool>(),
        ) {
            let pattern = pattern.concat();
            let want = reference(&reference_atoms(&pattern), &text, ci);
            for (how, got) in glob_all_tunings(&pattern, &text, ci) {
                prop_assert_eq!(got, want, "pattern {:?} text {:?} ignore case {} via {}", pattern, text, ci, how);
            }
        }

        #[test]
        fn agrees_on_texts_made_from_the_pattern(
            // Most random texts miss the anchored ends, so here the text is the pattern with its
            // wildcards filled in, then perhaps changed in one place.
            pattern in proptest::collection::vec(prop_oneof![6 => "[aAbB]", 2 => Just("*".to_owned()), 1 => Just("?".to_owned())], 0..20),
            fill in proptest::collection::vec("[abAB]{0,6}", 1..6),
            edit in proptest::option::of((any::<prop::sample::Index>(), "[abAB]")),
            ci in any::<bool>(),
        ) {
            let pattern = pattern.concat();
            let mut filler = fill.iter().cycle();
            let mut text = String::new();
            for c in pattern.chars() {
                let f = filler.next().map(String::as_str).unwrap_or_default();
                match c {
                    '*' => text.push_str(f),
                    '?' => text.push(f.chars().next().unwrap_or('a')),
                    c => text.push(c),
                }
            }
            if let Some((at, c)) = edit {
                let mut chars: Vec<char> = text.chars().collect();
                if !chars.is_empty() {
                    let i = at.index(chars.len());
                    chars[i] = c.chars().next().unwrap();
                }
                text = chars.into_iter().collect();
            }
            let want = reference(&reference_atoms(&pattern), &text, ci);
            for (how, got) in glob_all_tunings(&pattern, &text, ci) {
                prop_assert_eq!(got, want, "pattern {:?} text {:?} ignore case {} via {}", pattern, text, ci, how);
            }
        }

        #[test]
        fn searches_find_the_earliest_occurrence(
            segment in "[aAbB?]{1,12}",
            text in "[abAB]{0,40}",
            ci in any::<bool>(),
        ) {
            let atoms = reference_atoms(&segment);
            let chars: Vec<(usize, char)> = text.char_indices().collect();
            let eq = |a: char, b: char| a == b || (ci && a.to_lowercase().eq(b.to_lowercase()));
            let want = (0..chars.len()).find_map(|i| {
                let window = chars.get(i..i + atoms.len())?;
                let hit = atoms.iter().zip(window).all(|(a, (_, c))| match a {
                    Ref::Char(p) => eq(*p, *c),
                    _ => true,
                });
                hit.then(|| window.last().map_or(0, |(j, c)| j + c.len_utf8()))
            });
            let folded: String = if ci { segment.chars().map(fold).collect() } else { segment.clone() };
            let pieces: Vec<Piece<'_>> =
                folded.split('?').enumerate().flat_map(|(i, lit)| (i > 0).then_some(Piece::One).into_iter().chain(Some(Piece::Lit(lit)))).collect();
            for width in [1, 2, 3, 5, 64] {
                for naive_up_to in [0, usize::MAX] {
                    let got = find(&pieces, &text, 0, text.len(), ci, Tuning { naive_up_to, width });
                    prop_assert_eq!(got, want, "{:?} in {:?} ignore case {} width {} naive {}", segment, text, ci, width, naive_up_to);
                }
            }
        }

        #[test]
        fn variable_values_match_literally(
            before in "[ab*?/]{0,5}",
            value in "[ab*?/A]{0,4}",
            after in "[ab*?/]{0,5}",
            text in "[ab*?/A]{0,12}",
            ci in any::<bool>(),
        ) {
            let ctx = Context::new().with("k", &value).unwrap();
            let case = if ci { Case::Insensitive } else { Case::Sensitive };
            let got = Pattern::new(&format!("{before}${{k}}{after}"), case, true, true).matches(&text, &ctx);
            let mut atoms = reference_atoms(&before);
            atoms.extend(value.chars().map(Ref::Char));
            atoms.extend(reference_atoms(&after));
            let want = if reference(&atoms, &text, ci) { Match::Yes } else { Match::No };
            prop_assert_eq!(got, want, "{}${{k}}{} with k = {:?} on {:?}", before, after, value, text);
        }
    }
}
