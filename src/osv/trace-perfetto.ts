// OSv trace samples as Chrome trace-event JSON (the format ui.perfetto.dev and chrome://tracing
// import): every sample is an instant event twice, on its CPU's track (process "CPUs", one thread
// per CPU) and on its OSv thread's track (process "OSv threads", one thread per sched::thread).
// Entry/exit pairs by trace.py's list-timed convention (X then X_ret or X_err on the same thread)
// also become duration slices on the thread's track, so sched_wait..sched_wait_ret shows as a bar,
// and sched_switch (its first argument is the next thread) gives each CPU's track slices named after
// the thread that ran, from one switch to the next.

import { formatSampleData } from './trace-list.js';
import type { TraceArg, TraceSample } from './trace-model.js';

const CPU_PID = 1;
const THREAD_PID = 2;

interface ChromeEvent {
  name: string;
  ph: string;
  pid: number;
  tid?: number;
  ts?: number;
  dur?: number;
  s?: string;
  cat?: string;
  args?: Record<string, unknown>;
}

const us = (ns: number) => Math.round(ns) / 1000;
const hex = (v: bigint) => `0x${BigInt.asUintN(64, v).toString(16)}`;

function jsonArg(v: TraceArg): unknown {
  if (typeof v === 'bigint') return v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER) ? hex(v) : Number(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  return v;
}

/** The Chrome trace-event JSON text for `samples` (in time order). */
export function perfettoJson(samples: readonly TraceSample[]): string {
  const events: ChromeEvent[] = [
    { name: 'process_name', ph: 'M', pid: CPU_PID, args: { name: 'CPUs' } },
    { name: 'process_sort_index', ph: 'M', pid: CPU_PID, args: { sort_index: 0 } },
    { name: 'process_name', ph: 'M', pid: THREAD_PID, args: { name: 'OSv threads' } },
    { name: 'process_sort_index', ph: 'M', pid: THREAD_PID, args: { sort_index: 1 } },
  ];
  const cpus = new Set<number>();
  const threads = new Map<bigint, number>();
  /** Per thread: the open entry samples by tracepoint name. */
  const open = new Map<number, Map<string, TraceSample[]>>();
  const body: ChromeEvent[] = [];
  const names = new Map<bigint, string>();
  for (const s of samples) names.set(s.thread, s.threadName);
  /** Per CPU: the last sched_switch (when, to which thread). */
  const running = new Map<number, { time: number; to: bigint }>();
  const endRun = (cpu: number, time: number) => {
    const r = running.get(cpu);
    if (r === undefined) return;
    body.push({
      name: names.get(r.to) || hex(r.to), cat: 'running', ph: 'X', pid: CPU_PID, tid: cpu, ts: us(r.time),
      dur: Math.round(time - r.time) / 1000, args: { thread: hex(r.to) },
    });
  };
  for (const s of samples) {
    if (s.tp.name === 'sched_switch' && typeof s.args[0] === 'bigint') {
      endRun(s.cpu, s.time);
      running.set(s.cpu, { time: s.time, to: s.args[0] });
    }
    if (!cpus.has(s.cpu)) {
      cpus.add(s.cpu);
      events.push({ name: 'thread_name', ph: 'M', pid: CPU_PID, tid: s.cpu, args: { name: `CPU ${s.cpu}` } });
      events.push({ name: 'thread_sort_index', ph: 'M', pid: CPU_PID, tid: s.cpu, args: { sort_index: s.cpu } });
    }
    let tid = threads.get(s.thread);
    if (tid === undefined) {
      tid = threads.size + 1;
      threads.set(s.thread, tid);
      events.push({ name: 'thread_name', ph: 'M', pid: THREAD_PID, tid, args: { name: `${s.threadName || '?'} ${hex(s.thread)}` } });
      events.push({ name: 'thread_sort_index', ph: 'M', pid: THREAD_PID, tid, args: { sort_index: tid } });
    }
    const args: Record<string, unknown> = {
      thread: `${s.threadName} ${hex(s.thread)}`, cpu: s.cpu, data: formatSampleData(s),
    };
    s.args.forEach((a, i) => {
      args[`arg${i}`] = jsonArg(a);
    });
    if (s.backtrace) args.backtrace = s.backtrace.filter((f) => f !== 0n).map(hex);
    const ts = us(s.time);
    body.push({ name: s.tp.name, cat: 'tracepoint', ph: 'i', s: 't', pid: CPU_PID, tid: s.cpu, ts, args });
    body.push({ name: s.tp.name, cat: 'tracepoint', ph: 'i', s: 't', pid: THREAD_PID, tid, ts, args });

    let pending = open.get(tid);
    if (pending === undefined) open.set(tid, (pending = new Map()));
    const end = /^(.*)_(ret|err)$/.exec(s.tp.name);
    const entries = end ? pending.get(end[1]!) : undefined;
    if (end && entries && entries.length > 0) {
      const start = entries.pop()!;
      body.push({
        name: end[1]!, cat: 'span', ph: 'X', pid: THREAD_PID, tid, ts: us(start.time), dur: Math.round(s.time - start.time) / 1000,
        args: { begin: formatSampleData(start), end: `${s.tp.name} ${formatSampleData(s)}`, cpu: start.cpu },
      });
    } else {
      const list = pending.get(s.tp.name);
      if (list) list.push(s);
      else pending.set(s.tp.name, [s]);
    }
  }
  const end = samples.length > 0 ? samples[samples.length - 1]!.time : 0;
  for (const cpu of running.keys()) endRun(cpu, end);
  return JSON.stringify({ traceEvents: [...events, ...body], displayTimeUnit: 'ns' });
}
