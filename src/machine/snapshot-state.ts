// The whole machine as a value and back: RAM as its non-zero pages, every vCPU (GPRs, flags, x87,
// SSE, control/segment/descriptor-table registers, MSRs, pending-event flags), every device through
// the Snapshottable interface, the timer queue (by owner name), the quantum loop's position, virtual
// time and the rdrand stream. Decoded code and TLBs are not saved: they are rebuilt, except that the
// set of pages holding code is (a write to one ends a trace, which decides where interrupts are taken).
import { createHash } from 'node:crypto';
import type { TimerCallback } from '../devices/bus.js';
import {
  captureFields, fieldSnapshot, restoreFields, SnapshotStateError, type DeviceState, type Snapshottable,
} from '../devices/snapshottable.js';
import type { SharedIrq } from '../devices/irq-share.js';
import { entropyFrom, SeededEntropy } from '../devices/backends/entropy.js';
import { PAGE_SIZE } from '../cpu/physmem.js';
import { Machine, type MachineOptions } from './machine.js';
import { DEFAULT_PAUSE_NS, DEFAULT_TSC_READ_NS } from './wait-cost.js';
import { devicesOf, optionsForDevices, type RestoreDevices, type SnapshotDevices } from './snapshot-devices.js';

export const SNAPSHOT_STATE_VERSION = 3;

/** What a snapshot needs to rebuild the machine before loading state into it. */
export interface SnapshotConfig {
  cmdline: string;
  cpus: number;
  memMiB: number;
  kvmclock: boolean;
  x2apic: boolean;
  quantum: number | null;
  seed: number | null;
  cpuVendor: 'intel' | 'amd';
  icountShift: number;
  pauseNs: number;
  tscReadNs: number;
  /** virtio-pci flavour and the virtio-rng source: its seeded generator's state, or host entropy. */
  virtioMode: string | null;
  rng: { state: number[] } | 'host' | null;
  /** The devices, so a restore recreates them (src/machine/snapshot-devices.ts). */
  devices?: SnapshotDevices;
}

export interface MachineSnapshot {
  config: SnapshotConfig;
  /** The kernel ELF the machine booted (symbols for offline debugging and core files). */
  kernel: Uint8Array;
  state: DeviceState;
  /** Page numbers of the saved (non-zero) RAM pages, ascending. */
  pages: Uint32Array;
  /** Their contents, PAGE_SIZE bytes each, in `pages` order. */
  ram: Uint8Array;
}

/** Devices added by later work (virtio back ends...) that live outside the platform's own list. */
const extras = new WeakMap<Machine, Map<string, Snapshottable>>();

export function registerSnapshottable(machine: Machine, name: string, device: Snapshottable): void {
  let m = extras.get(machine);
  if (m === undefined) extras.set(machine, (m = new Map()));
  m.set(name, device);
}

/** Board internals the snapshot code reads and writes (private to Machine for everyone else). */
interface BoardInternals {
  baseNs: number;
  lastNs: number;
  current: number;
  startIcount: number;
  stallNs: number;
  waitingSipi: boolean[];
  state: string;
  stateMessage: string;
  exitStatus: number;
  console: string;
}

const BOARD_FIELDS = ['baseNs', 'lastNs', 'current', 'startIcount', 'stallNs', 'waitingSipi', 'state', 'stateMessage', 'exitStatus', 'console'] as const;

/** Every device of the machine by stable name, in a fixed order. */
export function machineDevices(m: Machine): Map<string, Snapshottable> {
  const p = m.platform;
  const out = new Map<string, Snapshottable>();
  p.lapics.forEach((l, k) => out.set(`lapic${k}`, l));
  p.kvmclocks.forEach((c, k) => out.set(`kvmclock${k}`, fieldSnapshot(c)));
  out.set('apic-bus', fieldSnapshot(p.apicBus));
  out.set('ioapic', fieldSnapshot(p.ioapic));
  out.set('pic', fieldSnapshot(p.pic, { nested: ['master', 'slave'] }));
  out.set('uart', fieldSnapshot(p.uart));
  out.set('hpet', p.hpet);
  out.set('rtc', fieldSnapshot(p.rtc));
  out.set('acpi-pm', fieldSnapshot(p.acpi));
  out.set('reset', fieldSnapshot(p.resetPorts));
  out.set('pci', fieldSnapshot(p.pci));
  for (const { devfn, device } of p.pci.list()) out.set(`pci-${devfn.toString(16).padStart(2, '0')}`, device);
  const shared = (p as unknown as { sharedGsis: Map<number, SharedIrq> }).sharedGsis;
  for (const [gsi, irq] of [...shared].sort((a, b) => a[0] - b[0])) out.set(`intx-gsi${gsi}`, fieldSnapshot(irq));
  for (const [name, d] of extras.get(m) ?? []) out.set(name, d);
  return out;
}

