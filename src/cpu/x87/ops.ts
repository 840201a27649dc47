// x87 instruction handlers: opcodes D8-DF (plus 9B FWAIT). Decoding stores the FOP value
// ((opcode & 7) << 8 | ModRM) in i.op; each group handler switches on it and calls the
// semantics in exec.ts. Memory operands are read before any state change and written before
// the state is committed, so a #PF restarts the instruction cleanly.

import type { Cpu } from '../cpu.js';
import type { Decoder } from '../decoder.js';
import { raise, raiseUD } from '../exceptions.js';
import { arithFlags, cond, setArithFlags } from '../flags.js';
import type { Insn } from '../insn.js';
import { ea } from '../operands.js';
import { def1 } from '../optable.js';
import { AF, CF, CR0_EM, CR0_MP, CR0_TS, OF, PF, SF, VEC_MF, VEC_NM, ZF } from '../regs.js';
import { f80FromBcd } from './bcd.js';
import * as E from './exec.js';
import * as F from './f80.js';
import type { X87 } from './state.js';

const OUT = F.OUT;

/**
 * Availability and pending-exception checks every x87 instruction starts with.
 * #NM when CR0.EM or CR0.TS is set (the lazy-FPU hook); for waiting instructions, #MF when an
 * unmasked exception is pending (ES). With CR0.NE clear real hardware would signal FERR#
 * (external IRQ 13) instead; osvemu has no FERR# line and delivers #MF in both cases.
 */
function enter(cpu: Cpu, wait: boolean): X87 {
  if (cpu.cr0 & (CR0_EM | CR0_TS)) raise(cpu, VEC_NM);
  const x = cpu.fpu;
  if (wait && x.sw & 0x80) raise(cpu, VEC_MF);
  return x;
}

/** Record the last non-control instruction (FOP, FIP, FDP) for FNSTENV/FXSAVE. */
function note(cpu: Cpu, x: X87, i: Insn, addr: number): void {
  x.fop = i.op & 0x7ff;
  const ip = cpu.rip - i.len;
  x.fipLo = ip >>> 0;
  x.fipHi = Math.floor(ip / 4294967296) >>> 0;
  if (addr >= 0) {
    x.fdpLo = addr >>> 0;
    x.fdpHi = Math.floor(addr / 4294967296) >>> 0;
  }
}

// ---- memory helpers ---------------------------------------------------------------------
function rd32(cpu: Cpu, a: number): number {
  return cpu.mmu.read32(a) >>> 0;
}
/** Low half of a 64-bit read (the high half is left in cpu.mmu.hi, signed). */
function rd64(cpu: Cpu, a: number): number {
  return cpu.mmu.read64(a) >>> 0;
}

/** Write a store result from OUT in the format's width. */
function writeStore(cpu: Cpu, a: number, fmt: number): void {
  switch (fmt) {
    case E.ST_F32: case E.ST_I32: case E.ST_I32T: cpu.mmu.write32(a, OUT[2] | 0); break;
    case E.ST_I16: case E.ST_I16T: cpu.mmu.write16(a, OUT[2] & 0xffff); break;
    case E.ST_F80: case E.ST_BCD: {
      const se = OUT[0], hi = OUT[1], lo = OUT[2];
      cpu.mmu.write64(a, lo | 0, hi | 0);
      cpu.mmu.write16(a + 8, se);
      break;
    }
    default: cpu.mmu.write64(a, OUT[2] | 0, OUT[1] | 0); break;
  }
}

const STORE_BYTES = [4, 8, 10, 2, 4, 8, 2, 4, 8, 10];

function store(cpu: Cpu, x: X87, a: number, fmt: number, pop: boolean): void {
  const v = cpu.vendor;
  // AMD checks the whole destination before anything else (even before a stack underflow); Intel converts
  // first, so a store-suppressing unmasked exception never touches memory, and writes a 10-byte image as
  // its 8-byte significand, then its exponent, each checked on its own (vendor.ts).
  if (!v.x87StoreExceptionBeforePageFault) cpu.mmu.probeWrite(a, STORE_BYTES[fmt]);
  const f = E.storePrepare(x, fmt);
  if (!(f & F.FL_NORESULT)) {
    if (v.x87StoreExceptionBeforePageFault && !v.x87TenByteStoreSplit) cpu.mmu.probeWrite(a, STORE_BYTES[fmt]);
    writeStore(cpu, a, fmt);
  }
  E.storeCommit(x, f, pop);
}

