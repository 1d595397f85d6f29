export const dynamic = 'force-dynamic';

export function GET(request) {
  const visited = request.cookies.get('visited')?.value === 'yes';
  return new Response(`visited: ${visited ? 'yes' : 'no'}\n`, {
    headers: { 'content-type': 'text/plain; charset=utf-8', 'set-cookie': 'visited=yes; Path=/; HttpOnly; SameSite=Lax' },
  });
}
