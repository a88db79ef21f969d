//! Stopping wasm: interrupts from another thread, epoch deadlines, fuel.

use std::time::{Duration, Instant};
use weft::*;

const SPIN: &str = r#"(module
    (global $n (export "n") (mut i64) (i64.const 0))
    (func (export "spin") (loop $l (br $l)))
    (func (export "count") (loop $l (global.set $n (i64.add (global.get $n) (i64.const 1))) (br $l)))
    (func (export "quick") (result i32) (i32.const 7)))"#;

fn setup(config: &Config) -> (Store<()>, Instance) {
    let engine = Engine::new(config).unwrap();
    let module = Module::new(&engine, SPIN).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    (store, instance)
}

/// Both shapes of interrupt check: the plain conditional trap, and the probe of a `guest_profiling` engine (a load
/// from a page that a request makes unreadable).
fn interruptible_configs() -> [Config; 2] {
    let mut plain = Config::new();
    plain.interruptible(true);
    let mut probing = Config::new();
    probing.guest_profiling(true);
    [plain, probing]
}

fn trap(err: &Error) -> Trap {
    *err.downcast_ref::<Trap>().unwrap_or_else(|| panic!("not a trap: {err:#}"))
}

#[test]
fn infinite_loop_is_interrupted_from_another_thread() {
    for config in interruptible_configs() {
        infinite_loop_is_interrupted_with(&config);
    }
}

fn infinite_loop_is_interrupted_with(config: &Config) {
    let (mut store, instance) = setup(config);
    let handle = store.interrupt_handle().unwrap();
    let requested = std::sync::Arc::new(std::sync::Mutex::new(None));
    let requested2 = requested.clone();
    let interrupter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        *requested2.lock().unwrap() = Some(Instant::now());
        handle.interrupt();
    });
    let spin = instance.get_typed_func::<(), ()>(&mut store, "spin").unwrap();
    let err = spin.call(&mut store, ()).unwrap_err();
    let stopped = Instant::now();
    interrupter.join().unwrap();
    assert_eq!(trap(&err), Trap::Interrupted);
    assert!(format!("{err}").contains("interrupted"), "{err:#}");
    let latency = stopped - requested.lock().unwrap().expect("interrupt was requested");
    assert!(latency < Duration::from_secs(5), "took {latency:?}");
    // The interrupt was consumed: the store works again.
    assert_eq!(instance.get_typed_func::<(), i32>(&mut store, "quick").unwrap().call(&mut store, ()).unwrap(), 7);
}

#[test]
fn interrupt_while_the_host_runs_takes_effect_when_wasm_resumes() {
    for config in interruptible_configs() {
        interrupt_while_the_host_runs_with(&config);
    }
}

fn interrupt_while_the_host_runs_with(config: &Config) {
    let engine = Engine::new(config).unwrap();
    let module = Module::new(
        &engine,
        r#"(module (import "h" "f" (func $f))
             (global $after (export "after") (mut i32) (i32.const 0))
             (func (export "run") (call $f) (global.set $after (i32.const 1)) (loop $l (br $l))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, None::<InterruptHandle>);
    let handle = store.interrupt_handle().unwrap();
    *store.data_mut() = Some(handle);
    let f = Func::wrap(&mut store, |caller: Caller<'_, Option<InterruptHandle>>| {
        caller.data().as_ref().unwrap().interrupt()
    });
    let instance = Instance::new(&mut store, &module, &[f.into()]).unwrap();
    let err = instance.get_typed_func::<(), ()>(&mut store, "run").unwrap().call(&mut store, ()).unwrap_err();
    assert_eq!(trap(&err), Trap::Interrupted);
    // The host function returned normally and wasm carried on until its next check.
    assert_eq!(instance.get_global(&mut store, "after").unwrap().get(&mut store).i32(), Some(1));
}

#[test]
fn interrupt_before_a_call_traps_on_entry() {
    for config in interruptible_configs() {
        let (mut store, instance) = setup(&config);
        store.interrupt_handle().unwrap().interrupt();
        let quick = instance.get_typed_func::<(), i32>(&mut store, "quick").unwrap();
        assert_eq!(trap(&quick.call(&mut store, ()).unwrap_err()), Trap::Interrupted);
        assert_eq!(quick.call(&mut store, ()).unwrap(), 7);
        // A second interrupt is delivered like the first.
        store.interrupt_handle().unwrap().interrupt();
        assert_eq!(trap(&quick.call(&mut store, ()).unwrap_err()), Trap::Interrupted);
        assert_eq!(quick.call(&mut store, ()).unwrap(), 7);
    }
}

#[test]
fn epoch_deadline_stops_a_loop() {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let (mut store, instance) = setup(&config);
    let engine = store.engine().clone();
    // No deadline set: runs normally.
    assert_eq!(instance.get_typed_func::<(), i32>(&mut store, "quick").unwrap().call(&mut store, ()).unwrap(), 7);
    store.set_epoch_deadline(1);
    let ticker = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        engine.increment_epoch();
    });
    let start = Instant::now();
    let err = instance.get_typed_func::<(), ()>(&mut store, "spin").unwrap().call(&mut store, ()).unwrap_err();
    ticker.join().unwrap();
    assert_eq!(trap(&err), Trap::Interrupted);
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn fuel_runs_out_at_a_deterministic_point() {
    let mut config = Config::new();
    config.consume_fuel(true);
    let iterations = |fuel: u64| -> (i64, Trap) {
        let (mut store, instance) = setup(&config);
        store.set_fuel(fuel).unwrap();
        let err = instance.get_typed_func::<(), ()>(&mut store, "count").unwrap().call(&mut store, ()).unwrap_err();
        assert_eq!(store.get_fuel().unwrap(), 0);
        let n = instance.get_global(&mut store, "n").unwrap().get(&mut store).i64().unwrap();
        (n, trap(&err))
    };
    let (a, trap_a) = iterations(10_000);
    let (b, _) = iterations(10_000);
    let (c, _) = iterations(20_000);
    assert_eq!(trap_a, Trap::OutOfFuel);
    assert_eq!(a, b, "the same fuel stops at the same iteration");
    assert!(a > 100 && c > a * 19 / 10 && c < a * 21 / 10, "{a} vs {c}");
}

#[test]
fn fuel_is_charged_and_reported() {
    let mut config = Config::new();
    config.consume_fuel(true);
    let (mut store, instance) = setup(&config);
    store.set_fuel(1000).unwrap();
    let quick = instance.get_typed_func::<(), i32>(&mut store, "quick").unwrap();
    quick.call(&mut store, ()).unwrap();
    let after_one = store.get_fuel().unwrap();
    quick.call(&mut store, ()).unwrap();
    let after_two = store.get_fuel().unwrap();
    assert!(after_one < 1000);
    assert_eq!(1000 - after_one, after_one - after_two, "each call costs the same");
    let err = {
        store.set_fuel(0).unwrap();
        quick.call(&mut store, ()).unwrap_err()
    };
    assert_eq!(trap(&err), Trap::OutOfFuel);
    assert!(format!("{err}").contains("fuel"), "{err:#}");
}

#[test]
fn features_off_by_default_refuse_their_api() {
    let (mut store, _) = setup(&Config::new());
    assert!(format!("{:#}", store.interrupt_handle().unwrap_err()).contains("interruptible"));
    assert!(format!("{:#}", store.set_fuel(1).unwrap_err()).contains("consume_fuel"));
}
