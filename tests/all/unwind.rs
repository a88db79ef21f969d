//! Native unwinders walk through compiled wasm frames (their unwind info is registered with the system).

use weft::*;

#[inline(never)]
fn outer_rust_frame_marker(store: &mut Store<String>, run: &TypedFunc<(), ()>) {
    run.call(&mut *store, ()).unwrap();
    std::hint::black_box(());
}

#[test]
fn native_backtrace_from_a_host_function_reaches_frames_below_wasm() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "h" "capture" (func $capture))
             (func $inner (call $capture))
             (func (export "run") (call $inner)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, String::new());
    let capture = Func::wrap(&mut store, |mut caller: Caller<'_, String>| {
        *caller.data_mut() = std::backtrace::Backtrace::force_capture().to_string();
    });
    let instance = Instance::new(&mut store, &module, &[capture.into()]).unwrap();
    let run = instance.get_typed_func::<(), ()>(&mut store, "run").unwrap();
    outer_rust_frame_marker(&mut store, &run);
    let backtrace = store.data();
    // Without registered unwind info the unwinder stops at the first wasm frame and never sees these.
    assert!(backtrace.contains("outer_rust_frame_marker"), "{backtrace}");
    assert!(backtrace.contains("native_backtrace_from_a_host_function_reaches_frames_below_wasm"), "{backtrace}");
}
