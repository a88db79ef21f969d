//! `weft compile`: compile a module ahead of time into a precompiled artifact.

use crate::options::CodegenOptions;
use anyhow::{Context as _, Result};
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use weft::{Engine, Module};

/// Options of `weft compile`.
#[derive(Parser)]
#[command(after_help = "Examples:\n  weft compile app.wasm                 # writes app.cwasm\n  \
weft compile app.wasm -o /srv/app.cwasm\n  weft run --allow-precompiled app.cwasm")]
pub struct CompileCommand {
    #[command(flatten)]
    codegen: CodegenOptions,
    /// Where to write the artifact (default: FILE with the extension .cwasm).
    #[arg(short, long, value_name = "OUTPUT")]
    output: Option<PathBuf>,
    /// The module to compile (.wasm binary or .wat text).
    #[arg(value_name = "FILE")]
    module: PathBuf,
}

impl CompileCommand {
    pub fn execute(self) -> Result<ExitCode> {
        let mut config = self.codegen.config(false, false);
        // An explicit compile is for its output; the cache would only hold a second copy of it.
        config.cache_dir(None::<PathBuf>);
        let engine = Engine::new(&config)?;
        let module = Module::from_file(&engine, &self.module)?;
        let bytes = module.serialize()?;
        let output = self.output.clone().unwrap_or_else(|| self.module.with_extension("cwasm"));
        // Written beside the target and renamed over it, so a running `weft run` that maps the old file keeps it.
        let temp = output.with_extension("cwasm.tmp");
        std::fs::write(&temp, &bytes)
            .and_then(|()| std::fs::rename(&temp, &output))
            .with_context(|| format!("cannot write {}", output.display()))?;
        Ok(ExitCode::SUCCESS)
    }
}
