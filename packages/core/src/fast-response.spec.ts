import { describe, expect, test } from 'vitest';

type HeadersInit = ConstructorParameters<typeof Headers>[0];
import { installFastResponse, responseParts, streamedResponseParts } from './fast-response.js';

const NativeResponse = globalThis.Response;
installFastResponse();

describe("chaussette's Response", () => {
  test('is global, and instanceof holds for it and for Node\'s own Responses', () => {
    expect(globalThis.Response).not.toBe(NativeResponse);
    const ours = new Response('x');
    expect(ours).toBeInstanceOf(Response);
    expect(ours).toBeInstanceOf(NativeResponse);
    expect(new NativeResponse('y')).toBeInstanceOf(Response);
    expect(Response.name).toBe('Response');
    expect(Object.prototype.toString.call(ours)).toBe('[object Response]');
  });

  test('keeps a string body with the default content-type, and gives its parts without a stream', () => {
    const response = new Response('hello', { status: 201, headers: { 'x-a': '1' } });
    expect(responseParts(response)).toEqual({
      status: 201,
      statusText: '',
      headers: ['x-a', '1', 'content-type', 'text/plain;charset=UTF-8'],
      hasContentLength: false,
      body: 'hello',
    });
    expect(response.headers.get('content-type')).toBe('text/plain;charset=UTF-8');
    expect(response.ok).toBe(true);
  });

  test('keeps set-cookie lines apart from a Headers object, and headers changed after construction', () => {
    const headers = new Headers();
    headers.append('set-cookie', 'a=1');
    headers.append('set-cookie', 'b=2');
    const response = new Response(new Uint8Array([1, 2]), { headers });
    response.headers.set('x-late', 'yes');
    expect(responseParts(response)?.headers).toEqual(['set-cookie', 'a=1', 'set-cookie', 'b=2', 'x-late', 'yes']);
  });

  test('reads like a real Response: text(), json(), clone(), body, bodyUsed', async () => {
    const response = Response.json({ a: [1] }, { status: 202 });
    expect(response.headers.get('content-type')).toBe('application/json');
    const copy = response.clone();
    expect(await response.json()).toEqual({ a: [1] });
    expect(response.bodyUsed).toBe(true);
    expect(await copy.text()).toBe('{"a":[1]}');
    expect(responseParts(response)).toBeUndefined(); // it became a real one: stream it
    expect(new Response('s').body).toBeInstanceOf(ReadableStream);
  });

  test.each([
    ['status 99', () => new Response('x', { status: 99 })],
    ['status 600', () => new Response('x', { status: 600 })],
    ['status "abc"', () => new Response('x', { status: 'abc' as unknown as number })],
    ['a body with status 204', () => new Response('x', { status: 204 })],
    ['a body with status 304', () => new Response('x', { status: 304 })],
    ['a newline in statusText', () => new Response('x', { statusText: 'a\nb' })],
    ['a newline in a header value', () => new Response('x', { headers: { 'x-a': 'a\nb' } })],
    ['a space in a header name', () => new Response('x', { headers: { 'x a': '1' } })],
    ['a locked stream', () => new Response(lockedStream())],
    ['a stream already read from', () => new Response(disturbedStream())],
    ['a stream with status 204', () => new Response(streamOf('x'), { status: 204 })],
  ])('refuses %s as Node does', (_name, make) => {
    let native: unknown;
    try {
      (globalThis as { Response: unknown }).Response = NativeResponse;
      make();
    } catch (error) {
      native = (error as Error).constructor;
    } finally {
      installFastResponse();
    }
    expect(native).toBeDefined();
    expect(make).toThrow(native as ErrorConstructor);
  });

  test.each([
    ['a plain object', { 'X-Upper': ' v ', 'content-type': 'text/html' }],
    ['a Headers object', new Headers({ 'x-a': '1' })],
    ['pairs with a repeated name', [['x-m', '1'], ['x-m', '2'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2']]],
    ['names that differ in case only', { 'x-a': '1', 'X-A': '2' }],
  ])('headers from %s read the same as on a real Response', (_name, headers) => {
    const ours = new Response('x', { headers: headers as HeadersInit });
    const real = new NativeResponse('x', { headers: headers as HeadersInit });
    expect([...ours.headers]).toEqual([...real.headers]);
    const sent = responseParts(new Response('x', { headers: headers as HeadersInit }))!.headers;
    const pairs = Array.from({ length: sent.length / 2 }, (_, index) => `${sent[index * 2]}: ${sent[index * 2 + 1]}`).sort();
    expect(pairs).toEqual([...real.headers].map(([name, value]) => `${name}: ${value}`).sort());
  });

  test('accepts what Node accepts: a numeric string status, no body on 204, header values it trims', () => {
    expect(new Response('x', { status: '201' as unknown as number }).status).toBe(201);
    expect(new Response('x', { status: 200.5 }).status).toBe(new NativeResponse('x', { status: 200.5 }).status);
    expect(new Response(null, { status: 204 }).status).toBe(204);
    expect(new Response('x', { headers: { 'x-a': ' padded ' } }).headers.get('x-a')).toBe('padded');
  });

  test('copies what it is given: later changes to the init headers or the body bytes do not leak in', () => {
    const shared = { 'x-shared': 'one' };
    const bytes = new Uint8Array([1, 2, 3]);
    const response = new Response(bytes, { headers: shared });
    shared['x-shared'] = 'two';
    bytes.fill(0);
    expect(responseParts(response)).toMatchObject({ headers: ['x-shared', 'one'], body: new Uint8Array([1, 2, 3]) });
  });

  test('keeps an ArrayBuffer or any view of one as bytes (what request.arrayBuffer() gives an echo), copied, with no content-type', async () => {
    const buffer = new Uint8Array([1, 2, 3, 4]).buffer;
    const fromBuffer = new Response(buffer);
    const fromView = new Response(new DataView(buffer, 1, 2));
    new Uint8Array(buffer).fill(0);
    expect(responseParts(fromBuffer)).toMatchObject({ headers: [], body: new Uint8Array([1, 2, 3, 4]) });
    expect(responseParts(fromView)).toMatchObject({ headers: [], body: new Uint8Array([2, 3]) });
    expect(new Uint8Array(await new Response(new Uint16Array([1]).buffer).arrayBuffer())).toEqual(new Uint8Array(new Uint16Array([1]).buffer));
    expect(new Response(buffer).headers.get('content-type')).toBe(new NativeResponse(buffer).headers.get('content-type'));
  });

  test('instanceof a subclass of Response holds only for that subclass', () => {
    class Custom extends Response {}
    expect(new Response('x')).not.toBeInstanceOf(Custom);
    expect(new Custom('x')).toBeInstanceOf(Custom);
    expect(new Custom('x')).toBeInstanceOf(Response);
  });

  test('bodyUsed is false for a kept body, without making the real Response', () => {
    const response = new Response('kept');
    expect(response.bodyUsed).toBe(false);
    expect(responseParts(response)).toBeDefined();
  });

  test('once a backend took its body, it is used, as undici\'s Response is once served', async () => {
    const response = new Response('sent', { headers: { 'x-a': '1' } });
    expect(responseParts(response)?.body).toBe('sent');
    expect(response.bodyUsed).toBe(true);
    expect(responseParts(response)).toBeUndefined(); // the same Response returned twice is not sent twice
    await expect(response.text()).rejects.toThrow(TypeError);
    expect(response.headers.get('x-a')).toBe('1');
    const empty = new Response(null, { status: 204 });
    expect(responseParts(empty)?.body).toBeNull();
    expect(responseParts(empty)?.body).toBeNull(); // nothing to use up
  });

  test('keeps a stream body: streamedResponseParts() hands it over, and the response is used from then on', async () => {
    const stream = streamOf('streamed');
    const response = new Response(stream, { status: 201, headers: { 'x-a': '1' } });
    expect(responseParts(response)).toBeUndefined(); // no whole body: stream it
    expect(response.bodyUsed).toBe(false);
    expect(streamedResponseParts(response)).toEqual({ status: 201, statusText: '', headers: ['x-a', '1'], hasContentLength: false, stream });
    expect(response.bodyUsed).toBe(true);
    expect(streamedResponseParts(response)).toBeUndefined(); // not sent twice
    expect(streamedResponseParts(new Response('whole'))).toBeUndefined();
    expect(streamedResponseParts(new NativeResponse(streamOf('native')))).toBeUndefined();
  });

  test('a kept stream reads like a real Response: body, clone(), text()', async () => {
    const response = new Response(streamOf('once'));
    const copy = response.clone();
    expect(await response.text()).toBe('once');
    expect(await copy.text()).toBe('once');
    expect(streamedResponseParts(response)).toBeUndefined(); // it became a real one: read through response.body
    const read = new Response(streamOf('body'));
    expect(read.body).toBeInstanceOf(ReadableStream);
    expect(streamedResponseParts(read)).toBeUndefined();
  });

  test('a blob or form data body is a real Response from the start', async () => {
    const response = new Response(new Blob(['blob']), { status: 200 });
    expect(responseParts(response)).toBeUndefined();
    expect(await response.text()).toBe('blob');
    expect(responseParts(new NativeResponse('native'))).toBeUndefined();
  });

  test('undici accepts it where it takes a Response: new Response(body, response)', async () => {
    const original = new Response('inner', { status: 203, headers: { 'x-b': '2' } });
    const rewrapped = new Response(original.body, original);
    expect(rewrapped.status).toBe(203);
    expect(rewrapped.headers.get('x-b')).toBe('2');
    expect(await rewrapped.text()).toBe('inner');
  });
});

function streamOf(text: string): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(text));
      controller.close();
    },
  });
}

function lockedStream(): ReadableStream<Uint8Array> {
  const stream = streamOf('locked');
  stream.getReader();
  return stream;
}

function disturbedStream(): ReadableStream<Uint8Array> {
  const stream = streamOf('disturbed');
  const reader = stream.getReader();
  void reader.read();
  reader.releaseLock();
  return stream;
}
