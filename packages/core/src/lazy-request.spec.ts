import { describe, expect, test } from 'vitest';
import { LazyRequest, requestUrl } from './lazy-request.js';

describe('requestUrl is what new URL() makes of the target and the Host', () => {
  const targets = [
    '/', '/a/b', '/a/b/', '/a/../b', '/a/./b', '/a/..', '/a/.', '/..', '/../..', '/a/b/../../..',
    '/a/%2e%2e/b', '/a/%2E./b', '/a/.%2e', '/a/%2e', '/a/%2e%2e%2fb', '/a/..%2fb', '/.well-known/x', '/a..b/c.', '/a/..b/.c',
    '/a/..?q=/../x', '/?/..', '/x y', '/a"b', "/?a'b", "/a'b", '/a<b>', '/a`{}^', '/?a`{}^', '/a\\b', '/a\\..\\b', '/a|[b]',
    '/a#f', '/a#f g', '/café', '/?q=é', '/€?€', '/%7e%zz%', '//a/../b', '//', '/a;b=c,d', '/a?b?c', '/~u/!$&()*+,;=:@',
    '/a%2fb', '/a\tb', '/a\u0001b', '/a\u007fb', '/a\u{1f600}', '/?q=a+b&r=%20',
  ];
  const hosts = [
    'example.com', 'EXAMPLE.com', 'example.com:80', 'example.com:443', 'example.com:8080', 'example.com:080', 'example.com:',
    '127.0.0.1', '127.0.0.1:80', '127.1', '0x7f.0.0.1', '2130706433', '[::1]', '[0:0::1]:8080', '[::FFFF:1.2.3.4]',
    'xn--nxasmq6b.com', 'a_b.example', 'example.com.', 'localhost:3000', 'b%41r.com', 'a-.b-',
  ];

  test.each(['http', 'https'] as const)('origin-form targets, %s, every shape against every Host', (scheme) => {
    for (const host of hosts) {
      for (const target of targets) {
        expect([host, target, requestUrl(scheme, host, target)]).toEqual([host, target, new URL(`${scheme}://${host}${target}`).href]);
      }
    }
  });

  test.each([
    'http://Other.COM:80/a/../b', 'HTTPS://x.com:443/?q', 'http://x.com', 'https://x.com:80/%2e/c', 'http://x.com/a b', 'http://[::1]:80/',
  ])('the absolute-form %s keeps its own host', (target) => {
    expect(requestUrl('http', 'host.example', target)).toBe(new URL(target).href);
  });

  test.each([
    ['*', 'http://h.example/*'],
    ['h.example:443', 'http://h.example/h.example:443'],
    ['', 'http://h.example/'],
  ])('%j, neither origin- nor absolute-form, is a path under the Host', (target, url) => {
    expect(requestUrl('http', 'h.example', target)).toBe(url);
  });

  test.each(['a%zz', 'x:99999', 'x:y', 'a@b', 'a/b', 'a b', ''])('a Host new URL() refuses or reads more into (%j) gives way to the fallback', (host) => {
    expect(requestUrl('http', host, '/p', 'Fallback.example:80')).toBe('http://fallback.example/p');
  });

  test('a Host seen before gives the same URL (its origin is remembered)', () => {
    for (let round = 0; round < 3; round++) expect(requestUrl('https', 'Cached.Example:443', '/x/./y')).toBe('https://cached.example/x/y');
  });
});

/** A LazyRequest over plain data: what an engine would have copied from the wire. */
class RequestOverBytes extends LazyRequest {
  readonly #method: string;
  readonly #target: string;
  readonly #headers: string[];
  readonly #body: Uint8Array;

  constructor(method: string, target: string, headers: string[], body = new Uint8Array(0)) {
    super('fallback.test');
    this.#method = method;
    this.#target = target;
    this.#headers = headers;
    this.#body = body;
  }

