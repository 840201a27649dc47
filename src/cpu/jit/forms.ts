// Which interpreter handler implements which instruction form. The block compiler specialises a handler
// only when it knows exactly what that handler does with the Insn fields; it learns the handlers by
// decoding one sample of each form at start-up, so the interpreter's modules export nothing for it and a
// handler the decoder starts choosing differently is simply no longer specialised (it is still called).
import { Decoder } from '../decoder.js';
import { Insn, type Handler } from '../insn.js';
import { opUD } from '../ops/invalid.js';
import { moreSamples, wasmOnlySamples, type MoreForm } from './forms-more-samples.js';

export type Form =
  | 'movRmR' | 'movRRm' | 'movRmI' | 'lea' | 'movzxB' | 'movzxW' | 'movsxB' | 'movsxW' | 'movsxd'
  | 'aluRmR' | 'aluRRm' | 'aluRmI' | 'incdec' | 'push' | 'pop' | 'call' | 'ret' | 'jcc' | 'jmp'
  | 'cmov' | 'setcc' | 'nop' | 'shiftImm' | 'imul' | MoreForm;

export interface FormInfo {
  form: Form;
  /** Operand sizes the samples showed for this handler (a handler is specialised only for these). */
  sizes: Set<number>;
  /** Operation codes (ALU op, condition) seen; one value means the handler hard-wires it. */
  ops: Set<number>;
  /** The hot.ts register forms record flags slightly differently (CF-in cleared); mirrored exactly. */
  hot: boolean;
}

const ALU_OPS = [0, 1, 2, 3, 4, 5, 6, 7];
const hex = (s: string) => s.trim().split(/\s+/).map((b) => parseInt(b, 16));

/** A sample's instruction, decoded in 64-bit mode ("48 01 c8"), or null when the decoder has no handler for it. */
export function decodeSample(d: Decoder, bytes: string): Insn | null {
  const buf = new Uint8Array(32);
  buf.set(hex(bytes));
  const i = new Insn(opUD);
  try {
    d.decode(buf, 0, 64, i);
  } catch {
    return null;
  }
  return i.h === opUD ? null : i;
}
const h2 = (n: number) => n.toString(16).padStart(2, '0');

