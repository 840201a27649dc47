// A status line on the terminal for runs longer than a few seconds: instructions, MIPS, virtual time.
import type { Machine } from '../machine/machine.js';

export function startStatusLine(machine: Machine, force: boolean): { stop(): void } {
  if (!process.stderr.isTTY && !force) return { stop() {} };
  const t0 = Date.now();
  let lastInsns = 0, lastT = t0, shown = false;
  const timer = setInterval(() => {
    const now = Date.now();
    if (now - t0 < 3000) return;
    const insns = machine.instructions;
    const mips = (insns - lastInsns) / ((now - lastT) / 1000) / 1e6;
    lastInsns = insns;
    lastT = now;
    if (!process.stderr.isTTY) return;
    shown = true;
    process.stderr.write(`\r[osvemu] ${(insns / 1e6).toFixed(1)} M insns, ${mips.toFixed(1)} MIPS, ` +
      `virtual ${(machine.nowNs() / 1e6).toFixed(1)} ms `);
  }, 1000);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      if (shown) process.stderr.write('\n');
    },
  };
}