/** Read the memory operand of an arithmetic group (D8 m32, DC m64, DA m32int, DE m16int) into OUT. */
function loadArithOperand(cpu: Cpu, a: number, group: number): number {
  switch (group) {
    case 0: return F.f80WidenF32(rd32(cpu, a));
    case 4: { const lo = rd64(cpu, a); return F.f80WidenF64((cpu.mmu.hi >>> 0), lo); }
    case 2: F.f80FromI32(cpu.mmu.read32(a) | 0); return 0;
    default: F.f80FromI32((cpu.mmu.read16(a) << 16) >> 16); return 0;
  }
}

// ---- FCOMI / FCMOV flag plumbing ----------------------------------------------------------
function setComiFlags(cpu: Cpu, cc: number): void {
  // any unmasked exception (IE, DE, stack fault) makes the result "unordered", unlike FCOM's C0-C3
  if (cc < 0) cc = F.FL_C0 | F.FL_C2 | F.FL_C3;
  const bits = (cc & F.FL_C3 ? ZF : 0) | (cc & F.FL_C2 ? PF : 0) | (cc & F.FL_C0 ? CF : 0);
  setArithFlags(cpu.lf, (arithFlags(cpu.lf) & ~(ZF | PF | CF | OF | SF | AF)) | bits);
}

// FCMOVcc condition codes (x86 cc numbering) for DA C0/C8/D0/D8 and DB C0/C8/D0/D8.
const FCMOV_CC = [2, 4, 6, 10, 3, 5, 7, 11];

// ---- group handlers ---------------------------------------------------------------------

/** D8 / DC / DA / DE memory forms: arithmetic and compares with a memory operand. */
function arithMemHandler(cpu: Cpu, i: Insn): void {
  const x = enter(cpu, true);
  const a = ea(cpu, i);
  const group = (i.op >> 8) & 7; // 0 D8, 4 DC, 2 DA, 6 DE
  const kind = (i.op >> 3) & 7;
  const den = loadArithOperand(cpu, a, group);
  note(cpu, x, i, a);
  if (kind === E.K_COM || kind === E.K_COMP) {
    E.compare(x, -1, OUT[0], OUT[1], OUT[2], den, false, true, kind === E.K_COMP ? 1 : 0);
    return;
  }
  E.arithMem(x, kind, OUT[0], OUT[1], OUT[2], den);
}

/** D8 / DC / DE register forms. */
function arithRegHandler(cpu: Cpu, i: Insn): void {
  const x = enter(cpu, true);
  note(cpu, x, i, -1);
  const group = (i.op >> 8) & 7;
  const kind = (i.op >> 3) & 7;
  const sti = i.op & 7;
  if (kind === E.K_COM || kind === E.K_COMP) {
    // D8 D0/D8: fcom/fcomp; DC D0/D8 and DE D0 (fcomp) are undocumented aliases; DE D9 is fcompp
    const pops = group === 6 ? (kind === E.K_COMP ? 2 : 1) : kind === E.K_COMP ? 1 : 0;
    E.compare(x, sti, 0, 0, 0, 0, false, true, pops);
    return;
  }
  if (group === 0) E.arithReg(x, kind, sti, false, false);
  else E.arithReg(x, kind, sti, true, group === 6);
}

