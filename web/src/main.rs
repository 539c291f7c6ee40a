//! The planton web editor's entry point: it only mounts [`planton_web::App`].

fn main() {
    yew::Renderer::<planton_web::App>::new().render();
}
