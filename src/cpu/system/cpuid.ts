// The CPUID model: advertises what osvemu implements, following what OSv reads (arch/x64/cpuid.cc).
// Configurable so that both of OSv's clock paths (kvmclock, HPET) and both APIC modes can be tested.

export interface CpuidConfig {
  /** Advertise the KVM signature and kvmclock (else the guest must find an HPET). */
  kvmclock: boolean;
  /** Advertise x2APIC (OSv then drives the APIC through MSRs). */
  x2apic: boolean;
  /** Advertise FSGSBASE (OSv then uses wrfsbase on every thread switch). */
  fsgsbase: boolean;
  /** Advertise XSAVE/OSXSAVE support (OSv then uses xsave/xrstor). */
  xsave: boolean;
  /** Advertise SSE3/SSSE3/SSE4.1/SSE4.2/POPCNT (only what the SSE unit implements). */
  sse3: boolean;
  ssse3: boolean;
  sse41: boolean;
  sse42: boolean;
  popcnt: boolean;
  rdrand: boolean;
  cpus: number;
}

export const DEFAULT_CPUID: CpuidConfig = {
  kvmclock: true, x2apic: false, fsgsbase: true, xsave: false,
  sse3: true, ssse3: true, sse41: true, sse42: false, popcnt: true, rdrand: true, cpus: 1,
};

function str4(s: string): number {
  return (s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24)) | 0;
}

/** Fills out[0..3] with eax, ebx, ecx, edx for the leaf/subleaf on vCPU `apicId`. */
export function cpuid(cfg: CpuidConfig, apicId: number, leaf: number, sub: number, out: Int32Array): void {
  out[0] = out[1] = out[2] = out[3] = 0;
  leaf >>>= 0;
  switch (leaf) {
    case 0:
      out[0] = 0xd; out[1] = str4('Genu'); out[3] = str4('ineI'); out[2] = str4('ntel');
      return;
    case 1: {
      out[0] = 0x000506e3; // family 6 model 0x5e stepping 3
      out[1] = (apicId << 24) | (Math.max(1, cfg.cpus) << 16) | (8 << 8); // clflush line 64 bytes
      let ecx = 0;
      if (cfg.sse3) ecx |= 1;
      if (cfg.ssse3) ecx |= 1 << 9;
      ecx |= 1 << 13; // cx16
      if (cfg.sse41) ecx |= 1 << 19;
      if (cfg.sse42) ecx |= 1 << 20;
      if (cfg.x2apic) ecx |= 1 << 21;
      if (cfg.popcnt) ecx |= 1 << 23;
      if (cfg.xsave) ecx |= 1 << 26;
      if (cfg.rdrand) ecx |= 1 << 30;
      ecx |= 1 << 31; // hypervisor present
      out[2] = ecx;
      // FPU VME? no. DE PSE TSC MSR PAE MCE? no. CX8 APIC SEP MTRR? no. PGE CMOV PAT? no. CLFLUSH MMX FXSR SSE SSE2
      out[3] = (1 << 0) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 8) | (1 << 9) |
        (1 << 11) | (1 << 13) | (1 << 15) | (1 << 19) | (1 << 23) | (1 << 24) | (1 << 25) | (1 << 26);
      return;
    }
    case 7:
      if (sub === 0) out[1] = (cfg.fsgsbase ? 1 : 0) | (1 << 9); // fsgsbase, erms
      return;
    case 0xb:
      out[0] = 0; out[1] = sub === 0 ? 1 : Math.max(1, cfg.cpus); out[2] = (sub & 0xff) | ((sub === 0 ? 1 : 2) << 8);
      out[3] = apicId;
      if (sub > 1) { out[1] = 0; out[2] = sub & 0xff; }
      return;
    case 0xd:
      if (!cfg.xsave) return;
      if (sub === 0) { out[0] = 3; out[1] = 576; out[2] = 576; }
      else if (sub === 1) out[0] = 1; // xsaveopt
      return;
    case 0x40000000:
      if (!cfg.kvmclock) return;
      out[0] = 0x40000001; out[1] = str4('KVMK'); out[2] = str4('VMKV'); out[3] = str4('M\0\0\0');
      return;
    case 0x40000001:
      if (!cfg.kvmclock) return;
      out[0] = (1 << 0) | (1 << 3) | (1 << 24);
      return;
    case 0x80000000:
      out[0] = 0x80000008; return;
    case 0x80000001:
      out[2] = 1; // lahf/sahf in long mode
      out[3] = (1 << 11) | (1 << 20) | (1 << 29); // syscall, nx, lm
      return;
    case 0x80000007:
      out[3] = 1 << 8; // invariant TSC
      return;
    case 0x80000008:
      out[0] = 0x3027; // 39-bit physical, 48-bit linear
      return;
    default:
      return;
  }
}
