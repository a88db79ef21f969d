//! `weft wast`: run spec scripts.

use anyhow::Result;
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// Options of `weft wast`.
#[derive(Parser)]
pub struct WastCommand {
    /// The .wast scripts to run.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Print every failing directive, not only the per-file counts.
    #[arg(short, long)]
    verbose: bool,
}

impl WastCommand {
    pub fn execute(self) -> Result<ExitCode> {
        let engine = weft::Engine::default();
        let (mut passed, mut failed) = (0, 0);
        for file in &self.files {
            let mut cx = weft_wast::WastContext::new(&engine)?;
            match cx.run_file(file) {
                Ok(outcome) => {
                    println!("{}: {} passed, {} failed", file.display(), outcome.passed, outcome.failed());
                    if self.verbose {
                        for f in &outcome.failures {
                            println!("  {f}");
                        }
                    }
                    passed += outcome.passed;
                    failed += outcome.failed();
                }
                Err(e) => {
                    println!("{}: cannot run: {e:#}", file.display());
                    failed += 1;
                }
            }
        }
        println!("{passed} passed, {failed} failed");
        Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    }
}
