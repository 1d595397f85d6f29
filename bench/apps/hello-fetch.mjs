export default {
  fetch: () => new Response('Hello world!\n', { headers: { 'content-type': 'text/plain' } }),
};
