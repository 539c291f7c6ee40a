//! The `planton` command line.
fn main() {}
