//! The `weft` command-line tool.
//!
//! It sits at the edge: it parses arguments with `clap`, reports errors with `anyhow` context, and uses only the
//! public `weft`, `weft-wasi` and `weft-wast` APIs.

mod compile;
mod options;
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(c) => c.execute(),
        Command::Compile(c) => c.execute(),
        Command::Wast(c) => c.execute(),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
