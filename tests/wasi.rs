//! WASI preview1: C programs built by `tests/wasi/build.sh` (committed .wasm), and WAT for edge cases a C
//! compiler will not produce.

use std::path::{Path, PathBuf};
use weft::{Engine, Linker, Module, Store};
use weft_wasi::{DirPerms, I32Exit, OutputBuffer, WasiCtx, WasiCtxBuilder};

fn program(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/wasi").join(format!("{name}.wasm"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("weft-wasi-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `_start` of `wasm` with the context `builder` describes; returns (exit status, stdout).
fn run(wasm: &[u8], builder: &mut WasiCtxBuilder) -> (i32, String) {
    let stdout = OutputBuffer::new();
    builder.stdout(stdout.clone());
    let engine = Engine::default();
    let module = Module::new(&engine, wasm).unwrap();
    let mut store = Store::new(&engine, builder.build());
    let mut linker: Linker<WasiCtx> = Linker::new(&engine);
    weft_wasi::add_to_linker(&mut linker, |ctx| ctx).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let start = instance.get_typed_func::<(), ()>(&mut store, "_start").unwrap();
    let status = match start.call(&mut store, ()) {
        Ok(()) => 0,
        Err(e) => e.downcast_ref::<I32Exit>().unwrap_or_else(|| panic!("{e:#}")).0,
    };
    (status, String::from_utf8(stdout.contents()).unwrap())
}

fn run_program(name: &str, builder: &mut WasiCtxBuilder) -> (i32, String) {
    run(&std::fs::read(program(name)).unwrap(), builder)
}

#[test]
fn files_and_directories() {
    let dir = temp_dir("fs");
    std::fs::create_dir(dir.join("work")).unwrap();
    let (status, out) =
        run_program("fs", WasiCtxBuilder::new().preopened_dir(dir.join("work"), "work", DirPerms::ReadWrite).unwrap());
    assert_eq!((status, out.as_str()), (0, "fs ok\n"));
    assert_eq!(std::fs::read_dir(dir.join("work")).unwrap().count(), 0, "the program cleaned up after itself");
}

#[test]
fn arguments_and_environment() {
    let (status, out) =
        run_program("args_env", WasiCtxBuilder::new().args(["args_env", "one", "two words"]).env("GREETING", "hello"));
    assert_eq!(status, 0);
    assert_eq!(out, "argc=3\nargv[1]=one\nargv[2]=two words\nGREETING=hello\nHOME=(unset)\n");
}

#[test]
fn clocks_and_random() {
    let (status, out) = run_program("clocks_random", &mut WasiCtxBuilder::new());
    assert_eq!(status, 0);
    assert_eq!(out, "monotonic forward=1 realtime_after_2020=1 random=1 resolution_ok=1\nslept_at_least_20ms=1\n");
}

#[test]
fn stdin_to_stdout() {
    let (status, out) = run_program("echo_upper", WasiCtxBuilder::new().stdin_bytes("hello, wasi\n"));
    assert_eq!((status, out.as_str()), (0, "HELLO, WASI\n"));
}

#[test]
fn exit_codes() {
    for code in [0, 1, 42, 255] {
        let (status, _) = run_program("exit_code", WasiCtxBuilder::new().args(["exit_code", &code.to_string()]));
        assert_eq!(status, code);
    }
}

#[test]
fn every_sandbox_escape_is_refused() {
    let dir = temp_dir("escape");
    std::fs::create_dir_all(dir.join("box/a")).unwrap();
    std::fs::create_dir(dir.join("ro")).unwrap();
    std::fs::write(dir.join("secret.txt"), "secret").unwrap();
    std::fs::write(dir.join("box/inside.txt"), "inside").unwrap();
    std::fs::write(dir.join("ro/data.txt"), "data").unwrap();
    std::os::unix::fs::symlink("../secret.txt", dir.join("box/link-out")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", dir.join("box/link-abs")).unwrap();
    std::os::unix::fs::symlink("link-out", dir.join("box/link-chain")).unwrap();
    let (status, out) = run_program(
        "escape",
        WasiCtxBuilder::new()
            .preopened_dir(dir.join("box"), "box", DirPerms::ReadWrite)
            .unwrap()
            .preopened_dir(dir.join("ro"), "ro", DirPerms::ReadOnly)
            .unwrap(),
    );
    assert_eq!(status, 0, "{out}");
    assert!(!out.contains("ESCAPED"), "{out}");
    for attempt in [
        "dotdot",
        "dotdot-deep",
        "absolute",
        "symlink-out",
        "symlink-abs",
        "symlink-chain",
        "write-readonly",
        "create-readonly",
        "made-symlink",
        "hardlink-out",
        "rename-out",
        "unlink-readonly",
    ] {
        assert!(out.contains(&format!("refused {attempt}: ")), "{attempt} not refused:\n{out}");
    }
    assert!(out.contains("refused dotdot: Capabilities insufficient"), "{out}");
    assert!(out.contains("inside readable: yes"), "{out}");
    assert_eq!(std::fs::read_to_string(dir.join("secret.txt")).unwrap(), "secret");
    assert_eq!(std::fs::read_to_string(dir.join("ro/data.txt")).unwrap(), "data");
    assert!(!dir.join("moved.txt").exists() && !dir.join("ro/new.txt").exists());
}

#[test]
fn list_read_and_write_in_the_current_directory() {
    let dir = temp_dir("listdir");
    std::fs::write(dir.join("input.txt"), "some input\n").unwrap();
    let (status, out) =
        run_program("listdir", WasiCtxBuilder::new().preopened_dir(&dir, ".", DirPerms::ReadWrite).unwrap());
    assert_eq!(status, 0, "{out}");
    assert_eq!(out, "input.txt\n");
    assert_eq!(std::fs::read_to_string(dir.join("output.txt")).unwrap(), "input.txt has 11 bytes: some input\n");
}

/// Calls `(func (export "test") (result i32))` of a WAT module importing WASI, with fd 3 preopened.
fn errno_of(body: &str, imports: &str) -> i32 {
    let wat = format!(
        r#"(module {imports}
             (memory (export "memory") 1)
             (data (i32.const 100) "/etc/passwd")
             (data (i32.const 200) "\ff\fe")
             (func (export "_start"))
             (func (export "test") (result i32) {body}))"#
    );
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = temp_dir(&format!("edge{}", NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)));
    let engine = Engine::default();
    let module = Module::new(&engine, wat).unwrap();
    let ctx = WasiCtxBuilder::new().preopened_dir(&dir, "edge", DirPerms::ReadWrite).unwrap().build();
    let mut store = Store::new(&engine, ctx);
    let mut linker: Linker<WasiCtx> = Linker::new(&engine);
    weft_wasi::add_to_linker(&mut linker, |ctx| ctx).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    instance.get_typed_func::<(), i32>(&mut store, "test").unwrap().call(&mut store, ()).unwrap()
}

