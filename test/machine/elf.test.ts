import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ElfError, ElfFile, PT_LOAD, PT_NOTE, SHT_NOBITS, STB_GLOBAL, STT_FUNC } from '../../src/machine/elf.js';
import { HAVE_GCC, build32, buildKernel, buildStrippedShared, have, patched } from './fixtures.js';

function errorOf(f: () => unknown): ElfError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ElfError);
    expect((e as Error).message).not.toContain('\n');
    return e as ElfError;
  }
  throw new Error('expected an ElfError');
}

const parseErr = (b: Uint8Array): string => errorOf(() => ElfFile.parse(b)).message;

/** A minimal valid ELF64 header with no program or section headers. */
function bareHeader(): Uint8Array {
  const b = new Uint8Array(64);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  const dv = new DataView(b.buffer);
  dv.setUint16(16, 2, true);
  dv.setUint16(18, 62, true);
  dv.setUint32(20, 1, true);
  dv.setUint16(52, 64, true);
  return b;
}

describe('ELF header errors (crafted bytes)', () => {
  it('rejects non-ELF input with one line', () => {
    expect(parseErr(new TextEncoder().encode('hello, I am a text file\n'))).toBe('not an ELF file: bad magic');
    expect(parseErr(new Uint8Array(0))).toBe('not an ELF file: bad magic');
    expect(parseErr(new Uint8Array([0x7f, 0x45]))).toBe('not an ELF file: bad magic');
  });

  it('names 32-bit, big-endian and foreign-machine files', () => {
    const h = bareHeader();
    expect(parseErr(patched(h, (_, b) => (b[4] = 1)))).toBe('32-bit ELF: osvemu runs x86-64 kernels');
    expect(parseErr(patched(h, (_, b) => (b[4] = 9)))).toBe('bad ELF: unknown class 9 (expected 2, ELFCLASS64)');
    expect(parseErr(patched(h, (_, b) => (b[5] = 2)))).toBe('big-endian ELF: osvemu runs little-endian x86-64 kernels');
    expect(parseErr(patched(h, (dv) => dv.setUint16(18, 183, true)))).toBe(
      'wrong machine: e_machine 183 (AArch64), osvemu runs x86-64 (62)',
    );
    expect(parseErr(patched(h, (dv) => dv.setUint16(18, 9999, true)))).toBe('wrong machine: e_machine 9999, osvemu runs x86-64 (62)');
  });

  it('reports truncation of the identification and of the header', () => {
    const h = bareHeader();
    expect(parseErr(h.subarray(0, 10))).toBe('truncated ELF: file is 10 bytes, shorter than the ELF identification');
    expect(parseErr(h.subarray(0, 40))).toBe('truncated ELF: file is 40 bytes, the ELF header needs 64');
  });

  it('accepts a bare header and reports absurd counts and offsets', () => {
    const f = ElfFile.parse(bareHeader());
    expect(f.programHeaders).toEqual([]);
    expect(f.sections).toEqual([]);
    expect(f.notes()).toEqual([]);
    expect(f.symbolAt(0x1000)).toBeNull();
    const many = patched(bareHeader(), (dv) => {
      dv.setBigUint64(32, 64n, true);
      dv.setUint16(54, 56, true);
      dv.setUint16(56, 0xfff0, true);
    });
    expect(parseErr(many)).toBe('truncated ELF: program header 0 ends past the file (offset 0x40, file size 64)');
    const huge = patched(bareHeader(), (dv) => dv.setBigUint64(40, 1n << 60n, true));
    expect(parseErr(huge)).toBe('bad ELF: e_shoff is absurdly large (0x1000000000000000)');
    const overlap = patched(bareHeader(), (dv) => {
      dv.setBigUint64(32, 8n, true);
      dv.setUint16(54, 56, true);
      dv.setUint16(56, 1, true);
    });
    expect(parseErr(overlap)).toBe('bad ELF: program headers at 0x8 overlap the ELF header');
    const entsize = patched(bareHeader(), (dv) => {
      dv.setBigUint64(32, 64n, true);
      dv.setUint16(54, 32, true);
      dv.setUint16(56, 1, true);
    });
    expect(parseErr(entsize)).toBe('bad ELF: e_phentsize 32 (expected 56)');
  });
});

