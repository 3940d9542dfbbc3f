//! How two sets of add-ons differ: what a deploy moved, what a rollback brings back.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use super::release::Addon;

/// The change from one set of add-ons to another.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AddonDiff {
    /// Add-ons only in the new set.
    pub added: Vec<Addon>,
    /// Add-ons only in the old set.
    pub removed: Vec<Addon>,
    /// Add-ons in both, in another state (version, source, requirement or members).
    pub moved: Vec<MovedAddon>,
    /// Crates the add-ons depend on (not the members themselves) that came,
    /// went or moved, from the two Cargo.lock files; empty where one of
    /// them is not known here.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub indirect: Vec<IndirectMove>,
}

/// A crate that only the add-ons depend on, in another state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct IndirectMove {
    /// The crate.
    pub name: String,
    /// Its version before (`None`: it came).
    pub old: Option<String>,
    /// Its version after (`None`: it went).
    pub new: Option<String>,
    /// The add-on it comes through (the first by name), where one is found.
    pub via: Option<String>,
}

impl IndirectMove {
    /// A move as cargo's lock file tells it.
    pub(crate) fn new(name: &str, old: Option<&str>, new: Option<&str>, via: Option<&str>) -> Self {
        Self {
            name: name.to_owned(),
            old: old.map(str::to_owned),
            new: new.map(str::to_owned),
            via: via.map(str::to_owned),
        }
    }
}

/// `serde 1.0.228 => 1.0.229 (via serde_json)`, `+itoa 1.0.15 (via
/// serde_json)`, `-memchr 2.7.4 (via regex)`.
impl fmt::Display for IndirectMove {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.old, &self.new) {
            (Some(old), Some(new)) => write!(f, "{} {old} => {new}", self.name)?,
            (None, Some(new)) => write!(f, "+{} {new}", self.name)?,
            (Some(old), None) => write!(f, "-{} {old}", self.name)?,
            (None, None) => write!(f, "{}", self.name)?,
        }
        match &self.via {
            Some(via) => write!(f, " (via {via})"),
            None => Ok(()),
        }
    }
}

/// An add-on in another state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MovedAddon {
    /// Before.
    pub old: Addon,
    /// After.
    pub new: Addon,
}

impl AddonDiff {
    /// What changes from `old` to `new`. An add-on is matched by name; a
    /// crate present in several versions on one side is matched version by version.
    pub fn between(old: &[Addon], new: &[Addon]) -> Self {
        let mut diff = Self::default();
        let names: BTreeSet<&str> = old.iter().chain(new).map(|a| a.name.as_str()).collect();
        for name in names {
            let olds: Vec<&Addon> = old
                .iter()
                .filter(|a| a.name == name && !new.contains(a))
                .collect();
            let news: Vec<&Addon> = new
                .iter()
                .filter(|a| a.name == name && !old.contains(a))
                .collect();
            match (olds.as_slice(), news.as_slice()) {
                ([old], [new]) => diff.moved.push(MovedAddon {
                    old: (*old).clone(),
                    new: (*new).clone(),
                }),
                _ => {
                    diff.removed.extend(olds.into_iter().cloned());
                    diff.added.extend(news.into_iter().cloned());
                }
            }
        }
        diff
    }

    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.moved.is_empty()
            && self.indirect.is_empty()
    }

    /// The changes in a few words each (`+itoa`, `-memcache`,
    /// `serde 1.0.228 => 1.0.229`), by name.
    pub fn summary(&self) -> Vec<String> {
        let mut items: Vec<(&str, String)> = Vec::new();
        items.extend(
            self.added
                .iter()
                .map(|a| (a.name.as_str(), format!("+{}", a.name))),
        );
        items.extend(
            self.removed
                .iter()
                .map(|a| (a.name.as_str(), format!("-{}", a.name))),
        );
        items.extend(
            self.moved
                .iter()
                .map(|m| (m.new.name.as_str(), m.to_string())),
        );
        items.sort();
        // The add-ons themselves first, then what moved beneath them.
        let indirect = self.indirect.iter().map(IndirectMove::to_string);
        items
            .into_iter()
            .map(|(_, text)| text)
            .chain(indirect)
            .collect()
    }
}

/// How many crates beneath the add-ons a diff names before it counts the rest.
const SHOWN_INDIRECT: usize = 10;

