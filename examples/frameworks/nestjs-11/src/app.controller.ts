import { createReadStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Body, Controller, Get, Header, Headers, HttpCode, Post, StreamableFile } from '@nestjs/common';

const STATIC_FILE = fileURLToPath(new URL('../public/static.txt', import.meta.url));

@Controller()
export class AppController {
  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  page(): string {
    return '<!doctype html><title>NestJS</title><h1>chaussette example</h1><form method="post" action="/form"><input name="name"><button>Send</button></form>';
  }

  @Get('api/hello')
  hello(): { hello: string } {
    return { hello: 'nestjs' };
  }

  @Post('form')
  @HttpCode(200)
  @Header('Content-Type', 'text/html; charset=utf-8')
  form(@Body() body: { name?: string }): string {
    return `<p>Hello, ${escapeHtml(body?.name ?? 'stranger')}</p>`;
  }

  @Get('static.txt')
  staticText(): StreamableFile {
    return new StreamableFile(createReadStream(STATIC_FILE), { type: 'text/plain; charset=utf-8', length: statSync(STATIC_FILE).size });
  }

  @Get('stream')
  stream(): StreamableFile {
    return new StreamableFile(Readable.from(chunks()), { type: 'text/plain; charset=utf-8' });
  }

  @Get('cookie')
  @Header('Set-Cookie', 'visited=yes; Path=/; HttpOnly; SameSite=Lax')
  @Header('Content-Type', 'text/plain; charset=utf-8')
  cookie(@Headers('cookie') cookie?: string): string {
    return /(^|;\s*)visited=yes(;|$)/.test(cookie ?? '') ? 'visited: yes' : 'visited: not yet';
  }
}

async function* chunks(): AsyncGenerator<string> {
  for (let index = 1; index <= 3; index++) {
    if (index > 1) await sleep(50);
    yield `chunk ${index} `;
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