describe.skipIf(!HAVE_GCC)('ELF files built with gcc', () => {
  let kernel: Uint8Array;
  let elf: ElfFile;
  beforeAll(() => {
    kernel = buildKernel();
    elf = ElfFile.parse(kernel);
  });

  it('reads the header and program headers (paddr != vaddr)', () => {
    expect(elf.header.machine).toBe(62);
    expect(elf.header.type).toBe(2);
    expect(elf.header.entryExact).toBe(true);
    expect(elf.header.entry).toBe(elf.findSymbol('_start')!.value);
    const load = elf.programHeaders.filter((p) => p.type === PT_LOAD);
    expect(load).toHaveLength(1);
    expect(load[0]).toMatchObject({ offset: 0, vaddr: 0x40200000, paddr: 0x200000, align: 0x1000, exact: true });
    expect(load[0]!.memsz - load[0]!.filesz).toBeGreaterThanOrEqual(0x3000);
    expect(elf.programHeaders.some((p) => p.type === PT_NOTE)).toBe(true);
  });

  it('reads section headers, including sh_addralign (+48) and sh_entsize (+56)', () => {
    const names = elf.sections.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['', '.text', '.note', '.data', '.bss', '.symtab', '.strtab', '.shstrtab']));
    const symtab = elf.section('.symtab')!;
    expect(symtab.entsize).toBe(24);
    expect(symtab.addralign).toBe(8);
    expect(elf.section('.bss')!.type).toBe(SHT_NOBITS);
    expect(elf.section('.note')!.addralign).toBe(4);
    expect(new TextDecoder().decode(elf.sectionData(elf.section('.data')!))).toBe('DATAMARK');
  });

  it('iterates notes with names, types and values', () => {
    const notes = elf.notes();
    expect(notes.map((n) => [n.name, n.type, n.desc.length])).toEqual([
      ['Xen', 18, 8],
      ['Foo', 1, 4],
    ]);
    const entry = new DataView(notes[0]!.desc.buffer, notes[0]!.desc.byteOffset).getUint32(0, true);
    expect(entry).toBe(elf.findSymbol('pvh_entry')!.value - 0x40000000);
  });

  it('finds symbols by name and by address', () => {
    const fn = elf.findSymbol('thread_main_c')!;
    expect(fn).toMatchObject({ type: STT_FUNC, bind: STB_GLOBAL, size: 65, exact: true });
    const at = elf.symbolAt(fn.value + 39)!;
    expect(`${at.symbol.name}+${at.offset}`).toBe('thread_main_c+39');
    expect(elf.symbolAt(fn.value)!.offset).toBe(0);
    // asm_label is not a function symbol: past thread_main_c's end there is no name...
    expect(elf.symbolAt(fn.value + 65 + 3)).toBeNull();
    // ...unless the caller asks for the nearest preceding function.
    expect(elf.symbolAt(fn.value + 65 + 3, { nearest: true })!.symbol.name).toBe('thread_main_c');
    expect(elf.symbolAt(0x1000)).toBeNull();
    expect(elf.findSymbol('no_such_symbol')).toBeUndefined();
    const tail = elf.findSymbol('tail_fn')!;
    expect(elf.symbolAt(tail.value)!.symbol.name).toBe('tail_fn');
    expect(elf.findSymbol('big')!.size).toBe(0x3000);
  });

  it('reads .dynsym of a stripped shared object', () => {
    const so = ElfFile.parse(buildStrippedShared());
    expect(so.section('.symtab')).toBeUndefined();
    expect(so.symbols('.symtab')).toEqual([]);
    const names = so.symbols('.dynsym').map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['exported_fn', 'helper', 'counter']));
    const fn = so.findSymbol('exported_fn')!;
    expect(so.symbolAt(fn.value + 2)!.symbol.name).toBe('exported_fn');
  });

  it('reports a 32-bit object built with gcc -m32', () => {
    const o32 = build32();
    if (!o32) return; // no multilib: the crafted-header test above covers the message
    expect(parseErr(o32)).toBe('32-bit ELF: osvemu runs x86-64 kernels');
  });

  it('reports truncation at each structure with one line', () => {
    expect(parseErr(kernel.subarray(0, 100))).toBe('truncated ELF: program header 0 ends past the file (offset 0x40, file size 100)');
    const phEnd = 64 + 56 * elf.programHeaders.length;
    expect(parseErr(kernel.subarray(0, phEnd))).toMatch(/^truncated ELF: segment 0 \(PT_LOAD\) ends past the file \(offset 0x0 \+ size 0x[0-9a-f]+ > \d+ bytes\)$/);
    const cut = elf.header.shoff + 64 * 3 + 10;
    expect(parseErr(kernel.subarray(0, cut))).toMatch(/^truncated ELF: section header 3 ends past the file/);
  });

  it('reports damaged tables', () => {
    const symtab = elf.section('.symtab')!;
    const shdr = (i: number): number => elf.header.shoff + 64 * i;
    // String table index out of range.
    const badLink = patched(kernel, (dv) => dv.setUint32(shdr(symtab.index) + 40, 99, true));
    expect(errorOf(() => ElfFile.parse(badLink).symbols()).message).toBe('bad ELF: section 5 (.symtab) sh_link 99 names no string table');
    // A symbol name past its string table.
    const badName = patched(kernel, (dv) => dv.setUint32(symtab.offset + 24 * 2, 0x7fff, true));
    expect(errorOf(() => ElfFile.parse(badName).findSymbol('x')).message).toMatch(
      /^bad ELF: symbol 2 in \.symtab has name offset 0x7fff past its string table \(size 0x[0-9a-f]+\)$/,
    );
    // Section-name table index past the table.
    const badShstr = patched(kernel, (dv) => dv.setUint16(62, 50, true));
    expect(parseErr(badShstr)).toBe('bad ELF: e_shstrndx 50 is past the 8 sections');
    // A section name offset past the section-name table.
    const badSecName = patched(kernel, (dv) => dv.setUint32(shdr(1), 0xffff, true));
    expect(parseErr(badSecName)).toMatch(/^bad ELF: section 1 name offset 0xffff is past the section-name table/);
    // sh_entsize of the symbol table.
    const badEnt = patched(kernel, (dv) => dv.setBigUint64(shdr(symtab.index) + 56, 16n, true));
    expect(errorOf(() => ElfFile.parse(badEnt).symbols()).message).toBe('bad ELF: section 5 (.symtab) sh_entsize 16 (expected 24)');
    // A note whose value runs past its segment.
    const note = elf.programHeaders.find((p) => p.type === PT_NOTE)!;
    const badNote = patched(kernel, (dv) => dv.setUint32(note.offset + 4, 0x10000, true));
    expect(errorOf(() => ElfFile.parse(badNote).notes()).message).toBe(
      `bad ELF note in segment 1 (PT_NOTE): note at 0x${note.offset.toString(16)} (namesz 4, descsz 65536) ends past the note area`,
    );
    // p_filesz > p_memsz.
    const badLoad = patched(kernel, (dv) => dv.setBigUint64(64 + 40, 4n, true));
    expect(parseErr(badLoad)).toMatch(/^bad ELF: segment 0 \(PT_LOAD\) has p_filesz 0x[0-9a-f]+ larger than p_memsz 0x4$/);
    // An absurd 64-bit size.
    const absurd = patched(kernel, (dv) => dv.setBigUint64(64 + 32, 0xffffffffffffff00n, true));
    expect(parseErr(absurd)).toBe('bad ELF: program header 0 p_filesz is absurdly large (0xffffffffffffff00)');
  });

  it('flags addresses above 2^53 instead of rounding silently', () => {
    const high = patched(kernel, (dv) => dv.setBigUint64(64 + 24, 0xffffffff80200000n, true));
    const f = ElfFile.parse(high);
    expect(f.programHeaders[0]!.exact).toBe(false);
    expect(f.programHeaders[0]!.vaddr).toBe(0x40200000);
  });

  it('agrees with readelf on section headers', () => {
    if (!have('readelf')) return;
    for (const file of ['/bin/ls', '/bin/sh']) {
      if (!existsSync(file)) continue;
      const mine = ElfFile.parse(readFileSync(file));
      const out = execFileSync('readelf', ['-SW', file], { encoding: 'utf8' });
      const rows = [...out.matchAll(/^\s*\[\s*(\d+)\]\s+(\S*)\s+\S+\s+([0-9a-f]{16})\s+([0-9a-f]{6,})\s+([0-9a-f]{6,})\s+([0-9a-f]{2})\s.*?(\d+)\s*$/gm)];
      expect(rows.length).toBe(mine.sections.length);
      for (const r of rows) {
        const s = mine.sections[Number(r[1])]!;
        expect([s.name, s.addr, s.offset, s.size, s.entsize, s.addralign]).toEqual([
          r[2],
          parseInt(r[3]!, 16),
          parseInt(r[4]!, 16),
          parseInt(r[5]!, 16),
          parseInt(r[6]!, 16),
          Number(r[7]),
        ]);
      }
      const dyn = execFileSync('readelf', ['--dyn-syms', '-W', file], { encoding: 'utf8' });
      const count = /Symbol table '\.dynsym' contains (\d+) entries/.exec(dyn);
      if (count) expect(mine.symbols('.dynsym').length).toBe(Number(count[1]));
      // Notes: owners and value sizes in file order, as readelf -n lists them.
      const notes = execFileSync('readelf', ['-nW', file], { encoding: 'utf8' });
      const listed = [...notes.matchAll(/^\s+(\S+)\s+0x([0-9a-f]{8})\s/gm)].map((m) => [m[1], parseInt(m[2]!, 16)]);
      expect(listed.length).toBeGreaterThan(0);
      expect(mine.notes().map((n) => [n.name, n.desc.length])).toEqual(listed);
    }
  });
});

