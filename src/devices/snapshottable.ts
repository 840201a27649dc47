// What a device gives a machine snapshot: its guest-visible state as a plain value, and that state
// put back into a freshly built device of the same configuration. Wiring (clocks, buses, IRQ lines,
// callbacks) is rebuilt by the board, not saved. Timers are the one bit of wiring with state: a device
// names the callbacks it schedules (timerCallbacks) so the machine can save the queue by name and
// re-create every pending entry, with its deadline and ordering, pointing at the new device.
import type { TimerCallback } from './bus.js';

/** A JSON-like tree whose leaves may also be typed arrays (see snapshot encoding in src/machine). */
export type StateValue = number | boolean | string | null | StateTypedArray | StateValue[] | { [k: string]: StateValue };
export type StateTypedArray = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array | Float32Array;
export type DeviceState = { [k: string]: StateValue };

export interface Snapshottable {
  saveState(): DeviceState;
  /** Called on a device built with the same options; throws SnapshotStateError when `s` does not fit. */
  loadState(s: DeviceState): void;
  /** The callbacks this device passes to TimerQueue.schedule, by stable name (none: no timers). */
  timerCallbacks?(): Record<string, TimerCallback>;
}

export class SnapshotStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotStateError';
  }
}

function isTypedArray(v: unknown): v is StateTypedArray {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

function isPrimitive(v: unknown): v is number | boolean | string | null {
  return v === null || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string';
}

export interface FieldOptions {
  /** Fields not to save (derived state, or state the owner saves its own way). */
  skip?: readonly string[];
  /** Fields holding objects (or arrays of objects) whose own fields are state too. */
  nested?: readonly string[];
}

/**
 * The state fields of `obj`: every own field holding a primitive, a typed array or an array of
 * primitives. Objects and functions are wiring and left out unless named in `nested`. A typed array
 * viewing a buffer already saved (r8 over r32) is left out: the first view carries the bytes.
 */
export function captureFields(obj: object, opts: FieldOptions = {}): DeviceState {
  const out: DeviceState = {};
  // Views of bytes already taken (r8 and r16 over r32, xmmF64 over xmm) are left out; views of other bytes of the same
  // buffer are not (a vCPU's registers, flags and segment bases share one: the wasm arena's state slice).
  const seen: { buffer: ArrayBufferLike; start: number; end: number }[] = [];
  const rec = obj as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (opts.skip?.includes(key)) continue;
    const v = rec[key];
    if (opts.nested?.includes(key)) {
      out[key] = Array.isArray(v) ? v.map((e) => captureFields(e as object)) : captureFields(v as object);
    } else if (isPrimitive(v)) {
      out[key] = v;
    } else if (isTypedArray(v)) {
      const start = v.byteOffset, end = start + v.byteLength;
      if (seen.some((x) => x.buffer === v.buffer && x.start < end && start < x.end)) continue;
      seen.push({ buffer: v.buffer, start, end });
      out[key] = v.slice() as StateTypedArray;
    } else if (Array.isArray(v) && v.every(isPrimitive)) {
      out[key] = v.slice();
    }
  }
  return out;
}

/** Puts fields saved by captureFields back; arrays and typed arrays are filled in place. */
export function restoreFields(obj: object, s: DeviceState, opts: FieldOptions = {}, where = obj.constructor.name): void {
  const rec = obj as Record<string, unknown>;
  for (const key of Object.keys(s)) {
    const v = s[key]!;
    const cur = rec[key];
    if (!(key in rec)) throw new SnapshotStateError(`${where}: unknown field "${key}"`);
    if (opts.nested?.includes(key)) {
      if (Array.isArray(cur)) {
        const list = v as DeviceState[];
        if (!Array.isArray(list) || list.length !== cur.length) throw new SnapshotStateError(`${where}.${key}: ${cur.length} entries expected`);
        list.forEach((e, i) => restoreFields(cur[i] as object, e, {}, `${where}.${key}[${i}]`));
      } else restoreFields(cur as object, v as DeviceState, {}, `${where}.${key}`);
    } else if (isTypedArray(cur)) {
      if (!isTypedArray(v) || v.length !== cur.length || v.constructor !== cur.constructor) {
        throw new SnapshotStateError(`${where}.${key}: ${cur.constructor.name}(${cur.length}) expected`);
      }
      (cur as Uint8Array).set(v as Uint8Array);
    } else if (Array.isArray(cur)) {
      if (!Array.isArray(v)) throw new SnapshotStateError(`${where}.${key}: array expected`);
      cur.length = 0;
      for (const e of v) cur.push(e);
    } else {
      if (!isPrimitive(v) || (cur !== undefined && cur !== null && v !== null && typeof cur !== typeof v)) {
        throw new SnapshotStateError(`${where}.${key}: ${typeof cur} expected`);
      }
      rec[key] = v;
    }
  }
}

/** The usual device: captureFields/restoreFields over its own fields. */
export function fieldSnapshot(obj: object, opts: FieldOptions = {}): Snapshottable {
  return {
    saveState: () => captureFields(obj, opts),
    loadState: (s) => restoreFields(obj, s, opts),
  };
}
