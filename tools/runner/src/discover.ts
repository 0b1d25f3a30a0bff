import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ServiceModule } from '@anfang/platform/service';

/** A service found under services/: it registered itself through its package.json. */
export interface DiscoveredService {
  readonly name: string;
  readonly dir: string;
  /** Absolute path of the module exporting the ServiceModule (default export). */
  readonly modulePath: string;
  /** Absolute path of its own-process entry (src/main.ts). */
  readonly mainPath: string;
}

interface ServicePackageJson {
  name?: string;
  anfang?: { service?: string; main?: string };
}

export function discoverServices(root: string): DiscoveredService[] {
  const servicesDir = join(root, 'services');
  if (!existsSync(servicesDir)) return [];
  const found: DiscoveredService[] = [];
  for (const entry of readdirSync(servicesDir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const dir = join(servicesDir, entry.name);
    const packageFile = join(dir, 'package.json');
    if (!existsSync(packageFile)) continue;
    const pkg = JSON.parse(readFileSync(packageFile, 'utf8')) as ServicePackageJson;
    if (!pkg.anfang?.service) continue;
    found.push({
      name: entry.name,
      dir,
      modulePath: join(dir, pkg.anfang.service),
      mainPath: join(dir, pkg.anfang.main ?? 'src/main.ts'),
    });
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

export async function loadServiceModule(service: DiscoveredService): Promise<ServiceModule> {
  const imported = (await import(pathToFileURL(service.modulePath).href)) as { default?: ServiceModule };
  const module = imported.default;
  if (!module || typeof module.start !== 'function') {
    throw new Error(`${service.modulePath} must export a ServiceModule as default`);
  }
  if (module.name !== service.name) {
    throw new Error(
      `service folder ${service.name} exports a module named ${module.name}: one name for one thing`,
    );
  }
  return module;
}

/** Picks the requested services; an unknown name is an error that lists the known ones. */
export function selectServices(
  all: DiscoveredService[],
  requested: string[] | undefined,
): DiscoveredService[] {
  if (!requested || requested.length === 0) return all;
  const byName = new Map(all.map((s) => [s.name, s]));
  return requested.map((name) => {
    const service = byName.get(name);
    if (!service) {
      const known = all.map((s) => s.name).join(', ') || '(none yet)';
      throw new Error(`unknown service "${name}"; known services: ${known}`);
    }
    return service;
  });
}

/** Postgres database name for a service: its name with dashes as underscores. */
export const databaseNameFor = (service: string): string => service.replaceAll('-', '_');
