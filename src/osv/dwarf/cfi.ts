// Call frame information (.eh_frame and .debug_frame) and an x86-64 unwinder built on it: CIE/FDE
// parsing, the CFA/register-rule machine, a small DWARF expression evaluator for the rules that
// need one, and a frame-pointer fallback for code without CFI (-fno-asynchronous-unwind-tables
// without -g, hand-written assembly). Register numbers are DWARF's: 0 rax, 1 rdx, 2 rcx, 3 rbx,
// 4 rsi, 5 rdi, 6 rbp, 7 rsp, 8-15 r8-r15, 16 the return address (rip).

import { ElfFile } from '../../machine/elf.js';
import { Cursor, lastAtOrBelow } from './bytes.js';
import { asDwarfError, DwarfError } from './errors.js';
import { sectionsOf, type DwarfSections } from './sections.js';

export const REG_RBP = 6;
export const REG_RSP = 7;
export const REG_RIP = 16;
export const NUM_REGS = 17;
export const DWARF_REG_NAMES = ['rax', 'rdx', 'rcx', 'rbx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip'] as const;

/** Register values by DWARF number; undefined = not known (never invented). */
export type RegisterSet = (number | undefined)[];

const enum Rule {
  Undefined,
  SameValue,
  Offset,
  ValOffset,
  Register,
  Expression,
  ValExpression,
}

interface RegRule {
  rule: Rule;
  n: number;
  expr?: Uint8Array;
}

interface Row {
  cfaReg: number;
  cfaOffset: number;
  cfaExpr: Uint8Array | null;
  regs: (RegRule | undefined)[];
}

interface Cie {
  codeAlign: number;
  dataAlign: number;
  raReg: number;
  fdeEncoding: number;
  lsdaEncoding: number;
  signalFrame: boolean;
  hasAugData: boolean;
  addrSize: number;
  instructions: Uint8Array;
}

export interface Fde {
  low: number;
  high: number;
  cie: Cie;
  instructions: Uint8Array;
  source: '.eh_frame' | '.debug_frame';
}

// DW_EH_PE pointer encodings (LSB / Linux Standard Base, .eh_frame).
const DW_EH_PE_omit = 0xff;
const DW_EH_PE_absptr = 0x00;
const DW_EH_PE_uleb128 = 0x01;
const DW_EH_PE_udata2 = 0x02;
const DW_EH_PE_udata4 = 0x03;
const DW_EH_PE_udata8 = 0x04;
const DW_EH_PE_sleb128 = 0x09;
const DW_EH_PE_sdata2 = 0x0a;
const DW_EH_PE_sdata4 = 0x0b;
const DW_EH_PE_sdata8 = 0x0c;
const DW_EH_PE_pcrel = 0x10;
const DW_EH_PE_datarel = 0x30;

/** The FDEs of an ELF file's .eh_frame and .debug_frame, sorted for lookup by pc. */
export class CallFrameInfo {
  private readonly fdes: Fde[] = [];

  constructor(secs: DwarfSections) {
    try {
      const eh = secs.get('.eh_frame');
      if (eh) this.parse(eh, '.eh_frame', secs.addr('.eh_frame'));
      const df = secs.get('.debug_frame');
      if (df) this.parse(df, '.debug_frame', 0);
    } catch (e) {
      throw asDwarfError(e);
    }
    // .eh_frame first for equal starts (it describes the code as linked, like .debug_frame does).
    this.fdes.sort((a, b) => a.low - b.low || (a.source === b.source ? 0 : a.source === '.eh_frame' ? -1 : 1));
  }

  static fromElf(elf: ElfFile | Uint8Array): CallFrameInfo {
    return new CallFrameInfo(sectionsOf(elf instanceof ElfFile ? elf : ElfFile.parse(elf)));
  }

  get size(): number {
    return this.fdes.length;
  }

  /** The FDE covering `pc`, if any. */
  find(pc: number): Fde | undefined {
    const f = this.fdes;
    const hi = lastAtOrBelow(f, pc);
    for (let i = hi; i >= 0 && i > hi - 4; i--) if (pc >= f[i]!.low && pc < f[i]!.high) return f[i];
    return undefined;
  }

