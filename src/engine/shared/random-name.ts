import { closeSync, openSync, readSync } from 'node:fs';

// podman-style readable names (adjective_noun); the nouns are animals that nest.
export const ADJECTIVES: readonly string[] = [
  'amazing', 'bold', 'brave', 'calm', 'clever', 'cosy', 'crisp', 'curious', 'dapper', 'eager',
  'fervent', 'gentle', 'happy', 'hardy', 'jolly', 'keen', 'kind', 'lively', 'lucid', 'merry',
  'mellow', 'modest', 'nimble', 'noble', 'patient', 'plucky', 'quiet', 'quirky', 'rapid', 'serene',
  'sharp', 'shy', 'snug', 'steady', 'sturdy', 'sunny', 'swift', 'tender', 'tidy', 'trusty',
  'upbeat', 'vivid', 'warm', 'wise', 'witty', 'zealous', 'agile', 'bright', 'deft', 'frank',
];
export const NOUNS: readonly string[] = [
  'wren', 'robin', 'finch', 'swallow', 'heron', 'owl', 'puffin', 'sparrow', 'starling', 'thrush',
  'kingfisher', 'magpie', 'lark', 'plover', 'tern', 'badger', 'otter', 'beaver', 'hedgehog', 'dormouse',
  'squirrel', 'rabbit', 'fox', 'marten', 'vole', 'mole', 'hare', 'stoat', 'weasel', 'bat',
  'swift', 'martin', 'oriole', 'warbler', 'bunting', 'grebe', 'dipper', 'linnet', 'siskin', 'pipit',
  'weaver', 'hornet', 'wasp', 'bee', 'termite', 'ant', 'tortoise', 'turtle', 'penguin', 'gannet',
];

/**
 * A readable name such as "plucky_wren"; the caller retries when it is taken. With
 * `suffixed`, a random number follows ("plucky_wren_48213"), for when the plain names run
 * short (there are only 2,500).
 */
export function randomName(suffixed = false): string {
  const fd = openSync('/dev/urandom', 'r');
  const bytes = Buffer.alloc(8);
  try {
    readSync(fd, bytes, 0, bytes.length, null);
  } finally {
    closeSync(fd);
  }
  const name = `${ADJECTIVES[bytes.readUInt16LE(0) % ADJECTIVES.length]}_${NOUNS[bytes.readUInt16LE(2) % NOUNS.length]}`;
  return suffixed ? `${name}_${bytes.readUInt32LE(4) % 1_000_000}` : name;
}
