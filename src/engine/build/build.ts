import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { applyMetadata, InstructionError } from '../../build/config.js';
import { expandWords, ExpansionError, parseArgs } from '../../build/expand.js';
import { ContainerfileError, parseContainerfile, parseInstructionLine, type Instruction } from '../../build/parse.js';
import { removeOwnedTrees } from '../../runtime/owned-trees.js';
import { hostPlatform } from '../../image/platform.js';
import { formatReference, parseLocalName } from '../../image/reference.js';
import { NookError } from '../../errors.js';
import { BuildCache } from '../../store/build-cache.js';
import { openStore } from '../../store/store.js';
import { containerIdMaps } from '../../sys/idmap.js';
import { commitBuild } from './commit.js';
import { BuildContext } from './context.js';
import { BuildError, RunStepFailed } from './errors.js';
import { buildTime } from './layer-step.js';
import type { BuildIO, BuildNetwork, BuildOptions } from './options.js';
import { defaultNetwork } from '../network/default.js';
import { runStep } from './run-step.js';
import { copyStage, copyStep, imageStage, workdirStep } from './sources.js';
import { cacheKey, stageVariables, type Build, type ImageDoc, type Stage } from './stage.js';

interface StageText {
  readonly from: Instruction;
  readonly body: readonly Instruction[];
  /** The image (or stage) it starts from, args expanded. */
  readonly base: string;
  readonly name: string | null;
}

/** The args every build defines, before any ARG (the platform is this host's: RUN steps run here). */
function predefinedArgs(): Map<string, string> {
  const { os, architecture, variant } = hostPlatform();
  const platform = `${os}/${architecture}${variant ? `/${variant}` : ''}`;
  return new Map([
    ['TARGETPLATFORM', platform],
    ['TARGETOS', os],
    ['TARGETARCH', architecture],
    ['TARGETVARIANT', variant ?? ''],
    ['BUILDPLATFORM', platform],
    ['BUILDOS', os],
    ['BUILDARCH', architecture],
    ['BUILDVARIANT', variant ?? ''],
  ]);
}

/** The stages of the file, with the global ARGs before the first FROM evaluated. */
function splitStages(instructions: readonly Instruction[], options: BuildOptions, escape: string, file: string): { stages: StageText[]; globals: Map<string, string> } {
  const globals = predefinedArgs();
  const stages: { from: Instruction; body: Instruction[]; base: string; name: string | null }[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const words = expandWords(ins.args, globals, escape);
      if (!(words.length === 1 || (words.length === 3 && words[1]!.toLowerCase() === 'as'))) {
        throw new ContainerfileError(file, ins.line, 'FROM takes IMAGE or IMAGE AS NAME');
      }
      stages.push({ from: ins, body: [], base: words[0]!, name: words[2]?.toLowerCase() ?? null });
    } else if (stages.length === 0) {
      if (ins.keyword !== 'ARG') throw new ContainerfileError(file, ins.line, `${ins.keyword} before the first FROM: only ARG may come before it`);
      for (const [name, value] of parseArgs(ins.args, globals, escape)) {
        const given = options.buildArgs.get(name) ?? value;
        if (given !== null && given !== undefined) globals.set(name, given);
      }
    } else {
      stages[stages.length - 1]!.body.push(ins);
    }
  }
  if (stages.length === 0) throw new ContainerfileError(file, 1, 'no FROM instruction');
  return { stages, globals };
}

/** The stages the target needs: itself and what it reads (FROM, --from, --mount from=), transitively. */
function neededStages(stages: readonly StageText[], target: number): Set<number> {
  const indexOf = (ref: string, before: number): number => {
    const i = /^\d+$/.test(ref) ? Number(ref) : stages.findIndex((s) => s.name === ref.toLowerCase());
    return i >= 0 && i < before ? i : -1;
  };
  const needed = new Set<number>();
  const visit = (i: number): void => {
    if (needed.has(i)) return;
    needed.add(i);
    const refs = [stages[i]!.base];
    for (const ins of stages[i]!.body) {
      for (const flag of ins.flags) {
        if (flag.name === 'from' && flag.value) refs.push(flag.value);
        if (flag.name === 'mount' && flag.value) refs.push(...[...flag.value.matchAll(/(?:^|,)from=([^,]+)/g)].map((m) => m[1]!));
      }
    }
    for (const ref of refs) {
      // A reference through a variable is only known once the stage runs: every stage before it may be the one.
      if (ref.includes('$')) for (let j = 0; j < i; j++) visit(j);
      const j = indexOf(ref, i);
      if (j >= 0) visit(j);
    }
  };
  visit(target);
  return needed;
}