  private parse(data: Uint8Array, source: '.eh_frame' | '.debug_frame', sectionAddr: number): void {
    const isEh = source === '.eh_frame';
    const cies = new Map<number, Cie>();
    const c = new Cursor(data, 0, data.length, source);
    while (c.pos < data.length) {
      const start = c.pos;
      c.end = data.length;
      const { length: len, offsetSize: offSize } = c.initialLength();
      if (len === 0) {
        if (isEh) break; // the terminator
        continue;
      }
      const end = c.pos + len;
      if (end > data.length) throw new DwarfError(`truncated DWARF: the ${source} entry at 0x${start.toString(16)} ends past the section`);
      c.end = end;
      const idPos = c.pos;
      const id = c.unsigned(offSize);
      const isCie = isEh ? id === 0 : id === (offSize === 4 ? 0xffffffff : 2 ** 64);
      if (isCie) {
        cies.set(start, this.parseCie(c, end, isEh, source, start));
      } else {
        const cieOff = isEh ? idPos - id : id;
        let cie = cies.get(cieOff);
        if (!cie) {
          if (cieOff < 0 || cieOff >= data.length) throw new DwarfError(`bad DWARF: the FDE at 0x${start.toString(16)} of ${source} names CIE 0x${cieOff.toString(16)} outside the section`);
          const cc = new Cursor(data, cieOff, data.length, source);
          const { length: clen, offsetSize: coff } = cc.initialLength();
          cc.end = Math.min(data.length, cc.pos + clen);
          cc.skip(coff);
          cie = this.parseCie(cc, cc.end, isEh, source, cieOff);
          cies.set(cieOff, cie);
        }
        let low: number;
        let range: number;
        if (isEh) {
          low = readEncoded(c, cie.fdeEncoding, sectionAddr, cie.addrSize);
          range = readEncoded(c, cie.fdeEncoding & 0x0f, 0, cie.addrSize);
          if (cie.hasAugData) c.skip(c.uleb());
        } else {
          low = c.unsigned(cie.addrSize);
          range = c.unsigned(cie.addrSize);
        }
        if (range > 0 && low > 0) this.fdes.push({ low, high: low + range, cie, instructions: c.bytes(end - c.pos), source });
      }
      c.pos = end;
    }
  }

  private parseCie(c: Cursor, end: number, isEh: boolean, source: string, at: number): Cie {
    const version = c.u8();
    if (version !== 1 && version !== 3 && version !== 4) throw new DwarfError(`unsupported DWARF: CIE version ${version} at 0x${at.toString(16)} of ${source}`);
    const aug = c.cstr();
    let addrSize = 8;
    if (version === 4) {
      addrSize = c.u8();
      c.u8(); // segment selector size
      if (addrSize !== 4 && addrSize !== 8) throw new DwarfError(`bad DWARF: CIE address size ${addrSize} at 0x${at.toString(16)} of ${source}`);
    }
    if (aug.includes('eh')) c.skip(addrSize);
    const codeAlign = c.uleb();
    const dataAlign = c.sleb();
    const raReg = version === 1 ? c.u8() : c.uleb();
    const cie: Cie = { codeAlign, dataAlign, raReg, fdeEncoding: DW_EH_PE_absptr, lsdaEncoding: DW_EH_PE_omit, signalFrame: false, hasAugData: false, addrSize, instructions: new Uint8Array(0) };
    if (aug.startsWith('z')) {
      cie.hasAugData = true;
      const augLen = c.uleb();
      const augEnd = c.pos + augLen;
      for (let i = 1; i < aug.length; i++) {
        const ch = aug[i];
        if (ch === 'R') cie.fdeEncoding = c.u8();
        else if (ch === 'L') cie.lsdaEncoding = c.u8();
        else if (ch === 'P') readEncoded(c, c.u8(), 0, addrSize);
        else if (ch === 'S') cie.signalFrame = true;
        else break; // unknown augmentation: the length lets us skip the rest
      }
      c.pos = augEnd;
    } else if (aug !== '' && aug !== 'eh' && isEh) {
      throw new DwarfError(`unsupported DWARF: CIE augmentation "${aug}" at 0x${at.toString(16)} of ${source}`);
    }
    if (c.pos > end) throw new DwarfError(`bad DWARF: CIE at 0x${at.toString(16)} of ${source} overruns its length`);
    cie.instructions = c.bytes(end - c.pos);
    return cie;
  }

