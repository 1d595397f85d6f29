// pnpm bench (its TLS part): HTTPS/1.1, HTTP/2 over TLS (h2) and HTTP/2 with prior knowledge (h2c) on each
// chaussette backend, against raw node:https, node:http2, uWebSockets.js's SSLApp and Bun.serve() with `tls`,
// on loopback, the same way run.mjs compares the plain servers. Loads: wrk (HTTPS/1.1), h2load (h2, h2c).
// Options: --quick (one short round of hello on each chaussette server: proves the harness works), --rounds N, --seconds N,
// --connections 1,64, --streams N (HTTP/2 streams in flight per connection, 10), --workloads hello,stream,
// --protocols https,h2,h2c, --only TEXT,… (comparisons naming one of them), --note TEXT (a line for the report's
// header), --out DIR. A full run writes results-tls.md here; a partial one writes only with --out.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { H2loadHung, load, loadH2, pinned } from './load.mjs';
import { benchOptions, cpuMicros, fail, list, machineLine, memorySection, pairCell, pairTable, ratio, runFailed, startServer, writeReport } from './process.mjs';
import { WORKLOADS } from './workloads.mjs';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const { options, quick, rounds, seconds, connectionsList, outDir } = benchOptions({
  streams: { type: 'string' },
  workloads: { type: 'string' },
  protocols: { type: 'string' },
  only: { type: 'string' },
  note: { type: 'string' },
});
const streams = Number(options.streams ?? 10);
// Ten 1 MiB answers in flight on each of 64 connections would queue 640 MiB: a run would count the few that
// finish within it. Large answers on many connections get one stream each, as HTTP/1.1's connections have.
const streamsFor = ({ expectedBytes }, connections) => (expectedBytes >= 1024 * 1024 && connections > 16 ? 1 : streams);

