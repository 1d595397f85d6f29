export default defineEventHandler(async (event) => {
  const { name } = await readBody(event);
  setResponseHeader(event, 'content-type', 'text/html; charset=utf-8');
  return `<p>Hello, ${escapeHtml(String(name ?? ''))}</p>`;
});

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
