// A bare long-mode vCPU at CPL 0 with the first `ramMiB` of memory identity-mapped by 2 MiB pages:
// enough to run hand-assembled loops for benchmarks, with paging on (the real configuration) or off.
import { CodeCache } from '../src/cpu/codecache.js';
import { Cpu } from '../src/cpu/cpu.js';
import { Exec } from '../src/cpu/exec.js';
import { PhysMem } from '../src/cpu/physmem.js';
import { CR0_PE, CR0_PG, CR0_WP, CR4_PAE, CR4_OSFXSR, CS, EFER_LMA, EFER_LME, EFER_NXE } from '../src/cpu/regs.js';

export interface Flat { mem: PhysMem; cpu: Cpu; exec: Exec; }

/** @param arena RAM and the vCPU's state in one wasm memory (PhysMem.arena), as wasm blocks need. */
export function flatMachine(ramMiB: number, paging: boolean, arena = false): Flat {
  const mem = new PhysMem(ramMiB * 1024 * 1024, undefined, arena ? 1 : 0);
  const cache = new CodeCache(mem);
  const cpu = new Cpu(mem);
  const exec = new Exec(cpu, cache);
  const dv = mem.dv;
  const PML4 = 0x1000, PDPT = 0x2000, PD = 0x3000;
  dv.setInt32(PML4, PDPT | 3, true);
  dv.setInt32(PDPT, PD | 3, true);
  for (let k = 0; k < Math.ceil(ramMiB / 2); k++) dv.setInt32(PD + 8 * k, (k * 0x200000) | 0x83, true);
  cpu.cr0 = CR0_PE | CR0_WP | (paging ? CR0_PG : 0);
  cpu.cr4 = CR4_PAE | CR4_OSFXSR;
  cpu.efer = EFER_LME | EFER_NXE | (paging ? EFER_LMA : 0);
  cpu.cr3 = PML4;
  // Without paging there is no long mode: run the same 64-bit code as if CS.L applied (flat, no translation).
  cpu.segAttr[CS] = 0xa09b;
  cpu.updateMode();
  if (!paging) { cpu.mode = 64; cpu.mmu.long = true; }
  return { mem, cpu, exec };
}