  /** The unwind row for `pc` (the rules in force just before the instruction at `pc`). */
  rowAt(pc: number): { row: Row; fde: Fde } | undefined {
    const fde = this.find(pc);
    if (!fde) return undefined;
    try {
      const init = execute(fde.cie, fde.cie.instructions, newRow(), null, Infinity, fde.low);
      const row = execute(fde.cie, fde.instructions, cloneRow(init), init, pc, fde.low);
      return { row, fde };
    } catch (e) {
      throw asDwarfError(e);
    }
  }
}

function readEncoded(c: Cursor, enc: number, sectionAddr: number, addrSize: number): number {
  if (enc === DW_EH_PE_omit) return 0;
  const here = sectionAddr + c.pos;
  let v: number;
  switch (enc & 0x0f) {
    case DW_EH_PE_absptr: v = c.unsigned(addrSize); break;
    case DW_EH_PE_uleb128: v = c.uleb(); break;
    case DW_EH_PE_udata2: v = c.u16(); break;
    case DW_EH_PE_udata4: v = c.u32(); break;
    case DW_EH_PE_udata8: v = c.u64(); break;
    case DW_EH_PE_sleb128: v = c.sleb(); break;
    case DW_EH_PE_sdata2: v = (c.u16() << 16) >> 16; break;
    case DW_EH_PE_sdata4: v = c.u32() | 0; break;
    case DW_EH_PE_sdata8: v = c.s64(); break;
    default: throw new DwarfError(`unsupported DWARF: pointer encoding 0x${enc.toString(16)} in .eh_frame`);
  }
  switch (enc & 0x70) {
    case 0: break;
    case DW_EH_PE_pcrel: v += here; break;
    case DW_EH_PE_datarel: break;
    default: throw new DwarfError(`unsupported DWARF: pointer application 0x${(enc & 0x70).toString(16)} in .eh_frame`);
  }
  // DW_EH_PE_indirect only appears on personality pointers, whose value the unwinder ignores.
  return v;
}

function newRow(): Row {
  return { cfaReg: REG_RSP, cfaOffset: 8, cfaExpr: null, regs: [] };
}

function cloneRow(r: Row): Row {
  return { cfaReg: r.cfaReg, cfaOffset: r.cfaOffset, cfaExpr: r.cfaExpr, regs: r.regs.slice() };
}

// DW_CFA_* opcodes.
const CFA_advance_loc = 0x40;
const CFA_offset = 0x80;
const CFA_restore = 0xc0;

