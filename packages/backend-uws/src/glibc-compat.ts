// uWebSockets.js's current Linux binaries are linked against glibc 2.38, but need of it only three
// functions that C23 added: __isoc23_strtol, __isoc23_strtoul and __isoc23_sscanf, which differ from
// the C99 strtol, strtoul and sscanf only in also reading a `0b` binary prefix. On an older glibc
// (Debian 12, RHEL 9, Amazon Linux 2023) such a binary does not load. A copy whose three symbols name
// the C99 functions, unversioned, and whose need of GLIBC_2.38 is marked weak (so the dynamic linker no
// longer refuses it) loads and runs there.
//
// ELF64, little-endian (x86-64, arm64): the layouts are those of <elf.h>.
import { readFileSync } from 'node:fs';

const SHT_DYNSYM = 11;
const SHT_GNU_VERNEED = 0x6ffffffe;
const SHT_GNU_VERSYM = 0x6fffffff;
const VER_NDX_GLOBAL = 1;
const VER_FLG_WEAK = 0x2;
const DYNSYM_SIZE = 24;

/** The C23 functions and the C99 ones they become; each C99 name is the tail of its C23 one. */
export const C23_FUNCTIONS: ReadonlyMap<string, string> = new Map([
  ['__isoc23_strtol', 'strtol'],
  ['__isoc23_strtoul', 'strtoul'],
  ['__isoc23_sscanf', 'sscanf'],
]);
const C23_VERSION = 'GLIBC_2.38';

interface Section {
  type: number;
  offset: number;
  size: number;
  link: number;
  info: number;
}

/** True when a binary failed to load for want of glibc 2.38 (the dynamic linker's words). */
export function needsNewerGlibc(error: unknown): boolean {
  return new RegExp(`${C23_VERSION.replace('.', '\\.')}' not found`).test(String((error as Error | undefined)?.message ?? error));
}

/** The glibc this process runs on, e.g. `2.36` (undefined on another libc). */
export function runningGlibc(): string | undefined {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime;
}

/**
 * The binary at `path`, adapted as the top of this file says. Throws when it is not an ELF64
 * little-endian shared object, or when it needs more of glibc 2.38 than those three functions.
 */
export function adaptToOlderGlibc(path: string): Buffer {
  const binary = Buffer.from(readFileSync(path));
  if (binary.readUInt32BE(0) !== 0x7f454c46 || binary[4] !== 2 || binary[5] !== 1) throw new Error(`${path} is not a 64-bit little-endian ELF file`);
  const sections = readSections(binary);
  const dynsym = sections.find((section) => section.type === SHT_DYNSYM);
  const versym = sections.find((section) => section.type === SHT_GNU_VERSYM);
  const verneed = sections.find((section) => section.type === SHT_GNU_VERNEED);
  if (!dynsym || !versym || !verneed) throw new Error(`${path} has no versioned dynamic symbols`);
  const dynstr = sections[dynsym.link]!;
  const name = (offset: number) => {
    const start = dynstr.offset + offset;
    return binary.toString('latin1', start, binary.indexOf(0, start));
  };
  const c23Index = versionIndex(binary, verneed, name);

  for (let index = 0; index < dynsym.size / DYNSYM_SIZE; index++) {
    const entry = dynsym.offset + index * DYNSYM_SIZE;
    const nameOffset = binary.readUInt32LE(entry);
    const symbol = name(nameOffset);
    const c99 = C23_FUNCTIONS.get(symbol);
    const versionAt = versym.offset + 2 * index;
    if (c99) {
      // The C99 name is the tail of the C23 one in the string table: point at it, change no string.
      binary.writeUInt32LE(nameOffset + symbol.length - c99.length, entry);
      binary.writeUInt16LE(VER_NDX_GLOBAL, versionAt);
    } else if (c23Index !== undefined && (binary.readUInt16LE(versionAt) & 0x7fff) === c23Index) {
      throw new Error(`${path} needs ${symbol} from ${C23_VERSION}, which this adaptation does not provide`);
    }
  }
  markVersionWeak(binary, verneed, name);
  return binary;
}

function readSections(binary: Buffer): Section[] {
  const tableOffset = Number(binary.readBigUInt64LE(0x28));
  const entrySize = binary.readUInt16LE(0x3a);
  const count = binary.readUInt16LE(0x3c);
  return Array.from({ length: count }, (_, index) => {
    const header = tableOffset + index * entrySize;
    return {
      type: binary.readUInt32LE(header + 0x04),
      offset: Number(binary.readBigUInt64LE(header + 0x18)),
      size: Number(binary.readBigUInt64LE(header + 0x20)),
      link: binary.readUInt32LE(header + 0x28),
      info: binary.readUInt32LE(header + 0x2c),
    };
  });
}

/** Calls `visit` with the offset of every Vernaux entry (a version needed from a library). */
function eachNeededVersion(binary: Buffer, verneed: Section, visit: (auxiliary: number) => void): void {
  let needed = verneed.offset;
  for (let library = 0; library < verneed.info; library++) {
    let auxiliary = needed + binary.readUInt32LE(needed + 8);
    for (let version = 0; version < binary.readUInt16LE(needed + 2); version++) {
      visit(auxiliary);
      auxiliary += binary.readUInt32LE(auxiliary + 12);
    }
    needed += binary.readUInt32LE(needed + 12);
  }
}

function versionIndex(binary: Buffer, verneed: Section, name: (offset: number) => string): number | undefined {
  let index: number | undefined;
  eachNeededVersion(binary, verneed, (auxiliary) => {
    if (name(binary.readUInt32LE(auxiliary + 8)) === C23_VERSION) index = binary.readUInt16LE(auxiliary + 6);
  });
  return index;
}

function markVersionWeak(binary: Buffer, verneed: Section, name: (offset: number) => string): void {
  eachNeededVersion(binary, verneed, (auxiliary) => {
    if (name(binary.readUInt32LE(auxiliary + 8)) === C23_VERSION) binary.writeUInt16LE(binary.readUInt16LE(auxiliary + 4) | VER_FLG_WEAK, auxiliary + 4);
  });
}
