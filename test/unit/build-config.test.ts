import { describe, expect, it } from 'vitest';
import { applyMetadata, InstructionError, parseDuration, type RunConfigDoc, type StageConfig } from '../../src/build/config.js';
import { parseContainerfile } from '../../src/build/parse.js';

/** Applies a Containerfile's metadata lines to a base config, as a stage would. */
function apply(lines: string, base: RunConfigDoc = {}, vars = new Map<string, string>()): { stage: StageConfig; history: string[] } {
  const stage: StageConfig = { config: structuredClone(base), cmdSet: false, author: undefined };
  const history = parseContainerfile(lines, 'F').instructions.map((ins) => applyMetadata(ins, stage, vars, '\\'));
  return { stage, history };
}

describe('metadata instructions', () => {
  it('drops the base image CMD at ENTRYPOINT, but keeps one set in the stage', () => {
    expect(apply('ENTRYPOINT ["/e"]', { Cmd: ['base'] }).stage.config.Cmd).toBeNull();
    expect(apply('CMD ["mine"]\nENTRYPOINT ["/e"]', { Cmd: ['base'] }).stage.config.Cmd).toEqual(['mine']);
    expect(apply('ENTRYPOINT run me').stage.config.Entrypoint).toEqual(['/bin/sh', '-c', 'run me']);
  });

  it('uses SHELL for the shell form', () => {
    expect(apply('SHELL ["/bin/bash", "-xc"]\nCMD echo hi').stage.config.Cmd).toEqual(['/bin/bash', '-xc', 'echo hi']);
    expect(() => apply('SHELL /bin/bash')).toThrow(InstructionError);
  });

  it('writes HEALTHCHECK as Docker does: CMD, CMD-SHELL, NONE and Go durations in ns', () => {
    expect(apply('HEALTHCHECK --interval=1m30s --timeout=5s --start-period=100ms --retries=2 CMD curl -f x').stage.config.Healthcheck).toEqual({
      Test: ['CMD-SHELL', 'curl -f x'],
      Interval: 90e9,
      Timeout: 5e9,
      StartPeriod: 100e6,
      Retries: 2,
    });
    expect(apply('HEALTHCHECK NONE').stage.config.Healthcheck).toEqual({ Test: ['NONE'] });
    expect(() => apply('HEALTHCHECK --bogus=1 CMD x')).toThrow(InstructionError);
    expect(parseDuration('0', 'x')).toBe(0);
    expect(() => parseDuration('5 sec', 'interval')).toThrow(InstructionError);
  });

  it('normalises EXPOSE ports and merges with the base', () => {
    expect(apply('EXPOSE 80 443/TCP 53/udp 8000-8001', { ExposedPorts: { '22/tcp': {} } }).stage.config.ExposedPorts).toEqual({
      '22/tcp': {},
      '80/tcp': {},
      '443/tcp': {},
      '53/udp': {},
      '8000-8001/tcp': {},
    });
    expect(() => apply('EXPOSE http')).toThrow(InstructionError);
  });

  it('takes VOLUME as JSON or words, LABEL pairs, USER and STOPSIGNAL with variables', () => {
    const vars = new Map([['U', 'app']]);
    const { stage } = apply('VOLUME /a /b\nVOLUME ["/c"]\nLABEL a=1 b="two words"\nUSER $U:staff\nSTOPSIGNAL SIGQUIT', { Labels: { base: 'yes' } }, vars);
    expect(stage.config.Volumes).toEqual({ '/a': {}, '/b': {}, '/c': {} });
    expect(stage.config.Labels).toEqual({ base: 'yes', a: '1', b: 'two words' });
    expect(stage.config.User).toBe('app:staff');
    expect(stage.config.StopSignal).toBe('SIGQUIT');
  });

  it('continues a relative WORKDIR from the current one', () => {
    expect(apply('WORKDIR /a\nWORKDIR b/../c\nWORKDIR d').stage.config.WorkingDir).toBe('/a/c/d');
  });

  it('replaces an ENV of the same name and records it in the history', () => {
    const { stage, history } = apply('ENV A=1 B=2\nENV A=3', { Env: ['PATH=/bin', 'A=0'] });
    expect(stage.config.Env).toEqual(['PATH=/bin', 'B=2', 'A=3']);
    expect(history[1]).toBe('/bin/sh -c #(nop) ENV A="3"');
  });

  it('keeps ONBUILD triggers as text and refuses the ones Docker refuses', () => {
    expect(apply('ONBUILD RUN make\nONBUILD COPY . /src').stage.config.OnBuild).toEqual(['RUN make', 'COPY . /src']);
    expect(() => apply('ONBUILD FROM x')).toThrow(InstructionError);
    expect(() => apply('ONBUILD ONBUILD RUN x')).toThrow(InstructionError);
  });
});
