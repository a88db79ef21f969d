//! Parsing and validating WebAssembly bytes into a [`Module`] plus the function bodies still to compile.

use crate::*;
use wasmparser::{
    FuncToValidate, FunctionBody, KnownCustom, Name, Operator, Parser, Payload, TypeRef, ValidPayload, Validator,
    ValidatorResources, WasmFeatures,
};

/// Why a module could not be translated.
#[derive(Debug, thiserror::Error)]
pub enum TranslateError {
    /// The bytes are not a valid module (malformed or failing validation), or use a disabled feature.
    #[error("{message} (at offset {offset:#x})")]
    Invalid {
        /// The validator's message.
        message: String,
        /// Byte offset of the problem in the module.
        offset: u64,
    },
    /// The module is valid but uses something Weft does not implement.
    #[error("unsupported WebAssembly feature: {0}")]
    Unsupported(String),
}

impl From<wasmparser::BinaryReaderError> for TranslateError {
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        let message = match e.missing_wasm_feature() {
            Some(f) => {
                format!("{} (the module needs the {} proposal, which is disabled)", e.message(), feature_names(f))
            }
            None => e.message().to_string(),
        };
        TranslateError::Invalid { message, offset: e.offset() }
    }
}

fn feature_names(f: WasmFeatures) -> String {
    f.iter_names().map(|(n, _)| n.to_ascii_lowercase().replace('_', "-")).collect::<Vec<_>>().join(", ")
}

/// The WebAssembly features Weft can run (and enables by default), which `Config` narrows further.
pub fn wasm_features() -> WasmFeatures {
    WasmFeatures::WASM2
        | WasmFeatures::TAIL_CALL
        | WasmFeatures::EXTENDED_CONST
        | WasmFeatures::RELAXED_SIMD
        | WasmFeatures::MULTI_MEMORY
        | WasmFeatures::MEMORY64
        | WasmFeatures::FUNCTION_REFERENCES
        | WasmFeatures::EXCEPTIONS
        | WasmFeatures::GC
}

/// Which of wasmparser's feature flags are Weft's own 3.0 type system rather than the GC proposal: wasmparser gates
/// explicit recursion groups and `global.get` of defined globals in constant expressions on its `GC` flag, so that
/// flag is on whenever typed function references are; the GC proposal itself (struct, array and i31 types, the
/// abstract `any`/`eq` hierarchy, subtyping, GC instructions) is refused by [`translate_module`] and
/// [`check_operator`], with the same "unsupported" error in validation and compilation.
pub const TYPE_SYSTEM_FEATURES: WasmFeatures = WasmFeatures::GC;

macro_rules! define_operator_proposal {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*) )*) => {
        /// The proposal that introduced `op`, as wasmparser names it (`mvp`, `gc`, `exceptions`, ...).
        #[allow(unreachable_patterns, reason = "the catch-all covers operators added to wasmparser later")]
        pub fn operator_proposal(op: &Operator<'_>) -> &'static str {
            match op {
                $( Operator::$op { .. } => stringify!($proposal), )*
                _ => "unknown",
            }
        }
    };
}
wasmparser::for_each_operator!(define_operator_proposal);

/// Refuses an operator of a function body that Weft does not implement although the validator accepts it: the GC
/// proposal's instructions, and types of the GC proposal named by an operator (`ref.null any`, a block of
/// `eqref`). Called for every operator by the compiler and by `Module::validate`, so the two agree.
pub fn check_operator(op: &Operator<'_>) -> Result<(), TranslateError> {
    if operator_proposal(op) == "gc" {
        return Err(TranslateError::Unsupported(format!("GC instruction {op:?} (the GC proposal is not implemented)")));
    }
    let block_type = |bt: &wasmparser::BlockType| match bt {
        wasmparser::BlockType::Type(t) => convert_valtype(*t).map(drop),
        _ => Ok(()),
    };
    match op {
        Operator::Block { blockty } | Operator::Loop { blockty } | Operator::If { blockty } => block_type(blockty),
        Operator::TryTable { try_table } => block_type(&try_table.ty),
        Operator::TypedSelect { ty } => convert_valtype(*ty).map(drop),
        Operator::TypedSelectMulti { tys } => tys.iter().try_for_each(|t| convert_valtype(*t).map(drop)),
        Operator::RefNull { hty } => convert_ref(
            wasmparser::RefType::new(true, *hty)
                .ok_or_else(|| TranslateError::Unsupported(format!("heap type {hty:?}")))?,
        )
        .map(drop),
        _ => Ok(()),
    }
}

