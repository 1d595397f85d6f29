/**
 * Makes instances of `Light` stand in for instances of `Native` (a Request or Response that is built
 * only when needed): every member of `Native.prototype` that `Light.prototype` lacks is forwarded to
 * the real object that `real(this)` returns. `instanceof Native` then holds.
 */
export function forwardMissingMembers(Light: { prototype: object }, Native: { prototype: object }, real: (light: object) => object): void {
  const own = new Set(Reflect.ownKeys(Light.prototype));
  for (const key of Reflect.ownKeys(Native.prototype)) {
    if (own.has(key) || key === 'constructor' || key === Symbol.toStringTag) continue;
    const isMethod = typeof Object.getOwnPropertyDescriptor(Native.prototype, key)?.value === 'function';
    Object.defineProperty(
      Light.prototype,
      key,
      isMethod
        ? {
            configurable: true,
            writable: true,
            value(this: object, ...args: unknown[]) {
              const target = real(this) as Record<string | symbol, (...args: unknown[]) => unknown>;
              return target[key]!.apply(target, args);
            },
          }
        : {
            configurable: true,
            get(this: object) {
              return (real(this) as Record<string | symbol, unknown>)[key];
            },
          },
    );
  }
  Object.setPrototypeOf(Light.prototype, Native.prototype);
}
