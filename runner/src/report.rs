//! Machine-readable validation reports: SARIF 2.1.0 and JUnit XML.

use planton_core::diag::{Diagnostic, Severity};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
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

/// JUnit XML (written by `quick-junit`): one test suite, one test case per overlay (plus one
/// for service-wide problems); each error is a line of a `<failure>`, warnings go to
/// `<system-out>`.
pub fn junit(diags: &[Diagnostic], overlays: &[String]) -> anyhow::Result<String> {
    let mut suite = TestSuite::new("planton validate");
    let names = std::iter::once("").chain(overlays.iter().map(String::as_str));
    for name in names {
        let mine = || diags.iter().filter(move |d| d.overlay == name);
        let lines = |severity: Severity| {
            mine()
                .filter(|d| d.severity == severity)
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
        };
        let (errors, warnings) = (lines(Severity::Error), lines(Severity::Warning));
        let status = if errors.is_empty() {
            TestCaseStatus::success()
        } else {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(format!("{} error(s)", errors.len()))
                .set_type("validation")
                .set_description(errors.join("\n"));
            s
        };
        let case_name = if name.is_empty() {
            "service".to_string()
        } else {
            format!("overlay {name}")
        };
        let mut case = TestCase::new(case_name, status);
        case.set_classname("planton.validate");
        if !warnings.is_empty() {
            case.set_system_out(warnings.join("\n"));
        }
        suite.add_test_case(case);
    }
    let mut report = Report::new("planton validate");
    report.add_test_suite(suite);
    Ok(report.to_string()?)
}
