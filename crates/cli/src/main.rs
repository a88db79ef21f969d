//! The `weft` command-line tool.
//!
//! It sits at the edge: it parses arguments with `clap`, reports errors with `anyhow` context, and uses only the
//! public `weft`, `weft-wasi`, `weft-wast` and `weft-explorer` APIs.

mod compile;
mod explore;
mod options;
mod profile_report;
mod run;
mod wast;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Weft: a fast, safe WebAssembly runtime.
#[derive(Parser)]
#[command(name = "weft", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a WASI program (binary or .wat) in a sandbox: its `_start`, with the trailing arguments as its argv; or
    /// call the function `--invoke` names.
    ///
    /// Example: weft run --dir . app.wasm input.txt
    /// Example: weft run --invoke add examples/add.wat 2 3
    Run(run::RunCommand),
    /// Compile a module ahead of time into a precompiled artifact (.cwasm) that `weft run --allow-precompiled`
    /// runs without compiling.
    ///
    /// Example: weft compile app.wasm -o app.cwasm
    Compile(compile::CompileCommand),
    /// Run WebAssembly spec test scripts (.wast), printing a line per file and a total.
    ///
    /// Example: weft wast tests/misc/*.wast
    Wast(wast::WastCommand),
    /// Render a profile (the Firefox Profiler's JSON format, as `weft run --profile=guest` writes) as a flame
    /// graph: a standalone SVG to open in any browser.
    ///
    /// Example: weft profile-report weft-guest.json -o flame.svg
    ProfileReport(profile_report::ProfileReportCommand),
    /// Show a module's wasm text and the machine code compiled from it side by side, each machine instruction tied
    /// to the wasm instruction it came from: writes one self-contained HTML page to open in a browser.
    ///
    /// Example: weft explore app.wasm -o explore.html
    Explore(explore::ExploreCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(c) => c.execute(),
        Command::Compile(c) => c.execute(),
        Command::Wast(c) => c.execute(),
        Command::ProfileReport(c) => c.execute(),
        Command::Explore(c) => c.execute(),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
