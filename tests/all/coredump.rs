//! Wasm core dumps on trap (`Config::coredump_on_trap`): what they record, and that the serialized dump is a valid
//! module in the tool-conventions format holding the store's state at the trap.

use weft::*;

const TRAPPER: &str = r#"(module $trapper
  (memory (export "mem") 2)
  (global $g (mut i32) (i32.const 0))
  (global $h (export "h") i64 (i64.const -5))
  (func (export "run") (call $a))
  (func $a (i64.store (i32.const 0x1234) (i64.const 42)) (call $b))
  (func $b (global.set $g (i32.const 36)) (call $c))
  (func $c unreachable))"#;

#[test]
fn a_trap_carries_a_core_dump_of_the_store() -> Result<()> {
    let mut config = Config::new();
    config.coredump_on_trap(true);
    let engine = Engine::new(&config)?;
    let mut store = Store::new(&engine, ());
    // A host memory and a second instance of the module are in the store too.
    let host_memory = Memory::new(&mut store, MemoryType::new(1, None))?;
    host_memory.data_mut(&mut store)[7] = 9;
    let module = Module::new(&engine, TRAPPER)?;
    Instance::new(&mut store, &module, &[])?;
    let instance = Instance::new(&mut store, &module, &[])?;
    let error = instance.get_typed_func::<(), ()>(&mut store, "run")?.call(&mut store, ()).unwrap_err();
    // The error is still the trap, with its backtrace; the dump rides along.
    assert_eq!(error.to_string(), Trap::UnreachableCodeReached.to_string());
    assert!(error.downcast_ref::<WasmBacktrace>().is_some());
    let dump = error.downcast_ref::<WasmCoreDump>().expect("a core dump");
    assert_eq!(dump.modules().len(), 1);
    assert_eq!(dump.instances().len(), 2);
    assert_eq!(dump.memories().len(), 3, "the host memory and each instance's");
    assert_eq!(dump.globals().len(), 4);
    let names: Vec<_> = dump.frames().iter().map(|f| f.func_index()).collect();
    assert_eq!(names, [3, 2, 1, 0]);
    assert_eq!(dump.frames()[0].func_offset(), Some(1), "`unreachable` follows the locals count");
    let written: Vec<u8> = dump.memories().iter().map(|m| m.data(&store).get(0x1234).copied().unwrap_or(0)).collect();
    assert_eq!(written, [0, 0, 42], "only the trapping instance stored");
    let globals: Vec<Option<i32>> = dump.globals().iter().map(|g| g.get(&mut store).i32()).collect();
    assert_eq!(globals, [Some(0), None, Some(36), None]);

    let bytes = dump.serialize(&mut store, "trapper.wasm");
    let mut validator = wasmparser::Validator::new();
    validator.validate_all(&bytes)?;
    let mut custom = Vec::new();
    let (mut memories, mut data, mut global_values) = (Vec::new(), Vec::new(), Vec::new());
    for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
        match payload? {
            wasmparser::Payload::CustomSection(s) => custom.push((s.name().to_string(), s.data().to_vec())),
            wasmparser::Payload::MemorySection(r) => memories.extend(r.into_iter().map(|m| m.unwrap().initial)),
            wasmparser::Payload::DataSection(r) => {
                for segment in r {
                    let segment = segment?;
                    let wasmparser::DataKind::Active { memory_index, offset_expr } = segment.kind else { panic!() };
                    let offset = match offset_expr.get_operators_reader().read()? {
                        wasmparser::Operator::I32Const { value } => value,
                        other => panic!("{other:?}"),
                    };
                    data.push((memory_index, offset, segment.data.to_vec()));
                }
            }
            wasmparser::Payload::GlobalSection(r) => {
                for g in r {
                    global_values.push(format!("{:?}", g?.init_expr.get_operators_reader().read()?));
                }
            }
            _ => {}
        }
    }
    let names: Vec<&str> = custom.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["core", "coremodules", "coreinstances", "corestack"]);
    assert_eq!(custom[0].1, b"\x00\x0ctrapper.wasm");
    assert_eq!(custom[1].1, b"\x01\x00\x07trapper", "one module, named by its name section");
    // Two instances of module 0 (each: 0x0, module, memories, globals): the first has dump memory 1 and globals 0
    // and 1, the second memory 2 and globals 2 and 3.
    assert_eq!(custom[2].1, [2, 0, 0, 1, 1, 2, 0, 1, 0, 0, 1, 2, 2, 2, 3]);
    assert_eq!(memories, [1, 2, 2]);
    assert_eq!(data, [(0, 7, vec![9]), (2, 0x1234, vec![42])]);
    assert_eq!(
        global_values,
        ["I32Const { value: 0 }", "I64Const { value: -5 }", "I32Const { value: 36 }", "I64Const { value: -5 }"]
    );
    Ok(())
}

#[test]
fn no_core_dump_unless_asked() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &Module::new(&engine, TRAPPER)?, &[])?;
    let error = instance.get_typed_func::<(), ()>(&mut store, "run")?.call(&mut store, ()).unwrap_err();
    assert!(error.downcast_ref::<Trap>().is_some());
    assert!(error.downcast_ref::<WasmCoreDump>().is_none());
    Ok(())
}
