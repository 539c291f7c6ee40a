//! The bundled example service (`examples/order-api`), embedded at build time by `build.rs`.

include!(concat!(env!("OUT_DIR"), "/example.rs"));

/// The example's name, shown as the service name.
pub const NAME: &str = "order-api";
