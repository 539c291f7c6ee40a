//! Kubernetes resource quantities (`500m`, `2`, `0.5`, `2Gi`, `1e3`), parsed for comparison.
//!
//! Only what validation needs: turning a quantity into a number of base units so that a
//! request can be compared with a limit. Not a full `resource.Quantity` (no canonical
//! formatting, no exact arithmetic): `f64` is precise enough for ordering real quantities.

/// The value of a quantity in base units (cores, bytes), or `None` when it is not a quantity.
pub fn parse(q: &str) -> Option<f64> {
    let q = q.trim().strip_prefix('+').unwrap_or(q.trim());
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(q.len());
    let (number, suffix) = q.split_at(split);
    if number.is_empty() || number == "." || number.matches('.').count() > 1 {
        return None;
    }
    let base: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exp if exp.starts_with(['e', 'E']) => 10f64.powi(exp[1..].parse::<i32>().ok()?),
        _ => return None,
    };
    Some(base * factor)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn parses_decimal_binary_and_exponent_forms() {
        assert_eq!(parse("500m"), Some(0.5));
        assert_eq!(parse("2"), Some(2.0));
        assert_eq!(parse("2000m"), Some(2.0));
        assert_eq!(parse("2Gi"), Some(2.0 * 1024.0 * 1024.0 * 1024.0));
        assert_eq!(parse("1e3"), Some(1000.0));
        assert_eq!(parse("0.5"), Some(0.5));
        assert!(parse("100Mi") < parse("1G"));
        assert_eq!(parse("2 cores"), None);
        assert_eq!(parse("Gi"), None);
        assert_eq!(parse("1.2.3"), None);
    }
}
