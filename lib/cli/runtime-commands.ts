/**
 * `pjrt-bert devices` and `pjrt-bert plugin`: see what a PJRT plugin offers, and install or
 * locate plugins.
 */
import { loadAddon } from '../native/binding.js';
import { Runtime } from '../runtime/runtime.js';
import { INSTALL_COMMANDS, isPluginName, pluginCandidates, resolvePlugin, type PluginName } from '../runtime/plugin-discovery.js';
import { installCpuPlugin } from '../runtime/provision.js';
import { UsageError, parseFlags, positiveInt } from './flags.js';

export { parseFlags, positiveInt } from './flags.js';

const DEVICES_HELP = `usage: pjrt-bert devices [--plugin cpu|tpu|cuda|PATH] [--cpu-devices N] [--json]

Opens the plugin, then lists its platform, PJRT API versions and addressable devices.`;

/** `pjrt-bert devices`. Async; returns the exit code. */
export async function runDevices(argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, { plugin: { type: 'string', default: 'cpu' }, 'cpu-devices': { type: 'string' }, json: { type: 'boolean' } }, DEVICES_HELP);
  if (!parsed) return 0;
  const values = parsed.values as { plugin: string; 'cpu-devices'?: string; json?: boolean };
  const cpuDevices = positiveInt(values['cpu-devices'], '--cpu-devices');
  using rt = await Runtime.open({ plugin: values.plugin, ...(cpuDevices ? { cpuDevices } : {}) });
  const report = {
    plugin: rt.pluginPath,
    platform: rt.platformName,
    platformVersion: rt.platformVersion,
    pluginApi: `${rt.apiVersion.major}.${rt.apiVersion.minor}`,
    headerApi: `${Runtime.headerApiVersion.major}.${Runtime.headerApiVersion.minor}`,
    devices: rt.devices.map((device) => ({ ...device, memory: rt.memoryStats(device.index) })),
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return 0;
  }
  const lines = [
    `plugin    ${report.plugin}`,
    `platform  ${report.platform} ${report.platformVersion}`,
    `PJRT API  plugin ${report.pluginApi}, pjrt-bert built against ${report.headerApi}`,
    `devices   ${report.devices.length}`,
    ...report.devices.map((d) => {
      const memory = d.memory?.bytesLimit ? `  ${(d.memory.bytesLimit / 2 ** 30).toFixed(1)} GiB` : '';
      return `  [${d.index}] id ${d.id}  ${d.kind}  ${d.debugString}${memory}`;
    }),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

const PLUGIN_HELP = `usage: pjrt-bert plugin install cpu
       pjrt-bert plugin where [cpu|tpu|cuda]

install cpu   fetch the pinned CPU plugin from PyPI into pjrt-bert's cache (offline once cached)
where         show where each plugin is found (and its PJRT API version), or how to install it`;

/** `pjrt-bert plugin install|where`. Async; returns the exit code. */
export async function runPlugin(argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, {}, PLUGIN_HELP);
  if (!parsed) return 0;
  const [action, name, ...extra] = parsed.positionals;
  if (extra.length) throw new UsageError(`unexpected arguments: ${extra.join(' ')}\n\n${PLUGIN_HELP}`);
  if (action === 'install') {
    if (name === 'cpu') {
      process.stdout.write(`${await installCpuPlugin()}\n`);
      return 0;
    }
    if (name && isPluginName(name)) {
      process.stderr.write(`The ${name} plugin is installed with pip, not by pjrt-bert:\n  ${INSTALL_COMMANDS[name]}\n`);
      return 1;
    }
    throw new UsageError(`plugin install takes 'cpu'\n\n${PLUGIN_HELP}`);
  }
  if (action === 'where') {
    const names: PluginName[] = name === undefined ? ['cpu', 'tpu', 'cuda'] : isPluginName(name) ? [name] : [];
    if (!names.length) throw new UsageError(`unknown plugin '${name}'; use cpu, tpu or cuda`);
    let missing = 0;
    for (const plugin of names) {
      try {
        const file = resolvePlugin(plugin);
        // Loading a plugin and reading its API version creates no client (safe even for libtpu).
        const version = loadAddon().loadPlugin(file).apiVersion;
        process.stdout.write(`${plugin.padEnd(4)}  ${file}  (PJRT API ${version.major}.${version.minor})\n`);
      } catch (error) {
        missing++;
        process.stdout.write(`${plugin.padEnd(4)}  not installed: ${INSTALL_COMMANDS[plugin]}\n`);
        if (process.env.PJRT_BERT_DEBUG) process.stdout.write(`      searched: ${pluginCandidates(plugin).join(', ')} (${(error as Error).message})\n`);
      }
    }
    return missing === names.length ? 1 : 0;
  }
  throw new UsageError(`unknown plugin action '${action ?? ''}'\n\n${PLUGIN_HELP}`);
}