/// One indented line per add-on: `+ itoa 1.0.15`, `- memcache 0.2.0`,
/// `~ serde 1.0.228 => 1.0.229`.
impl fmt::Display for AddonDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for addon in &self.added {
            writeln!(f, "  + {} {}", addon.name, state(addon))?;
        }
        for addon in &self.removed {
            writeln!(f, "  - {} {}", addon.name, state(addon))?;
        }
        for moved in &self.moved {
            writeln!(f, "  ~ {moved}")?;
        }
        for indirect in self.indirect.iter().take(SHOWN_INDIRECT) {
            writeln!(f, "  · {indirect}")?;
        }
        if self.indirect.len() > SHOWN_INDIRECT {
            let more = self.indirect.len() - SHOWN_INDIRECT;
            writeln!(f, "  · … and {more} more beneath the add-ons")?;
        }
        Ok(())
    }
}

/// `serde 1.0.228 => 1.0.229`; when the version stays, what else moved.
impl fmt::Display for MovedAddon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (old, new) = (&self.old, &self.new);
        let (old_state, new_state) = (state(old), state(new));
        if old_state != new_state {
            write!(f, "{} {old_state} => {new_state}", new.name)
        } else if old.req != new.req {
            write!(f, "{} requirement {} => {}", new.name, old.req, new.req)
        } else {
            write!(
                f,
                "{} used by {} => {}",
                new.name,
                old.used_by.join(", "),
                new.used_by.join(", ")
            )
        }
    }
}

/// An add-on's version, with a git dependency's locked commit.
fn state(addon: &Addon) -> String {
    let rev = addon
        .source
        .strip_prefix("git+")
        .and_then(|s| s.rsplit_once('#'))
        .map(|(_, rev)| super::release::short_sha(rev));
    match rev {
        Some(rev) => format!("{}#{rev}", addon.version_or_req()),
        None => addon.version_or_req().to_owned(),
    }
}

/// The versions of add-on `name` in `addons`, as people read them:
/// `0.2.0`, `1.0.0, 2.0.0`, or `absent`.
pub(crate) fn versions_of(addons: &[Addon], name: &str) -> String {
    let versions: Vec<String> = addons
        .iter()
        .filter(|a| a.name == name)
        .map(state)
        .collect();
    if versions.is_empty() {
        "absent".to_owned()
    } else {
        versions.join(", ")
    }
}

/// Whether add-on `name` is in the same state in both sets.
pub(crate) fn same_state(a: &[Addon], b: &[Addon], name: &str) -> bool {
    let of =
        |set: &[Addon]| -> Vec<Addon> { set.iter().filter(|x| x.name == name).cloned().collect() };
    of(a) == of(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addon(name: &str, version: &str) -> Addon {
        Addon {
            name: name.to_owned(),
            source: "registry+https://github.com/rust-lang/crates.io-index".to_owned(),
            req: "^1".to_owned(),
            version: Some(version.to_owned()),
            used_by: vec!["app".to_owned()],
        }
    }

    #[test]
    fn added_removed_and_moved() {
        let old = [
            addon("serde", "1.0.228"),
            addon("memcache", "0.1.0"),
            addon("rand", "0.7.3"),
        ];
        let new = [
            addon("serde", "1.0.229"),
            addon("itoa", "1.0.15"),
            addon("rand", "0.7.3"),
            addon("rand", "0.8.5"),
        ];
        let diff = AddonDiff::between(&old, &new);
        assert_eq!(
            diff.summary(),
            ["+itoa", "-memcache", "+rand", "serde 1.0.228 => 1.0.229"]
        );
        assert_eq!(versions_of(&new, "rand"), "0.7.3, 0.8.5");
        assert_eq!(versions_of(&new, "memcache"), "absent");
        assert!(!same_state(&old, &new, "rand"));
        assert!(AddonDiff::between(&new, &new).is_empty());
    }

    #[test]
    fn a_git_dependency_moves_by_its_commit() {
        let mut old = addon("gitdep", "0.1.0");
        old.source = format!("git+file:///x/gitdep#{}", "a".repeat(40));
        let mut new = old.clone();
        new.source = format!("git+file:///x/gitdep#{}", "b".repeat(40));
        assert_eq!(
            AddonDiff::between(&[old], &[new]).summary(),
            ["gitdep 0.1.0#aaaaaaa => 0.1.0#bbbbbbb"]
        );
    }
}
