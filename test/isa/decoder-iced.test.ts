// osvemu's instruction decoder against iced-x86 on random (but instruction-shaped) byte strings, 64-bit mode.
// Rule: lengths must agree whenever both decode an instruction; osvemu may call an encoding invalid (#UD) only
// when iced does too, or when it belongs to one of the UNSUPPORTED classes below.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CpuidFeature, Decoder, DecoderOptions, EncodingKind, Formatter, FormatterSyntax, Instruction, Mnemonic } from 'iced-x86';
import { describe, expect, it } from 'vitest';
import { assemble, assemblerUnavailableReason } from './assemble.js';
import { hex } from './blob.js';
import { FORMS } from './forms.js';
import { Rng } from './rng.js';

type DecodeLength = (bytes: Uint8Array, offset: number, mode: 16 | 32 | 64) => number;

const here = dirname(fileURLToPath(import.meta.url));
const DECODER_TS = resolve(here, '..', '..', 'src', 'cpu', 'decoder.ts');

/**
 * Instruction classes osvemu deliberately does not implement. osvemu's CPUID does not advertise them, and a CPU
 * without the feature raises #UD for them, so reporting "invalid" is correct behaviour for osvemu's virtual CPU.
 */
const UNSUPPORTED_ENCODINGS = new Map<EncodingKind, string>([
  [EncodingKind.VEX, 'VEX (AVX, AVX2, FMA, F16C, BMI1/2 VEX forms, AMX): no AVX state in osvemu'],
  [EncodingKind.EVEX, 'EVEX (AVX-512): no AVX-512 state in osvemu'],
  [EncodingKind.XOP, 'XOP: AMD-only, discontinued'],
  [EncodingKind.D3NOW, '3DNow!: AMD-only, discontinued'],
  [EncodingKind.MVEX, 'MVEX: Knights Corner only'],
]);
const UNSUPPORTED_FEATURES = new Map<CpuidFeature, string>([
  ...([CpuidFeature.VMX, CpuidFeature.SVM, CpuidFeature.SMX, CpuidFeature.SGX1, CpuidFeature.TDX, CpuidFeature.INVEPT, CpuidFeature.INVVPID,
    CpuidFeature.SEV_ES, CpuidFeature.SEV_SNP, CpuidFeature.RMPQUERY, CpuidFeature.SKINIT] as const)
    .map((f) => [f, 'virtualization / enclave extensions: not offered to the guest'] as [CpuidFeature, string]),
  ...([CpuidFeature.AES, CpuidFeature.PCLMULQDQ, CpuidFeature.SHA, CpuidFeature.SHA512, CpuidFeature.SM3, CpuidFeature.SM4, CpuidFeature.GFNI,
    CpuidFeature.KL, CpuidFeature.AESKLE, CpuidFeature.WIDE_KL] as const)
    .map((f) => [f, 'crypto extensions: not advertised by osvemu (OSv does not use them)'] as [CpuidFeature, string]),
  ...([CpuidFeature.PADLOCK_ACE, CpuidFeature.PADLOCK_PHE, CpuidFeature.PADLOCK_PMM, CpuidFeature.PADLOCK_RNG, CpuidFeature.PADLOCK_GMI,
    CpuidFeature.PADLOCK_UNDOC, CpuidFeature.CYRIX_D3NOW, CpuidFeature.CENTAUR_AIS, CpuidFeature.UMOV, CpuidFeature.MOV_TR, CpuidFeature.KNC,
    CpuidFeature.UDBG, CpuidFeature.D3NOW, CpuidFeature.D3NOWEXT] as const)
    .map((f) => [f, 'vendor-specific / historical instructions'] as [CpuidFeature, string]),
  ...([CpuidFeature.RTM, CpuidFeature.TSXLDTRK, CpuidFeature.ENQCMD, CpuidFeature.UINTR, CpuidFeature.FRED, CpuidFeature.LKGS,
    CpuidFeature.PCONFIG, CpuidFeature.INVLPGB, CpuidFeature.MCOMMIT, CpuidFeature.TSE, CpuidFeature.RAO_INT, CpuidFeature.CMPCCXADD,
    CpuidFeature.MSRLIST, CpuidFeature.WRMSRNS, CpuidFeature.HRESET, CpuidFeature.SERIALIZE, CpuidFeature.MOVDIRI, CpuidFeature.MOVDIR64B,
    CpuidFeature.WAITPKG, CpuidFeature.PTWRITE, CpuidFeature.LWP, CpuidFeature.TBM, CpuidFeature.AMX_TILE, CpuidFeature.AMX_BF16, CpuidFeature.AMX_INT8,
    CpuidFeature.AMX_FP16, CpuidFeature.AMX_COMPLEX, CpuidFeature.PREFETCHITI, CpuidFeature.CLDEMOTE, CpuidFeature.PKU,
    CpuidFeature.RDPID, CpuidFeature.RDPRU, CpuidFeature.CLZERO, CpuidFeature.MONITORX, CpuidFeature.XSAVEC, CpuidFeature.XSAVES] as const)
    .map((f) => [f, 'recent or niche extensions not advertised by osvemu'] as [CpuidFeature, string]),
  // Features osvemu's CPUID (src/cpu/system/cpuid.ts, DEFAULT_CPUID) does not advertise: #UD is what such a CPU does.
  ...([CpuidFeature.SSE4_2, CpuidFeature.SSE4A, CpuidFeature.ADX, CpuidFeature.INVPCID, CpuidFeature.SMAP, CpuidFeature.HLE_or_RTM,
    CpuidFeature.HLE, CpuidFeature.SKINIT_or_SVM, CpuidFeature.OSS] as const)
    .map((f) => [f, 'CPUID feature osvemu does not advertise (SSE4.2, SSE4a, ADX, INVPCID, SMAP, TSX, SVM, SGX)'] as [CpuidFeature, string]),
  // incsspq & co. raise #UD while shadow stacks are off (the host does too). rdsspq is a NOP then: the differential
  // form 'rdsspq %rax' checks that it executes, which this allow-list cannot hide.
  [CpuidFeature.CET_SS, 'shadow-stack instructions: #UD while shadow stacks are disabled'],
]);

