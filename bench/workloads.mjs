// The workloads run.mjs and tls.mjs load every server with: a path, and the bytes each answer must have.
import { postBody } from './load.mjs';

export const WORKLOADS = {
  hello: { label: 'hello', path: '/', expectedBytes: 13 },
  json: { label: 'JSON', path: '/json', expectedBytes: 27 },
  echo: { label: '64 KiB POST echo', path: '/echo', post: postBody(64 * 1024), expectedBytes: 64 * 1024 },
  stream: { label: '1 MiB stream', path: '/stream', expectedBytes: 1024 * 1024 },
};
