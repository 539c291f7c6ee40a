//! Machine-readable validation reports: SARIF 2.1.0 and JUnit XML.

use planton_core::diag::{Diagnostic, Severity};
use serde_json::{Value, json};

/// A SARIF 2.1.0 log with one run and one result per diagnostic.
pub fn sarif(diags: &[Diagnostic]) -> Value {
    let mut rules: Vec<&str> = diags.iter().map(|d| d.code.as_str()).collect();
    rules.sort();
    rules.dedup();
    let results: Vec<Value> = diags
        .iter()
        .map(|d| {
            let mut r = json!({
                "ruleId": d.code,
                "level": match d.severity { Severity::Error => "error", Severity::Warning => "warning" },
                "message": { "text": d.message },
            });
            if !d.file.is_empty() {
                let mut region = serde_json::Map::new();
                if d.line > 0 {
                    region.insert("startLine".into(), json!(d.line));
                    if d.column > 0 {
                        region.insert("startColumn".into(), json!(d.column));
                    }
                }
                let mut phys = json!({ "artifactLocation": { "uri": d.file } });
                if !region.is_empty() {
                    phys["region"] = Value::Object(region);
                }
                r["locations"] = json!([{ "physicalLocation": phys }]);
            }
            let mut props = serde_json::Map::new();
            if !d.overlay.is_empty() {
                props.insert("overlay".into(), json!(d.overlay));
            }
            if !d.path.is_empty() {
                props.insert("path".into(), json!(d.path));
            }
            if !props.is_empty() {
                r["properties"] = Value::Object(props);
            }
            r
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "planton",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/planton/planton",
                "rules": rules.iter().map(|r| json!({ "id": r })).collect::<Vec<_>>(),
            }},
            "results": results,
        }],
    })
}

fn xml_escape(s: &str) -> String {
    s.chars()
        .filter(|c| {
            matches!(c, '\t' | '\n' | '\r') || (*c >= ' ' && *c != '\u{FFFE}' && *c != '\u{FFFF}')
        })
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&apos;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// JUnit XML: one test suite, one test case per overlay (plus one for service-wide
/// problems); each error is a `<failure>`, warnings go to `<system-out>`.
pub fn junit(diags: &[Diagnostic], overlays: &[String]) -> String {
    let mut names: Vec<String> = vec![String::new()];
    names.extend(overlays.iter().cloned());
    let mut cases = String::new();
    let mut failures = 0;
    for name in &names {
        let mine: Vec<&Diagnostic> = diags.iter().filter(|d| &d.overlay == name).collect();
        let case_name = if name.is_empty() {
            "service".to_string()
        } else {
            format!("overlay {name}")
        };
        cases.push_str(&format!(
            "    <testcase classname=\"planton.validate\" name=\"{}\">\n",
            xml_escape(&case_name)
        ));
        let errors: Vec<&&Diagnostic> = mine
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .collect();
        if !errors.is_empty() {
            failures += 1;
            let body: Vec<String> = errors.iter().map(|d| xml_escape(&d.to_string())).collect();
            cases.push_str(&format!(
                "      <failure message=\"{} error(s)\" type=\"validation\">{}</failure>\n",
                errors.len(),
                body.join("\n")
            ));
        }
        let warnings: Vec<String> = mine
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .map(|d| xml_escape(&d.to_string()))
            .collect();
        if !warnings.is_empty() {
            cases.push_str(&format!(
                "      <system-out>{}</system-out>\n",
                warnings.join("\n")
            ));
        }
        cases.push_str("    </testcase>\n");
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"planton validate\" tests=\"{n}\" failures=\"{failures}\">\n  <testsuite name=\"planton validate\" tests=\"{n}\" failures=\"{failures}\" errors=\"0\">\n{cases}  </testsuite>\n</testsuites>\n",
        n = names.len()
    )
}
