export default { fetch: () => new Response('from a package directory') };
