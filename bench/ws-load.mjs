// The WebSocket load generator: `connections` clients, each keeping `depth` messages in flight (one more
// sent for each echo), for `seconds`. Prints one JSON line: { messages, seconds, errors }. Run pinned to its own core.
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const { values } = parseArgs({ options: { url: { type: 'string' }, connections: { type: 'string' }, seconds: { type: 'string' }, bytes: { type: 'string' }, depth: { type: 'string' } } });
const connections = Number(values.connections);
const message = 'x'.repeat(Number(values.bytes ?? 32));
const clients = await Promise.all(
  Array.from({ length: connections }, () => new Promise((resolve, reject) => {
    const client = new WebSocket(values.url, { perMessageDeflate: false });
    client.once('open', () => resolve(client)).once('error', reject);
  })),
);
let messages = 0;
let errors = 0;
let running = true;
for (const client of clients) {
  client.on('message', (data) => {
    if (data.length !== message.length) errors++;
    messages++;
    if (running) client.send(message);
  });
  client.on('error', () => errors++);
}
const started = performance.now();
const depth = Number(values.depth ?? 1);
for (const client of clients) for (let sent = 0; sent < depth; sent++) client.send(message);
await new Promise((resolve) => setTimeout(resolve, Number(values.seconds) * 1000));
running = false;
const seconds = (performance.now() - started) / 1000;
for (const client of clients) client.terminate();
console.log(JSON.stringify({ messages, seconds, errors }));
