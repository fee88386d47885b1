import type { Config } from "../config/schema.ts";
import type { Conclave, Overrides, Paths } from "../main.ts";
import type { Logger } from "../shared/logger.ts";

/** Root is what main.ts hands the CLI: the assembly functions (no import cycle back to main). */
export interface Root {
  version: string;
  assemble(config: Config, log: Logger, over?: Overrides, baseUrl?: string): Promise<Conclave>;
  pathsOf(config: Config): Paths;
  baseUrlOf(config: Config, port: number): string;
  defaultTlsNames(config: Config): { dnsNames: string[]; ipAddresses: string[] };
}
