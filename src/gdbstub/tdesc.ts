// The x86-64 target description served through qXfer:features:read:target.xml.
//
// gdb 13's amd64 code validates registers by name inside these features (i386-tdep.c,
// amd64-tdep.c): org.gnu.gdb.i386.core (rax..gs and the x87 state), org.gnu.gdb.i386.sse
// (xmm0-15, mxcsr) and org.gnu.gdb.i386.segments (fs_base, gs_base, which gdb then knows as
// $fs_base/$gs_base). Registers in a feature gdb does not know (the system registers below) are
// still accepted and shown by `info registers` under their own names, so `p $cr3` works.
// The order below is the register numbering of the protocol (`g`, `p`, GdbTarget.readRegister);
// the first 57 follow gdb's own amd64 numbering so gdb needs no remapping.

export interface RegisterDesc {
  readonly name: string;
  readonly bits: number;
  readonly bytes: number;
  /** Byte offset inside the `g` packet payload. */
  readonly offset: number;
  readonly type: string;
  readonly group?: string;
  readonly feature: string;
}

const CORE = 'org.gnu.gdb.i386.core';
const SSE = 'org.gnu.gdb.i386.sse';
const SEGMENTS = 'org.gnu.gdb.i386.segments';
/** Not a gdb-defined feature name: its registers appear as raw registers named as given. */
const SYSTEM = 'org.osvemu.gdb.i386.system';
/**
 * gdb 13 applies its GNU/Linux amd64 ABI (thread-local storage through qGetTLSAddr, shared
 * libraries through qXfer:libraries-svr4) only when the description has this feature with
 * orig_rax. Offered only to guest-aware thread providers that ask for it (ThreadProvider.linuxAbi):
 * it also changes what `info registers` lists. The machine has no such register: the stub itself
 * reports it unavailable and ignores writes (register number REGISTER_COUNT).
 */
const LINUX = 'org.gnu.gdb.i386.linux';

type Spec = [name: string, bits: number, type: string, feature: string, group?: string];

const GPR = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];

const SPECS: Spec[] = [
  ...GPR.map((n): Spec => [n, 64, n === 'rbp' || n === 'rsp' ? 'data_ptr' : 'int64', CORE]),
  ['rip', 64, 'code_ptr', CORE],
  ['eflags', 32, 'i386_eflags', CORE],
  ...['cs', 'ss', 'ds', 'es', 'fs', 'gs'].map((n): Spec => [n, 32, 'int32', CORE]),
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((i): Spec => [`st${i}`, 80, 'i387_ext', CORE]),
  ...['fctrl', 'fstat', 'ftag', 'fiseg', 'fioff', 'foseg', 'fooff', 'fop'].map((n): Spec => [n, 32, 'int', CORE, 'float']),
  ...Array.from({ length: 16 }, (_, i): Spec => [`xmm${i}`, 128, 'vec128', SSE]),
  ['mxcsr', 32, 'i386_mxcsr', SSE, 'vector'],
  ['fs_base', 64, 'int', SEGMENTS],
  ['gs_base', 64, 'int', SEGMENTS],
  ['k_gs_base', 64, 'int', SYSTEM],
  ['cr0', 64, 'x86_cr0', SYSTEM],
  ['cr2', 64, 'int', SYSTEM],
  ['cr3', 64, 'x86_cr3', SYSTEM],
  ['cr4', 64, 'x86_cr4', SYSTEM],
  ['cr8', 64, 'int', SYSTEM],
  ['efer', 64, 'x86_efer', SYSTEM],
];

export const REGISTERS: readonly RegisterDesc[] = (() => {
  let offset = 0;
  return SPECS.map(([name, bits, type, feature, group]) => {
    const r: RegisterDesc = { name, bits, bytes: bits / 8, offset, type, feature, group };
    offset += bits / 8;
    return r;
  });
})();

/** Every register name, in protocol order (kept literal so `REG.typo` does not compile). */
export const REGISTER_NAMES = [
  'rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15',
  'rip', 'eflags', 'cs', 'ss', 'ds', 'es', 'fs', 'gs',
  'st0', 'st1', 'st2', 'st3', 'st4', 'st5', 'st6', 'st7', 'fctrl', 'fstat', 'ftag', 'fiseg', 'fioff', 'foseg', 'fooff', 'fop',
  'xmm0', 'xmm1', 'xmm2', 'xmm3', 'xmm4', 'xmm5', 'xmm6', 'xmm7', 'xmm8', 'xmm9', 'xmm10', 'xmm11', 'xmm12', 'xmm13', 'xmm14', 'xmm15',
  'mxcsr', 'fs_base', 'gs_base', 'k_gs_base', 'cr0', 'cr2', 'cr3', 'cr4', 'cr8', 'efer',
] as const;

export type RegisterName = (typeof REGISTER_NAMES)[number];

if (REGISTER_NAMES.length !== REGISTERS.length || REGISTER_NAMES.some((n, i) => REGISTERS[i].name !== n)) {
  throw new Error('tdesc: REGISTER_NAMES is out of step with the register table');
}

/** Register numbers by name: `REG.rip`, `REG.cr3`, ... */
export const REG: Readonly<Record<RegisterName, number>> = Object.freeze(
  Object.fromEntries(REGISTER_NAMES.map((n, i) => [n, i])) as Record<RegisterName, number>,
);

