//! The one module that knows the YAML library. serde_yaml is deprecated upstream, so swapping
//! it must touch only this file.
