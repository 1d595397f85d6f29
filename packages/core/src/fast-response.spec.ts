import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
    expect(new NativeResponse('y')).toBeInstanceOf(Response);
    expect(Response.name).toBe('Response');
    expect(Object.prototype.toString.call(ours)).toBe('[object Response]');
  });

  test('instanceof holds for an object given its prototype without the constructor (srvx\'s FastResponse)', () => {
    class Lazy {}
    Object.setPrototypeOf(Lazy.prototype, Response.prototype);
    expect(new Lazy()).toBeInstanceOf(Response);
    expect(Object.create(Response.prototype)).toBeInstanceOf(Response);
    expect({}).not.toBeInstanceOf(Response);
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
    const looked = new Response(streamOf('body'));
    expect(looked.body).toBeInstanceOf(ReadableStream);
    expect(streamedResponseParts(looked)?.stream).toBe(looked.body); // looked at, not read: still to send
  });

  test('a form data body is a real Response from the start, streamed without a length', async () => {
    const form = new FormData();
    form.append('a', '1');
    const response = new Response(form);
    expect(responseParts(response)).toBeUndefined();
    expect(response.headers.get('content-type')).toMatch(/^multipart\/form-data; boundary=/);
    expect(await new Response(streamedResponseParts(response)!.stream).text()).toContain('name="a"');
    expect(responseParts(new NativeResponse('native'))).toBeUndefined();
  });

  test('a Blob body is kept: streamed with its size as Content-Length and its type as Content-Type', async () => {
    const parts = streamedResponseParts(new Response(new Blob(['blob'], { type: 'text/x-blob' })))!;
    expect(parts.headers).toEqual(['content-type', 'text/x-blob', 'content-length', '4']);
    expect(parts.hasContentLength).toBe(true);
    expect(await new Response(parts.stream).text()).toBe('blob');
    expect(new Response(new Blob(['b'])).headers.has('content-type')).toBe(false);
    expect(await new Response(new Blob(['read'])).text()).toBe('read');
  });

  test('a URLSearchParams body is kept as its string, with the form Content-Type', () => {
    const params = new URLSearchParams({ a: '1 2' });
    const response = new Response(params);
    params.set('a', 'later');
    expect(responseParts(response)).toMatchObject({ headers: ['content-type', 'application/x-www-form-urlencoded;charset=UTF-8'], body: 'a=1+2' });
  });

  test('a header VALUE "content-type" leaves the default Content-Type in place', () => {
    const response = new Response('x', { headers: { 'access-control-allow-headers': 'content-type' } });
    expect(responseParts(response)?.headers).toEqual(['access-control-allow-headers', 'content-type', 'content-type', 'text/plain;charset=UTF-8']);
  });

  test('a subclass of Response is served from its state, whatever its getters say', () => {
    class Custom extends Response {}
    Object.defineProperty(Custom.prototype, 'status', { get: () => 299 });
    expect(responseParts(new Custom('sub', { status: 201 }))).toMatchObject({ status: 201, body: 'sub' });
  });

  test.each([
    ['a number as init', () => new Response('x', 5 as unknown as ResponseInit)],
    ['a string as init', () => new Response('x', 'init' as unknown as ResponseInit)],
    ['a Symbol status', () => new Response('x', { status: Symbol('200') as unknown as number })],
    ['a statusText beyond a byte', () => new Response('x', { statusText: 'é€' })],
    ['a header value beyond a byte', () => new Response('x', { headers: { 'x-a': '€' } })],
    ['Response.json() without arguments', () => (Response.json as () => Response)()],
    ['Response.redirect() without arguments', () => (Response.redirect as () => Response)()],
  ])('refuses %s with the error Node throws', (_name, make) => {
    expect(make).toThrow(errorOfNative(make));
  });

  test('Response.json() with a null init does what Node\'s own does (Node 24 throws, Node 26 takes it)', async () => {
    const make = () => Response.json(1, null as unknown as ResponseInit);
    let nativeOutcome: unknown;
    try {
      (globalThis as { Response: unknown }).Response = NativeResponse;
      const made = make();
      nativeOutcome = [made.status, await made.text()];
    } catch (error) {
      nativeOutcome = (error as Error).constructor;
    } finally {
      installFastResponse();
    }
    if (typeof nativeOutcome === 'function') expect(make).toThrow(nativeOutcome as ErrorConstructor);
    else expect([make().status, await make().text()]).toEqual(nativeOutcome);
  });

  test('reads the init by property access: Response.json(data, aResponse) keeps its status and headers', () => {
    const model = new Response(null, { status: 201, statusText: 'Made', headers: { 'x-a': '1' } });
    const response = Response.json({ a: 1 }, model);
    expect([response.status, response.statusText, response.headers.get('x-a')]).toEqual([201, 'Made', '1']);
    const reads: string[] = [];
    const init = Object.fromEntries(['headers', 'status', 'statusText'].map((key) => [key, undefined]));
    const watched = new Proxy(init, { get: (target, key) => (reads.push(String(key)), undefined) });
    void new Response('x', watched);
    expect(reads).toEqual(['headers', 'status', 'statusText']);
  });

  test('a view of a SharedArrayBuffer is judged as Node judges it', async () => {
    const view = new Uint8Array(new SharedArrayBuffer(2));
    let native: string;
    try {
      native = await new NativeResponse(view).text();
    } catch (error) {
      native = (error as Error).constructor.name;
    }
    let ours: string;
    try {
      ours = await new Response(view).text();
    } catch (error) {
      ours = (error as Error).constructor.name;
    }
    expect(ours).toBe(native);
  });

  test('bodyUsed says so once the app read or cancelled the stream it passed in', async () => {
    const read = streamOf('read');
    const response = new Response(read);
    await read.getReader().read();
    expect(response.bodyUsed).toBe(true);
    const cancelled = streamOf('cancelled');
    const other = new Response(cancelled);
    await cancelled.cancel();
    expect(other.bodyUsed).toBe(true);
  });

  test('has the shape WebIDL gives an interface: length, enumerable members, names, brand checks', () => {
    expect(Response.length).toBe(0);
    expect(Object.getPrototypeOf(Response.prototype)).toBe(Object.prototype);
    const own: Record<PropertyKey, PropertyDescriptor> = Object.getOwnPropertyDescriptors(Response.prototype);
    for (const key of ['type', 'url', 'redirected', 'status', 'ok', 'statusText', 'headers', 'body', 'bodyUsed']) {
      expect(own[key], key).toMatchObject({ enumerable: true, configurable: true, set: undefined });
      expect(own[key]!.get!.name).toBe(`get ${key}`);
      expect(() => own[key]!.get!.call({}), key).toThrow(TypeError);
    }
    for (const key of ['clone', 'arrayBuffer', 'blob', 'bytes', 'formData', 'json', 'text']) {
      expect(own[key], key).toMatchObject({ enumerable: true, writable: true, configurable: true });
      expect(own[key]!.value.name).toBe(key);
    }
    for (const key of ['json', 'error', 'redirect']) expect(Object.getOwnPropertyDescriptor(Response, key)!.enumerable, key).toBe(true);
    expect([Response.json.length, Response.redirect.length]).toEqual([1, 1]);
    expect(own[Symbol.toStringTag]).toEqual({ value: 'Response', writable: false, enumerable: false, configurable: true });
    const fetched = new NativeResponse('native');
    expect(own.status!.get!.call(fetched)).toBe(200); // Node's own Responses pass the brand check
  });

  test('loadApp() installs it before the app is imported: a class the app derives at import time is served as ours', () => {
    const folder = mkdtempSync(join(tmpdir(), 'chaussette-response-'));
    writeFileSync(join(folder, 'app.mjs'), 'export class Page extends Response {}\nexport default { fetch: () => new Page("page") };\n');
    // The built modules: a child process loads no TypeScript.
    const loader = fileURLToPath(new URL('../dist/load-app.js', import.meta.url));
    const fast = fileURLToPath(new URL('../dist/fast-response.js', import.meta.url));
    const script = `const { loadApp } = await import(${JSON.stringify(loader)}); const { responseParts } = await import(${JSON.stringify(fast)});
      const app = await loadApp('./app.mjs', { cwd: ${JSON.stringify(folder)} }); process.stdout.write(String(JSON.stringify(responseParts(app.fetch()))));`;
    const run = (env: NodeJS.ProcessEnv) => execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...env }, encoding: 'utf8' });
    expect(JSON.parse(run({}))).toMatchObject({ status: 200, body: 'page', headers: ['content-type', 'text/plain;charset=UTF-8'] });
    expect(run({ CHAUSSETTE_NATIVE_RESPONSE: '1' })).toBe('undefined'); // Node's own Response: no parts
  });

  test('the Headers an app holds stay the response\'s once its body is read', async () => {
    const response = new Response('x');
    const headers = response.headers;
    expect(response.body).toBeInstanceOf(ReadableStream); // the real Response exists from here on
    headers.set('content-type', 'text/x-late');
    expect((await response.blob()).type).toBe('text/x-late');
    expect(response.headers).toBe(headers);
  });

  test('undici accepts it where it takes a Response: new Response(body, response)', async () => {
    const original = new Response('inner', { status: 203, headers: { 'x-b': '2' } });
    const rewrapped = new Response(original.body, original);
    expect(rewrapped.status).toBe(203);
    expect(rewrapped.headers.get('x-b')).toBe('2');
    expect(await rewrapped.text()).toBe('inner');
  });
});

/** The constructor of what `make` throws with Node's own Response global. */
function errorOfNative(make: () => unknown): ErrorConstructor {
  try {
    (globalThis as { Response: unknown }).Response = NativeResponse;
    make();
  } catch (error) {
    return (error as Error).constructor as ErrorConstructor;
  } finally {
    installFastResponse();
  }
  throw new Error('Node accepts it');
}

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
