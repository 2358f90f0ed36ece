import type { ImageInvocation, ImageIO } from './options.js';

/** Runs an image-management command; each module is loaded only when its command runs. */
export async function executeImageCommand(invocation: ImageInvocation, io: ImageIO): Promise<number> {
  switch (invocation.command) {
    case 'pull':
      return (await import('./pull.js')).pullImage(invocation.options, io);
    case 'images':
      return (await import('./images.js')).listImages(invocation.options, io);
    case 'rmi':
      return (await import('./rmi.js')).removeImages(invocation.options, io);
    case 'tag':
      return (await import('./tag.js')).tagImage(invocation.options, io);
    case 'image-inspect':
      return (await import('./inspect.js')).inspectImages(invocation.options, io);
    case 'login':
      return (await import('./login.js')).login(invocation.options, io);
    case 'logout':
      return (await import('./login.js')).logout(invocation.options, io);
    case 'import':
      return (await import('./import.js')).importImage(invocation.options, io);
    case 'save':
      return (await import('./save.js')).saveImage(invocation.options, io);
    case 'load':
      return (await import('./load.js')).loadImages(invocation.options, io);
    case 'push':
      return (await import('./push.js')).pushImage(invocation.options, io);
  }
}
