// Three chunks, 100 ms apart: each must reach the client as it is made.
export default defineEventHandler((event) => {
  setResponseHeader(event, 'content-type', 'text/plain; charset=utf-8');
  let count = 0;
  return new ReadableStream({
    async pull(controller) {
      if (count > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      count++;
      controller.enqueue(new TextEncoder().encode(`chunk ${count}\n`));
      if (count === 3) controller.close();
    },
  });
});
