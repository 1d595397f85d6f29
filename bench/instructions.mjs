// Instructions per request: each server under valgrind's callgrind, counted over N keep-alive requests
// after a warm-up (the JIT has compiled the hot paths by then), user space only (the kernel's share is
// the same for every server on one engine). Unlike requests per second, the count hardly moves from run
// to run on a noisy machine: it is what says what a change to the request path bought.
// Options: --servers rawUws,uwsFetch,… (keys of servers.mjs), --workloads hello,json, --warmup N,
// --requests N, --runs N, --out FILE (a full run writes results-instructions.md here). Needs valgrind.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fail, freePort, list } from './process.mjs';
import { SERVERS } from './servers.mjs';

const { values: options } = parseArgs({
  options: {
    servers: { type: 'string', default: 'rawUws,uwsFetch,uwsNode,bunServe,rawNode,nodeNode,nodeFetch' },
    workloads: { type: 'string', default: 'hello,json' },
    warmup: { type: 'string', default: '20000' },
    requests: { type: 'string', default: '5000' },
    runs: { type: 'string', default: '2' },
    out: { type: 'string' },
  },
});
const PATHS = { hello: '/', json: '/json' };
// Each chaussette server against the server it wraps.
const BASELINES = { uwsFetch: 'rawUws', uwsNode: 'rawUws', nodeNode: 'rawNode', nodeFetch: 'rawNode', fastifyPlugin: 'rawFastify', fastifyNode: 'rawNode', fastifyFetch: 'rawNode' };
const serverKeys = list(options.servers);
const workloads = list(options.workloads);
const warmup = Number(options.warmup);
const requests = Number(options.requests);
const runs = Number(options.runs);
for (const key of serverKeys) if (!SERVERS[key]) fail(`unknown server ${key}: choose from ${Object.keys(SERVERS).join(', ')}`);
for (const name of workloads) if (!PATHS[name]) fail(`unknown workload ${name}: choose from ${Object.keys(PATHS).join(', ')}`);
try {
  execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
} catch {
  fail('valgrind is not installed (apt-get install -y valgrind)');
}
const defaults = !process.argv.slice(2).some((argument) => argument.startsWith('--') && argument !== '--out');
const outFile = options.out ?? (defaults ? fileURLToPath(new URL('results-instructions.md', import.meta.url)) : undefined);
const scratch = mkdtempSync(join(tmpdir(), 'chaussette-instructions-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));

/** `count` GET requests on `connections` keep-alive connections, each sent once the one before on it is answered. */
async function send(port, path, count, connections = 8) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  let started = 0;
  const one = () =>
    new Promise((resolve, reject) => {
      get({ host: '127.0.0.1', port, path, agent }, (response) => {
        if (response.statusCode !== 200) reject(new Error(`${path} answered ${response.statusCode}`));
        response.resume();
        response.on('end', resolve);
      }).on('error', reject);
    });
  const lane = async () => {
    while (started < count) {
      started++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: connections }, lane));
  agent.destroy();
}

async function answers(port, path) {
  try {
    await send(port, path, 1, 1);
    return true;
  } catch {
    return false;
  }
}

/** User-space instructions per request of one server on one path. */
async function instructionsPerRequest(key, path) {
  const { name, args, command = process.execPath } = SERVERS[key];
  const port = await freePort();
  const prefix = join(scratch, `${key}${path.replace(/\W/g, '_')}.out`);
  const child = spawn('valgrind', ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${prefix}`, command, ...args(port)], {
    cwd: fileURLToPath(new URL('.', import.meta.url)),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  try {
    for (let attempt = 0; !(await answers(port, path)); attempt++) {
      if (child.exitCode !== null || attempt > 300) throw new Error(`${name} did not start under valgrind:\n${stderr.slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await send(port, path, warmup);
    const control = (...flags) => execFileSync('callgrind_control', [...flags, String(child.pid)], { stdio: 'ignore' });
    control('-i', 'on');
    await send(port, path, requests);
    control('-i', 'off');
    control('-d');
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await once(child, 'exit');
  }
  // The dump asked for above is the file with the most instructions (the one at exit has none to speak of).
  const totals = readdirSync(scratch)
    .filter((file) => join(scratch, file).startsWith(prefix))
    .map((file) => Math.max(0, ...[...readFileSync(join(scratch, file), 'utf8').matchAll(/^(?:summary|totals): (\d+)/gm)].map((match) => Number(match[1]))));
  return Math.round(Math.max(0, ...totals) / requests);
}

// A garbage collection or a recompile that lands among the counted requests adds to their count, never
// takes from it: each figure is the lowest of `runs`.
const results = new Map();
const jobs = serverKeys.flatMap((key) => workloads.flatMap((workload) => Array.from({ length: runs }, () => ({ key, workload }))));
console.log(`bench: ${jobs.length} counts under valgrind, ${warmup} requests of warm-up and ${requests} counted each, two at a time`);
const next = async () => {
  for (let job = jobs.shift(); job; job = jobs.shift()) {
    const count = await instructionsPerRequest(job.key, PATHS[job.workload]);
    const key = `${job.key}|${job.workload}`;
    results.set(key, Math.min(count, results.get(key) ?? Infinity));
    console.log(`${SERVERS[job.key].name}, ${job.workload}: ${count} instructions/request`);
  }
};
await Promise.all([next(), next()]);

const rows = serverKeys.map((key) => {
  const baseline = BASELINES[key] && serverKeys.includes(BASELINES[key]) ? BASELINES[key] : undefined;
  const cells = workloads.map((workload) => {
    const count = results.get(`${key}|${workload}`);
    return baseline ? `${count} (${(count / results.get(`${baseline}|${workload}`)).toFixed(2)}x ${SERVERS[baseline].name})` : String(count);
  });
  return `| ${SERVERS[key].name} | ${cells.join(' | ')} |`;
});
const report = [
  '# Instructions per request',
  '',
  `\`node bench/instructions.mjs\`: each server under valgrind's callgrind (user space: the kernel's share is left out), ${warmup} keep-alive requests of warm-up on 8 connections, then ${requests} counted; each figure is the lowest of ${runs} runs (a garbage collection or a recompile among the counted requests adds to a count). Node ${process.version}. From run to run the counts of uWebSockets.js and Bun move by under 1%, those of node:http by a few per cent, where requests per second move by 10%: it is the figure that says what a change to the request path bought. Lower is better; in brackets, against the server it wraps.`,
  '',
  `| server | ${workloads.map((workload) => `${workload} (${PATHS[workload]})`).join(' | ')} |`,
  `| --- | ${workloads.map(() => '---').join(' | ')} |`,
  ...rows,
  '',
].join('\n');
console.log(`\n${report}`);
if (outFile) {
  writeFileSync(outFile, report);
  console.log(`bench: wrote ${outFile}`);
}
