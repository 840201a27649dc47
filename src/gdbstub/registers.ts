// Register packets: g (all), G (write all), p (one), P (write one).

import { E_GENERIC, E_INVALID, type Reply, type StubContext } from './context.js';
import { bytesToHex, hexToBytes, parseHexNumber } from './hex.js';
import { G_PACKET_BYTES, MAX_REGISTER_BYTES, ORIG_RAX, REGISTERS, REGISTER_COUNT } from './tdesc.js';

const scratch = new Uint8Array(MAX_REGISTER_BYTES);

/** The GNU/Linux description's orig_rax, which no machine has: unavailable, writes ignored. */
const ORIG_RAX_UNAVAILABLE = 'xx'.repeat(8);

function readOne(ctx: StubContext, reg: number): string {
  if (reg === ORIG_RAX) return ORIG_RAX_UNAVAILABLE;
  const r = REGISTERS[reg];
  const buf = scratch.subarray(0, r.bytes);
  buf.fill(0);
  // An unavailable register is 'xx' per byte: gdb then shows <unavailable> instead of a fake 0.
  return ctx.threads.readRegister(ctx.gThread, reg, buf) ? bytesToHex(buf) : 'xx'.repeat(r.bytes);
}

export function handleRegisters(ctx: StubContext, body: string): Reply {
  switch (body[0]) {
    case 'g': {
      if (body.length !== 1) return E_INVALID;
      let s = '';
      for (let i = 0; i < REGISTER_COUNT; i++) s += readOne(ctx, i);
      return ctx.threads.linuxAbi === true ? s + ORIG_RAX_UNAVAILABLE : s;
    }
    case 'G': {
      const data = hexToBytes(body.slice(1));
      // Accept a prefix covering whole registers (gdb may send fewer than all); reject garbage.
      if (data === null || data.length > G_PACKET_BYTES + (ctx.threads.linuxAbi === true ? 8 : 0)) return E_INVALID;
      for (let i = 0; i < REGISTER_COUNT; i++) {
        const r = REGISTERS[i];
        if (r.offset + r.bytes > data.length) break;
        ctx.threads.writeRegister(ctx.gThread, i, data.subarray(r.offset, r.offset + r.bytes));
      }
      return 'OK';
    }
    case 'p': {
      const reg = parseHexNumber(body.slice(1));
      if (reg === null || reg >= REGISTER_COUNT + (ctx.threads.linuxAbi === true ? 1 : 0)) return E_INVALID;
      return readOne(ctx, reg);
    }
    case 'P': {
      const eq = body.indexOf('=');
      if (eq < 0) return E_INVALID;
      const reg = parseHexNumber(body.slice(1, eq));
      const data = hexToBytes(body.slice(eq + 1));
      // gdb's Linux ABI writes orig_rax = -1 along with every pc change.
      if (reg === ORIG_RAX && ctx.threads.linuxAbi === true && data !== null && data.length === 8) return 'OK';
      if (reg === null || reg >= REGISTER_COUNT || data === null || data.length !== REGISTERS[reg].bytes) return E_INVALID;
      return ctx.threads.writeRegister(ctx.gThread, reg, data) ? 'OK' : E_GENERIC;
    }
  }
  return '';
}
