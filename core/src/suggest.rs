//! "Did you mean …?" suggestions for misspelt names.

/// The candidate closest to `word`, if it is close enough to be a plausible typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(&word.to_lowercase(), &c.to_lowercase());
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
        assert_eq!(did_you_mean("zzz", fields), None);
    }
}
