//! YAML parse → output conversion → emission, and back: whatever parses must convert or be
//! refused cleanly, and what is emitted must parse back to a value that emits identically.
#![no_main]

use libfuzzer_sys::fuzz_target;
use planton_core::yaml::{emit, parse_stream, to_output};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(docs) = parse_stream(text, "fuzz.yaml") else {
        return;
    };
    for doc in &docs {
        let Ok(out) = to_output(doc) else { continue };
        let first = emit(&out);
        let again = parse_stream(&first, "emitted.yaml").expect("emitted YAML parses");
        let back = match again.first() {
            Some(d) => to_output(d).expect("emitted YAML converts"),
            None => continue,
        };
        assert_eq!(emit(&back), first, "emission is not stable");
    }
});
