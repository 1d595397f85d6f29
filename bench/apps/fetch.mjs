// The fetch app: served by @hono/node-server and by each chaussette backend.
import workloads from './workloads.cjs';

const { hello, json, CHUNK, CHUNKS } = workloads;
const chunk = new Uint8Array(CHUNK);

export default {
  async fetch(request) {
    switch (new URL(request.url).pathname) {
      case '/':
        return new Response(hello, { headers: { 'content-type': 'text/plain' } });
      case '/json':
        return new Response(json(), { headers: { 'content-type': 'application/json' } });
      case '/echo':
        return new Response(await request.arrayBuffer(), { headers: { 'content-type': 'application/octet-stream' } });
      case '/stream': {
        let sent = 0;
        const body = new ReadableStream({
          pull(controller) {
            controller.enqueue(chunk);
            if (++sent === CHUNKS) controller.close();
          },
        });
        return new Response(body, { headers: { 'content-type': 'application/octet-stream' } });
      }
      default:
        return new Response(null, { status: 404 });
    }
  },
};
