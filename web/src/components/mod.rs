//! Pure views: each takes its `…Props` and emits callbacks; none touches browser APIs
//! (the editor asks `services::dom` to place its caret).

pub mod diagnostics;
pub mod diff_view;
pub mod editor;
pub mod file_tree;
pub mod manifest_view;
pub mod overlay_select;
pub mod plan_view;
pub mod rendered_view;
pub mod status_bar;
pub mod tabs;
pub mod toolbar;
pub mod yaml_block;
