import envPaths from 'env-paths';

/**
 * The store's root: env-paths' data dir for "nook" ($XDG_DATA_HOME/nook, by default
 * ~/.local/share/nook). Created 0700 by openStore: image contents may be private.
 */
export function storeRoot(): string {
  return envPaths('nook', { suffix: '' }).data;
}
