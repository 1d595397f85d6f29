// Built for chaussette: Nitro's node-listener preset exports its request listener instead of
// listening on a port of its own (the default node-server preset does), and serveStatic makes that
// listener answer for .output/public (public/ and the /_nuxt/ scripts), which it otherwise leaves out.
export default defineNuxtConfig({
  compatibilityDate: '2025-01-01',
  devtools: { enabled: false },
  telemetry: false,
  nitro: { preset: 'node-listener', serveStatic: true },
});
