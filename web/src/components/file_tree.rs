//! The file tree: folders and files of the service, with error/warning counts per file,
//! and buttons to create, rename and delete files and overlays.

use std::collections::BTreeMap;
use std::rc::Rc;
use yew::prelude::*;

/// Props of [`FileTree`].
#[derive(Properties, PartialEq)]
pub struct FileTreeProps {
    /// Service-relative file paths, sorted.
    pub paths: Rc<Vec<String>>,
    /// The file in the editor.
    pub selected: Option<AttrValue>,
    /// `(errors, warnings)` per file.
    pub counts: Rc<BTreeMap<String, (usize, usize)>>,
    /// Open a file.
    pub on_select: Callback<String>,
    /// Create a file (argument: the folder to suggest).
    pub on_new_file: Callback<String>,
    /// Create an overlay.
    pub on_new_overlay: Callback<()>,
    /// Rename a file or folder.
    pub on_rename: Callback<String>,
    /// Delete a file or folder.
    pub on_delete: Callback<String>,
}

/// The file tree.
#[function_component(FileTree)]
pub fn file_tree(props: &FileTreeProps) -> Html {
    let mut rows = Vec::new();
    let mut open_dirs: Vec<String> = Vec::new();
    for path in props.paths.iter() {
        let parts: Vec<&str> = path.split('/').collect();
        for depth in 0..parts.len() - 1 {
            let dir = parts[..=depth].join("/");
            if open_dirs.get(depth) != Some(&dir) {
                open_dirs.truncate(depth);
                open_dirs.push(dir.clone());
                let is_overlay = depth == 2 && parts[1] == "overlays";
                let (on_rename, on_delete, on_new_file) = (
                    props.on_rename.clone(),
                    props.on_delete.clone(),
                    props.on_new_file.clone(),
                );
                let (d1, d2, d3) = (dir.clone(), dir.clone(), dir.clone());
                rows.push(html! {
                    <div class={classes!("dir", is_overlay.then_some("overlay-dir"))} style={format!("padding-left: {}em", depth as f32 * 0.9 + 0.3)}
                        data-testid="dir-entry" data-path={dir.clone()}>
                        <span class="dname">{format!("{}/", parts[depth])}</span>
                        <span class="row-actions">
                            <button class="mini" title="new file here" data-testid="new-file-in" data-path={dir.clone()} onclick={Callback::from(move |_| on_new_file.emit(d3.clone()))}>{"+"}</button>
                            if is_overlay || depth > 0 {
                                <button class="mini" title="rename folder" data-testid="rename-dir" data-path={dir.clone()} onclick={Callback::from(move |_| on_rename.emit(d1.clone()))}>{"ren"}</button>
                                <button class="mini" title="delete folder" data-testid="delete-dir" data-path={dir.clone()} onclick={Callback::from(move |_| on_delete.emit(d2.clone()))}>{"del"}</button>
                            }
                        </span>
                    </div>
                });
            }
        }
        open_dirs.truncate(parts.len() - 1);
        let selected = props.selected.as_deref() == Some(path.as_str());
        let (errors, warnings) = props.counts.get(path).copied().unwrap_or((0, 0));
        let (on_select, on_rename, on_delete) = (
            props.on_select.clone(),
            props.on_rename.clone(),
            props.on_delete.clone(),
        );
        let (p1, p2, p3) = (path.clone(), path.clone(), path.clone());
        rows.push(html! {
            <div class={classes!("file", selected.then_some("selected"))} style={format!("padding-left: {}em", (parts.len() - 1) as f32 * 0.9 + 0.3)}
                data-testid="file-entry" data-path={path.clone()} data-errors={errors.to_string()} data-warnings={warnings.to_string()}
                onclick={Callback::from(move |_| on_select.emit(p1.clone()))}>
                <span class="fname">{parts[parts.len() - 1]}</span>
                if errors > 0 { <span class="badge error" title="errors">{errors}</span> }
                if warnings > 0 { <span class="badge warning" title="warnings">{warnings}</span> }
                <span class="row-actions">
                    <button class="mini" title="rename" data-testid="rename-file" data-path={path.clone()}
                        onclick={Callback::from(move |e: MouseEvent| { e.stop_propagation(); on_rename.emit(p2.clone()) })}>{"ren"}</button>
                    <button class="mini" title="delete" data-testid="delete-file" data-path={path.clone()}
                        onclick={Callback::from(move |e: MouseEvent| { e.stop_propagation(); on_delete.emit(p3.clone()) })}>{"del"}</button>
                </span>
            </div>
        });
    }
    let on_new_file = props.on_new_file.clone();
    let on_new_overlay = props.on_new_overlay.clone();
    html! {
        <nav class="file-tree" data-testid="file-tree">
            <div class="tree-actions">
                <button data-testid="new-file" onclick={Callback::from(move |_| on_new_file.emit("_kustomize".to_string()))}>{"New file"}</button>
                <button data-testid="new-overlay" onclick={Callback::from(move |_| on_new_overlay.emit(()))}>{"New overlay"}</button>
            </div>
            { for rows }
        </nav>
    }
}
