// Guest memory as a debugger sees it: virtual addresses through a vCPU's current paging state, with
// no side effects on the guest (no accessed/dirty bits, no TLB fills, no fault recorded, no MMIO).
import type { Cpu } from '../cpu/cpu.js';

const TWO32 = 4294967296;
const CANON_LIMIT = 140737488355328; // 2^47
const PAGE = 4096;

/**
 * Linear -> physical as `cpu` would translate it (the same 4-level walk as Mmu, large pages included),
 * or -1 when the address is unmapped or not canonical. Reads the page tables only.
 */
export function peekTranslate(cpu: Cpu, lin: number): number {
  const mmu = cpu.mmu;
  const off = lin & 0xfff;
  if (!mmu.paging) {
    const page = lin - off;
    return (page >= 0 ? page % TWO32 : (page % TWO32) + TWO32) + off;
  }
  if (mmu.long && (lin >= CANON_LIMIT || lin < -CANON_LIMIT)) return -1;
  const hiLin = Math.floor(lin / TWO32);
  const loLin = lin >>> 0;
  const idx = [(hiLin >>> 7) & 511, (((hiLin & 0x7f) << 2) | (loLin >>> 30)) & 511, (loLin >>> 21) & 511, (loLin >>> 12) & 511];
  const mem = cpu.mem;
  let table = mmu.cr3 - (mmu.cr3 % PAGE);
  for (let level = 0; level < 4; level++) {
    const ea = table + idx[level] * 8;
    if (!mem.isRam(ea, 8)) return -1;
    const lo = mem.dv.getInt32(ea, true), hi = mem.dv.getInt32(ea + 4, true);
    if (!(lo & 1)) return -1;
    const base = (hi & 0xfffff) * TWO32 + ((lo & 0xfffff000) >>> 0);
    if (level === 3) return base + off;
    if ((lo & 0x80) !== 0 && level > 0) {
      const span = level === 2 ? 0x200000 : 0x40000000;
      return base - (base % span) + (loLin % span);
    }
    table = base;
  }
  return -1; // not reached
}

/** Physical RAM ranges covering [lin, lin+length), stopping at the first unmapped or non-RAM page. */
function* ramChunks(cpu: Cpu, lin: number, length: number): Generator<{ phys: number; done: number; len: number }> {
  let done = 0;
  while (done < length) {
    const a = lin + done;
    const len = Math.min(length - done, PAGE - (a & 0xfff));
    const phys = peekTranslate(cpu, a);
    if (!cpu.mem.isRam(phys, len)) return;
    yield { phys, done, len };
    done += len;
  }
}

/**
 * Reads up to `length` bytes at virtual `lin`; shorter when the range runs into an unmapped page or a
 * device (device registers are never read: reads can have side effects), null when the first byte is.
 */
export function readVirtual(cpu: Cpu, lin: number, length: number): Uint8Array | null {
  const out = new Uint8Array(length);
  let n = 0;
  for (const c of ramChunks(cpu, lin, length)) {
    out.set(cpu.mem.bytes(c.phys, c.len), c.done);
    n = c.done + c.len;
  }
  if (n === 0 && length > 0) return null;
  return out.subarray(0, n);
}

/**
 * Writes `data` at virtual `lin`, ignoring write protection as a debugger does; decoded code on the
 * written pages is dropped. Nothing is written unless every byte is mapped RAM.
 */
export function writeVirtual(cpu: Cpu, lin: number, data: Uint8Array): boolean {
  const chunks = [...ramChunks(cpu, lin, data.length)];
  const covered = chunks.reduce((n, c) => n + c.len, 0);
  if (covered !== data.length) return false;
  for (const c of chunks) cpu.mem.writeBytes(c.phys, data.subarray(c.done, c.done + c.len));
  return true;
}
