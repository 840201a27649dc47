import { describe, expect, it } from 'vitest';
import * as aml from '../../src/machine/acpi/aml.js';
import { dsdtAml } from '../../src/machine/acpi/index.js';

describe('AML encoder', () => {
  it('encodes integers in the smallest form', () => {
    expect(aml.integer(0)).toEqual([0x00]);
    expect(aml.integer(1)).toEqual([0x01]);
    expect(aml.integer(2)).toEqual([0x0a, 2]);
    expect(aml.integer(0xff)).toEqual([0x0a, 0xff]);
    expect(aml.integer(0x100)).toEqual([0x0b, 0x00, 0x01]);
    expect(aml.integer(0x12345678)).toEqual([0x0c, 0x78, 0x56, 0x34, 0x12]);
    expect(aml.integer(0x1_0000_0000)).toEqual([0x0e, 0, 0, 0, 0, 1, 0, 0, 0]);
    expect(aml.ones()).toEqual([0xff]);
    expect(() => aml.integer(-1)).toThrow(/non-negative/);
    expect(() => aml.integer(1.5)).toThrow();
  });

  it('encodes PkgLength at the 1/2/3-byte boundaries', () => {
    expect(aml.pkgLength(0)).toEqual([1]);
    expect(aml.pkgLength(62)).toEqual([63]);
    // 63 body bytes: 2-byte form, total 65 = 0x41 -> lead 0x41 (count 1, low nibble 1), then 0x04.
    expect(aml.pkgLength(63)).toEqual([0x41, 0x04]);
    expect(aml.pkgLength(0xffd)).toEqual([0x4f, 0xff]); // total 0xfff
    expect(aml.pkgLength(0xffe)).toEqual([0x80 | 0x01, 0x00, 0x01]); // total 0x1001
    expect(() => aml.pkgLength(2 ** 28)).toThrow(/too large/);
  });

  it('encodes name strings', () => {
    expect(aml.nameString('_S5')).toEqual([0x5f, 0x53, 0x35, 0x5f]);
    expect(aml.nameString('\\_S5')).toEqual([0x5c, 0x5f, 0x53, 0x35, 0x5f]);
    expect(aml.nameString('\\_SB.PCI0')).toEqual([0x5c, 0x2e, ...'_SB_PCI0'].map((c) => (typeof c === 'string' ? c.charCodeAt(0) : c)));
    expect(aml.nameString('A.B.C')).toEqual([0x2f, 3, ...[...'A___B___C___'].map((c) => c.charCodeAt(0))]);
    expect(aml.nameString('^^FOO')).toEqual([0x5e, 0x5e, 0x46, 0x4f, 0x4f, 0x5f]);
    expect(aml.nameString('\\')).toEqual([0x5c, 0x00]);
    expect(() => aml.nameString('lower')).toThrow(/bad AML name segment/);
    expect(() => aml.nameString('TOOLONG')).toThrow(/bad AML name segment/);
  });

  it('encodes strings, packages, names and scopes', () => {
    expect(aml.string('Hi')).toEqual([0x0d, 0x48, 0x69, 0x00]);
    expect(() => aml.string('é')).toThrow(/ASCII/);
    expect(aml.pkg([aml.integer(5), aml.string('A')])).toEqual([0x12, 0x07, 0x02, 0x0a, 0x05, 0x0d, 0x41, 0x00]);
    expect(aml.name('FOO', aml.integer(0))).toEqual([0x08, 0x46, 0x4f, 0x4f, 0x5f, 0x00]);
    expect(aml.scope('\\_SB', [aml.name('X', aml.integer(1))])).toEqual([0x10, 0x0c, 0x5c, 0x5f, 0x53, 0x42, 0x5f, 0x08, 0x58, 0x5f, 0x5f, 0x5f, 0x01]);
  });

  it('builds the DSDT body: Name(\\_S5, Package(4){typ, typ, 0, 0})', () => {
    expect(dsdtAml(0)).toEqual([0x08, 0x5c, 0x5f, 0x53, 0x35, 0x5f, 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00]);
    expect(dsdtAml(5)).toEqual([0x08, 0x5c, 0x5f, 0x53, 0x35, 0x5f, 0x12, 0x08, 0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00]);
    expect(() => dsdtAml(8)).toThrow(/SLP_TYP/);
  });
});
