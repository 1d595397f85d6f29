export default { fetch: (request) => new Response(`${request.url}\n`) };
