/**
 * Reading the extension's own package.json: the contributed settings, whether
 * `contributes.configuration` is one object or a list of categories. No VS Code API here,
 * so the unit tests can check the manifest in plain Node.
 */

/**
 * The VS Code settings' prefix: `mistralLSP.endpoint` reads "Mistral LSP: Endpoint" in the
 * Settings UI (VS Code turns `mistralLsp` into "Mistral Lsp").
 */
export const SECTION = 'mistralLSP';

/** The server's configuration section (workspace/configuration, initializationOptions). */
export const SERVER_SECTION = 'mistralLsp';

/** One `contributes.configuration` category. */
export interface ConfigurationCategory {
  id?: string;
  title?: string;
  order?: number;
  properties?: Record<string, Record<string, unknown>>;
}

/** The configuration categories, in manifest order. */
export function configurationCategories(packageJSON: any): ConfigurationCategory[] {
  const configuration = packageJSON?.contributes?.configuration;
  if (!configuration) {
    return [];
  }
  return Array.isArray(configuration) ? configuration : [configuration];
}

/** Every contributed setting (full key -> schema), over all categories. */
export function contributedProperties(packageJSON: any): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const category of configurationCategories(packageJSON)) {
    Object.assign(out, category.properties ?? {});
  }
  return out;
}

/** The contributed keys (without the section prefix). */
export function contributedKeys(packageJSON: any): string[] {
  return Object.keys(contributedProperties(packageJSON))
    .filter((key) => key.startsWith(`${SECTION}.`))
    .map((key) => key.slice(SECTION.length + 1));
}