/// Refuses a local of a type Weft does not implement (a GC type).
pub fn check_local_type(t: wasmparser::ValType) -> Result<(), TranslateError> {
    match t {
        // The validator reports concrete types by its own ids here; only abstract heap types need a look.
        wasmparser::ValType::Ref(r) if matches!(r.heap_type(), wasmparser::HeapType::Concrete(_)) => Ok(()),
        other => convert_valtype(other).map(drop),
    }
}

/// Validates `wasm` exactly as [`translate_module`] and the compiler would, without compiling: the module, every
/// function body, and the operators and types Weft refuses although wasmparser accepts them.
pub fn validate_module(wasm: &[u8], features: WasmFeatures) -> Result<(), TranslateError> {
    let translation = translate_module(wasm, features)?;
    for body in translation.function_bodies {
        let mut validator = body.validator.into_validator(Default::default());
        let mut reader = body.body.get_binary_reader();
        validator.read_locals(&mut reader)?;
        for i in 0..validator.len_locals() {
            if let Some(t) = validator.get_local_type(i) {
                check_local_type(t)?;
            }
        }
        let mut ops = wasmparser::OperatorsReader::new(reader);
        while !ops.eof() {
            let (op, offset) = ops.read_with_offset()?;
            validator.op(offset, &op)?;
            check_operator(&op).map_err(|e| match e {
                TranslateError::Unsupported(m) => TranslateError::Unsupported(format!("{m} (at offset {offset:#x})")),
                other => other,
            })?;
        }
        ops.finish()?;
    }
    Ok(())
}

/// A function body waiting to be validated and compiled.
pub struct FunctionBodyData<'data> {
    /// The validator for this body (operator validation happens during translation).
    pub validator: FuncToValidate<ValidatorResources>,
    /// The body's bytes.
    pub body: FunctionBody<'data>,
}

/// The result of translating a module: its description and its function bodies.
pub struct ModuleTranslation<'data> {
    /// The module description.
    pub module: Module,
    /// Bodies of the defined functions, by defined index.
    pub function_bodies: Vec<FunctionBodyData<'data>>,
    /// The features the module was validated against.
    pub features: WasmFeatures,
    /// The module's DWARF sections (empty without), borrowed from its bytes.
    pub dwarf_sections: Vec<(&'data str, &'data [u8])>,
    /// Module offset of the code section's contents.
    pub code_section_start: u32,
    /// Module offset range of each defined function's body, by defined index.
    pub func_body_ranges: Vec<(u32, u32)>,
}

impl ModuleTranslation<'_> {
    /// A copy of the module description that, when `keep_dwarf` and the module has DWARF sections, carries them
    /// (for native debug information: they are what the debugger's view of the compiled code is made from).
    pub fn module_keeping_dwarf(&self, keep_dwarf: bool) -> Module {
        let mut module = self.module.clone();
        if keep_dwarf && !self.dwarf_sections.is_empty() {
            module.dwarf = Some(crate::DwarfSections {
                code_section_start: self.code_section_start,
                sections: self.dwarf_sections.iter().map(|(name, data)| (name.to_string(), data.to_vec())).collect(),
                func_body_ranges: self.func_body_ranges.clone(),
            });
        }
        module
    }
}

fn convert_ref(rt: wasmparser::RefType) -> Result<ValType, TranslateError> {
    use wasmparser::AbstractHeapType as A;
    let heap = match rt.heap_type() {
        wasmparser::HeapType::Abstract { shared: false, ty: A::Func } => HeapType::Func,
        wasmparser::HeapType::Abstract { shared: false, ty: A::Extern } => HeapType::Extern,
        wasmparser::HeapType::Abstract { shared: false, ty: A::NoFunc } => HeapType::NoFunc,
        wasmparser::HeapType::Abstract { shared: false, ty: A::NoExtern } => HeapType::NoExtern,
        wasmparser::HeapType::Abstract { shared: false, ty: A::Exn } => HeapType::Exn,
        wasmparser::HeapType::Abstract { shared: false, ty: A::NoExn } => HeapType::NoExn,
        wasmparser::HeapType::Concrete(index) => match index.as_module_index() {
            Some(index) => HeapType::Concrete(index),
            None => return Err(TranslateError::Unsupported(format!("reference type {rt}"))),
        },
        _ => return Err(TranslateError::Unsupported(format!("reference type {rt}"))),
    };
    Ok(ValType::reference(rt.is_nullable(), heap))
}

