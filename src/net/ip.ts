// Whether a string is an IP address, as node:net's isIP tells, without loading node:net
// (~2 ms at start-up, which ps would pay for formatting its PORTS column).

const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4 = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);
const GROUP = /^[0-9a-fA-F]{1,4}$/;
/** A zone after `%` (fe80::1%eth0), as Node takes it. */
const ZONE = /%[0-9a-zA-Z.:-]+$/;

function groupCount(part: string): number | null {
  if (part === '') return 0;
  const groups = part.split(':');
  const last = groups[groups.length - 1]!;
  // An embedded IPv4 address (::ffff:192.0.2.1) stands for the last two groups.
  const tail = last.includes('.') ? (IPV4.test(last) ? 2 : null) : 1;
  if (tail === null || (tail === 2 && groups.length > 1 && groups.slice(0, -1).some((g) => !GROUP.test(g)))) return null;
  if (tail === 1 && !groups.every((g) => GROUP.test(g))) return null;
  return groups.length - 1 + tail;
}

function isIPv6(text: string): boolean {
  const address = text.replace(ZONE, '');
  const halves = address.split('::');
  if (halves.length > 2) return false;
  if (halves.length === 1) return groupCount(address) === 8;
  const [head, tail] = halves as [string, string];
  // Only the last group may be an IPv4 address: not before "::".
  if (head.includes('.')) return false;
  const before = groupCount(head);
  const after = groupCount(tail);
  return before !== null && after !== null && before + after <= 7;
}

/** 4 or 6 for an address of that family, 0 for anything else. */
export function ipVersion(text: string): 0 | 4 | 6 {
  if (IPV4.test(text)) return 4;
  return isIPv6(text) ? 6 : 0;
}