/** A self-signed P-256 certificate for 127.0.0.1, as a user would get from their CA, made by openssl. */
function makeCertificate() {
  const directory = mkdtempSync(join(tmpdir(), 'chaussette-bench-tls-'));
  process.on('exit', () => rmSync(directory, { recursive: true, force: true }));
  const certFile = join(directory, 'cert.pem');
  const keyFile = join(directory, 'key.pem');
  const subject = ['-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', ...subject, '-keyout', keyFile, '-out', certFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { certFile, keyFile, cert: readFileSync(certFile) };
}
const certificate = makeCertificate();
const certificateArgs = [certificate.certFile, certificate.keyFile];

const cli = here('../apps/cli/bin/chaussette.js');
const bun = here('node_modules/bun/bin/bun.exe'); // the binary itself: its CPU and memory are measured
const raw = (name, script, tls, extra = []) => ({ name, tls, args: (port) => [here(`apps/${script}`), String(port), ...extra] });
const rawTls = (name, script) => raw(name, script, true, certificateArgs);
const chaussette = (backend, app, kind, tls) => ({
  name: `chaussette ${backend}${tls ? '' : ' --h2c'}, ${kind}`,
  tls,
  args: (port) => [cli, here(`apps/${app}`), '--backend', backend, '--host', '127.0.0.1', '--port', String(port), '--log-level', 'error', ...(tls ? ['--certfile', certificate.certFile, '--keyfile', certificate.keyFile] : ['--h2c'])],
});

/** Each: a name, whether it serves TLS, and the arguments to run it with (node, unless `command` says otherwise). */
const SERVERS = {
  rawHttps: rawTls('raw node:https', 'raw-https.mjs'),
  rawHttpsAgain: rawTls('raw node:https, a second process', 'raw-https.mjs'),
  rawHttp: raw('raw node:http', 'raw-node.mjs', false),
  rawUwsSsl: rawTls('raw uWebSockets.js SSLApp', 'raw-uws.mjs'),
  bunTls: { ...rawTls('Bun.serve() with tls', 'raw-bun-tls.mjs'), command: bun },
  rawH2: rawTls('raw node:http2 createSecureServer', 'raw-http2.mjs'),
  rawH2Again: rawTls('raw node:http2 createSecureServer, a second process', 'raw-http2.mjs'),
  rawH2c: raw('raw node:http2 createServer', 'raw-http2.mjs', false),
  nodeNode: chaussette('node', 'node.cjs', 'node app', true),
  nodeFetch: chaussette('node', 'fetch.mjs', 'fetch app', true),
  fastifyNode: chaussette('fastify', 'node.cjs', 'node app', true),
  fastifyFetch: chaussette('fastify', 'fetch.mjs', 'fetch app', true),
  uwsNode: chaussette('uws', 'node.cjs', 'node app', true),
  uwsFetch: chaussette('uws', 'fetch.mjs', 'fetch app', true),
  nodeNodeH2c: chaussette('node', 'node.cjs', 'node app', false),
  nodeFetchH2c: chaussette('node', 'fetch.mjs', 'fetch app', false),
  fastifyNodeH2c: chaussette('fastify', 'node.cjs', 'node app', false),
};

/** How each protocol is loaded, and the protocol a server must answer a check with. */
const PROTOCOLS = {
  https: {
    label: 'HTTPS/1.1',
    answersWith: 'HTTP/1.1',
    loadGenerator: { command: 'wrk', debianPackage: 'wrk' },
    load: (url, connections, { post }, duration = seconds) => load('wrk', { url, connections, seconds: duration, post }),
  },
  h2: {
    label: `HTTP/2 over TLS (h2 by ALPN)`,
    answersWith: 'h2',
    loadGenerator: { command: 'h2load', debianPackage: 'nghttp2-client' },
    load: (url, connections, workload, duration = seconds) => loadH2({ url, connections, streams: streamsFor(workload, connections), seconds: duration, post: workload.post }),
  },
  h2c: {
    label: `HTTP/2 without TLS (h2c, prior knowledge)`,
    answersWith: 'h2c',
    loadGenerator: { command: 'h2load', debianPackage: 'nghttp2-client' },
    load: (url, connections, workload, duration = seconds) => loadH2({ url, connections, streams: streamsFor(workload, connections), seconds: duration, post: workload.post }),
  },
};

const COMPARISONS = [
  { protocol: 'https', server: 'nodeNode', baseline: 'rawHttps' },
  { protocol: 'https', server: 'nodeFetch', baseline: 'rawHttps' },
  { protocol: 'https', server: 'fastifyNode', baseline: 'rawHttps' },
  { protocol: 'https', server: 'fastifyFetch', baseline: 'rawHttps' },
  { protocol: 'https', server: 'uwsNode', baseline: 'rawHttps' },
  { protocol: 'https', server: 'uwsFetch', baseline: 'rawHttps' },
  { protocol: 'https', server: 'uwsFetch', baseline: 'rawUwsSsl' },
  { protocol: 'https', server: 'uwsFetch', baseline: 'bunTls' },
  // What TLS itself costs node:http, on the same app: the scale for the ratios above.
  { protocol: 'https', server: 'rawHttps', baseline: 'rawHttp', rawOnly: true },
  // Two identical servers: how far apart noise alone puts a pair on this machine.
  { protocol: 'https', server: 'rawHttpsAgain', baseline: 'rawHttps', rawOnly: true },
  { protocol: 'h2', server: 'nodeNode', baseline: 'rawH2' },
  { protocol: 'h2', server: 'nodeFetch', baseline: 'rawH2' },
  { protocol: 'h2', server: 'fastifyNode', baseline: 'rawH2' },
  { protocol: 'h2', server: 'fastifyFetch', baseline: 'rawH2' },
  { protocol: 'h2', server: 'rawH2Again', baseline: 'rawH2', rawOnly: true },
  { protocol: 'h2c', server: 'nodeNodeH2c', baseline: 'rawH2c' },
  { protocol: 'h2c', server: 'nodeFetchH2c', baseline: 'rawH2c' },
  { protocol: 'h2c', server: 'fastifyNodeH2c', baseline: 'rawH2c' },
].map((comparison) => ({ ...comparison, label: `${SERVERS[comparison.server].name} ÷ ${SERVERS[comparison.baseline].name}` }));

const workloadNames = options.workloads ? list(options.workloads) : ['hello', 'stream'];
for (const name of workloadNames) if (!WORKLOADS[name]) fail(`unknown workload ${name}: choose from ${Object.keys(WORKLOADS).join(', ')}`);
// --quick loads hello alone, after checking that every server answers every workload.
const loadedWorkloads = quick && !options.workloads ? ['hello'] : workloadNames;
const protocolNames = options.protocols ? list(options.protocols) : Object.keys(PROTOCOLS);
for (const name of protocolNames) if (!PROTOCOLS[name]) fail(`unknown protocol ${name}: choose from ${Object.keys(PROTOCOLS).join(', ')}`);
for (const command of new Set(protocolNames.map((name) => PROTOCOLS[name].loadGenerator.command))) {
  try {
    execFileSync(command, ['--version'], { stdio: 'ignore' });
  } catch (error) {
    if (error.code !== 'ENOENT') continue;
    const loaded = protocolNames.filter((name) => PROTOCOLS[name].loadGenerator.command === command);
    const { debianPackage } = PROTOCOLS[loaded[0]].loadGenerator;
    fail(`${command} is not installed, and it loads ${loaded.join(' and ')}: apt-get install -y ${debianPackage}, or leave ${loaded.length > 1 ? 'them' : 'it'} out (--protocols)`);
  }
}
// --quick leaves out the pairs of two raw servers: they say how far noise goes, which one short round cannot.
const comparisons = COMPARISONS.filter(({ protocol, label, rawOnly }) => protocolNames.includes(protocol) && (!options.only || list(options.only).some((text) => label.includes(text))) && !(quick && rawOnly));
if (comparisons.length === 0) fail(`no comparison names ${options.only} in ${protocolNames.join(', ')}`);
// Each server, and the protocols it is loaded with.
const serverProtocols = new Map();
for (const { protocol, server, baseline } of comparisons) for (const key of [server, baseline]) serverProtocols.set(key, new Set([...(serverProtocols.get(key) ?? []), protocol]));

const TIMEOUT_MS = 5000;

/** One request over HTTP/1.1 (node:https or node:http): its status, body length and HTTP version. */
function requestHttp1(port, tls, { path, post }) {
  const options = { host: '127.0.0.1', port, path, method: post ? 'POST' : 'GET', ca: certificate.cert, agent: false, timeout: TIMEOUT_MS };
  return new Promise((resolve, reject) => {
    const request = (tls ? https : http).request(options, (response) => {
      let bytes = 0;
      response.on('data', (chunk) => (bytes += chunk.length));
      response.on('end', () => resolve({ status: response.statusCode, bytes, protocol: `HTTP/${response.httpVersion}`, tls: negotiated(response.socket) }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`no answer in ${TIMEOUT_MS} ms`))).on('error', reject);
    request.end(post ? readFileSync(post.bodyFile) : undefined);
  });
}

/** One request over HTTP/2 (h2 by ALPN over TLS, h2c without): its status, body length and protocol. */
function requestHttp2(port, tls, { path, post }) {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`${tls ? 'https' : 'http'}://127.0.0.1:${port}`, { ca: certificate.cert });
    session.setTimeout(TIMEOUT_MS, () => session.destroy(new Error(`no answer in ${TIMEOUT_MS} ms`)));
    session.on('error', reject);
    const stream = session.request({ ':method': post ? 'POST' : 'GET', ':path': path });
    let status;
    let bytes = 0;
    stream.on('response', (headers) => (status = headers[':status']));
    stream.on('data', (chunk) => (bytes += chunk.length));
    stream.on('end', () => {
      resolve({ status, bytes, protocol: session.alpnProtocol, tls: negotiated(session.socket) });
      session.close();
    });
    stream.on('error', reject);
    stream.end(post ? readFileSync(post.bodyFile) : undefined);
  });
}