/** Deterministic xorshift so a failing case can be reproduced. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

describe.skipIf(!HAVE_GCC)('fuzz: damaged ELF files only ever throw ElfError', () => {
  it('survives truncations and bit flips of real ELF files', async () => {
    const { findPvhEntry, loadKernel } = await import('../../src/machine/pvh.js');
    const seeds: Uint8Array[] = [buildKernel(), buildStrippedShared()];
    if (existsSync('/bin/true')) seeds.push(new Uint8Array(readFileSync('/bin/true')));
    const iters = Number(process.env.OSVEMU_FUZZ_ITERS ?? 1500);
    const rand = rng(Number(process.env.OSVEMU_FUZZ_SEED ?? 0x05e1f));
    const ram = new Uint8Array(4 * 1024 * 1024);
    let ok = 0;
    let rejected = 0;
    for (let iter = 0; iter < iters; iter++) {
      const src = seeds[iter % seeds.length]!;
      let b: Uint8Array;
      if (rand() < 0.3) {
        b = src.slice(0, Math.floor(rand() * src.length));
      } else {
        b = src.slice();
        const flips = 1 + Math.floor(rand() * 8);
        for (let i = 0; i < flips; i++) {
          // Favour the ELF/program headers and the section header table (at the end), where
          // damage changes the structure rather than the data.
          const where = rand();
          const pos =
            where < 0.35
              ? Math.floor(rand() * Math.min(b.length, 512))
              : where < 0.7
                ? b.length - 1 - Math.floor(rand() * Math.min(b.length, 2048))
                : Math.floor(rand() * b.length);
          b[pos]! ^= 1 << Math.floor(rand() * 8);
        }
      }
      try {
        const f = ElfFile.parse(b);
        f.notes();
        f.symbols('.symtab');
        f.symbols('.dynsym');
        f.findSymbol('thread_main_c');
        f.symbolAt(0x40200100);
        try {
          findPvhEntry(f);
        } catch (e) {
          if (!(e instanceof ElfError)) throw e;
        }
        loadKernel(b, ram, ram.length);
        ok++;
      } catch (e) {
        if (!(e instanceof ElfError)) throw new Error(`iteration ${iter}: ${String(e)}`);
        expect(e.message).not.toContain('\n');
        rejected++;
      }
    }
    expect(ok + rejected).toBe(iters);
    expect(rejected).toBeGreaterThan(iters / 15);
  });
});
