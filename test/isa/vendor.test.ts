// The vendor-dependent behaviours of src/cpu/vendor.ts, one crafted case each: both of osvemu's models give
// what docs/cpu-vendors.md says (so every behaviour has a test that can fail on any host), and the host
// CPU gives what osvemu's model of the host's vendor gives. The other vendor's host check cannot run here:
// it is reported as skipped, with the corpus that checks it instead.
import { describe, expect, it } from 'vitest';
import { cpuid, DEFAULT_CPUID } from '../../src/cpu/system/cpuid.js';
import { AMD, CPU_VENDOR_NAMES, type CpuVendorName, INTEL, parseCpuVendor } from '../../src/cpu/vendor.js';
import { Blob, DATA_ADDR, newInput } from './blob.js';
import { firstDiff, undefMask } from './compare.js';
import { runEmulated } from './emu.js';
import { hostDescription, hostVendor } from './host-vendor.js';
import { nativeUnavailableReason, runNative } from './native.js';

interface VendorCase {
  behaviour: keyof typeof INTEL;
  what: string;
  code: number[];
  input: () => Blob;
  /** Checks one model's (or the host's) output. */
  expect: Record<CpuVendorName, (out: Blob, input: Blob) => void>;
}

const at = (off: number) => DATA_ADDR + BigInt(off);
const nonCanonical = 0x0000_8000_0000_0000n;

const CASES: VendorCase[] = [
  {
    behaviour: 'pauseIgnoresRexB', what: 'f3 41 90 (rex.B pause)', code: [0xf3, 0x41, 0x90],
    input: () => { const b = newInput(); b.setGpr('rax', 0x1111n); b.setGpr('r8', 0x2222n); return b; },
    expect: {
      intel: (o) => { expect(o.gpr('rax')).toBe(0x1111n); expect(o.gpr('r8')).toBe(0x2222n); },
      amd: (o) => { expect(o.gpr('rax')).toBe(0x2222n); expect(o.gpr('r8')).toBe(0x1111n); },
    },
  },
  {
    behaviour: 'callNonCanonicalWritesReturn', what: 'call *%rax to a non-canonical target', code: [0xff, 0xd0],
    input: () => { const b = newInput(); b.setGpr('rax', nonCanonical); b.setGpr('rsp', at(0x800)); return b; },
    expect: {
      intel: (o) => {
        expect(o.vector).toBe(13); expect(o.gpr('rsp')).toBe(at(0x800));
        expect(new DataView(o.mem.buffer, o.mem.byteOffset).getBigUint64(0x7f8, true)).toBe(0x2_0000_0002n);
      },
      amd: (o, i) => { expect(o.vector).toBe(13); expect(o.mem.subarray(0x7f8, 0x800)).toEqual(i.mem.subarray(0x7f8, 0x800)); },
    },
  },
  {
    behaviour: 'repCompareFaultKeepsFlags', what: 'repne scasb running into an unmapped page', code: [0xf2, 0xae],
    input: () => {
      const b = newInput(); b.setGpr('rdi', at(0xffc)); b.setGpr('rcx', 10n); b.setGpr('rax', 0n); b.rflags = 0x202 | 0x1 | 0x80;
      b.mem.fill(0x40, 0xffc); return b;
    },
    expect: {
      intel: (o) => { expect(o.vector).toBe(14); expect(o.gpr('rcx')).toBe(6n); expect(o.rflags & 0xff).toBe(0x83); },
      amd: (o) => { expect(o.vector).toBe(14); expect(o.gpr('rcx')).toBe(6n); expect(o.rflags & 0xd5).toBe(0x85); }, // cmp 0, 0x40: CF SF PF
    },
  },
  {
    behaviour: 'x87TenByteStoreSplit', what: 'fstpt across the end of the page', code: [0xdb, 0x3e],
    input: () => {
      const b = newInput(); b.setGpr('rsi', at(0xff7)); b.ftw = 1; b.st(0).set([1, 2, 3, 4, 5, 6, 7, 0x87, 0xff, 0x3f]);
      b.mem.fill(0xee, 0xff0); return b;
    },
    expect: {
      intel: (o) => { expect(o.vector).toBe(14); expect([...o.mem.subarray(0xff7)]).toEqual([1, 2, 3, 4, 5, 6, 7, 0x87, 0xee]); },
      amd: (o) => { expect(o.vector).toBe(14); expect([...o.mem.subarray(0xff7)]).toEqual(Array(9).fill(0xee)); },
    },
  },
  {
    behaviour: 'x87StoreExceptionBeforePageFault', what: 'fistps from an empty stack (unmasked IE) to an unmapped page',
    code: [0xdf, 0x1e],
    input: () => { const b = newInput(); b.setGpr('rsi', at(0x1000)); b.fcw = 0x37e; b.ftw = 0; return b; },
    expect: {
      intel: (o) => { expect(o.vector).toBe(3); expect(o.fsw & 0x80c1).toBe(0x80c1); },
      amd: (o) => { expect(o.vector).toBe(14); expect(o.fsw).toBe(0); },
    },
  },
  {
    behaviour: 'mmxStoreFaultTopZero', what: 'movq %mm0,(%rsi) to an unmapped page', code: [0x0f, 0x7f, 0x06],
    input: () => { const b = newInput(); b.setGpr('rsi', at(0xffc)); b.fsw = 3 << 11; b.ftw = 0x0f; return b; },
    expect: {
      intel: (o) => { expect(o.vector).toBe(14); expect(o.fsw).toBe(0); expect(o.ftw).toBe(0x0f); },
      amd: (o) => { expect(o.vector).toBe(14); expect(o.fsw).toBe(3 << 11); },
    },
  },
  {
    behaviour: 'maskmovHalves', what: 'maskmovdqu across the end of the page', code: [0x66, 0x0f, 0xf7, 0xca],
    input: () => { const b = newInput(); b.setGpr('rdi', at(0xffe)); b.xmm(2).fill(0x80); return b; },
    expect: {
      intel: (o) => { expect(o.vector).toBe(14); expect(o.faultAddr).toBe(at(0x1006)); },
      amd: (o) => { expect(o.vector).toBe(14); expect(o.faultAddr).toBe(at(0x1000)); },
    },
  },
  {
    behaviour: 'dppsLaneOrder', what: 'dpps $0xff with NaNs in products 0 and 2', code: [0x66, 0x0f, 0x3a, 0x40, 0xc1, 0xff],
    input: () => {
      const b = newInput();
      const dv = (x: Uint8Array) => new DataView(x.buffer, x.byteOffset, 16);
      [0xffc00000, 0x3f800000, 0x7fc00000, 0x3f800000].forEach((v, k) => dv(b.xmm(1)).setUint32(4 * k, v, true));
      [0x3f800000, 0x3f800000, 0x3f800000, 0x3f800000].forEach((v, k) => dv(b.xmm(0)).setUint32(4 * k, v, true));
      return b;
    },
    expect: {
      intel: (o) => { expect(lanes(o)).toEqual([0xffc00000, 0xffc00000, 0x7fc00000, 0x7fc00000]); },
      amd: (o) => { expect(lanes(o)).toEqual([0xffc00000, 0xffc00000, 0xffc00000, 0xffc00000]); },
    },
  },
];

