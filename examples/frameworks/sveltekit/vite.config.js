import adapter from '@sveltejs/adapter-node';
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

// As `sv create` writes it: the adapter in vite.config.js, no svelte.config.js.
export default defineConfig({ plugins: [sveltekit({ adapter: adapter() })] });
