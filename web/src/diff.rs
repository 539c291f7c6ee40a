//! A side-by-side line diff of two texts, for comparing two overlays' built manifests: the
//! edit script comes from `similar` (Myers), this module only pairs removed and added lines
//! into rows.
//!
//! It is a view helper: it knows nothing about YAML or overlays.

use similar::{Algorithm, DiffTag, capture_diff_slices};

/// How a row of the side-by-side view differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowKind {
    /// The same line on both sides.
    Same,
    /// A line only on the left.
    Removed,
    /// A line only on the right.
    Added,
    /// A left line replaced by a right line.
    Changed,
}

/// One row: a left line and a right line (1-based numbers), either possibly absent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// How the row differs.
    pub kind: RowKind,
    /// The left line.
    pub left: Option<(usize, String)>,
    /// The right line.
    pub right: Option<(usize, String)>,
}

/// The rows of a side-by-side diff of `a` (left) and `b` (right): runs of removed and
/// added lines between two equal lines are paired row by row (`Changed`), the longer run's
/// rest shown alone.
pub fn side_by_side(a: &str, b: &str) -> Vec<Row> {
    let a: Vec<&str> = a.lines().collect();
    let b: Vec<&str> = b.lines().collect();
    let mut rows = Vec::new();
    let (mut removed, mut added) = (Vec::new(), Vec::new());
    let flush = |rows: &mut Vec<Row>, removed: &mut Vec<usize>, added: &mut Vec<usize>| {
        for k in 0..removed.len().max(added.len()) {
            let left = removed.get(k).map(|&x| (x + 1, a[x].to_string()));
            let right = added.get(k).map(|&y| (y + 1, b[y].to_string()));
            let kind = match (&left, &right) {
                (Some(_), Some(_)) => RowKind::Changed,
                (Some(_), None) => RowKind::Removed,
                _ => RowKind::Added,
            };
            rows.push(Row { kind, left, right });
        }
        removed.clear();
        added.clear();
    };
    for op in capture_diff_slices(Algorithm::Myers, &a, &b) {
        let (tag, old, new) = op.as_tag_tuple();
        match tag {
            DiffTag::Equal => {
                flush(&mut rows, &mut removed, &mut added);
                for (i, j) in old.zip(new) {
                    rows.push(Row {
                        kind: RowKind::Same,
                        left: Some((i + 1, a[i].to_string())),
                        right: Some((j + 1, b[j].to_string())),
                    });
                }
            }
            DiffTag::Delete | DiffTag::Insert | DiffTag::Replace => {
                removed.extend(old);
                added.extend(new);
            }
        }
    }
    flush(&mut rows, &mut removed, &mut added);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_line_is_paired() {
        let rows = side_by_side("a\nb\nc\n", "a\nB\nc\nd\n");
        let kinds: Vec<RowKind> = rows.iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            [
                RowKind::Same,
                RowKind::Changed,
                RowKind::Same,
                RowKind::Added
            ]
        );
        assert_eq!(rows[1].left, Some((2, "b".into())));
        assert_eq!(rows[1].right, Some((2, "B".into())));
    }

    #[test]
    fn every_line_appears_once_on_its_side_in_order() {
        let (a, b) = (
            "k: 1\nx: a\ny: b\nz: c\n",
            "x: a\nnew: 1\nz: C\nz: c\nend: 2\n",
        );
        let rows = side_by_side(a, b);
        let left: Vec<usize> = rows
            .iter()
            .filter_map(|r| r.left.as_ref().map(|l| l.0))
            .collect();
        let right: Vec<usize> = rows
            .iter()
            .filter_map(|r| r.right.as_ref().map(|l| l.0))
            .collect();
        assert_eq!(left, [1, 2, 3, 4]);
        assert_eq!(right, [1, 2, 3, 4, 5]);
        let same: Vec<&str> = rows
            .iter()
            .filter(|r| r.kind == RowKind::Same)
            .map(|r| r.left.as_ref().map(|l| l.1.as_str()).unwrap_or(""))
            .collect();
        assert_eq!(same, ["x: a", "z: c"]);
    }
}
