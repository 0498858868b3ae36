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
//! request context at match time into borrowed text, so matching never allocates.

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
    /// Anything else.
    General(Box<[Token]>),
}

impl Pattern {
    /// Compiles `text`. `wildcards` says whether `*` and `?` are wildcards (they are literal in
    /// `StringEquals`); `variables` whether `${…}` is expanded (only under Version 2012-10-17 and
    /// where IAM allows variables).
    pub fn new(text: &str, case: Case, wildcards: bool, variables: bool) -> Pattern {
        let mut tokens = variables::tokenize(text, wildcards, variables);
        if case == Case::Insensitive {
            for t in &mut tokens {
                if let Token::Lit(s) = t {
                    *s = s.to_lowercase().into();
                }
            }
        }
        let kind = match tokens.as_slice() {
            [Token::Star] => Kind::Any,
            [] => Kind::Exact("".into()),
            [Token::Lit(s)] => Kind::Exact(s.clone()),
            [Token::Lit(s), Token::Star] => Kind::Prefix(s.clone()),
            _ => Kind::General(tokens.into_boxed_slice()),
        };
        Pattern { kind, case }
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
            Kind::Any => "",
            Kind::Exact(s) | Kind::Prefix(s) => s,
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

    /// Matches `text`, resolving variables from `ctx`.
    pub fn matches(&self, text: &str, ctx: &Context) -> Match {
        let ci = self.case == Case::Insensitive;
        let yes = |b: bool| if b { Match::Yes } else { Match::No };
        match &self.kind {
            Kind::Any => Match::Yes,
            Kind::Exact(s) => yes(if ci { eq_ci(s, text) } else { **s == *text }),
            Kind::Prefix(s) => yes(if ci { starts_with_ci(text, s) } else { text.starts_with(&**s) }),
            Kind::General(tokens) => {
                let mut pieces: SmallVec<[Piece<'_>; 8]> = SmallVec::new();
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
                yes(glob(&pieces, text, ci))
            }
        }
    }
}

/// One resolved element of a pattern.
#[derive(Debug, Clone, Copy)]
enum Piece<'a> {
    Lit(&'a str),
    Star,
    One,
}

/// One step of a pattern: a literal character, `?` or `*`.
#[derive(Clone, Copy)]
enum Atom {
    Char(char),
    One,
    Star,
}

/// A position in a piece list: piece index and byte offset inside a literal piece.
#[derive(Clone, Copy)]
struct Cursor {
    piece: usize,
    offset: usize,
}

fn next_atom(pieces: &[Piece<'_>], mut cur: Cursor) -> Option<(Atom, Cursor)> {
    loop {
        match pieces.get(cur.piece)? {
            Piece::Star => return Some((Atom::Star, Cursor { piece: cur.piece + 1, offset: 0 })),
            Piece::One => return Some((Atom::One, Cursor { piece: cur.piece + 1, offset: 0 })),
            Piece::Lit(s) => match s.get(cur.offset..).and_then(|rest| rest.chars().next()) {
                Some(ch) => {
                    return Some((Atom::Char(ch), Cursor { piece: cur.piece, offset: cur.offset + ch.len_utf8() }))
                }
                None => cur = Cursor { piece: cur.piece + 1, offset: 0 },
            },
        }
    }
}

fn char_at(text: &str, at: usize) -> Option<char> {
    text.get(at..).and_then(|rest| rest.chars().next())
}

fn chars_eq(p: char, t: char, ci: bool) -> bool {
    p == t || (ci && (p.eq_ignore_ascii_case(&t) || p.to_lowercase().eq(t.to_lowercase())))
}

/// Whole-text wildcard match with backtracking to the last `*`; O(pattern × text) at worst.
fn glob(pieces: &[Piece<'_>], text: &str, ci: bool) -> bool {
    let mut cur = Cursor { piece: 0, offset: 0 };
    let mut at = 0;
    let mut star: Option<(Cursor, usize)> = None;
    loop {
        let step = next_atom(pieces, cur);
        let here = char_at(text, at);
        match (step, here) {
            (Some((Atom::Star, next)), _) => {
                star = Some((next, at));
                cur = next;
                continue;
            }
            (Some((Atom::One, next)), Some(ch)) => {
                at += ch.len_utf8();
                cur = next;
                continue;
            }
            (Some((Atom::Char(p), next)), Some(ch)) if chars_eq(p, ch, ci) => {
                at += ch.len_utf8();
                cur = next;
                continue;
            }
            (None, None) => return true,
            _ => {}
        }
        // Mismatch: let the last `*` swallow one more character, or fail.
        match star {
            Some((resume, from)) => match char_at(text, from) {
                Some(ch) => {
                    let from = from + ch.len_utf8();
                    star = Some((resume, from));
                    cur = resume;
                    at = from;
                }
                None => return false,
            },
            None => return false,
        }
    }
}

/// `lower` (already lower-cased) equals `text` ignoring case.
fn eq_ci(lower: &str, text: &str) -> bool {
    if lower.len() == text.len() && lower.eq_ignore_ascii_case(text) {
        return true;
    }
    // Equal ignoring ASCII case needs equal lengths; only non-ASCII case folding can change the
    // length.
    if lower.is_ascii() && text.is_ascii() {
        false
    } else {
        lower.chars().eq(text.chars().flat_map(char::to_lowercase))
    }
}

fn starts_with_ci(text: &str, lower_prefix: &str) -> bool {
    if lower_prefix.is_ascii() {
        text.get(..lower_prefix.len()).is_some_and(|head| head.eq_ignore_ascii_case(lower_prefix))
    } else {
        let mut t = text.chars().flat_map(char::to_lowercase);
        lower_prefix.chars().all(|p| t.next() == Some(p))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
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
    fn wildcards_can_be_literal() {
        let p = Pattern::new("docker*", Case::Sensitive, false, false);
        assert!(!p.matches_plain("docker/24.0"));
        assert!(p.matches_plain("docker*"));
    }

    #[test]
    fn prefixes_for_indexing() {
        assert_eq!(Pattern::new("team/*", Case::Sensitive, true, false).literal_prefix(), "team/");
        assert_eq!(Pattern::new("team/a?c", Case::Sensitive, true, false).literal_prefix(), "team/a");
        assert_eq!(Pattern::new("*x", Case::Sensitive, true, false).literal_prefix(), "");
        assert_eq!(Pattern::new("ECR:Get", Case::Insensitive, true, false).literal_prefix(), "ecr:get");
    }
}