/** Runs call frame instructions until the location passes `pc`. */
function execute(cie: Cie, ins: Uint8Array, row: Row, init: Row | null, pc: number, start: number): Row {
  const c = new Cursor(ins, 0, ins.length, 'call frame instructions');
  let loc = start;
  const stack: Row[] = [];
  const reg = (n: number): number => {
    if (n >= 64) throw new DwarfError(`bad DWARF: call frame register ${n}`);
    return n;
  };
  const set = (n: number, rr: RegRule): void => {
    row.regs[reg(n)] = rr;
  };
  while (c.pos < ins.length) {
    const op = c.u8();
    const hi = op & 0xc0;
    const lo = op & 0x3f;
    if (hi === CFA_advance_loc) {
      loc += lo * cie.codeAlign;
      if (loc > pc) return row;
      continue;
    }
    if (hi === CFA_offset) {
      set(lo, { rule: Rule.Offset, n: c.uleb() * cie.dataAlign });
      continue;
    }
    if (hi === CFA_restore) {
      row.regs[reg(lo)] = init?.regs[lo];
      continue;
    }
    switch (op) {
      case 0x00: break; // nop
      case 0x01: loc = c.unsigned(cie.addrSize); if (loc > pc) return row; break; // set_loc
      case 0x02: loc += c.u8() * cie.codeAlign; if (loc > pc) return row; break;
      case 0x03: loc += c.u16() * cie.codeAlign; if (loc > pc) return row; break;
      case 0x04: loc += c.u32() * cie.codeAlign; if (loc > pc) return row; break;
      case 0x05: { const r = c.uleb(); set(r, { rule: Rule.Offset, n: c.uleb() * cie.dataAlign }); break; } // offset_extended
      case 0x06: { const r = reg(c.uleb()); row.regs[r] = init?.regs[r]; break; } // restore_extended
      case 0x07: set(c.uleb(), { rule: Rule.Undefined, n: 0 }); break;
      case 0x08: set(c.uleb(), { rule: Rule.SameValue, n: 0 }); break;
      case 0x09: { const r = c.uleb(); set(r, { rule: Rule.Register, n: c.uleb() }); break; }
      case 0x0a: stack.push(cloneRow(row)); if (stack.length > 64) throw new DwarfError('bad DWARF: call frame state stack overflow'); break; // remember_state
      case 0x0b: { // restore_state: the whole row, CFA included
        const s = stack.pop();
        if (!s) throw new DwarfError('bad DWARF: DW_CFA_restore_state without a remembered state');
        row = s;
        break;
      }
      case 0x0c: row.cfaReg = reg(c.uleb()); row.cfaOffset = c.uleb(); row.cfaExpr = null; break; // def_cfa
      case 0x0d: row.cfaReg = reg(c.uleb()); row.cfaExpr = null; break; // def_cfa_register
      case 0x0e: row.cfaOffset = c.uleb(); break; // def_cfa_offset
      case 0x0f: row.cfaExpr = c.bytes(c.uleb()); break; // def_cfa_expression
      case 0x10: { const r = c.uleb(); set(r, { rule: Rule.Expression, n: 0, expr: c.bytes(c.uleb()) }); break; }
      case 0x11: { const r = c.uleb(); set(r, { rule: Rule.Offset, n: c.sleb() * cie.dataAlign }); break; } // offset_extended_sf
      case 0x12: row.cfaReg = reg(c.uleb()); row.cfaOffset = c.sleb() * cie.dataAlign; row.cfaExpr = null; break; // def_cfa_sf
      case 0x13: row.cfaOffset = c.sleb() * cie.dataAlign; break; // def_cfa_offset_sf
      case 0x14: { const r = c.uleb(); set(r, { rule: Rule.ValOffset, n: c.uleb() * cie.dataAlign }); break; }
      case 0x15: { const r = c.uleb(); set(r, { rule: Rule.ValOffset, n: c.sleb() * cie.dataAlign }); break; }
      case 0x16: { const r = c.uleb(); set(r, { rule: Rule.ValExpression, n: 0, expr: c.bytes(c.uleb()) }); break; }
      case 0x2e: c.uleb(); break; // GNU_args_size
      case 0x2f: { const r = c.uleb(); set(r, { rule: Rule.Offset, n: -c.uleb() * cie.dataAlign }); break; } // GNU_negative_offset_extended
      default: throw new DwarfError(`unsupported DWARF: call frame instruction 0x${op.toString(16)}`);
    }
  }
  return row;
}

export type ReadMemory = (address: number, length: number) => Uint8Array | undefined;

