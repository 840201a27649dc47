// Packet framing for the gdb Remote Serial Protocol: `$body#cs`, acks, Ctrl-C, '}' escaping and
// run-length encoding. The parser is a byte-at-a-time state machine so that a packet split across
// TCP segments, garbage between packets, or a client vanishing mid-packet cannot confuse it.

import { hexDigit, hex8 } from './hex.js';

export type FrameEvent =
  | { type: 'packet'; body: string } // body is unescaped, latin1 (one char per byte)
  | { type: 'bad' } // bad checksum, oversized or malformed: answer '-' in ack mode
  | { type: 'ack' }
  | { type: 'nack' }
  | { type: 'interrupt' }; // 0x03 outside a packet

const DOLLAR = 0x24;
const HASH = 0x23;
const ESCAPE = 0x7d;
const STAR = 0x2a;

const enum State {
  Idle,
  Body,
  Check1,
  Check2,
}

export function checksum(body: string): number {
  let sum = 0;
  for (let i = 0; i < body.length; i++) sum = (sum + body.charCodeAt(i)) & 0xff;
  return sum;
}

/** Frames a reply body (already escaped where the packet carries binary data). */
export function framePacket(body: string): Buffer {
  return Buffer.from('$' + body + '#' + hex8(checksum(body)), 'latin1');
}

/** Escapes '$', '#', '}' and '*' in binary reply data (qXfer, binary memory). */
export function escapeBinary(data: string): string {
  let out = '';
  for (let i = 0; i < data.length; i++) {
    const c = data.charCodeAt(i);
    if (c === DOLLAR || c === HASH || c === ESCAPE || c === STAR) out += '}' + String.fromCharCode(c ^ 0x20);
    else out += data[i];
  }
  return out;
}

/** Removes '}' escapes; a trailing lone '}' is malformed (null). */
export function unescapeBinary(data: string): string | null {
  if (data.indexOf('}') < 0) return data;
  let out = '';
  for (let i = 0; i < data.length; i++) {
    const c = data.charCodeAt(i);
    if (c === ESCAPE) {
      if (i + 1 >= data.length) return null;
      out += String.fromCharCode(data.charCodeAt(++i) ^ 0x20);
    } else out += data[i];
  }
  return out;
}

/**
 * Expands run-length encoding: `X*n` repeats X (n.charCode - 29) more times. gdb never sends RLE
 * to a stub, but it may appear in replies; the test client and any tooling use this.
 */
export function decodeRle(data: string): string | null {
  if (data.indexOf('*') < 0) return data;
  let out = '';
  for (let i = 0; i < data.length; i++) {
    if (data.charCodeAt(i) === STAR) {
      if (out.length === 0 || i + 1 >= data.length) return null;
      const n = data.charCodeAt(++i) - 29;
      if (n < 3 || n > 97) return null;
      out += out[out.length - 1].repeat(n);
    } else out += data[i];
  }
  return out;
}

/** Run-length encodes a reply body, avoiding the repeat counts that would produce '$', '#', '+' or '-'. */
export function encodeRle(data: string): string {
  let out = '';
  let i = 0;
  while (i < data.length) {
    const ch = data[i];
    let run = 1;
    while (i + run < data.length && data[i + run] === ch && run < 98) run++;
    let extra = run - 1;
    // Repeat counts 6 ('#'), 7 ('$'), 14 ('+') and 16 ('-') would collide with framing characters.
    while (extra === 6 || extra === 7 || extra === 14 || extra === 16) extra--;
    if (extra >= 3 && ch !== '*' && ch !== '}' && ch !== '#' && ch !== '$') {
      out += ch + '*' + String.fromCharCode(extra + 29);
      i += extra + 1;
    } else {
      out += ch;
      i += 1;
    }
  }
  return out;
}

/**
 * Incremental frame parser. `maxBody` bounds the memory a client can make us hold: longer packets
 * are discarded and reported as 'bad'.
 */
export class PacketParser {
  private state = State.Idle;
  /** Preallocated: the parser allocates nothing per byte. */
  private readonly body: Uint8Array;
  private length = 0;
  private overflow = false;
  private sum = 0;
  private check = 0;

  constructor(
    private readonly maxBody: number,
    private readonly emit: (ev: FrameEvent) => void,
  ) {
    this.body = new Uint8Array(maxBody);
  }

  /** True while a packet has started but not finished (used to report mid-packet disconnects). */
  get inPacket(): boolean {
    return this.state !== State.Idle;
  }

  feed(data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) this.byte(data[i]);
  }

  reset(): void {
    this.state = State.Idle;
    this.length = 0;
    this.overflow = false;
  }

  private byte(b: number): void {
    switch (this.state) {
      case State.Idle:
        if (b === DOLLAR) this.start();
        else if (b === 0x2b) this.emit({ type: 'ack' });
        else if (b === 0x2d) this.emit({ type: 'nack' });
        else if (b === 0x03) this.emit({ type: 'interrupt' });
        // Anything else between packets is line noise: ignore it.
        return;
      case State.Body:
        if (b === HASH) {
          this.state = State.Check1;
        } else if (b === DOLLAR) {
          // A raw '$' can never be inside a packet (binary data escapes it): the previous packet
          // was truncated, so resynchronise on the new one.
          this.emit({ type: 'bad' });
          this.start();
        } else {
          this.sum = (this.sum + b) & 0xff;
          if (this.length < this.maxBody) this.body[this.length++] = b;
          else this.overflow = true;
        }
        return;
      case State.Check1: {
        const d = hexDigit(b);
        if (d < 0) return this.malformed(b);
        this.check = d << 4;
        this.state = State.Check2;
        return;
      }
      case State.Check2: {
        const d = hexDigit(b);
        if (d < 0) return this.malformed(b);
        this.check |= d;
        const ok = this.check === this.sum && !this.overflow;
        const raw = ok ? Buffer.from(this.body.buffer, this.body.byteOffset, this.length).toString('latin1') : '';
        this.reset();
        if (!ok) return this.emit({ type: 'bad' });
        const body = unescapeBinary(raw);
        if (body === null) this.emit({ type: 'bad' });
        else this.emit({ type: 'packet', body });
        return;
      }
    }
  }

  private start(): void {
    this.state = State.Body;
    this.length = 0;
    this.overflow = false;
    this.sum = 0;
  }

  private malformed(b: number): void {
    this.reset();
    this.emit({ type: 'bad' });
    if (b === DOLLAR) this.start();
  }
}
