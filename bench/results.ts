import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { median } from './support.js';

/** One run of one method: what it cost and whether the target then held the source's rows. */
export interface Sample {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly maxRssMb?: number;
  /** CPU seconds the source server's processes (its backends) spent during the run. */
  readonly sourceCpuSeconds?: number;
  /** CPU seconds the target server's processes (its backends) spent during the run. */
  readonly targetCpuSeconds?: number;
}

/** A figure of a sample a goal can bound. */
export type Measure = keyof Sample;

export interface MethodFigures {
  readonly section: string;
  readonly name: string;
  /** Another method this one is compared with (its ratio is printed beside the baseline's). */
  readonly versus?: string;
  readonly samples: Sample[];
  /** Row count and digest on the target matched the source's, each time they were checked. */
  checked: boolean | undefined;
}

export interface Goal {
  readonly text: string;
  readonly method: string;
  /** The method it is compared with; without one, the goal bounds the method's own median. */
  readonly versus?: string;
  readonly atMost: number;
  /** The figure compared: wall seconds unless said. */
  readonly of?: Measure;
  /** Printed after the value when the goal bounds a figure rather than a ratio (e.g. `MB`). */
  readonly unit?: string;
}

/** A goal with the value measured for it. */
export interface GoalResult {
  readonly text: string;
  readonly value: number | null;
  readonly atMost: number;
  readonly met: boolean | null;
}

/** One method's line of the table and of the JSON file. */
export interface ResultRow {
  readonly section: string;
  readonly method: string;
  readonly medianSeconds: number;
  readonly seconds: string;
  readonly ratio: number | null;
  readonly versus: string | null;
  readonly ratioVersus: number | null;
  readonly cpuSeconds: number;
  readonly cpuSecondsPerGb: number | null;
  readonly sourceCpuSeconds: number | null;
  readonly targetCpuSeconds: number | null;
  readonly peakRssMb: number;
  readonly checked: boolean | null;
}

/** One way of copying a benchmark measures: a run of it gives a sample. */
export interface Method {
  readonly name: string;
  /** Another method this one is compared with. */
  readonly versus?: string;
  readonly go: () => Promise<Sample>;
}

export interface Rounds {
  readonly rounds: number;
  /** Only the methods whose names match (`--only`); all by default. */
  readonly only?: RegExp;
  /** Before each run: the target emptied. */
  readonly reset: () => Promise<unknown>;
  /** After each run: whether the target holds the source's rows (recorded with the method). */
  readonly check?: (method: string) => Promise<boolean>;
}

/** Figures of one benchmark run, by section, in the order methods were first measured. */
export class Results {
  readonly methods = new Map<string, MethodFigures>();

  constructor(
    /** The method each section's ratios are taken against. */
    private readonly baselines: Readonly<Record<string, string>>,
    /** Bytes of the big table as COPY text, for CPU seconds per GB. */
    public textBytes = 0,
  ) {}

  record(section: string, name: string, sample: Sample, versus?: string): void {
    const figures = this.methods.get(name) ?? {
      section,
      name,
      ...(versus ? { versus } : {}),
      samples: [],
      checked: undefined,
    };
    figures.samples.push(sample);
    this.methods.set(name, figures);
  }

  /**
   * Each method `rounds` times, the order reversed every other round (so that none always runs on
   * a fresher server), the target reset before each run and checked after it.
   */
  async measure(section: string, methods: readonly Method[], rounds: Rounds): Promise<void> {
    const chosen = methods.filter((m) => rounds.only?.test(m.name) ?? true);
    for (let round = 0; round < rounds.rounds; round++) {
      const order = round % 2 === 0 ? chosen : [...chosen].reverse();
      for (const method of order) {
        await rounds.reset();
        this.record(section, method.name, await method.go(), method.versus);
        if (rounds.check) this.check(method.name, await rounds.check(method.name));
      }
    }
  }

  check(name: string, ok: boolean): void {
    const figures = this.methods.get(name);
    if (figures) figures.checked = (figures.checked ?? true) && ok;
  }

  median(name: string, of: (s: Sample) => number | undefined = (s) => s.seconds): number {
    const values = (this.methods.get(name)?.samples ?? []).flatMap((s) => of(s) ?? []);
    return values.length > 0 ? median(values) : NaN;
  }

