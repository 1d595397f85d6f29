// The conformance kit's cases each uWebSockets.js build fails, by name: flaws of the engine's own HTTP
// parser that JavaScript cannot see (SECURITY.md lists them). The kit runs them as `test.fails`, so a
// build that fixes one shows.
// uWS refuses these in C++, before JavaScript sees them, with 505 (the absolute form, LF alone, two
// spaces) or by waiting, the connection open, until the header timeout closes it (garbage, a bare CR in
// a value). None reaches the app, nor does a request behind them: safe, but not the 4xx RFC 9112 asks.
const ENGINE_REFUSES = [
  'accepts an absolute-form target `http://a/url?x`',
  // The same flaw seen from the fetch standard.
  'of an absolute-form target is that target, parsed',
  "accepts an absolute-form target's host over the Host field",
  'accepts whole or refuses LF alone as the line end of the request line and fields',
  'accepts whole or refuses two spaces between method and target (or one)',
  'accepts whole or refuses a bare CR in a field value (or read as SP)',
  'refuses garbage (a 4xx, or a close), not the app, closes the connection, and serves on',
  'a malformed request gets exactly one answer (or the close alone), then the close',
  // uWS serves a request pipelined behind one with `Connection: close`, unless that one is still
  // unanswered: then it closes the connection. The backend answers such a request once uWS's read is
  // done (Exchange.afterRead), so nothing behind it is served, and a client that sent more gets the close alone.
  'answers a request with `Connection: close` that has another pipelined behind it',
];

// uWS 20.57 reads a field line with an empty name as the end of the fields, in C++ and for JavaScript
// alike: the fields after it (a Content-Length too) are not there. uWS's current source refuses it.
const EMPTY_FIELD_NAME = ['refuses an empty field name (`: x`)', 'refuses an empty field name before Content-Length'];

// uWS's own chunked parser lets the bytes after a malformed chunk through as the next request, and
// refuses extensions: with --uws-chunked-behind-proxy (backendOptions.chunkedBehindProxy) only. By
// default a chunked request body gets 411 (the conformance spec's refusesChunkedRequestBodies).
const CHUNKED_PARSER = [
  'accepts extensions (`5;name=value`, `6;flag`) and a trailer',
  'accepts a quoted extension value holding `;` and `=`',
  'refuses LF alone after the chunk data',
  'refuses LF alone after the chunk size',
  'refuses LF alone on every chunk line',
  'refuses a bare CR in a chunk extension',
  'refuses a bare LF in a chunk extension',
  'refuses a chunk size with a non-hex tail `5g`',
  'refuses an empty chunk size',
  'refuses an obs-text byte (0xA0, NBSP) before `chunked`',
  'refuses chunk data followed by two bytes other than CRLF',
  'refuses chunk data not followed by CRLF',
  // An app that answers before uWS has read a chunked body gets uWS's own 400 after its answer.
  'one answer per request: a malformed chunked body gets a 400 (or the close alone) and the close, never a 2xx first',
];

// uSockets lets a client without a certificate finish the handshake whatever it is told (it sets
// SSL_VERIFY_PEER without SSL_VERIFY_FAIL_IF_NO_PEER_CERT): under `required` its requests get 400 and the
// close before the app sees them (nginx's answer), where the kit wants the handshake itself to fail.
const CLIENT_CERTIFICATE_AFTER_HANDSHAKE = ['required: a client without a certificate, or with one another CA signed, is refused'];

export const KNOWN_FAILURES: Record<'20.30' | '20.57' | '20.57-chunked-behind-proxy', string[]> = {
  '20.57': [...ENGINE_REFUSES, ...EMPTY_FIELD_NAME, ...CLIENT_CERTIFICATE_AFTER_HANDSHAKE],
  '20.57-chunked-behind-proxy': [
    ...ENGINE_REFUSES,
    ...EMPTY_FIELD_NAME,
    ...CLIENT_CERTIFICATE_AFTER_HANDSHAKE,
    ...CHUNKED_PARSER,
    // The 413 waits for uWS's read to end (Exchange.refuseAlone), and uWS closes the connection on the
    // request behind: nothing behind is served, and the client gets the close without the 413.
    'answers 413 to a chunked body past the limit: its read fails, and nothing pipelined behind it reaches the app',
  ],
  // Measured on Node.js 20 before the 411 and the answer after `Connection: close`; this build has no
  // binary for Node.js 22 or later.
  '20.30': [
    ...ENGINE_REFUSES,
    ...EMPTY_FIELD_NAME,
    'accepts whole or refuses NUL in a field value (or read as SP)',
    'accepts whole or refuses a value folded onto the next line (obs-fold)',
    'accepts whole or refuses minor version `HTTP/1.2` (served as 1.1)',
    'accepts whole or refuses obs-fold, a field line starting with HTAB',
    'accepts whole or refuses obs-fold, a field line starting with SP (or one value, folded with SP)',
    'answers nothing after a refused request (a bad protocol version)',
    'refuses a control character in a field name',
    'refuses a form feed after `chunked`',
    'refuses a lowercase protocol name `http/1.1`',
    'refuses a space inside a field name',
    'refuses a vertical tab before `chunked`',
    'refuses major version `HTTP/2.0` in HTTP/1 syntax',
    'refuses whitespace between a field name and its colon (`Content-Length : 5`)',
    'refuses whitespace between a field name and its colon (`Host : a`)',
    'refuses, or answers once and closes, Transfer-Encoding in an HTTP/1.0 request',
    'refuses a bad request line (a 4xx, or a close), not the app, closes the connection, and serves on',
    'refuses a control character in a header (a 4xx, or a close), not the app, closes the connection, and serves on',
    'refuses a header without a colon (a 4xx, or a close), not the app, closes the connection, and serves on',
  ],
};
