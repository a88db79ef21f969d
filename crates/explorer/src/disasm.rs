//! Machine code to instructions, with capstone, for the engine's target architecture.

use capstone::Capstone;
use capstone::arch::{BuildsCapstone as _, BuildsCapstoneSyntax as _, arm64, x86};
use weft::Result;

/// One machine instruction.
pub(crate) struct Instruction {
    /// Offset from the start of the function's code.
    pub(crate) offset: u32,
    /// Length in bytes.
    pub(crate) len: u32,
    pub(crate) mnemonic: String,
    pub(crate) operands: String,
}

/// A disassembler for one architecture.
pub(crate) struct Disassembler {
    capstone: Capstone,
    arch: &'static str,
}

impl Disassembler {
    /// A disassembler for `target`, an engine's target description ([`weft::Engine::target`], which starts with
    /// the target triple): x86-64 (Intel syntax) or aarch64.
    pub(crate) fn for_target(target: &str) -> Result<Disassembler> {
        let (capstone, arch) = if target.starts_with("x86_64") {
            let cs = Capstone::new().x86().mode(x86::ArchMode::Mode64).syntax(x86::ArchSyntax::Intel).build();
            (cs, "x86-64")
        } else if target.starts_with("aarch64") {
            (Capstone::new().arm64().mode(arm64::ArchMode::Arm).build(), "aarch64")
        } else {
            weft::bail!("cannot disassemble code for {target}: only x86-64 and aarch64 are supported")
        };
        let mut capstone = capstone.map_err(|e| weft::anyhow!("cannot set up the disassembler: {e}"))?;
        // Bytes that decode as no instruction (constants after a function's code) become `.byte` lines instead of
        // ending the listing.
        capstone.set_skipdata(true).map_err(|e| weft::anyhow!("cannot set up the disassembler: {e}"))?;
        Ok(Disassembler { capstone, arch })
    }

    /// The architecture's name as the page shows it.
    pub(crate) fn arch(&self) -> &'static str {
        self.arch
    }

    /// The instructions of `code`, a function's machine code, in order.
    pub(crate) fn disassemble(&self, code: &[u8]) -> Result<Vec<Instruction>> {
        let instructions =
            self.capstone.disasm_all(code, 0).map_err(|e| weft::anyhow!("cannot disassemble machine code: {e}"))?;
        Ok(instructions
            .iter()
            .map(|insn| Instruction {
                offset: insn.address() as u32,
                len: insn.len() as u32,
                mnemonic: insn.mnemonic().unwrap_or("").to_string(),
                operands: insn.op_str().unwrap_or("").to_string(),
            })
            .collect())
    }
}
