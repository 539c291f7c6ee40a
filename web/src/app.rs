//! The root component: owns the state, loads the built-in plugins, runs the checks at most
//! once per animation frame, and wires page callbacks to services and actions.

use crate::components::status_bar::StatusBar;
use crate::components::toolbar::Toolbar;
use crate::pages::Handlers;
use crate::pages::welcome::Welcome;
use crate::pages::workspace::Workspace;
use crate::services::plugins::{self, WasmPlugin};
use crate::services::{assets, dom, fs, recovery};
use crate::state::{Action, State};
use crate::zip;
use gloo::render::{AnimationFrame, request_animation_frame};
use planton_core::plugins::Target;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

/// The built-in plugins served with the app (copied next to `index.html` at build time).
const BUILTIN_PLUGINS: &[&str] = &[
    "plugins/planton_plugin_k8s.wasm",
    "plugins/planton_plugin_ecs.wasm",
];

async fn load_plugin(dispatch: UseReducerDispatcher<State>, name: String, bytes: Vec<u8>) {
    dispatch.dispatch(Action::PluginLoaded(
        WasmPlugin::instantiate(&bytes, &name).await,
    ));
}

/// Opens a folder: reads what its `planton.yaml` points at (the groups directory, pinned
/// plugins; `service_files`), loads the pinned plugins, then opens it as one action.
fn open_folder(dispatch: &UseReducerDispatcher<State>, folder: Option<fs::Folder>) {
    let Some(f) = folder else { return };
    if f.files.is_empty() {
        dispatch.dispatch(Action::Notice(format!(
            "{} has no planton.yaml and no _kustomize/ folder",
            f.name
        )));
        return;
    }
    let dispatch = dispatch.clone();
    spawn_local(async move {
        let wanted = crate::service_files::wanted(&f.files);
        let pin_paths: Vec<String> = wanted.plugins.iter().map(|p| p.path.clone()).collect();
        let (more, mut notes) = match fs::read_more(&f, &wanted.dirs, &pin_paths).await {
            Ok(m) => (m, Vec::new()),
            Err(e) => (
                fs::More::default(),
                vec![format!("cannot read what planton.yaml points at: {e}")],
            ),
        };
        for p in &wanted.outside {
            notes.push(format!(
                "planton.yaml names {p}, outside the opened folder: open a folder that holds it to check with it"
            ));
        }
        let (pinned, load_errors) = plugins::load_pinned(&wanted.plugins, &more.bytes).await;
        let mut files = f.files;
        files.extend(more.texts);
        dispatch.dispatch(Action::Open {
            name: f.name,
            files,
            handle: f.handle,
            pinned,
            load_errors,
            notes,
        });
    });
}

/// The callbacks of [`Handlers`] that only dispatch (see their use in [`App`]).
struct Stable {
    select_file: Callback<String>,
    render_image: Callback<String>,
    select_overlay: Callback<String>,
    select_compare: Callback<String>,
    jump: Callback<planton_core::diag::Diagnostic>,
    set_tab: Callback<crate::state::Tab>,
    new_file: Callback<String>,
    new_overlay: Callback<()>,
    rename: Callback<String>,
    delete: Callback<String>,
}

