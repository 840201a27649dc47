import { describe, expect, it } from 'vitest';
import { G_PACKET_BYTES, REG, REGISTERS, TARGET_XML } from '../../src/gdbstub/tdesc.js';

describe('target description', () => {
  it('numbers the first registers as gdb numbers amd64', () => {
    // gdb's amd64 numbering: rax..r15 0-15, rip 16, eflags 17, cs..gs 18-23, st0 24, fctrl 32, xmm0 40, mxcsr 56.
    expect([REG.rax, REG.rsp, REG.r15, REG.rip, REG.eflags, REG.cs, REG.gs, REG.st0, REG.fctrl, REG.fop, REG.xmm0, REG.xmm15, REG.mxcsr]).toEqual([
      0, 7, 15, 16, 17, 18, 23, 24, 32, 39, 40, 55, 56,
    ]);
  });

  it('has the system registers the issue asks for', () => {
    for (const n of ['fs_base', 'gs_base', 'k_gs_base', 'cr0', 'cr2', 'cr3', 'cr4', 'cr8', 'efer', 'mxcsr', 'st7', 'xmm15', 'ds', 'es', 'fs', 'gs', 'ss']) {
      expect((REG as Record<string, number>)[n], n).toBeTypeOf('number');
    }
  });

  it('lays out the g packet contiguously', () => {
    let off = 0;
    for (const r of REGISTERS) {
      expect(r.offset).toBe(off);
      off += r.bytes;
    }
    expect(G_PACKET_BYTES).toBe(off);
    expect(REGISTERS[REG.st0].bytes).toBe(10);
    expect(REGISTERS[REG.xmm0].bytes).toBe(16);
    expect(REGISTERS[REG.eflags].bytes).toBe(4);
  });

  it('declares every register once with its regnum, in the features gdb validates', () => {
    expect(TARGET_XML).toContain('<architecture>i386:x86-64</architecture>');
    for (const f of ['org.gnu.gdb.i386.core', 'org.gnu.gdb.i386.sse', 'org.gnu.gdb.i386.segments']) expect(TARGET_XML).toContain(`<feature name="${f}">`);
    REGISTERS.forEach((r, i) => {
      const m = TARGET_XML.match(new RegExp(`<reg name="${r.name}" bitsize="${r.bits}" type="[^"]+" regnum="${i}"`, 'g'));
      expect(m?.length, r.name).toBe(1);
    });
    const segments = TARGET_XML.slice(TARGET_XML.indexOf('org.gnu.gdb.i386.segments'));
    expect(segments.indexOf('fs_base')).toBeLessThan(segments.indexOf('</feature>'));
    // Balanced tags (a cheap well-formedness check).
    for (const tag of ['feature', 'flags', 'union', 'target']) {
      expect(TARGET_XML.split(`<${tag} `).length + TARGET_XML.split(`<${tag}>`).length - 1).toBe(TARGET_XML.split(`</${tag}>`).length);
    }
  });

  it('defines every type it uses', () => {
    const builtin = new Set(['int', 'int32', 'int64', 'data_ptr', 'code_ptr', 'i387_ext', 'uint128', 'ieee_single', 'ieee_double', 'int8', 'int16']);
    for (const m of TARGET_XML.matchAll(/type="([^"]+)"/g)) {
      const t = m[1];
      if (!builtin.has(t)) expect(TARGET_XML, t).toMatch(new RegExp(`id="${t}"`));
    }
  });
});
