/**
 * Sizes and ages as podman prints them (Go's go-units): decimal units with three
 * significant digits ("4.26 MB"), and rough ages ("About an hour ago", "3 days ago").
 */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let size = bytes;
  let unit = 0;
  while (size >= 1000 && unit < units.length - 1) {
    size /= 1000;
    unit++;
  }
  return `${Number(size.toPrecision(3))} ${units[unit]}`;
}

export function humanAge(then: Date, now: Date = new Date()): string {
  const seconds = (now.getTime() - then.getTime()) / 1000;
  const minutes = seconds / 60;
  const hours = Math.round(minutes / 60);
  if (seconds < 1) return 'Less than a second ago';
  if (Math.floor(seconds) === 1) return '1 second ago';
  if (minutes < 1) return `${Math.floor(seconds)} seconds ago`;
  if (Math.floor(minutes) === 1) return 'About a minute ago';
  if (minutes < 60) return `${Math.floor(minutes)} minutes ago`;
  if (hours === 1) return 'About an hour ago';
  if (hours < 48) return `${hours} hours ago`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days ago`;
  if (hours < 24 * 30 * 3) return `${Math.floor(hours / 24 / 7)} weeks ago`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months ago`;
  return `${Math.floor(hours / 24 / 365)} years ago`;
}

/** Columns padded to their widest cell plus two spaces, as Go's tabwriter lays out podman's tables. */
export function formatTable(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]?.map((_, col) => Math.max(...rows.map((r) => (r[col] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, col) => (col === r.length - 1 ? cell : cell.padEnd(widths[col]! + 2))).join(''));
}
