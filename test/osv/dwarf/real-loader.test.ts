// The DWARF reader on a real OSv loader.elf (OSV_LOADER_ELF; skipped without it): the layouts and
// variables of osv-machine.md §6, each compared with what gdb prints for the same file. Members or
// variables this OSv version lacks (gdb cannot resolve them) are skipped, never hard-coded.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadDebugInfoFile } from '../../../src/osv/dwarf/dwarf-info.js';
import { loadKernelDebugInfo } from '../../../src/osv/debug-symbols.js';

const loader = process.env.OSV_LOADER_ELF ?? '';

const MEMBERS: [string, string][] = [
  ['sched::thread', '_id'], ['sched::thread', '_attr._name'], ['sched::thread', '_attr._stack.begin'], ['sched::thread', '_attr._stack.size'],
  ['sched::thread', '_detached_state'], ['sched::thread', '_state.rsp'], ['sched::thread', '_state.rbp'], ['sched::thread', '_state.rip'],
  ['sched::thread', '_tcb'], ['sched::thread', '_runtime'], ['sched::thread', '_active_timers'],
  ['sched::thread::detached_state', '_cpu'], ['sched::thread::detached_state', 'st'],
  ['sched::cpu', 'id'], ['sched::cpu', 'percpu_base'], ['sched::cpu', 'arch'],
  ['elf::object', '_base'], ['elf::object', '_pathname'], ['trace_buf', '_base'], ['trace_buf', '_last'], ['trace_buf', '_size'],
];
const TYPES = ['sched::thread', 'sched::cpu', 'sched::thread::detached_state', 'elf::object', 'elf::program', 'trace_buf'];
const VARS = [
  'sched::thread_map', 'sched::cpus', 'elf::program::s_objs', 'mmu::vma_list', 'memory::free_memory', 'memory::phys_mem_size',
  'memory::free_page_ranges', 'mmu::page_table_root', 'tracepoint_base::tp_list', 'percpu_trace_buffer',
];

/** One gdb run: each expression's printed value ('' when gdb could not evaluate it). */
async function gdbValues(exprs: string[]): Promise<string[]> {
  const args = ['-nx', '-batch', '-ex', 'set print demangle on'];
  exprs.forEach((e, i) => args.push('-ex', `echo @${i}@\\n`, '-ex', e));
  args.push(loader);
  // Asynchronous: gdb reads the whole DWARF (seconds), and the test worker must stay responsive.
  const { stdout: out } = await promisify(execFile)('gdb', args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  const vals = exprs.map(() => '');
  let cur = -1;
  for (const line of out.split('\n')) {
    const m = /^@(\d+)@$/.exec(line);
    if (m) cur = Number(m[1]);
    else if (cur >= 0 && line.startsWith('$')) vals[cur] = line;
  }
  return vals;
}

const hexOf = (line: string) => {
  const m = /\) (0x[0-9a-f]+)/.exec(line) ?? / = (0x[0-9a-f]+)$/.exec(line);
  return m ? Number(m[1]) : NaN;
};

describe.skipIf(!loader)('DWARF reader on a real OSv loader.elf', () => {
  it('agrees with gdb on §6 layouts, sizes and variables', async () => {
    const di = loadDebugInfoFile(loader);
    const exprs = [
      ...MEMBERS.map(([t, m]) => `p &((${t}*)0)->${m}`),
      ...TYPES.map((t) => `p sizeof(${t})`),
      ...VARS.map((v) => `p &${v}`),
      'info address sched::preempt_counter',
    ];
    const vals = await gdbValues(exprs);
    let compared = 0;
    MEMBERS.forEach(([t, m], i) => {
      if (!vals[i]) return;
      expect(di.member(t, m)?.offset, `${t}.${m}: gdb ${vals[i]}`).toBe(hexOf(vals[i]!));
      compared++;
    });
    TYPES.forEach((t, j) => {
      const line = vals[MEMBERS.length + j]!;
      if (!line) return;
      expect(di.type(t)?.size, `sizeof ${t}: gdb ${line}`).toBe(Number(/= (\d+)/.exec(line)![1]));
      compared++;
    });
    VARS.forEach((v, k) => {
      const line = vals[MEMBERS.length + TYPES.length + k]!;
      if (!line) return;
      expect(di.variable(v)?.location, `&${v}: gdb ${line}`).toEqual({ kind: 'address', address: hexOf(line) });
      compared++;
    });
    expect(compared).toBeGreaterThan(25);
    const tls = di.variable('sched::preempt_counter');
    if (tls) expect(tls.location.kind).toBe('tls');
  });

  it('names functions like the symbol table, and finds loader.elf beside loader-stripped.elf', () => {
    const di = loadDebugInfoFile(loader);
    for (const name of ['abort', '_ZN3osv4haltEv', '_ZN5sched3cpu8scheduleEv']) {
      const s = di.elf.findSymbol(name);
      if (!s || s.size === 0) continue;
      const f = di.functionAt(s.value + 1);
      expect(f?.low, name).toBe(s.value);
    }
    const beside = loader.replace(/loader\.elf$/, 'loader-stripped.elf');
    const found = loadKernelDebugInfo(beside);
    expect(found?.path).toBe(loader);
  });
});