function lanes(o: Blob): number[] {
  const dv = new DataView(o.xmm(0).buffer, o.xmm(0).byteOffset, 16);
  return [0, 1, 2, 3].map((k) => dv.getUint32(4 * k, true));
}

const host = hostVendor();
const noNative = nativeUnavailableReason();

describe('CPU vendor models (src/cpu/vendor.ts)', () => {
  it('CPUID advertises the vendor string and signature of the model', () => {
    const out = new Int32Array(4);
    for (const v of [INTEL, AMD]) {
      cpuid(DEFAULT_CPUID, 0, 0, 0, out, false, v);
      const s = [out[1]!, out[3]!, out[2]!].map((w) => String.fromCharCode(w & 0xff, (w >> 8) & 0xff, (w >> 16) & 0xff, (w >>> 24) & 0xff)).join('');
      expect(s).toBe(v.vendorString);
      cpuid(DEFAULT_CPUID, 0, 1, 0, out, false, v);
      expect(out[0]).toBe(v.signature);
    }
    // The cpuid instruction of a vCPU answers with its model's vendor (and so does the host with its own).
    const vendorOf = (o: Blob) => [o.gpr('rbx'), o.gpr('rdx'), o.gpr('rcx')]
      .map((r) => Buffer.from(new BigUint64Array([r]).buffer).subarray(0, 4).toString('latin1')).join('');
    const code = Uint8Array.of(0x0f, 0xa2);
    for (const v of [INTEL, AMD]) expect(vendorOf(new Blob(runEmulated(newInput().bytes, code, v.name)))).toBe(v.vendorString);
    if (!noNative && host) expect(vendorOf(new Blob(runNative([{ code, input: newInput().bytes }])[0]!))).toBe(host === 'amd' ? 'AuthenticAMD' : 'GenuineIntel');
    expect(parseCpuVendor('AMD')).toBe('amd');
    expect(parseCpuVendor('GenuineIntel')).toBe('intel');
    expect(parseCpuVendor('via')).toBeNull();
  });

  it('every vendor-dependent behaviour has a case here, and the two models differ on it', () => {
    const flags = (Object.keys(INTEL) as (keyof typeof INTEL)[]).filter((k) => typeof INTEL[k] === 'boolean');
    expect(CASES.map((c) => c.behaviour).sort()).toEqual(flags.sort());
    for (const c of CASES) {
      const i = c.input(), code = Uint8Array.from(c.code);
      const a = runEmulated(i.bytes.slice(), code, 'intel'), b = runEmulated(i.bytes.slice(), code, 'amd');
      expect(firstDiff(a, b, undefMask(null)), c.what).toBeGreaterThanOrEqual(0);
    }
  });

  for (const c of CASES) {
    for (const v of CPU_VENDOR_NAMES) {
      it(`${v} model: ${c.what}`, () => {
        const i = c.input();
        c.expect[v](new Blob(runEmulated(i.bytes.slice(), Uint8Array.from(c.code), v)), i);
      });
      const skip = noNative ?? (host === null ? `host CPU is ${hostDescription()}` : host !== v
        ? `host is ${hostDescription()}; the ${v} behaviour is checked against recorded ${v} host results (test/isa/corpus/${v}.json.gz)`
        : null);
      it.skipIf(skip !== null)(`${v} host: ${c.what}${skip ? ` [skipped: ${skip}]` : ''}`, () => {
        const i = c.input(), code = Uint8Array.from(c.code);
        const native = new Blob(runNative([{ code, input: i.bytes }])[0]!);
        c.expect[v](native, i);
        expect(firstDiff(native.bytes, runEmulated(i.bytes.slice(), code, v), undefMask(null))).toBe(-1);
      });
    }
  }
});
