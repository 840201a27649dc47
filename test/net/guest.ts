// Boots the virtionet guest (images/bare/virtionet.c) with network cards attached.
import { readFileSync } from 'node:fs';
import { Machine, type MachineOptions } from '../../src/machine/machine.js';
import { buildImage } from '../images/build.js';

export interface NetGuest {
  m: Machine;
  /** The guest's report so far (port 0xE9). */
  out: () => string;
  /** Lines the board logged (virtio needs-reset, back-end notices). */
  logs: string[];
}

export function netGuest(cmdline: string, opts: Partial<MachineOptions> = {}): NetGuest {
  let out = '';
  const logs: string[] = [];
  const m = new Machine({
    kernel: readFileSync(buildImage('virtionet')),
    cmdline,
    memMiB: 64,
    debugOut: (b) => (out += String.fromCharCode(b)),
    virtioLog: (l) => logs.push(l),
    netLog: (l) => logs.push(l),
    ...opts,
  });
  return { m, out: () => out, logs };
}