/** Evaluates a DWARF expression (the subset CFI uses) with `initial` pushed first. */
export function evalExpression(expr: Uint8Array, regs: RegisterSet, read64: (a: number) => number | undefined, initial?: number): number | undefined {
  const st: number[] = initial === undefined ? [] : [initial];
  const c = new Cursor(expr, 0, expr.length, 'a DWARF expression');
  const pop = (): number => {
    const v = st.pop();
    if (v === undefined) throw new DwarfError('bad DWARF: expression stack underflow');
    return v;
  };
  let steps = 0;
  while (c.pos < expr.length) {
    if (++steps > 10_000) throw new DwarfError('bad DWARF: runaway expression');
    const op = c.u8();
    if (op >= 0x30 && op <= 0x4f) { st.push(op - 0x30); continue; } // lit0..31
    if (op >= 0x50 && op <= 0x6f) { const v = regs[op - 0x50]; if (v === undefined) return undefined; st.push(v); continue; } // reg0..31
    if (op >= 0x70 && op <= 0x8f) { const v = regs[op - 0x70]; const o = c.sleb(); if (v === undefined) return undefined; st.push(v + o); continue; } // breg0..31
    switch (op) {
      case 0x03: st.push(c.u64()); break; // addr
      case 0x06: { const v = read64(pop()); if (v === undefined) return undefined; st.push(v); break; } // deref
      case 0x08: st.push(c.u8()); break;
      case 0x09: st.push((c.u8() << 24) >> 24); break;
      case 0x0a: st.push(c.u16()); break;
      case 0x0b: st.push((c.u16() << 16) >> 16); break;
      case 0x0c: st.push(c.u32()); break;
      case 0x0d: st.push(c.u32() | 0); break;
      case 0x0e: st.push(c.u64()); break;
      case 0x0f: st.push(c.s64()); break;
      case 0x10: st.push(c.uleb()); break;
      case 0x11: st.push(c.sleb()); break;
      case 0x12: st.push(st[st.length - 1] ?? pop()); break; // dup
      case 0x13: pop(); break; // drop
      case 0x14: st.push(st[st.length - 2] ?? pop()); break; // over
      case 0x16: { const a = pop(); const b = pop(); st.push(a, b); break; } // swap
      case 0x1a: { const b = pop(); const a = pop(); st.push(Number(BigInt.asUintN(64, BigInt(a) & BigInt(b)))); break; } // and
      case 0x1c: { const b = pop(); st.push(pop() - b); break; } // minus
      case 0x1e: { const b = pop(); st.push(pop() * b); break; } // mul
      case 0x21: { const b = pop(); const a = pop(); st.push(Number(BigInt.asUintN(64, BigInt(a) | BigInt(b)))); break; } // or
      case 0x22: { const b = pop(); st.push(pop() + b); break; } // plus
      case 0x23: st.push(pop() + c.uleb()); break; // plus_uconst
      case 0x24: { const b = pop(); st.push(pop() * 2 ** b); break; } // shl
      case 0x25: { const b = pop(); st.push(Math.floor(pop() / 2 ** b)); break; } // shr
      case 0x29: { const b = pop(); st.push(pop() === b ? 1 : 0); break; } // eq
      case 0x2a: { const b = pop(); st.push(pop() >= b ? 1 : 0); break; } // ge
      case 0x2b: { const b = pop(); st.push(pop() > b ? 1 : 0); break; } // gt
      case 0x2c: { const b = pop(); st.push(pop() <= b ? 1 : 0); break; } // le
      case 0x2d: { const b = pop(); st.push(pop() < b ? 1 : 0); break; } // lt
      case 0x2e: { const b = pop(); st.push(pop() !== b ? 1 : 0); break; } // ne
      case 0x2f: { const off = (c.u16() << 16) >> 16; c.pos += off; if (c.pos < 0 || c.pos > expr.length) throw new DwarfError('bad DWARF: expression branch out of range'); break; } // skip
      case 0x28: { const off = (c.u16() << 16) >> 16; if (pop() !== 0) { c.pos += off; if (c.pos < 0 || c.pos > expr.length) throw new DwarfError('bad DWARF: expression branch out of range'); } break; } // bra
      case 0x96: break; // nop
      default: return undefined; // outside what CFI needs: the value is unknown, not invented
    }
  }
  return st.pop();
}

export interface UnwindFrame {
  /** The frame's pc: the current instruction for frame 0, the return address for the others. */
  pc: number;
  /** Canonical frame address (the caller's rsp after the return), when known. */
  cfa?: number;
  /** Registers known in this frame (DWARF numbering). */
  regs: RegisterSet;
  /** How this frame was found from the one below it. */
  how: 'initial' | 'cfi' | 'frame-pointer';
}

export interface UnwindOptions {
  /** Stop after this many frames (default 64). */
  maxFrames?: number;
  /** Allow the rbp chain where no FDE covers a pc (default true). */
  framePointer?: boolean;
}

