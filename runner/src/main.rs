//! The `planton` command line. Parses arguments, runs the command, maps the outcome to an
//! exit status (0 ok, 1 problems found, 2 could not run, 3 a pipeline
//! stopped at a manual gate) and prints errors with context.

use clap::Parser;

/// Builds allocate and free many small nodes; mimalloc does that markedly faster than the
/// system allocator (the `wide` benchmark spent a quarter of its instructions in malloc/free).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use planton_runner::cli::{Args, Command};
use planton_runner::commands::{self, Outcome};

fn main() {
    let args = Args::parse();
    let result = match &args.command {
        Command::Build(a) => commands::build::run(a),
        Command::Validate(a) => commands::validate::validate_cmd(a),
        Command::Plan(a) => commands::validate::plan_cmd(a),
        Command::Schema(a) => commands::schema::run(a),
        Command::Render(a) => commands::render::run(a),
        Command::Plugin(a) => commands::render::plugin(a),
        Command::Service(c) => commands::service::run(c),
        Command::Deploy(a) => commands::deploy::deploy(a),
        Command::Diff(a) => commands::deploy::diff(a),
        Command::Status(a) => commands::deploy::status(a),
        Command::Rollback(a) => commands::deploy::rollback(a),
        Command::Pipeline(c) => commands::pipeline::run(c),
        Command::Approve(a) => commands::pipeline::approve(a),
        Command::Reject(a) => commands::pipeline::reject(a),
        Command::Runs(a) => commands::pipeline::runs(a),
        Command::Logs(a) => commands::pipeline::logs(a),
        Command::Serve(a) => commands::serve::run(a),
    };
    let outcome = match result {
        Ok(o) => o,
        Err(e) => {
            eprintln!("Error: {e:#}");
            Outcome::CouldNotRun
        }
    };
    std::process::exit(outcome.code());
}
