import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { claimNewName } from '../../src/engine/container/record.js';
import { ADJECTIVES, NOUNS } from '../../src/engine/shared/random-name.js';
import { ContainerStore } from '../../src/store/containers.js';

const ID = (n: number): string => n.toString(16).padStart(64, '0');

describe('claimNewName', () => {
  it('still finds a name when every plain one is taken', () => {
    const root = mkdtempSync(join(tmpdir(), 'nook-names-'));
    try {
      const store = new ContainerStore(root);
      // A create in progress (this process) holds every adjective_noun name.
      store.begin(ID(1));
      for (const adjective of ADJECTIVES) for (const noun of NOUNS) store.claimName(`${adjective}_${noun}`, ID(1));
      store.begin(ID(2));
      const name = claimNewName(store, undefined, ID(2));
      expect(name).toMatch(/^[a-z]+_[a-z]+_\d+$/);
      expect(store.nameTarget(name)).toBe(ID(2));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
