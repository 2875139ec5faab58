#!/usr/bin/env bash
# The study's grids as run for docs/results/ (2-core box, shared): tool grids in one process,
# the LLM grids in another (`scripts/run_study.sh llm`). Resumable: re-running skips finished cells.
set -u
RUNS=${RUNS:-runs}
export BUNDLEKD_NUM_THREADS=${BUNDLEKD_NUM_THREADS:-1}
run() { nice -n 10 bundlekd experiment run "$1" --out "$2" --artifacts "$RUNS/shared"; }
if [ "${1:-tool}" = "tool" ]; then
  run configs/rq1_format.yaml "$RUNS/rq1"
  # RQ2's pooled random curve first (whole curves if the run is stopped), then the rest
  sed 's/strategy: \[random, length, diversity, difficulty\]/strategy: [random]/; s/scope: \[pooled, single\]/scope: [pooled]/' \
    configs/rq2_quantity.yaml > "$RUNS/rq2_first.yaml"
  run "$RUNS/rq2_first.yaml" "$RUNS/rq2"
  run configs/rq3_utilization.yaml "$RUNS/rq3"
  run configs/rq2_quantity.yaml "$RUNS/rq2"
else
  # the LLM student on a seeded sample per domain (its grids say how to run them in full)
  run configs/rq1_format_llm.yaml "$RUNS/rq1-llm"
  run configs/rq2_quantity_llm.yaml "$RUNS/rq2-llm"
  run configs/rq3_utilization_llm.yaml "$RUNS/rq3-llm"
fi
