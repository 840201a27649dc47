// Malformed debug information: truncated files and sections and flipped bits in the DWARF and CFI
// sections of the OSv-shaped guest give results or a one-line DwarfError/ElfError, never another
// exception or a hang.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ElfError, ElfFile } from '../../../src/machine/elf.js';
import { CallFrameInfo, unwind } from '../../../src/osv/dwarf/cfi.js';
import { loadDebugInfo } from '../../../src/osv/dwarf/dwarf-info.js';
import { DwarfError } from '../../../src/osv/dwarf/errors.js';
import { buildImage } from '../../images/build.js';

const original = new Uint8Array(readFileSync(buildImage('osvlike')));
const elf = ElfFile.parse(original);
const SECTIONS = ['.debug_info', '.debug_abbrev', '.debug_str', '.debug_line_str', '.debug_rnglists', '.debug_aranges', '.debug_frame'];
const ranges = SECTIONS.map((n) => elf.section(n)).filter((s) => s !== undefined).map((s) => ({ name: s!.name, index: s!.index, off: s!.offset, size: s!.size }));
const fn = elf.findSymbol('_ZN5sched6thread9switch_toEPS0_')!;

/** Lets the test worker answer its runner between cases (a busy machine makes each case slow). */
const breathe = () => new Promise((r) => setImmediate(r));

/** A small deterministic PRNG (xorshift32). */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

/** Everything a user of DebugInfo and the unwinder may call. */
function exercise(bytes: Uint8Array): string {
  try {
    const di = loadDebugInfo(bytes);
    di.type('sched::thread');
    di.member('sched::thread', '_attr._name');
    di.member('sched::thread', '_detached_state');
    di.type('sched::cpu');
    di.variable('sched::thread_map');
    di.variable('sched::cpus');
    di.functionAt(fn.value + 3);
    di.type('no::such');
    const cfi = CallFrameInfo.fromElf(bytes);
    const stack = new Uint8Array(256);
    unwind([0, 0, 0, 0, 0, 0, 0x1000, 0x1000, 0, 0, 0, 0, 0, 0, 0, 0, fn.value + 3], (a, n) => (a >= 0x1000 && a + n <= 0x1100 ? stack.subarray(a - 0x1000, a - 0x1000 + n) : undefined), cfi);
    return 'ok';
  } catch (e) {
    if (!(e instanceof DwarfError) && !(e instanceof ElfError)) throw e;
    expect(e.message).not.toContain('\n');
    expect(e.message.length).toBeGreaterThan(10);
    return 'error';
  }
}

describe('DWARF reader on malformed input', () => {
  it('the unmodified guest reads cleanly', () => {
    expect(exercise(original)).toBe('ok');
  });

  it('truncated files', async () => {
    const next = rng(1);
    const outcomes = new Set<string>();
    for (let i = 0; i < 20; i++) {
      outcomes.add(exercise(original.slice(0, next(original.length))));
      await breathe();
    }
    expect(outcomes.has('error')).toBe(true);
  });

  it('truncated sections (sh_size shrunk)', async () => {
    const next = rng(2);
    for (let i = 0; i < 30; i++) {
      const b = original.slice();
      const s = ranges[next(ranges.length)]!;
      const shdr = elf.header.shoff + s.index * 64;
      new DataView(b.buffer).setBigUint64(shdr + 32, BigInt(next(s.size)), true);
      exercise(b);
      await breathe();
    }
  });

  it('flipped bits in the debug and CFI sections', async () => {
    const next = rng(3);
    const outcomes = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const b = original.slice();
      const s = ranges[next(ranges.length)]!;
      for (let k = 0, n = 1 + next(8); k < n; k++) {
        const at = s.off + next(s.size);
        b[at]! ^= 1 << next(8);
      }
      outcomes.add(exercise(b));
      await breathe();
    }
    expect(outcomes.has('error')).toBe(true);
  });
});
