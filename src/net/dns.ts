/** --dns, --dns-search, --dns-option: what the container's resolv.conf says instead of the host's. */
export interface DnsSettings {
  readonly servers: readonly string[];
  readonly search: readonly string[];
  readonly options: readonly string[];
}

export const NO_DNS_SETTINGS: DnsSettings = { servers: [], search: [], options: [] };

/** The host's resolv.conf, as far as a container's needs it. */
export function parseResolvConf(text: string): DnsSettings {
  const servers: string[] = [];
  let search: string[] = [];
  const options: string[] = [];
  for (const raw of text.split('\n')) {
    const [key, ...values] = raw.replace(/[#;].*$/, '').trim().split(/\s+/);
    if (key === 'nameserver' && values[0]) servers.push(values[0]);
    else if (key === 'search' || key === 'domain') search = values;
    else if (key === 'options') options.push(...values);
  }
  return { servers, search, options };
}

/** Loopback name servers (127.0.0.53 of systemd-resolved, ::1) answer only on the host itself. */
export function isLoopbackAddress(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1';
}

export function renderResolvConf(dns: DnsSettings, comment: string | null = null): string {
  return [
    ...(comment === null ? [] : [`# ${comment}`]),
    ...(dns.search.length > 0 ? [`search ${dns.search.join(' ')}`] : []),
    ...dns.servers.map((server) => `nameserver ${server}`),
    ...(dns.options.length > 0 ? [`options ${dns.options.join(' ')}`] : []),
  ]
    .map((line) => `${line}\n`)
    .join('');
}

/** The user's settings over the base: each one given replaces that part of it. */
export function overrideDns(base: DnsSettings, user: DnsSettings): DnsSettings {
  return {
    servers: user.servers.length > 0 ? user.servers : base.servers,
    search: user.search.length > 0 ? (user.search.length === 1 && user.search[0] === '.' ? [] : user.search) : base.search,
    options: user.options.length > 0 ? user.options : base.options,
  };
}