function reader64(readMemory: ReadMemory): (a: number) => number | undefined {
  return (a) => {
    if (!Number.isSafeInteger(a) || a < 0) return undefined;
    const b = readMemory(a, 8);
    if (!b || b.length < 8) return undefined;
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16)) + b[3]! * 0x1000000 + ((b[4]! | (b[5]! << 8) | (b[6]! << 16)) + b[7]! * 0x1000000) * 4294967296;
  };
}

/**
 * Walks a stack from a register set (DWARF numbering; at least rip and rsp) reading memory through
 * `readMemory`. Frames come innermost first; the walk ends at a zero or unreadable return address,
 * a CFA that does not move up the stack, an explicitly undefined return address (the outermost
 * frame), or `maxFrames`.
 */
export function unwind(regs: RegisterSet, readMemory: ReadMemory, cfi: CallFrameInfo | undefined, opts: UnwindOptions = {}): UnwindFrame[] {
  const max = opts.maxFrames ?? 64;
  const useFp = opts.framePointer ?? true;
  const read64 = reader64(readMemory);
  const frames: UnwindFrame[] = [];
  let cur: RegisterSet = regs.slice(0, NUM_REGS);
  let how: UnwindFrame['how'] = 'initial';
  let lastCfa = -1;
  while (frames.length < max) {
    const pc = cur[REG_RIP];
    if (pc === undefined || pc === 0) break;
    const frame: UnwindFrame = { pc, regs: cur, how };
    frames.push(frame);
    // Return addresses point after the call: look the caller up by the call instruction itself.
    const lookup = how === 'initial' ? pc : pc - 1;
    const found = cfi?.rowAt(lookup);
    let next: RegisterSet | undefined;
    if (found) {
      const { row } = found;
      let cfa: number | undefined;
      if (row.cfaExpr) cfa = evalExpression(row.cfaExpr, cur, read64);
      else {
        const base = cur[row.cfaReg];
        cfa = base === undefined ? undefined : base + row.cfaOffset;
      }
      if (cfa === undefined) break;
      frame.cfa = cfa;
      const raRule = row.regs[found.fde.cie.raReg];
      if (raRule && raRule.rule === Rule.Undefined) break; // the outermost frame says so
      next = [];
      for (let r = 0; r < NUM_REGS; r++) {
        const rr = r === REG_RIP ? row.regs[found.fde.cie.raReg] : row.regs[r];
        next[r] = applyRule(rr, r, cur, cfa, read64);
      }
      next[REG_RSP] = cfa;
      how = 'cfi';
    } else if (useFp) {
      const rbp = cur[REG_RBP];
      if (rbp === undefined || rbp === 0) break;
      const ret = read64(rbp + 8);
      const savedRbp = read64(rbp);
      if (ret === undefined) break;
      frame.cfa = rbp + 16;
      next = [];
      next[REG_RBP] = savedRbp;
      next[REG_RSP] = rbp + 16;
      next[REG_RIP] = ret;
      how = 'frame-pointer';
    } else break;
    // The stack grows down: a caller's CFA above ours, or we are looping.
    if (frame.cfa! <= lastCfa) break;
    lastCfa = frame.cfa!;
    cur = next;
  }
  return frames;
}

function applyRule(rr: RegRule | undefined, r: number, cur: RegisterSet, cfa: number, read64: (a: number) => number | undefined): number | undefined {
  if (!rr) {
    // Unspecified: callee-saved registers keep their value (the SysV ABI), others are unknown.
    return r === 3 || r === REG_RBP || (r >= 12 && r <= 15) ? cur[r] : undefined;
  }
  switch (rr.rule) {
    case Rule.Undefined: return undefined;
    case Rule.SameValue: return cur[r];
    case Rule.Offset: return read64(cfa + rr.n);
    case Rule.ValOffset: return cfa + rr.n;
    case Rule.Register: return cur[rr.n];
    case Rule.Expression: {
      const a = evalExpression(rr.expr!, cur, read64, cfa);
      return a === undefined ? undefined : read64(a);
    }
    case Rule.ValExpression: return evalExpression(rr.expr!, cur, read64, cfa);
  }
}
