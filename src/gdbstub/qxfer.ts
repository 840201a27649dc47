// qXfer:OBJECT:read:ANNEX:OFFSET,LENGTH for the target description and the thread list.

import { E_INVALID, type Reply, type StubContext } from './context.js';
import { parseHexNumber } from './hex.js';
import { escapeBinary } from './packet.js';
import { FEATURE_ANNEXES, FEATURE_ANNEXES_LINUX } from './tdesc.js';

const E_NO_ANNEX = 'E00';

function xmlEscape(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function threadsXml(ctx: StubContext): string {
  const rows = ctx.threads.threads().map((t) => {
    const core = t.core !== undefined ? ` core="${t.core.toString(16)}"` : '';
    const name = t.name !== undefined ? ` name="${xmlEscape(t.name)}"` : '';
    return `<thread id="${t.id.toString(16)}"${core}${name}>${xmlEscape(t.extra ?? '')}</thread>`;
  });
  return `<?xml version="1.0"?><threads>${rows.join('')}</threads>`;
}

/** Serves one window of `doc`: 'm' = more follows, 'l' = last. */
function window(ctx: StubContext, doc: string, range: string): Reply {
  const comma = range.indexOf(',');
  if (comma < 0) return E_INVALID;
  const offset = parseHexNumber(range.slice(0, comma));
  const length = parseHexNumber(range.slice(comma + 1));
  if (offset === null || length === null) return E_INVALID;
  const bytes = Buffer.from(doc, 'utf8').toString('latin1');
  if (offset >= bytes.length) return 'l';
  // Escaping can double the size: keep the reply inside the packet size whatever gdb asked.
  const max = Math.max(1, Math.min(length, Math.floor((ctx.packetSize - 8) / 2)));
  const chunk = bytes.slice(offset, offset + max);
  return (offset + chunk.length >= bytes.length ? 'l' : 'm') + escapeBinary(chunk);
}

export function handleQXfer(ctx: StubContext, body: string): Reply {
  // qXfer:features:read:target.xml:0,ffb
  const parts = body.split(':');
  if (parts.length !== 5 || parts[2] !== 'read') return '';
  const [, object, , annex, range] = parts;
  if (object === 'features') {
    const doc = (ctx.threads.linuxAbi === true ? FEATURE_ANNEXES_LINUX : FEATURE_ANNEXES).get(annex);
    return doc === undefined ? E_NO_ANNEX : window(ctx, doc, range);
  }
  if (object === 'libraries-svr4') {
    const doc = annex === '' ? ctx.threads.librariesSvr4?.() : undefined;
    if (doc === undefined) return '';
    return window(ctx, doc ?? '<library-list-svr4 version="1.0"/>', range);
  }
  if (object === 'threads') {
    if (annex !== '') return E_NO_ANNEX;
    return window(ctx, threadsXml(ctx), range);
  }
  return '';
}