/** Valid encodings whose whole definition is "raise #UD": an emulator may report them as invalid. */
const ALWAYS_UD = new Set<Mnemonic>([Mnemonic.Ud0, Mnemonic.Ud1, Mnemonic.Ud2]);

/**
 * Legacy or system instructions of features osvemu does advertise that neither OSv nor its boot path uses, and that
 * osvemu leaves unimplemented (executing one stops the machine with an "unimplemented instruction" report).
 */
const LEGACY_UNUSED = new Map<Mnemonic, string>([
  ...([Mnemonic.Lar, Mnemonic.Lsl, Mnemonic.Verr, Mnemonic.Verw] as const)
    .map((m) => [m, 'descriptor inspection (lar/lsl/verr/verw): unused by OSv'] as [Mnemonic, string]),
  [Mnemonic.Sldt, 'sldt: OSv has no LDT and never reads the LDTR'],
  [Mnemonic.Maskmovq, 'maskmovq: MMX byte-masked non-temporal store, unused by OSv'],
]);

// No allow-list for the other direction (osvemu valid, iced #UD) is needed: the undocumented x87 aliases osvemu
// executes on purpose (ffreep DF C0, fstp1 D9 D8, fxch4/7 DD C8 / DF C8, fstp8/9 DF D0 / DF D8, fcom2 DC D0,
// fcomp3/5 DC D8 / DE D0) are valid for iced too, and test/x87/handlers.test.ts checks them against the host CPU.

function unsupportedReason(ins: Instruction): string | null {
  if (ALWAYS_UD.has(ins.mnemonic)) return 'ud0/ud1/ud2 are defined to raise #UD';
  const l = LEGACY_UNUSED.get(ins.mnemonic);
  if (l) return l;
  const e = UNSUPPORTED_ENCODINGS.get(ins.encoding);
  if (e) return e;
  for (const f of ins.cpuidFeatures()) {
    const r = UNSUPPORTED_FEATURES.get(f as CpuidFeature);
    if (r) return r;
  }
  return null;
}

const LEGACY_PREFIXES = [0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x2e, 0x3e, 0x26, 0x64, 0x65, 0x36];
const STRIDE = 16;

/** Writes one 15-byte candidate at out[0..15): random bytes, or prefixes + REX + an opcode map + random tail. */
function candidate(rng: Rng, out: Uint8Array, real: readonly Uint8Array[]): void {
  rng.bytes(out);
  if (real.length && rng.chance(0.15)) {
    // A real instruction of the form table (what OSv uses), maybe behind extra prefixes, maybe with one byte changed.
    let p = 0;
    if (rng.chance(0.3)) out[p++] = rng.pick(LEGACY_PREFIXES);
    const ins = rng.pick(real);
    out.set(ins.subarray(0, 15 - p), p);
    if (rng.chance(0.4)) out[p + rng.int(ins.length)] = rng.int(256);
    return;
  }
  const r = rng.int(100);
  if (r < 20) return; // fully random
  let p = 0;
  const npre = rng.pick([0, 0, 0, 0, 1, 1, 2, 3]);
  for (let i = 0; i < npre; i++) out[p++] = rng.pick(LEGACY_PREFIXES);
  if (r < 85 && rng.chance(0.4)) out[p++] = 0x40 | rng.int(16);
  if (r < 45) out[p++] = rng.int(256); // one-byte map
  else if (r < 70) { out[p++] = 0x0f; out[p++] = rng.int(256); }
  else if (r < 78) { out[p++] = 0x0f; out[p++] = 0x38; out[p++] = rng.int(256); }
  else if (r < 85) { out[p++] = 0x0f; out[p++] = 0x3a; out[p++] = rng.int(256); }
  else { out[p++] = rng.pick([0xc4, 0xc5, 0x62, 0x8f]); } // VEX / EVEX / XOP: lengths must still agree
  if (rng.chance(0.5)) out[p] = 0xc0 | rng.int(64); // register ModRM half of the time
}

