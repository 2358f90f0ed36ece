// The machine the numbers come from. Absolute times only mean something next to this.
import { readFileSync } from 'node:fs';
import os from 'node:os';

function readOr(path, fallback) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

function cpuModel() {
  const line = readOr('/proc/cpuinfo', '').split('\n').find((l) => l.startsWith('model name'));
  return line ? line.split(':').slice(1).join(':').trim() : (os.cpus()[0]?.model ?? 'unknown');
}

function distribution() {
  const line = readOr('/etc/os-release', '').split('\n').find((l) => l.startsWith('PRETTY_NAME='));
  return line ? line.slice('PRETTY_NAME='.length).replace(/^"|"$/g, '') : 'unknown';
}

/** Rounded 1-minute load average: a busy machine at start or end explains a wide spread. */
export function loadAverage() {
  return Math.round(os.loadavg()[0] * 100) / 100;
}

export function machineInfo() {
  return {
    cores: os.availableParallelism(),
    cpu: cpuModel(),
    kernel: os.release(),
    distribution: distribution(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    uid: process.getuid(),
    date: new Date().toISOString(),
  };
}
