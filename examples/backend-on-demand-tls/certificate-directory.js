// @ts-check
// Certificates loaded when a handshake first asks for their name, from certbot's layout:
// <directory>/<server name>/fullchain.pem and privkey.pem. A name's files are looked at again at most
// once every RECHECK_MS, and re-read when they changed (a renewal), so nobody needs to send a signal.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { errorMessage } from '@chaussette/core';

/** How long a name's files are trusted to be unchanged before they are looked at again. */
export const RECHECK_MS = 3000;

/**
 * @typedef {object} LoadedCertificate
 * @property {import('node:tls').SecureContext} context
 * @property {Buffer} cert
 * @property {Buffer} key
 */

/**
 * @typedef {object} Entry
 * @property {LoadedCertificate | undefined} loaded What handshakes get: the last files that loaded.
 * @property {string} version The files' identity when last read, loaded or not (see versionOf).
 * @property {number} checkedAt
 */

export class CertificateDirectory {
  #directory;
  #contextOptions;
  #logger;
  /** @type {Map<string, Entry>} */
  #entries = new Map();
  /** @type {Map<string, Promise<LoadedCertificate | undefined>>} */
  #lookups = new Map();

  /**
   * @param {string} directory
   * @param {import('node:tls').SecureContextOptions} contextOptions What every certificate's context shares (protocols, ciphers).
   * @param {import('@chaussette/core').Logger} logger
   */
  constructor(directory, contextOptions, logger) {
    this.#directory = directory;
    this.#contextOptions = contextOptions;
    this.#logger = logger;
  }

  /** Where `name`'s files are. @param {string} name */
  filesOf(name) {
    const folder = join(this.#directory, name);
    return { cert: join(folder, 'fullchain.pem'), key: join(folder, 'privkey.pem') };
  }

  /**
   * The certificate for `name` (a checked server name, see serverNameOf), undefined when its files are
   * missing or never loaded. Handshakes that ask for the same name at once share one look.
   * @param {string} name
   * @returns {Promise<LoadedCertificate | undefined>}
   */
  certificateFor(name) {
    const entry = this.#entries.get(name);
    if (entry && Date.now() - entry.checkedAt < RECHECK_MS) return Promise.resolve(entry.loaded);
    let lookup = this.#lookups.get(name);
    if (!lookup) {
      lookup = this.#look(name, entry).finally(() => this.#lookups.delete(name));
      this.#lookups.set(name, lookup);
    }
    return lookup;
  }

  /**
   * @param {string} name
   * @param {Entry | undefined} entry
   */
  async #look(name, entry) {
    const files = this.filesOf(name);
    let version;
    try {
      version = await versionOf(files);
    } catch (error) {
      // Removed (a customer gone): no longer served.
      if (isMissing(error)) {
        this.#entries.delete(name);
        return undefined;
      }
      // Unreadable for now (permissions): what was loaded serves until the next look.
      this.#logger.warn(`Cannot look at the certificate of ${name} (${files.cert}): ${errorMessage(error)}`);
      if (entry) entry.checkedAt = Date.now();
      return entry?.loaded;
    }
    if (entry?.version === version) {
      entry.checkedAt = Date.now();
      return entry.loaded;
    }
    const loaded = await this.#load(name, files, entry);
    this.#entries.set(name, { loaded: loaded ?? entry?.loaded, version, checkedAt: Date.now() });
    return loaded ?? entry?.loaded;
  }

  /**
   * The files as a context, or undefined (said once per version of the files: a renewal half written
   * shows as a key that does not match its certificate until the other file lands).
   * @param {string} name
   * @param {{ cert: string, key: string }} files
   * @param {Entry | undefined} entry
   */
  async #load(name, files, entry) {
    try {
      const [cert, key] = await Promise.all([readFile(files.cert), readFile(files.key)]);
      const context = createSecureContext({ ...this.#contextOptions, cert, key });
      this.#logger.info(`${entry?.loaded ? 'Re-read' : 'Loaded'} the certificate of ${name} (${files.cert})`);
      return { context, cert, key };
    } catch (error) {
      const kept = entry?.loaded ? ': new handshakes keep the one in use' : '';
      this.#logger.warn(`The certificate of ${name} does not load (${files.cert}, ${files.key}): ${errorMessage(error)}${kept}`);
      return undefined;
    }
  }
}

/**
 * What changes when either file does: certbot's files are symlinks re-pointed at new files on renewal,
 * others are rewritten or replaced in place. stat() follows the links.
 * @param {{ cert: string, key: string }} files
 */
async function versionOf(files) {
  const stats = await Promise.all([stat(files.cert), stat(files.key)]);
  return stats.map(({ ino, mtimeMs, size }) => `${ino}:${mtimeMs}:${size}`).join('|');
}

/** @param {unknown} error */
const isMissing = (error) => ['ENOENT', 'ENOTDIR'].includes(/** @type {NodeJS.ErrnoException} */ (error)?.code ?? '');