export interface Disagreement { bytes: string; iced: string; osvemu: string; cls: string; count: number }

/**
 * Opcode class of a candidate (prefixes and REX skipped) plus the kind of disagreement, and iced's mnemonic when
 * iced decodes it (several instructions share an opcode): one report line per class.
 */
function classOf(b: Uint8Array, kind: string, mnemonic: string): string {
  let p = 0;
  while (p < 14 && (LEGACY_PREFIXES.includes(b[p]!) || (b[p]! & 0xf0) === 0x40)) p++;
  const h = (x: number) => x.toString(16).padStart(2, '0');
  let op: string;
  if (b[p] === 0x0f && (b[p + 1] === 0x38 || b[p + 1] === 0x3a)) op = `0f ${h(b[p + 1]!)} ${h(b[p + 2]!)}`;
  else if (b[p] === 0x0f) op = `0f ${h(b[p + 1]!)}`;
  else if ([0xc4, 0xc5, 0x62, 0x8f].includes(b[p]!)) op = `${h(b[p]!)} (vex/evex/xop)`;
  else op = h(b[p]!);
  return `${kind}: ${op}${mnemonic ? ` ${mnemonic}` : ''}`;
}

/** Runs `n` candidates; returns the disagreements (at most `max`, plus a count). */
export function compareWithIced(decodeLength: DecodeLength, n: number, seed: number, real: readonly Uint8Array[] = [], max = 80): { bad: Disagreement[]; count: number; kinds: Map<string, number> } {
  const rng = new Rng(seed);
  const classes = new Map<string, Disagreement>();
  let count = 0;
  const kinds = new Map<string, number>();
  const chunk = 4096;
  const buf = new Uint8Array(chunk * STRIDE + STRIDE);
  const ins = new Instruction();
  const fmt = new Formatter(FormatterSyntax.Gas);
  try {
    for (let done = 0; done < n; done += chunk) {
      const m = Math.min(chunk, n - done);
      for (let i = 0; i < m; i++) candidate(rng, buf.subarray(i * STRIDE, i * STRIDE + 15), real);
      // Pad each slot with 0xCC (int3) so a too-long instruction cannot borrow the next candidate's bytes.
      for (let i = 0; i < m; i++) buf[i * STRIDE + 15] = 0xcc;
      const dec = new Decoder(64, buf, DecoderOptions.None);
      try {
        for (let i = 0; i < m; i++) {
          dec.position = i * STRIDE;
          dec.ip = 0x200000000n;
          dec.decodeOut(ins);
          const icedValid = !ins.isInvalid;
          const icedLen = ins.length;
          const window = buf.slice(i * STRIDE, i * STRIDE + 15);
          let ours: number;
          try { ours = decodeLength(window, 0, 64); } catch (e) { ours = -2; (ins as unknown as { err?: string }).err = String(e); }
          let problem = false;
          if (ours === -2) problem = true;
          else if (ours === -1) problem = icedValid && unsupportedReason(ins) === null;
          else problem = !icedValid || ours !== icedLen;
          if (problem) {
            count++;
            const kind = ours === -2 ? 'osvemu throws' : ours === -1 ? 'osvemu #UD, iced valid' : !icedValid ? 'osvemu valid, iced #UD' : 'length differs';
            kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
            const cls = classOf(window, kind, icedValid ? (Mnemonic[ins.mnemonic] ?? '').toLowerCase() : '');
            const seen = classes.get(cls);
            if (seen) seen.count++;
            else {
              classes.set(cls, {
                cls, count: 1,
                bytes: hex(window, ' '),
                iced: icedValid ? `len ${icedLen}: ${fmt.format(ins)}` : 'invalid',
                osvemu: ours === -2 ? `threw ${(ins as unknown as { err?: string }).err}` : ours === -1 ? 'invalid (#UD)' : `len ${ours}`,
              });
            }
          }
        }
      } finally { dec.free(); }
    }
  } finally { ins.free(); fmt.free(); }
  // Most severe kinds first (a wrong length desynchronizes everything after it), then by frequency.
  const rank = (c: string) => ['osvemu throws', 'length differs', 'osvemu #UD, iced valid', 'osvemu valid, iced #UD'].findIndex((k) => c.startsWith(k));
  const bad = [...classes.values()].sort((a, b) => rank(a.cls) - rank(b.cls) || b.count - a.count).slice(0, max);
  return { bad, count, kinds };
}

