import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A local HTTP server (127.0.0.1, port 0) for fetch and feed tests:
 * - `/file/<name>`: a body registered with `serve(name, body)`;
 * - `/huge?declared=1`: endless 64 KiB chunks, with a huge Content-Length when `declared` is set;
 * - `/slow`: headers at once, then one byte every 200 ms, never ending;
 * - `/hang`: never answers at all;
 * - `/loop`: redirects to itself; `/hops/<n>/<name>`: n redirects, then `/file/<name>`;
 * - `/redirect?to=<location>`: one redirect to any location;
 * - `/status/<code>`: that status (429 carries `Retry-After: 120`).
 */
export interface FeedServer {
  url: string;
  serve(name: string, body: Buffer | string, contentType?: string): void;
  /** Paths requested so far, in order. */
  requests: string[];
  close(): Promise<void>;
}

export async function startFeedServer(): Promise<FeedServer> {
  const files = new Map<string, { body: Buffer; contentType: string }>();
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push(url.pathname);
    const parts = url.pathname.split('/').filter(Boolean);
    const [route, ...rest] = parts;
    if (route === 'file') {
      const file = files.get(rest.join('/'));
      if (!file) {
        res.writeHead(404).end('not found');
        return;
      }
      res.writeHead(200, { 'content-type': file.contentType, 'content-length': file.body.length }).end(file.body);
      return;
    }
    if (route === 'huge') {
      const headers: Record<string, string | number> = { 'content-type': 'application/json' };
      if (url.searchParams.has('declared')) headers['content-length'] = 10 * 1024 * 1024 * 1024;
      res.writeHead(200, headers);
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
      return;
    }
    if (route === 'slow') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('[');
      const timer = setInterval(() => {
        if (res.destroyed) {
          clearInterval(timer);
          timers.delete(timer);
          return;
        }
        res.write(' ');
      }, 200);
      timers.add(timer);
      return;
    }
    if (route === 'hang') return;
    if (route === 'loop') {
      res.writeHead(302, { location: '/loop' }).end();
      return;
    }
    if (route === 'hops') {
      const [count, ...name] = rest;
      const n = Number(count);
      res.writeHead(n > 0 ? 301 : 302, { location: n > 0 ? `/hops/${n - 1}/${name.join('/')}` : `/file/${name.join('/')}` }).end();
      return;
    }
    if (route === 'redirect') {
      res.writeHead(302, { location: url.searchParams.get('to') ?? '/' }).end();
      return;
    }
    if (route === 'status') {
      const code = Number(rest[0]);
      res.writeHead(code, code === 429 ? { 'retry-after': '120' } : {}).end(`status ${code}`);
      return;
    }
    res.writeHead(404).end('unknown route');
  };

  const server = createServer(handle);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    serve(name, body, contentType = 'application/octet-stream') {
      files.set(name, { body: Buffer.isBuffer(body) ? body : Buffer.from(body), contentType });
    },
    async close() {
      for (const timer of timers) clearInterval(timer);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
