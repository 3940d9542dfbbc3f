//! The numbers of the release files present, kept as runs: a ledger of a
//! hundred thousand releases numbered without gaps is one run, and reading
//! its index costs what reading a ten-release one does.

use std::ops::RangeInclusive;

/// Release numbers, ascending, without duplicates, as runs of consecutive numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Versions {
    /// Ascending, each at least two after the end of the one before.
    runs: Vec<RangeInclusive<u64>>,
    len: usize,
}

impl Versions {
    /// From runs of consecutive numbers, ascending; `None` when they
    /// overlap, are out of order, or hold zero or a number past the largest
    /// a release can have (a TOML integer, i64).
    pub(crate) fn from_runs(runs: impl IntoIterator<Item = (u64, u64)>) -> Option<Self> {
        let mut versions = Self::default();
        for (start, end) in runs {
            if start == 0
                || end < start
                || i64::try_from(end).is_err()
                || versions.last().is_some_and(|last| start <= last)
            {
                return None;
            }
            versions.push_run(start, end);
        }
        Some(versions)
    }

    /// The runs, as `(first, last)` pairs.
    pub(crate) fn runs(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.runs.iter().map(|r| (*r.start(), *r.end()))
    }

    /// How many numbers there are.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The newest number.
    pub(crate) fn last(&self) -> Option<u64> {
        self.runs.last().map(|r| *r.end())
    }

    pub(crate) fn contains(&self, version: u64) -> bool {
        let at = self.runs.partition_point(|r| *r.end() < version);
        self.runs.get(at).is_some_and(|r| r.contains(&version))
    }

    /// The numbers, ascending (`.rev()` for newest first).
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = u64> + '_ {
        self.runs.iter().flat_map(Clone::clone)
    }

    pub(crate) fn to_vec(&self) -> Vec<u64> {
        self.iter().collect()
    }

    /// Adds `version`, which must be newer than every number here.
    pub(crate) fn push(&mut self, version: u64) {
        debug_assert!(self.last().is_none_or(|last| version > last));
        self.push_run(version, version);
    }

    fn push_run(&mut self, start: u64, end: u64) {
        match self.runs.last_mut() {
            Some(last) if last.end().checked_add(1) == Some(start) => {
                *last = *last.start()..=end;
            }
            _ => self.runs.push(start..=end),
        }
        self.len += usize::try_from(end - start).unwrap_or(usize::MAX) + 1;
    }

    /// Removes `version` if it is here.
    pub(crate) fn remove(&mut self, version: u64) {
        let at = self.runs.partition_point(|r| *r.end() < version);
        let Some(run) = self.runs.get(at).filter(|r| r.contains(&version)).cloned() else {
            return;
        };
        let (start, end) = (*run.start(), *run.end());
        let mut pieces = Vec::with_capacity(2);
        if start < version {
            pieces.push(start..=version - 1);
        }
        if version < end {
            pieces.push(version + 1..=end);
        }
        self.runs.splice(at..=at, pieces);
        self.len -= 1;
    }
}

impl FromIterator<u64> for Versions {
    /// From ascending numbers without duplicates.
    fn from_iter<I: IntoIterator<Item = u64>>(numbers: I) -> Self {
        let mut versions = Self::default();
        for version in numbers {
            versions.push(version);
        }
        versions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_merge_and_split() {
        let mut v: Versions = [1, 2, 3, 5, 7, 8].into_iter().collect();
        assert_eq!(v.runs().collect::<Vec<_>>(), [(1, 3), (5, 5), (7, 8)]);
        assert_eq!(v.len(), 6);
        assert!(v.contains(5) && v.contains(8) && !v.contains(4) && !v.contains(9));
        v.remove(2);
        v.remove(5);
        v.remove(4);
        assert_eq!(v.to_vec(), [1, 3, 7, 8]);
        assert_eq!(v.len(), 4);
        v.push(9);
        assert_eq!(v.runs().collect::<Vec<_>>(), [(1, 1), (3, 3), (7, 9)]);
        assert_eq!(v.iter().rev().take(2).collect::<Vec<_>>(), [9, 8]);
        assert_eq!(v.last(), Some(9));
    }

    #[test]
    fn bad_runs_are_refused() {
        assert!(Versions::from_runs([(0, 3)]).is_none());
        assert!(Versions::from_runs([(3, 1)]).is_none());
        assert!(Versions::from_runs([(1, 3), (3, 4)]).is_none());
        assert!(Versions::from_runs([(5, 6), (1, 2)]).is_none());
        assert!(Versions::from_runs([(1, u64::MAX)]).is_none());
        let v = Versions::from_runs([(1, 100_000)]).unwrap();
        assert_eq!(v.len(), 100_000);
        assert_eq!(v.iter().rev().nth(14), Some(99_986));
    }
}