/**
 * Every ModRM byte behind each opcode head, with no prefix, 66, F3, F2 and 66 REX.W: the escape groups whose
 * validity is decided per ModRM (x87 D8-DF, 0F 00, 0F 01, 0F AE), where random inputs hit each case only rarely.
 */
export function exhaustiveDisagreements(decodeLength: DecodeLength, heads: readonly number[][]): string[] {
  const out: string[] = [];
  const buf = new Uint8Array(15);
  const ins = new Instruction();
  try {
    for (const pre of [[], [0x66], [0xf3], [0xf2], [0x66, 0x48]]) {
      for (const head of heads) {
        for (let m = 0; m < 256; m++) {
          buf.fill(0);
          buf.set([...pre, ...head, m]);
          const dec = new Decoder(64, buf, DecoderOptions.None);
          try { dec.decodeOut(ins); } finally { dec.free(); }
          const icedValid = !ins.isInvalid;
          let ours: number;
          try { ours = decodeLength(buf, 0, 64); } catch (e) { ours = -2; }
          const ok = ours === -1 ? !icedValid || unsupportedReason(ins) !== null : ours >= 0 && icedValid && ours === ins.length;
          if (!ok) out.push(`${hex(buf.subarray(0, pre.length + head.length + 1), ' ')}: iced ${icedValid ? `len ${ins.length} ${Mnemonic[ins.mnemonic]}` : 'invalid'}, osvemu ${ours}`);
        }
      }
    }
  } finally { ins.free(); }
  return out;
}

function icedLength(bytes: Uint8Array, offset: number): number {
  const d = new Decoder(64, bytes.subarray(offset), DecoderOptions.None);
  try { const i = d.decode(); const n = i.isInvalid ? -1 : i.length; i.free(); return n; } finally { d.free(); }
}

describe('decoder comparison machinery (self-check with iced itself)', () => {
  it('finds no disagreement when the decoder under test is iced, and finds them for a wrong decoder', () => {
    expect(compareWithIced((b, o) => icedLength(b, o), 3000, 1).count).toBe(0);
    const off = compareWithIced((b, o) => { const n = icedLength(b, o); return n > 5 ? n + 1 : n; }, 3000, 1);
    expect(off.count).toBeGreaterThan(100);
    expect(off.bad[0]!.iced).toMatch(/^len \d+: /);
  });
});

const decoderReady = existsSync(DECODER_TS);
describe.skipIf(!decoderReady)('osvemu decoder vs iced-x86 (64-bit)', () => {
  it('agrees on instruction length and validity', async () => {
    const mod = (await import(join('..', '..', 'src', 'cpu', 'decoder.js'))) as { decodeLength?: DecodeLength };
    if (typeof mod.decodeLength !== 'function') {
      console.warn('[isa] src/cpu/decoder.js does not export decodeLength yet: decoder comparison skipped');
      return;
    }
    const n = process.env.OSVEMU_ISA_FULL === '1' ? 1_000_000 : 20_000;
    const seed = Number(process.env.OSVEMU_ISA_SEED) || 0x1ced;
    const real = assemblerUnavailableReason() ? [] : assemble(FORMS.map((f) => f.asm));
    const { bad, count, kinds } = compareWithIced(mod.decodeLength, n, seed, real);
    const byKind = [...kinds].map(([k, v]) => `${k}: ${v}`).join(', ');
    const report = bad.map((d) => `  [${d.cls}] x${d.count}\n      e.g. ${d.bytes}  iced: ${d.iced}  osvemu: ${d.osvemu}`).join('\n');
    expect(count, `${count} of ${n} inputs disagree (seed ${seed}; ${byKind}); by opcode class (first ${bad.length} classes):\n${report}\n`).toBe(0);
  }, 1_800_000);

  it('agrees on every ModRM of the x87 escapes and of 0F 00 / 0F 01 / 0F AE, with and without 66/F3/F2', async () => {
    const mod = (await import(join('..', '..', 'src', 'cpu', 'decoder.js'))) as { decodeLength?: DecodeLength };
    if (typeof mod.decodeLength !== 'function') return;
    const heads = [[0xd8], [0xd9], [0xda], [0xdb], [0xdc], [0xdd], [0xde], [0xdf], [0x0f, 0x00], [0x0f, 0x01], [0x0f, 0xae]];
    const bad = exhaustiveDisagreements(mod.decodeLength, heads);
    expect(bad.slice(0, 40), `${bad.length} disagreements`).toEqual([]);
  });
});
