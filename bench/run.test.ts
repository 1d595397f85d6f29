// The benchmark's smoke test (`pnpm bench --quick`): every server starts, answers every workload with the
// right bytes under load, and the report and chart are written. No timing is asserted.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, expect, test } from 'vitest';

const run = fileURLToPath(new URL('run.mjs', import.meta.url));
const bench = (...args: string[]) => promisify(execFile)(process.execPath, [run, ...args], { timeout: 240_000 });

const COMPARISONS = [
  'chaussette node, node app ÷ raw node:http',
  'chaussette node, fetch app ÷ @hono/node-server',
  'chaussette fastify, Fastify plugin ÷ raw Fastify',
  'chaussette fastify, node app ÷ raw node:http',
  'chaussette uws, fetch app ÷ raw uWebSockets.js',
  'chaussette uws, fetch app ÷ chaussette node, fetch app',
  'chaussette uws, node app ÷ raw uWebSockets.js',
  'chaussette uws, fetch app ÷ Bun.serve()',
  'chaussette fastify, fetch app ÷ chaussette node, fetch app',
];

const outputs: string[] = [];
afterEach(() => {
  for (const out of outputs.splice(0)) rmSync(out, { recursive: true, force: true });
});

test('bench --quick serves every workload on every server and writes the report and the chart', async () => {
  const out = mkdtempSync(join(tmpdir(), 'chaussette-bench-test-'));
  outputs.push(out);
  await bench('--quick', '--out', out);
  const report = readFileSync(join(out, 'results.md'), 'utf8');
  for (const workload of ['hello', 'JSON', '64 KiB POST echo', '1 MiB stream']) expect(report).toContain(`### ${workload}, 16 connections`);
  for (const comparison of COMPARISONS) expect(report).toMatch(new RegExp(`\\| ${comparison.replace(/[()]/g, '\\$&')} \\| \\d+ \\| \\d+ \\| \\d+\\.\\d\\dx \\|`));
  expect(report).toMatch(/\| raw uWebSockets\.js \| \d+ \| \d+ \|/); // memory
  expect(report).toMatch(/\| Bun\.serve\(\) \| \d{2,} \| \d{2,} \|/); // bun's own process, not a wrapper's
  const chart = readFileSync(join(out, 'results.svg'), 'utf8');
  expect(chart).toMatch(/^<svg /);
  expect(chart.match(/<rect [^>]*><title>/g)).toHaveLength(14 * 4); // 14 comparisons, 4 workloads
}, 300_000);

test('bench falls back to autocannon (from npm) where wrk is not installed', async () => {
  const { stdout } = await bench('--quick', '--load-generator', 'autocannon', '--workloads', 'echo', '--only', '@hono/node-server');
  expect(stdout).toContain('bench: autocannon, 3 servers');
  expect(stdout).toMatch(/\| chaussette node, fetch app ÷ @hono\/node-server \| \d+ \| \d+ \| \d+\.\d\dx \|/);
}, 120_000);

test('a bench option that makes no sense is one line and a non-zero exit', async () => {
  await expect(bench('--workloads', 'nope')).rejects.toMatchObject({ code: 1, stderr: 'bench: unknown workload nope: choose from hello, json, echo, stream\n' });
});

test('the WebSocket bench --quick echoes on every server and writes its report', async () => {
  const out = mkdtempSync(join(tmpdir(), 'chaussette-bench-test-'));
  outputs.push(out);
  await promisify(execFile)(process.execPath, [fileURLToPath(new URL('websocket.mjs', import.meta.url)), '--quick', '--out', out], { timeout: 120_000 });
  const report = readFileSync(join(out, 'results-websocket.md'), 'utf8');
  for (const comparison of ['chaussette uws, fetch app ÷ raw uWebSockets.js', 'chaussette node, fetch app ÷ raw ws on node:http', 'chaussette fastify, fetch app ÷ raw ws on node:http']) {
    expect(report).toMatch(new RegExp(`\\| ${comparison} \\| 16 \\| \\d+ \\| \\d+ \\| \\d+\\.\\d\\dx \\|`));
  }
}, 150_000);

const tlsBench = (...args: string[]) => promisify(execFile)(process.execPath, [fileURLToPath(new URL('tls.mjs', import.meta.url)), ...args], { timeout: 150_000 });

