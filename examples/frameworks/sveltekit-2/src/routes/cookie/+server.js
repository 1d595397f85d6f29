export const GET = ({ cookies }) => {
  const visited = cookies.get('visited');
  cookies.set('visited', 'yes', { path: '/' });
  return new Response(`visited: ${visited ?? 'no'}`, { headers: { 'content-type': 'text/plain; charset=utf-8' } });
};
