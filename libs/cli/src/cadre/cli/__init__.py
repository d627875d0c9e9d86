"""The `cadre` command and the local process supervision it shares with tests and benchmarks."""
