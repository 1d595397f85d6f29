// @ts-check
// Which SNI names may become a path in the certificates' directory.

// A DNS label (RFC 1123): letters, digits and hyphens, 1 to 63 of them, no hyphen at either end.
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * `name` lower-cased when it is a valid DNS name, and so a safe directory name (no `/`, no `..`, no empty
 * or dot-only segment); undefined otherwise. Clients send SNI in any case (RFC 6066: no trailing dot).
 * @param {string} name
 */
export function serverNameOf(name) {
  const lowered = name.toLowerCase();
  if (lowered.length > 253 || !lowered.split('.').every((label) => LABEL.test(label))) return undefined;
  return lowered;
}
