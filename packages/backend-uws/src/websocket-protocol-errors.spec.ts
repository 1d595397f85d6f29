// What uWebSockets.js does with WebSocket frames a client must not send, as docs/websockets.md's table
// says: it fails them in C++, mostly by cutting the TCP connection without a close frame. The kit holds
// what every backend shares (the connection ends, nothing after reaches the app); these cases hold the
// rest, so that a uWS release that changes it shows, and the table is rewritten.
import { connect, type Socket } from 'node:net';
import { deflateRawSync, constants as zlibConstants } from 'node:zlib';
import type { App, ServerHandle } from '@chaussette/core';
import { recordingLogger, serverFrames } from '@chaussette/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import backend from './index.js';
import { uwsUnavailableReason } from './uws.js';

const unavailable = uwsUnavailableReason();
beforeEach((context) => {
  if (unavailable) context.skip(unavailable);
});

const MAX_PAYLOAD = 64 * 1024;

interface SeenByApp {
  messages: string[];
  closes: { code: number; reason: string }[];
}

/** An app that records what its handlers see, per connection name, with permessage-deflate on or off. */
function recordingApp(seen: Map<string, SeenByApp>, perMessageDeflate: boolean): App {
  const of = (ws: { data: unknown }) => seen.get((ws.data as { name: string }).name)!;
  return {
    kind: 'fetch',
    description: 'a WebSocket app that records',
    source: undefined,
    fetch(request, server) {
      const name = new URL(request.url).searchParams.get('name')!;
      seen.set(name, { messages: [], closes: [] });
      server.upgrade(request, { data: { name } });
      return undefined;
    },
    websocket: {
      maxPayloadLength: MAX_PAYLOAD,
      perMessageDeflate,
      message: (ws, message) => void of(ws).messages.push(typeof message === 'string' ? message : `${message.length} bytes`),
      close: (ws, code, reason) => void of(ws).closes.push({ code, reason }),
    },
  };
}

