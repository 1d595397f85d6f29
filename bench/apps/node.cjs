// The node (req, res) app: served by raw node:http and by each chaussette backend.
const { hello, json, CHUNK, CHUNKS } = require('./workloads.cjs');

module.exports = (req, res) => {
  switch (req.url) {
    case '/':
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(hello);
      return;
    case '/json':
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(json());
      return;
    case '/echo': {
      const chunks = [];
      req.on('data', (chunk) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
        res.end(body);
      });
      return;
    }
    case '/stream': {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      let sent = 0;
      const pump = () => {
        while (++sent < CHUNKS) if (!res.write(CHUNK)) return void res.once('drain', pump);
        res.end(CHUNK);
      };
      pump();
      return;
    }
    default:
      res.writeHead(404).end();
  }
};
