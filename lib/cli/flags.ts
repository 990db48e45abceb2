/**
 * What every `pjrt-bert` subcommand shares to read its flags: {@link UsageError} (printed with
 * the command's help, exit 2), {@link parseFlags} and {@link positiveInt}. Apart from `main.ts`
 * and the command modules, which both need it, so that neither imports the other back.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A usage problem (unknown flag, missing value): printed with the command's help, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Parses `argv` with node's parseArgs, turning its errors into {@link UsageError}. Sync. */
export function parseFlags(
  argv: string[],
  options: NonNullable<ParseArgsConfig['options']>,
  help: string,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } | undefined {
  try {
    const parsed = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    if (parsed.values.help) {
      process.stdout.write(`${help}\n`);
      return undefined;
    }
    return parsed as { values: Record<string, string | boolean | undefined>; positionals: string[] };
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${help}`);
  }
}

/** Reads a positive integer flag. Sync; throws UsageError. */
export function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got '${value}'`);
  return n;
}

/** Splits a comma-separated flag and checks each item against `allowed`. Sync; throws UsageError. */
export function choiceList<T extends string>(value: string, flag: string, allowed: readonly T[]): T[] {
  const items = value.split(',').map((item) => item.trim()).filter(Boolean);
  const bad = items.filter((item) => !allowed.includes(item as T));
  if (items.length === 0 || bad.length > 0) throw new UsageError(`${flag} takes a comma-separated list of ${allowed.join(', ')}; got '${value}'`);
  return [...new Set(items)] as T[];
}
