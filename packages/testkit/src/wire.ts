// Raw bytes on one connection, for the cases that must see exactly what the server sends: a response
// head and what follows it, everything until the server closes, the bodies of pipelined responses.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { BoundAddress } from '@chaussette/core';
import { openSocket } from './client.js';

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Sends one request on a keep-alive connection; resolves with all that arrives within 200 ms of the response head. */
export async function responseHead(address: BoundAddress, data: string): Promise<string> {
  const socket = await openSocket(address);
  try {
    socket.write(data);
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    while (!text.includes('\r\n\r\n')) await once(socket, 'data');
    await new Promise((resolve) => setTimeout(resolve, 200));
    return text;
  } finally {
    socket.destroy();
  }
}

/**
 * Sends requests, the last saying `Connection: close`, and reads until the server closes; `stallMs`:
 * the client reads nothing for that long first.
 */
export async function rawExchange(address: BoundAddress, data: string): Promise<string>;
export async function rawExchange(address: BoundAddress, data: string, options: { stallMs: number; encoding: null }): Promise<Buffer>;
export async function rawExchange(address: BoundAddress, data: string, options?: { stallMs: number; encoding: null }): Promise<string | Buffer> {
  const socket = await openSocket(address);
  socket.pause();
  socket.write(data);
  if (options) await new Promise((resolve) => setTimeout(resolve, options.stallMs));
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  return options ? bytes : bytes.toString('latin1');
}

/** The bodies of the complete responses, each with a Content-Length, that `bytes` begins with. */
export function completeBodies(bytes: Buffer): Buffer[] {
  const bodies: Buffer[] = [];
  for (let at = 0; ; ) {
    const headEnd = bytes.indexOf('\r\n\r\n', at);
    if (headEnd === -1) return bodies;
    const length = /\r\ncontent-length: *(\d+)/i.exec(bytes.subarray(at, headEnd).toString('latin1'))?.[1];
    if (length === undefined) throw new Error(`No Content-Length in the response at byte ${at}`);
    const end = headEnd + 4 + Number(length);
    if (end > bytes.length) return bodies;
    bodies.push(bytes.subarray(headEnd + 4, end));
    at = end;
  }
}
