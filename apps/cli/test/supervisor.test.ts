// A real supervisord runs chaussette as an [fcgi-program]: supervisord binds the socket and passes it to
// each worker as fd 0. Workers restart one by one under non-stop load (plain, and over TLS with HTTP/2
// clients), and the whole group stops, with zero failed requests, on every backend.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { uwsUnavailableReason } from '@chaussette/backend-uws/engine';
import { sharedTestCertificates } from '@chaussette/testkit';
import { CLI, FIXTURES, freePort, get, getWhenListening, skipUnlessServable } from './helpers.js';
import { loadGenerator } from './load.js';

const run = promisify(execFile);
const supervisord = await run('supervisord', ['--version']).then(
  () => true,
  () => false,
);
// CI installs supervisor (.ci/run) and sets this: there, a missing supervisord is a failure, not a skip.
const required = process.env.CHAUSSETTE_REQUIRE_MANAGERS === '1';

describe.skipIf(!supervisord && !required).each(['node', 'fastify', 'uws'])('supervisord [fcgi-program], --backend %s', (backend) => {
  beforeEach((context) => skipUnlessServable(backend, context));
  let directory: string;
  let daemon: ChildProcess;
  let where: string;
  let recyclingWhere: string;
  let tlsWhere: string;
  const certificates = sharedTestCertificates();
  const ctl = (...args: string[]) => run('supervisorctl', ['-c', join(directory, 'supervisord.conf'), ...args]);

  beforeAll(async () => {
    if (!supervisord) throw new Error('supervisord is not installed: apt-get install -y supervisor');
    if (backend === 'uws' && uwsUnavailableReason()) return; // each test says why it is skipped
    directory = mkdtempSync(join(tmpdir(), 'chaussette-supervisor-'));
    const port = await freePort();
    where = `127.0.0.1:${port}`;
    recyclingWhere = `127.0.0.1:${await freePort()}`;
    tlsWhere = `127.0.0.1:${await freePort()}`;
    // The same three workers on a TCP and on a unix socket that supervisord binds, and on TCP over TLS.
    const servingProgram = (name: string, socket: string, flags = '') => `[fcgi-program:${name}]
socket=${socket}
command=${process.execPath} ${CLI} --fd 0 --backend ${backend} --graceful-timeout 10 ${flags}fetch-workers.mjs
directory=${FIXTURES}
process_name=%(program_name)s_%(process_num)02d
numprocs=3
startsecs=1
stopsignal=TERM
stopwaitsecs=15
redirect_stderr=true
stdout_logfile=${directory}/%(program_name)s_%(process_num)02d.log
`;
    writeFileSync(
      join(directory, 'supervisord.conf'),
      `[unix_http_server]
file=${directory}/supervisor.sock

[supervisord]
logfile=${directory}/supervisord.log
pidfile=${directory}/supervisord.pid
childlogdir=${directory}
nodaemon=true

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://${directory}/supervisor.sock

${servingProgram('web', `tcp://${where}`)}
${servingProgram('webunix', `unix://${directory}/web.sock`)}
${servingProgram('webtls', `tcp://${tlsWhere}`, `--certfile ${certificates.localhost.certFile} --keyfile ${certificates.localhost.keyFile} `)}
[fcgi-program:recycling]
socket=tcp://${recyclingWhere}
command=${process.execPath} ${CLI} --fd 0 --backend ${backend} --max-requests 300 --max-requests-jitter 600 fetch-workers.mjs
directory=${FIXTURES}
process_name=%(program_name)s_%(process_num)02d
numprocs=3
startsecs=0
autorestart=true
stopsignal=TERM
redirect_stderr=true
stdout_logfile=${directory}/%(program_name)s_%(process_num)02d.log
`,
    );
    daemon = spawn('supervisord', ['-c', join(directory, 'supervisord.conf')], { stdio: 'ignore' });
    await getWhenListening(where);
    for (let attempt = 0; ; attempt++) {
      const { stdout } = await ctl('status').catch((error: { stdout: string }) => error);
      if ((stdout.match(/RUNNING/g) ?? []).length === 12) break;
      if (attempt > 100) throw new Error(`the workers did not start:\n${stdout}\n${logs()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }, 30_000);

  afterAll(async () => {
    if (daemon && daemon.exitCode === null) {
      daemon.kill('SIGTERM');
      await once(daemon, 'exit');
    }
    if (directory) rmSync(directory, { recursive: true, force: true });
  }, 30_000);

  const logs = () =>
    ['00', '01', '02'].map((number) => `--- web_${number}:\n${readSafe(join(directory, `web_${number}.log`))}`).join('\n');

  test('three workers answer on the socket supervisord owns', async () => {
    // Concurrent requests, so that each worker gets some: one at a time, the kernel may favour one.
    const pids = new Set<number>();
    for (let round = 0; round < 200 && pids.size < 3; round++) {
      const replies = await Promise.all(Array.from({ length: 6 }, () => get(where)));
      for (const reply of replies) pids.add((JSON.parse(reply.body) as { pid: number }).pid);
    }
    expect(pids.size).toBe(3);
  });

  test.each(['web', 'webunix'])('restarting the workers of [fcgi-program:%s] one by one under non-stop load: zero failed requests', async (program) => {
    const load = loadGenerator(program === 'web' ? where : `unix:${directory}/web.sock`);
    const before = (await ctl('status')).stdout;
    for (const number of ['00', '01', '02']) await ctl('restart', `${program}:${program}_${number}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const result = await load.stop();
    const after = (await ctl('status')).stdout;
    expect(after).not.toBe(before); // new pids: the restarts happened
    expect(result.errors).toEqual([]);
    expect(result.failed).toBe(0);
    expect(result.ok).toBeGreaterThan(50);
  }, 60_000);

  test('over TLS (--certfile, --keyfile), restarting the workers of [fcgi-program:webtls] one by one under TLS keep-alive, new-connection, pipelined and h2 load: zero failed requests', async () => {
    // uWS has no HTTP/2: over TLS it offers http/1.1 alone by ALPN, so there are no h2 loops on uws.
    const h2 = backend !== 'uws';
    const load = loadGenerator(tlsWhere, { tls: { ca: certificates.ca.cert }, h2 });
    for (const number of ['00', '01', '02']) {
      await ctl('restart', `webtls:webtls_${number}`);
      await load.answered(Number((await ctl('pid', `webtls:webtls_${number}`)).stdout)); // the new worker serves
    }
    const result = await load.stop();
    expect(result.errors).toEqual([]);
    expect(result.failed).toBe(0);
    for (const kind of ['new-connection', 'keep-alive', 'pipelined', ...(h2 ? ['h2' as const] : [])] as const) {
      expect(result.byKind[kind].ok, kind).toBeGreaterThan(0);
    }
  }, 60_000);

  test('--max-requests: workers exit after their share and supervisord starts fresh ones, with zero failed requests', async () => {
    const load = loadGenerator(recyclingWhere);
    // Three workers serving 300 to 900 requests each: more pids than three means some were recycled.
    // supervisord closes an fcgi-program's socket while none of its workers runs: the jitter keeps the
    // three from recycling at the same moment (docs/deployment.md).
    const deadline = Date.now() + 40_000;
    while (load.pids().size < 6 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const result = await load.stop();
    expect(result.pids.size).toBeGreaterThanOrEqual(6);
    expect(result.errors).toEqual([]);
    expect(result.failed).toBe(0);
    const recycled = ['00', '01', '02'].map((number) => readSafe(join(directory, `recycling_${number}.log`))).join('');
    expect(recycled).toMatch(/Served \d+ requests \(--max-requests\): exiting for the process manager to start a fresh worker/);
  }, 60_000);

  test('stopping the whole group lets the requests in flight finish', async () => {
    const slow = Array.from({ length: 6 }, () => get(where, '/slow'));
    await new Promise((resolve) => setTimeout(resolve, 150));
    await ctl('stop', 'web:*');
    const replies = await Promise.all(slow);
    expect(replies.map((reply) => reply.status)).toEqual([200, 200, 200, 200, 200, 200]);
    for (const reply of replies) expect(JSON.parse(reply.body)).toMatchObject({ slow: 'done' });
    expect(logs()).not.toMatch(/error/i);
  }, 60_000);
});

function readSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '(no log)';
  }
}
