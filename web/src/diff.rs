//! A side-by-side line diff of two texts (longest common subsequence, with the common prefix
//! and suffix trimmed first), for comparing two overlays' built manifests.
//!
//! It is a view helper: it knows nothing about YAML or overlays.

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

/// Above this many LCS cells the middle is shown as one replaced block instead.
const MAX_CELLS: usize = 16_000_000;

/// The rows of a side-by-side diff of `a` (left) and `b` (right).
pub fn side_by_side(a: &str, b: &str) -> Vec<Row> {
    let a: Vec<&str> = a.lines().collect();
    let b: Vec<&str> = b.lines().collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (am, bm) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut rows = Vec::new();
    for (i, line) in a.iter().enumerate().take(prefix) {
        rows.push(same(i, i, line));
    }
    let ops = middle(am, bm);
    let (mut i, mut j) = (prefix, prefix);
    let mut removed: Vec<usize> = Vec::new();
    let mut added: Vec<usize> = Vec::new();
    let flush = |rows: &mut Vec<Row>, removed: &mut Vec<usize>, added: &mut Vec<usize>| {
        let n = removed.len().max(added.len());
        for k in 0..n {
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
    for op in ops {
        match op {
            Op::Same => {
                flush(&mut rows, &mut removed, &mut added);
                rows.push(same(i, j, a[i]));
                i += 1;
                j += 1;
            }
            Op::Del => {
                removed.push(i);
                i += 1;
            }
            Op::Add => {
                added.push(j);
                j += 1;
            }
        }
    }
    flush(&mut rows, &mut removed, &mut added);
    for k in 0..suffix {
        rows.push(same(
            a.len() - suffix + k,
            b.len() - suffix + k,
            a[a.len() - suffix + k],
        ));
    }
    rows
}

fn same(i: usize, j: usize, line: &str) -> Row {
    Row {
        kind: RowKind::Same,
        left: Some((i + 1, line.to_string())),
        right: Some((j + 1, line.to_string())),
    }
}

enum Op {
    Same,
    Del,
    Add,
}

fn middle(a: &[&str], b: &[&str]) -> Vec<Op> {
    let (n, m) = (a.len(), b.len());
    if n.saturating_mul(m) > MAX_CELLS {
        return (0..n)
            .map(|_| Op::Del)
            .chain((0..m).map(|_| Op::Add))
            .collect();
    }
    // lcs[i][j] = LCS length of a[i..] and b[j..].
    let w = m + 1;
    let mut lcs = vec![0u32; (n + 1) * w];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i * w + j] = if a[i] == b[j] {
                lcs[(i + 1) * w + j + 1] + 1
            } else {
                lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut ops = Vec::with_capacity(n + m);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push(Op::Same);
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i * w + j + 1] >= lcs[(i + 1) * w + j]) {
            ops.push(Op::Add);
            j += 1;
        } else {
            ops.push(Op::Del);
            i += 1;
        }
    }
    ops
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
}
