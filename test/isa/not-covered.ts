// Instructions of the OSv kernel that the differential test deliberately does not cover, and why.
// Keys are normalized mnemonics (see ./mnemonics.ts). docs/isa-coverage.md is generated from this.

const PRIV = 'privileged: CPL 0 only (#GP at CPL 3); covered by the bare-metal guest tests of the system work';

export const NOT_COVERED: Record<string, string> = {
  cli: PRIV, sti: PRIV, hlt: PRIV, wrmsr: PRIV, rdmsr: PRIV, lgdt: PRIV, lidt: PRIV, ltr: PRIV, xsetbv: PRIV,
  iretq: 'returns through a full interrupt frame with segment selectors: needs the system setup of a bare-metal guest',
  lret: 'far return: pops a CS selector; depends on the host GDT layout (Linux user CS 0x33), tested with the bare-metal guests',
  in: 'port I/O: privileged (IOPL 0 under Linux), device model territory',
  out: 'port I/O: privileged (IOPL 0 under Linux), device model territory',
  'rep ins': 'port I/O string: privileged (IOPL 0 under Linux), device model territory',
  'rep outs': 'port I/O string: privileged (IOPL 0 under Linux), device model territory',
  wrfsbase: 'user-mode availability depends on CR4.FSGSBASE, and writing FS base would break the harness\'s own TLS',
  xsave64: 'layout and saved components depend on XCR0 / the host CPU\'s extended state (AVX-512 here), not comparable with osvemu\'s',
  xrstor64: 'layout and restored components depend on XCR0 / the host CPU\'s extended state, not comparable with osvemu\'s',
  cpuid: 'host-specific result by design (osvemu reports its own CPU model)',
  rdtsc: 'non-deterministic on the host (time stamp counter)',
  rdrand: 'non-deterministic on the host (hardware random numbers)',
  rdseed: 'non-deterministic on the host (hardware random numbers)',
  '(bad)': '32-bit boot code that objdump decodes in 64-bit mode; not executed in long mode',
};
