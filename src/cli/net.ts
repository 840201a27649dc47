// `osvemu run --net ...`: opens the back ends the user asked for (starting passt for `user`)
// before the machine is built; on any failure, closes what was opened and says why in one line.
import type { NetSpec } from '../devices/net/spec.js';
import { openNetBackend } from '../devices/net/spec.js';
import type { NetAttachment } from '../machine/net.js';

export async function openCliNet(specs: NetSpec[]): Promise<NetAttachment[]> {
  const out: NetAttachment[] = [];
  try {
    for (let i = 0; i < specs.length; i++) {
      const s = specs[i]!;
      out.push({ backend: await openNetBackend(s, i), ...(s.mac ? { mac: s.mac } : {}), link: s.link });
    }
  } catch (e) {
    await Promise.all(out.map((a) => a.backend.close()));
    throw e;
  }
  return out;
}
