// What every bench app answers, whatever its kind: the same bytes, so the servers differ only in how they serve.
const CHUNK = Buffer.alloc(64 * 1024, 'x');

module.exports = {
  hello: 'Hello world!\n',
  json: () => JSON.stringify({ message: 'Hello, World!' }),
  // /stream: 16 chunks of 64 KiB (1 MiB), written one at a time with backpressure.
  CHUNK,
  CHUNKS: 16,
};