/// Converts a `wasmparser` value type.
pub fn convert_valtype(t: wasmparser::ValType) -> Result<ValType, TranslateError> {
    Ok(match t {
        wasmparser::ValType::I32 => ValType::I32,
        wasmparser::ValType::I64 => ValType::I64,
        wasmparser::ValType::F32 => ValType::F32,
        wasmparser::ValType::F64 => ValType::F64,
        wasmparser::ValType::V128 => ValType::V128,
        wasmparser::ValType::Ref(r) => convert_ref(r)?,
    })
}

fn convert_table(t: &wasmparser::TableType) -> Result<TableType, TranslateError> {
    if t.shared {
        return Err(TranslateError::Unsupported("shared tables".into()));
    }
    Ok(TableType {
        element: convert_ref(t.element_type)?,
        limits: Limits { min: t.initial, max: t.maximum },
        table64: t.table64,
    })
}

fn convert_memory(m: &wasmparser::MemoryType) -> Result<MemoryType, TranslateError> {
    if m.shared || m.page_size_log2.is_some() {
        return Err(TranslateError::Unsupported("shared or custom-page-size memories".into()));
    }
    Ok(MemoryType { limits: Limits { min: m.initial, max: m.maximum }, memory64: m.memory64 })
}

fn convert_global(g: &wasmparser::GlobalType) -> Result<GlobalType, TranslateError> {
    Ok(GlobalType { content: convert_valtype(g.content_type)?, mutable: g.mutable })
}

fn convert_const_expr(e: &wasmparser::ConstExpr<'_>) -> Result<ConstExpr, TranslateError> {
    let mut ops = Vec::new();
    let mut reader = e.get_operators_reader();
    while !reader.eof() {
        let op = reader.read()?;
        ops.push(match op {
            Operator::I32Const { value } => ConstOp::I32(value),
            Operator::I64Const { value } => ConstOp::I64(value),
            Operator::F32Const { value } => ConstOp::F32(value.bits()),
            Operator::F64Const { value } => ConstOp::F64(value.bits()),
            Operator::V128Const { value } => ConstOp::V128(u128::from_le_bytes(*value.bytes())),
            Operator::GlobalGet { global_index } => ConstOp::GlobalGet(GlobalIndex::from_u32(global_index)),
            Operator::RefNull { hty } => ConstOp::RefNull(match hty {
                wasmparser::HeapType::Abstract {
                    ty: wasmparser::AbstractHeapType::Extern | wasmparser::AbstractHeapType::NoExtern,
                    ..
                } => ValType::ExternRef,
                wasmparser::HeapType::Abstract {
                    ty: wasmparser::AbstractHeapType::Exn | wasmparser::AbstractHeapType::NoExn,
                    ..
                } => ValType::EXNREF,
                _ => ValType::FuncRef,
            }),
            Operator::RefFunc { function_index } => ConstOp::RefFunc(FuncIndex::from_u32(function_index)),
            Operator::I32Add => ConstOp::I32Add,
            Operator::I32Sub => ConstOp::I32Sub,
            Operator::I32Mul => ConstOp::I32Mul,
            Operator::I64Add => ConstOp::I64Add,
            Operator::I64Sub => ConstOp::I64Sub,
            Operator::I64Mul => ConstOp::I64Mul,
            Operator::End => break,
            other => {
                return Err(TranslateError::Unsupported(format!("constant expression operator {other:?}")));
            }
        });
    }
    Ok(ConstExpr { ops: ops.into() })
}