const negotiated = (socket) => (socket.getCipher ? `${socket.getProtocol()}, ${socket.getCipher().name}` : 'none');
const requestOver = (protocol, port, tls, workload) => (protocol === 'https' ? requestHttp1 : requestHttp2)(port, tls, workload);

/** Starts a server on core 0 and checks that it answers every workload, over each of its protocols, with the right bytes. */
async function start(key) {
  const server = SERVERS[key];
  const protocols = [...serverProtocols.get(key)];
  const answers = async (port) => (await requestOver(protocols[0], port, server.tls, WORKLOADS.hello)).status === 200;
  const { child, port } = await startServer(server, here('.'), answers);
  const running = { key, name: server.name, child, url: (path) => `${server.tls ? 'https' : 'http'}://127.0.0.1:${port}${path}`, tls: new Map() };
  try {
    for (const protocol of protocols) {
      for (const name of workloadNames) {
        const { path, expectedBytes } = WORKLOADS[name];
        const answer = await requestOver(protocol, port, server.tls, WORKLOADS[name]);
        const expected = { status: 200, bytes: expectedBytes, protocol: PROTOCOLS[protocol].answersWith };
        if (Object.keys(expected).some((field) => answer[field] !== expected[field])) {
          throw new Error(`${server.name} answered ${path} with ${JSON.stringify(answer)}, not ${JSON.stringify(expected)}`);
        }
        running.tls.set(protocol, answer.tls);
      }
    }
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return running;
}

/** Loads one server over `protocol` and measures its requests/s, p99 and CPU per request over the run. */
async function measure(server, protocol, workloadName, connections) {
  const workload = WORKLOADS[workloadName];
  const cpuBefore = cpuMicros(server.child.pid);
  const run = await PROTOCOLS[protocol].load(server.url(workload.path), connections, workload);
  const cpu = cpuMicros(server.child.pid) - cpuBefore;
  if (run.errors) throw new Error(`${server.name} failed under ${protocol} load on ${workload.path}:\n${run.errors}`);
  if (run.requests === 0) throw new Error(`${server.name} finished no request on ${workload.path} over ${protocol} in ${seconds} s with ${connections} connections`);
  // wrk rounds the bytes it read to two decimals (1.23GB): allow 1%.
  if (run.bytesPerRequest < workload.expectedBytes * 0.99) throw new Error(`${server.name} sent ${run.bytesPerRequest.toFixed(0)} bytes per answer on ${workload.path} over ${protocol}, expected at least ${workload.expectedBytes}`);
  return { ...run, cpuPerRequest: cpu / run.requests };
}

/** A server and its baseline loaded at the same time, sharing core 0; which is loaded first alternates with the round. */
async function measurePair({ protocol }, server, baseline, workload, connections, round) {
  const each = (one) => measure(one, protocol, workload, connections);
  const order = round % 2 ? [baseline, server] : [server, baseline];
  const results = await againIfH2loadHung(async () => {
    // Both loads end before the pair is done again: the one that did not hang must not overlap the next.
    const settled = await Promise.allSettled(order.map(each));
    const failure = settled.find(({ status }) => status === 'rejected');
    if (failure) throw failure.reason;
    return settled.map(({ value }) => value);
  });
  return round % 2 ? results.reverse() : results;
}

/** Runs `load` again, up to twice, when h2load hung in it (see H2loadHung). */
async function againIfH2loadHung(load) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await load();
    } catch (error) {
      if (!(error instanceof H2loadHung) || attempt === 3) throw error;
      console.log(`bench: h2load hung (attempt ${attempt} of 3), running that load again`);
    }
  }
}

