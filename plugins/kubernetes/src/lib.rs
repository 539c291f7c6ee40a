//! The MicroserviceKubernetes target plugin.
