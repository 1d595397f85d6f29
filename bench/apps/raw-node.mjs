// The baseline: node:http with no server in between.
import { createServer } from 'node:http';

const server = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('Hello world!\n');
});
server.listen(Number(process.argv[2]), '127.0.0.1', () => console.log('Using the raw node:http server'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
