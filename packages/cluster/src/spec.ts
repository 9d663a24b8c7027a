import { registryParamProblems, registrySettings, type RegistryEntry } from '@walrus/core';
import { parseClusterUrl, type ClusterTopology, type MemberEndpoint } from './members/cluster-url.js';
import type pg from 'pg';
import { clientWithPassword, passwordCallback, type PasswordSource } from './members/passwords.js';

/**
 * One cluster as every service serves it, parsed once: from a
 * `WALRUS_CLUSTERS` entry when a service loads its configuration, or from a
 * registry entry when it arrives. Nothing parses the URL again.
 */
export interface ClusterSpec {
  id: string;
  /** The URL as given: it may hold a password, so never log or return it unredacted. */
  url: string;
  /** Its members and how a size is put in force (parseClusterUrl). */
  topology: ClusterTopology;
  /** Where the password comes from when the URL has none; null: the URL's, or none. */
  password: PasswordSource | null;
  /** The registry's decision parameters as `walrus.*` settings ({} for a static entry); the server's own win. */
  settings: Record<string, string>;
}

export type SpecResult = { ok: true; value: ClusterSpec } | { ok: false; problem: string };

/** A static list's entry (WALRUS_CLUSTERS / WALRUS_CLUSTERS_FILE). */
export function clusterSpec(id: string, url: string): SpecResult {
  const parsed = parseClusterUrl(id, url);
  if (!parsed.ok) return parsed;
  return { ok: true, value: { id, url, topology: parsed.value, password: null, settings: {} } };
}

/** Every entry of a static list parsed, with each problem named. */
export function clusterSpecs(entries: ReadonlyArray<{ id: string; url: string }>): { clusters: ClusterSpec[]; problems: string[] } {
  const clusters: ClusterSpec[] = [];
  const problems: string[] = [];
  for (const e of entries) {
    const r = clusterSpec(e.id, e.url);
    if (r.ok) clusters.push(r.value);
    else problems.push(r.problem);
  }
  return { clusters, problems };
}

/** Whether a postgres URL carries a password (in its user part or as a `password` parameter). */
export function urlHasPassword(url: string): boolean {
  const authority = /^postgres(?:ql)?:\/\/([^/?#]*)/.exec(url)?.[1] ?? '';
  const at = authority.lastIndexOf('@');
  if (at >= 0 && authority.slice(0, at).includes(':')) return true;
  return /[?&]password=/.test(url);
}

/** A registry entry, with every problem (its URL, its parameters, its password source) named after the cluster. */
export function specFromRegistry(id: string, entry: RegistryEntry): SpecResult {
  const parsed = parseClusterUrl(id, entry.url);
  if (!parsed.ok) return parsed;
  const problems = registryParamProblems(entry.params ?? {});
  if (entry.password_file !== undefined && entry.passfile !== undefined) problems.push('password_file and passfile are both set (allowed one of them)');
  if ((entry.password_file !== undefined || entry.passfile !== undefined) && urlHasPassword(entry.url)) {
    problems.push('the URL holds a password and a password file is set too (allowed one of them)');
  }
  if (problems.length > 0) return { ok: false, problem: `cluster ${id}: ${problems.join('; ')}` };
  const password: PasswordSource | null =
    entry.password_file !== undefined ? { kind: 'file', path: entry.password_file } : entry.passfile !== undefined ? { kind: 'passfile', path: entry.passfile } : null;
  return { ok: true, value: { id, url: entry.url, topology: parsed.value, password, settings: registrySettings(entry) } };
}

/**
 * What node-postgres needs to connect to one member of the cluster: its
 * URL, and, when the password comes from a file, the client class that
 * reads it at each connection (a pool's `Client` option; `new Client(...)`
 * for a single connection).
 */
export function memberConnection(spec: Pick<ClusterSpec, 'password'>, member: MemberEndpoint): { connectionString: string; Client?: typeof pg.Client } {
  return { connectionString: member.url, ...(spec.password ? { Client: clientWithPassword(passwordCallback(spec.password, member)) } : {}) };
}