/** A client frame (RFC 6455 §5.2), masked unless told otherwise. */
function frame(opcode: number, payload: string | Uint8Array, { fin = true, rsv1 = false, masked = true } = {}): Buffer {
  const data = Buffer.from(payload);
  const length = data.length < 126 ? Buffer.alloc(0) : Buffer.alloc(data.length < 65536 ? 2 : 8);
  if (length.length === 2) length.writeUInt16BE(data.length);
  if (length.length === 8) length.writeBigUInt64BE(BigInt(data.length));
  const lengthCode = length.length === 0 ? data.length : length.length === 2 ? 126 : 127;
  const head = Buffer.from([(fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode, (masked ? 0x80 : 0) | lengthCode]);
  if (!masked) return Buffer.concat([head, length, data]);
  const mask = Buffer.from([0x11, 0x22, 0x33, 0x44]);
  return Buffer.concat([head, length, mask, data.map((byte, index) => byte ^ mask[index % 4]!)]);
}

const closeFrame = (code: number, reason: Uint8Array = Buffer.alloc(0)) => {
  const payload = Buffer.alloc(2);
  payload.writeUInt16BE(code);
  return frame(0x8, Buffer.concat([payload, reason]));
};

const deflated = (data: Uint8Array) => {
  const compressed = deflateRawSync(data, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  return compressed.subarray(0, compressed.length - 4); // RFC 7692 §7.2.1: without the empty block's tail
};

/** What came back for `frames`, written after a real handshake: the frames' opcodes and close code, and how the connection ended. */
interface Answer {
  /** Each frame received, as `op<opcode>`, a close as `close <code>` or `close without a code`. */
  frames: string[];
  /** 'FIN', 'reset', or 'open' when the connection outlived the wait. */
  ended: 'FIN' | 'reset' | 'open';
}

function readFrames(bytes: Buffer): string[] {
  return serverFrames(bytes).map(({ opcode, payload }) => {
    if (opcode !== 0x8) return `op${opcode}`;
    return payload.length >= 2 ? `close ${payload.readUInt16BE(0)}` : 'close without a code';
  });
}

async function answerTo(port: number, name: string, frames: Buffer, deflate = false): Promise<Answer> {
  const socket: Socket = connect(port, '127.0.0.1');
  let received = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
  const ended = new Promise<Answer['ended']>((resolve) => {
    socket.once('error', () => resolve('reset')).once('end', () => resolve('FIN'));
    setTimeout(() => resolve('open'), 1500);
  });
  const extension = deflate ? 'Sec-WebSocket-Extensions: permessage-deflate\r\n' : '';
  socket.write(
    `GET /?name=${name} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extension}\r\n`,
  );
  for (let waited = 0; !received.includes('\r\n\r\n') && waited < 2000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(received.toString('latin1')).toMatch(/^HTTP\/1\.1 101 /);
  if (deflate) expect(received.toString('latin1')).toMatch(/permessage-deflate/i);
  const headEnd = received.indexOf('\r\n\r\n') + 4;
  socket.write(frames, () => {});
  const how = await ended;
  socket.destroy();
  return { frames: readFrames(received.subarray(headEnd)), ended: how };
}

describe.each([false, true])('uWebSockets.js on frames a client must not send (permessage-deflate: %s)', (perMessageDeflate) => {
  const seen = new Map<string, SeenByApp>();
  let handle: ServerHandle | undefined;
  let port = 0;
  beforeAll(async () => {
    if (unavailable) return;
    handle = await backend.serve(recordingApp(seen, perMessageDeflate), { type: 'tcp', host: '127.0.0.1', port: 0, backlog: 511 }, { logger: recordingLogger() });
    if (handle.address.type === 'tcp') port = handle.address.port;
  });
  afterAll(() => handle?.close(100));
  const closedAs = async (name: string) => {
    for (let waited = 0; !seen.get(name)?.closes.length && waited < 2000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    return seen.get(name)!.closes;
  };
  const compress = (payload: Uint8Array) => (perMessageDeflate ? { payload: deflated(payload), rsv1: true } : { payload, rsv1: false });

  test.each([
    ['a reserved opcode', frame(0x3, 'x'), 'Received invalid WebSocket frame'],
    ['a fragmented ping', frame(0x9, 'x', { fin: false }), 'Received invalid WebSocket frame'],
    ['a ping of 126 bytes', frame(0x9, Buffer.alloc(126)), 'Received invalid WebSocket frame'],
    ['a continuation with nothing to continue', frame(0x0, 'x'), 'Received invalid WebSocket frame'],
  ])('%s: the TCP connection is cut without a close frame; the app gets 1006 and uWS\'s words', async (error, bytes, reason) => {
    const name = `frame-${error.replaceAll(' ', '-')}`;
    expect(await answerTo(port, name, bytes, perMessageDeflate)).toEqual({ frames: [], ended: 'FIN' });
    expect(await closedAs(name)).toEqual([{ code: 1006, reason }]);
  });

  test('invalid UTF-8 in a text message: cut without a close frame (no 1007); the app gets 1006, never the message', async () => {
    const { payload, rsv1 } = compress(Buffer.from([0x68, 0xff]));
    expect(await answerTo(port, 'utf8', frame(0x1, payload, { rsv1 }), perMessageDeflate)).toEqual({ frames: [], ended: 'FIN' });
    expect(await closedAs('utf8')).toEqual([{ code: 1006, reason: 'Received invalid UTF-8' }]);
    expect(seen.get('utf8')!.messages).toEqual([]);
  });

  test('an invalid close code: a close frame without a code (no 1002); the app gets 1006; a 1-byte close payload is taken as no code (1005)', async () => {
    expect(await answerTo(port, 'close-999', closeFrame(999), perMessageDeflate)).toEqual({ frames: ['close without a code'], ended: 'FIN' });
    expect(await closedAs('close-999')).toEqual([{ code: 1006, reason: 'Received invalid close payload' }]);
    expect(await answerTo(port, 'close-1-byte', frame(0x8, Buffer.from([3])), perMessageDeflate)).toEqual({ frames: ['close without a code'], ended: 'FIN' });
    expect(await closedAs('close-1-byte')).toEqual([{ code: 1005, reason: '' }]);
  });

  test('a message over maxPayloadLength: chaussette closes with 1009 within uWS\'s margin; past it uWS cuts (1006)', async () => {
    const justOver = compress(Buffer.alloc(MAX_PAYLOAD + 1000));
    expect(await answerTo(port, 'just-over', frame(0x2, justOver.payload, { rsv1: justOver.rsv1 }), perMessageDeflate)).toEqual({ frames: ['close 1009'], ended: 'FIN' });
    expect(await closedAs('just-over')).toEqual([{ code: 1009, reason: 'Message too big' }]);
    const pastMargin = compress(Buffer.alloc(3 * MAX_PAYLOAD));
    const cut = await answerTo(port, 'past-margin', frame(0x2, pastMargin.payload, { rsv1: pastMargin.rsv1 }), perMessageDeflate);
    expect(cut.frames).toEqual([]);
    expect(cut.ended).not.toBe('open');
    expect((await closedAs('past-margin'))[0]!.code).toBe(1006);
  });

  test('an unmasked frame is not refused: uWS reads its first 4 payload bytes as the mask, and the app gets the rest and 4 bytes more, unmasked with them', async () => {
    const unmasked = Buffer.concat([frame(0x1, 'abcdhello', { masked: false }), Buffer.from('wxyz')]);
    const answer = await answerTo(port, 'unmasked', unmasked, perMessageDeflate);
    expect(answer).toEqual({ frames: [], ended: 'open' });
    const garbled = Buffer.from('hellowxyz').map((byte, index) => byte ^ 'abcd'.charCodeAt(index % 4));
    expect(seen.get('unmasked')!.messages).toEqual([garbled.toString()]);
  });
});

test('with permessage-deflate agreed: data that does not inflate is cut without a close frame (no 1007); RSV1 on a ping is taken, and spoils the next message', async () => {
  const seen = new Map<string, SeenByApp>();
  const handle = await backend.serve(recordingApp(seen, true), { type: 'tcp', host: '127.0.0.1', port: 0, backlog: 511 }, { logger: recordingLogger() });
  try {
    const port = handle.address.type === 'tcp' ? handle.address.port : 0;
    expect(await answerTo(port, 'bad-deflate', frame(0x1, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x12]), { rsv1: true }), true)).toEqual({ frames: [], ended: 'FIN' });
    expect(seen.get('bad-deflate')!.closes).toEqual([{ code: 1006, reason: 'Received too big message, or other inflation error' }]);
    const compressedPing = Buffer.concat([frame(0x9, 'x', { rsv1: true }), frame(0x1, 'plain')]);
    expect((await answerTo(port, 'compressed-ping', compressedPing, true)).ended).toBe('FIN');
    expect(seen.get('compressed-ping')!).toEqual({ messages: [], closes: [{ code: 1006, reason: 'Received too big message, or other inflation error' }] });
  } finally {
    await handle.close(100);
  }
});