function d9Mem(cpu: Cpu, i: Insn): void {
  const r = (i.op >> 3) & 7;
  const a = ea(cpu, i);
  switch (r) {
    case 0: { // fld m32
      const x = enter(cpu, true);
      const v = rd32(cpu, a);
      note(cpu, x, i, a);
      E.pushConverted(x, F.f80FromF32(v, x.cw));
      return;
    }
    case 2: case 3: { // fst / fstp m32
      const x = enter(cpu, true);
      note(cpu, x, i, a);
      store(cpu, x, a, E.ST_F32, r === 3);
      return;
    }
    case 4: { // fldenv m28 / m14 (a waiting instruction: a pending exception raises #MF first)
      const x = enter(cpu, true);
      readImage(cpu, a, i.size, ENV_BYTES);
      x.fldenvFrom(SCRATCH, 0);
      return;
    }
    case 5: { // fldcw
      const x = enter(cpu, true);
      x.loadCw(cpu.mmu.read16(a));
      return;
    }
    case 6: { // fnstenv m28
      const x = enter(cpu, false);
      x.storeEnv(SCRATCH, 0);
      writeImage(cpu, a, i.size, ENV_BYTES);
      x.fnstenvInto(SCRATCH, 0); // applies the exception masking after the write succeeded
      return;
    }
    case 7: { // fnstcw
      const x = enter(cpu, false);
      cpu.mmu.write16(a, x.cw);
      return;
    }
    default:
      raiseUD(cpu);
  }
}

function d9Reg(cpu: Cpu, i: Insn): void {
  const m = i.op & 0xff;
  const sti = m & 7;
  const x = enter(cpu, true);
  if (m < 0xc8) { note(cpu, x, i, -1); E.fldSt(x, sti); return; }
  if (m < 0xd0) { note(cpu, x, i, -1); E.fxch(x, sti); return; }
  note(cpu, x, i, -1);
  if (m >= 0xd8 && m < 0xe0) { E.fstp1(x, sti); return; } // undocumented FSTP1
  switch (m) {
    case 0xd0: return; // fnop
    case 0xe0: E.unaryOp(x, E.U_CHS); return;
    case 0xe1: E.unaryOp(x, E.U_ABS); return;
    case 0xe4: E.compare(x, -1, 0, 0, 0, 0, false, true, 0); return; // ftst
    case 0xe5: E.fxam(x); return;
    case 0xe8: E.fldConst(x, F.CONST_ONE); return;
    case 0xe9: E.fldConst(x, F.CONST_L2T); return;
    case 0xea: E.fldConst(x, F.CONST_L2E); return;
    case 0xeb: E.fldConst(x, F.CONST_PI); return;
    case 0xec: E.fldConst(x, F.CONST_LG2); return;
    case 0xed: E.fldConst(x, F.CONST_LN2); return;
    case 0xee: E.fldConst(x, F.CONST_ZERO); return;
    case 0xf0: E.transcendental(x, E.T_F2XM1); return;
    case 0xf1: E.transcendental(x, E.T_FYL2X); return;
    case 0xf2: E.transcendental(x, E.T_FPTAN); return;
    case 0xf3: E.transcendental(x, E.T_FPATAN); return;
    case 0xf4: E.fxtract(x); return;
    case 0xf5: E.fprem(x, true); return;
    case 0xf6: E.fdecstp(x); return;
    case 0xf7: E.fincstp(x); return;
    case 0xf8: E.fprem(x, false); return;
    case 0xf9: E.transcendental(x, E.T_FYL2XP1); return;
    case 0xfa: E.unaryOp(x, E.U_SQRT); return;
    case 0xfb: E.transcendental(x, E.T_FSINCOS); return;
    case 0xfc: E.unaryOp(x, E.U_RNDINT); return;
    case 0xfd: E.fscale(x); return;
    case 0xfe: E.transcendental(x, E.T_FSIN); return;
    case 0xff: E.transcendental(x, E.T_FCOS); return;
    default:
      raiseUD(cpu); // D9 D1-DF, E2, E3, E6, E7 are reserved
  }
}

function daReg(cpu: Cpu, i: Insn): void {
  const x = enter(cpu, true);
  note(cpu, x, i, -1);
  const m = i.op & 0xff;
  if (m === 0xe9) { E.compare(x, 1, 0, 0, 0, 0, true, true, 2); return; } // fucompp
  E.fcmov(x, m & 7, cond(cpu.lf, FCMOV_CC[(m >> 3) & 3]));
}