const running = [];
const stopAll = () => {
  for (const { child } of running) child.kill('SIGTERM');
};
process.on('SIGINT', () => process.exit(130));
// However this process ends (an error writing to a closed pipe too), its servers end with it.
process.on('exit', stopAll);

try {
  // Started two at a time (the machine's two cores), each checked as it comes up.
  const keys = [...serverProtocols.keys()];
  for (let index = 0; index < keys.length; index += 2) {
    const started = await Promise.allSettled(keys.slice(index, index + 2).map(start));
    running.push(...started.filter(({ status }) => status === 'fulfilled').map(({ value }) => value));
    const failure = started.find(({ status }) => status === 'rejected');
    if (failure) throw failure.reason;
  }
  const byKey = new Map(running.map((server) => [server.key, server]));
  const loadsPerRound = comparisons.length * loadedWorkloads.length * connectionsList.length;
  const warmUps = quick ? 0 : [...serverProtocols.values()].reduce((sum, protocols) => sum + protocols.size, 0) * loadedWorkloads.length;
  console.log(`bench: ${running.length} servers, ${comparisons.length} comparisons, about ${Math.ceil((rounds * loadsPerRound * (seconds + 0.3) + warmUps * 1.3) / 60)} min`);
  if (!quick) {
    for (const [key, protocols] of serverProtocols) {
      for (const protocol of protocols) {
        for (const name of loadedWorkloads) {
          await againIfH2loadHung(() => PROTOCOLS[protocol].load(byKey.get(key).url(WORKLOADS[name].path), 64, WORKLOADS[name], 1)).catch((error) => {
            throw new Error(`warming up ${key} (${protocol}, ${name}): ${error.message}`);
          });
        }
      }
    }
  }

  const pairs = new Map(comparisons.map((comparison) => [comparison, new Map()]));
  for (const connections of connectionsList) {
    for (const workload of loadedWorkloads) {
      for (let round = 0; round < rounds; round++) {
        const line = [];
        for (const comparison of comparisons) {
          const [server, baseline] = await measurePair(comparison, byKey.get(comparison.server), byKey.get(comparison.baseline), workload, connections, round);
          const key = `${workload}|${connections}`;
          pairs.get(comparison).set(key, [...(pairs.get(comparison).get(key) ?? []), { server, baseline }]);
          line.push(`${comparison.protocol} ${comparison.server}/${comparison.baseline} ${(server.rps / baseline.rps).toFixed(2)}x`);
        }
        console.log(`${workload}, ${connections} conn, round ${round + 1}/${rounds}: ${line.join(', ')}`);
      }
    }
  }

  const results = comparisons.map((comparison) => ({ ...comparison, cells: new Map([...pairs.get(comparison)].map(([key, runs]) => [key, pairCell(runs)])) }));
  writeReport(markdown(results, [...negotiatedSection(running), ...memorySection(running)]), outDir, 'results-tls.md');
} catch (error) {
  runFailed(error);
} finally {
  stopAll();
}

