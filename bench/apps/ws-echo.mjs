// The WebSocket fetch app: every message back as it came, on each chaussette backend.
export default {
  fetch(request, server) {
    if (server.upgrade(request)) return undefined;
    return new Response('WebSocket echo\n');
  },
  websocket: {
    message(ws, message) {
      ws.send(message);
    },
  },
};
