//! `weft profile-report`: a flame graph (standalone SVG) from a profile in the Firefox Profiler's processed format,
//! such as `weft run --profile=guest` writes.

use anyhow::{Context as _, Result, bail};
use clap::Args;
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct ProfileReportCommand {
    /// The profile (JSON, the Firefox Profiler's processed format).
    profile: PathBuf,
    /// Where to write the flame graph (default: the profile's path with .svg).
    #[arg(short = 'o', long = "output", value_name = "SVG")]
    output: Option<PathBuf>,
}

impl ProfileReportCommand {
    pub fn execute(self) -> Result<ExitCode> {
        let text =
            std::fs::read_to_string(&self.profile).with_context(|| format!("reading {}", self.profile.display()))?;
        let stacks =
            profile_stacks(&text).with_context(|| format!("{} is not a usable profile", self.profile.display()))?;
        let title = format!("{} (flame graph)", self.profile.display());
        let svg = weft::render_flame_graph(&title, &stacks);
        let output = self.output.unwrap_or_else(|| self.profile.with_extension("svg"));
        std::fs::write(&output, svg).with_context(|| format!("writing {}", output.display()))?;
        let total: u64 = stacks.iter().map(|(_, w)| w).sum();
        eprintln!("weft: flame graph of {total} samples' weight in {}", output.display());
        Ok(ExitCode::SUCCESS)
    }
}

/// The sampled stacks of every thread of a processed profile, outermost frame first, each with its total weight.
fn profile_stacks(text: &str) -> Result<Vec<(Vec<String>, u64)>> {
    let profile: Value = serde_json::from_str(text).context("not JSON")?;
    let threads = profile["threads"].as_array().context("no `threads` array")?;
    // Newer versions of the format keep one string table for all threads, in `shared`.
    let shared_strings = profile["shared"]["stringArray"].as_array();
    let mut weights: HashMap<Vec<String>, u64> = HashMap::new();
    for (t, thread) in threads.iter().enumerate() {
        let strings = thread["stringArray"]
            .as_array()
            .or(shared_strings)
            .with_context(|| format!("thread {t} has no string table"))?;
        let column = |table: &str, name: &str| -> Result<Vec<Option<u64>>> {
            let values = thread[table][name].as_array().with_context(|| format!("thread {t}: no {table}.{name}"))?;
            Ok(values.iter().map(Value::as_u64).collect())
        };
        let func_names = column("funcTable", "name")?;
        let frame_funcs = column("frameTable", "func")?;
        let stack_frames = column("stackTable", "frame")?;
        let stack_prefixes = column("stackTable", "prefix")?;
        let sample_stacks = column("samples", "stack")?;
        let sample_weights = thread["samples"]["weight"].as_array();
        let name_of_frame = |frame: u64| -> Result<String> {
            let func = frame_funcs.get(frame as usize).copied().flatten().context("a frame without a function")?;
            let name = func_names.get(func as usize).copied().flatten().context("a function without a name")?;
            Ok(strings
                .get(name as usize)
                .and_then(Value::as_str)
                .context("a name outside the string table")?
                .to_string())
        };
        for (i, stack) in sample_stacks.iter().enumerate() {
            let weight = match sample_weights {
                Some(w) => w.get(i).and_then(Value::as_i64).unwrap_or(1).max(0) as u64,
                None => 1,
            };
            let mut names = Vec::new();
            let mut at = *stack;
            while let Some(index) = at {
                if names.len() > stack_frames.len() {
                    bail!("thread {t}: the stack table has a cycle");
                }
                let frame = stack_frames.get(index as usize).copied().flatten().context("a stack without a frame")?;
                names.push(name_of_frame(frame)?);
                at = stack_prefixes.get(index as usize).copied().flatten();
            }
            names.reverse();
            *weights.entry(names).or_default() += weight;
        }
    }
    let mut stacks: Vec<(Vec<String>, u64)> = weights.into_iter().collect();
    stacks.sort();
    Ok(stacks)
}
