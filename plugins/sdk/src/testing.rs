//! Test support for plugin authors: data-driven rule cases over JSON Pointers.
//!
//! A rules file (`testdata/rules.json` in each plugin) holds a valid `base` manifest and
//! `cases`, each applying `set` (JSON Pointer → value; missing objects are created) and
//! `remove` (pointers) to the base, validating with `local` (default false), and expecting
//! exactly the listed `[code, path]` diagnostics in order. [`check_rules`] runs them all and
//! reports every mismatch; [`rule_cases`] gives the cases to other harnesses (the
//! workspace's end-to-end position tests reuse them).
//! Pure data manipulation: usable natively and on wasm32 alike.

use crate::{Plugin, ValidateRequest};
use serde_json::Value;

fn tokens(ptr: &str) -> Vec<String> {
    ptr.split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// Sets `ptr` to `value`, creating missing objects (and appending at index == len).
/// Returns false when the pointer runs through a scalar or past the end of an array.
pub fn set(doc: &mut Value, ptr: &str, value: Value) -> bool {
    let tokens = tokens(ptr);
    let Some((last, parents)) = tokens.split_last() else {
        *doc = value;
        return true;
    };
    let mut cur = doc;
    for t in parents {
        if cur.is_null() {
            *cur = Value::Object(Default::default());
        }
        cur = match cur {
            Value::Object(o) => o.entry(t.clone()).or_insert(Value::Null),
            Value::Array(a) => match t.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    if cur.is_null() {
        *cur = Value::Object(Default::default());
    }
    match cur {
        Value::Object(o) => {
            o.insert(last.clone(), value);
            true
        }
        Value::Array(a) => match last.parse::<usize>() {
            Ok(i) if i < a.len() => {
                a[i] = value;
                true
            }
            Ok(i) if i == a.len() => {
                a.push(value);
                true
            }
            _ => false,
        },
        _ => false,
    }
}

/// Removes the value at `ptr`; returns whether something was removed.
pub fn remove(doc: &mut Value, ptr: &str) -> bool {
    let Some((parent, last)) = ptr.rsplit_once('/') else {
        return false;
    };
    let last = last.replace("~1", "/").replace("~0", "~");
    match doc.pointer_mut(parent) {
        Some(Value::Object(o)) => o.shift_remove(&last).is_some(),
        Some(Value::Array(a)) => match last.parse::<usize>() {
            Ok(i) if i < a.len() => {
                a.remove(i);
                true
            }
            _ => false,
        },
        _ => false,
    }
}

/// One rule case, with its manifest already built.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleCase {
    /// What the case checks.
    pub name: String,
    /// The base with `set`/`remove` applied.
    pub manifest: Value,
    /// Validate as the `local` overlay.
    pub local: bool,
    /// The pointers and values the case sets, in file order.
    pub set: Vec<(String, Value)>,
    /// The pointers the case removes.
    pub remove: Vec<String>,
    /// The expected `(code, path)` diagnostics, in order.
    pub expect: Vec<(String, String)>,
}

/// Reads a rules file into cases (and the base manifest).
pub fn rule_cases(rules_json: &str) -> Result<(Value, Vec<RuleCase>), String> {
    let rules: Value =
        serde_json::from_str(rules_json).map_err(|e| format!("rules file is not JSON: {e}"))?;
    let base = rules
        .get("base")
        .cloned()
        .ok_or("rules file has no `base`")?;
    let mut out = Vec::new();
    for case in rules
        .get("cases")
        .and_then(Value::as_array)
        .ok_or("rules file has no `cases` list")?
    {
        let name = case
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        let set: Vec<(String, Value)> = case
            .get("set")
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let remove: Vec<String> = case
            .get("remove")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let mut manifest = base.clone();
        for p in &remove {
            if !self::remove(&mut manifest, p) {
                return Err(format!("{name}: cannot remove {p}"));
            }
        }
        for (p, v) in &set {
            if !self::set(&mut manifest, p, v.clone()) {
                return Err(format!("{name}: cannot set {p}"));
            }
        }
        let expect = case
            .get("expect")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|p| {
                        (
                            p[0].as_str().unwrap_or("").to_string(),
                            p[1].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let local = case.get("local").and_then(Value::as_bool).unwrap_or(false);
        out.push(RuleCase {
            name,
            manifest,
            local,
            set,
            remove,
            expect,
        });
    }
    Ok((base, out))
}

/// Runs every case of a rules file through `P::validate`; returns one message per case
/// whose diagnostics differ from the expected ones (empty when all pass).
pub fn check_rules<P: Plugin>(rules_json: &str) -> Vec<String> {
    let cases = match rule_cases(rules_json) {
        Ok((_, c)) => c,
        Err(e) => return vec![e],
    };
    let mut failures = Vec::new();
    for case in cases {
        let res = P::validate(ValidateRequest {
            manifest: case.manifest,
            overlay: "test".into(),
            local: case.local,
        });
        let got: Vec<(String, String)> = res
            .diagnostics
            .iter()
            .map(|d| (d.code.clone(), d.path.clone()))
            .collect();
        if got != case.expect {
            failures.push(format!(
                "{}:\n  want {:?}\n  got  {got:?}\n  {:#?}",
                case.name, case.expect, res.diagnostics
            ));
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn set_creates_objects_and_appends() {
        let mut doc = json!({"a": [1]});
        assert!(set(&mut doc, "/b/c~1d", json!(2)));
        assert!(set(&mut doc, "/a/1", json!(3)));
        assert!(!set(&mut doc, "/a/5", json!(4)));
        assert_eq!(doc, json!({"a": [1, 3], "b": {"c/d": 2}}));
        assert!(remove(&mut doc, "/a/0"));
        assert!(!remove(&mut doc, "/zz"));
        assert_eq!(doc, json!({"a": [3], "b": {"c/d": 2}}));
    }
}

/// Golden render files, for plugin test suites (needs the `testing` feature: it reads files).
#[cfg(feature = "testing")]
pub mod golden {
    use crate::{DeployContext, Plugin, RenderRequest};
    use serde_json::Value;
    use std::path::{Path, PathBuf};

    fn read_json(p: &Path) -> Result<Value, String> {
        let text =
            std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))
    }

    /// A render request from a test input: `{"manifest": <object or fixture name under
    /// testdata/manifests/>, "context": <DeployContext>}`.
    pub fn request(testdata: &Path, input: &Value) -> Result<RenderRequest, String> {
        let manifest = match &input["manifest"] {
            Value::String(name) => {
                read_json(&testdata.join("manifests").join(format!("{name}.json")))?
            }
            other => other.clone(),
        };
        let context: DeployContext = serde_json::from_value(input["context"].clone())
            .map_err(|e| format!("bad context: {e}"))?;
        Ok(RenderRequest { manifest, context })
    }

    /// Validates every `testdata/manifests/*.json` (a `*local*` file as the `local`
    /// overlay) and expects no diagnostic at all; at least `min_files` must exist.
    /// Returns one message per problem (empty when all are clean).
    pub fn check_clean_manifests<P: Plugin>(testdata: &Path, min_files: usize) -> Vec<String> {
        let dir = testdata.join("manifests");
        let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
            Ok(rd) => rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect(),
            Err(e) => return vec![format!("cannot list {}: {e}", dir.display())],
        };
        files.sort();
        if files.len() < min_files {
            return vec![format!(
                "fixtures missing under {}: {files:?}",
                dir.display()
            )];
        }
        let mut failures = Vec::new();
        for f in files {
            let manifest = match read_json(&f) {
                Ok(m) => m,
                Err(e) => {
                    failures.push(e);
                    continue;
                }
            };
            let local = f.to_string_lossy().contains("local");
            let overlay = if local { "local" } else { "prod" };
            let res = P::validate(crate::ValidateRequest {
                manifest,
                overlay: overlay.into(),
                local,
            });
            if !res.diagnostics.is_empty() {
                failures.push(format!("{}: {:#?}", f.display(), res.diagnostics));
            }
        }
        failures
    }

    /// Renders every `testdata/render/<case>.input.json` twice (it must be deterministic)
    /// and compares with `<case>.golden.json`; with `UPDATE_GOLDEN` set, rewrites the golden
    /// files instead. Returns one message per problem (empty when all match).
    pub fn check<P: Plugin>(testdata: &Path) -> Vec<String> {
        let render_dir = testdata.join("render");
        let mut inputs: Vec<PathBuf> = match std::fs::read_dir(&render_dir) {
            Ok(rd) => rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().ends_with(".input.json"))
                .collect(),
            Err(e) => return vec![format!("cannot list {}: {e}", render_dir.display())],
        };
        inputs.sort();
        if inputs.is_empty() {
            return vec![format!("no *.input.json under {}", render_dir.display())];
        }
        let update = std::env::var_os("UPDATE_GOLDEN").is_some();
        let mut failures = Vec::new();
        for input_path in inputs {
            let req = match read_json(&input_path).and_then(|i| request(testdata, &i)) {
                Ok(r) => r,
                Err(e) => {
                    failures.push(e);
                    continue;
                }
            };
            let (first, again) = (P::render(req.clone()), P::render(req));
            let first = match (first, again) {
                (Ok(a), Ok(b)) if a == b => a,
                (Ok(_), Ok(_)) => {
                    failures.push(format!(
                        "{}: render is not deterministic",
                        input_path.display()
                    ));
                    continue;
                }
                (Err(e), _) | (_, Err(e)) => {
                    failures.push(format!("{}: {e}", input_path.display()));
                    continue;
                }
            };
            let text = serde_json::to_string_pretty(first.items()).unwrap_or_default() + "\n";
            let golden = PathBuf::from(
                input_path
                    .to_string_lossy()
                    .replace(".input.json", ".golden.json"),
            );
            if update {
                if let Err(e) = std::fs::write(&golden, &text) {
                    failures.push(format!("cannot write {}: {e}", golden.display()));
                }
            } else if std::fs::read_to_string(&golden).ok().as_deref() != Some(text.as_str()) {
                failures.push(format!(
                    "{} differs from {}:\n{text}",
                    input_path.display(),
                    golden.display()
                ));
            }
        }
        failures
    }
}
