// The uWebSockets.js baseline: each workload written the way uWS's own examples write it.
import { loadUws } from '@chaussette/backend-uws/engine';
import workloads from './workloads.cjs';

const { hello, json, CHUNK, CHUNKS } = workloads;
// The build the uws backend runs, loaded as it loads it.
const { uws } = loadUws();
// Arguments: port, then a certificate and key file for uWS's SSLApp (TLS), or none for its plain App.
const [port, certFile, keyFile] = process.argv.slice(2);

const app = (certFile ? uws.SSLApp({ cert_file_name: certFile, key_file_name: keyFile }) : uws.App())
  .get('/', (res) => {
    res.cork(() => res.writeHeader('content-type', 'text/plain').end(hello));
  })
  .get('/json', (res) => {
    res.cork(() => res.writeHeader('content-type', 'application/json').end(json()));
  })
  .post('/echo', (res) => {
    const chunks = [];
    let aborted = false;
    res.onAborted(() => (aborted = true));
    res.onData((data, isLast) => {
      chunks.push(Buffer.from(data.slice(0)));
      if (isLast && !aborted) {
        const body = Buffer.concat(chunks);
        res.cork(() => res.writeHeader('content-type', 'application/octet-stream').end(body));
      }
    });
  })
  .get('/stream', (res) => {
    let sent = 0;
    let done = false;
    res.onAborted(() => (done = true));
    const pump = () => {
      while (++sent < CHUNKS) if (!res.write(CHUNK)) return;
      res.end(CHUNK);
      done = true;
    };
    res.onWritable(() => {
      if (!done) res.cork(pump);
      return true;
    });
    res.cork(() => {
      res.writeHeader('content-type', 'application/octet-stream');
      pump();
    });
  });
app.listen('127.0.0.1', Number(port), (socket) => {
  if (!socket) process.exit(1);
  process.on('SIGTERM', () => {
    uws.us_listen_socket_close(socket);
    process.exit(0);
  });
});
