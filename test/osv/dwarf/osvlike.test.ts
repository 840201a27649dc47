// The DWARF reader on the project's OSv-shaped guest (images/osvlike, built with -g): the layouts
// and variables the OSv thread provider reads (osv-machine.md §6), checked against the host
// compiler's offsetof/sizeof of the same headers and against the ELF symbol table.
import { copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ElfFile } from '../../../src/machine/elf.js';
import { loadKernelDebugInfo } from '../../../src/osv/debug-symbols.js';
import { CallFrameInfo } from '../../../src/osv/dwarf/cfi.js';
import { DwarfError } from '../../../src/osv/dwarf/errors.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDebugInfo, type DwarfDebugInfo } from '../../../src/osv/dwarf/dwarf-info.js';
import { buildImage, IMAGES_SRC } from '../../images/build.js';
import { nativeLayout, tempDir, type NativeLayout } from './native.js';

const MEMBERS: [string, string][] = [
  ['sched::thread', '_id'],
  ['sched::thread', '_attr'],
  ['sched::thread', '_attr._name'],
  ['sched::thread', '_attr._stack.begin'],
  ['sched::thread', '_attr._stack.size'],
  ['sched::thread', '_detached_state'],
  ['sched::thread', '_state.rsp'],
  ['sched::thread', '_state.rbp'],
  ['sched::thread', '_state.rip'],
  ['sched::thread', '_tcb'],
  ['sched::thread', '_runtime'],
  ['sched::thread::detached_state', '_cpu'],
  ['sched::thread::detached_state', 'st'],
  ['sched::cpu', 'id'],
  ['sched::cpu', 'arch.atss'],
  ['sched::cpu', 'arch.double_fault_stack'],
  ['sched::cpu', 'idle_thread'],
  ['sched::cpu', 'online'],
  ['sched::thread_control_block', 't'],
];
const TYPES = ['sched::thread', 'sched::cpu', 'sched::thread::attr', 'sched::thread::detached_state', 'sched::arch_cpu', 'sched::tss64'];

describe('DWARF reader on the OSv-shaped guest', () => {
  let di: DwarfDebugInfo;
  let native: NativeLayout;
  let elfBytes: Uint8Array;
  beforeAll(async () => {
    elfBytes = readFileSync(buildImage('osvlike'));
    di = loadDebugInfo(elfBytes);
    native = await nativeLayout(`#include "${path.join(IMAGES_SRC, 'osvlike', 'sched.hh')}"`, MEMBERS, TYPES);
  });

  it('member offsets and sizes match the compiler', () => {
    for (const [t, m] of MEMBERS) {
      const want = native.offsets.get(`${t}|${m}`)!;
      const got = di.member(t, m);
      expect(got, `${t} ${m}`).toBeDefined();
      expect({ offset: got!.offset, size: got!.size }, `${t} ${m}`).toEqual(want);
    }
  });

  it('type sizes match the compiler', () => {
    for (const t of TYPES) expect(di.type(t)?.size, t).toBe(native.sizes.get(t));
  });

  it('spells member types as C++ does', () => {
    expect(di.member('sched::thread', '_attr._name')?.typeName).toBe('char [16]');
    expect(di.member('sched::thread', '_func')?.typeName).toBe('void (*)(void *)');
    expect(di.member('sched::thread', '_tcb')?.typeName).toBe('sched::thread_control_block *');
    expect(di.member('sched::thread', '_detached_state')?.baseTypeName).toMatch(/^std::unique_ptr<sched::thread::detached_state, /);
    expect(di.member('sched::thread', '_wake_time')).toMatchObject({ typeName: 's64', baseTypeName: 'long int' });
  });

  it('finds globals at their symbol addresses', () => {
    for (const [name, sym] of [
      ['sched::thread_map', '_ZN5sched10thread_mapE'],
      ['sched::cpus', '_ZN5sched4cpusE'],
      ['opt_power_off_on_abort', 'opt_power_off_on_abort'],
    ]) {
      const v = di.variable(name!);
      const s = di.elf.findSymbol(sym!);
      expect(s, sym).toBeDefined();
      expect(v?.location, name).toEqual({ kind: 'address', address: s!.value });
      expect(v?.size, name).toBe(s!.size);
    }
    expect(di.variable('sched::cpus')?.typeName).toMatch(/^std::vector<sched::cpu\*, /);
    expect(di.variable('no::such')).toBeUndefined();
    expect(di.type('no::such')).toBeUndefined();
  });

  it('walks std containers: thread_map nodes and the cpus vector', () => {
    const um = di.variable('sched::thread_map')!.typeName;
    expect(di.member(um, '_M_h._M_before_begin._M_nxt')).toMatchObject({ offset: 16, size: 8 });
    // Leading template arguments are enough, as in gdb.
    expect(di.member('std::vector<sched::cpu*>', '_M_impl._M_start')).toMatchObject({ offset: 0, size: 8, baseTypeName: 'sched::cpu **' });
  });

  it('names the function containing an address like the symbol table does', () => {
    const syms = di.elf.symbols().filter((s) => s.type === 2 && s.size > 0);
    expect(syms.length).toBeGreaterThan(20);
    let checked = 0;
    for (const s of syms) {
      const f = di.functionAt(s.value + Math.floor(s.size / 2));
      if (!f) continue;
      expect(f.low, s.name).toBe(s.value);
      expect(f.high, s.name).toBe(s.value + s.size);
      checked++;
    }
    expect(checked).toBeGreaterThan(syms.length * 0.8);
    const sw = di.elf.findSymbol('_ZN5sched6thread9switch_toEPS0_')!;
    expect(di.functionAt(sw.value + 1)?.name).toBe('sched::thread::switch_to');
  });

  it('finds loader.elf beside loader-stripped.elf, or takes --symbols, with one-line errors', () => {
    const dir = tempDir();
    const kernel = path.join(dir, 'loader-stripped.elf');
    copyFileSync(buildImage('osvlike-stripped'), kernel);
    expect(loadKernelDebugInfo(kernel)).toBeUndefined(); // stripped, nothing beside it
    copyFileSync(buildImage('osvlike'), path.join(dir, 'loader.elf'));
    const found = loadKernelDebugInfo(kernel, undefined, ElfFile.parse(readFileSync(kernel)))!;
    expect(found.path).toBe(path.join(dir, 'loader.elf'));
    expect(found.mismatch).toBeUndefined();
    expect(found.info.member('sched::thread', '_attr._name')?.offset).toBe(native.offsets.get('sched::thread|_attr._name')!.offset);
    expect(loadKernelDebugInfo(undefined, buildImage('osvlike'))?.info.type('sched::cpu')).toBeDefined();
    expect(() => loadKernelDebugInfo(kernel, path.join(dir, 'nope.elf'))).toThrow(DwarfError);
    expect(() => loadKernelDebugInfo(kernel, kernel)).toThrow(/no DWARF debug information/);
    const other = loadKernelDebugInfo(kernel, undefined, ElfFile.parse(readFileSync(buildImage('boot64'))))!;
    expect(other.mismatch).toMatch(/does not match the kernel/);
  });

  it('reads the guest\'s .debug_frame (built -fno-asynchronous-unwind-tables)', () => {
    const cfi = CallFrameInfo.fromElf(elfBytes);
    const sw = di.elf.findSymbol('_ZN5sched6thread9switch_toEPS0_')!;
    expect(cfi.size).toBeGreaterThan(50);
    expect(cfi.find(sw.value + 1)).toMatchObject({ low: sw.value, source: '.debug_frame' });
    expect(cfi.rowAt(sw.value)).toBeDefined();
  });
});