/** An error as the build reports it: with the file, line and instruction it happened at. */
function syntaxError(err: unknown, file: string, ins: Instruction | null): never {
  if (err instanceof ContainerfileError) throw new BuildError(err.message, 'fix the Containerfile at that line');
  if (ins === null) throw err;
  const where = `${file}:${ins.line}: ${ins.keyword}`;
  if (err instanceof ExpansionError || err instanceof InstructionError) throw new BuildError(`${where}: ${err.message}`, 'fix the Containerfile at that line');
  // A step's own failure (a missing source, an unknown user …) keeps its hint and exit code.
  if (err instanceof NookError && !err.message.startsWith(`${file}:`)) {
    throw new NookError(err.code, `${where}: ${err.message}`, { ...(err.hint === undefined ? {} : { hint: err.hint }), exitCode: err.exitCode, cause: err });
  }
  throw err;
}

/** ARG in a stage: a --build-arg wins, then the default, then the global value of that name. */
function argStep(build: Build, stage: Stage, ins: Instruction): void {
  const predefined = predefinedArgs();
  for (const [name, value] of parseArgs(ins.args, stageVariables(stage), build.escape)) {
    const resolved = build.options.buildArgs.get(name) ?? value ?? build.globalArgs.get(name) ?? predefined.get(name);
    stage.args.set(name, resolved);
    stage.key = cacheKey([stage.key, 'ARG', name, resolved ?? null]);
  }
}

function metadataStep(build: Build, stage: Stage, ins: Instruction): string {
  const createdBy = applyMetadata(ins, stage.meta, stageVariables(stage), build.escape);
  stage.key = cacheKey([stage.key, createdBy]);
  return createdBy;
}

async function execute(build: Build, stage: Stage, ins: Instruction, text: string): Promise<void> {
  try {
    switch (ins.keyword) {
      case 'RUN':
        return await runStep(build, stage, ins, text);
      case 'COPY':
      case 'ADD':
        return await copyStep(build, stage, ins);
      case 'ARG':
        return argStep(build, stage, ins);
      case 'WORKDIR': {
        const createdBy = metadataStep(build, stage, ins);
        if (!(await workdirStep(build, stage, createdBy))) stage.doc.history.push({ created: buildTime(build), created_by: createdBy, empty_layer: true });
        return;
      }
      default: {
        const createdBy = metadataStep(build, stage, ins);
        stage.doc.history.push({ created: buildTime(build), created_by: createdBy, empty_layer: true });
      }
    }
  } catch (err) {
    syntaxError(err, build.file, ins);
  }
}

async function startStage(build: Build, text: StageText, index: number): Promise<Stage> {
  const platform = text.from.flags.find((f) => f.name === 'platform')?.value;
  checkPlatform(platform ?? null);
  const earlier = build.stages.find((s) => s.name !== null && s.name === text.base.toLowerCase());
  if (earlier !== undefined) return copyStage(earlier, index, text.name);
  if (text.base === 'scratch') {
    const { os, architecture } = hostPlatform();
    const doc: ImageDoc = { architecture, os, config: {}, rootfs: { type: 'layers', diff_ids: [] }, history: [] };
    return { name: text.name, index, layers: [], diffIds: [], doc, meta: { config: doc.config, cmdSet: false, author: undefined }, args: new Map(), key: cacheKey(['SCRATCH']) };
  }
  const stage = await imageStage(build, text.base, index, text.name);
  // ONBUILD triggers of the base image run now, as this stage's first instructions.
  const triggers = stage.doc.config.OnBuild ?? [];
  stage.doc.config.OnBuild = null;
  for (const trigger of triggers) {
    let ins: Instruction;
    try {
      ins = parseInstructionLine(trigger, `${text.base} ONBUILD`);
    } catch (err) {
      syntaxError(err, build.file, null);
    }
    build.io.out(`--> ONBUILD ${trigger}`);
    await execute(build, stage, ins, trigger);
  }
  return stage;
}

