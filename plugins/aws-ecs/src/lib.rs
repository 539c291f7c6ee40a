//! The AwsEcsService target plugin.
