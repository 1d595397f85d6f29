export const dynamic = 'force-dynamic';

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function GET() {
  const encoder = new TextEncoder();
  const body = new ReadableStream({
    async start(controller) {
      for (const n of [1, 2, 3]) {
        controller.enqueue(encoder.encode(`chunk ${n}\n`));
        await pause(50);
      }
      controller.close();
    },
  });
  return new Response(body, { headers: { 'content-type': 'text/plain; charset=utf-8' } });
}
