//! The plugin SDK: contract types and the WebAssembly ABI glue for target plugins.