/// Parses and validates `wasm` with `features`, producing the module description and its function bodies.
///
/// Function bodies are validated later, operator by operator, while they are compiled.
pub fn translate_module(wasm: &[u8], features: WasmFeatures) -> Result<ModuleTranslation<'_>, TranslateError> {
    let mut validator = Validator::new_with_features(features);
    let mut parser = Parser::new(0);
    parser.set_features(features);
    let mut module = Module::default();
    let mut function_bodies = Vec::new();
    let mut escaping = std::collections::BTreeSet::new();
    let mut debug_sections = std::collections::HashMap::new();
    let mut dwarf_sections = Vec::new();
    let mut func_body_ranges = Vec::new();
    let mut code_section_start = None;

    for payload in parser.parse_all(wasm) {
        let payload = payload?;
        if let ValidPayload::Func(validator, body) = validator.payload(&payload)? {
            module.func_body_offsets.push(body.range().start as u32);
            func_body_ranges.push((body.range().start as u32, body.range().end as u32));
            function_bodies.push(FunctionBodyData { validator, body });
            continue;
        }
        match payload {
            Payload::TypeSection(reader) => {
                for group in reader {
                    let group = group?;
                    let start = module.types.len() as u32;
                    for sub in group.types() {
                        if !sub.is_final || !sub.supertype_idxs.is_empty() {
                            return Err(TranslateError::Unsupported(
                                "subtype declarations (`sub`; the GC proposal is not implemented)".into(),
                            ));
                        }
                        let wasmparser::CompositeInnerType::Func(ty) = &sub.composite_type.inner else {
                            return Err(TranslateError::Unsupported(
                                "struct and array types (the GC proposal is not implemented)".into(),
                            ));
                        };
                        if sub.composite_type.shared || sub.composite_type.descriptor_idx.is_some() {
                            return Err(TranslateError::Unsupported("shared or described types".into()));
                        }
                        let params = ty.params().iter().map(|t| convert_valtype(*t)).collect::<Result<Vec<_>, _>>()?;
                        let results =
                            ty.results().iter().map(|t| convert_valtype(*t)).collect::<Result<Vec<_>, _>>()?;
                        module.types.push(FuncType::new(params, results));
                    }
                    module.rec_groups.push((start, module.types.len() as u32 - start));
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import?;
                    let ty = match import.ty {
                        TypeRef::Func(t) | TypeRef::FuncExact(t) => {
                            module.functions.push(TypeIndex::from_u32(t));
                            module.num_imported_funcs += 1;
                            EntityType::Func(TypeIndex::from_u32(t))
                        }
                        TypeRef::Table(t) => {
                            let t = convert_table(&t)?;
                            module.tables.push(t);
                            module.num_imported_tables += 1;
                            EntityType::Table(t)
                        }
                        TypeRef::Memory(m) => {
                            let m = convert_memory(&m)?;
                            module.memories.push(m);
                            module.num_imported_memories += 1;
                            EntityType::Memory(m)
                        }
                        TypeRef::Global(g) => {
                            let g = convert_global(&g)?;
                            module.globals.push(g);
                            module.num_imported_globals += 1;
                            EntityType::Global(g)
                        }
                        TypeRef::Tag(t) => {
                            module.tags.push(TypeIndex::from_u32(t.func_type_idx));
                            module.num_imported_tags += 1;
                            EntityType::Tag(TypeIndex::from_u32(t.func_type_idx))
                        }
                    };
                    module.imports.push(Import { module: import.module.into(), field: import.name.into(), ty });
                }
            }
            Payload::FunctionSection(reader) => {
                for t in reader {
                    module.functions.push(TypeIndex::from_u32(t?));
                }
            }
            Payload::TableSection(reader) => {
                for t in reader {
                    let t = t?;
                    module.table_inits.push(match &t.init {
                        wasmparser::TableInit::RefNull => None,
                        wasmparser::TableInit::Expr(e) => Some(convert_const_expr(e)?),
                    });
                    module.tables.push(convert_table(&t.ty)?);
                }
            }
            Payload::MemorySection(reader) => {
                for m in reader {
                    module.memories.push(convert_memory(&m?)?);
                }
            }
            Payload::GlobalSection(reader) => {
                for g in reader {
                    let g = g?;
                    module.globals.push(convert_global(&g.ty)?);
                    let init = convert_const_expr(&g.init_expr)?;
                    collect_ref_funcs(&init, &mut escaping);
                    module.global_inits.push(init);
                }
            }
            Payload::ExportSection(reader) => {
                for e in reader {
                    let e = e?;
                    let index = match e.kind {
                        wasmparser::ExternalKind::Func | wasmparser::ExternalKind::FuncExact => {
                            escaping.insert(e.index);
                            EntityIndex::Func(FuncIndex::from_u32(e.index))
                        }
                        wasmparser::ExternalKind::Table => EntityIndex::Table(TableIndex::from_u32(e.index)),
                        wasmparser::ExternalKind::Memory => EntityIndex::Memory(MemoryIndex::from_u32(e.index)),
                        wasmparser::ExternalKind::Global => EntityIndex::Global(GlobalIndex::from_u32(e.index)),
                        wasmparser::ExternalKind::Tag => EntityIndex::Tag(TagIndex::from_u32(e.index)),
                    };
                    module.exports.push(Export { name: e.name.into(), index });
                }
            }
            Payload::TagSection(reader) => {
                for t in reader {
                    module.tags.push(TypeIndex::from_u32(t?.func_type_idx));
                }
            }
            Payload::StartSection { func, .. } => module.start = Some(FuncIndex::from_u32(func)),
            Payload::ElementSection(reader) => {
                for e in reader {
                    let e = e?;
                    let items = match e.items {
                        wasmparser::ElementItems::Functions(r) => {
                            let funcs = r.into_iter().collect::<Result<Vec<u32>, _>>()?;
                            escaping.extend(funcs.iter().copied());
                            ElemItems::Functions(funcs.into_iter().map(FuncIndex::from_u32).collect())
                        }
                        wasmparser::ElementItems::Expressions(rt, r) => {
                            let mut exprs = Vec::new();
                            for expr in r {
                                let expr = convert_const_expr(&expr?)?;
                                collect_ref_funcs(&expr, &mut escaping);
                                exprs.push(expr);
                            }
                            ElemItems::Expressions(convert_ref(rt)?, exprs.into())
                        }
                    };
                    let mode = match e.kind {
                        wasmparser::ElementKind::Passive => SegmentMode::Passive,
                        wasmparser::ElementKind::Declared => SegmentMode::Declared,
                        wasmparser::ElementKind::Active { table_index, offset_expr } => SegmentMode::Active {
                            target: TableIndex::from_u32(table_index.unwrap_or(0)),
                            offset: convert_const_expr(&offset_expr)?,
                        },
                    };
                    module.elements.push(ElementSegment { mode, items });
                }
            }
            Payload::DataSection(reader) => {
                for d in reader {
                    let d = d?;
                    let mode = match d.kind {
                        wasmparser::DataKind::Passive => SegmentMode::Passive,
                        wasmparser::DataKind::Active { memory_index, offset_expr } => SegmentMode::Active {
                            target: MemoryIndex::from_u32(memory_index),
                            offset: convert_const_expr(&offset_expr)?,
                        },
                    };
                    module.data.push(DataSegment { mode, data: d.data.into() });
                }
            }
            Payload::CodeSectionStart { unchecked_range, .. } => {
                code_section_start = Some(unchecked_range.start as u32)
            }
            Payload::CustomSection(c) => {
                if let KnownCustom::Name(names) = c.as_known() {
                    // A malformed name section is not an error: the spec says custom sections are never validated.
                    let _ = read_names(names, &mut module);
                } else if c.name().starts_with(".debug_") {
                    debug_sections.insert(c.name(), c.data());
                    dwarf_sections.push((c.name(), c.data()));
                }
            }
            _ => {}
        }
    }
    module.escaping_funcs = escaping.into_iter().map(FuncIndex::from_u32).collect();
    if let Some(start) = code_section_start {
        module.line_table = crate::debug::read_line_table(&debug_sections, start);
    }
    Ok(ModuleTranslation {
        module,
        function_bodies,
        features,
        dwarf_sections,
        code_section_start: code_section_start.unwrap_or(0),
        func_body_ranges,
    })
}

fn collect_ref_funcs(expr: &ConstExpr, out: &mut std::collections::BTreeSet<u32>) {
    for op in expr.ops.iter() {
        if let ConstOp::RefFunc(f) = op {
            out.insert(f.as_u32());
        }
    }
}

fn read_names(names: wasmparser::NameSectionReader<'_>, module: &mut Module) -> wasmparser::Result<()> {
    for sub in names {
        match sub? {
            Name::Module { name, .. } => module.name = Some(name.to_string()),
            Name::Function(map) => {
                for n in map {
                    let n = n?;
                    module.func_names.insert(FuncIndex::from_u32(n.index), n.name.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(())
}
