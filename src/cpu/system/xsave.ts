// The 0F AE group: fxsave/fxrstor, ldmxcsr/stmxcsr, xsave/xrstor/xsaveopt (x87 and SSE components),
// clflush and fences, and the FS/GS base register forms. The x87 part of the image comes from the x87
// state object; the SSE part is cpu.xmm and cpu.mxcsr.
import type { Cpu } from '../cpu.js';
import type { Decoder } from '../decoder.js';
import { raise, raiseGP, raiseUD } from '../exceptions.js';
import type { Insn } from '../insn.js';
import { ACC_READ, ACC_WRITE } from '../mmu.js';
import { ea } from '../operands.js';
import { def0F } from '../optable.js';
import { CR0_EM, CR0_TS, CR4_OSFXSR, CR4_OSXSAVE, VEC_NM } from '../regs.js';
import { nop } from '../ops/mov.js';
import { fsgsBase } from './msr.js';

const image = new Uint8Array(576);
const imageDv = new DataView(image.buffer);
/** What memory held before an xsave: the components not saved are written back unchanged. */
const keep = new Uint8Array(576);
export const MXCSR_MASK = 0xffff;

interface X87Image {
  fxsaveInto?: (buf: Uint8Array, off: number, rexW?: boolean) => void;
  fxrstorFrom?: (buf: Uint8Array, off: number, rexW?: boolean) => void;
  reset?: () => void;
}

function checkFpuAvailable(cpu: Cpu): void {
  if (cpu.cr0 & (CR0_EM | CR0_TS)) raise(cpu, VEC_NM);
}

/** Fills the 512-byte legacy region (x87 + SSE) of `image`. */
function saveLegacy(cpu: Cpu, withSse: boolean, rexW: boolean): void {
  image.fill(0, 0, 512);
  const f = cpu.fpu as unknown as X87Image;
  if (f.fxsaveInto) f.fxsaveInto(image, 0, rexW);
  imageDv.setUint32(24, cpu.mxcsr, true);
  imageDv.setUint32(28, MXCSR_MASK, true);
  if (withSse) for (let k = 0; k < 64; k++) imageDv.setInt32(160 + 4 * k, cpu.xmm[k], true);
}

/**
 * Checks the whole save area before touching it. When it crosses into a page that faults, the hardware
 * reports the area's last byte in CR2 (not the page's first byte, as for ordinary split accesses).
 */
function probeArea(cpu: Cpu, a: number, len: number, acc: number): void {
  const m = cpu.mmu;
  const last = a + len - 1;
  // The host checks an image from its end: a fault reports the image's last byte in CR2, whichever page
  // is unmapped (checked against the host for fxsave64 and fxrstor64).
  m.translate(last, acc);
  if (last - (last & 0xfff) !== a - (a & 0xfff)) {
    if (acc === ACC_WRITE) m.probeWrite(a, 1); else m.probeRead(a, 1);
  }
}

// OSv saves and restores FPU state on every context switch: copy the image in bulk when it lies in one
// RAM page that the TLB already maps (the probe just made sure of that), word by word otherwise.
function storeImage(cpu: Cpu, a: number, len: number): void {
  const m = cpu.mmu;
  probeArea(cpu, a, len, ACC_WRITE);
  const p = (a & 0xfff) + len <= 4096 ? m.ramOffset(a, true) : -1;
  if (p >= 0) { cpu.mem.bytes(p, len).set(image.subarray(0, len)); return; }
  for (let k = 0; k < len; k += 4) m.write32(a + k, imageDv.getInt32(k, true));
}

function loadImage(cpu: Cpu, a: number, len: number): void {
  const m = cpu.mmu;
  probeArea(cpu, a, len, ACC_READ);
  const p = (a & 0xfff) + len <= 4096 ? m.ramOffset(a, false) : -1;
  if (p >= 0) { image.set(cpu.mem.bytes(p, len)); return; }
  for (let k = 0; k < len; k += 4) imageDv.setInt32(k, m.read32(a + k), true);
}

function restoreLegacy(cpu: Cpu, x87: boolean, sse: boolean, rexW: boolean): void {
  if (x87) {
    const f = cpu.fpu as unknown as X87Image;
    if (f.fxrstorFrom) f.fxrstorFrom(image, 0, rexW);
  }
  if (sse) for (let k = 0; k < 64; k++) cpu.xmm[k] = imageDv.getInt32(160 + 4 * k, true);
}

function setMxcsr(cpu: Cpu, v: number): void {
  if (v & ~MXCSR_MASK) raiseGP(cpu, 0);
  cpu.mxcsr = v;
}

