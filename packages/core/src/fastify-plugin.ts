// fastify-plugin marks the functions it wraps with these.
const PLUGIN_MARKS = [Symbol.for('skip-override'), Symbol.for('fastify.display-name'), Symbol.for('plugin-meta')];
const PLUGIN_PARAMETERS = new Set(['fastify', 'app', 'instance', 'server', 'f']);
// The first parameter's name: `async function name(first…`, `async (first…`, `first =>`.
const FIRST_PARAMETER = /^(?:async\s*)?(?:function\s*\*?\s*[\w$]*\s*\(\s*|\(\s*)?([\w$]+)/;

/**
 * Looks like a Fastify plugin, as `fastify start` loads one: marked by fastify-plugin, or a function
 * whose first parameter is named like a Fastify instance (`fastify`, `app`, `instance`, `server`, `f`).
 * The Fastify backend serves these; without it the CLI refuses them rather than take one for a fetch handler.
 */
export function looksLikeFastifyPlugin(value: unknown): value is (...args: never[]) => unknown {
  if (typeof value !== 'function') return false;
  if (PLUGIN_MARKS.some((mark) => mark in value)) return true;
  const first = FIRST_PARAMETER.exec(Function.prototype.toString.call(value))?.[1];
  return first !== undefined && PLUGIN_PARAMETERS.has(first);
}
