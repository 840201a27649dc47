// crc32 (SSE4.2, F2 0F 38 F0/F1): CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of an 8/16/32/64-bit
// source accumulated into a 32-bit value. The opcodes are shared with movbe (no prefix, ops/bitops.ts):
// only the F2 forms are handled here, everything else goes to the decoder registered before this module.
import type { Cpu } from '../cpu.js';
import type { Insn } from '../insn.js';
import { ea } from '../operands.js';
import { def0F38, MAP0F38 } from '../optable.js';

const TABLE = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0x82f63b78 & -(c & 1));
  TABLE[n] = c;
}

function crcBytes(crc: number, v: number, bytes: number): number {
  for (let k = 0; k < bytes; k++) { crc = (crc >>> 8) ^ TABLE[(crc ^ v) & 0xff]; v >>>= 8; }
  return crc;
}

// i.size = source bits (8, 16, 32, 64); the destination is r32 (r64 with REX.W: upper half zeroed either way).
function crc32(cpu: Cpu, i: Insn): void {
  const r = cpu.r32, size = i.size;
  let lo: number, hi = 0;
  if (i.mem) {
    const a = ea(cpu, i), m = cpu.mmu;
    if (size === 8) lo = m.read8(a);
    else if (size === 16) lo = m.read16(a);
    else if (size === 32) lo = m.read32(a);
    else { lo = m.read64(a); hi = m.hi; }
  } else if (size === 8) lo = cpu.r8[i.rm];
  else { lo = r[2 * i.rm]; hi = r[2 * i.rm + 1]; }
  let crc = r[2 * i.reg];
  crc = crcBytes(crc, lo, size === 64 ? 4 : size >> 3);
  if (size === 64) crc = crcBytes(crc, hi, 4);
  r[2 * i.reg] = crc; r[2 * i.reg + 1] = 0;
}

for (const op of [0xF0, 0xF1]) {
  const previous = MAP0F38[op];
  def0F38(op, (d, i) => {
    if (d.rep !== 0xF2) { previous(d, i); return; }
    d.modrm(i);
    if (op === 0xF0) { i.size = 8; if (!i.mem) i.rm = d.byteReg(i.rm); }
    else i.size = d.rexW ? 64 : d.p66 ? 16 : 32;
    i.h = crc32;
  });
}
