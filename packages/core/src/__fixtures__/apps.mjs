export const listener = (req, res) => res.end('node');
export const handler = (request) => new Response('fetch');
export const withFetch = { fetch: () => new Response('object') };
export const promised = Promise.resolve({ fetch: () => new Response('promised') });
export function factory(a, b) {
  return (request) => new Response(`${a}+${b}`);
}
export const nothing = null;
export default listener;
export class Application {
  callback() {}
}