function samples(): [string, Form | 'aluRRm?'][] {
  const out: [string, Form | 'aluRRm?'][] = [];
  const pre = ['', '48', '66'];
  for (const op of ALU_OPS) {
    const b = op << 3;
    for (const p of pre) {
      out.push([`${p} ${h2(b + 1)} d8`, 'aluRmR'], [`${p} ${h2(b + 1)} 18`, 'aluRmR'], [`${p} ${h2(b + 1)} 5c 24 08`, 'aluRmR']);
      out.push([`${p} ${h2(b + 3)} d8`, 'aluRRm?'], [`${p} ${h2(b + 3)} 18`, 'aluRRm'], [`${p} ${h2(b + 3)} 5c 24 08`, 'aluRRm']);
      out.push([`${p} 83 ${h2(0xc0 | (op << 3))} 01`, 'aluRmI'], [`${p} 83 ${h2(op << 3)} 01`, 'aluRmI']);
      out.push([`${p} 81 ${h2(0xc0 | (op << 3))} 01 02 00 00`, 'aluRmI'], [`${p} 81 ${h2(op << 3)} 01 02 00 00`, 'aluRmI']);
      out.push([`${p} ${h2(b + 5)} 01 02 00 00`, 'aluRmI']);
    }
    out.push([`${h2(b)} d8`, 'aluRmR'], [`${h2(b)} 18`, 'aluRmR'], [`${h2(b + 2)} d8`, 'aluRRm'], [`${h2(b + 2)} 18`, 'aluRRm']);
    out.push([`80 ${h2(0xc0 | (op << 3))} 01`, 'aluRmI'], [`80 ${h2(op << 3)} 01`, 'aluRmI'], [`${h2(b + 4)} 01`, 'aluRmI']);
  }
  for (const p of pre) {
    out.push([`${p} 85 d8`, 'aluRmR'], [`${p} 85 18`, 'aluRmR'], [`${p} f7 c0 01 02 00 00`, 'aluRmI'], [`${p} f7 00 01 02 00 00`, 'aluRmI']);
    out.push([`${p} a9 01 02 00 00`, 'aluRmI']);
    out.push([`${p} 89 d8`, 'movRmR'], [`${p} 89 18`, 'movRmR'], [`${p} 89 58 08`, 'movRmR'], [`${p} 89 1c c8`, 'movRmR']);
    out.push([`${p} 8b d8`, 'movRRm'], [`${p} 8b 18`, 'movRRm'], [`${p} 8b 58 08`, 'movRRm'], [`${p} 8b 1c c8`, 'movRRm'], [`${p} 8b 1d 00 01 00 00`, 'movRRm']);
    out.push([`${p} c7 c0 01 02 00 00`, 'movRmI'], [`${p} c7 00 01 02 00 00`, 'movRmI'], [`${p} b8 01 02 00 00 00 00 00 00`, 'movRmI']);
    out.push([`${p} 8d 58 08`, 'lea'], [`${p} 8d 1c c8`, 'lea'], [`${p} 8d 1d 00 01 00 00`, 'lea']);
    out.push([`${p} 0f b6 c3`, 'movzxB'], [`${p} 0f b6 03`, 'movzxB'], [`${p} 0f b7 c3`, 'movzxW'], [`${p} 0f b7 03`, 'movzxW']);
    out.push([`${p} 0f be c3`, 'movsxB'], [`${p} 0f be 03`, 'movsxB'], [`${p} 0f bf c3`, 'movsxW'], [`${p} 0f bf 03`, 'movsxW']);
    out.push([`${p} ff c0`, 'incdec'], [`${p} ff c8`, 'incdec'], [`${p} ff 00`, 'incdec'], [`${p} ff 08`, 'incdec']);
    out.push([`${p} 0f af c3`, 'imul'], [`${p} 0f af 03`, 'imul'], [`${p} 6b c3 05`, 'imul'], [`${p} 69 c3 01 02 00 00`, 'imul'], [`${p} 6b 03 05`, 'imul']);
    for (let cc = 0; cc < 16; cc++) out.push([`${p} 0f ${h2(0x40 + cc)} c3`, 'cmov'], [`${p} 0f ${h2(0x40 + cc)} 03`, 'cmov']);
  }
  out.push(['88 d8', 'movRmR'], ['88 18', 'movRmR'], ['88 24 08', 'movRmR'], ['8a d8', 'movRRm'], ['8a 18', 'movRRm']);
  out.push(['c6 c0 01', 'movRmI'], ['c6 00 01', 'movRmI'], ['b0 01', 'movRmI']);
  out.push(['84 d8', 'aluRmR'], ['84 18', 'aluRmR'], ['f6 c0 01', 'aluRmI'], ['f6 00 01', 'aluRmI'], ['a8 01', 'aluRmI']);
  out.push(['48 63 c3', 'movsxd'], ['48 63 03', 'movsxd']);
  out.push(['fe c0', 'incdec'], ['fe c8', 'incdec'], ['fe 00', 'incdec']);
  out.push(['50', 'push'], ['41 50', 'push'], ['58', 'pop'], ['41 58', 'pop']);
  out.push(['e8 00 01 00 00', 'call'], ['c3', 'ret'], ['eb 10', 'jmp'], ['e9 00 01 00 00', 'jmp']);
  for (let cc = 0; cc < 16; cc++) {
    out.push([`${h2(0x70 + cc)} 10`, 'jcc'], [`0f ${h2(0x80 + cc)} 00 01 00 00`, 'jcc']);
    out.push([`0f ${h2(0x90 + cc)} c0`, 'setcc'], [`0f ${h2(0x90 + cc)} 00`, 'setcc']);
  }
  out.push(['48 c1 e0 03', 'shiftImm'], ['48 c1 e8 03', 'shiftImm'], ['48 c1 f8 03', 'shiftImm']);
  out.push(['90', 'nop'], ['0f 1f 00', 'nop'], ['0f 1f 44 00 00', 'nop'], ['66 0f 1f 44 00 00', 'nop']);
  out.push(...moreSamples(), ...wasmOnlySamples());
  return out;
}

const HOT_NAME = /^(add|sub|cmp|and|or|xor|test|inc|dec)(64|32)r[ri]?$/;

function build(): Map<Handler, FormInfo> {
  const table = new Map<Handler, FormInfo>();
  const conflicts = new Set<Handler>();
  const d = new Decoder();
  for (const [bytes, label] of samples()) {
    const i = decodeSample(d, bytes);
    if (i === null) continue;
    const prev = table.get(i.h);
    // `op reg, r/m` between registers: hot.ts swaps the operands into its `op r/m, reg` handler.
    const form: Form = label === 'aluRRm?' ? (prev?.form === 'aluRmR' ? 'aluRmR' : 'aluRRm') : label;
    if (prev === undefined) {
      table.set(i.h, { form, sizes: new Set([i.size]), ops: new Set([i.op]), hot: HOT_NAME.test(i.h.name) });
    } else if (prev.form !== form) {
      conflicts.add(i.h);
    } else {
      prev.sizes.add(i.size);
      prev.ops.add(i.op);
    }
  }
  // A handler reached by two different forms would need knowledge the samples do not give: leave it alone.
  for (const h of conflicts) table.delete(h);
  return table;
}

let forms: Map<Handler, FormInfo> | null = null;

/** The form table (built on first use). */
export function formTable(): Map<Handler, FormInfo> {
  if (forms === null) forms = build();
  return forms;
}
