import type { APIRoute } from 'astro';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const GET: APIRoute = () => {
  const encoder = new TextEncoder();
  const body = new ReadableStream({
    async start(controller) {
      for (let chunk = 1; chunk <= 3; chunk++) {
        if (chunk > 1) await pause(50);
        controller.enqueue(encoder.encode(`chunk ${chunk}\n`));
      }
      controller.close();
    },
  });
  return new Response(body, { headers: { 'content-type': 'text/plain; charset=utf-8' } });
};
