import { createServer, type AddressInfo } from 'node:net';

/** Asks the kernel for a free TCP port on loopback (bind to port 0, read it, release it). */
export async function getFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      // A TCP listener's address() is always an AddressInfo.
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
