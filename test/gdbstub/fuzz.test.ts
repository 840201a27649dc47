// Throws 100,000+ random and mutated packets at a session: no exception, no hang, only well-formed
// output, and a valid '?' is still answered at the end.

import { describe, expect, it } from 'vitest';
import { escapeBinary } from '../../src/gdbstub/packet.js';
import { TestClient, frame } from './client.js';
import { MockTarget } from './mock-target.js';

const PACKETS = 100_000;

/** xorshift32: deterministic, so a failure can be replayed with the printed seed. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  return {
    int: (n: number) => next() % n,
    pick: <T>(a: readonly T[]): T => a[next() % a.length],
    bytes: (n: number) => Uint8Array.from({ length: n }, () => next() & 0xff),
  };
}

const hex = (s: string) => Buffer.from(s).toString('hex');

const CORPUS = [
  '?', 'g', 'G' + '00'.repeat(40), 'p10', 'p2f', 'P10=0000400000000000', 'P0=1122334455667788', 'm400000,40', 'm601000,100',
  'mffffffffffffffff,ffffffff', 'M601000,4:01020304', 'X601000,4:' + escapeBinary('$#}*'), 'X0,0:', 'Z0,400010,1', 'z0,400010,1',
  'Z1,400020,1', 'Z2,601000,4', 'Z3,600000,1000', 'Z4,601040,7fffffff', 'z2,601000,4', 'vCont?', 'vCont;s:1;c', 'vCont;s:2',
  'vCont;c', 'vCont;t:1;s:2', 'vCont;C05:1;c', 'c', 's', 'c400100', 'S05', 'C02;400000', 'Hg1', 'Hg2', 'Hg0', 'Hc-1', 'Hc1', 'Hgp1.2',
  'T1', 'T2', 'T99', 'qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386', 'qC', 'qAttached', 'qfThreadInfo', 'qsThreadInfo',
  'qThreadExtraInfo,1', 'qXfer:features:read:target.xml:0,ffb', 'qXfer:features:read:target.xml:800,ffff', 'qXfer:threads:read::0,fff',
  'qRcmd,' + hex('help'), 'qRcmd,' + hex('info registers'), 'qRcmd,' + hex('info cpus'), 'qRcmd,' + hex('icount'),
  'qRcmd,' + hex('system_reset'), 'qRcmd,' + hex('step-interrupts on'), 'qqemu.sstep', 'Qqemu.sstep=5', 'QStartNoAckMode', 'qSymbol::',
  'vMustReplyEmpty', 'qTStatus', 'D', 'D;1', 'k', 'vKill;1', '!', 'vFile:setfs:0',
];

const NUMBERS = ['0', '1', 'ff', '-1', '7fffffff', 'ffffffff', '100000000', 'ffffffffffffffff', '10000000000000000', '', 'zz', ','];
const SPECIAL = '$#}*+-:;,=\x03\x00\xff';

function mutate(r: ReturnType<typeof rng>, body: string): string {
  let s = body;
  const n = 1 + r.int(3);
  for (let i = 0; i < n; i++) {
    const pos = r.int(s.length + 1);
    switch (r.int(7)) {
      case 0: // replace a byte
        s = s.slice(0, pos) + String.fromCharCode(r.int(256)) + s.slice(pos + 1);
        break;
      case 1: // insert a special character
        s = s.slice(0, pos) + SPECIAL[r.int(SPECIAL.length)] + s.slice(pos);
        break;
      case 2: // delete a run
        s = s.slice(0, pos) + s.slice(pos + 1 + r.int(8));
        break;
      case 3: // truncate
        s = s.slice(0, pos);
        break;
      case 4: // splice in an absurd number
        s = s.slice(0, pos) + r.pick(NUMBERS) + s.slice(pos);
        break;
      case 5: // repeat a chunk (long packets)
        s = s.slice(0, pos) + s.slice(pos, pos + 8).repeat(1 + r.int(3000)) + s.slice(pos);
        break;
      case 6: // splice two packets
        s = s.slice(0, pos) + r.pick(CORPUS).slice(r.int(8));
        break;
    }
  }
  return s;
}

function packet(r: ReturnType<typeof rng>): Uint8Array {
  const kind = r.int(10);
  if (kind === 0) return r.bytes(1 + r.int(64)); // raw binary garbage
  const body = kind < 3 ? r.pick(CORPUS) : mutate(r, r.pick(CORPUS));
  const framed = frame(body);
  const roll = r.int(20);
  if (roll === 0) framed[framed.length - 1] ^= 1; // bad checksum
  if (roll === 1) return framed.subarray(0, r.int(framed.length)); // cut short
  if (roll === 2) return Buffer.concat([r.bytes(r.int(8)), framed]); // line noise first
  return framed;
}

const tick = () => new Promise((res) => setImmediate(res));

describe('fuzz', () => {
  it(`survives ${PACKETS} random and mutated packets`, async () => {
    const seed = Number(process.env.GDBSTUB_FUZZ_SEED ?? 0x5eed1234);
    const r = rng(seed);
    const target = new MockTarget(2);
    let client = new TestClient(target);
    let sessions = 1;
    const stats: Record<string, number> = {};
    const started = Date.now();
    for (let i = 0; i < PACKETS; i++) {
      const p = packet(r);
      // Deliver in random pieces, as TCP would.
      let off = 0;
      while (off < p.length) {
        const n = 1 + r.int(p.length - off);
        client.sendRaw(p.subarray(off, off + n));
        off += n;
      }
      // A plain check: expect() per packet would dominate the run time.
      if (client.protocolErrors.length > 0) throw new Error(`seed ${seed} packet ${i}: ${client.protocolErrors[0]}`);
      for (const rep of client.replies) {
        const k = rep === '' ? 'empty' : rep === 'OK' ? 'OK' : /^E[0-9a-f]{2}$/.test(rep) ? 'error' : /^[TSWX][0-9a-f]{2}/.test(rep) ? 'stop' : 'data';
        stats[k] = (stats[k] ?? 0) + 1;
      }
      for (const a of client.acks) stats[a] = (stats[a] ?? 0) + 1;
      client.replies.length = 0;
      client.acks.length = 0;
      if (client.session.running) {
        // Let the target run a little, then stop it: it must stop promptly.
        if (r.int(2) === 0) await tick();
        client.sendRaw('\x03');
        for (let t = 0; client.session.running; t++) {
          if (t > 50) throw new Error(`seed ${seed} packet ${i}: target did not stop after Ctrl-C`);
          await tick();
        }
      }
      if (client.session.finished) {
        // Detached or killed: re-attach the way a new gdb would.
        client.session.dispose();
        if (target.isRunning()) target.interrupt();
        while (target.isRunning()) await tick();
        client = new TestClient(target);
        sessions++;
      }
    }
    // Flush any half-received packet, then the stub must still answer a valid '?'.
    client.sendRaw('#00');
    if (client.session.running) client.sendRaw('\x03');
    while (client.session.running) await tick();
    client.replies.length = 0;
    expect(await client.request('?')).toMatch(/^(T[0-9a-f]{2}thread:[0-9a-f]+;.*|W[0-9a-f]{2})$/);
    expect(client.protocolErrors).toEqual([]);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(sessions).toBeGreaterThan(1);
    // The mutations must reach the handlers, not just the framing layer.
    for (const k of ['empty', 'OK', 'error', 'stop', 'data', '+', '-']) expect(stats[k] ?? 0, `${k} replies`).toBeGreaterThan(500);
    if (process.env.GDBSTUB_FUZZ_STATS) console.log(stats, { sessions });
  });
});
