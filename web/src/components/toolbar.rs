//! The top bar: open a folder (picker or upload), open the example, save, add a plugin.

use yew::prelude::*;

/// Props of [`Toolbar`].
#[derive(Properties, PartialEq)]
pub struct ToolbarProps {
    /// The open service's name and whether it has unsaved changes.
    pub service: Option<(AttrValue, bool)>,
    /// Whether the browser has `showDirectoryPicker`.
    pub can_pick: bool,
    /// Whether saving writes back to the folder (else it downloads a zip).
    pub saves_to_folder: bool,
    /// Open a folder with the picker.
    pub on_pick: Callback<()>,
    /// Files from the folder upload input.
    pub on_folder_input: Callback<web_sys::FileList>,
    /// Open the bundled example.
    pub on_example: Callback<()>,
    /// Save.
    pub on_save: Callback<()>,
    /// `.wasm` files from the plugin input.
    pub on_plugin_input: Callback<web_sys::FileList>,
}

fn files_of(e: &Event) -> Option<web_sys::FileList> {
    let input: web_sys::HtmlInputElement = e.target_unchecked_into();

    input.files()
}

/// The toolbar.
#[function_component(Toolbar)]
pub fn toolbar(props: &ToolbarProps) -> Html {
    let on_pick = props.on_pick.clone();
    let on_example = props.on_example.clone();
    let on_save = props.on_save.clone();
    let on_folder = props.on_folder_input.clone();
    let on_plugin = props.on_plugin_input.clone();
    html! {
        <header class="toolbar">
            <span class="brand">{"planton"}</span>
            if let Some((name, dirty)) = &props.service {
                <span class="svc" data-testid="service-name" data-dirty={dirty.to_string()}>{name.clone()}{ if *dirty { " •" } else { "" } }</span>
            }
            <span class="spacer" />
            if props.can_pick {
                <button data-testid="open-folder" onclick={Callback::from(move |_| on_pick.emit(()))}>{"Open folder…"}</button>
            }
            <label class="button" title="upload a service folder">{ if props.can_pick { "Upload folder…" } else { "Open folder…" } }
                <input type="file" data-testid="folder-input" webkitdirectory=true multiple=true hidden=true
                    onchange={Callback::from(move |e: Event| if let Some(f) = files_of(&e) { on_folder.emit(f) })} />
            </label>
            <button data-testid="open-example" onclick={Callback::from(move |_| on_example.emit(()))}>{"Open example"}</button>
            <label class="button" title="add an external target plugin (.wasm)">{"Add plugin…"}
                <input type="file" accept=".wasm" data-testid="plugin-input" multiple=true hidden=true
                    onchange={Callback::from(move |e: Event| if let Some(f) = files_of(&e) { on_plugin.emit(f) })} />
            </label>
            if props.service.is_some() {
                <button data-testid="save" class="primary" onclick={Callback::from(move |_| on_save.emit(()))}>
                    { if props.saves_to_folder { "Save" } else { "Save as zip" } }
                </button>
            }
        </header>
    }
}
