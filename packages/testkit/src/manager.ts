// A process manager in a few lines, for the kit's rolling restarts: it holds the listening socket it
// inherited as fd 3 without ever accepting on it (as Circus and supervisord hold theirs: a Node process
// that listened on it would take connections itself), and starts workers that inherit it as their fd 3.
//   node manager.js <command> [args...]
// Reads `start` and `stop ID` on stdin (IDs count from 0); prints each line a worker prints as
// `ID: line`, and `exited ID CODE` once a stopped worker has exited (after SIGTERM).
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const [command = process.execPath, ...args] = process.argv.slice(2);
const workers = new Map<number, ChildProcess>();
let nextId = 0;

for await (const line of createInterface({ input: process.stdin })) {
  const [verb, id] = line.split(' ');
  if (verb === 'start') {
    const worker = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit', 3] });
    const workerId = nextId++;
    workers.set(workerId, worker);
    createInterface({ input: worker.stdout! }).on('line', (line) => process.stdout.write(`${workerId}: ${line}\n`));
  } else if (verb === 'stop') {
    const worker = workers.get(Number(id));
    worker?.once('exit', (code, signal) => process.stdout.write(`exited ${id} ${code ?? signal}\n`));
    worker?.kill('SIGTERM');
  }
}
for (const worker of workers.values()) worker.kill('SIGKILL');