const FD_WRITE: &str =
    r#"(import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))"#;
const PATH_OPEN: &str = r#"(import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))"#;

#[test]
fn bad_pointers_get_efault_not_a_crash() {
    const EFAULT: i32 = 21;
    // An iovec array past the end of memory.
    assert_eq!(
        errno_of("(call $fd_write (i32.const 1) (i32.const 65530) (i32.const 1) (i32.const 0))", FD_WRITE),
        EFAULT
    );
    // An iovec whose buffer runs past the end of memory.
    assert_eq!(
        errno_of(
            "(i32.store (i32.const 0) (i32.const 65000)) (i32.store (i32.const 4) (i32.const 1000000)) \
             (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16))",
            FD_WRITE
        ),
        EFAULT
    );
    // A huge iovec count that would overflow.
    assert_eq!(errno_of("(call $fd_write (i32.const 1) (i32.const 0) (i32.const -1) (i32.const 16))", FD_WRITE), 28);
    // The result pointer out of bounds.
    let args = r#"(import "wasi_snapshot_preview1" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))"#;
    assert_eq!(errno_of("(call $sizes (i32.const -4) (i32.const 0))", args), EFAULT);
}

#[test]
fn path_edge_cases() {
    // An absolute path handed straight to path_open is refused by the sandbox.
    assert_eq!(
        errno_of(
            "(call $path_open (i32.const 3) (i32.const 1) (i32.const 100) (i32.const 11) (i32.const 0) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 16))",
            PATH_OPEN
        ),
        76
    );
    // A path that is not UTF-8.
    assert_eq!(
        errno_of(
            "(call $path_open (i32.const 3) (i32.const 1) (i32.const 200) (i32.const 2) (i32.const 0) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 16))",
            PATH_OPEN
        ),
        25
    );
    // A descriptor that does not exist, and one that is not a directory.
    assert_eq!(
        errno_of(
            "(call $path_open (i32.const 99) (i32.const 1) (i32.const 100) (i32.const 1) (i32.const 0) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 16))",
            PATH_OPEN
        ),
        8
    );
    assert_eq!(
        errno_of(
            "(call $path_open (i32.const 1) (i32.const 1) (i32.const 100) (i32.const 1) (i32.const 0) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 16))",
            PATH_OPEN
        ),
        54
    );
    let prestat =
        r#"(import "wasi_snapshot_preview1" "fd_prestat_dir_name" (func $name (param i32 i32 i32) (result i32)))"#;
    assert_eq!(errno_of("(call $name (i32.const 3) (i32.const 0) (i32.const 2))", prestat), 37);
    assert_eq!(errno_of("(call $name (i32.const 3) (i32.const 0) (i32.const 4))", prestat), 0);
    let poll = r#"(import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))"#;
    assert_eq!(errno_of("(call $poll (i32.const 0) (i32.const 1000) (i32.const 0) (i32.const 0))", poll), 28);
}

