import { chmodSync, mkdirSync, openSync, readFileSync, closeSync, unlinkSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerCleanup } from './cleanup.js';

/*
 * Ports for servers started here, from below the kernel's ephemeral range
 * (net.ipv4.ip_local_port_range, 32768-60999 by default). The kernel hands
 * out ports from that range on its own, to every outgoing connection and
 * every listen on port 0, on the whole machine: a port taken from it and
 * closed again (then bound later by PostgreSQL, or kept while a server is
 * stopped for a restart, or written into a NATS route list) can be taken by
 * anyone meanwhile. Below the range only processes that ask for a fixed
 * port compete, and those that use this module coordinate: one lease file
 * per port in <tmpdir>/walrus-ports/, created exclusively, holding the
 * owner's pid, removed when the owner exits and taken over once it is gone
 * (so two vitest workers, or two checkouts' test runs, never share a port).
 */

const RANGE_SIZE = 10_000;
const LOWEST = 10_000;
const LEASE_DIR = join(tmpdir(), 'walrus-ports');

/** Ports leased by this process: never handed out again, even once the lease files are gone. */
const leased = new Set<number>();
const leaseFiles = new Set<number>();
let releaseRegistered = false;

/** [first, last] below the ephemeral range, or null when it leaves no room (then the kernel chooses). */
function reservedRange(): [number, number] | null {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low === undefined || !Number.isInteger(low) || low - 1 - LOWEST < 1000) return null;
    return [Math.max(LOWEST, low - RANGE_SIZE), low - 1];
  } catch {
    return null;
  }
}

function ownerAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive, another user's.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ensureLeaseDir(): void {
  mkdirSync(LEASE_DIR, { recursive: true });
  try {
    // Shared by every user that runs the tests (sticky, like /tmp).
    chmodSync(LEASE_DIR, 0o1777);
  } catch {
    // Someone else's directory, already set up.
  }
}

/** Takes the lease of `port`, or returns false when a live process holds it. */
function lease(port: number): boolean {
  const file = join(LEASE_DIR, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o644);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let owner = NaN;
    try {
      owner = Number(readFileSync(file, 'utf8').trim());
    } catch {
      // Removed meanwhile: try again.
    }
    // An empty file (0) is a lease being written this very moment.
    if (owner === 0 || ownerAlive(owner)) return false;
    try {
      unlinkSync(file);
    } catch {
      // Taken over by someone else first; the next openSync tells.
    }
  }
  return false;
}

function releaseAll(): void {
  releaseRegistered = false;
  for (const port of leaseFiles) {
    try {
      unlinkSync(join(LEASE_DIR, String(port)));
    } catch {
      // Already gone.
    }
  }
  leaseFiles.clear();
}

/**
 * The lease files go with the rest of this process's cleanup (after the
 * servers, registered before them): at cleanupAll(), on exit, on a signal.
 * A SIGKILLed process leaves them; the next freePort() takes them over.
 */
function releaseWithCleanup(): void {
  if (releaseRegistered) return;
  releaseRegistered = true;
  registerCleanup(releaseAll, { name: 'release the port leases', sync: releaseAll });
}

/** Whether 127.0.0.1:`port` can be bound right now (port 0: any port, and the one bound). */
function tryBind(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(null));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(address && typeof address === 'object' ? address.port : null));
    });
  });
}

const kernelHandedOut = new Set<number>();

/** The old way, where no range below the ephemeral one is left: the kernel's choice for port 0. */
async function kernelPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await tryBind(0);
    if (port !== null && !kernelHandedOut.has(port)) {
      kernelHandedOut.add(port);
      return port;
    }
  }
  throw new Error('freePort: no new free port after 50 attempts');
}

/**
 * A TCP port on 127.0.0.1 for a server to bind: free now, outside the range
 * the kernel picks from, leased to this process until it exits (never handed
 * out twice, not even after the server stopped). Another program that binds
 * a fixed port could still take it before the caller does: the servers of
 * this package retry with a new port when that happens.
 */
export async function freePort(): Promise<number> {
  const range = reservedRange();
  if (!range) return kernelPort();
  ensureLeaseDir();
  releaseWithCleanup();
  const [first, last] = range;
  const size = last - first + 1;
  // Start anywhere, so that concurrent processes rarely contend for the same leases.
  const start = Math.floor(Math.random() * size);
  for (let i = 0; i < size; i++) {
    const port = first + ((start + i) % size);
    if (leased.has(port) || !lease(port)) continue;
    leaseFiles.add(port);
    if ((await tryBind(port)) === port) {
      leased.add(port);
      return port;
    }
    leaseFiles.delete(port);
    // Bound by a program outside this scheme: leave it alone, keep the lease
    // file off it.
    try {
      unlinkSync(join(LEASE_DIR, String(port)));
    } catch {
      // Gone already.
    }
  }
  throw new Error(`freePort: every port of ${first}-${last} is leased or in use`);
}