  get method(): string {
    return this.#method;
  }
  get ip(): string {
    return '127.0.0.1';
  }
  protected target(): string {
    return this.#target;
  }
  protected hostHeader(): string | undefined {
    return this.#headers[this.#headers.findIndex((name, index) => index % 2 === 0 && name.toLowerCase() === 'host') + 1];
  }
  protected headerList(): readonly string[] {
    return this.#headers;
  }
  protected watchAbort(): void {}
  protected hasBody(): boolean {
    return this.#method !== 'GET' && this.#method !== 'HEAD';
  }
  protected readBody(): Promise<Uint8Array> {
    return Promise.resolve(this.#body.slice());
  }
  protected bodyStream(): ReadableStream<Uint8Array> {
    const bytes = this.#body.slice();
    return new ReadableStream({
      start(controller) {
        if (bytes.byteLength > 0) controller.enqueue(bytes);
        controller.close();
      },
    });
  }
}

const served = (method = 'POST', body = 'a=1&b=two') =>
  new RequestOverBytes(method, '/form', ['Host', 'h.example', 'Content-Type', 'application/x-www-form-urlencoded', 'X-In', 'in'], new TextEncoder().encode(body)) as unknown as Request;

/** The real Request's own header list, as undici reads it: through a Request made from it (with a body of its own, since the body may be used). */
const realHeaders = (request: Request) => new Request(request, { method: 'POST', body: 'replacement' }).headers;

describe('request.headers', () => {
  test.each([
    ['clone()', (request: Request) => void request.clone()],
    ['body', (request: Request) => void request.body],
    ['formData()', (request: Request) => request.formData()],
    ['new Request(request)', (request: Request) => void new Request(request)],
  ])('is the same object before and after %s builds the real Request, which sees every change', async (_, buildReal) => {
    const request = served();
    const headers = request.headers;
    headers.set('x-before', '1');
    await buildReal(request);
    headers.append('x-after', '2');
    headers.delete('x-in');
    expect(request.headers).toBe(headers);
    for (const seen of [request.headers, realHeaders(request)]) {
      expect([seen.get('x-before'), seen.get('x-after'), seen.has('x-in')]).toEqual(['1', '2', false]);
    }
  });

  test('read first after the real Request is built, it is the real one\'s', async () => {
    const request = served();
    await request.formData();
    const headers = request.headers;
    headers.set('x-late', '3');
    expect(request.headers).toBe(headers);
    expect(realHeaders(request).get('x-late')).toBe('3');
  });

  test('is a Headers, as far as code can tell', () => {
    const { headers } = served();
    expect(headers).toBeInstanceOf(Headers);
    expect(headers.constructor).toBe(Headers);
    expect(Object.prototype.toString.call(headers)).toBe('[object Headers]');
    expect(Object.fromEntries(new Headers(headers))).toEqual({ host: 'h.example', 'content-type': 'application/x-www-form-urlencoded', 'x-in': 'in' });
  });
});

describe('a served request reads as a spec Request made from the same bytes', () => {
  const MEMBERS = [
    'method', 'url', 'cache', 'credentials', 'destination', 'integrity', 'mode', 'redirect', 'referrer', 'referrerPolicy',
    'keepalive', 'isReloadNavigation', 'isHistoryNavigation', 'duplex',
  ] as const;

  /** What a WPT request test looks at, before and after the body is read. */
  async function observe(request: Request) {
    const members = Object.fromEntries(MEMBERS.map((name) => [name, (request as unknown as Record<string, unknown>)[name]]));
    const before = { bodyUsed: request.bodyUsed, hasBody: request.body !== null, aborted: request.signal.aborted, signal: request.signal instanceof AbortSignal };
    const copy = request.clone();
    return {
      members,
      before,
      headers: [...request.headers],
      tag: Object.prototype.toString.call(request),
      isRequest: request instanceof Request && request.constructor === Request,
      text: await request.text(),
      bodyUsed: request.bodyUsed,
      copy: { text: await copy.text(), method: copy.method, url: copy.url, constructor: copy.constructor === Request },
      again: await request.text().then(() => 'read twice', (error: Error) => error.name),
    };
  }

  test.each([
    ['GET', '/p?q=1', ''],
    ['HEAD', '/', ''],
    ['POST', '/submit', 'a=1'],
    ['POST', '/empty', ''],
    ['PUT', '/a/../put', '{"x":1}'],
    ['DELETE', '/items/1', ''],
    ['OPTIONS', '/', ''],
    ['PATCH', '/p', 'patch'],
  ])('%s %s with the body %j', async (method, target, body) => {
    const headers = ['Host', 'EXAMPLE.com:80', 'Content-Type', 'text/plain', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2'];
    const bytes = new TextEncoder().encode(body);
    const ours = new RequestOverBytes(method, target, headers, bytes) as unknown as Request;
    const pairs = headers.flatMap((name, index) => (index % 2 === 0 ? [[name, headers[index + 1]!] as [string, string]] : []));
    const hasBody = method !== 'GET' && method !== 'HEAD';
    const spec = new Request(new URL(target, 'http://EXAMPLE.com:80'), { method, headers: pairs, body: hasBody ? bytes : null, duplex: 'half' } as RequestInit);
    expect(await observe(ours)).toEqual(await observe(spec));
  });
});

describe('the global Request and fetch, once they take a LazyRequest', () => {
  test('are the runtime\'s as WebIDL shows them: name, length, prototype, constructor, instanceof, subclasses', () => {
    const get = () => new RequestOverBytes('GET', '/a', ['Host', 'x.example']) as unknown as Request;
    get(); // wires them
    expect([Request.name, Request.length, fetch.name, fetch.length]).toEqual(['Request', 1, 'fetch', 1]);
    expect(Object.getPrototypeOf(Request.prototype)).toBe(Object.prototype);
    expect(Request.prototype.constructor).toBe(Request);
    const made = new Request('http://x.example/');
    expect(made).toBeInstanceOf(Request);
    expect(made.constructor).toBe(Request);
    expect(get()).toBeInstanceOf(Request);
    class Derived extends Request {}
    const derived = new Derived(get());
    expect(derived).toBeInstanceOf(Derived);
    expect(derived).toBeInstanceOf(Request);
    expect(derived.url).toBe('http://x.example/a');
  });
});
