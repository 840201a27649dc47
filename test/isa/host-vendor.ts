// Which CPU vendor the host is: the differential suites compare the host with osvemu's model of the same
// vendor (src/cpu/vendor.ts).
import { readFileSync } from 'node:fs';
import type { CpuVendorName } from '../../src/cpu/vendor.js';

let cached: { name: CpuVendorName | null; id: string; model: string } | undefined;

function read(): { name: CpuVendorName | null; id: string; model: string } {
  if (cached) return cached;
  let text = '';
  try { text = readFileSync('/proc/cpuinfo', 'utf8'); } catch { /* not Linux: no host vendor */ }
  const id = /^vendor_id\s*:\s*(\S+)/m.exec(text)?.[1] ?? 'unknown';
  const model = /^model name\s*:\s*(.+)$/m.exec(text)?.[1]?.trim() ?? 'unknown';
  const name = id === 'GenuineIntel' ? 'intel' : id === 'AuthenticAMD' ? 'amd' : null;
  cached = { name, id, model };
  return cached;
}

/** The host's vendor as osvemu names it, or null (not x86 Linux, or another vendor). */
export function hostVendor(): CpuVendorName | null { return read().name; }

/** "AuthenticAMD (AMD EPYC)" for reports. */
export function hostDescription(): string { const h = read(); return `${h.id} (${h.model})`; }

/** The model the differential suites run osvemu with: the host's vendor, else osvemu's default (intel). */
export function harnessVendor(): CpuVendorName { return read().name ?? 'intel'; }
