//! "Did you mean …?" suggestions for misspelt names: the SDK's, the one the plugins' schema
//! checker uses too.

pub use planton_plugin_sdk::suggest::did_you_mean;
