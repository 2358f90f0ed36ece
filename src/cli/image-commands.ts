import { Option, type Command } from 'commander';
import { UsageError } from '../errors.js';
import type { ExistsInvocation } from '../engine/system/exists.js';
import type { ImageInvocation, SaveOptions } from '../engine/image/options.js';

/** podman's boolean flags take `--flag`, `--flag=true` or `--flag=false`. */
function parseBool(flag: string) {
  return (value: string | undefined): boolean => {
    if (value === undefined || value === 'true') return true;
    if (value === 'false') return false;
    throw new UsageError(`--${flag} takes true or false, not "${value}"`, `e.g. --${flag}=false`);
  };
}

export function tlsVerifyOption(): Option {
  return new Option('--tls-verify [bool]', 'use https and verify certificates (false: plain http)').argParser(parseBool('tls-verify')).default(true);
}

/** Adds pull, push, images, rmi, tag, image inspect, import, save, load, login and logout to the program. */
export function addImageCommands(program: Command, onInvoke: (invocation: ImageInvocation | ExistsInvocation) => void): void {
  program
    .command('pull')
    .description('pull an image from a registry')
    .argument('<image>', 'image reference, e.g. alpine or quay.io/org/app:v1')
    .option('-q, --quiet', 'print only the image id', false)
    .option('--platform <os/arch[/variant]>', 'platform to pick from a multi-platform image (default: this host)')
    .addOption(tlsVerifyOption())
    .action((reference: string, o: Record<string, unknown>) => {
      onInvoke({
        command: 'pull',
        options: { reference, quiet: o.quiet as boolean, platform: o.platform as string | undefined, tlsVerify: o.tlsVerify as boolean },
      });
    });

  program
    .command('images')
    .description('list images in the store')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action((o: Record<string, unknown>) => onInvoke({ command: 'images', options: { format: o.format as 'table' | 'json' } }));

  program
    .command('rmi')
    .description('remove images (a name only untags when the image has others)')
    .argument('<image...>', 'image names or ids')
    .option('-f, --force', 'remove an image with several names by id', false)
    .action((images: string[], o: Record<string, unknown>) => onInvoke({ command: 'rmi', options: { images, force: o.force as boolean } }));

  program
    .command('tag')
    .description('add names to an image')
    .argument('<image>', 'image name or id')
    .argument('<name...>', 'new names')
    .action((image: string, names: string[]) => onInvoke({ command: 'tag', options: { image, names } }));

  const image = program.command('image').description('manage images');
  image
    .command('inspect')
    .description('show an image as JSON')
    .argument('<image...>', 'image names or ids')
    .action((images: string[]) => onInvoke({ command: 'image-inspect', options: { images } }));
  image
    .command('exists')
    .description('exit 0 if the image is in the store, 1 if not')
    .argument('<image>', 'image name or id')
    .action((name: string) => onInvoke({ command: 'exists', kind: 'image', name }));

  program
    .command('login')
    .description('log in to a registry')
    .argument('<registry>', 'registry host, e.g. quay.io or localhost:5000')
    .option('-u, --username <user>', 'user name')
    .option('-p, --password <password>', 'password (visible to other users in ps: prefer --password-stdin)')
    .option('--password-stdin', 'read the password from standard input', false)
    .addOption(tlsVerifyOption())
    .action((registry: string, o: Record<string, unknown>) => {
      if (o.password !== undefined && o.passwordStdin) throw new UsageError('--password and --password-stdin exclude each other', 'give one of them');
      onInvoke({
        command: 'login',
        options: {
          registry,
          username: o.username as string | undefined,
          password: o.password as string | undefined,
          passwordStdin: o.passwordStdin as boolean,
          tlsVerify: o.tlsVerify as boolean,
        },
      });
    });

  program
    .command('logout')
    .description('remove the login for a registry')
    .argument('<registry>', 'registry host')
    .action((registry: string) => onInvoke({ command: 'logout', options: { registry } }));

  program
    .command('push')
    .description('push an image to a registry')
    .argument('<image>', 'image name or id')
    .argument('[destination]', 'where to push it, e.g. quay.io/org/app:v1 (default: the image name)')
    .option('-q, --quiet', 'print no progress', false)
    .addOption(tlsVerifyOption())
    .action((image: string, destination: string | undefined, o: Record<string, unknown>) => {
      onInvoke({ command: 'push', options: { image, destination, quiet: o.quiet as boolean, tlsVerify: o.tlsVerify as boolean } });
    });

  program
    .command('import')
    .description('make a one-layer image of a root filesystem tarball')
    .argument('<tarball>', 'tar archive (plain, gzip or zstd), or - for standard input')
    .argument('[name]', 'name for the image, e.g. mybase:v1 (becomes localhost/mybase:v1)')
    .action((source: string, name: string | undefined) => onInvoke({ command: 'import', options: { source, name } }));

  program
    .command('save')
    .description('write an image to an archive')
    .argument('<image>', 'image name or id')
    .option('-o, --output <file>', 'archive to write (default: standard output)')
    .addOption(new Option('--format <format>', 'archive format').choices(['docker-archive', 'oci-archive']).default('docker-archive'))
    .action((image: string, o: Record<string, unknown>) => {
      onInvoke({ command: 'save', options: { image, output: o.output as string | undefined, format: o.format as SaveOptions['format'] } });
    });

  program
    .command('load')
    .description('load images from a docker-archive or oci-archive')
    .option('-i, --input <file>', 'archive to read, plain or compressed (default: standard input)')
    .action((o: Record<string, unknown>) => onInvoke({ command: 'load', options: { input: o.input as string | undefined } }));
}