export const REGISTER_COUNT = REGISTERS.length;
export const G_PACKET_BYTES = REGISTERS.reduce((n, r) => n + r.bytes, 0);
export const MAX_REGISTER_BYTES = 16;

function field(name: string, start: number, end = start): string {
  return `<field name="${name}" start="${start}" end="${end}"/>`;
}

function flags(id: string, size: number, fields: [string, number, number?][]): string {
  return `<flags id="${id}" size="${size}">${fields.map(([n, s, e]) => field(n, s, e)).join('')}</flags>`;
}

const EFLAGS = flags('i386_eflags', 4, [
  ['CF', 0], ['', 1], ['PF', 2], ['AF', 4], ['ZF', 6], ['SF', 7], ['TF', 8], ['IF', 9], ['DF', 10], ['OF', 11],
  ['NT', 14], ['RF', 16], ['VM', 17], ['AC', 18], ['VIF', 19], ['VIP', 20], ['ID', 21],
]);

const MXCSR = flags('i386_mxcsr', 4, [
  ['IE', 0], ['DE', 1], ['ZE', 2], ['OE', 3], ['UE', 4], ['PE', 5], ['DAZ', 6], ['IM', 7], ['DM', 8], ['ZM', 9],
  ['OM', 10], ['UM', 11], ['PM', 12], ['FZ', 15],
]);

const VEC128 =
  '<vector id="v4f" type="ieee_single" count="4"/><vector id="v2d" type="ieee_double" count="2"/>' +
  '<vector id="v16i8" type="int8" count="16"/><vector id="v8i16" type="int16" count="8"/>' +
  '<vector id="v4i32" type="int32" count="4"/><vector id="v2i64" type="int64" count="2"/>' +
  '<union id="vec128"><field name="v4_float" type="v4f"/>' +
  '<field name="v2_double" type="v2d"/><field name="v16_int8" type="v16i8"/>' +
  '<field name="v8_int16" type="v8i16"/><field name="v4_int32" type="v4i32"/>' +
  '<field name="v2_int64" type="v2i64"/><field name="uint128" type="uint128"/></union>';

const SYSTEM_TYPES =
  flags('x86_cr0', 8, [['PE', 0], ['MP', 1], ['EM', 2], ['TS', 3], ['ET', 4], ['NE', 5], ['WP', 16], ['AM', 18], ['NW', 29], ['CD', 30], ['PG', 31]]) +
  flags('x86_cr3', 8, [['PCID', 0, 11], ['PDBR', 12, 63]]) +
  flags('x86_cr4', 8, [
    ['VME', 0], ['PVI', 1], ['TSD', 2], ['DE', 3], ['PSE', 4], ['PAE', 5], ['MCE', 6], ['PGE', 7], ['PCE', 8],
    ['OSFXSR', 9], ['OSXMMEXCPT', 10], ['UMIP', 11], ['LA57', 12], ['VMXE', 13], ['SMXE', 14], ['FSGSBASE', 16],
    ['PCIDE', 17], ['OSXSAVE', 18], ['SMEP', 20], ['SMAP', 21], ['PKE', 22],
  ]) +
  flags('x86_efer', 8, [['SCE', 0], ['LME', 8], ['LMA', 10], ['NXE', 11], ['SVME', 12], ['LMSLE', 13], ['FFXSR', 14], ['TCE', 15]]);

const FEATURE_TYPES: Record<string, string> = { [CORE]: EFLAGS, [SSE]: VEC128 + MXCSR, [SEGMENTS]: '', [SYSTEM]: SYSTEM_TYPES };

function featureXml(feature: string): string {
  const regs = REGISTERS.map((r, i) => ({ r, i }))
    .filter(({ r }) => r.feature === feature)
    .map(({ r, i }) => {
      const group = r.group ? ` group="${r.group}"` : '';
      return `<reg name="${r.name}" bitsize="${r.bits}" type="${r.type}" regnum="${i}"${group}/>`;
    })
    .join('');
  return `<feature name="${feature}">${FEATURE_TYPES[feature]}${regs}</feature>`;
}

/** The complete target description; features are inlined so there is a single annex. */
export const TARGET_XML =
  '<?xml version="1.0"?><!DOCTYPE target SYSTEM "gdb-target.dtd">' +
  '<target version="1.0"><architecture>i386:x86-64</architecture>' +
  [CORE, SSE, SEGMENTS, SYSTEM].map(featureXml).join('') +
  '</target>';

/** Protocol number of orig_rax in the GNU/Linux description (after every machine register). */
export const ORIG_RAX = REGISTERS.length;

/** TARGET_XML plus the GNU/Linux feature (orig_rax). */
export const TARGET_XML_LINUX = TARGET_XML.replace(
  '</target>',
  `<feature name="${LINUX}"><reg name="orig_rax" bitsize="64" type="int" regnum="${ORIG_RAX}"/></feature></target>`,
);

/** Annexes served by qXfer:features:read. */
export const FEATURE_ANNEXES: ReadonlyMap<string, string> = new Map([['target.xml', TARGET_XML]]);
export const FEATURE_ANNEXES_LINUX: ReadonlyMap<string, string> = new Map([['target.xml', TARGET_XML_LINUX]]);
