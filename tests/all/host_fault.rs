//! A fault in host code called from wasm is the host's crash, never a wasm trap.

use std::os::unix::process::ExitStatusExt;

const CHILD_ENV: &str = "WEFT_HOST_FAULT_CHILD";

/// Runs only as the child process: a host function called from wasm dereferences an invalid pointer.
#[test]
#[ignore = "runs only as the child process of host_segfault_is_not_a_trap"]
fn host_fault_child() {
    assert!(std::env::var_os(CHILD_ENV).is_some(), "run by host_segfault_is_not_a_trap only");
    let engine = weft::Engine::default();
    let module =
        weft::Module::new(&engine, r#"(module (import "h" "bad" (func $bad)) (func (export "run") (call $bad)))"#)
            .unwrap();
    let mut store = weft::Store::new(&engine, ());
    let bad = weft::Func::wrap(&mut store, || {
        let address = std::hint::black_box(16usize) as *const u8;
        // SAFETY: deliberately unsound: this test checks that the resulting SIGSEGV kills the process.
        let byte = unsafe { std::ptr::read_volatile(address) };
        println!("read {byte}");
    });
    let instance = weft::Instance::new(&mut store, &module, &[bad.into()]).unwrap();
    let result = instance.get_typed_func::<(), ()>(&mut store, "run").unwrap().call(&mut store, ());
    // Reaching this line means the fault was swallowed.
    println!("WEFT-SWALLOWED-FAULT: {result:?}");
    std::process::exit(0);
}

#[test]
fn host_segfault_is_not_a_trap() {
    // Under emulation the child runs under qemu too, which dies of the signal its guest died of, so the status reads
    // the same.
    let output = crate::run_test_in_child("host_fault::host_fault_child", CHILD_ENV);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains("WEFT-SWALLOWED-FAULT"), "the host fault was reported as a trap: {stdout}");
    assert_eq!(output.status.signal(), Some(libc::SIGSEGV), "status {:?}, stdout {stdout}", output.status);
}
