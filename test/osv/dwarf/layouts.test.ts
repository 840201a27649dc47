// Layouts, names and locations from gcc's DWARF 4 and 5 (with and without type units), compared
// with what the host compiler says about the same header (offsetof/sizeof, bit positions) and with
// the symbol table of the linked program (addresses, TLS offsets, function ranges).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDebugInfo, type DwarfDebugInfo } from '../../../src/osv/dwarf/dwarf-info.js';
import { dwarfName, gxx, nativeLayout, tempDir, type NativeLayout, type TypeSpelling } from './native.js';

const FIX = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const HEADER = path.join(FIX, 'layouts.hh');

const HIDDEN: TypeSpelling = ['(anonymous namespace)::hidden', 'hidden'];
const UMAP = 'std::unordered_map<unsigned int, sched::thread*, std::hash<unsigned int>, std::equal_to<unsigned int>, std::allocator<std::pair<unsigned int const, sched::thread*> > >';
const MEMBERS: [TypeSpelling, string][] = [
  ['outer::inner::point', 'x'], ['outer::inner::point', 'y'], ['outer::inner::point', 'z'],
  [HIDDEN, 'a'], [HIDDEN, 'b'], [HIDDEN, 'p.z'],
  ['sched::thread', '_func'], ['sched::thread', '_attr'], ['sched::thread', '_attr._name'], ['sched::thread', '_attr._stack.size'],
  ['sched::thread', '_attr._pinned_cpu'], ['sched::thread', '_id'], ['sched::thread', '_detached_state'],
  ['sched::thread::detached_state', 'st'], ['sched::thread::detached_state', '_cpu'],
  ['sched::cpu', 'idle_thread'], ['sched::cpu', 'runqueue'],
  ['derived', 'a'], ['derived', 'd'], ['derived', 'tag'], ['derived', 'c'], ['derived', 'where.y'],
  ['ring<outer::inner::point, 5>', 'items'], ['ring<outer::inner::point, 5>', 'head'], ['ring<outer::inner::point, 5>', 'last'],
  ['ring<char, 7>', 'head'],
  ['flags', 'e'],
  ['number', 'i'], ['number', 'f'], ['number', 'bytes'],
  ['tagged', 'kind'], ['tagged', 'i'], ['tagged', 'd'], ['tagged', 'range'], ['tagged', 'range.hi'],
  ['counter', 'v'], ['counter', 'grid'],
  ['holder', 'points'], ['holder', 'points.head'], ['holder', 'chars'], ['holder', 'chars.last'], ['holder', 'label'],
  ['holder', 'table'], ['holder', 'owned'],
  [UMAP, '_M_h._M_before_begin._M_nxt'], [UMAP, '_M_h._M_element_count'], [UMAP, '_M_h._M_buckets'],
  ['std::vector<sched::cpu*, std::allocator<sched::cpu*> >', '_M_impl._M_finish'],
];
const TYPES: TypeSpelling[] = [
  'outer::inner::point', HIDDEN, 'sched::thread', 'sched::thread::attr', 'sched::thread::detached_state', 'sched::cpu',
  'base1', 'base2', 'derived', 'ring<outer::inner::point, 5>', 'ring<char, 7>', 'ring<int, 3>', 'flags', 'number', 'tagged',
  'counter', 'holder', UMAP, 'std::unique_ptr<sched::thread::detached_state, std::default_delete<sched::thread::detached_state> >',
];
const BITS: [TypeSpelling, string][] = [['flags', 'a'], ['flags', 'b'], ['flags', 'c'], ['flags', 'd']];

const VARIANTS = [
  { name: 'DWARF 4', flags: ['-gdwarf-4'] },
  { name: 'DWARF 5', flags: ['-gdwarf-5'] },
  { name: 'DWARF 4 with type units', flags: ['-gdwarf-4', '-fdebug-types-section'] },
  { name: 'DWARF 5 with type units', flags: ['-gdwarf-5', '-fdebug-types-section'] },
];

