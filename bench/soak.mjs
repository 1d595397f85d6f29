// Rolling restarts under non-stop load, as a process manager does them, on every backend and socket
// kind: three workers share one listening socket that a stand-in manager holds (the kit's manager.js,
// which never accepts on it, as Circus and supervisord do), and each stop is SIGTERM to one worker
// then a new one, while clients send without pause: new connections, kept connections sending back to
// back (a reverse proxy's upstream keep-alive) and pipelined batches. Reports the failed requests per
// stop for each kind of client, so that a regression shows as a number.
//
//   node bench/soak.mjs [--stops 6] [--only node,fastify,uws] [--sockets tcp,unix] [--out bench/results-soak.md]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { linkSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startLoad } from '@chaussette/testkit';

const { values } = parseArgs({
  options: {
    stops: { type: 'string', default: '6' },
    only: { type: 'string', default: 'node,fastify,uws' },
    sockets: { type: 'string', default: 'tcp,unix' },
    out: { type: 'string' },
  },
});
const stops = Number(values.stops);
const CLI = fileURLToPath(new URL('../apps/cli/bin/chaussette.js', import.meta.url));
const MANAGER = fileURLToPath(new URL('../packages/testkit/dist/manager.js', import.meta.url));
const APP = fileURLToPath(new URL('apps/fetch.mjs', import.meta.url));
const LOAD = { newConnection: 4, keepAlive: 4, pipelined: 2, pipelineDepth: 4 };
const KINDS = ['new-connection', 'keep-alive', 'pipelined'];
const WORKERS = 3;
const LOAD_BETWEEN_STOPS_MS = 1000;

async function soak(backend, family, scratch) {
  const parent = createServer();
  const path = join(scratch, `${backend}.sock`);
  parent.listen(...(family === 'unix' ? [path] : [0, '127.0.0.1']));
  await once(parent, 'listening');
  const address = family === 'unix' ? { type: 'unix', path } : { type: 'tcp', host: '127.0.0.1', port: parent.address().port };
  const fd = parent._handle.fd;
  const manager = spawn(process.execPath, [MANAGER, process.execPath, CLI, '--fd', '3', '--backend', backend, APP], {
    stdio: ['pipe', 'pipe', 'inherit', fd],
  });
  // node:net removes the socket file of a unix socket it bound as it closes it: a second name keeps it.
  if (family === 'unix') linkSync(path, `${path}.kept`);
  parent.close();
  await once(parent, 'close');
  if (family === 'unix') renameSync(`${path}.kept`, path);

  const waiting = [];
  createInterface({ input: manager.stdout }).on('line', (line) => {
    const index = waiting.findIndex((waiter) => waiter.pattern.test(line));
    if (index >= 0) waiting.splice(index, 1)[0].resolve();
  });
  const seen = (pattern) => new Promise((resolve) => waiting.push({ pattern, resolve }));
  const say = (line) => manager.stdin.write(`${line}\n`);
  let started = 0;
  const startWorker = async () => {
    const id = started++;
    const ready = seen(new RegExp(`^${id}: .*Using the \\S+ backend`));
    say('start');
    await ready;
    return id;
  };

  const workers = [];
  for (let index = 0; index < WORKERS; index++) workers.push(await startWorker());
  const load = startLoad(address, LOAD);
  const perStop = [];
  let before = snapshot(load.counts());
  for (let stop = 0; stop < stops; stop++) {
    await new Promise((resolve) => setTimeout(resolve, LOAD_BETWEEN_STOPS_MS));
    const id = workers.shift();
    const exited = seen(new RegExp(`^exited ${id} `));
    say(`stop ${id}`);
    await exited;
    workers.push(await startWorker());
    const after = snapshot(load.counts());
    perStop.push(Object.fromEntries(KINDS.map((kind) => [kind, after[kind] - before[kind]])));
    before = after;
  }
  const result = await load.stop();
  manager.stdin.end();
  await once(manager, 'exit');
  return { backend, family, result, perStop };
}

function snapshot(counts) {
  return Object.fromEntries(KINDS.map((kind) => [kind, counts.byKind[kind].failed]));
}

const scratch = mkdtempSync(join(tmpdir(), 'chaussette-soak-'));
const rows = [];
try {
  for (const backend of values.only.split(',')) {
    for (const family of values.sockets.split(',')) {
      const run = await soak(backend, family, scratch);
      rows.push(run);
      const { result } = run;
      console.log(
        `${backend} ${family}: ${result.ok} answered, ${result.failed} failed over ${stops} stops (${KINDS.map((kind) => `${kind} ${result.byKind[kind].failed}`).join(', ')})`,
      );
      if (result.errors.length) console.log(`  first failures: ${result.errors.slice(0, 3).join('; ')}`);
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const report = `# Rolling restarts under load: failed requests per stop

\`node bench/soak.mjs --stops ${stops}\` (part of \`pnpm bench\`), ${new Date().toISOString().slice(0, 10)}, Node.js ${process.version}.
Three workers (\`chaussette --fd 3 --backend B bench/apps/fetch.mjs\`) share one listening socket held by a
stand-in manager that never accepts on it; each stop is SIGTERM to the oldest worker, then a new worker,
${LOAD_BETWEEN_STOPS_MS / 1000} s apart, while ${LOAD.newConnection} clients open a new connection per request, ${LOAD.keepAlive} keep one connection and send
back to back, and ${LOAD.pipelined} keep one and write ${LOAD.pipelineDepth} requests at a time. A request fails when its connection ends
before its answer, unless an earlier answer on that connection said \`Connection: close\`.

| backend | socket | answered | failed | new connection | keep-alive | pipelined | failed per stop |
| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |
${rows
  .map(
    ({ backend, family, result, perStop }) =>
      `| ${backend} | ${family} | ${result.ok} | ${result.failed} | ${KINDS.map((kind) => result.byKind[kind].failed).join(' | ')} | ${perStop.map((stop) => KINDS.reduce((sum, kind) => sum + stop[kind], 0)).join(', ')} |`,
  )
  .join('\n')}
`;
if (values.out) writeFileSync(values.out, report);
const failed = rows.reduce((sum, { result }) => sum + result.failed, 0);
console.log(failed === 0 ? 'No request failed.' : `${failed} requests failed.`);
