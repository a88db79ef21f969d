//! The `spectest` host module that the specification's scripts import.

use anyhow::Result;
use weft::{Global, GlobalType, Linker, Memory, MemoryType, Store, Table, TableType, Val, ValType};

/// Defines `spectest` in `linker`: the `print*` functions, four globals, a table and a memory.
pub(crate) fn register(linker: &mut Linker<()>, store: &mut Store<()>) -> Result<()> {
    linker.func_wrap("spectest", "print", || {})?;
    linker.func_wrap("spectest", "print_i32", |v: i32| println!("{v}: i32"))?;
    linker.func_wrap("spectest", "print_i64", |v: i64| println!("{v}: i64"))?;
    linker.func_wrap("spectest", "print_f32", |v: f32| println!("{v}: f32"))?;
    linker.func_wrap("spectest", "print_f64", |v: f64| println!("{v}: f64"))?;
    linker.func_wrap("spectest", "print_i32_f32", |a: i32, b: f32| println!("{a}: i32 {b}: f32"))?;
    linker.func_wrap("spectest", "print_f64_f64", |a: f64, b: f64| println!("{a}: f64 {b}: f64"))?;
    let global = |store: &mut Store<()>, content, val| Global::new(store, GlobalType { content, mutable: false }, val);
    linker.define("spectest", "global_i32", global(store, ValType::I32, Val::I32(666))?)?;
    linker.define("spectest", "global_i64", global(store, ValType::I64, Val::I64(666))?)?;
    linker.define("spectest", "global_f32", global(store, ValType::F32, Val::from(666.6f32))?)?;
    linker.define("spectest", "global_f64", global(store, ValType::F64, Val::from(666.6f64))?)?;
    let table_ty = TableType::new(ValType::FuncRef, 10, Some(20));
    linker.define("spectest", "table", Table::new(&mut *store, table_ty, Val::FuncRef(None))?)?;
    let memory_ty = MemoryType::new(1, Some(2));
    linker.define("spectest", "memory", Memory::new(&mut *store, memory_ty)?)?;
    Ok(())
}
