// Node built-ins that only some runs use, loaded on first use rather than when the CLI starts: child_process
// (which brings net, dgram and readline), zlib (with the stream modules) and crypto cost a cold `osvemu run`
// 5-30 ms of main-thread time to load, and a plain boot needs none of them (issue 12, cold start).
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

export const childProcess = (): typeof import('node:child_process') => load('node:child_process');
export const zlib = (): typeof import('node:zlib') => load('node:zlib');
export const crypto = (): typeof import('node:crypto') => load('node:crypto');
