"""genmcp's benchmark suite: what the proxy itself costs, measured against a bare MCP server and real simulators.

Run `make bench` (or `python -m bench.run`; `--quick` for the small CI variant). See `bench/README.md`.
"""
