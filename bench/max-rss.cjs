// Preloaded into a pgcopy process: reports its peak resident memory when it exits.
process.on('exit', () => {
  process.stderr.write(`\nPGCOPY_MAX_RSS_KB=${process.resourceUsage().maxRSS}\n`);
});
