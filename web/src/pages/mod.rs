//! Pages: the welcome screen (no service open) and the workspace (a service open).
//! Pure views of the state; every action goes through [`Handlers`].

pub mod welcome;
pub mod workspace;

use crate::state::Tab;
use planton_core::diag::Diagnostic;
use yew::Callback;

/// Every callback the pages emit; the app wires them to services and actions.
#[derive(Clone, PartialEq)]
pub struct Handlers {
    /// Open a folder with `showDirectoryPicker`.
    pub pick: Callback<()>,
    /// Files from the folder upload input.
    pub folder_input: Callback<web_sys::FileList>,
    /// Open the bundled example.
    pub example: Callback<()>,
    /// Save.
    pub save: Callback<()>,
    /// `.wasm` files from the plugin input.
    pub plugin_input: Callback<web_sys::FileList>,
    /// New text of the file in the editor.
    pub edit: Callback<String>,
    /// Open a file.
    pub select_file: Callback<String>,
    /// Select the overlay.
    pub select_overlay: Callback<String>,
    /// Select the compared overlay.
    pub select_compare: Callback<String>,
    /// Switch the lower pane.
    pub set_tab: Callback<Tab>,
    /// Set the image used to render.
    pub render_image: Callback<String>,
    /// Jump to a diagnostic.
    pub jump: Callback<Diagnostic>,
    /// Create a file (suggested folder).
    pub new_file: Callback<String>,
    /// Create an overlay.
    pub new_overlay: Callback<()>,
    /// Rename a file or folder.
    pub rename: Callback<String>,
    /// Delete a file or folder.
    pub delete: Callback<String>,
}
