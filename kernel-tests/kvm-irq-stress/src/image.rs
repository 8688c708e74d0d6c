// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! The guest: a tiny 32-bit protected-mode program (no paging) in the VM's one memory slot. Its IDT stubs EOI
//! the local APIC and report each vector with `out PORT_VECTOR, al`; exceptions report on `PORT_FAULT` and stop;
//! the main code software-enables the APIC, reports ready and idles in `hlt`.

/// The guest's memory, one slot at guest-physical 0.
pub(crate) const MEM_SIZE: usize = 1 << 20;
/// Offset of the idle loop's `hlt` in the guest's main code (after the SVR write, the ready `out` and `sti`).
pub(crate) const IDLE_HLT: usize = 13;
pub(crate) const GDT: usize = 0x1000;
pub(crate) const IDT: usize = 0x2000;
/// One interrupt stub per vector, `STUB_LEN` bytes apart.
pub(crate) const STUBS: usize = 0x3000;
pub(crate) const STUB_LEN: usize = 32;
/// The guest's entry point (its main code).
pub(crate) const CODE: usize = 0x8000;
pub(crate) const STACK_TOP: u64 = 0xF000;
/// `out` ports: a vector handled, an exception, the spurious vector, the guest ready.
pub(crate) const PORT_VECTOR: u16 = 0x10;
pub(crate) const PORT_FAULT: u16 = 0x11;
pub(crate) const PORT_SPURIOUS: u16 = 0x12;
pub(crate) const PORT_READY: u16 = 0x13;
/// The first vector the GSIs' routes use (vectors `VEC_BASE..0xF0` are shared out between them).
pub(crate) const VEC_BASE: u32 = 0x30;
pub(crate) const SPURIOUS_VECTOR: u8 = 0xFF;
/// The first GSI tested.
pub(crate) const GSI_BASE: u32 = 32;

/// The guest's memory image: GDT, IDT, the interrupt stubs and the main code.
#[rustfmt::skip]
pub(crate) fn guest_image() -> Vec<u8> {
    let mut m = vec![0u8; MEM_SIZE];
    // GDT: null, flat 32-bit code (0x08), flat 32-bit data (0x10).
    let gdt: [u64; 3] = [0, 0x00CF_9A00_0000_FFFF, 0x00CF_9200_0000_FFFF];
    for (i, d) in gdt.iter().enumerate() {
        m[GDT + i * 8..GDT + i * 8 + 8].copy_from_slice(&d.to_le_bytes());
    }
    for v in 0..256usize {
        let stub = STUBS + v * STUB_LEN;
        let code: Vec<u8> = if v < 32 {
            // exception: report it and stop
            vec![
                0xB0, v as u8,                  // mov al, v
                0xE6, PORT_FAULT as u8,         // out PORT_FAULT, al
                0xFA,                           // cli
                0xF4,                           // 1: hlt
                0xEB, 0xFD,                     // jmp 1b
            ]
        } else if v == SPURIOUS_VECTOR as usize {
            // spurious: report, no EOI
            vec![
                0x50,                           // push eax
                0xB0, v as u8,                  // mov al, v
                0xE6, PORT_SPURIOUS as u8,      // out PORT_SPURIOUS, al
                0x58,                           // pop eax
                0xCF,                           // iretd
            ]
        } else {
            // EOI first, then report: once the host sees the port write the vector is no longer in service,
            // so an in-service bit with the vCPU idle always means a handler that never ran (see
            // `repair_apic`).
            vec![
                0x50,                           // push eax
                0xC7, 0x05, 0xB0, 0x00, 0xE0, 0xFE, 0, 0, 0, 0, // mov dword [0xFEE000B0 (EOI)], 0
                0xB0, v as u8,                  // mov al, v
                0xE6, PORT_VECTOR as u8,        // out PORT_VECTOR, al
                0x58,                           // pop eax
                0xCF,                           // iretd
            ]
        };
        m[stub..stub + code.len()].copy_from_slice(&code);
        // 32-bit interrupt gate, selector 0x08, DPL 0, present.
        let off = stub as u64;
        let gate: u64 = (off & 0xFFFF) | (0x08u64 << 16) | (0x8Eu64 << 40) | ((off >> 16) << 48);
        m[IDT + v * 8..IDT + v * 8 + 8].copy_from_slice(&gate.to_le_bytes());
    }
    let main = [
        0xC7, 0x05, 0xF0, 0x00, 0xE0, 0xFE, 0xFF, 0x01, 0x00, 0x00, // mov dword [0xFEE000F0 (SVR)], 0x1FF: enable, spurious 0xFF
        0xE6, PORT_READY as u8,         // out PORT_READY, al
        0xFB,                           // sti
        0xF4,                           // 1: hlt (at IDLE_HLT)
        0xEB, 0xFD,                     // jmp 1b
    ];
    m[CODE..CODE + main.len()].copy_from_slice(&main);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_hlt_is_the_main_codes_hlt() {
        let m = guest_image();
        assert_eq!(m[CODE + IDLE_HLT], 0xF4);
        assert_eq!(m[CODE + IDLE_HLT + 1..CODE + IDLE_HLT + 3], [0xEB, 0xFD]);
    }
}
