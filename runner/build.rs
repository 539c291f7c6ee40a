//! Links the `planton` binary as a position-dependent executable on Linux (`-no-pie`).
//!
//! Why: most `planton build` runs are a few milliseconds, and a position-independent
//! executable of this size starts with the dynamic loader applying ~60,000 relative
//! relocations, which writes (copy-on-write faults) every page of `.data.rel.ro` and `.data`:
//! about 360 of the ~490 page faults of `planton --version` and a millisecond of every run.
//! A position-dependent executable has those addresses fixed at link time, so the loader
//! has nothing to relocate and the pages are read only when used. The code is still compiled
//! position-independent (only the final link changes, so no dependency is rebuilt); shared
//! libraries, heap, stack and mmaps stay randomised. Go binaries such as `kubectl` are linked
//! the same way by default.
//!
//! Only the binary is affected (`rustc-link-arg-bins`); the library, tests and other crates
//! are linked as before.

use std::env;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && target_env == "gnu" {
        println!("cargo::rustc-link-arg-bins=-no-pie");
    }
}
