/** package.json as the user meets it: activation, the Settings UI's order and labels, menus (node:test). */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { configurationCategories, contributedKeys, contributedProperties } from '../../common/manifest';

const packageJSON = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'package.json'), 'utf8'));

test('activation: the served languages (and the commands, implicitly), never at start-up', () => {
  const events: string[] = packageJSON.activationEvents;
  assert.ok(events.length > 0);
  for (const event of events) {
    assert.match(event, /^onLanguage:[a-z-]+$/, `${event} is a language activation`);
  }
  const languages = contributedProperties(packageJSON)['mistralLSP.languages'].default as string[];
  assert.deepEqual(events, languages.map((language) => `onLanguage:${language}`));
  assert.ok(semverAtLeast(packageJSON.engines.vscode, 1, 74), 'commands activate implicitly from VS Code 1.74');
});

test('settings: the connection first, every setting ordered within its category', () => {
  const categories = configurationCategories(packageJSON);
  assert.equal(categories[0].title, packageJSON.displayName, 'the first category sits at the extension heading');
  assert.deepEqual(Object.keys(categories[0].properties ?? {}).slice(0, 2), ['mistralLSP.endpoint', 'mistralLSP.model']);
  categories.forEach((category, index) => {
    assert.equal(category.order, index + 1, `${category.title} has its order`);
    const entries = Object.entries(category.properties ?? {});
    const orders = entries.map(([key, schema]) => {
      assert.equal(typeof schema.order, 'number', `${key} has an order (else it sorts alphabetically)`);
      return schema.order as number;
    });
    assert.deepEqual(orders, entries.map((_, i) => i + 1), `${category.title}: orders 1..n in manifest order`);
  });
});

test('settings: keys read "Mistral LSP" in the Settings UI, and categories drop the prefix', () => {
  // The Settings UI labels a setting "<key prefix>: <name>", the prefix split at its capitals
  // ("mistralLsp" would read "Mistral Lsp"); while browsing, a category's id is cut off the
  // prefix: "mistralLSP.completion.debounceMs" reads "Debounce Ms" under "Completion".
  for (const key of Object.keys(contributedProperties(packageJSON))) {
    assert.match(key, /^mistralLSP\./, `${key} is under mistralLSP.`);
  }
  for (const category of configurationCategories(packageJSON)) {
    assert.ok(category.id === 'mistralLSP' || category.id?.startsWith('mistralLSP.'), `${category.title}: id ${category.id}`);
    for (const key of Object.keys(category.properties ?? {})) {
      assert.ok(key.startsWith(`${category.id}.`), `${key} is under its category id ${category.id}`);
    }
  }
  assert.equal(contributedKeys(packageJSON).length, Object.keys(contributedProperties(packageJSON)).length);
});

test('commands and menus carry the product name', () => {
  for (const command of packageJSON.contributes.commands) {
    assert.equal(command.category, 'Mistral LSP', `${command.command} is in the Mistral LSP category`);
  }
  const context = packageJSON.contributes.menus['editor/context'];
  assert.ok(context.every((entry: any) => entry.submenu === 'mistralLsp.editorContext'), 'the editor context menu holds only the submenu');
  const submenu = packageJSON.contributes.submenus.find((entry: any) => entry.id === 'mistralLsp.editorContext');
  assert.equal(submenu.label, 'Mistral LSP');
  const inside = packageJSON.contributes.menus['mistralLsp.editorContext'].map((entry: any) => entry.command);
  assert.ok(inside.includes('mistralLsp.reviewFile'));
});

function semverAtLeast(range: string, major: number, minor: number): boolean {
  const match = /(\d+)\.(\d+)/.exec(range);
  return !!match && (Number(match[1]) > major || (Number(match[1]) === major && Number(match[2]) >= minor));
}
