// Assembles AT&T snippets with the machine's GNU `as` (one .s file for all of them, cached per process).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cache = new Map<string, Uint8Array>();
const disasm = new Map<string, string[]>();

/** objdump's rendering of each instruction of an assembled snippet (after assemble() saw it). */
export function disassembly(snippet: string): string[] {
  const d = disasm.get(snippet);
  if (!d) throw new Error(`snippet not assembled yet: ${snippet}`);
  return d;
}

export function assemblerUnavailableReason(): string | null {
  for (const tool of ['as', 'objcopy', 'nm', 'objdump']) {
    const r = spawnSync(tool, ['--version'], { encoding: 'utf8' });
    if (r.error || r.status !== 0) return `${tool} (binutils) not found`;
  }
  return null;
}

/**
 * Returns the machine code of every snippet. Snippets are placed one after another at 16-byte aligned
 * labels; code must be position independent with respect to that (relative jumps use `.+N`, which GAS
 * resolves relative to the instruction start, so they mean the same at 0x200000000).
 */
export function assemble(snippets: readonly string[]): Uint8Array[] {
  const todo = [...new Set(snippets.filter((s) => !cache.has(s)))];
  if (todo.length) {
    const dir = mkdtempSync(join(tmpdir(), 'osvemu-isa-'));
    try {
      const lines = ['.text'];
      todo.forEach((s, i) => {
        lines.push('.balign 16', `f${i}_s:`, ...s.split(';').map((x) => '  ' + x.trim()), `f${i}_e:`);
      });
      writeFileSync(join(dir, 'forms.s'), lines.join('\n') + '\n');
      const as = spawnSync('as', ['--64', '-o', join(dir, 'forms.o'), join(dir, 'forms.s')], { encoding: 'utf8' });
      if (as.error) throw new Error(`cannot run as: ${as.error.message}`);
      if (as.status !== 0) {
        // Map "forms.s:LINE: Error" back to the snippet for a useful message.
        const msg = as.stderr.replace(/forms\.s:(\d+):/g, (_m, l: string) => `[${lines[Number(l) - 1]?.trim()}]`);
        throw new Error(`as failed on ISA forms:\n${msg}`);
      }
      const oc = spawnSync('objcopy', ['-O', 'binary', '-j', '.text', join(dir, 'forms.o'), join(dir, 'forms.bin')]);
      if (oc.status !== 0) throw new Error(`objcopy failed: ${oc.stderr}`);
      const text = readFileSync(join(dir, 'forms.bin'));
      const nm = spawnSync('nm', [join(dir, 'forms.o')], { encoding: 'utf8' });
      if (nm.status !== 0) throw new Error(`nm failed: ${nm.stderr}`);
      const sym = new Map<string, number>();
      for (const line of nm.stdout.split('\n')) {
        const m = /^([0-9a-f]+) \w (f\d+_[se])$/.exec(line.trim());
        if (m) sym.set(m[2]!, parseInt(m[1]!, 16));
      }
      const od = spawnSync('objdump', ['-d', '--no-show-raw-insn', join(dir, 'forms.o')], { encoding: 'utf8', maxBuffer: 1 << 26 });
      if (od.status !== 0) throw new Error(`objdump failed: ${od.stderr}`);
      const insns: [number, string][] = [];
      for (const line of od.stdout.split('\n')) {
        const ins = /^\s*([0-9a-f]+):\t(.*)$/.exec(line);
        if (ins) insns.push([parseInt(ins[1]!, 16), ins[2]!.replace(/\s+/g, ' ').trim()]);
      }
      const perSnippet: string[][] = todo.map((_, i) => {
        const a = sym.get(`f${i}_s`) ?? -1; const b = sym.get(`f${i}_e`) ?? -1;
        return insns.filter(([addr]) => addr >= a && addr < b).map(([, t]) => t);
      });
      todo.forEach((s, i) => {
        disasm.set(s, perSnippet[i]!);
        const a = sym.get(`f${i}_s`); const b = sym.get(`f${i}_e`);
        if (a === undefined || b === undefined) throw new Error(`labels missing for snippet ${s}`);
        if (b - a > 15) throw new Error(`snippet "${s}" is ${b - a} bytes, more than 15`);
        if (b === a) throw new Error(`snippet "${s}" assembled to nothing`);
        cache.set(s, new Uint8Array(text.subarray(a, b)));
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return snippets.map((s) => cache.get(s)!);
}
