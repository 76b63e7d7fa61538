"""What every test level shares: one settings builder, the fake clock, in-process runtimes, result readers, and the
process harness that runs the real `genmcp` console script."""
