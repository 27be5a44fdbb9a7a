import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { RunReport, TableResult } from '../report/events.js';

/** The CloudWatch namespace of pgcopy's metrics. */
export const METRICS_NAMESPACE = 'pgcopy';

const failed = (t: TableResult): boolean => t.status === 'error' || t.status === 'unknown';

function seconds(report: RunReport): number {
  return (Date.parse(report.finishedAt) - Date.parse(report.startedAt)) / 1000;
}

/**
 * The run's figures as CloudWatch embedded metric format lines on stdout (Powertools Metrics):
 * Rows, Bytes, Seconds and Failures of each pair (dimensions target and table), then of the
 * run (the service dimension only), with the run id as a property of each line. CloudWatch
 * makes metrics of them from the function's log; nothing is called.
 */
export function publishRunMetrics(report: RunReport, runId: string): void {
  const options = { namespace: METRICS_NAMESPACE, serviceName: 'pgcopy' };
  for (const t of report.tables) {
    // One line per pair (singleMetric() would write one line per metric).
    const pair = new Metrics(options);
    pair.addDimensions({ target: t.target, table: t.table });
    pair.addMetadata('runId', runId);
    pair.addMetadata('status', t.status);
    pair.addMetric('Rows', MetricUnit.Count, t.rows);
    pair.addMetric('Bytes', MetricUnit.Bytes, t.bytes);
    pair.addMetric('Seconds', MetricUnit.Seconds, t.seconds);
    pair.addMetric('Failures', MetricUnit.Count, failed(t) ? 1 : 0);
    pair.publishStoredMetrics();
  }
  const metrics = new Metrics(options);
  metrics.addMetadata('runId', runId);
  metrics.addMetadata('status', report.status);
  metrics.addMetric('Pairs', MetricUnit.Count, report.tables.length);
  metrics.addMetric(
    'Rows',
    MetricUnit.Count,
    sum(report, (t) => t.rows),
  );
  metrics.addMetric(
    'Bytes',
    MetricUnit.Bytes,
    sum(report, (t) => t.bytes),
  );
  metrics.addMetric('Seconds', MetricUnit.Seconds, seconds(report));
  metrics.addMetric('Failures', MetricUnit.Count, report.tables.filter(failed).length);
  metrics.publishStoredMetrics();
}

function sum(report: RunReport, of: (t: TableResult) => number): number {
  return report.tables.reduce((total, t) => total + of(t), 0);
}
