export default defineEventHandler(() => ({ hello: 'nuxt' }));