function dbMem(cpu: Cpu, i: Insn): void {
  const r = (i.op >> 3) & 7;
  const a = ea(cpu, i);
  const x = enter(cpu, true);
  switch (r) {
    case 0: { const v = cpu.mmu.read32(a) | 0; note(cpu, x, i, a); F.f80FromI32(v); E.pushRaw(x, OUT[0], OUT[1], OUT[2]); return; }
    case 1: note(cpu, x, i, a); store(cpu, x, a, E.ST_I32T, true); return;
    case 2: note(cpu, x, i, a); store(cpu, x, a, E.ST_I32, false); return;
    case 3: note(cpu, x, i, a); store(cpu, x, a, E.ST_I32, true); return;
    case 5: { // fld m80
      const lo = rd64(cpu, a);
      const hi = (cpu.mmu.hi >>> 0);
      const se = cpu.mmu.read16(a + 8);
      note(cpu, x, i, a);
      E.pushRaw(x, se, hi, lo);
      return;
    }
    case 7: note(cpu, x, i, a); store(cpu, x, a, E.ST_F80, true); return;
    default: raiseUD(cpu);
  }
}

function dbReg(cpu: Cpu, i: Insn): void {
  const m = i.op & 0xff;
  if (m === 0xe2) { fnclexH(cpu); return; }
  if (m === 0xe3) { enter(cpu, false).reset(); return; }
  if (m === 0xe0 || m === 0xe1 || m === 0xe4) { enter(cpu, false); return; } // feni/fdisi/fsetpm: no-ops
  const x = enter(cpu, true);
  note(cpu, x, i, -1);
  if (m < 0xe0) { E.fcmov(x, m & 7, cond(cpu.lf, FCMOV_CC[4 + ((m >> 3) & 3)])); return; }
  if (m >= 0xe8 && m < 0xf8) {
    setComiFlags(cpu, E.compare(x, m & 7, 0, 0, 0, 0, m < 0xf0, false, 0)); // fucomi / fcomi
    return;
  }
  raiseUD(cpu);
}

function fnclexH(cpu: Cpu): void {
  E.fnclex(enter(cpu, false));
}

function ddMem(cpu: Cpu, i: Insn): void {
  const r = (i.op >> 3) & 7;
  const a = ea(cpu, i);
  switch (r) {
    case 0: {
      const x = enter(cpu, true);
      const lo = rd64(cpu, a);
      note(cpu, x, i, a);
      E.pushConverted(x, F.f80FromF64((cpu.mmu.hi >>> 0), lo, x.cw));
      return;
    }
    case 1: { const x = enter(cpu, true); note(cpu, x, i, a); store(cpu, x, a, E.ST_I64T, true); return; }
    case 2: case 3: { const x = enter(cpu, true); note(cpu, x, i, a); store(cpu, x, a, E.ST_F64, r === 3); return; }
    case 4: { // frstor m108 / m94
      const x = enter(cpu, true);
      readImage(cpu, a, i.size, SAVE_BYTES);
      x.frstorFrom(SCRATCH, 0);
      return;
    }
    case 6: { // fnsave m108 / m94
      const x = enter(cpu, false);
      x.saveImage(SCRATCH, 0);
      writeImage(cpu, a, i.size, SAVE_BYTES);
      x.reset();
      return;
    }
    case 7: { const x = enter(cpu, false); cpu.mmu.write16(a, x.fsw); return; } // fnstsw m16
    default: raiseUD(cpu);
  }
}

function ddReg(cpu: Cpu, i: Insn): void {
  const x = enter(cpu, true);
  note(cpu, x, i, -1);
  const m = i.op & 0xff;
  const sti = m & 7;
  switch (m >> 3) {
    case 0x18: E.ffree(x, sti); return; // C0
    case 0x1a: E.fstSt(x, sti, false); return; // D0
    case 0x1b: E.fstSt(x, sti, true); return; // D8
    case 0x1c: E.compare(x, sti, 0, 0, 0, 0, true, true, 0); return; // E0 fucom
    case 0x1d: E.compare(x, sti, 0, 0, 0, 0, true, true, 1); return; // E8 fucomp
    case 0x19: E.fxch(x, sti); return; // C8 alias of fxch
    default: raiseUD(cpu);
  }
}

function deReg(cpu: Cpu, i: Insn): void {
  const m = i.op & 0xff;
  if ((m & 0xf8) === 0xd8 && m !== 0xd9) { raiseUD(cpu); }
  arithRegHandler(cpu, i);
}

