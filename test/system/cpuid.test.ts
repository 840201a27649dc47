// The CPUID model: vendor and leaves OSv reads, configuration switches, and the rule that the default
// advertises exactly the instruction-set extensions the decoder implements.
import { describe, expect, it } from 'vitest';
import { decodeOne } from '../../src/cpu/decoder.js';
import { opUD, opUnimplemented } from '../../src/cpu/ops/invalid.js';
import { cpuid, CpuidConfig, DEFAULT_CPUID, FEATURE_PROBES, implementedFeatures } from '../../src/cpu/system/cpuid.js';
import { cpuidConfigs } from '../../src/cpu/system/msr.js';
import { rec, result, trapGuest } from './guest.js';
import { toolchainMissing } from './harness.js';

function leaf(cfg: CpuidConfig, l: number, sub = 0, apic = 0, osxsave = false): number[] {
  const out = new Int32Array(4);
  cpuid(cfg, apic, l, sub, out, osxsave);
  return Array.from(out, (v) => v >>> 0);
}
const str = (...regs: number[]) => regs.map((r) => String.fromCharCode(r & 0xff, (r >> 8) & 0xff, (r >> 16) & 0xff, r >>> 24)).join('');

describe('CPUID model', () => {
  const cfg: CpuidConfig = { ...DEFAULT_CPUID };

  it('vendor, max leaves, brand string', () => {
    const [max, b, c, d] = leaf(cfg, 0);
    expect(max).toBe(0xd);
    expect(str(b!, d!, c!)).toBe('GenuineIntel');
    expect(leaf(cfg, 0x80000000)[0]).toBe(0x80000008);
    const brand = [0x80000002, 0x80000003, 0x80000004].map((l) => str(...leaf(cfg, l))).join('').replace(/\0+$/, '');
    expect(brand).toBe('osvemu virtual x86-64 CPU');
  });

  it('leaf 1: the boot minimum (FPU PSE TSC MSR PAE CX8 APIC PGE CMOV FXSR SSE SSE2, clflush), APIC ID, hypervisor', () => {
    const [, ebx, ecx, edx] = leaf(cfg, 1, 0, 3);
    for (const bit of [0, 3, 4, 5, 6, 8, 9, 13, 15, 19, 24, 25, 26]) expect((edx! >>> bit) & 1, `edx bit ${bit}`).toBe(1);
    for (const bit of [11, 12, 16]) expect((edx! >>> bit) & 1, `edx bit ${bit} (SEP, MTRR, PAT)`).toBe(0);
    expect(ebx! >>> 24).toBe(3);
    expect((ebx! >> 8) & 0xff).toBe(8);
    expect(ecx! >>> 31).toBe(1);
    expect((ecx! >>> 28) & 1).toBe(0); // no AVX
    expect((ecx! >>> 24) & 1).toBe(0); // no TSC deadline
  });

  it('long mode, NX, syscall, rdtscp, invariant TSC, address widths', () => {
    const [, , ecx, edx] = leaf(cfg, 0x80000001);
    expect(edx! & ((1 << 11) | (1 << 20) | (1 << 27) | (1 << 29))).toBe((1 << 11) | (1 << 20) | (1 << 27) | (1 << 29));
    expect(ecx! & 1).toBe(1);
    expect(leaf(cfg, 0x80000007)[3]).toBe(1 << 8);
    expect(leaf(cfg, 0x80000008)[0]).toBe(0x3027);
  });

  it('KVM signature and kvmclock features, only when configured', () => {
    const [max, b, c, d] = leaf(cfg, 0x40000000);
    expect(max).toBe(0x40000001);
    expect(str(b!, c!, d!)).toBe('KVMKVMKVM\0\0\0');
    expect(leaf(cfg, 0x40000001)[0]).toBe((1 << 0) | (1 << 3) | (1 << 24));
    expect(leaf({ ...cfg, kvmclock: false }, 0x40000000)).toEqual([0, 0, 0, 0]);
  });

  it('configuration switches: x2apic, xsave (+ leaf 0xD), fsgsbase, 1 GiB pages, OSXSAVE follows CR4', () => {
    expect((leaf({ ...cfg, x2apic: true }, 1)[2]! >>> 21) & 1).toBe(1);
    expect((leaf({ ...cfg, x2apic: false }, 1)[2]! >>> 21) & 1).toBe(0);
    expect((leaf({ ...cfg, xsave: true }, 1)[2]! >>> 26) & 1).toBe(1);
    expect((leaf({ ...cfg, xsave: true }, 1, 0, 0, false)[2]! >>> 27) & 1).toBe(0);
    expect((leaf({ ...cfg, xsave: true }, 1, 0, 0, true)[2]! >>> 27) & 1).toBe(1);
    expect(leaf({ ...cfg, xsave: true }, 0xd)).toEqual([3, 576, 576, 0]);
    expect(leaf({ ...cfg, xsave: false }, 0xd)).toEqual([0, 0, 0, 0]);
    expect(leaf({ ...cfg, fsgsbase: true }, 7)[1]! & 1).toBe(1);
    expect(leaf({ ...cfg, fsgsbase: false }, 7)[1]! & 1).toBe(0);
    expect((leaf({ ...cfg, gbpages: false }, 0x80000001)[3]! >>> 26) & 1).toBe(0);
    expect(leaf(cfg, 0xb, 0, 5)[3]).toBe(5);
  });

  it('the default advertises exactly the probed extensions, and the probes match the decoder', () => {
    const f = implementedFeatures();
    const ecx = leaf(DEFAULT_CPUID, 1)[2]!;
    const bits: Record<string, number> = { sse3: 0, ssse3: 9, cx16: 13, sse41: 19, sse42: 20, movbe: 22, popcnt: 23 };
    for (const [name, bit] of Object.entries(bits)) {
      expect(((ecx >>> bit) & 1) === 1, name).toBe(f[name as keyof typeof f]);
    }
    expect(((leaf(DEFAULT_CPUID, 0x80000001)[2]! >>> 5) & 1) === 1).toBe(f.lzcnt);
    for (const [name, list] of Object.entries(FEATURE_PROBES)) {
      const ok = list.every((b) => {
        const buf = new Uint8Array(16);
        buf.set(b);
        const { insn, implemented } = decodeOne(buf, 0, 64);
        return implemented && insn.h !== opUD && insn.h !== opUnimplemented;
      });
      expect(ok, name).toBe(f[name as keyof typeof f]);
    }
    // The baseline OSv needs must be there.
    expect(f.sse3 && f.ssse3 && f.popcnt && f.cx16).toBe(true);
  });
});

describe.skipIf(toolchainMissing() !== null)('cpuid instruction', () => {
  it('returns the per-vCPU configuration; CR4.OSXSAVE cannot be set when xsave is not advertised', () => {
    const { vm } = trapGuest(`
start:
  mov $1, %eax
  cpuid
  RESULT 0, %rcx
  mov %cr4, %rax
  or $0x40000, %rax
  FAULT_VECTOR 1, mov %rax, %cr4
  mov $0x40000000, %eax
  cpuid
  RESULT 2, %rbx
  EXIT 0
`);
    cpuidConfigs.set(vm.cpu, { ...DEFAULT_CPUID, xsave: false, x2apic: true, kvmclock: false });
    vm.mem.dv.setBigUint64(0x200008, 0xffffffffffffffffn, true);
    expect(vm.run(1000).exitCode).toBe(0);
    expect((Number(result(vm, 0)) >>> 21) & 1).toBe(1);
    expect((Number(result(vm, 0)) >>> 26) & 1).toBe(0);
    expect(result(vm, 1)).toBe(13n);
    expect(result(vm, 2)).toBe(0n);
    void rec;
  });
});
