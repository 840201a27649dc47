// The opcode maps: one decode function per opcode. Ops modules claim opcodes with def1/def0F/...; the
// format table gives every other opcode its correct length so that unimplemented instructions are
// reported as such (and decodeLength agrees with other decoders) instead of derailing the decode.
import type { Decoder } from './decoder.js';
import type { Insn } from './insn.js';
import { opUD, opUnimplemented } from './ops/invalid.js';

export type DecodeFn = (d: Decoder, i: Insn) => void;

// Format letters: m ModRM; M ModRM+ib; Z ModRM+iz; b ib; w iw; z iz; v iv (B8+r); o moffs; e enter (iw ib);
// P far pointer (iz + iw); F group 3 (imm when reg is 0 or 1); - no operands; x invalid; p prefix; E escape.
const FMT1_64 =
  'mmmmbzxxmmmmbzxE' + 'mmmmbzxxmmmmbzxx' + 'mmmmbzpxmmmmbzpx' + 'mmmmbzpxmmmmbzpx' +
  'pppppppppppppppp' + '----------------' + 'xxxmppppzZbM----' + 'bbbbbbbbbbbbbbbb' +
  'MZxMmmmmmmmmmmmm' + '----------x-----' + 'oooo----bz------' + 'bbbbbbbbvvvvvvvv' +
  'MMw-xxMZe-w--bx-' + 'mmmmxxx-mmmmmmmm' + 'bbbbbbbbzzxb----' + 'p-pp--FF------mm';
const FMT1_32 =
  'mmmmbz--mmmmbz-E' + 'mmmmbz--mmmmbz--' + 'mmmmbzp-mmmmbzp-' + 'mmmmbzp-mmmmbzp-' +
  '----------------' + '----------------' + '--mmppppzZbM----' + 'bbbbbbbbbbbbbbbb' +
  'MZMMmmmmmmmmmmmm' + '----------P-----' + 'oooo----bz------' + 'bbbbbbbbvvvvvvvv' +
  'MMw-mmMZe-w--b--' + 'mmmmbbx-mmmmmmmm' + 'bbbbbbbbzzPb----' + 'p-pp--FF------mm';
const FMT0F =
  'mmmmx---x-x-xmxx' + 'mmmmmmmmmmmmmmmm' + 'mmmmxxxxmmmmmmmm' + '------x-ExExxxxx' +
  'mmmmmmmmmmmmmmmm' + 'mmmmmmmmmmmmmmmm' + 'mmmmmmmmmmmmmmmm' + 'MMMMmmm-mmxxmmmm' +
  'zzzzzzzzzzzzzzzz' + 'mmmmmmmmmmmmmmmm' + '---mMmxx---mMmmm' + 'mmmmmmmmmmMmmmmm' +
  'mmMmMMMm--------' + 'mmmmmmmmmmmmmmmm' + 'mmmmmmmmmmmmmmmm' + 'mmmmmmmmmmmmmmmm';

export const MAP1: DecodeFn[] = new Array(256);
export const MAP0F: DecodeFn[] = new Array(256);
export const MAP0F38: DecodeFn[] = new Array(256);
export const MAP0F3A: DecodeFn[] = new Array(256);
/** Opcodes that are valid only outside 64-bit mode get their own decode function here (index = opcode). */
export const MAP1_LEGACY: (DecodeFn | undefined)[] = new Array(256);


export function def1(op: number, fn: DecodeFn): void { MAP1[op] = fn; }
export function def1Legacy(op: number, fn: DecodeFn): void { MAP1_LEGACY[op] = fn; }
export function def0F(op: number, fn: DecodeFn): void { MAP0F[op] = fn; }
export function def0F38(op: number, fn: DecodeFn): void { MAP0F38[op] = fn; }
export function def0F3A(op: number, fn: DecodeFn): void { MAP0F3A[op] = fn; }

function lengthOnly(fmt: string, map: number): DecodeFn {
  return (d: Decoder, i: Insn) => {
    const c = fmt;
    d.implemented = false;
    switch (c) {
      case 'x': i.h = opUD; d.implemented = true; return;
      case 'm': d.modrm(i); break;
      case 'M': d.modrm(i); d.imm8(); break;
      case 'Z': d.modrm(i); d.immz(); break;
      case 'b': d.imm8(); break;
      case 'w': d.imm16(); break;
      case 'z': d.immz(); break;
      case 'v': d.immv(i); break;
      case 'o': if (d.asz === 64) { d.imm32(); d.imm32(); } else if (d.asz === 32) d.imm32(); else d.imm16(); break;
      case 'e': d.imm16(); d.imm8(); break;
      case 'P': d.immz(); d.imm16(); break;
      case 'F': d.modrm(i); if (d.regField < 2) { if (d.opcode === 0xF6) d.imm8(); else d.immz(); } break;
      default: break;
    }
    i.h = opUnimplemented;
    void map;
  };
}

for (let k = 0; k < 256; k++) {
  MAP1[k] = lengthOnly(FMT1_64[k], 1);
  if (FMT1_32[k] !== FMT1_64[k]) MAP1_LEGACY[k] = lengthOnly(FMT1_32[k], 1);
  MAP0F[k] = lengthOnly(FMT0F[k], 2);
  MAP0F38[k] = lengthOnly('m', 3);
  MAP0F3A[k] = lengthOnly('M', 4);
}

