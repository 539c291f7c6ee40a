//! The planton web app's entry point: it only mounts [`planton_web::Root`] (the editor, or
//! the pipelines views under `#/pipelines`).

fn main() {
    yew::Renderer::<planton_web::Root>::new().render();
}
