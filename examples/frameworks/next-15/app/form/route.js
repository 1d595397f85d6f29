const escapeHtml = (text) => text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);

export async function POST(request) {
  const name = String((await request.formData()).get('name') ?? 'stranger');
  return new Response(`<!doctype html><p>Hello, ${escapeHtml(name)}</p>`, { headers: { 'content-type': 'text/html; charset=utf-8' } });
}
