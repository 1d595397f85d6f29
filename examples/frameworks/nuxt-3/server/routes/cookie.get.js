export default defineEventHandler((event) => {
  const visited = getCookie(event, 'visited');
  setCookie(event, 'visited', 'yes', { path: '/', httpOnly: true, sameSite: 'lax' });
  return visited ? `visited: ${visited}` : 'first visit';
});