function checkPlatform(platform: string | null): void {
  if (platform === null) return;
  const host = hostPlatform();
  const [os, arch] = platform.split('/');
  if (os !== host.os || arch !== host.architecture) {
    throw new BuildError(`cannot build for ${platform} on this ${host.os}/${host.architecture} host`, 'nook runs RUN steps natively: build on a machine of that platform');
  }
}

function readContainerfile(options: BuildOptions): { text: string; name: string } {
  if (options.file === '-') return { text: readFileSync(0, 'utf8'), name: 'stdin' };
  const path = BuildContext.containerfilePath(options.context, options.file);
  try {
    return { text: readFileSync(path, 'utf8'), name: basename(path) };
  } catch (err) {
    throw new BuildError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** RUN steps' network without --network: nook run's default where that is pasta, else none. */
function runNetworkDefault(options: BuildOptions, io: BuildIO): BuildNetwork {
  if (options.network !== 'default') return options.network;
  const chosen = defaultNetwork();
  if (chosen.kind === 'pasta') return 'pasta';
  io.err(chosen.kind === 'none' ? (chosen.warning ?? 'WARN: RUN steps have no network') : 'WARN: RUN steps get a network through pasta, which is not installed: they have none (--network none)');
  return 'none';
}

/** `nook build`: the image a Containerfile describes, in the store, tagged; its id last on stdout. */
export async function buildCommand(options: BuildOptions, io: BuildIO): Promise<number> {
  checkPlatform(options.platform);
  const names = options.tags.map((tag) => formatReference(parseLocalName(tag)));
  const { text, name: file } = readContainerfile(options);
  const context = new BuildContext(options.context);
  let parsed;
  let split;
  try {
    parsed = parseContainerfile(text, file);
    split = splitStages(parsed.instructions, options, parsed.escape, file);
  } catch (err) {
    syntaxError(err, file, null);
  }
  const { stages, globals } = split;
  const target = options.target === null ? stages.length - 1 : stages.findIndex((s) => s.name === options.target!.toLowerCase());
  if (target < 0) throw new BuildError(`no stage named "${options.target}" in ${file}`, 'give --target the name of a FROM … AS NAME stage');
  const needed = neededStages(stages, target);

  const store = await openStore();
  const maps = containerIdMaps();
  if (maps.warning !== null) io.err(`WARN: ${maps.warning}`);
  const progress: BuildIO = options.quiet ? { out: () => undefined, err: io.err } : io;
  const build: Build = {
    options,
    network: runNetworkDefault(options, io),
    io: progress,
    store,
    maps,
    cache: new BuildCache(store.root),
    context,
    scratch: null,
    escape: parsed.escape,
    stages: [],
    globalArgs: globals,
    file,
    counter: 0,
  };
  const total = [...needed].reduce((sum, i) => sum + 1 + stages[i]!.body.length, 0);
  let step = 0;
  // podman names the stage only when there are several.
  const prefix = (i: number): string => (stages.length > 1 ? `[${i + 1}/${stages.length}] ` : '');
  try {
    let last: Stage | null = null;
    for (const [index, stageText] of stages.entries()) {
      if (!needed.has(index)) continue;
      progress.out(`${prefix(index)}STEP ${++step}/${total}: ${stageText.from.text}`);
      const stage = await startStage(build, stageText, index);
      build.stages[index] = stage;
      for (const ins of stageText.body) {
        progress.out(`${prefix(index)}STEP ${++step}/${total}: ${ins.text}`);
        await execute(build, stage, ins, ins.text);
      }
      last = stage;
    }
    progress.out(`${prefix(target)}COMMIT ${names[0] ?? ''}`.trimEnd());
    const id = await commitBuild(build, last!, names);
    progress.out(`--> ${id.slice(0, 12)}`);
    for (const n of names) progress.out(`Successfully tagged ${n}`);
    if (options.iidfile !== null) writeFileSync(options.iidfile, `sha256:${id}`);
    io.out(id);
    return 0;
  } catch (err) {
    if (err instanceof RunStepFailed) {
      io.err(`Error: ${err.message}`);
      return err.status;
    }
    if (err instanceof NookError) throw err;
    throw new BuildError((err as Error).message ?? String(err));
  } finally {
    if (build.scratch !== null) await removeOwnedTrees(maps, [build.scratch]).catch(() => undefined);
  }
}
