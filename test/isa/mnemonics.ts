// Normalizes objdump AT&T mnemonics (with lock/rep prefixes and size suffixes) to one key per instruction,
// so that the OSv kernel's mnemonic list and the forms' disassembly can be matched.

const PREFIXES: Record<string, string> = { lock: 'lock', rep: 'rep', repz: 'repe', repe: 'repe', repnz: 'repne', repne: 'repne' };
/** Prefix-like tokens objdump prints that do not change which instruction it is. */
const IGNORED = new Set(['data16', 'data32', 'addr32', 'cs', 'ds', 'es', 'ss', 'fs', 'gs', 'notrack', 'bnd', 'rex', 'rex.W', 'rex.B', 'rex.R', 'rex.X']);

const EXPLICIT: Record<string, string> = {
  movzbl: 'movzx', movzbw: 'movzx', movzbq: 'movzx', movzwl: 'movzx', movzwq: 'movzx',
  movsbl: 'movsx', movsbw: 'movsx', movsbq: 'movsx', movswl: 'movsx', movswq: 'movsx', movslq: 'movsxd',
  cbtw: 'cbw', cwtl: 'cwde', cltq: 'cdqe', cwtd: 'cwd', cltd: 'cdq', cqto: 'cqo',
  movabs: 'mov', pushfq: 'pushf', popfq: 'popf', pushfw: 'pushf', popfw: 'popf', leaveq: 'leave', retq: 'ret', callq: 'call', jmpq: 'jmp',
  cvtsi2sdl: 'cvtsi2sd', cvtsi2sdq: 'cvtsi2sd', cvtsi2ssl: 'cvtsi2ss', cvtsi2ssq: 'cvtsi2ss', lretq: 'lret',
  // SSE movd/movq keep their names (objdump also writes integer `movq $imm,mem` this way).
  movq: 'movq', movd: 'movd', movsd: 'movsd', movss: 'movss',
};

const INT_BASES = new Set(['add', 'sub', 'adc', 'sbb', 'and', 'or', 'xor', 'cmp', 'test', 'mov', 'inc', 'dec', 'neg', 'not', 'shl', 'shr',
  'sar', 'sal', 'rol', 'ror', 'rcl', 'rcr', 'mul', 'imul', 'div', 'idiv', 'push', 'pop', 'bt', 'bts', 'btr', 'btc', 'xchg', 'xadd',
  'cmpxchg', 'lea', 'shld', 'shrd', 'bsf', 'bsr', 'bswap', 'lzcnt', 'tzcnt', 'popcnt', 'nop', 'call', 'jmp', 'ret', 'enter', 'leave']);

const X87_SIZED = /^(fld|fstp|fst|fild|fistp|fist|faddp?|fsubrp?|fsubp?|fmulp?|fdivrp?|fdivp?|fcomp?|ficom)(s|l|t|ll)$/;
const STRING = /^(movs|cmps|stos|lods|scas|ins|outs)[bwlq]$/;

/** Key of one mnemonic token (no prefix). */
export function baseKey(m: string): string {
  if (m in EXPLICIT) return EXPLICIT[m]!;
  const s = STRING.exec(m);
  if (s) return s[1]!;
  const x = X87_SIZED.exec(m);
  if (x) return x[1]!;
  const i = /^(.+)[bwlq]$/.exec(m);
  if (i && INT_BASES.has(i[1]!)) return i[1]!;
  return m;
}

/** Key of a list entry or of an objdump instruction text ("lock addl $0x1,(%rsi)" -> "lock add"). */
export function mnemonicKey(text: string): string {
  const toks = text.trim().split(/\s+/);
  const pre: string[] = [];
  let k = 0;
  for (; k < toks.length; k++) {
    const t = toks[k]!;
    if (t in PREFIXES) pre.push(PREFIXES[t]!);
    else if (IGNORED.has(t)) continue;
    else break;
  }
  const m = toks[k];
  if (m === undefined) return pre.join(' ');
  if (m.startsWith('(bad)')) return '(bad)';
  return [...pre, baseKey(m)].join(' ');
}

/** The exact spelling (prefixes + mnemonic, as objdump prints it) of an instruction text. */
export function spelling(text: string): string {
  const toks = text.trim().split(/\s+/);
  const out: string[] = [];
  for (const t of toks) {
    if (t in PREFIXES) { out.push(t); continue; }
    if (IGNORED.has(t)) continue;
    out.push(t);
    break;
  }
  return out.join(' ');
}
