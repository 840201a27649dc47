// The CPUID model: advertises what osvemu implements, following what OSv reads (arch/x64/cpuid.cc, see
// /work/shared/docs/osv-machine.md §2). Configurable so that both of OSv's clock paths (kvmclock, HPET),
// both APIC modes and both FPU-state paths can be tested. The instruction-set bits of the default model
// are probed from the decoder (every representative encoding of the extension must be implemented), so
// the model never claims an extension a guest would then trip over.
import { decodeOne } from '../decoder.js';
import { opUD, opUnimplemented } from '../ops/invalid.js';
import { type CpuVendor, DEFAULT_VENDOR } from '../vendor.js';

export interface CpuidConfig {
  /** Advertise the KVM signature and kvmclock (else the guest must find an HPET). */
  kvmclock: boolean;
  /** Advertise x2APIC (OSv then drives the APIC through MSRs). */
  x2apic: boolean;
  /** Advertise FSGSBASE (OSv then uses wrfsbase on every thread switch). */
  fsgsbase: boolean;
  /** Advertise XSAVE (x87 + SSE components; OSv then uses xsave/xrstor). */
  xsave: boolean;
  /** Advertise 1 GiB pages (CPUID 0x80000001 EDX bit 26). */
  gbpages: boolean;
  /** Instruction-set extensions (defaults: what the decoder implements). */
  sse3: boolean;
  ssse3: boolean;
  sse41: boolean;
  sse42: boolean;
  popcnt: boolean;
  cx16: boolean;
  movbe: boolean;
  lzcnt: boolean;
  rdrand: boolean;
  rdseed: boolean;
  cpus: number;
}

type Probed = 'sse3' | 'ssse3' | 'sse41' | 'sse42' | 'popcnt' | 'cx16' | 'movbe' | 'lzcnt';

/** Representative encodings (64-bit mode) of each extension: all must decode to an implemented handler. */
export const FEATURE_PROBES: Record<Probed, readonly (readonly number[])[]> = {
  // haddps, movddup, lddqu, addsubpd, movshdup, fisttp
  sse3: [[0xf2, 0x0f, 0x7c, 0xc1], [0xf2, 0x0f, 0x12, 0xc1], [0xf2, 0x0f, 0xf0, 0x00], [0x66, 0x0f, 0xd0, 0xc1],
    [0xf3, 0x0f, 0x16, 0xc1], [0xdf, 0x08]],
  // pshufb, palignr, pmaddubsw, pabsb, phaddw, pmulhrsw, psignb
  ssse3: [[0x66, 0x0f, 0x38, 0x00, 0xc1], [0x66, 0x0f, 0x3a, 0x0f, 0xc1, 0x01], [0x66, 0x0f, 0x38, 0x04, 0xc1],
    [0x66, 0x0f, 0x38, 0x1c, 0xc1], [0x66, 0x0f, 0x38, 0x01, 0xc1], [0x66, 0x0f, 0x38, 0x0b, 0xc1], [0x66, 0x0f, 0x38, 0x08, 0xc1]],
  // pblendvb, ptest, pminsd, pextrd, pinsrd, roundps, pmovzxbw, pblendw, packusdw, dpps, mpsadbw, pmulld, pcmpeqq
  sse41: [[0x66, 0x0f, 0x38, 0x10, 0xc1], [0x66, 0x0f, 0x38, 0x17, 0xc1], [0x66, 0x0f, 0x38, 0x39, 0xc1],
    [0x66, 0x0f, 0x3a, 0x16, 0xc0, 0x01], [0x66, 0x0f, 0x3a, 0x22, 0xc0, 0x01], [0x66, 0x0f, 0x3a, 0x08, 0xc1, 0x01],
    [0x66, 0x0f, 0x38, 0x30, 0xc1], [0x66, 0x0f, 0x3a, 0x0e, 0xc1, 0x01], [0x66, 0x0f, 0x38, 0x2b, 0xc1],
    [0x66, 0x0f, 0x3a, 0x40, 0xc1, 0x01], [0x66, 0x0f, 0x3a, 0x42, 0xc1, 0x01], [0x66, 0x0f, 0x38, 0x40, 0xc1],
    [0x66, 0x0f, 0x38, 0x29, 0xc1]],
  // pcmpistri, pcmpestri, crc32, pcmpgtq
  sse42: [[0x66, 0x0f, 0x3a, 0x63, 0xc1, 0x00], [0x66, 0x0f, 0x3a, 0x61, 0xc1, 0x00], [0xf2, 0x0f, 0x38, 0xf1, 0xc1],
    [0x66, 0x0f, 0x38, 0x37, 0xc1]],
  popcnt: [[0xf3, 0x0f, 0xb8, 0xc1]],
  cx16: [[0x48, 0x0f, 0xc7, 0x0e]],
  movbe: [[0x0f, 0x38, 0xf0, 0x06], [0x0f, 0x38, 0xf1, 0x06]],
  lzcnt: [[0xf3, 0x0f, 0xbd, 0xc1]],
};

let probed: Record<Probed, boolean> | null = null;

/** Which probed extensions the decoder implements (computed on first use, after all ops registered). */
export function implementedFeatures(): Readonly<Record<Probed, boolean>> {
  if (probed) return probed;
  const buf = new Uint8Array(16);
  const all = (list: readonly (readonly number[])[]) => list.every((bytes) => {
    buf.fill(0);
    buf.set(bytes);
    const { insn, implemented } = decodeOne(buf, 0, 64);
    return implemented && insn.h !== opUD && insn.h !== opUnimplemented;
  });
  const p = {} as Record<Probed, boolean>;
  for (const k of Object.keys(FEATURE_PROBES) as Probed[]) p[k] = all(FEATURE_PROBES[k]);
  probed = p;
  return p;
}