let native: NativeLayout;
const objects = new Map<string, string>();
const programs = new Map<string, string>();

beforeAll(async () => {
  const dir = tempDir();
  await Promise.all(VARIANTS.map(async (v, i) => {
    const obj = path.join(dir, `layouts${i}.o`);
    await gxx(['-std=gnu++17', '-O1', '-g', ...v.flags, '-c', path.join(FIX, 'layouts.cc'), '-o', obj]);
    objects.set(v.name, obj);
  }));
  // The compiler's view, linked with the DWARF 5 object; programs for each variant share main.
  native = await nativeLayout(`#include "${HEADER}"`, MEMBERS, TYPES, BITS, [objects.get('DWARF 5')!]);
  await Promise.all(VARIANTS.map(async (v, i) => {
    const exe = path.join(dir, `prog${i}`);
    await gxx(['-o', exe, objects.get(v.name)!, path.join(FIX, 'main.cc')]);
    programs.set(v.name, exe);
  }));
});

for (const v of VARIANTS) {
  describe(`${v.name} (gcc -c object)`, () => {
    let di: DwarfDebugInfo;
    beforeAll(() => {
      di = loadDebugInfo(readFileSync(objects.get(v.name)!));
    });

    it('member offsets and sizes match offsetof/sizeof', () => {
      for (const [t, m] of MEMBERS) {
        const want = native.offsets.get(`${dwarfName(t)}|${m}`);
        const got = di.member(dwarfName(t), m);
        expect(got, `${dwarfName(t)} . ${m}`).toBeDefined();
        expect({ offset: got!.offset, size: got!.size }, `${dwarfName(t)} . ${m}`).toEqual(want);
      }
    });

    it('type sizes match sizeof', () => {
      for (const t of TYPES) expect(di.type(dwarfName(t))?.size, dwarfName(t)).toBe(native.sizes.get(dwarfName(t)));
    });

    it('bit-fields: storage unit, first bit and width match the compiled code', () => {
      for (const [t, f] of BITS) {
        const m = di.member(dwarfName(t), f)!;
        const want = native.bits.get(`${dwarfName(t)}|${f}`)!;
        expect({ bit: m.offset * 8 + m.bitOffset!, width: m.bitSize }, f).toEqual(want);
      }
    });

    it('lists base classes as members named after the base type', () => {
      const d = di.type('derived')!;
      expect(d.members.slice(0, 2).map((m) => [m.name, m.offset])).toEqual([
        ['base1', native.offsets.get('derived|a')!.offset - native.offsets.get('derived|a')!.offset],
        ['base2', native.offsets.get('derived|d')!.offset],
      ]);
      expect(di.member('derived', 'base2.tag')?.offset).toBe(native.offsets.get('derived|tag')!.offset);
    });

    it('spells types as C++ does', () => {
      expect(di.member('counter', 'grid')?.typeName).toBe('long int [3][4]');
      expect(di.member('sched::thread', '_func')?.typeName).toBe('void (*)(void *)');
      expect(di.member('sched::thread', '_attr._name')?.typeName).toBe('char [16]');
      expect(di.member('ring<outer::inner::point, 5>', 'last')?.typeName).toBe('outer::inner::point *');
      expect(di.member('sched::thread', '_detached_state')?.typeName).toBe(
        'std::unique_ptr<sched::thread::detached_state, std::default_delete<sched::thread::detached_state> >');
      expect(di.member('sched::thread::detached_state', 'st')?.typeName).toBe('std::atomic<sched::thread::status>');
      expect(di.member('holder', 'owned')?.typeName).toMatch(/^std::vector<std::unique_ptr<derived, std::default_delete<derived> >, /);
      expect(di.type('std::vector<sched::thread*>')?.name).toBe('std::vector<sched::thread*, std::allocator<sched::thread*> >');
    });

    it('describes pointers, arrays, template arguments and enumerators', () => {
      expect(di.member('sched::thread', '_attr._pinned_cpu')?.pointee).toBe('sched::cpu');
      expect(di.member('ring<outer::inner::point, 5>', 'last')?.pointee).toBe('outer::inner::point');
      const grid = di.member('counter', 'grid')!;
      expect(grid.elements).toEqual({ count: 3, typeName: 'long int [4]', size: grid.size / 3 });
      const name = di.member('sched::thread', '_attr._name')!;
      expect(name.elements).toEqual({ count: 16, typeName: 'char', size: 1 });
      expect(di.type('ring<outer::inner::point, 5>')?.templateArgs).toEqual(['outer::inner::point', 5]);
      expect(di.enumerators('sched::thread::status')).toEqual({ invalid: 0, prestarted: 1, unstarted: 2, waiting: 3, running: 4, terminated: 5 });
      expect(di.enumerators('sched::thread')).toBeUndefined();
    });

    it('follows unique_ptr to its pointer: the shallowest _M_head_impl', () => {
      const p = di.member('sched::thread', '_detached_state._M_t._M_t._M_head_impl')!;
      expect(p.offset).toBe(native.offsets.get('sched::thread|_detached_state')!.offset);
      expect(p.pointee).toBe('sched::thread::detached_state');
    });

    it('does not list static members as data members', () => {
      expect(di.type('counter')!.members.map((m) => m.name)).toEqual(['v', 'grid']);
    });
  });
}

