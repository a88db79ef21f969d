//! `weft compile`: compile a module ahead of time into a precompiled artifact.

use crate::options::CodegenOptions;
use anyhow::{Context as _, Result};
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use weft::{CodeListing, Engine, Module};

/// Options of `weft compile`.
#[derive(Parser)]
#[command(after_help = "Examples:\n  weft compile app.wasm                 # writes app.cwasm\n  \
weft compile app.wasm -o /srv/app.cwasm\n  weft run --allow-precompiled app.cwasm\n  \
weft compile --target aarch64-unknown-linux-gnu app.wasm   # for a 64-bit Arm machine\n  \
weft compile --emit-clif app.clif --emit-asm app.s app.wasm")]
pub struct CompileCommand {
    #[command(flatten)]
    codegen: CodegenOptions,
    /// Where to write the artifact (default: FILE with the extension .cwasm).
    #[arg(short, long, value_name = "OUTPUT")]
    output: Option<PathBuf>,
    /// Also write the Cranelift IR of every function, as translated from wasm, to this file.
    #[arg(long, value_name = "FILE")]
    emit_clif: Option<PathBuf>,
    /// Also write the generated machine code of every function (Cranelift's notation) to this file.
    #[arg(long, value_name = "FILE")]
    emit_asm: Option<PathBuf>,
    /// Compile for this target instead of the host: `aarch64-unknown-linux-gnu` or `x86_64-unknown-linux-gnu` (or
    /// just the architecture). For the other architecture the artifact runs only on a machine of that kind.
    #[arg(long, value_name = "TRIPLE")]
    target: Option<String>,
    /// The module to compile (.wasm binary or .wat text).
    #[arg(value_name = "FILE")]
    module: PathBuf,
}

impl CompileCommand {
    pub fn execute(self) -> Result<ExitCode> {
        self.codegen.wasm.no_limits("compile")?;
        let mut config = self.codegen.config(false, false)?;
        // An explicit compile is for its output; the cache would only hold a second copy of it.
        config.cache_dir(None::<PathBuf>);
        if let Some(target) = &self.target {
            config.target(target)?;
        }
        let engine = Engine::new(&config)?;
        let source = std::fs::read(&self.module).with_context(|| format!("cannot read {}", self.module.display()))?;
        let bytes =
            engine.precompile_module(&source).with_context(|| format!("cannot compile {}", self.module.display()))?;
        for (path, what) in [(&self.emit_clif, CodeListing::Clif), (&self.emit_asm, CodeListing::Asm)] {
            if let Some(path) = path {
                let listing = Module::code_listing(&engine, &source, what)?;
                std::fs::write(path, listing).with_context(|| format!("cannot write {}", path.display()))?;
            }
        }
        let output = self.output.clone().unwrap_or_else(|| self.module.with_extension("cwasm"));
        // Written beside the target and renamed over it, so a running `weft run` that maps the old file keeps it.
        let temp = output.with_extension("cwasm.tmp");
        std::fs::write(&temp, &bytes)
            .and_then(|()| std::fs::rename(&temp, &output))
            .with_context(|| format!("cannot write {}", output.display()))?;
        Ok(ExitCode::SUCCESS)
    }
}
