// SPDX-License-Identifier: MIT OR GPL-2.0-only
//! The VM: in-kernel irqchip, the guest image in one memory slot, one vCPU in 32-bit protected mode (no paging)
//! at the guest's entry point.

use anyhow::{bail, Context, Result};
use kvm_bindings::{kvm_segment, kvm_sregs, kvm_userspace_memory_region, KVM_MAX_CPUID_ENTRIES};
use kvm_ioctls::{Kvm, VcpuFd, VmFd};

use crate::image::{guest_image, CODE, GDT, IDT, MEM_SIZE, STACK_TOP};
use crate::repair::{apic_bits, apic_word};

/// IRR/ISR vectors, TPR/PPR, mp_state and rip of the vCPU.
pub(crate) fn vcpu_state(vcpu: &kvm_ioctls::VcpuFd) -> String {
    let bits = |regs: &[libc::c_char], base: usize| -> Vec<String> {
        apic_bits(regs, base)
            .iter()
            .map(|v| format!("{v:#x}"))
            .collect()
    };
    let lapic = match vcpu.get_lapic() {
        Ok(l) => {
            let r = &l.regs[..];
            let word = |o: usize| apic_word(r, o);
            format!(
                "IRR [{}] ISR [{}] TPR {:#x} PPR {:#x} SVR {:#x}",
                bits(r, 0x200).join(" "),
                bits(r, 0x100).join(" "),
                word(0x80),
                word(0xA0),
                word(0xF0)
            )
        }
        Err(e) => format!("KVM_GET_LAPIC: {e}"),
    };
    let mp = vcpu
        .get_mp_state()
        .map(|m| m.mp_state.to_string())
        .unwrap_or_else(|e| e.to_string());
    let rip = vcpu
        .get_regs()
        .map(|r| format!("{:#x}", r.rip))
        .unwrap_or_else(|e| e.to_string());
    format!("{lapic} mp_state {mp} rip {rip}")
}

pub(crate) fn seg(selector: u16, type_: u8) -> kvm_segment {
    kvm_segment {
        base: 0,
        limit: 0xFFFF_FFFF,
        selector,
        type_,
        present: 1,
        dpl: 0,
        db: 1,
        s: 1,
        l: 0,
        g: 1,
        avl: 0,
        unusable: 0,
        padding: 0,
    }
}

/// The VM with its in-kernel irqchip and the guest image, and its one vCPU at the guest's entry point in 32-bit
/// protected mode; also the vCPU's initial segment registers (what `repair_apic` restores).
pub(crate) fn create() -> Result<(VmFd, VcpuFd, kvm_sregs)> {
    let kvm = Kvm::new().context("open /dev/kvm")?;
    let vm = kvm.create_vm().context("KVM_CREATE_VM")?;
    vm.create_irq_chip().context("KVM_CREATE_IRQCHIP")?;

    // Guest memory.
    let image = guest_image();
    // SAFETY: anonymous private mapping of MEM_SIZE bytes, checked below; it lives until the process exits.
    let mem = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            MEM_SIZE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if mem == libc::MAP_FAILED {
        bail!("mmap guest memory: {}", std::io::Error::last_os_error());
    }
    // SAFETY: `mem` is a fresh writable mapping of MEM_SIZE bytes.
    unsafe { std::ptr::copy_nonoverlapping(image.as_ptr(), mem as *mut u8, MEM_SIZE) };
    let region = kvm_userspace_memory_region {
        slot: 0,
        flags: 0,
        guest_phys_addr: 0,
        memory_size: MEM_SIZE as u64,
        userspace_addr: mem as u64,
    };
    // SAFETY: the region maps memory we own for the life of the process.
    unsafe { vm.set_user_memory_region(region) }.context("KVM_SET_USER_MEMORY_REGION")?;

    let vcpu = vm.create_vcpu(0).context("KVM_CREATE_VCPU")?;
    let cpuid = kvm
        .get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)
        .context("KVM_GET_SUPPORTED_CPUID")?;
    vcpu.set_cpuid2(&cpuid).context("KVM_SET_CPUID2")?;
    let mut sregs = vcpu.get_sregs().context("KVM_GET_SREGS")?;
    sregs.cs = seg(0x08, 0xB);
    let data = seg(0x10, 0x3);
    sregs.ds = data;
    sregs.es = data;
    sregs.fs = data;
    sregs.gs = data;
    sregs.ss = data;
    sregs.gdt.base = GDT as u64;
    sregs.gdt.limit = 3 * 8 - 1;
    sregs.idt.base = IDT as u64;
    sregs.idt.limit = 256 * 8 - 1;
    sregs.cr0 |= 1; // PE
    vcpu.set_sregs(&sregs).context("KVM_SET_SREGS")?;
    let initial_sregs = sregs;
    let mut regs = vcpu.get_regs().context("KVM_GET_REGS")?;
    regs.rip = CODE as u64;
    regs.rsp = STACK_TOP;
    regs.rflags = 2;
    vcpu.set_regs(&regs).context("KVM_SET_REGS")?;
    Ok((vm, vcpu, initial_sregs))
}