function markdown(results, memory) {
  const columns = connectionsList.flatMap((connections) => loadedWorkloads.map((workload) => ({ workload, connections, key: `${workload}|${connections}` })));
  const heading = columns.map(({ workload, connections }) => `${WORKLOADS[workload].label}, ${connections} conn`);
  const groups = protocolNames.map((protocol) => ({ protocol, results: results.filter((result) => result.protocol === protocol) })).filter(({ results }) => results.length > 0);
  const summary = groups.flatMap(({ protocol, results }) => [
    `### ${PROTOCOLS[protocol].label}`,
    '',
    `| server ÷ baseline | ${heading.join(' | ')} |`,
    `| --- | ${columns.map(() => '---').join(' | ')} |`,
    ...results.map(({ label, cells }) => `| ${label} | ${columns.map(({ key }) => `${ratio(cells.get(key).ratio)} (CPU ${ratio(cells.get(key).cpuRatio)})`).join(' | ')} |`),
    '',
  ]);
  const details = groups.flatMap(({ protocol, results }) =>
    columns.flatMap(({ workload, connections, key }) => [
      `### ${PROTOCOLS[protocol].label}: ${WORKLOADS[workload].label}, ${connections} connection${connections === 1 ? '' : 's'}`,
      '',
      ...pairTable(results, key),
      '',
    ]),
  );
  const machine = `${machineLine(versionOf('openssl', ['version']), versionOf('h2load', ['--version']))}, chaussette at ${commit()}`;
  return [
    '# TLS and HTTP/2 benchmark results',
    '',
    `${machine}. ${pinned ? 'Servers pinned to core 0, the load generators to core 1 (taskset). ' : ''}Compare the ratios within one run, not absolute numbers across machines.${options.note ? ` ${options.note}` : ''}`,
    '',
    `Method: \`pnpm bench\` (its TLS part, \`node bench/tls.mjs\`), the method of results.md: each comparison runs its server and its baseline side by side, both on the same core, each loaded at the same time by its own load generator ${pinned ? 'on the other core ' : ''}on loopback, for ${seconds} s, ${rounds} round${rounds === 1 ? '' : 's'}; which of the two is loaded first alternates with the round. Whatever else the machine does during a run slows both alike, so the ratio keeps only their own difference; the pairs of two identical raw servers show what noise is left. HTTPS/1.1 is loaded by \`wrk -t1\` (no ALPN: HTTP/1.1), h2 and h2c by nghttp2's \`h2load -t1 -m${streams}\` (${streams} streams in flight on each connection, but one for 1 MiB answers on more than 16 connections, where ${streams} would queue ${streams} MiB per connection and a run would count only the few answers that finish within it; h2 chosen by ALPN over TLS, prior knowledge without). Connections are opened once and kept, so the TLS handshake is not what is measured: encryption, framing and each server's own work are. Requests/s, CPU and p99 latency are medians of the rounds (h2load's p99 is read from its per-request log); each ratio is the median of the per-round ratios. Throughput ratio: higher is better. CPU ratio: the server process's CPU time (user + system, from /proc) per request against the baseline's; lower is better. Every server is first checked to answer each workload with the right bytes over the protocol it is loaded with (HTTP/1.1, h2 by ALPN, h2c), and every answer under load for its full size.`,
    '',
    `Servers: the apps of results.md (\`bench/apps/node.cjs\`, \`fetch.mjs\`; \`/\` is 13 bytes of text, \`/stream\` 1 MiB written as 16 chunks of 64 KiB with backpressure), on one self-signed P-256 (ECDSA) certificate made by openssl for 127.0.0.1. chaussette runs with \`--certfile\` and \`--keyfile\` (its defaults: TLS 1.2 and newer, forward-secret ciphers, h2 offered beside http/1.1 on node and fastify) or \`--h2c\`. Baselines: the node app on \`https.createServer()\` (\`raw-https.mjs\`), on \`http2.createSecureServer({ allowHTTP1: true })\` and \`http2.createServer()\` (\`raw-http2.mjs\`, through node's compatibility API), each route written natively for uWebSockets.js's SSLApp (\`raw-uws.mjs\` with a certificate), and the fetch app on \`Bun.serve({ tls })\` (\`raw-bun-tls.mjs\`); each with node's or the engine's default TLS settings.`,
    '',
    '## Throughput ratios (CPU ratio per request in parentheses)',
    '',
    ...summary,
    '## All comparisons',
    '',
    ...details,
    ...memory,
  ].join('\n');
}

/** What each TLS server agreed on with node's client (OpenSSL's defaults, as wrk's and h2load's). */
function negotiatedSection(running) {
  return [
    '## TLS as negotiated',
    '',
    '| server | protocol | TLS version, cipher |',
    '| --- | --- | --- |',
    ...running.flatMap(({ name, tls }) => [...tls].filter(([, agreed]) => agreed !== 'none').map(([protocol, agreed]) => `| ${name} | ${PROTOCOLS[protocol].answersWith} | ${agreed} |`)),
    '',
  ];
}

function commit() {
  const git = (...args) => execFileSync('git', args, { cwd: here('.') }).toString().trim();
  return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--', '..').length > 0 ? ' with changes not yet committed' : ''}`;
}

function versionOf(command, args) {
  return execFileSync(command, args).toString().trim().split('\n')[0].split(' (')[0];
}
