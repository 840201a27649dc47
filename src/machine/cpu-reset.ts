// The architectural states the board puts a vCPU in before it runs: the PVH entry of the boot CPU and the
// INIT-STARTUP start of an application processor. Shared with the system-test harness, which boots the
// same way without the platform devices.
import type { Cpu } from '../cpu/cpu.js';
import { CS, DS, ES, FS, GS, SS } from '../cpu/regs.js';
import type { PvhEntryState } from './pvh.js';

/** The PVH entry: 32-bit protected mode, flat 4 GiB segments, EBX = start info, the other GPRs zero. */
export function enterPvhEntry(cpu: Cpu, st: PvhEntryState): void {
  cpu.cr0 = st.cr0;
  cpu.cr4 = st.cr4;
  cpu.efer = 0;
  for (const s of [ES, CS, SS, DS, FS, GS]) {
    cpu.segSel[s] = s === CS ? 0x08 : 0x10;
    cpu.segDescBase[s] = 0;
    cpu.segLimit[s] = 0xffffffff;
    cpu.segAttr[s] = s === CS ? 0xc09b : 0xc093;
  }
  cpu.setFlags(st.eflags);
  cpu.r32.fill(0);
  cpu.r32[2 * 3] = st.ebx;
  cpu.rip = st.eip;
  cpu.updateMode();
}

/** STARTUP: real mode at vector*4096, CS = vector << 8, IP = 0, running again. */
export function startAp(cpu: Cpu, vector: number): void {
  cpu.cr0 = 0x60000010;
  cpu.cr4 = 0;
  cpu.efer = 0;
  cpu.cpl = 0;
  cpu.resetSegments();
  cpu.segSel[CS] = vector << 8;
  cpu.segDescBase[CS] = vector << 12;
  cpu.r32.fill(0);
  cpu.setFlags(2);
  cpu.rip = 0;
  cpu.halted = false;
  cpu.nmiBlocked = false;
  cpu.updateMode();
}
