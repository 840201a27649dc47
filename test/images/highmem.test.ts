// RAM above 4 GiB: the board splits guest RAM around the PCI hole as QEMU's pc machine does, and
// guests read and write (and run code in) the part above 4 GiB.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Machine, MachineError } from '../../src/machine/machine.js';
import { readVirtual } from '../../src/machine/debug-mem.js';
import { memoryMap } from '../../src/machine/memmap.js';
import { KernelSymbols } from '../../src/osv/symbols.js';
import { buildImage, toolchainAvailable } from './build.js';
import { reportProblems } from './report.js';

const MiB = 2 ** 20;

function boot(name: string, memMiB: number, maxInsns = 100_000_000) {
  let debugcon = '';
  const m = new Machine({
    kernel: readFileSync(buildImage(name)), memMiB, debugOut: (b) => (debugcon += String.fromCharCode(b)),
  });
  const r = m.run({ maxInsns });
  return { m, r, debugcon };
}

/** The memory map as a guest printed it: "<name>: memmap[i] addr=0x... size=0x... type=n". */
function guestMemmap(text: string): { addr: number; size: number; type: number }[] {
  return [...text.matchAll(/memmap\[\d+\] addr=0x([0-9a-f]+) size=0x([0-9a-f]+) type=(\d+)/g)]
    .map((g) => ({ addr: parseInt(g[1]!, 16), size: parseInt(g[2]!, 16), type: Number(g[3]) }));
}

describe.skipIf(!toolchainAvailable())('memory above 4 GiB', () => {
  it.each([4096, 8192])('the highmem guest writes, reads and runs code above 4 GiB with %i MiB, e820 as QEMU pc', (mem) => {
    const { m, r, debugcon } = boot('highmem', mem);
    expect(reportProblems('highmem', debugcon), `${r.cause}: ${r.message}\n${debugcon}`).toEqual([]);
    expect(debugcon).not.toContain('SKIP');
    expect(debugcon).toContain(`RAM above 4 GiB 0x100000000-0x${(4 * 1024 * MiB + (mem - 3072) * MiB).toString(16)}`);
    expect(m.mem.ramSize).toBe(mem * MiB);
    const seen = guestMemmap(debugcon);
    expect(seen).toEqual(memoryMap(mem * MiB));
    expect(seen.filter((e) => e.type === 1).map((e) => [e.addr, e.size])).toEqual([
      [0, 0x9fc00], [0x100000, 0xc0000000 - 0x100000], [0x100000000, (mem - 3072) * MiB],
    ]);
  });

  it('3.25 GiB stays below 4 GiB (up to 0xD0000000), as on QEMU', () => {
    const { r, debugcon } = boot('highmem', 3328);
    expect(reportProblems('highmem', debugcon), `${r.cause}: ${r.message}\n${debugcon}`).toEqual([]);
    expect(debugcon).toContain('below 4 GiB up to 0xd0000000');
    expect(debugcon).toContain('SKIP highmem: no RAM above 4 GiB');
  });

  it('the OSv-shaped kernel boots and powers off with 8 GiB', () => {
    const m = new Machine({ kernel: readFileSync(buildImage('osvlike-stripped')), memMiB: 8192, cmdline: '--threads=1 --lines=1' });
    const r = m.run({ maxInsns: 400_000_000 });
    expect(r.cause, m.console).toBe('poweroff');
    expect(m.console).toContain('osvlike: 8191 MiB of RAM in the memory map');
  });

  it('a system_reset keeps the layout and gives the guest zeroed RAM above 4 GiB again', () => {
    const { m } = boot('highmem', 4096);
    const high = 4 * 1024 * MiB + 5 * MiB;
    expect(m.mem.read8(high)).toBe(0xa5);
    m.reset();
    expect(m.mem.read8(high)).toBe(0);
    expect(m.mem.isRam(0xc0000000, 1)).toBe(false);
    expect(m.mem.isRam(high, 1)).toBe(true);
  });

  it('refuses sizes beyond the 39-bit physical address width with a one-line error', () => {
    expect(() => new Machine({ kernel: new Uint8Array(0), memMiB: 512 * 1024 })).toThrow(MachineError);
    expect(() => new Machine({ kernel: new Uint8Array(0), memMiB: 512 * 1024 })).toThrow(/^bad memory size 524288 MiB: use 16 to 523264 MiB$/);
  });
});

// A real OSv kernel (OSV_KERNEL; OSV_LOADER_ELF for its symbols) with -m 8G, as run.py users pass it.
const osvKernel = process.env.OSV_KERNEL ?? '';
describe.skipIf(osvKernel === '' || !existsSync(osvKernel))('a real OSv kernel with 8 GiB', () => {
  it('boots its application, powers off and counts all 8 GiB in memory::phys_mem_size', () => {
    const m = new Machine({ kernel: readFileSync(osvKernel), memMiB: 8192, cpus: 2, cmdline: process.env.OSV_CMDLINE ?? '--verbose /hello' });
    const r = m.run({ maxInsns: 600_000_000, timeoutMs: 180_000 });
    expect(r.cause, m.console).toBe('poweroff');
    let syms: KernelSymbols | null = null;
    try {
      syms = KernelSymbols.fromElf(readFileSync(process.env.OSV_LOADER_ELF ?? osvKernel));
    } catch { /* no symbols: the power-off is all that is checked */ }
    const at = syms?.lookup('_ZN6memory13phys_mem_sizeE');
    if (at == null) return;
    const v = readVirtual(m.cpus[0]!, at, 8)!;
    const bytes = new DataView(v.buffer, v.byteOffset, 8);
    const size = bytes.getUint32(4, true) * 2 ** 32 + bytes.getUint32(0, true);
    expect(size).toBe(memoryMap(8192 * MiB).filter((e) => e.type === 1).reduce((n, e) => n + e.size, 0));
  });
});
