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
    #[command(flatten)]
    wasm: crate::options::WasmOptions,
}

impl WastCommand {
    pub fn execute(self) -> Result<ExitCode> {
        let mut config = weft::Config::new();
        self.wasm.no_limits("wast")?;
        self.wasm.apply(&mut config);
        let engine = weft::Engine::new(&config)?;
        let (mut passed, mut failed, mut skipped) = (0, 0, 0);
        for file in &self.files {
            let mut cx = weft_wast::WastContext::new(&engine)?;
            match cx.run_file(file) {
                Ok(outcome) => {
                    let counts = counts(outcome.passed, outcome.failed(), outcome.skipped.len());
                    println!("{}: {counts}", file.display());
                    if self.verbose {
                        for f in &outcome.failures {
                            println!("  {f}");
                        }
                        for (f, deviation) in &outcome.skipped {
                            println!("  skipped {}:{}: {}", f.file, f.line, deviation.reason);
                        }
                    }
                    passed += outcome.passed;
                    failed += outcome.failed();
                    skipped += outcome.skipped.len();
                }
                Err(e) => {
                    println!("{}: cannot run: {e:#}", file.display());
                    failed += 1;
                }
            }
        }
        println!("{}", counts(passed, failed, skipped));
        if skipped > 0 && !self.verbose {
            println!("(skipped: directives of the spec suite that test other proposals; --verbose lists them)");
        }
        Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    }
}

fn counts(passed: usize, failed: usize, skipped: usize) -> String {
    let mut text = format!("{passed} passed, {failed} failed");
    if skipped > 0 {
        text.push_str(&format!(", {skipped} skipped"));
    }
    text
}