#[test]
fn missing_memory_export_is_an_error_not_a_crash() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
             (func (export "_start") (drop (call $w (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 0)))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, WasiCtxBuilder::new().build());
    let mut linker: Linker<WasiCtx> = Linker::new(&engine);
    weft_wasi::add_to_linker(&mut linker, |ctx| ctx).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let err = instance.get_typed_func::<(), ()>(&mut store, "_start").unwrap().call(&mut store, ()).unwrap_err();
    assert!(format!("{err:#}").contains("memory"), "{err:#}");
}

#[test]
fn preopened_socket_accepts_receives_and_sends() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(b"ping").unwrap();
        let mut reply = [0u8; 4];
        s.read_exact(&mut reply).unwrap();
        reply
    });
    let wat = r#"(module
        (import "wasi_snapshot_preview1" "sock_accept" (func $accept (param i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "sock_recv" (func $recv (param i32 i32 i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "sock_send" (func $send (param i32 i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "sock_shutdown" (func $shutdown (param i32 i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "_start")
          (local $fd i32)
          (if (call $accept (i32.const 3) (i32.const 0) (i32.const 0)) (then (unreachable)))
          (local.set $fd (i32.load (i32.const 0)))
          ;; iovec at 16: { buf = 64, len = 4 }
          (i32.store (i32.const 16) (i32.const 64)) (i32.store (i32.const 20) (i32.const 4))
          (if (call $recv (local.get $fd) (i32.const 16) (i32.const 1) (i32.const 0) (i32.const 32) (i32.const 36)) (then (unreachable)))
          ;; turn "ping" into "pong"
          (i32.store8 (i32.const 65) (i32.const 111))
          (if (call $send (local.get $fd) (i32.const 16) (i32.const 1) (i32.const 0) (i32.const 40)) (then (unreachable)))
          (drop (call $shutdown (local.get $fd) (i32.const 3)))))"#;
    let (status, _) = run(&wat::parse_str(wat).unwrap(), WasiCtxBuilder::new().preopened_socket(listener));
    assert_eq!(status, 0);
    assert_eq!(&client.join().unwrap(), b"pong");
}

#[test]
fn symlink_swaps_during_a_path_walk_never_lead_outside() {
    let dir = temp_dir("swap");
    std::fs::create_dir_all(dir.join("box/real")).unwrap();
    std::fs::create_dir_all(dir.join("outside")).unwrap();
    std::fs::write(dir.join("box/real/f.txt"), "inside").unwrap();
    std::fs::write(dir.join("outside/f.txt"), "outside").unwrap();
    // `swap` is replaced atomically (a new symlink renamed over it), alternately leading inside and outside.
    std::os::unix::fs::symlink("real", dir.join("box/swap")).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let (dir, stop) = (dir.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut flips = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let target = if flips.is_multiple_of(2) { "../outside" } else { "real" };
                let staged = dir.join("box/staged");
                let _ = std::fs::remove_file(&staged);
                std::os::unix::fs::symlink(target, &staged).unwrap();
                std::fs::rename(&staged, dir.join("box/swap")).unwrap();
                flips += 1;
            }
            flips
        })
    };
    let (status, out) = run_program(
        "swap_race",
        WasiCtxBuilder::new()
            .args(["swap_race", "20000"])
            .preopened_dir(dir.join("box"), "box", DirPerms::ReadWrite)
            .unwrap(),
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let flips = swapper.join().unwrap();
    assert_eq!(status, 0, "the guest read the outside file: {out}");
    assert!(out.contains(" outside=0 "), "{out}");
    assert!(flips > 10, "the race barely ran ({flips} swaps)");
    assert!(!out.starts_with("inside=0 "), "the guest never got through: {out}");
}

/// `p1_paths.c` checks, call by call and errno by errno, the path behaviour the official WASI test suite's path
/// tests look at (symlinks, trailing slashes, rename, links, readlink, path_open flags, preopens, libc's fopen,
/// opendir and stat), one "ok"/"FAIL" line per check.
#[test]
fn path_behaviour_of_the_wasi_test_suite() {
    let dir = temp_dir("p1-paths");
    let (status, out) =
        run_program("p1_paths", WasiCtxBuilder::new().preopened_dir(&dir, "/", DirPerms::ReadWrite).unwrap());
    let failures: Vec<&str> = out.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert!(failures.is_empty(), "{} checks failed:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(status, 0, "{out}");
    assert_eq!(out.lines().filter(|l| l.starts_with("ok ")).count(), 417, "{out}");
    assert!(out.ends_with("checks: 417 passed, 0 failed\n"), "{out}");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "the program cleaned up after itself");
}

/// `p1_fds.c` checks the suite's descriptor-level behaviour (fd operations, rights, renumber, stdio, clocks,
/// random, arguments and environment, poll) and Weft's own rules for rights and for renumbering onto 0-2.
#[test]
fn descriptor_behaviour_of_the_wasi_test_suite() {
    let dir = temp_dir("p1-fds");
    let (status, out) = run_program(
        "p1_fds",
        WasiCtxBuilder::new()
            .args(["p1_fds", "one", "two words", "3"])
            .env("a", "text")
            .env("b", "escap \" ing")
            .env("c", "new\nline")
            .preopened_dir(&dir, "/", DirPerms::ReadWrite)
            .unwrap(),
    );
    let failures: Vec<&str> = out.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert!(failures.is_empty(), "{} checks failed:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(status, 0, "{out}");
    // Fewer "ok" lines would mean the branch for hosts without rights or without fd_allocate ran.
    assert_eq!(out.lines().filter(|l| l.starts_with("ok ")).count(), 246, "{out}");
    assert!(out.ends_with("checks: 246 passed, 0 failed\n"), "{out}");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "the program left files behind");
}

/// Creating needs no write rights, but a read-only directory still refuses every change, whatever rights the
/// guest asks for (none, read, or write): create, truncate and append are all ENOTCAPABLE and leave the files as
/// they were, while plain reading works.
#[test]
fn read_only_directories_refuse_creation_with_any_rights() {
    let dir = temp_dir("readonly-create");
    std::fs::write(dir.join("data.txt"), "data").unwrap();
    let wat = format!(
        r#"(module {PATH_OPEN}
             (memory (export "memory") 1)
             (data (i32.const 100) "new.txt")
             (data (i32.const 120) "data.txt")
             (func (export "_start"))
             (func (export "open") (param $path i32) (param $len i32) (param $oflags i32) (param $rights i64)
                                   (param $fdflags i32) (result i32)
               (call $path_open (i32.const 3) (i32.const 0) (local.get $path) (local.get $len) (local.get $oflags)
                     (local.get $rights) (i64.const 0) (local.get $fdflags) (i32.const 16))))"#
    );
    let engine = Engine::default();
    let module = Module::new(&engine, wat).unwrap();
    let ctx = WasiCtxBuilder::new().preopened_dir(&dir, "ro", DirPerms::ReadOnly).unwrap().build();
    let mut store = Store::new(&engine, ctx);
    let mut linker: Linker<WasiCtx> = Linker::new(&engine);
    weft_wasi::add_to_linker(&mut linker, |ctx| ctx).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let open = instance.get_typed_func::<(i32, i32, i32, i64, i32), i32>(&mut store, "open").unwrap();
    const CREAT: i32 = 1;
    const TRUNC: i32 = 8;
    const APPEND: i32 = 1;
    const FD_READ: i64 = 1 << 1;
    const FD_WRITE: i64 = 1 << 6;
    const NOTCAPABLE: i32 = 76;
    for rights in [0, FD_READ, FD_WRITE] {
        assert_eq!(open.call(&mut store, (100, 7, CREAT, rights, 0)).unwrap(), NOTCAPABLE, "create, rights {rights}");
        assert_eq!(open.call(&mut store, (120, 8, TRUNC, rights, 0)).unwrap(), NOTCAPABLE, "truncate, rights {rights}");
        assert_eq!(open.call(&mut store, (120, 8, 0, rights, APPEND)).unwrap(), NOTCAPABLE, "append, rights {rights}");
    }
    assert_eq!(open.call(&mut store, (120, 8, 0, FD_WRITE, 0)).unwrap(), NOTCAPABLE, "open for writing");
    assert_eq!(open.call(&mut store, (120, 8, 0, FD_READ, 0)).unwrap(), 0, "open for reading");
    assert!(!dir.join("new.txt").exists());
    assert_eq!(std::fs::read_to_string(dir.join("data.txt")).unwrap(), "data");
}

/// A C++ program using the final exception-handling instructions (built by `tests/wasi/cxx/build.sh` with clang 22
/// and `-fwasm-exceptions`): exceptions thrown through direct calls, a function-pointer table, virtual calls,
/// rethrown with `throw;`, caught by type and by `catch (...)`, with destructors run on the way; its output is the
/// one Wasmtime prints (`exceptions.expected`).
#[test]
fn cxx_exceptions() {
    let (status, stdout) = run_program("cxx/exceptions", &mut WasiCtxBuilder::new());
    assert_eq!(status, 0);
    let expected = std::fs::read_to_string(program("cxx/exceptions").with_extension("expected")).unwrap();
    assert_eq!(stdout, expected);
}

/// The set-up Wasmtime's documentation shows, under its names: `WasiCtx::builder()`, `inherit_args`,
/// `inherit_env`, `build_p1`, `p1::add_to_linker_sync`, `Linker::module` and `Linker::get_default`. The guest
/// sees this test process's own arguments and environment.
#[test]
fn wasmtime_style_setup_inherits_arguments_and_environment() {
    let stdout = OutputBuffer::new();
    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    weft_wasi::p1::add_to_linker_sync(&mut linker, |s| s).unwrap();
    let wasi = WasiCtx::builder().inherit_args().inherit_env().stdout(stdout.clone()).build_p1();
    let mut store = Store::new(&engine, wasi);
    let module = Module::from_file(&engine, program("args_env")).unwrap();
    linker.module(&mut store, "", &module).unwrap();
    linker.get_default(&mut store, "").unwrap().typed::<(), ()>(&store).unwrap().call(&mut store, ()).unwrap();
    let args: Vec<String> = std::env::args().collect();
    let mut expected = format!("argc={}\n", args.len());
    for (i, arg) in args.iter().enumerate().skip(1) {
        expected += &format!("argv[{i}]={arg}\n");
    }
    expected += &format!("GREETING={}\n", std::env::var("GREETING").unwrap_or("(unset)".into()));
    expected += &format!("HOME={}\n", std::env::var("HOME").unwrap_or("(unset)".into()));
    assert_eq!(String::from_utf8(stdout.contents()).unwrap(), expected);
}