function dfMem(cpu: Cpu, i: Insn): void {
  const r = (i.op >> 3) & 7;
  const a = ea(cpu, i);
  const x = enter(cpu, true);
  switch (r) {
    case 0: { const v = (cpu.mmu.read16(a) << 16) >> 16; note(cpu, x, i, a); F.f80FromI32(v); E.pushRaw(x, OUT[0], OUT[1], OUT[2]); return; }
    case 1: note(cpu, x, i, a); store(cpu, x, a, E.ST_I16T, true); return;
    case 2: note(cpu, x, i, a); store(cpu, x, a, E.ST_I16, false); return;
    case 3: note(cpu, x, i, a); store(cpu, x, a, E.ST_I16, true); return;
    case 4: { // fbld m80bcd
      const lo = rd64(cpu, a);
      const hi = (cpu.mmu.hi >>> 0);
      const se = cpu.mmu.read16(a + 8);
      note(cpu, x, i, a);
      f80FromBcd(se, hi, lo);
      E.pushRaw(x, OUT[0], OUT[1], OUT[2]);
      return;
    }
    case 5: { const lo = rd64(cpu, a); note(cpu, x, i, a); F.f80FromI64((cpu.mmu.hi >>> 0), lo); E.pushRaw(x, OUT[0], OUT[1], OUT[2]); return; }
    case 6: note(cpu, x, i, a); store(cpu, x, a, E.ST_BCD, true); return; // fbstp m80bcd
    case 7: note(cpu, x, i, a); store(cpu, x, a, E.ST_I64, true); return;
    default: raiseUD(cpu);
  }
}

function dfReg(cpu: Cpu, i: Insn): void {
  const m = i.op & 0xff;
  if (m === 0xe0) { cpu.r16[0] = enter(cpu, false).fsw; return; } // fnstsw ax
  const x = enter(cpu, true);
  note(cpu, x, i, -1);
  if (m >= 0xe8 && m < 0xf8) {
    setComiFlags(cpu, E.compare(x, m & 7, 0, 0, 0, 0, m < 0xf0, false, 1)); // fucomip / fcomip
    return;
  }
  if (m < 0xc8) { E.ffree(x, m & 7); x.pop(); return; } // ffreep (undocumented, widely supported)
  if (m < 0xd0) { E.fxch(x, m & 7); return; } // undocumented alias of fxch
  if (m < 0xe0) { E.fstSt(x, m & 7, true); return; } // undocumented aliases of fstp st(i)
  raiseUD(cpu);
}

function fwait(cpu: Cpu): void {
  // FWAIT raises #NM only when both MP and TS are set
  if ((cpu.cr0 & (CR0_MP | CR0_TS)) === (CR0_MP | CR0_TS)) raise(cpu, VEC_NM);
  if (cpu.fpu.sw & 0x80) raise(cpu, VEC_MF);
}

// ---- environment images ------------------------------------------------------------------
const SCRATCH = new Uint8Array(108);

function readBytes(cpu: Cpu, a: number, n: number, first = 4): void {
  // the hardware checks the first dword (word for the 16-bit images), then the last byte (CR2 of a page-crossing
  // fault shows it)
  cpu.mmu.probeRead(a, first);
  cpu.mmu.probeRead(a + n - 1, 1);
  for (let k = 0; k < n; k++) SCRATCH[k] = cpu.mmu.read8(a + k);
}

function writeBytes(cpu: Cpu, a: number, n: number, first = 4): void {
  // nothing is written before both ends are known writable: first dword (word), then last byte (as CR2 shows)
  cpu.mmu.probeWrite(a, first);
  cpu.mmu.probeWrite(a + n - 1, 1);
  for (let k = 0; k < n; k++) cpu.mmu.write8(a + k, SCRATCH[k]);
}

// With a 16-bit operand size (66) the environment is 7 words instead of 7 dwords: FCW FSW FTW FIP[15:0] FCS FDP[15:0]
// FDS (no FOP), 14 bytes, and the FNSAVE registers follow at 14 instead of 28. SCRATCH always holds the 32-bit
// layout (what state.ts reads and writes); these convert in place.
const ENV_BYTES = 28;
const SAVE_BYTES = 108;
const ENV16_BYTES = 14;

