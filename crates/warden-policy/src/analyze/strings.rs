//! One witness string for every region a set of glob patterns (`*`, `?`) cuts the strings into.
//!
//! A region is a set of strings that match exactly the same patterns. The regions that are not
//! empty, each with a shortest member, come from a breadth-first walk of the product of the
//! patterns' automata: a state is, for each pattern, the set of its positions the input so far
//! can be at. Every character that appears in no pattern's literals behaves like every other such
//! character, so the walk reads the literals' characters and one character from outside them; it
//! therefore reaches every product state some string reaches, and each reachable state's accept
//! flags are a non-empty region. The walk is bounded ([`MAX_STATES`]); past the bound the answer
//! is "not decided", never a partial list.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// Product states explored at most.
pub const MAX_STATES: usize = 50_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Lit(char),
    One,
    Star,
}

fn tokens(pattern: &str, wildcards: bool) -> Vec<Token> {
    pattern
        .chars()
        .map(|c| match c {
            '*' if wildcards => Token::Star,
            '?' if wildcards => Token::One,
            c => Token::Lit(c),
        })
        .collect()
}

/// Positions reachable from `set` through `*` (which may match nothing).
fn closure(toks: &[Token], set: &mut BTreeSet<usize>) {
    let mut stack: Vec<usize> = set.iter().copied().collect();
    while let Some(p) = stack.pop() {
        if toks.get(p) == Some(&Token::Star) && set.insert(p + 1) {
            stack.push(p + 1);
        }
    }
}

fn step(toks: &[Token], set: &BTreeSet<usize>, c: char) -> BTreeSet<usize> {
    let mut next = BTreeSet::new();
    for &p in set {
        match toks.get(p) {
            Some(Token::Lit(l)) if *l == c => {
                next.insert(p + 1);
            }
            Some(Token::One) => {
                next.insert(p + 1);
            }
            Some(Token::Star) => {
                next.insert(p);
            }
            _ => {}
        }
    }
    closure(toks, &mut next);
    next
}

/// A pattern of [`regions`]: its text and whether `*`/`?` are wildcards in it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Glob {
    /// The text (already case-folded by the caller where matching ignores case).
    pub text: String,
    /// `*` and `?` are wildcards (`StringLike`, `Action`); literal otherwise (`StringEquals`).
    pub wildcards: bool,
}

/// For each non-empty region of `patterns`, a shortest string in it (`None` past
/// [`MAX_STATES`]). The map's key says which patterns the region's strings match.
pub fn regions(patterns: &[Glob]) -> Option<BTreeMap<Vec<bool>, String>> {
    let toks: Vec<Vec<Token>> = patterns.iter().map(|p| tokens(&p.text, p.wildcards)).collect();
    let mut alphabet: BTreeSet<char> = BTreeSet::new();
    for t in toks.iter().flatten() {
        if let Token::Lit(c) = t {
            alphabet.insert(*c);
        }
    }
    // One character from outside the literals stands for all of them.
    let other = ['x', 'q', 'z', '0', '7', '_', '~', '\u{2603}'].into_iter().find(|c| !alphabet.contains(c))?;
    alphabet.insert(other);
    let start: Vec<BTreeSet<usize>> = toks
        .iter()
        .map(|t| {
            let mut s = BTreeSet::from([0]);
            closure(t, &mut s);
            s
        })
        .collect();
    let accepts = |state: &[BTreeSet<usize>]| -> Vec<bool> {
        state.iter().zip(&toks).map(|(s, t)| s.contains(&t.len())).collect()
    };
    let mut seen: HashMap<Vec<BTreeSet<usize>>, ()> = HashMap::new();
    let mut out: BTreeMap<Vec<bool>, String> = BTreeMap::new();
    let mut queue = VecDeque::from([(start.clone(), String::new())]);
    seen.insert(start, ());
    while let Some((state, text)) = queue.pop_front() {
        out.entry(accepts(&state)).or_insert_with(|| text.clone());
        for &c in &alphabet {
            let next: Vec<BTreeSet<usize>> = state.iter().zip(&toks).map(|(s, t)| step(t, s, c)).collect();
            if seen.contains_key(&next) {
                continue;
            }
            if seen.len() >= MAX_STATES {
                return None;
            }
            seen.insert(next.clone(), ());
            let mut longer = text.clone();
            longer.push(c);
            queue.push_back((next, longer));
        }
    }
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn glob(t: &str) -> Glob {
        Glob { text: t.into(), wildcards: true }
    }

    /// Whether `s` matches `p` (a direct backtracking matcher, independent of the automaton).
    fn matches(p: &[char], s: &[char]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some('*'), _) => matches(&p[1..], s) || (!s.is_empty() && matches(p, &s[1..])),
            (Some('?'), Some(_)) => matches(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a == b => matches(&p[1..], &s[1..]),
            _ => false,
        }
    }

    #[test]
    fn every_region_has_a_witness_that_is_in_it() {
        let pats = ["a*", "*b", "ab", "a?b", "*"];
        let globs: Vec<Glob> = pats.iter().map(|p| glob(p)).collect();
        let regions = regions(&globs).unwrap();
        for (flags, witness) in &regions {
            let w: Vec<char> = witness.chars().collect();
            for (p, f) in pats.iter().zip(flags) {
                assert_eq!(matches(&p.chars().collect::<Vec<_>>(), &w), *f, "{witness} vs {p}");
            }
        }
        // Brute force over short strings finds no region the walk missed.
        let alphabet = ['a', 'b', 'c'];
        let mut strings = vec![String::new()];
        for _ in 0..5 {
            let longer: Vec<String> =
                strings.iter().flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}"))).collect();
            strings.extend(longer);
            strings.sort();
            strings.dedup();
        }
        for s in strings {
            let w: Vec<char> = s.chars().collect();
            let flags: Vec<bool> = pats.iter().map(|p| matches(&p.chars().collect::<Vec<_>>(), &w)).collect();
            assert!(regions.contains_key(&flags), "{s} is in a region the walk did not find");
        }
    }

    #[test]
    fn literal_patterns_keep_their_stars() {
        let r = regions(&[Glob { text: "a*".into(), wildcards: false }]).unwrap();
        assert_eq!(r[&vec![true]], "a*");
        assert!(r.contains_key(&vec![false]));
    }
}