const TLS_COMPARISONS = [
  'chaussette node, node app ÷ raw node:https',
  'chaussette node, fetch app ÷ raw node:https',
  'chaussette fastify, node app ÷ raw node:https',
  'chaussette fastify, fetch app ÷ raw node:https',
  'chaussette uws, node app ÷ raw node:https',
  'chaussette uws, fetch app ÷ raw uWebSockets.js SSLApp',
  'chaussette uws, fetch app ÷ Bun.serve() with tls',
  'chaussette node, node app ÷ raw node:http2 createSecureServer',
  'chaussette fastify, fetch app ÷ raw node:http2 createSecureServer',
  'chaussette node --h2c, node app ÷ raw node:http2 createServer',
  'chaussette node --h2c, fetch app ÷ raw node:http2 createServer',
];

// h2load (Debian's nghttp2-client), wrk and valgrind are not on a fresh machine (the README's command skips their
// tests there); .ci/run installs them, and there (CHAUSSETTE_REQUIRE_MANAGERS) a missing one fails its test.
const installed = (command: string) => spawnSync(command, ['--version']).error === undefined;
const required = Boolean(process.env.CHAUSSETTE_REQUIRE_MANAGERS);

test.skipIf(!(installed('h2load') && installed('wrk')) && !required)('the TLS bench --quick loads every server over HTTPS/1.1, h2 and h2c and writes its report', async () => {
  const out = mkdtempSync(join(tmpdir(), 'chaussette-bench-test-'));
  outputs.push(out);
  await tlsBench('--quick', '--out', out);
  const report = readFileSync(join(out, 'results-tls.md'), 'utf8');
  for (const protocol of ['HTTPS/1.1', 'HTTP/2 over TLS (h2 by ALPN)', 'HTTP/2 without TLS (h2c, prior knowledge)']) {
    expect(report).toContain(`### ${protocol}: hello, 16 connections`);
  }
  for (const comparison of TLS_COMPARISONS) expect(report).toMatch(new RegExp(`\\| ${comparison.replace(/[()]/g, '\\$&')} \\| \\d+ \\| \\d+ \\| \\d+\\.\\d\\dx \\|`));
  // Each server was checked over the protocol it was loaded with before the load: h2 by ALPN over TLS 1.2 or 1.3.
  expect(report).toMatch(/\| chaussette fastify, node app \| h2 \| TLSv1\.[23], /);
  expect(report).toMatch(/\| Bun\.serve\(\) with tls \| \d{2,} \| \d{2,} \|/); // bun's own process, not a wrapper's
}, 180_000);

test('a TLS bench option that makes no sense is one line and a non-zero exit', async () => {
  await expect(tlsBench('--protocols', 'h3')).rejects.toMatchObject({ code: 1, stderr: 'bench: unknown protocol h3: choose from https, h2, h2c\n' });
});

test.skipIf(!installed('valgrind') && !required)('the instruction count (bench:instructions) counts each server under callgrind, against the server it wraps', async () => {
  const out = mkdtempSync(join(tmpdir(), 'chaussette-bench-test-'));
  outputs.push(out);
  const script = fileURLToPath(new URL('instructions.mjs', import.meta.url));
  const args = ['--servers', 'rawUws,uwsFetch', '--workloads', 'hello', '--warmup', '200', '--requests', '200', '--runs', '1', '--out', join(out, 'instructions.md')];
  await promisify(execFile)(process.execPath, [script, ...args], { timeout: 150_000 });
  const report = readFileSync(join(out, 'instructions.md'), 'utf8');
  const raw = Number(/\| raw uWebSockets\.js \| (\d+) \|/.exec(report)?.[1]);
  const served = /\| chaussette uws, fetch app \| (\d+) \((\d+\.\d\d)x raw uWebSockets\.js\) \|/.exec(report);
  // uWS alone runs its C++ and a few JS calls; chaussette adds the Request, the app and the Response.
  expect(raw).toBeGreaterThan(5000);
  expect(Number(served?.[1])).toBeGreaterThan(raw);
  expect(Number(served?.[2])).toBeCloseTo(Number(served?.[1]) / raw, 2);
}, 180_000);