function readImage(cpu: Cpu, a: number, size: number, n: number): void {
  if (size !== 16) { readBytes(cpu, a, n); return; }
  readBytes(cpu, a, n - (ENV_BYTES - ENV16_BYTES), 2);
  SCRATCH.copyWithin(ENV_BYTES, ENV16_BYTES, n - (ENV_BYTES - ENV16_BYTES));
  for (let k = 6; k >= 0; k--) { // highest first: each dword slot only overlaps words already moved
    const w = SCRATCH[2 * k] | (SCRATCH[2 * k + 1] << 8);
    SCRATCH[4 * k] = w & 0xff;
    SCRATCH[4 * k + 1] = w >>> 8;
    SCRATCH[4 * k + 2] = 0;
    SCRATCH[4 * k + 3] = 0;
  }
}

function writeImage(cpu: Cpu, a: number, size: number, n: number): void {
  if (size !== 16) { writeBytes(cpu, a, n); return; }
  for (let k = 0; k < 7; k++) { // lowest first: each word lands at or below its source
    SCRATCH[2 * k] = SCRATCH[4 * k];
    SCRATCH[2 * k + 1] = SCRATCH[4 * k + 1];
  }
  SCRATCH.copyWithin(ENV16_BYTES, ENV_BYTES, n);
  writeBytes(cpu, a, n - (ENV_BYTES - ENV16_BYTES), 2);
}

// ---- decode -----------------------------------------------------------------------------

/**
 * Reserved encodings: #UD on the host CPU (checked on AMD) and invalid in iced-x86 / the SDM. Decided at decode so
 * decodeLength reports them invalid; the handlers' own raiseUD defaults stay as a second line. The undocumented
 * aliases (fstp1 D9 D8-DF, fcom2/fcomp3 DC D0-DF, fxch4 DD C8, fcomp5 DE D0, ffreep DF C0, fxch7 DF C8, fstp8/9
 * DF D0-DF) execute on the host and are NOT reserved.
 */
function reserved(opcode: number, mem: boolean, reg: number, m: number): boolean {
  if (mem) return (opcode === 0xd9 && reg === 1) || (opcode === 0xdb && (reg === 4 || reg === 6)) || (opcode === 0xdd && reg === 5);
  switch (opcode) {
    case 0xd9: return (m >= 0xd1 && m <= 0xd7) || m === 0xe2 || m === 0xe3 || m === 0xe6 || m === 0xe7 || m === 0xef;
    case 0xda: return m >= 0xe0 && m !== 0xe9; // only fucompp (E9) beside the fcmovs
    case 0xdb: return (m >= 0xe5 && m <= 0xe7) || m >= 0xf8;
    case 0xdd: return m >= 0xf0;
    case 0xde: return (m & 0xf8) === 0xd8 && m !== 0xd9; // only fcompp (D9) in the D8 row
    case 0xdf: return (m >= 0xe1 && m <= 0xe7) || m >= 0xf8;
    default: return false;
  }
}

function decodeEscape(opcode: number, memH: (cpu: Cpu, i: Insn) => void, regH: (cpu: Cpu, i: Insn) => void) {
  return (d: Decoder, i: Insn): void => {
    d.modrm(i);
    const m = d.modrmByte;
    i.op = ((opcode & 7) << 8) | m;
    if (reserved(opcode, i.mem, d.regField, m)) return; // i.h stays opUD
    i.size = d.osz === 16 ? 16 : 32; // environment image format of fldenv/fnstenv/frstor/fnsave
    i.h = i.mem ? memH : regH;
  };
}

def1(0xd8, decodeEscape(0xd8, arithMemHandler, arithRegHandler));
def1(0xd9, decodeEscape(0xd9, d9Mem, d9Reg));
def1(0xda, decodeEscape(0xda, arithMemHandler, daReg));
def1(0xdb, decodeEscape(0xdb, dbMem, dbReg));
def1(0xdc, decodeEscape(0xdc, arithMemHandler, arithRegHandler));
def1(0xdd, decodeEscape(0xdd, ddMem, ddReg));
def1(0xde, decodeEscape(0xde, arithMemHandler, deReg));
def1(0xdf, decodeEscape(0xdf, dfMem, dfReg));
def1(0x9b, (_d: Decoder, i: Insn) => { i.h = fwait; });
