//! `weft explore`: a module's wasm text and machine code side by side, as one HTML page.

use anyhow::{Context as _, Result};
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// Options of `weft explore`.
#[derive(Parser)]
#[command(after_help = "Examples:\n  weft explore app.wasm                 # writes app.explore.html beside it\n  \
weft explore app.wat -o /tmp/app.html")]
pub struct ExploreCommand {
    /// Where to write the page (default: FILE with the extension .explore.html, beside FILE).
    #[arg(short, long, value_name = "OUTPUT")]
    output: Option<PathBuf>,
    /// The module to show (.wasm binary or .wat text).
    #[arg(value_name = "FILE")]
    module: PathBuf,
}

impl ExploreCommand {
    pub fn execute(self) -> Result<ExitCode> {
        let source = std::fs::read(&self.module).with_context(|| format!("cannot read {}", self.module.display()))?;
        let engine = weft_explorer::engine()?;
        let page = weft_explorer::Page::new(&engine, &source)
            .with_context(|| format!("cannot explore {}", self.module.display()))?;
        let output = self.output.clone().unwrap_or_else(|| self.module.with_extension("explore.html"));
        let write = || -> std::io::Result<()> {
            let mut file = std::io::BufWriter::new(std::fs::File::create(&output)?);
            page.write_to(&mut file)?;
            file.into_inner().map_err(|e| e.into_error())?.sync_all()
        };
        write().with_context(|| format!("cannot write {}", output.display()))?;
        Ok(ExitCode::SUCCESS)
    }
}