/// The app.
#[function_component(App)]
pub fn app() -> Html {
    let state = use_reducer(State::default);
    let frame: Rc<RefCell<Option<AnimationFrame>>> = use_mut_ref(|| None);

    // Load the built-in plugins once; the first analysis waits for them.
    {
        let dispatch = state.dispatcher();
        use_effect_with((), move |_| {
            recovery::install_handler();
            spawn_local(async move {
                for url in BUILTIN_PLUGINS {
                    match assets::fetch_bytes(url).await {
                        Ok(bytes) => {
                            load_plugin(dispatch.clone(), format!("built-in {url}"), bytes).await
                        }
                        Err(e) => dispatch.dispatch(Action::PluginLoaded(Err(e))),
                    }
                }
                dispatch.dispatch(Action::PluginsReady);
                if let Some(r) = recovery::take_recovered() {
                    dispatch.dispatch(Action::Recovered(r));
                }
            });
        });
    }

    // Debounce: edits mark the state stale; the checks run on the next animation frame.
    {
        let dispatch = state.dispatcher();
        let frame = frame.clone();
        let due = state.stale && state.plugins_ready;
        use_effect_with(due, move |due| {
            if *due && frame.borrow().is_none() {
                let f = frame.clone();
                *frame.borrow_mut() = Some(request_animation_frame(move |_| {
                    f.borrow_mut().take();
                    dispatch.dispatch(Action::Analyze);
                }));
            }
        });
    }

    // The callbacks that only dispatch, made once for the page's life: a component whose
    // other props did not change (the file tree, a list of hundreds of diagnostics) is then
    // not rendered again after an edit.
    let stable = {
        let d = state.dispatcher();
        use_memo((), move |_| {
            let cb = |f: fn(String) -> Action| {
                let d = d.clone();
                Callback::from(move |x: String| d.dispatch(f(x)))
            };
            Stable {
                select_file: cb(Action::SelectFile),
                render_image: cb(Action::SetRenderImage),
                select_overlay: cb(Action::SelectOverlay),
                select_compare: cb(Action::SelectCompare),
                jump: {
                    let d = d.clone();
                    Callback::from(move |diag: planton_core::diag::Diagnostic| {
                        d.dispatch(Action::Jump {
                            file: diag.file,
                            line: diag.line,
                            column: diag.column,
                        })
                    })
                },
                set_tab: {
                    let d = d.clone();
                    Callback::from(move |t| d.dispatch(Action::SetTab(t)))
                },
                new_file: {
                    let d = d.clone();
                    Callback::from(move |dir: String| {
                        if let Some(p) =
                            dom::prompt("New file (path in the service):", &format!("{dir}/"))
                        {
                            d.dispatch(Action::CreateFile(p));
                        }
                    })
                },
                new_overlay: {
                    let d = d.clone();
                    Callback::from(move |_| {
                        if let Some(n) = dom::prompt(
                            "New overlay name (a directory under _kustomize/overlays/):",
                            "",
                        ) {
                            d.dispatch(Action::CreateOverlay(n));
                        }
                    })
                },
                rename: {
                    let d = d.clone();
                    Callback::from(move |from: String| {
                        if let Some(to) = dom::prompt(&format!("Rename {from} to:"), &from)
                            && to != from
                        {
                            d.dispatch(Action::Rename { from, to });
                        }
                    })
                },
                delete: {
                    let d = d.clone();
                    Callback::from(move |path: String| {
                        if dom::confirm(&format!("Delete {path}?")) {
                            d.dispatch(Action::Delete(path));
                        }
                    })
                },
            }
        })
    };
    let d = state.dispatcher();
    let handlers = Handlers {
        pick: {
            let d = d.clone();
            Callback::from(move |_| {
                let d = d.clone();
                spawn_local(async move {
                    match fs::pick_directory().await {
                        Ok(f) => open_folder(&d, f),
                        Err(e) => {
                            d.dispatch(Action::Notice(format!("cannot open the folder: {e}")))
                        }
                    }
                });
            })
        },
        folder_input: {
            let d = d.clone();
            Callback::from(move |files: web_sys::FileList| {
                let d = d.clone();
                spawn_local(async move {
                    match fs::read_input_folder(&files).await {
                        Ok(f) => open_folder(&d, f),
                        Err(e) => {
                            d.dispatch(Action::Notice(format!("cannot read the folder: {e}")))
                        }
                    }
                });
            })
        },
        example: {
            let d = d.clone();
            Callback::from(move |_| d.dispatch(Action::OpenExample))
        },
        save: {
            let d = d.clone();
            let state = state.clone();
            Callback::from(move |_| {
                let Some(svc) = state.service.clone() else {
                    return;
                };
                let d = d.clone();
                let files = svc.files();
                match svc.handle.clone() {
                    Some(h) => spawn_local(async move {
                        let deleted: Vec<String> = svc.deleted.iter().cloned().collect();
                        let r = fs::save_to_folder(&h, &files, &deleted).await;
                        d.dispatch(Action::Saved(
                            r.map(|n| format!("saved {n} file(s) to {}", svc.name)),
                        ));
                    }),
                    None => {
                        let entries: Vec<(String, Vec<u8>)> = files
                            .into_iter()
                            .map(|(p, t)| (format!("{}/{p}", svc.name), t.into_bytes()))
                            .collect();
                        match zip::zip(&entries) {
                            Ok(bytes) => {
                                fs::download(
                                    &format!("{}.zip", svc.name),
                                    &bytes,
                                    "application/zip",
                                );
                                d.dispatch(Action::Saved(Ok(format!(
                                    "downloaded {}.zip",
                                    svc.name
                                ))));
                            }
                            Err(e) => d.dispatch(Action::Saved(Err(format!(
                                "cannot write the zip archive: {e}"
                            )))),
                        }
                    }
                }
            })
        },
        plugin_input: {
            let d = d.clone();
            Callback::from(move |files: web_sys::FileList| {
                let d = d.clone();
                spawn_local(async move {
                    match fs::read_wasm_files(&files).await {
                        Ok(ws) => {
                            for (name, bytes) in ws {
                                load_plugin(d.clone(), name, bytes).await;
                            }
                        }
                        Err(e) => {
                            d.dispatch(Action::Notice(format!("cannot read the plugin: {e}")))
                        }
                    }
                });
            })
        },
        edit: {
            let d = d.clone();
            let file = state.file.clone();
            Callback::from(move |text: String| {
                if let Some(path) = file.clone() {
                    d.dispatch(Action::Edit { path, text });
                }
            })
        },
        select_file: stable.select_file.clone(),
        render_image: stable.render_image.clone(),
        select_overlay: stable.select_overlay.clone(),
        select_compare: stable.select_compare.clone(),
        set_tab: stable.set_tab.clone(),
        jump: stable.jump.clone(),
        new_file: stable.new_file.clone(),
        new_overlay: stable.new_overlay.clone(),
        rename: stable.rename.clone(),
        delete: stable.delete.clone(),
    };

    let ondragover = Callback::from(|e: DragEvent| e.prevent_default());
    let ondrop = {
        let d = d.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            let Some(dt) = e.data_transfer() else { return };
            // Read the drop now: its items are gone once this handler returns.
            let read = fs::read_drop(&dt);
            let d = d.clone();
            spawn_local(async move {
                match read.await {
                    Ok(dropped) => {
                        for (name, bytes) in dropped.wasm {
                            load_plugin(d.clone(), name, bytes).await;
                        }
                        open_folder(&d, dropped.folder);
                    }
                    Err(e) => d.dispatch(Action::Notice(format!("cannot read the drop: {e}"))),
                }
            });
        })
    };

    let can_pick = fs::has_directory_picker();
    let s = &*state;
    let plugins = s
        .plugins
        .all()
        .iter()
        .map(|p| AttrValue::from(format!("{} {}", p.describe().name, p.describe().version)))
        .collect::<Vec<_>>();
    html! {
        <div class="app" {ondragover} {ondrop}>
            <Toolbar service={s.service.as_ref().map(|svc| (AttrValue::from(svc.name.clone()), svc.dirty))}
                can_pick={can_pick} saves_to_folder={s.service.as_ref().is_some_and(|svc| svc.handle.is_some())}
                on_pick={handlers.pick.clone()} on_folder_input={handlers.folder_input.clone()} on_example={handlers.example.clone()}
                on_save={handlers.save.clone()} on_plugin_input={handlers.plugin_input.clone()} />
            if s.service.is_some() {
                <Workspace state={state.clone()} handlers={handlers.clone()} />
            } else {
                <Welcome handlers={handlers.clone()} can_pick={can_pick} />
            }
            <StatusBar notice={s.notice.clone().map(AttrValue::from)} plugins={plugins} ready={s.plugins_ready}
                runs={s.runs} validate_ms={s.analysis.validate_ms} total_ms={s.analysis.total_ms} />
        </div>
    }
}