for (const v of VARIANTS) {
  describe(`${v.name} (linked program)`, () => {
    let di: DwarfDebugInfo;
    beforeAll(() => {
      di = loadDebugInfo(readFileSync(programs.get(v.name)!));
    });
    const sym = (name: string) => {
      const s = di.elf.findSymbol(name);
      expect(s, name).toBeDefined();
      return s!;
    };

    it('globals, static members and anonymous-namespace variables sit at their symbols', () => {
      for (const [name, mangled] of [
        ['sched::thread_map', '_ZN5sched10thread_mapE'], ['sched::cpus', '_ZN5sched4cpusE'], ['counter::count', '_ZN7counter5countE'],
        ['global_array', 'global_array'], ['hidden_value', 'hidden_value'], ['holder_value', 'holder_value'], ['int_ring', 'int_ring'],
      ] as const) {
        const got = di.variable(name);
        expect(got?.location, name).toEqual({ kind: 'address', address: sym(mangled).value });
        expect(got?.size, name).toBe(sym(mangled).size);
      }
      expect(di.variable('global_array')?.typeName).toBe('int [10]');
      expect(di.variable('sched::thread_map')?.typeName).toBe(UMAP);
    });

    it('thread-local variables give their offset in the TLS block', () => {
      for (const [name, mangled] of [['sched::preempt_counter', '_ZN5sched15preempt_counterE'], ['tls_long', 'tls_long']] as const) {
        const s = sym(mangled);
        expect(s.type, mangled).toBe(6); // STT_TLS: st_value is the offset in the TLS block
        expect(di.variable(name)?.location, name).toEqual({ kind: 'tls', offset: s.value });
      }
    });

    it('functionAt names functions through namespaces, classes and anonymous namespaces', () => {
      for (const [name, mangled] of [
        ['sched::use_cpu', '_ZN5sched7use_cpuEPNS_3cpuE'], ['sched::thread::~thread', '_ZN5sched6threadD2Ev'],
        ['(anonymous namespace)::anonymous_function', '_ZN12_GLOBAL__N_118anonymous_functionEi'], ['use_everything', '_Z14use_everythingv'],
      ] as const) {
        const s = di.elf.findSymbol(mangled);
        if (!s) continue; // inlined away
        expect(di.functionAt(s.value), name).toEqual({ name, low: s.value, high: s.value + s.size });
      }
      expect(di.functionAt(sym('_Z14use_everythingv').value)?.name).toBe('use_everything');
      expect(di.functionAt(1)).toBeUndefined();
    });
  });
}
