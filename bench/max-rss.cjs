// Preloaded into a pgcopy process: reports its peak resident memory and CPU time when it exits.
process.on('exit', () => {
  const usage = process.resourceUsage();
  process.stderr.write(
    `\nPGCOPY_MAX_RSS_KB=${usage.maxRSS} PGCOPY_CPU_US=${usage.userCPUTime + usage.systemCPUTime}\n`,
  );
});
