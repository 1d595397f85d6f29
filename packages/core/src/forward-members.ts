export interface ForwardOptions {
  /** Whether `this` is a Light (else the member is Native's own, called on `this` as it is). Default: always. */
  isLight?: (value: object) => boolean;
  /**
   * Whether Light.prototype inherits from Native.prototype (`instanceof Native` holds). Without it the
   * forwarded members copy Native's names, lengths and enumerability, as a separate interface would have.
   */
  inherit?: boolean;
}

/**
 * Makes instances of `Light` stand in for instances of `Native` (a Request or Response that is built
 * only when needed): every member of `Native.prototype` that `Light.prototype` lacks is forwarded to
 * the real object that `real(this)` returns.
 */
export function forwardMissingMembers(Light: { prototype: object }, Native: { prototype: object }, real: (light: object) => object, options: ForwardOptions = {}): void {
  const { isLight = () => true, inherit = true } = options;
  const own = new Set(Reflect.ownKeys(Light.prototype));
  const target = (value: object) => (isLight(value) ? real(value) : value);
  for (const key of Reflect.ownKeys(Native.prototype)) {
    if (own.has(key) || key === 'constructor' || key === Symbol.toStringTag) continue;
    const descriptor = Object.getOwnPropertyDescriptor(Native.prototype, key)!;
    const forwarded: PropertyDescriptor = { configurable: true, enumerable: inherit ? false : descriptor.enumerable };
    if (typeof descriptor.value === 'function') {
      const method = descriptor.value as (...args: unknown[]) => unknown;
      forwarded.writable = true;
      forwarded.value = function (this: object, ...args: unknown[]) {
        return method.apply(target(this), args);
      };
      if (!inherit) copyNameAndLength(forwarded.value as () => unknown, method);
    } else if (descriptor.get) {
      const getter = descriptor.get;
      forwarded.get = function (this: object) {
        return getter.call(target(this));
      };
      if (!inherit) copyNameAndLength(forwarded.get, getter);
    } else {
      continue;
    }
    Object.defineProperty(Light.prototype, key, forwarded);
  }
  if (inherit) Object.setPrototypeOf(Light.prototype, Native.prototype);
}

function copyNameAndLength(copy: (...args: never[]) => unknown, original: (...args: never[]) => unknown): void {
  Object.defineProperty(copy, 'name', { value: original.name });
  Object.defineProperty(copy, 'length', { value: original.length });
}
