#!/usr/bin/env bash
# NVIDIA start-up rows, each in fresh processes; one JSON object per line in $OUT/nvidia.jsonl.
set -u
D=$(cd "$(dirname "$0")" && pwd)
R="$D/run.sh $D/clbake demo --json --eager"
N=${N:-5}
row() { # name, env...
  local name=$1; shift
  for i in $(seq $N); do
    env "$@" $R | python3 -c "import json,sys; r=json.load(sys.stdin); s=r['startup']; print(json.dumps({'row':'$name','programs_ms':s['programs_ms'],'first_ms':s['first_inference_ms'],'context_ms':s['context_ms'],'paths':sorted(set(p['path'] for p in s['programs']['programs'])),'accuracy':r['accuracy'],'err':r['max_abs_error']}))" >> $OUT/nvidia.jsonl
  done
}
export CLBAKE_CACHE_DIR=off
W=$(mktemp -d); C=$(mktemp -d)
env CUDA_CACHE_PATH=$W CLBAKE_EMBEDDED=off $R > /dev/null   # warm a fresh driver cache once
env CLBAKE_EMBEDDED=off CLBAKE_CACHE_DIR=$C CUDA_CACHE_DISABLE=1 $R > /dev/null  # fill clbake's cache
for k in 1; do
  row a_source_cold CLBAKE_EMBEDDED=off CUDA_CACHE_DISABLE=1
  row b_source_driver_cache_warm CLBAKE_EMBEDDED=off CUDA_CACHE_PATH=$W
  row c_clbake_cache_hit CLBAKE_EMBEDDED=off CLBAKE_CACHE_DIR=$C CUDA_CACHE_DISABLE=1
  row d_embedded_cold CUDA_CACHE_DISABLE=1
  row d_embedded_driver_cache_warm CUDA_CACHE_PATH=$W
done
# Lazy (the default): only the programs the network runs are created, at their first launch.
R="$D/run.sh $D/clbake demo --json"
row d_lazy_cold CUDA_CACHE_DISABLE=1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader >> $OUT/gpu.txt