function configOf(o: MachineOptions): SnapshotConfig {
  return {
    cmdline: o.cmdline ?? '', cpus: o.cpus ?? 1, memMiB: o.memMiB ?? 256, kvmclock: o.kvmclock ?? true,
    x2apic: o.x2apic ?? false, quantum: o.quantum ?? null, seed: o.seed ?? null,
    cpuVendor: o.cpuVendor ?? 'intel', icountShift: o.icountShift ?? 0, pauseNs: o.pauseNs ?? DEFAULT_PAUSE_NS,
    tscReadNs: o.tscReadNs ?? DEFAULT_TSC_READ_NS,
    virtioMode: o.virtioMode ?? null,
    rng: o.rng instanceof SeededEntropy ? { state: [...(o.rng as unknown as { s: Uint32Array }).s] } : o.rng ? 'host' : null,
  };
}

const ZERO_PAGE = Buffer.alloc(PAGE_SIZE);

function asBuffer(u8: Uint8Array): Buffer {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

/** Which RAM pages hold anything: all-zero pages are left out of snapshots. */
function nonZeroPages(u8: Uint8Array): number[] {
  const b = asBuffer(u8);
  const out: number[] = [];
  for (let p = 0, at = 0; at < b.length; p++, at += PAGE_SIZE) {
    if (ZERO_PAGE.compare(b, at, at + PAGE_SIZE) !== 0) out.push(p);
  }
  return out;
}

/** Everything but RAM, as a value. Throws SnapshotStateError for a state that cannot be saved. */
export function captureState(m: Machine): DeviceState {
  const devices = machineDevices(m);
  const owners = new Map<TimerCallback, string>();
  const devState: DeviceState = {};
  for (const [name, d] of devices) {
    devState[name] = d.saveState();
    for (const [cb, f] of Object.entries(d.timerCallbacks?.() ?? {})) owners.set(f, `${name}/${cb}`);
  }
  const timers = m.timers.pending().map((t) => {
    const owner = owners.get(t.callback);
    if (owner === undefined) throw new SnapshotStateError('a pending timer belongs to no device that can be snapshotted');
    return { deadline: t.deadline, seq: t.seq, owner };
  });
  const board = m as unknown as BoardInternals;
  const boardState: DeviceState = {};
  for (const f of BOARD_FIELDS) boardState[f] = Array.isArray(board[f]) ? [...(board[f] as boolean[])] : board[f] as number | string;
  return {
    board: boardState,
    random: m.random.state,
    // Not Mmu.hi: the high half of a 64-bit read, read back within the same instruction and dead between
    // instructions; compiled code's inline TLB hits leave it alone, so it told the engines apart.
    // stateBase, hubWords and hubRip: where the state lives in the wasm arena, and the wasm hub's words (dead between blocks).
    cpus: m.cpus.map((c) => captureFields(c, { nested: ['fpu'], skip: ['index', 'stateBase', 'hubWords', 'hubRip'] })),
    execs: m.execs.map((e) => ({ eventPending: e.eventPending })),
    devices: devState,
    timers: { last: m.timers.lastHandle, pending: timers },
    codePages: m.cache.pageSets(),
  };
}

export function captureMachine(m: Machine): MachineSnapshot {
  // Host input that reached a card's port but not the card yet: only a restore into a new machine
  // puts it back (replays of a recording take input from the recording instead).
  const state = { ...captureState(m), netPending: m.net.ports.map((p) => p.pendingInput()) };
  const list = nonZeroPages(m.mem.u8);
  const ram = new Uint8Array(list.length * PAGE_SIZE);
  list.forEach((p, i) => ram.set(m.mem.u8.subarray(p * PAGE_SIZE, (p + 1) * PAGE_SIZE), i * PAGE_SIZE));
  return { config: { ...configOf(m.options), devices: devicesOf(m) }, kernel: m.options.kernel, state, pages: Uint32Array.from(list), ram };
}

/** Loads a snapshot into `m`, a machine built with the snapshot's configuration. */
export function restoreMachine(m: Machine, snap: MachineSnapshot): void {
  const s = snap.state as {
    board: DeviceState; random: number; cpus: DeviceState[]; execs: { eventPending: boolean }[];
    devices: Record<string, DeviceState>; timers: { last: number; pending: { deadline: number; seq: number; owner: string }[] };
    codePages: number[][];
  };
  if (s.cpus.length !== m.cpus.length) throw new SnapshotStateError(`snapshot has ${s.cpus.length} vCPUs, the machine ${m.cpus.length}`);
  // RAM: only pages that differ are written, and decoded code survives on pages that did not change
  // (replays restore checkpoints over and over; decoding everything again would dominate).
  const ram = asBuffer(m.mem.u8);
  const saved = asBuffer(snap.ram);
  const pages = snap.pages;
  const npages = ram.length / PAGE_SIZE;
  if (pages.length > 0 && pages[pages.length - 1]! >= npages) {
    throw new SnapshotStateError(`RAM page ${pages[pages.length - 1]} is beyond the machine's ${m.mem.size >>> 20} MiB`);
  }
  const changed = new Uint8Array(npages);
  for (let p = 0, j = 0, at = 0; p < npages; p++, at += PAGE_SIZE) {
    if (j < pages.length && pages[j] === p) {
      const from = j * PAGE_SIZE;
      if (saved.compare(ram, at, at + PAGE_SIZE, from, from + PAGE_SIZE) !== 0) {
        saved.copy(ram, at, from, from + PAGE_SIZE);
        changed[p] = 1;
      }
      j++;
    } else if (ZERO_PAGE.compare(ram, at, at + PAGE_SIZE) !== 0) {
      ram.fill(0, at, at + PAGE_SIZE);
      changed[p] = 1;
    }
  }
  m.cache.restorePageSets(s.codePages, (ppn) => changed[ppn] === 0);

  const board = m as unknown as Record<string, unknown>;
  for (const f of BOARD_FIELDS) {
    const v = s.board[f];
    if (v === undefined) throw new SnapshotStateError(`board field ${f} missing`);
    if (Array.isArray(v)) { const a = board[f] as unknown[]; a.length = 0; a.push(...v); } else board[f] = v;
  }
  m.random.state = s.random;
  m.cpus.forEach((c, k) => {
    // Snapshots written before Mmu.hi left the state still carry it (mmuHi): ignored.
    const { mmuHi: _dead, ...fields } = s.cpus[k]!;
    restoreFields(c, fields, { nested: ['fpu'] }, `cpu${k}`);
    c.mmu.hi = 0;
    c.updateMode();
    c.mmu.flush();
    m.execs[k]!.eventPending = s.execs[k]!.eventPending;
    m.execs[k]!.invalidateFetch();
  });

  const devices = machineDevices(m);
  const callbacks = new Map<string, TimerCallback>();
  for (const [name, d] of devices) {
    const ds = s.devices[name];
    if (ds === undefined) throw new SnapshotStateError(`device ${name} missing from the snapshot`);
    d.loadState(ds);
    for (const [cb, f] of Object.entries(d.timerCallbacks?.() ?? {})) callbacks.set(`${name}/${cb}`, f);
  }
  for (const name of Object.keys(s.devices)) if (!devices.has(name)) throw new SnapshotStateError(`snapshot device ${name} is not on this machine`);
  for (const { device } of m.platform.pci.list()) m.platform.pciBars.sync(device);
  // The port hands its link to a card it is attached to (reset): keep the restored card's.
  m.net.ports.forEach((port, i) => { const d = m.net.devices[i]; if (d) port.link = d.link; });
  m.timers.restore(s.timers.last, s.timers.pending.map((t) => {
    const callback = callbacks.get(t.owner);
    if (callback === undefined) throw new SnapshotStateError(`timer owner ${t.owner} is not on this machine`);
    return { deadline: t.deadline, seq: t.seq, callback };
  }));
}

/**
 * A new machine in the snapshot's state; `io` supplies the host side (console output...), `devices`
 * what a restore may change: moved disk images, network back ends (cards without one are detached).
 */
export function machineFromSnapshot(snap: MachineSnapshot, io: Pick<MachineOptions, 'serialOut' | 'debugOut' | 'virtioLog' | 'netLog'> = {},
  devices: RestoreDevices = {}): Machine {
  const c = snap.config;
  const m = new Machine({
    ...optionsForDevices(c.devices, devices),
    kernel: snap.kernel, cmdline: c.cmdline, cpus: c.cpus, memMiB: c.memMiB, kvmclock: c.kvmclock, x2apic: c.x2apic,
    cpuVendor: c.cpuVendor, icountShift: c.icountShift, pauseNs: c.pauseNs, tscReadNs: c.tscReadNs,
    ...(c.virtioMode ? { virtioMode: c.virtioMode as MachineOptions['virtioMode'] } : {}),
    ...(c.rng === 'host' ? { rng: entropyFrom('host') } : c.rng ? { rng: seededAt(c.rng.state) } : {}),
    ...(c.quantum !== null ? { quantum: c.quantum } : {}), ...(c.seed !== null ? { seed: c.seed } : {}), ...io,
  });
  restoreMachine(m, snap);
  const pending = (snap.state.netPending ?? []) as (Uint8Array | boolean)[][];
  m.net.ports.forEach((p, i) => p.requeue(pending[i] ?? []));
  return m;
}

function seededAt(state: number[]): SeededEntropy {
  const e = new SeededEntropy(0);
  (e as unknown as { s: Uint32Array }).s.set(state);
  return e;
}

/** A digest of the whole machine state (RAM included): equal hashes mean equal machines. */
export function stateHash(m: Machine): string {
  const h = createHash('sha256');
  h.update(encodeValue(captureState(m)));
  const u8 = m.mem.u8;
  for (const p of nonZeroPages(u8)) {
    h.update(`${p}:`);
    h.update(u8.subarray(p * PAGE_SIZE, (p + 1) * PAGE_SIZE));
  }
  return h.digest('hex').slice(0, 32);
}

// ---- value encoding: JSON with typed arrays (base64) and non-finite numbers / -0 spelled out -----
const TYPED: Record<string, new (b: ArrayBuffer) => ArrayBufferView> = {
  Uint8Array, Uint16Array, Uint32Array, Int32Array, Float64Array, Float32Array,
};

export function encodeValue(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v, function (this: unknown, _k, x: unknown) {
    if (typeof x === 'number' && (!Number.isFinite(x) || Object.is(x, -0))) return { $n: Object.is(x, -0) ? '-0' : String(x) };
    if (ArrayBuffer.isView(x)) {
      return { $t: x.constructor.name, b: Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('base64') };
    }
    return x;
  }));
}

export function decodeValue(b: Uint8Array): unknown {
  return JSON.parse(Buffer.from(b).toString('utf8'), (_k, x: unknown) => {
    if (x !== null && typeof x === 'object' && !Array.isArray(x)) {
      const o = x as Record<string, unknown>;
      if (typeof o.$n === 'string') return o.$n === '-0' ? -0 : Number(o.$n);
      if (typeof o.$t === 'string' && typeof o.b === 'string') {
        const Ctor = TYPED[o.$t];
        if (Ctor === undefined) throw new SnapshotStateError(`unknown array type ${o.$t}`);
        const bytes = Buffer.from(o.b, 'base64');
        const copy = new ArrayBuffer(bytes.length);
        new Uint8Array(copy).set(bytes);
        return new Ctor(copy);
      }
    }
    return x;
  });
}