  ratio(name: string, versus: string): number {
    return this.median(name) / this.median(versus);
  }

  rows(): ResultRow[] {
    return [...this.methods.values()].map((m) => {
      const baseline = this.baselines[m.section];
      const cpu = this.median(m.name, (s) => s.cpuSeconds);
      const rss = this.median(m.name, (s) => s.maxRssMb);
      const server = (of: (s: Sample) => number | undefined): number | null => {
        const value = this.median(m.name, of);
        return Number.isNaN(value) ? null : round(value, 2);
      };
      return {
        section: m.section,
        method: m.name,
        medianSeconds: round(this.median(m.name), 3),
        seconds: m.samples.map((s) => round(s.seconds, 3)).join(' '),
        ratio: baseline && baseline !== m.name ? round(this.ratio(m.name, baseline), 2) : null,
        versus: m.versus ?? null,
        ratioVersus: m.versus ? round(this.ratio(m.name, m.versus), 2) : null,
        cpuSeconds: round(cpu, 2),
        cpuSecondsPerGb:
          m.section === 'one big table' && this.textBytes > 0
            ? round(cpu / (this.textBytes / 1e9), 2)
            : null,
        sourceCpuSeconds: server((s) => s.sourceCpuSeconds),
        targetCpuSeconds: server((s) => s.targetCpuSeconds),
        peakRssMb: round(rss, 0),
        checked: m.checked ?? null,
      };
    });
  }

  /** The table printed on stdout (and pasted into docs/performance.md). */
  table(): string {
    const header = [
      'section',
      'method',
      'median s',
      'ratio',
      'vs',
      'CPU s',
      'CPU s/GB',
      'RSS MB',
      'rows ok',
    ];
    const cells = this.rows().map((r) => [
      r.section,
      r.method,
      fixed(r.medianSeconds, 2),
      fixed(r.ratio, 2),
      r.versus === null || fixed(r.ratioVersus, 2) === ''
        ? ''
        : `${fixed(r.ratioVersus, 2)} × ${r.versus}`,
      fixed(r.cpuSeconds, 2),
      fixed(r.cpuSecondsPerGb, 2),
      fixed(r.peakRssMb, 0),
      r.checked === null ? '' : r.checked ? 'yes' : 'NO',
    ]);
    const line = (c: readonly string[]): string => `| ${c.join(' | ')} |`;
    return [line(header), line(header.map(() => '---')), ...cells.map(line)].join('\n');
  }

  /** Each goal's value: the ratio of the medians, or the method's own median without `versus`. */
  evaluate(goals: readonly Goal[]): GoalResult[] {
    return goals.map((g) => {
      const of = (s: Sample): number | undefined => s[g.of ?? 'seconds'];
      const value = g.versus
        ? this.median(g.method, of) / this.median(g.versus, of)
        : this.median(g.method, of);
      const measured = !Number.isNaN(value);
      return {
        text: g.text,
        value: measured ? round(value, 2) : null,
        atMost: g.atMost,
        met: measured ? value <= g.atMost : null,
      };
    });
  }

  goals(goals: readonly Goal[]): string[] {
    return this.evaluate(goals).map((r, i) => {
      const unit = goals[i]?.unit;
      const digits = unit ? 0 : 2;
      const verdict = r.met === null ? 'not measured' : r.met ? 'met' : 'not met';
      const value = `${fixed(r.value, digits)}${unit && r.value !== null ? ` ${unit}` : ''}`;
      return `${r.text}: ${value} (goal ≤ ${r.atMost}${unit ? ` ${unit}` : ''}) ${verdict}`;
    });
  }

  async write(file: string, extra: Record<string, unknown>): Promise<void> {
    await mkdir(new URL('.', `file://${file}`).pathname, { recursive: true });
    const machine = {
      nproc: cpus().length,
      cpu: cpus()[0]?.model ?? 'unknown',
      memoryGb: round(totalmem() / 2 ** 30, 1),
      node: process.version,
    };
    await writeFile(
      file,
      `${JSON.stringify({ ...extra, machine, methods: this.rows() }, null, 2)}\n`,
    );
  }
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function fixed(value: number | null, digits: number): string {
  return value !== null && !Number.isNaN(value) ? value.toFixed(digits) : '';
}
