//! "Did you mean …?": the one suggestion for misspelt names, used by the schema checker,
//! the reference grammar and planton-core (field names of kustomizations and `planton.yaml`).

/// The closest of `candidates` to `word`, if it is a plausible typo of it.
///
/// Matches case-insensitively, treats `snake_case` and `kebab-case` as the camelCase name
/// (`max_replicas` → `maxReplicas`) and otherwise uses Jaro-Winkler similarity above 0.85.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lowered = word.to_lowercase();
    let squashed: String = lowered.chars().filter(|c| *c != '_' && *c != '-').collect();
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let cl = c.to_lowercase();
        let score = if cl == squashed {
            2.0
        } else {
            strsim::jaro_winkler(&lowered, &cl)
        };
        if score > 0.85 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn suggests_close_names_only() {
        let fields = ["maxReplicas", "minReplicas", "patches", "resources"];
        assert_eq!(did_you_mean("maxReplica", fields), Some("maxReplicas"));
        assert_eq!(did_you_mean("patchs", fields), Some("patches"));
        assert_eq!(did_you_mean("max_replicas", fields), Some("maxReplicas"));
        assert_eq!(did_you_mean("zzz", fields), None);
    }
}
