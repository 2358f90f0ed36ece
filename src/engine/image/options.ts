// What each image command is asked for: the CLI maps its flags onto these.

/** Where an image command prints: results to `out`, progress and warnings to `err`. */
export interface ImageIO {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

export interface PullOptions {
  readonly reference: string;
  readonly quiet: boolean;
  /** `os/arch[/variant]`; undefined: the host's. */
  readonly platform: string | undefined;
  readonly tlsVerify: boolean;
}

export interface ImagesOptions {
  readonly format: 'table' | 'json';
}

export interface RmiOptions {
  readonly images: readonly string[];
  readonly force: boolean;
}

export interface TagOptions {
  readonly image: string;
  readonly names: readonly string[];
}

export interface ImageInspectOptions {
  readonly images: readonly string[];
}

export interface LoginOptions {
  readonly registry: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly passwordStdin: boolean;
  readonly tlsVerify: boolean;
}

export interface LogoutOptions {
  readonly registry: string;
}

export interface ImportOptions {
  /** A file, or `-` for standard input. */
  readonly source: string;
  readonly name: string | undefined;
}

export interface SaveOptions {
  readonly image: string;
  /** undefined: standard output, which must not be a terminal. */
  readonly output: string | undefined;
  readonly format: 'docker-archive' | 'oci-archive';
}

export interface LoadOptions {
  /** undefined: standard input. */
  readonly input: string | undefined;
}

export interface PushOptions {
  readonly image: string;
  /** undefined: the image's own name. */
  readonly destination: string | undefined;
  readonly quiet: boolean;
  readonly tlsVerify: boolean;
}

/** The image-management commands' invocations (see createProgram). */
export type ImageInvocation =
  | { readonly command: 'pull'; readonly options: PullOptions }
  | { readonly command: 'images'; readonly options: ImagesOptions }
  | { readonly command: 'rmi'; readonly options: RmiOptions }
  | { readonly command: 'tag'; readonly options: TagOptions }
  | { readonly command: 'image-inspect'; readonly options: ImageInspectOptions }
  | { readonly command: 'login'; readonly options: LoginOptions }
  | { readonly command: 'logout'; readonly options: LogoutOptions }
  | { readonly command: 'import'; readonly options: ImportOptions }
  | { readonly command: 'save'; readonly options: SaveOptions }
  | { readonly command: 'load'; readonly options: LoadOptions }
  | { readonly command: 'push'; readonly options: PushOptions };