function fxsave(cpu: Cpu, i: Insn): void {
  checkFpuAvailable(cpu);
  const a = ea(cpu, i);
  if (a % 16) raiseGP(cpu, 0);
  saveLegacy(cpu, (cpu.cr4 & CR4_OSFXSR) !== 0, i.op === 1);
  storeImage(cpu, a, 512);
}
function fxrstor(cpu: Cpu, i: Insn): void {
  checkFpuAvailable(cpu);
  const a = ea(cpu, i);
  if (a % 16) raiseGP(cpu, 0);
  loadImage(cpu, a, 512);
  const mx = imageDv.getUint32(24, true);
  if (mx & ~MXCSR_MASK) raiseGP(cpu, 0);
  restoreLegacy(cpu, true, (cpu.cr4 & CR4_OSFXSR) !== 0, i.op === 1);
  cpu.mxcsr = mx;
}
function ldmxcsr(cpu: Cpu, i: Insn): void {
  checkFpuAvailable(cpu);
  setMxcsr(cpu, cpu.mmu.read32(ea(cpu, i)) >>> 0);
}
function stmxcsr(cpu: Cpu, i: Insn): void {
  checkFpuAvailable(cpu);
  cpu.mmu.write32(ea(cpu, i), cpu.mxcsr);
}

function checkXsave(cpu: Cpu): void {
  if (!(cpu.cr4 & CR4_OSXSAVE)) raiseUD(cpu);
  checkFpuAvailable(cpu);
}

function xsave(cpu: Cpu, i: Insn): void {
  checkXsave(cpu);
  const a = ea(cpu, i);
  if (a % 64) raiseGP(cpu, 0);
  const rfbm = cpu.r32[0] & cpu.xcr0;
  // Only the requested components are written; the header's XSTATE_BV records which hold state.
  loadImage(cpu, a, 576);
  keep.set(image);
  saveLegacy(cpu, true, i.op === 1);
  if (!(rfbm & 1)) { image.set(keep.subarray(0, 24), 0); image.set(keep.subarray(32, 160), 32); }
  if (!(rfbm & 2)) image.set(keep.subarray(160, 416), 160);
  // MXCSR belongs to the SSE (and AVX) components.
  if (!(rfbm & 2)) image.set(keep.subarray(24, 32), 24);
  image.set(keep.subarray(416, 512), 416);
  const bv = (keep[512] & ~rfbm) | rfbm;
  image.fill(0, 512, 576);
  image.set(keep.subarray(520, 576), 520);
  image[512] = bv;
  storeImage(cpu, a, 576);
}
function xrstor(cpu: Cpu, i: Insn): void {
  checkXsave(cpu);
  const a = ea(cpu, i);
  if (a % 64) raiseGP(cpu, 0);
  loadImage(cpu, a, 576);
  const rfbm = cpu.r32[0] & cpu.xcr0;
  const bv = image[512];
  // Standard form: XSTATE_BV may name only XCR0 components and header bytes 8..23 (XCOMP_BV and the next
  // quadword) must be zero. Header bytes 24..63 are reserved but not checked (OSv leaves data there).
  if (imageDv.getUint32(516, true) || bv & ~cpu.xcr0 & 0xff) raiseGP(cpu, 0);
  for (let k = 520; k < 536; k += 4) if (imageDv.getUint32(k, true)) raiseGP(cpu, 0);
  if (rfbm & 2) {
    const mx = imageDv.getUint32(24, true);
    if (mx & ~MXCSR_MASK) raiseGP(cpu, 0);
    cpu.mxcsr = mx;
  }
  if (rfbm & 1) {
    if (bv & 1) restoreLegacy(cpu, true, false, i.op === 1);
    else { const f = cpu.fpu as unknown as X87Image; if (f.reset) f.reset(); }
  }
  if (rfbm & 2) {
    if (bv & 2) restoreLegacy(cpu, false, true, i.op === 1);
    else cpu.xmm.fill(0);
  }
}

/** No cache to flush, but the address is checked like a one-byte load (#PF, #GP). */
function clflush(cpu: Cpu, i: Insn): void {
  cpu.mmu.probeRead(ea(cpu, i), 1);
}

function decodeAE(d: Decoder, i: Insn): void {
  d.modrm(i);
  const r = d.regField;
  if (!i.mem) {
    if (d.rep === 0xF3 && r < 4 && d.mode === 64) { i.op = r; i.size = d.rexW ? 64 : 32; i.h = fsgsBase; return; }
    if (d.rep === 0 && !d.p66 && r >= 5) { i.h = nop; return; } // lfence, mfence, sfence
    return;
  }
  if (d.rep !== 0) return;
  i.op = d.rexW ? 1 : 0;
  // With 66 only clwb (/6) and clflushopt (/7) exist: 66-prefixed fxsave/fxrstor/ldmxcsr/stmxcsr/xsave/xrstor are #UD
  // (the host CPU and the SDM agree).
  if (d.p66) {
    if (r >= 6) i.h = clflush; // clwb / clflushopt: no cache, only the address check
    return;
  }
  switch (r) {
    case 0: i.h = fxsave; return;
    case 1: i.h = fxrstor; return;
    case 2: i.h = ldmxcsr; return;
    case 3: i.h = stmxcsr; return;
    case 4: i.h = xsave; return;
    case 5: i.h = xrstor; return;
    case 6: i.h = xsave; return; // xsaveopt: same result as xsave for these components
    case 7: i.h = clflush; return;
  }
}
def0F(0xAE, decodeAE);
