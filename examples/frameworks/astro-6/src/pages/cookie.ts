import type { APIRoute } from 'astro';

export const GET: APIRoute = ({ cookies }) => {
  const visited = cookies.get('visited')?.value;
  cookies.set('visited', 'yes', { path: '/' });
  return new Response(`visited: ${visited ?? 'no'}`, { headers: { 'content-type': 'text/plain; charset=utf-8' } });
};