/** The default model; the extension bits are getters so that spreading it probes the decoder then. */
export const DEFAULT_CPUID: CpuidConfig = {
  kvmclock: true, x2apic: false, fsgsbase: true, xsave: true, gbpages: true, rdrand: true, rdseed: true, cpus: 1,
  get sse3() { return implementedFeatures().sse3; },
  get ssse3() { return implementedFeatures().ssse3; },
  get sse41() { return implementedFeatures().sse41; },
  get sse42() { return implementedFeatures().sse42; },
  get popcnt() { return implementedFeatures().popcnt; },
  get cx16() { return implementedFeatures().cx16; },
  get movbe() { return implementedFeatures().movbe; },
  get lzcnt() { return implementedFeatures().lzcnt; },
};

function str4(s: string): number {
  return (s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24)) | 0;
}

const BRAND = 'osvemu virtual x86-64 CPU';

/** Sizes reported by leaf 0xD: the legacy region plus the header (x87 and SSE only). */
export const XSAVE_AREA_SIZE = 576;

/**
 * Fills out[0..3] with eax, ebx, ecx, edx for the leaf/subleaf on vCPU `apicId`. `osxsave` is CR4.OSXSAVE
 * (reflected in leaf 1 ECX bit 27).
 */
export function cpuid(cfg: CpuidConfig, apicId: number, leaf: number, sub: number, out: Int32Array, osxsave = false,
  vendor: CpuVendor = DEFAULT_VENDOR): void {
  out[0] = out[1] = out[2] = out[3] = 0;
  leaf >>>= 0;
  switch (leaf) {
    case 0:
      out[0] = 0xd; out[1] = str4(vendor.vendorString.slice(0, 4)); out[3] = str4(vendor.vendorString.slice(4, 8));
      out[2] = str4(vendor.vendorString.slice(8, 12));
      return;
    case 1: {
      out[0] = vendor.signature;
      out[1] = (apicId << 24) | (Math.max(1, cfg.cpus) << 16) | (8 << 8); // clflush line 64 bytes
      let ecx = 0;
      if (cfg.sse3) ecx |= 1;
      if (cfg.ssse3) ecx |= 1 << 9;
      if (cfg.cx16) ecx |= 1 << 13;
      if (cfg.sse41) ecx |= 1 << 19;
      if (cfg.sse42) ecx |= 1 << 20;
      if (cfg.x2apic) ecx |= 1 << 21;
      if (cfg.movbe) ecx |= 1 << 22;
      if (cfg.popcnt) ecx |= 1 << 23;
      if (cfg.xsave) ecx |= 1 << 26;
      if (cfg.xsave && osxsave) ecx |= 1 << 27;
      if (cfg.rdrand) ecx |= 1 << 30;
      ecx |= 1 << 31; // hypervisor present
      out[2] = ecx;
      // FPU DE PSE TSC MSR PAE CX8 APIC PGE CMOV CLFSH MMX FXSR SSE SSE2 (no SEP, MTRR, MCE/MCA, PAT, PSE36).
      out[3] = (1 << 0) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 8) | (1 << 9) |
        (1 << 13) | (1 << 15) | (1 << 19) | (1 << 23) | (1 << 24) | (1 << 25) | (1 << 26);
      return;
    }
    case 7:
      // fsgsbase, erms, rdseed
      if (sub === 0) out[1] = (cfg.fsgsbase ? 1 : 0) | (1 << 9) | (cfg.rdseed ? 1 << 18 : 0);
      return;
    case 0xb:
      out[0] = 0; out[1] = sub === 0 ? 1 : Math.max(1, cfg.cpus); out[2] = (sub & 0xff) | ((sub === 0 ? 1 : 2) << 8);
      out[3] = apicId;
      if (sub > 1) { out[1] = 0; out[2] = sub & 0xff; }
      return;
    case 0xd:
      if (!cfg.xsave) return;
      if (sub === 0) { out[0] = 3; out[1] = XSAVE_AREA_SIZE; out[2] = XSAVE_AREA_SIZE; }
      else if (sub === 1) out[0] = 1; // xsaveopt
      return;
    case 0x40000000:
      if (!cfg.kvmclock) return;
      out[0] = 0x40000001; out[1] = str4('KVMK'); out[2] = str4('VMKV'); out[3] = str4('M\0\0\0');
      return;
    case 0x40000001:
      if (!cfg.kvmclock) return;
      out[0] = (1 << 0) | (1 << 3) | (1 << 24); // clocksource, clocksource2, clock-stable
      return;
    case 0x80000000:
      out[0] = 0x80000008; return;
    case 0x80000001:
      out[2] = 1 | (cfg.lzcnt ? 1 << 5 : 0) | (1 << 8); // lahf/sahf in long mode, abm (lzcnt), prefetchw
      // syscall, nx, 1 GiB pages, rdtscp, lm
      out[3] = (1 << 11) | (1 << 20) | (cfg.gbpages ? 1 << 26 : 0) | (1 << 27) | (1 << 29);
      return;
    case 0x80000002: case 0x80000003: case 0x80000004: {
      const base = (leaf - 0x80000002) * 16;
      for (let k = 0; k < 4; k++) {
        const s = BRAND.slice(base + 4 * k, base + 4 * k + 4).padEnd(4, '\0');
        out[k] = str4(s);
      }
      return;
    }
    case 0x80000007:
      out[3] = 1 << 8; // invariant TSC
      return;
    case 0x80000008:
      out[0] = 0x3027; // 39-bit physical, 48-bit linear (the MMU's reserved-bit checks use 39)
      return;
    default:
      return;
  }
}
