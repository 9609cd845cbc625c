#!/usr/bin/env python3
"""Wall times of several commands, measured in turns: each round runs every command
once, one after the other, so that a slow spell of a shared VM falls on all of them
alike (consecutive hyperfine runs of the same binary differed by 1.8x in one hour).

    scripts/bench-interleaved.py ROUNDS "cmd one" "cmd two" ...

Prints, per command, the median, the 10th-90th percentile range and the fastest run,
in milliseconds. Three warm-up rounds are not counted. Includes Python's cost of
starting a process (about a millisecond here, the same for every command).
"""
import statistics
import subprocess
import sys
import time


def main() -> int:
    if len(sys.argv) < 3 or not sys.argv[1].isdigit():
        print(__doc__, file=sys.stderr)
        return 2
    rounds, warm = int(sys.argv[1]), 3
    commands = [arg.split() for arg in sys.argv[2:]]
    times = [[] for _ in commands]
    for round_ in range(rounds + warm):
        for command, taken in zip(commands, times):
            start = time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            if round_ >= warm:
                taken.append((time.perf_counter() - start) * 1000)
    for command, taken in zip(commands, times):
        taken.sort()
        n = len(taken)
        print(
            f"{statistics.median(taken):8.2f} ms  p10-p90 {taken[n // 10]:.2f}-{taken[(9 * n) // 10]:.2f}"
            f"  min {taken[0]:.2f}  | {' '.join(command)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
